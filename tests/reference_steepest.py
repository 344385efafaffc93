"""Plain NumPy references of the edge-of-stability methods (the oracle for ``theorybench.methods.steepest_vector``
on the vector template and for the NumPy driver ``theorybench.kernels.steepest``), written from
docs/conventions.md's geometry table (section "Non-Euclidean geometry") and PyTorch's SGD-momentum pseudocode,
with the model's gradient given as a function ``grad(w) -> (f, g)``."""
import numpy as np


def _layers(w, shapes):
    out, p = [], 0
    for m, n in shapes:
        out.append(w[p:p + m * n].reshape(m, n))
        p += m * n
    return out


def _polar(G):
    if not np.any(G):
        return np.zeros_like(G), 0.0
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    k = int(np.sum(s > 1e-10 * s[0]))
    return U[:, :k] @ Vt[:k], float(s.sum())


def step_direction(alg, g, shapes, blocks):
    """(direction d with w <- w - eta d, dual norm of g in the method's geometry)."""
    if alg in ("gd", "heavy-ball", "nesterov"):
        return g, float(np.linalg.norm(g))
    if alg in ("linf-descent", "sign-gd"):
        l1 = float(np.abs(g).sum())
        return (np.sign(g) * l1 if alg == "linf-descent" else np.sign(g)), l1
    if alg == "block-cd":
        norms = [np.linalg.norm(g[a:b]) for a, b in zip(blocks[:-1], blocks[1:])]
        k = int(np.argmax(norms))        # the first maximiser
        d = np.zeros_like(g)
        d[blocks[k]:blocks[k + 1]] = g[blocks[k]:blocks[k + 1]]
        return d, float(norms[k])
    parts = [_polar(G) for G in _layers(g, shapes)]
    nuc = sum(p[1] for p in parts)
    d = np.concatenate([p[0].ravel() for p in parts])
    return (d * nuc if alg == "spectral-gd" else d), nuc


def reference(alg, grad, w0, steps, h, shapes, blocks, rng_u=None):
    """Iterates w_0..w_T and losses of ``alg`` (a registered name) with hyperparameters ``h`` (dict)."""
    w = np.array(w0, dtype=float)
    v = np.zeros_like(w)
    b = h.get("beta", 0.9)
    eta0 = h.get("eta", 0.01)
    ws, fs = [w.copy()], []
    f, g = grad(w)
    fs.append(f)
    for t in range(steps):
        d, dual = step_direction(alg, g, shapes, blocks)
        sched = h.get("schedule", "constant")
        if sched == "constant":
            eta = eta0
        elif sched == "power":
            eta = eta0 / (t + 1.0) ** h.get("power", 0.5)
        elif sched == "random":
            eta = eta0 * (1.0 - rng_u(t))
        else:  # Polyak
            gap = max(f - h.get("f_lower", 0.0), 0.0)
            normalized = alg in ("sign-gd", "muon-nomomentum")
            eta = 0.0 if dual <= 0 else min(gap / dual if normalized else gap / dual ** 2,
                                             h.get("alpha_max", np.inf))
        if alg == "heavy-ball":
            v = b * v + g
            w = w - eta * v
        elif alg == "nesterov":
            v = b * v + g
            w = w - eta * (g + b * v)
        else:
            w = w - eta * d
        f, g = grad(w)
        ws.append(w.copy())
        fs.append(f)
    return np.array(ws), np.array(fs)
