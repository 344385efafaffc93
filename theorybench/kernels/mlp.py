"""The small tanh MLP of the edge-of-stability claims ES-1, ES-2 (Cohen et al., ICLR 2021; Islamov,
Crawshaw, Cohen, Gower, arXiv 2603.05002): loss, gradient and exact Hessian-vector products (Pearlmutter's
R-operator), full batch, in NumPy (the work is three dense matrix products per pass: BLAS does them; no
deep-learning framework).

Network: ``x -> tanh(x W1) -> tanh(. W2) -> . W3`` (no biases), widths 32-64-64-10 by default; loss
``L = 1/(2n) sum_i ||f(x_i) - y_i||^2``. Parameters are one flat vector ``w`` (W1, W2, W3 row-major, in
order); :func:`unflatten` gives the layer matrices.
"""
import numpy as np


def shapes(widths):
    return [(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]


def unflatten(w, widths):
    out, p = [], 0
    for (a, b) in shapes(widths):
        out.append(w[p:p + a * b].reshape(a, b))
        p += a * b
    return out


def n_params(widths):
    return sum(a * b for a, b in shapes(widths))


def _forward(Ws, X):
    acts = [X]
    h = X
    for W in Ws[:-1]:
        h = np.tanh(h @ W)
        acts.append(h)
    return acts, h @ Ws[-1]


def loss(w, X, Y, widths):
    Ws = unflatten(w, widths)
    _, O = _forward(Ws, X)
    R = O - Y
    return 0.5 * float(np.sum(R * R)) / X.shape[0]


def loss_grad(w, X, Y, widths):
    """``(L(w), grad L(w))``."""
    Ws = unflatten(w, widths)
    acts, O = _forward(Ws, X)
    n = X.shape[0]
    R = O - Y
    dO = R / n
    grads = [None] * len(Ws)
    grads[-1] = acts[-1].T @ dO
    d = dO @ Ws[-1].T
    for i in range(len(Ws) - 2, -1, -1):
        dH = d * (1.0 - acts[i + 1] ** 2)
        grads[i] = acts[i].T @ dH
        if i > 0:
            d = dH @ Ws[i].T
    return 0.5 * float(np.sum(R * R)) / n, np.concatenate([g.ravel() for g in grads])


def hvp(w, v, X, Y, widths):
    """``H(w) v`` exactly (R-operator of the backward pass)."""
    return hvp_at(w, X, Y, widths)(v)


def hvp_at(w, X, Y, widths):
    """``v -> H(w) v`` for a fixed ``w``: the forward and backward passes at ``w`` are computed once and
    shared by every product (a Lanczos or Frank-Wolfe run makes tens of them at one iterate)."""
    Ws = unflatten(np.array(w, dtype=np.float64), widths)  # a copy: later changes of w must not leak in
    n = X.shape[0]
    L = len(Ws)
    acts, O = _forward(Ws, X)
    dO = (O - Y) / n
    ds, dHs = [None] * L, [None] * L     # the backward pass: d at each layer's output, and dH = d (1 - a^2)
    d = dO @ Ws[-1].T
    for i in range(L - 2, -1, -1):
        ds[i] = d
        dHs[i] = d * (1.0 - acts[i + 1] ** 2)
        if i > 0:
            d = dHs[i] @ Ws[i].T

    def apply(v):
        return _hvp_cached(Ws, unflatten(np.asarray(v, dtype=np.float64), widths), X, acts, dO, ds, dHs, n, L)
    return apply


def _hvp_cached(Ws, Vs, X, acts, dO, ds, dHs, n, L):
    # forward R-pass (R{acts[0]} = R{X} = 0)
    Racts = [None]
    RH = acts[0] @ Vs[0]
    Racts.append((1.0 - acts[1] ** 2) * RH)
    for i in range(1, L - 1):
        RH = Racts[i] @ Ws[i] + acts[i] @ Vs[i]
        Racts.append((1.0 - acts[i + 1] ** 2) * RH)
    RO = (Racts[L - 1] @ Ws[-1] if L > 1 else 0.0) + acts[L - 1] @ Vs[-1]
    RdO = RO / n
    Rg = [None] * L
    Rg[-1] = (Racts[L - 1].T @ dO if L > 1 else 0.0) + acts[L - 1].T @ RdO
    Rd = RdO @ Ws[-1].T + dO @ Vs[-1].T
    for i in range(L - 2, -1, -1):
        a = acts[i + 1]
        RdH = Rd * (1.0 - a * a) - 2.0 * ds[i] * a * Racts[i + 1]
        Rg[i] = acts[i].T @ RdH + (Racts[i].T @ dHs[i] if i > 0 else 0.0)
        if i > 0:
            Rd = RdH @ Ws[i].T + dHs[i] @ Vs[i].T
    return np.concatenate([np.ravel(g) for g in Rg])
