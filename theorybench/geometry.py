"""Non-Euclidean geometry for vector and matrix parameters (docs/conventions.md, section "Non-Euclidean
geometry").

For a norm ``||.||`` with dual ``||.||_*``:

- ``lmo(g) = argmax_{||d|| <= 1} <g, d>`` (the linear minimization oracle up to sign: the steepest
  ascent direction of unit norm; a descent step is ``w - eta lmo(g)``, the normalized method);
- ``sharp(g) = ||g||_* lmo(g)`` (``g#``; the unnormalized method is ``w - eta g#``).

Norms (``NORMS``): ``l2`` (GD), ``linf`` (l_inf descent / SignGD), ``l1`` (greedy coordinate descent),
``block`` (the block l1,2 norm ``sum_b ||w_b||``: greedy block CD), ``spectral`` (matrix; dual nuclear;
lmo = polar factor: spectral GD, Muon without momentum), ``layerwise`` (the max over layers of spectral
norms; dual the sum of nuclear norms; lmo = the per-layer polar factors).

Conventions (docs/conventions.md, section "Sign ties"): ``sign(0) = 0`` inside LMOs and polar factors
(zero singular values are dropped), so ``lmo(0) = 0`` for every norm. Ties in ``l1`` / ``block`` go to the
first maximiser.
"""
import numpy as np

from .errors import TheoryBenchError

NS_COEFFS = (3.4445, -4.7750, 2.0315)   # the standard Muon quintic (Jordan et al.)
CUBIC_COEFFS = (1.5, -0.5, 0.0)          # the classical cubic Newton-Schulz (converges to the polar factor)


RANK_RTOL = 1e-10  # singular values <= RANK_RTOL * s_max count as zero (rounding residue); as in the muon kernel


def _rank_tol(s, shape):
    return RANK_RTOL * (s[0] if s.size else 0.0)


def polar(G, tol=None):
    """The polar factor ``U V^T`` of ``G = U diag(s) V^T`` over the nonzero singular values (those above
    ``tol``, default ``RANK_RTOL * s_max`` with ``RANK_RTOL = 1e-10``), by SVD. ``polar(0) = 0``."""
    G = np.asarray(G, dtype=np.float64)
    if G.size == 0 or not np.any(G):
        return np.zeros_like(G)
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    t = _rank_tol(s, G.shape) if tol is None else tol
    k = int(np.sum(s > t))
    return U[:, :k] @ Vt[:k]


def rank(G, tol=None):
    G = np.asarray(G, dtype=np.float64)
    if not np.any(G):
        return 0
    s = np.linalg.svd(G, compute_uv=False)
    return int(np.sum(s > (_rank_tol(s, G.shape) if tol is None else tol)))


def newton_schulz(G, steps=5, coeffs=NS_COEFFS, eps=1e-7):
    """Approximate polar factor by Newton-Schulz: ``X_0 = G/(||G||_F + eps)``, then ``steps`` times
    ``A = X X^T``, ``X <- a X + (b A + c A^2) X``. With the quintic ``(3.4445, -4.7750, 2.0315)`` (Muon's
    default) the singular values land in about [0.7, 1.2] after 5 steps (not exactly 1: by design); with
    ``CUBIC_COEFFS`` and enough steps it converges to :func:`polar`. Zero singular values stay zero."""
    a, b, c = coeffs
    X = np.asarray(G, dtype=np.float64)
    transpose = X.shape[0] > X.shape[1]
    if transpose:
        X = X.T
    X = X / (np.linalg.norm(X) + eps)
    for _ in range(steps):
        A = X @ X.T
        X = a * X + (b * A + c * A @ A) @ X
    return X.T if transpose else X


def _sign0(g):
    return np.sign(g)  # numpy's sign(0) = 0


