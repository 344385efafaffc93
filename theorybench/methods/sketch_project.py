"""Sketch-and-project for consistent linear systems (Gower, Richtarik, "Randomized iterative methods for
linear systems", SIAM J. Matrix Anal. Appl. 36(4), 2015; arXiv 1506.03296), as a declared vector method.

Each step draws a sketch S (m x q) and projects x onto {y : S^T A y = S^T b} in the B-norm::

    x <- x - B^{-1} A^T S (S^T A B^{-1} A^T S)^+ S^T (A x - b)

``sketch`` (a choice; draws from ``theorybench.rng`` with stream 0, so the same seed gives the same S on
every thread count and in the NumPy reference ``tests/reference_sketch.py``):

* ``kaczmarz``: S = e_i with p_i = ||a_i||^2 / ||A||_F^2 (u = uniform01(seed, 0, t), i the first index with
  u < cum_rows[i]); with B = I the step is Kaczmarz's ``x -= (a_i.x - b_i) / ||a_i||^2 a_i``.
* ``kaczmarz-uniform``: S = e_i with p_i = 1/m (i = floor(u m)).
* ``coordinate``: S = e_i with the convenient probabilities a_i^T B^{-1} a_i / tr(A B^{-1} A^T) (cum_conv); on
  a symmetric positive definite A with B = A this is randomized coordinate descent, p_i = A_ii / tr A and
  ``x_i -= (a_i.x - b_i) / A_ii``. (With B = I it samples like ``kaczmarz``.)
* ``block``: S = I_{:, R}, R = k = min(block_size, m) rows uniformly without replacement (a partial
  Fisher-Yates shuffle of 0..m-1 with the uniforms at counters t k + j, j < k); the k x k system
  ``(S^T A B^{-1} A^T S) y = S^T (A x - b)`` is solved by Cholesky with diagonal pivoting (:func:`psd_solve`),
  which gives the pseudo-inverse's step (the reference uses np.linalg.pinv).
* ``gaussian``: S ~ N(0, I_m), one column (normal01(seed, 0, t m + j), j < m).

For a single row i the step is ``x -= (a_i.x - b_i) / (a_i^T B^{-1} a_i) B^{-1} a_i``, with the instance's
arrays ``ABinv[i] = B^{-1} a_i`` and ``rowB[i] = a_i^T B^{-1} a_i`` (``problems/linear_systems.py``).
"""
import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.params import Param
from theorybench.rng import normal01, uniform01

SKETCHES = ("kaczmarz", "kaczmarz-uniform", "coordinate", "block", "gaussian")
KACZMARZ, UNIFORM, COORDINATE, BLOCK, GAUSSIAN = range(5)


@njit(cache=True)
def pick(cum, u):
    """The first index i with u < cum[i] (binary search; cum increasing with cum[-1] = 1)."""
    lo, hi = 0, cum.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if u < cum[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, inline="always")
