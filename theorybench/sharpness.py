"""Generalized sharpness ``S(w) = max_{||d|| = 1} d^T H(w) d`` in a method's own norm (CLAIMS.md section 4,
ES-2/ES-3), from Hessian-vector products.

- ``l2`` (and preconditioned l2): Lanczos, ``scipy.sparse.linalg.eigsh`` on the HVP operator (largest
  algebraic eigenvalue).
- ``linf`` and ``spectral`` (and the other norms of :mod:`theorybench.geometry`): multi-start Frank-Wolfe
  with exact line search. Maximizing the convex ``q(d) = d^T H d`` over the unit ball, the line search on
  ``[d, s]`` picks an end point, so the step is ``d <- lmo(H d)`` while q increases (a nonlinear power
  method); the best of several random starts is returned. A lower bound of S, exact at a local maximum.
- ``linf`` on small problems: exact vertex enumeration ``max over sign vectors`` (the test oracle; the
  maximum of a convex function over the cube is at a vertex).
"""
import itertools

import numpy as np

from . import geometry as gm
from .errors import TheoryBenchError


def lanczos_lmax(hvp, dim, tol=1e-8, seed=0):
    """Largest eigenvalue of the symmetric operator ``hvp`` (Lanczos via scipy eigsh)."""
    from scipy.sparse.linalg import LinearOperator, eigsh
    if dim == 1:
        return float(hvp(np.ones(1))[0])
    op = LinearOperator((dim, dim), matvec=lambda v: hvp(np.asarray(v, dtype=np.float64).ravel()),
                        dtype=np.float64)
    v0 = np.random.default_rng(seed).normal(size=dim)
    if dim <= 3:
        H = np.column_stack([hvp(e) for e in np.eye(dim)])
        return float(np.linalg.eigvalsh(0.5 * (H + H.T))[-1])
    return float(eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0])


def frank_wolfe_sharpness(hvp, shape, kind, starts=8, iters=100, seed=0, blocks=None, return_argmax=False):
    """``max_{||d|| <= 1} d^T H d`` by multi-start Frank-Wolfe (``d <- lmo(H d)`` while q increases)."""
    rng = np.random.default_rng(seed)
    best, arg = -np.inf, None
    size = int(np.prod(shape))
    for s in range(starts):
        d = gm.lmo(rng.normal(size=shape), kind, blocks)
        q = float(np.ravel(d) @ hvp(np.ravel(d)))
        for _ in range(iters):
            Hd = hvp(np.ravel(d)).reshape(shape)
            nd = gm.lmo(Hd, kind, blocks)
            nq = float(np.ravel(nd) @ hvp(np.ravel(nd)))
            if nq <= q * (1 + 1e-13):
                break
            d, q = nd, nq
        if q > best:
            best, arg = q, d
    if size == 0:
        raise TheoryBenchError("empty parameter")
    return (best, arg) if return_argmax else best


def vertex_sharpness_linf(H, max_dim=20):
    """Exact ``max_{||d||_inf <= 1} d^T H d`` by enumerating the sign vectors (d <= max_dim)."""
    H = np.asarray(H, dtype=np.float64)
    d = H.shape[0]
    if d > max_dim:
        raise TheoryBenchError(f"vertex enumeration is for d <= {max_dim}, got {d}")
    best, arg = -np.inf, None
    for signs in itertools.product((1.0, -1.0), repeat=d - 1):
        v = np.array((1.0,) + signs)
        q = v @ H @ v
        if q > best:
            best, arg = q, v
    return float(best), arg


def sharpness(hvp, shape, kind, **kw):
    """S in the norm ``kind``: Lanczos for ``l2``, Frank-Wolfe otherwise."""
    if kind == "l2":
        return lanczos_lmax(hvp, int(np.prod(shape)), seed=kw.get("seed", 0))
    return frank_wolfe_sharpness(hvp, shape, kind, **kw)
