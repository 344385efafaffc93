"""Generalized sharpness ``S(w) = max_{||d|| = 1} d^T H(w) d`` in a method's own norm (Islamov, Crawshaw,
Cohen, Gower, arXiv 2603.05002; claims ES-2/ES-3), from Hessian-vector products.

- ``l2`` (and preconditioned l2, :func:`preconditioned_lmax`): Lanczos, ``scipy.sparse.linalg.eigsh`` on the
  HVP operator (largest algebraic eigenvalue).
- ``linf`` and ``spectral`` (and the other norms of :mod:`theorybench.geometry`): multi-start Frank-Wolfe
  with exact line search (:func:`fw_ascent`). For PSD H (``q(d) = d^T H d`` convex) the line search on
  ``[d, s]`` picks the end point, so the step is ``d <- lmo(H d)`` while q increases (a nonlinear power
  method); for an indefinite Hessian it can stop inside the segment. The best of several starts is
  returned: a lower bound of S, exact at a global maximiser.
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
    if not np.any(hvp(v0)):
        return 0.0  # H = 0 (e.g. saturated tanh units): ARPACK would stop on a zero Krylov vector
    return float(eigsh(op, k=1, which="LA", tol=tol, v0=v0, return_eigenvectors=False)[0])


def preconditioned_lmax(hvp, P, tol=1e-8, seed=0):
    """Sharpness in the preconditioned norm ``||d||_P = sqrt(d^T P d)`` (P symmetric positive definite; a
    vector means ``diag(P)``, e.g. Adam's ``sqrt(v) + eps``): ``max_{d^T P d = 1} d^T H d =
    lambda_max(P^{-1/2} H P^{-1/2})``, by Lanczos on that operator (the stability threshold of the
    preconditioned step ``w - eta P^{-1} g`` is ``eta < 2/S_P``)."""
    P = np.asarray(P, dtype=np.float64)
    if P.ndim == 1:
        if not np.all(P > 0):
            raise TheoryBenchError("parameter 'P' (a diagonal preconditioner) must be positive")
        r = 1.0 / np.sqrt(P)
        return lanczos_lmax(lambda v: r * hvp(r * v), P.size, tol=tol, seed=seed)
    lam, Q = np.linalg.eigh(0.5 * (P + P.T))
    if not np.all(lam > 0):
        raise TheoryBenchError("parameter 'P' (a preconditioner) must be symmetric positive definite")
    R = (Q / np.sqrt(lam)) @ Q.T
    return lanczos_lmax(lambda v: R @ hvp(R @ v), P.shape[0], tol=tol, seed=seed)


def fw_ascent(hv, d, lmo, iters=100, rtol=1e-13):
    """Frank-Wolfe ascent of ``q(d) = d^T H d`` over a unit ball from the feasible ``d`` (flat): ``s = lmo(H d)``,
    then the exact line search on ``[d, s]``: ``q(d + g (s - d)) = q + b g + a g^2`` with ``b = 2 (s-d)^T H d >= 0``
    and ``a = (s-d)^T H (s-d)`` is maximised over ``g in [0, 1]`` (the end point when ``a >= 0``, as for PSD H;
    ``-b/(2a)`` when H is indefinite and that lies inside). One HVP per iteration (``H d`` is updated
    linearly); stops when q grows by at most ``rtol |q|``. Returns ``(q, d)``: a lower bound of the maximum."""
    Hd = hv(d)
    q = float(d @ Hd)
    for _ in range(iters):
        sv = lmo(Hd)
        Hs = hv(sv)
        e, He = sv - d, Hs - Hd
        a, b = float(e @ He), 2.0 * float(e @ Hd)
        g = 1.0
        if a < 0.0 and 0.0 < -b / (2.0 * a) < 1.0:
            g = -b / (2.0 * a)
        nq = q + b * g + a * g * g
        if nq <= q + rtol * abs(q):
            break
        d, Hd, q = d + g * e, Hd + g * He, nq
    return q, d


def frank_wolfe_sharpness(hvp, shape, kind, starts=8, iters=100, seed=0, blocks=None, return_argmax=False):
    """``max_{||d|| <= 1} d^T H d`` by multi-start Frank-Wolfe with exact line search (:func:`fw_ascent`)."""
    rng = np.random.default_rng(seed)
    best, arg = -np.inf, None
    size = int(np.prod(shape))
    if size == 0:
        raise TheoryBenchError("empty parameter")
    lmo = lambda v: np.ravel(gm.lmo(np.reshape(v, shape), kind, blocks))  # noqa: E731
    for _ in range(starts):
        q, d = fw_ascent(lambda v: np.ravel(hvp(np.ravel(v))), lmo(rng.normal(size=size)), lmo, iters)
        if q > best:
            best, arg = q, np.reshape(d, shape)
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


# ------------------------------------------------------------------ sharpness of a problem along a run

# the geometry of each steepest-descent method (kernel ``steepest``): (norm, normalized?)
METHOD_GEOMETRY = {"gd": ("l2", False), "heavy-ball": ("l2", False), "nesterov": ("l2", False),
                   "linf-descent": ("linf", False), "sign-gd": ("linf", True), "block-cd": ("block", False),
                   "spectral-gd": ("layerwise", False), "muon-nomomentum": ("layerwise", True)}


def _flat_lmo(problem, v, kind):
    if kind == "layerwise":
        return np.concatenate([M.ravel() for M in gm.lmo(problem.layer_list(v), "layerwise")])
    if kind == "block":
        return gm.lmo(v, "block", problem.block_sizes)
    return gm.lmo(v, kind)


def dual_norm_of(problem, g, kind):
    """``||g||_*`` in the geometry ``kind`` of ``problem`` (layers and blocks from the problem)."""
    if kind == "layerwise":
        return gm.dual_norm(problem.layer_list(g), "layerwise")
    if kind == "block":
        return gm.dual_norm(g, "block", problem.block_sizes)
    return gm.dual_norm(g, kind)


def problem_sharpness(problem, w, kind, seed=0, starts=3, iters=20, rtol=1e-4):
    """The generalized sharpness ``S(w) = max_{||d|| <= 1} d^T H(w) d`` of ``problem`` (with ``hvp``,
    ``layer_list``, ``block_sizes``: the edge-of-stability problems) in the norm ``kind``: Lanczos for
    ``l2``; otherwise multi-start Frank-Wolfe with exact line search (:func:`fw_ascent`) while ``q = d^T H d``
    grows by more than ``rtol`` (one HVP per iteration), started from the lmo of the Euclidean top eigenvector
    and from ``starts`` random points, the best of them; for ``block`` also ``max_b lambda_max(H_bb)`` by
    Lanczos on each block. A lower bound of S (maximising a quadratic over a ball is hard in general; with
    an indefinite Hessian the ascent can stop at a local maximum), exact for ``block`` on a PSD quadratic
    (the problem's constant ``S_block``)."""
    from .kernels.steepest import one_blas_thread
    with one_blas_thread():
        return _problem_sharpness(problem, np.asarray(w, dtype=np.float64), kind, seed, starts, iters, rtol)


def _top_eigvec(hv, dim, seed):
    """(lambda_max, its unit eigenvector) of the symmetric operator ``hv`` (Lanczos, tol 1e-4)."""
    from scipy.sparse.linalg import LinearOperator, eigsh
    if dim <= 3:
        H = np.column_stack([hv(e) for e in np.eye(dim)])
        lam, vec = np.linalg.eigh(0.5 * (H + H.T))
        return float(lam[-1]), vec[:, -1]
    op = LinearOperator((dim, dim), matvec=lambda v: hv(np.asarray(v, dtype=np.float64).ravel()), dtype=np.float64)
    v0 = np.random.default_rng(seed).normal(size=dim)
    if not np.any(hv(v0)):
        return 0.0, v0 / np.linalg.norm(v0)
    lam, vec = eigsh(op, k=1, which="LA", tol=1e-4, v0=v0)
    return float(lam[0]), vec[:, 0]


def _problem_sharpness(problem, w, kind, seed, starts, iters, rtol):
    hv = problem.hvp_at(w) if hasattr(problem, "hvp_at") else (lambda v: problem.hvp(w, v))
    if kind == "l2":
        return lanczos_lmax(hv, w.size, tol=1e-4, seed=seed)
    best = -np.inf
    if kind == "block":
        # a unit vector inside one block is in the ball: max_b lambda_max(H_bb) is a lower bound (exact for
        # PSD H); Frank-Wolfe below can only improve on it (H indefinite)
        for a, b in zip(problem.blocks[:-1], problem.blocks[1:]):
            def sub(v, a=a, b=b):
                full = np.zeros(w.size)
                full[a:b] = v
                return hv(full)[a:b]
            best = max(best, lanczos_lmax(sub, int(b - a), tol=1e-4, seed=seed))
    rng = np.random.default_rng(seed)
    top = _top_eigvec(hv, w.size, seed)[1]  # the lmo of the Euclidean top eigenvector: a good start
    lmo = lambda v: _flat_lmo(problem, v, kind)  # noqa: E731
    for k in range(starts + 1):
        q, _ = fw_ascent(hv, lmo(top if k == 0 else rng.normal(size=w.size)), lmo, iters, rtol)
        best = max(best, q)
    return best


def sharpness_along(problem, result, algorithm=None, kind=None, normalized=None, euclidean=False, starts=3):
    """The sharpness at each recorded iterate of ``result`` (a ``RunResult`` on an edge-of-stability
    problem): ``S`` in the method's own norm (``kind``, default from :data:`METHOD_GEOMETRY`), divided by
    ``||g||_*`` for normalized methods (their stability threshold is on ``S/||g||_*``; Islamov et al.), and
    with ``euclidean=True`` also ``lambda_max``. Returns ``{"rounds", "S", "lambda_max", "threshold"}``
    where ``threshold = 2/eta`` for a constant step. Diverged records give NaN."""
    name = algorithm or result.algorithm
    k0, n0 = METHOD_GEOMETRY.get(name, ("l2", False))
    kind = kind or k0
    normalized = n0 if normalized is None else normalized
    S, lam = [], []
    for t, w in zip(result.rounds, result.x):
        if not np.all(np.isfinite(w)):
            S.append(np.nan)
            lam.append(np.nan)
            continue
        s = problem_sharpness(problem, w, kind, seed=int(t), starts=starts)
        if normalized:
            dn = dual_norm_of(problem, problem.grad(w), kind)
            s = s / dn if dn > 0 else np.nan  # at a stationary point the normalized threshold is undefined
        S.append(s)
        lam.append(problem_sharpness(problem, w, "l2", seed=int(t)) if euclidean and kind != "l2" else
                   (s if kind == "l2" and not normalized else np.nan))
    eta = result.settings.get("eta")
    const = result.settings.get("schedule", "constant") == "constant"
    return {"rounds": np.asarray(result.rounds), "S": np.array(S), "lambda_max": np.array(lam),
            "threshold": 2.0 / eta if (eta and const) else np.nan}