def rowdot(P, i, Q, k):
    """``sum_j P[i, j] Q[k, j]`` in four interleaved partial sums (a short dependency chain: the sum of n
    products costs about n/4 additions' latency instead of n)."""
    n = P.shape[1]
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 4 <= n:
        s0 += P[i, j] * Q[k, j]
        s1 += P[i, j + 1] * Q[k, j + 1]
        s2 += P[i, j + 2] * Q[k, j + 2]
        s3 += P[i, j + 3] * Q[k, j + 3]
        j += 4
    while j < n:
        s0 += P[i, j] * Q[k, j]
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True, inline="always")
def rowdot_x(P, i, x):
    """``sum_j P[i, j] x[j]`` in four interleaved partial sums."""
    n = x.shape[0]
    s0 = s1 = s2 = s3 = 0.0
    j = 0
    while j + 4 <= n:
        s0 += P[i, j] * x[j]
        s1 += P[i, j + 1] * x[j + 1]
        s2 += P[i, j + 2] * x[j + 2]
        s3 += P[i, j + 3] * x[j + 3]
        j += 4
    while j < n:
        s0 += P[i, j] * x[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def row_step(x, i, A, b, ABinv, rowB):
    """``x -= (a_i.x - b_i) / (a_i^T B^{-1} a_i) B^{-1} a_i`` (S = e_i)."""
    n = x.shape[0]
    r = rowdot_x(A, i, x) - b[i]
    c = r / rowB[i]
    for j in range(n):
        x[j] -= c * ABinv[i, j]


@njit(cache=True)
def psd_solve(W, r, y):
    """A solution y of ``W y = r`` for a symmetric positive semidefinite k x k W and r in its range, by
    Cholesky with diagonal pivoting that stops at pivots <= k eps max_i W_ii (W and r are overwritten).
    Any solution gives the same sketch-and-project step as the pseudo-inverse's: two solutions differ by a
    vector of null(A_R B^{-1} A_R^T) = null(B^{-1/2} A_R^T), which B^{-1} A_R^T sends to 0."""
    k = W.shape[0]
    piv = np.arange(k)
    big = 0.0
    for i in range(k):
        big = max(big, W[i, i])
    tol = k * 2.220446049250313e-16 * big
    rank = 0
    for j in range(k):
        p, best = j, W[j, j]
        for i in range(j + 1, k):
            if W[i, i] > best:
                p, best = i, W[i, i]
        if not best > tol:
            break
        if p != j:
            for c in range(k):
                tmp = W[j, c]
                W[j, c] = W[p, c]
                W[p, c] = tmp
            for a in range(j, k):
                tmp = W[a, j]
                W[a, j] = W[a, p]
                W[a, p] = tmp
            tmp = r[j]
            r[j] = r[p]
            r[p] = tmp
            ti = piv[j]
            piv[j] = piv[p]
            piv[p] = ti
        d = np.sqrt(W[j, j])
        W[j, j] = d
        for i in range(j + 1, k):
            W[i, j] /= d
        for a in range(j + 1, k):
            for c in range(j + 1, k):
                W[a, c] -= W[a, j] * W[c, j]
        rank = j + 1
    for i in range(rank):          # L z = r (z in r)
        s = r[i]
        for c in range(i):
            s -= W[i, c] * r[c]
        r[i] = s / W[i, i]
    for i in range(rank - 1, -1, -1):  # L^T y = z
        s = r[i]
        for c in range(i + 1, rank):
            s -= W[c, i] * r[c]
        r[i] = s / W[i, i]
    for i in range(k):
        y[piv[i]] = r[i] if i < rank else 0.0


@njit(cache=True)
def block_step(x, t, seed, k, A, b, ABinv, perm):
    """S = I_{:, R}, R: k rows without replacement; ``x -= B^{-1} A_R^T (A_R B^{-1} A_R^T)^+ (A_R x - b_R)``
    (the k x k system solved by :func:`psd_solve`)."""
    m, n = A.shape
    for j in range(m):
        perm[j] = j
    for j in range(k):
        u = uniform01(seed, 0, t * k + j)
        r = min(j + int(u * (m - j)), m - 1)
        tmp = perm[j]
        perm[j] = perm[r]
        perm[r] = tmp
    M = np.empty((k, k))
    res = np.empty(k)
    y = np.empty(k)
    for a in range(k):
        ia = int(perm[a])
        res[a] = rowdot_x(A, ia, x) - b[ia]
        for c in range(k):
            M[a, c] = rowdot(A, ia, ABinv, int(perm[c]))
    psd_solve(M, res, y)
    for a in range(k):
        ia = int(perm[a])
        for j in range(n):
            x[j] -= y[a] * ABinv[ia, j]


@njit(cache=True)
def gaussian_step(x, t, seed, A, b, ABinv, sbuf, wbuf):
    """S = s ~ N(0, I_m): w = B^{-1} A^T s, ``x -= w (s^T (A x - b)) / (s^T A w)``."""
    m, n = A.shape
    for j in range(n):
        wbuf[j] = 0.0
    r = 0.0
    for i in range(m):
        s = normal01(seed, 0, t * m + i)
        sbuf[i] = s
        for j in range(n):
            wbuf[j] += s * ABinv[i, j]
        r += s * (rowdot_x(A, i, x) - b[i])
    den = 0.0
    for i in range(m):
        den += sbuf[i] * rowdot_x(A, i, wbuf)
    if den > 0.0:
        c = r / den
        for j in range(n):
            x[j] -= c * wbuf[j]


@njit(cache=True)
def sketch_project_step(x, t, seed, A, b, ABinv, rowB, cum_rows, cum_conv, perm, sbuf, wbuf, sketch, block_size):
    """One sketch-and-project step (module docstring); ``sketch`` is the index in SKETCHES."""
    m = A.shape[0]
    if sketch == KACZMARZ:
        row_step(x, pick(cum_rows, uniform01(seed, 0, t)), A, b, ABinv, rowB)
    elif sketch == UNIFORM:
        row_step(x, min(int(uniform01(seed, 0, t) * m), m - 1), A, b, ABinv, rowB)
    elif sketch == COORDINATE:
        row_step(x, pick(cum_conv, uniform01(seed, 0, t)), A, b, ABinv, rowB)
    elif sketch == BLOCK:
        block_step(x, t, seed, min(block_size, m), A, b, ABinv, perm)
    else:
        gaussian_step(x, t, seed, A, b, ABinv, sbuf, wbuf)


METHOD = register_method(VectorMethod(
    "sketch-project",
    (Param("sketch", "kaczmarz", "the random sketch S: kaczmarz (rows by ||a_i||^2), kaczmarz-uniform, coordinate "
           "(rows by a_i^T B^{-1} a_i: A_ii / tr A when B = A), block (block_size rows without replacement), "
           "gaussian (S ~ N(0, I_m))", kind="choice", choices=SKETCHES),
     Param("block_size", 2, "rows per block of the block sketch (min(block_size, m) are used)", kind="int", low=1,
           high=10_000)),
    sketch_project_step,
    state=(("perm", ("m",)), ("sbuf", ("m",)), ("wbuf", ("d",))),
    doc="sketch-and-project x <- x - B^{-1} A^T S (S^T A B^{-1} A^T S)^+ S^T (A x - b)",
    reference="Gower, Richtarik, SIMAX 36(4) 2015 (arXiv 1506.03296)"))
