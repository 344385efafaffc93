"""The small tanh MLP of the edge-of-stability claims ES-1, ES-2, ES-4 (Cohen et al., ICLR 2021; Islamov, Crawshaw,
Cohen, Gower, arXiv 2603.05002): the instance ``tanh-mlp`` (n = 512 points x ~ N(0, I_32), 10 classes,
32-64-64-10 without biases, 1/2 mean squared error, full batch) and its model: loss, gradient and exact
Hessian-vector products (Pearlmutter's R-operator), in NumPy (the work is three dense matrix products per pass:
BLAS does them; no deep-learning framework).

Network: ``x -> tanh(x W1) -> tanh(. W2) -> . W3`` (no biases), widths 32-64-64-10 by default; loss
``L = 1/(2n) sum_i ||f(x_i) - y_i||^2``. Parameters are one flat vector ``w`` (W1, W2, W3 row-major, in
order); :func:`unflatten` gives the layer matrices. The instance (:class:`MLPProblem`) supplies its NumPy
``loss_grad`` and the geometry ``layers`` (the matrices of the spectral methods) and ``blocks`` (greedy block CD:
the layers), which is what the NumPy driver ``theorybench.kernels.steepest`` runs the edge-of-stability methods
on; ``hvp`` / ``hvp_at`` give the sharpness (``theorybench.sharpness``). The PSD quadratic of ES-3 is
``problems/psd_quadratic.py`` (vector template).
"""
import numpy as np

from problems.psd_quadratic import layer_table, psd_quadratic  # noqa: F401  (psd_quadratic: re-exported)
from theorybench.params import Param
from theorybench.problem import Problem, register_problem

FAMILY_EOS = -7  # not a families.py code: the problem supplies its own NumPy model (loss_grad)


# ---------------------------------------------------------------- the model

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


# ---------------------------------------------------------------- the instance

def mlp_data(n=512, dim=32, classes=10, noise=0.5, seed=0):
    """The MLP's data: x ~ N(0, I_dim), classes = argmax(x A + noise N(0, 1)) with A ~ N(0, 1) (seeded;
    the scale of A is DERIVED: not given; docs/conventions.md, section "Muon and the edge of stability (DERIVED)"),
    one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    A = rng.normal(size=(dim, classes))
    lab = np.argmax(X @ A + noise * rng.normal(size=(n, classes)), axis=1)
    return X, np.eye(classes)[lab]


def mlp_init(widths=(32, 64, 64, 10), seed=0):
    """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), flattened (W1, W2, W3 row-major)."""
    rng = np.random.default_rng(seed + 1000)
    return np.concatenate([rng.uniform(-1, 1, size=(a, b)).ravel() / np.sqrt(a)
                           for a, b in zip(widths[:-1], widths[1:])])


class MLPProblem(Problem):
    """The tanh MLP (module docstring): data ``X``, ``Y``, ``widths``, geometry ``layers`` (rows ``(offset, rows,
    cols)``) and ``blocks`` (offsets); its NumPy ``loss_grad`` is what the driver ``kernels.steepest`` calls."""

    def attach(self, X, Y, widths, layers, blocks):
        self.X = np.ascontiguousarray(X, dtype=np.float64)
        self.Y = np.ascontiguousarray(Y, dtype=np.float64)
        self.widths = widths
        self.layers = np.ascontiguousarray(layers, dtype=np.int64)
        self.blocks = np.ascontiguousarray(blocks, dtype=np.int64)
        return self

    @property
    def layer_shapes(self):
        return [(int(a), int(b)) for _, a, b in self.layers]

    @property
    def block_sizes(self):
        return np.diff(self.blocks).tolist()

    def loss_grad(self, w):
        """``(f(w), grad f(w))`` (``w`` a float64 vector; no conversion: the driver's step)."""
        return loss_grad(w, self.X, self.Y, self.widths)

    def value(self, x):
        return self.value_grad(x)[0]

    def grad(self, x):
        return self.value_grad(x)[1]

    def value_grad(self, x):
        """``(f(x), grad f(x))``."""
        return loss_grad(self._x(x), self.X, self.Y, self.widths)

    def client_value(self, i, x):
        return self.value(x)

    def client_grad(self, i, x):
        return self.grad(x)

    def hvp(self, x, v):
        """``H(x) v`` exactly (the R-operator)."""
        return hvp(self._x(x), np.asarray(v, dtype=np.float64), self.X, self.Y, self.widths)

    def hvp_at(self, x):
        """``v -> H(x) v`` for a fixed ``x`` (the passes at ``x`` computed once)."""
        return hvp_at(self._x(x), self.X, self.Y, self.widths)

    def layer_list(self, x):
        """The layer matrices of ``x`` (views)."""
        x = np.asarray(x)
        return [x[o:o + a * b].reshape(a, b) for o, a, b in self.layers]


@register_problem("tanh-mlp", [
    Param("n", 512, "number of data points", kind="int", low=1, high=10**6),
    Param("dim", 32, "input dimension", kind="int", low=1, high=4096),
    Param("classes", 10, "number of classes (outputs)", kind="int", low=2, high=4096),
    Param("width", 64, "width of each hidden layer", kind="int", low=1, high=4096),
    Param("hidden", 2, "number of hidden tanh layers", kind="int", low=1, high=16),
    Param("noise", 0.5, "label noise: class = argmax(x A + noise N(0, 1))", low=0.0),
    Param("seed", 0, "seed of the data (and, + 1000, of the initialization)", kind="int", low=0),
], reference="Cohen et al., ICLR 2021; Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002 (DERIVED data)")
def tanh_mlp_problem(n, dim, classes, width, hidden, noise, seed):
    """The tanh MLP ``dim - width x hidden - classes`` without biases, 1/2 mean squared error on one-hot
    targets, full batch; default start the U(+-1/sqrt(fan_in)) initialization. Blocks of greedy block CD:
    the layers (DERIVED choice)."""
    widths = (dim,) + (width,) * hidden + (classes,)
    X, Y = mlp_data(n=n, dim=dim, classes=classes, noise=noise, seed=seed)
    layers = layer_table(shapes(widths))
    D = n_params(widths)
    p = MLPProblem("tanh-mlp", FAMILY_EOS, np.array([[n, dim, classes, width, hidden, noise, seed]], dtype=float),
                   D, mlp_init(widths, seed=seed), constants={})
    return p.attach(X, Y, widths, layers, np.r_[layers[:, 0], D])
