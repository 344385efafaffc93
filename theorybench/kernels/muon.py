"""Matrix helpers and step schedules shared by the steepest-descent and single-machine kernels
(``theorybench.kernels.steepest``, ``theorybench.kernels.single``): the exact polar factor by SVD, the nuclear
norm, the Newton-Schulz quintic and the step schedules. (This module was the Muon kernel; the Muon methods of
Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980, now run on the vector template:
``theorybench.methods.muon_vector`` on the family of ``problems/muon_counterexample.py``.)

Schedules (``schedule_step``, codes ``SCHEDULES``): CONSTANT (0) ``a0``; POWER (1) ``a0/(t+1)^power``; POLYAK
(2) ``gap/dual`` for normalized methods, ``gap/dual^2`` for the others, capped at ``amax`` (0 when ``dual = 0``);
RANDOM (3) ``a0 u_t`` with ``u_t = 1 - uniform01(seed, stream, t)``, in (0, 1].
"""
import numpy as np
from numba import njit

from ..rng import uniform01

CONSTANT, POWER, POLYAK, RANDOM = range(4)
SCHEDULES = {"constant": CONSTANT, "power": POWER, "polyak": POLYAK, "random": RANDOM}
NS_A, NS_B, NS_C = 3.4445, -4.7750, 2.0315
RANK_RTOL = 1e-10  # singular values <= RANK_RTOL * s_max count as zero (rounding residue of exact cancellations)


@njit(cache=True)
def svd_polar(A, out):
    """``out = U V^T`` over singular values above ``RANK_RTOL s_max``; returns (nuclear norm, rank).
    ``A`` is m x n (C-contiguous)."""
    m, n = A.shape
    anyz = False
    for i in range(m):
        for j in range(n):
            if A[i, j] != 0.0:
                anyz = True
    if not anyz:
        for i in range(m):
            for j in range(n):
                out[i, j] = 0.0
        return 0.0, 0
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    tol = RANK_RTOL * s[0]
    k = 0
    nuc = 0.0
    for i in range(s.shape[0]):
        nuc += s[i]
        if s[i] > tol:
            k += 1
    for i in range(m):
        for j in range(n):
            acc = 0.0
            for r in range(k):
                acc += U[i, r] * Vt[r, j]
            out[i, j] = acc
    return nuc, k


@njit(cache=True)
def nuclear(A):
    U, s, Vt = np.linalg.svd(A, full_matrices=False)
    return s.sum()


@njit(cache=True)
def _matmul(A, B, out):
    for i in range(A.shape[0]):
        for j in range(B.shape[1]):
            acc = 0.0
            for k in range(A.shape[1]):
                acc += A[i, k] * B[k, j]
            out[i, j] = acc


@njit(cache=True)
def ns_polar(A, steps, out):
    """Newton-Schulz quintic on ``A/(||A||_F + 1e-7)`` (works on the wide orientation)."""
    m, n = A.shape
    tr = m > n
    X = A.T.copy() if tr else A.copy()
    p, q = X.shape
    fn = 0.0
    for i in range(p):
        for j in range(q):
            fn += X[i, j] * X[i, j]
    fn = np.sqrt(fn) + 1e-7
    for i in range(p):
        for j in range(q):
            X[i, j] /= fn
    S = np.empty((p, p))
    S2 = np.empty((p, p))
    Y = np.empty((p, q))
    for _ in range(steps):
        _matmul(X, X.T.copy(), S)
        _matmul(S, S, S2)
        for i in range(p):
            for j in range(p):
                S2[i, j] = NS_B * S[i, j] + NS_C * S2[i, j]
        _matmul(S2, X, Y)
        for i in range(p):
            for j in range(q):
                X[i, j] = NS_A * X[i, j] + Y[i, j]
    if tr:
        for i in range(m):
            for j in range(n):
                out[i, j] = X[j, i]
    else:
        for i in range(m):
            for j in range(n):
                out[i, j] = X[i, j]


@njit(cache=True)
def schedule_step(sch, a0, power, amax, t, seed, stream, gap, dual, normalized):
    """The step of schedule ``sch`` at step ``t``: CONSTANT ``a0``; POWER ``a0/(t+1)^power``; RANDOM ``a0 u_t``
    (``u_t = 1 - uniform01(seed, stream, t)``, in (0, 1]); POLYAK ``gap/dual`` (normalized) or ``gap/dual^2``,
    capped at ``amax`` (0 when ``dual = 0``)."""
    if sch == CONSTANT:
        return a0
    if sch == POWER:
        return a0 / (t + 1.0) ** power
    if sch == RANDOM:
        return a0 * (1.0 - uniform01(seed, stream, t))
    if dual <= 0.0:
        return 0.0
    a = max(gap, 0.0) / dual if normalized else max(gap, 0.0) / (dual * dual)
    return min(a, amax)
