"""Muon and non-Euclidean methods on the Muon counterexample (Parshakova, Khaled, Crawshaw, Garrigos, Gower,
arXiv 2605.08980) as one whole-trajectory kernel.

Instance (``params = [c, tie, m, n]``): ``f(W) = c |W11 + W22| + |W11 - W22|`` on m x n matrices W,
flattened row-major into x (``W11 = x[0]``, ``W22 = x[n + 1]``); f* = 0. Subgradient oracle: ``G11 =
c s1 + s2``, ``G22 = c s1 - s2``, all other entries 0, with ``s1 = sgn(W11 + W22)``, ``s2 = sgn(W11 -
W22)`` and ``sgn(0) = tie`` (default +1; docs/conventions.md, section "Sign ties": with 0 the
counterexample breaks after about 2000 steps through floating-point rounding). Inside polar factors and
sign steps ``sign(0) = 0`` (zero singular values dropped).

The kernel evaluates its own objective (the problem's ``family`` code is ignored): ``loss`` is f(W_t),
``grad_norm`` the Frobenius norm of the oracle's subgradient G_t (with the tie rule).

Algorithms (``algo`` code), step ``alpha_t`` from the schedule (below), momentum ``M_{-1} = 0``:
    MUON (0)            ``M_t = b M_{t-1} + (1-b) G_t``; ``W <- W - alpha_t polar(M_t)`` (exact polar by SVD)
    MUON_NS (1)         the same with 5 Newton-Schulz steps (quintic 3.4445, -4.7750, 2.0315) on M_t/||M_t||_F
    SIGNED_MOMENTUM (2) ``W <- W - alpha_t sign(M_t)`` (entrywise, sign(0) = 0)
    SIGN (3)            sign subgradient descent ``W <- W - alpha_t sign(G_t)``
    GD (4)              subgradient descent ``W <- W - alpha_t G_t`` (Euclidean)
    EF (5)              ``P = alpha_t G_t + E``; ``Delta = (||P||_nuc / rank P) polar(P)``; ``W <- W - Delta``;
                        ``E <- P - Delta`` (error feedback with the rank-scaled polar compressor)
    EF_MUON (6)         EF on the momentum: ``P = alpha_t M_t + E``
    MUONMAX (7)         ``W <- W - alpha_t ||M_t||_nuc polar(M_t)`` (FOLLOWS THE AUTHORS' CURRENT CODE: the
                        polar step scaled by the sum of nuclear norms over the Muon layers, here one matrix;
                        non-normalized, hybrid aggregation; may differ from the paper)
    MOMO (8)            Momo (FOLLOWS THE AUTHORS' CURRENT CODE): ``d = b d + (1-b) G``, ``fbar = b fbar +
                        (1-b) f(W)``, ``gbar = b gbar + (1-b) <G, W>``; ``tau = min(alpha_t, max(fbar - lb +
                        <d, W> - gbar, 0)/||d||_F^2)``; ``W <- W - tau d`` (lb = ``f_lower``, no bias correction)

Step schedules (``schedule`` slot): CONSTANT (0) ``alpha0``; POWER (1) ``alpha0/(t+1)^power``; POLYAK (2)
``(f(W_t) - f_lower)/||G_t||_*`` for the normalized methods (MUON, MUON_NS: nuclear norm; SIGN,
SIGNED_MOMENTUM: l1), ``(f(W_t) - f_lower)/||G_t||_*^2`` for the unnormalized ones (GD: Frobenius; EF,
EF_MUON, MUONMAX: nuclear), capped at ``alpha_max``; RANDOM (3) ``alpha0 u_t`` with ``u_t`` uniform on
(0, 1] from the counter-based generator (seed, stream 0, counter t).
"""
import numpy as np
from numba import njit, prange

from ..rng import uniform01
from .common import N_STATS, init_stats, norm, observe_values

MUON, MUON_NS, SIGNED_MOMENTUM, SIGN, GD, EF, EF_MUON, MUONMAX, MOMO = range(9)
CONSTANT, POWER, POLYAK, RANDOM = range(4)
SCHEDULES = {"constant": CONSTANT, "power": POWER, "polyak": POLYAK, "random": RANDOM}

SLOTS = ("alpha0", "schedule", "power", "beta", "ns_steps", "f_lower", "alpha_max")
DEFAULTS = {"alpha0": 1.0, "schedule": 0, "power": 0.51, "beta": 0.0, "ns_steps": 5, "f_lower": 0.0,
            "alpha_max": np.inf}
H_ALPHA0, H_SCHEDULE, H_POWER, H_BETA, H_NS, H_FLOWER, H_AMAX = range(7)
P_C, P_TIE, P_M, P_N = range(4)
NS_A, NS_B, NS_C = 3.4445, -4.7750, 2.0315
RANK_RTOL = 1e-10  # singular values <= RANK_RTOL * s_max count as zero (rounding residue of exact cancellations)


@njit(cache=True, inline="always")
def sgn_tie(v, tie):
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return tie


@njit(cache=True)
def value_subgrad(params, x, G):
    """f(W) and the oracle's subgradient G (flattened row-major) at W = x."""
    c = params[P_C]
    tie = params[P_TIE]
    n = int(params[P_N])
    a = x[0]
    b = x[n + 1]
    s1 = sgn_tie(a + b, tie)
    s2 = sgn_tie(a - b, tie)
    for j in range(G.shape[0]):
        G[j] = 0.0
    G[0] = c * s1 + s2
    G[n + 1] = c * s1 - s2
    return c * abs(a + b) + abs(a - b)


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