def _blocks(g, blocks):
    if blocks is None:
        raise TheoryBenchError("norm 'block' needs 'blocks': a list of index arrays (or block sizes)")
    if all(np.isscalar(b) for b in blocks):
        edges = np.cumsum([0] + [int(b) for b in blocks])
        if edges[-1] != g.size:
            raise TheoryBenchError(f"block sizes sum to {edges[-1]}, the vector has {g.size} entries")
        return [np.arange(edges[i], edges[i + 1]) for i in range(len(blocks))]
    return [np.asarray(b, dtype=int) for b in blocks]


def _layers(g):
    if isinstance(g, np.ndarray) and g.ndim == 2:
        return [g]
    return [np.asarray(w, dtype=np.float64) for w in g]


NORMS = ("l2", "linf", "l1", "block", "spectral", "layerwise")


def norm(w, kind, blocks=None):
    """The primal norm ``||w||``."""
    if kind == "l2":
        return float(np.linalg.norm(np.ravel(w)))
    if kind == "linf":
        return float(np.max(np.abs(w))) if np.size(w) else 0.0
    if kind == "l1":
        return float(np.sum(np.abs(w)))
    if kind == "block":
        w = np.ravel(w)
        return float(sum(np.linalg.norm(w[b]) for b in _blocks(w, blocks)))
    if kind == "spectral":
        return float(np.linalg.norm(np.asarray(w, dtype=np.float64), 2))
    if kind == "layerwise":
        return float(max(np.linalg.norm(W, 2) for W in _layers(w)))
    raise TheoryBenchError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def dual_norm(g, kind, blocks=None):
    """``||g||_* = max_{||d|| <= 1} <g, d>``."""
    if kind == "l2":
        return float(np.linalg.norm(np.ravel(g)))
    if kind == "linf":
        return float(np.sum(np.abs(g)))
    if kind == "l1":
        return float(np.max(np.abs(g))) if np.size(g) else 0.0
    if kind == "block":
        g = np.ravel(g)
        return float(max(np.linalg.norm(g[b]) for b in _blocks(g, blocks)))
    if kind == "spectral":
        return float(np.sum(np.linalg.svd(np.asarray(g, dtype=np.float64), compute_uv=False)))
    if kind == "layerwise":
        return float(sum(np.sum(np.linalg.svd(G, compute_uv=False)) for G in _layers(g)))
    raise TheoryBenchError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def lmo(g, kind, blocks=None):
    """``argmax_{||d|| <= 1} <g, d>`` (0 at g = 0; sign(0) = 0; zero singular values dropped)."""
    if kind == "l2":
        g = np.asarray(g, dtype=np.float64)
        n = np.linalg.norm(g)
        return g / n if n > 0 else np.zeros_like(g)
    if kind == "linf":
        return _sign0(np.asarray(g, dtype=np.float64))
    if kind == "l1":
        g = np.asarray(g, dtype=np.float64)
        d = np.zeros_like(g)
        if g.size and np.any(g):
            i = int(np.argmax(np.abs(np.ravel(g))))
            d.flat[i] = np.sign(g.flat[i])
        return d
    if kind == "block":
        g = np.asarray(g, dtype=np.float64)
        flat = np.ravel(g)
        d = np.zeros_like(flat)
        bl = _blocks(flat, blocks)
        ns = [np.linalg.norm(flat[b]) for b in bl]
        k = int(np.argmax(ns))
        if ns[k] > 0:
            d[bl[k]] = flat[bl[k]] / ns[k]
        return d.reshape(g.shape)
    if kind == "spectral":
        return polar(g)
    if kind == "layerwise":
        out = [polar(G) for G in _layers(g)]
        return out[0] if isinstance(g, np.ndarray) and g.ndim == 2 else out
    raise TheoryBenchError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


def sharp(g, kind, blocks=None):
    """``g# = ||g||_* lmo(g)`` (the unnormalized steepest-descent direction)."""
    s = dual_norm(g, kind, blocks)
    d = lmo(g, kind, blocks)
    if isinstance(d, list):
        return [s * D for D in d]
    return s * d


__all__ = ["NORMS", "norm", "dual_norm", "lmo", "sharp", "polar", "rank", "newton_schulz", "NS_COEFFS",
           "CUBIC_COEFFS"]