@njit(cache=True)
def step_size(hyper, t, seed, gap, dual, normalized):
    return schedule_step(int(hyper[H_SCHEDULE]), hyper[H_ALPHA0], hyper[H_POWER], hyper[H_AMAX], t, seed, 0,
                         gap, dual, normalized)


@njit(cache=True)
def _observe(params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, G):
    loss = value_subgrad(params, x, G)  # divergence: common.healthy on x, f and the rescaled ||G||_F
    return observe_values(x, loss, norm(G), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st), loss


@njit(cache=True)
def muon_trajectory(algo, params, hyper, x0, seed, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, st):
    """One configuration for ``rounds`` steps; record at ``rec_rounds`` (sorted, with 0 and the last)."""
    m = int(params[P_M])
    n = int(params[P_N])
    d = m * n
    b = hyper[H_BETA]
    nsteps = int(hyper[H_NS])
    flow = hyper[H_FLOWER]
    x = x0.copy()
    G = np.empty(d)
    Mo = np.zeros(d)
    E = np.zeros(d)
    A = np.empty((m, n))
    D = np.empty((m, n))
    fbar = 0.0
    gbar = 0.0
    init_stats(st)
    p, f = _observe(params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, G)
    for t in range(rounds):
        if p < 0:
            break
        # f and G at x_t were computed by _observe
        if algo == MUON or algo == MUON_NS or algo == SIGNED_MOMENTUM or algo == EF_MUON or algo == MUONMAX \
                or algo == MOMO:
            for j in range(d):
                Mo[j] = b * Mo[j] + (1.0 - b) * G[j]
        else:
            for j in range(d):
                Mo[j] = G[j]
        if int(hyper[H_SCHEDULE]) == POLYAK:
            if algo == SIGN or algo == SIGNED_MOMENTUM:
                dual = 0.0
                for j in range(d):
                    dual += abs(G[j])
            elif algo == GD or algo == MOMO:
                dual = 0.0
                for j in range(d):
                    dual += G[j] * G[j]
                dual = np.sqrt(dual)
            else:
                for j in range(d):
                    A[j // n, j % n] = G[j]
                dual = nuclear(A)
            normalized = algo == MUON or algo == MUON_NS or algo == SIGN or algo == SIGNED_MOMENTUM
            alpha = step_size(hyper, t, seed, f - flow, dual, normalized)
        else:
            alpha = step_size(hyper, t, seed, 0.0, 0.0, True)
        if algo == MUON or algo == MUON_NS or algo == MUONMAX:
            for j in range(d):
                A[j // n, j % n] = Mo[j]
            scale = alpha
            if algo == MUON_NS:
                ns_polar(A, nsteps, D)
            else:
                nuc, k = svd_polar(A, D)
                if algo == MUONMAX:
                    scale = alpha * nuc
            for j in range(d):
                x[j] -= scale * D[j // n, j % n]
        elif algo == SIGNED_MOMENTUM or algo == SIGN:
            for j in range(d):
                v = Mo[j]
                if v > 0.0:
                    x[j] -= alpha
                elif v < 0.0:
                    x[j] += alpha
        elif algo == GD:
            for j in range(d):
                x[j] -= alpha * G[j]
        elif algo == EF or algo == EF_MUON:
            for j in range(d):
                A[j // n, j % n] = alpha * Mo[j] + E[j]
            nuc, k = svd_polar(A, D)
            sc = nuc / k if k > 0 else 0.0
            for j in range(d):
                dl = sc * D[j // n, j % n]
                E[j] = A[j // n, j % n] - dl
                x[j] -= dl
        else:  # MOMO
            gx = 0.0
            for j in range(d):
                gx += G[j] * x[j]
            fbar = b * fbar + (1.0 - b) * f
            gbar = b * gbar + (1.0 - b) * gx
            dx = 0.0
            dd = 0.0
            for j in range(d):
                dx += Mo[j] * x[j]
                dd += Mo[j] * Mo[j]
            tau = 0.0
            if dd > 0.0:
                tau = min(alpha, max(fbar - flow + dx - gbar, 0.0) / dd)
            for j in range(d):
                x[j] -= tau * Mo[j]
        p, f = _observe(params, x, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, G)


@njit(cache=True, parallel=True, nogil=True)
def _batch(algo, params, hyper, x0, seeds, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, out_stats):
    for c in prange(hyper.shape[0]):
        muon_trajectory(algo, params[c, 0], hyper[c], x0[c], seeds[c], target[c], rounds, rec_rounds,
                        out_x[c], out_loss[c], out_gnorm[c], out_stats[c])


def batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """The runner's kernel interface (``prange`` over configurations; ``family`` and the noise model are
    ignored: the instance is deterministic and evaluated here). ``params[c]`` is ``(1, 4)``."""
    _batch(algo, np.ascontiguousarray(params), np.ascontiguousarray(hyper), np.ascontiguousarray(x0),
           np.ascontiguousarray(seeds), np.ascontiguousarray(target), rounds, rec_rounds,
           out_x, out_loss, out_gnorm, out_stats)


__all__ = ["SLOTS", "DEFAULTS", "N_STATS", "batch", "value_subgrad", "SCHEDULES", "MUON", "MUON_NS",
           "SIGNED_MOMENTUM", "SIGN", "GD", "EF", "EF_MUON", "MUONMAX", "MOMO"]


def accepts(problem):
    """The runner's compatibility test: this kernel evaluates the Muon counterexample in its former layout
    only (``problems.muon_counterexample.MatrixProblem``, ``params = [[c, tie, m, n]]``); the registered
    instance is a vector-template problem, run by ``theorybench.methods.muon_vector``."""
    from ..declare_vector import VectorProblem
    return problem.name == "muon-counterexample" and not isinstance(problem, VectorProblem)
