"""Muon and the non-Euclidean methods of Parshakova, Khaled, Crawshaw, Garrigos, Gower (arXiv 2605.08980) on
the vector template (``theorybench.declare_vector``): the names and hyperparameters of
``theorybench.methods.muon``, one step body ``mu_step`` for the nine methods (each method's step piece calls
it with its variant code as a constant, pruned when Numba compiles the piece: no dispatch in the step loop),
run on every instance whose family has the matrix layout of ``problems/muon_counterexample.py`` (the sizes
``rows`` and ``cols``: W is m x n = rows x cols, flattened row-major into x).

Notation: ``G_t`` the oracle's subgradient at W_t (``theorybench.oracle.gradient``), momentum ``M_t = b M_{t-1}
+ (1-b) G_t`` with ``M_{-1} = 0`` (``M_t = G_t`` for the methods without b), step ``alpha_t`` from the schedule::

    muon             W <- W - alpha_t polar(M_t)                        (exact polar factor by SVD)
    muon-ns          the same with ns_steps Newton-Schulz steps (quintic 3.4445, -4.7750, 2.0315) on
                     M_t/(||M_t||_F + 1e-7)
    signed-momentum  W <- W - alpha_t sign(M_t)                          (entrywise, sign(0) = 0)
    sign-descent     W <- W - alpha_t sign(G_t)
    subgradient      W <- W - alpha_t G_t
    ef               P = alpha_t G_t + E; Delta = (||P||_nuc / rank P) polar(P); W <- W - Delta; E <- P - Delta
    ef-muon          ef on the momentum, P = alpha_t M_t + E
    muonmax          W <- W - alpha_t ||M_t||_nuc polar(M_t)  (FOLLOWS THE AUTHORS' CURRENT CODE: the polar
                     step scaled by the sum of nuclear norms over the Muon layers, here one matrix;
                     non-normalized, hybrid aggregation; may differ from the paper)
    momo             Momo (FOLLOWS THE AUTHORS' CURRENT CODE): d = b d + (1-b) G, fbar = b fbar + (1-b) f(W),
                     gbar = b gbar + (1-b) <G, W>; tau = min(alpha_t, max(fbar - lb + <d, W> - gbar, 0)/||d||_F^2);
                     W <- W - tau d (lb = f_lower, no bias correction)

Polar factors drop singular values ``<= RANK_RTOL s_max`` (rounding residue of exact cancellations; rank P
counts the others); ``sign(0) = 0`` inside sign steps. Schedules (``schedule``, a choice: its index in
``("constant", "power", "polyak", "random")``): ``alpha0``; ``alpha0/(t+1)^power``; Polyak ``(f(W_t) -
f_lower)/||G_t||_*`` for the normalized methods (muon, muon-ns: nuclear norm; sign-descent, signed-momentum:
l1) and ``/||G_t||_*^2`` for the others (subgradient, momo: Frobenius; ef, ef-muon, muonmax: nuclear), capped at
``alpha_max`` (0 when ``||G_t||_* = 0``); random ``alpha0 u_t``, ``u_t = 1 - uniform01(seed, 0, t)`` in (0, 1].

The arithmetic is the former kernel's (``theorybench.kernels.muon``), operation for operation, and the SVD the
same LAPACK call (``np.linalg.svd(A, full_matrices=False)``): the trajectories are bit-identical
(``tests/test_muon_vector.py``)."""
import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.kernels.muon import nuclear, ns_polar, svd_polar  # polar factor, ||.||_nuc, Newton-Schulz
from theorybench.methods.muon import (_AMAX, _ALPHA0, _BETA, _BETA9, _FLOW, _NS, _POWER, _REF, _REF_V, _SCHED)
from theorybench.oracle import gradient, value
from theorybench.rng import uniform01

MU_CONSTANT, MU_POWER, MU_POLYAK, MU_RANDOM = 0, 1, 2, 3  # the indices of _SCHED.choices
assert _SCHED.choices == ("constant", "power", "polyak", "random")


# ---------------------------------------------------------------- the schedules

@njit(cache=True)
def mu_schedule(schedule, alpha0, power, alpha_max, t, seed, gap, dual, normalized):
    """``alpha_t`` (module docstring) from the Polyak step's ``gap = f(W_t) - f_lower`` and ``dual = ||G_t||_*``."""
    if schedule == MU_CONSTANT:
        return alpha0
    if schedule == MU_POWER:
        return alpha0 / (t + 1.0) ** power
    if schedule == MU_RANDOM:
        return alpha0 * (1.0 - uniform01(seed, 0, t))
    if dual <= 0.0:
        return 0.0
    a = max(gap, 0.0) / dual if normalized else max(gap, 0.0) / (dual * dual)
    return min(a, alpha_max)


@njit(cache=True, inline="always")
def mu_l1(G):
    """``||G||_1`` (the Polyak step of the sign methods)."""
    dual = 0.0
    for j in range(G.shape[0]):
        dual += abs(G[j])
    return dual


@njit(cache=True, inline="always")
def mu_fro(G):
    """``||G||_F`` (a plain sum of squares, as the former kernel)."""
    dual = 0.0
    for j in range(G.shape[0]):
        dual += G[j] * G[j]
    return np.sqrt(dual)


@njit(cache=True)
def mu_nuc(G, A):
    """``||G||_nuc`` (``A``: the m x n buffer that receives G)."""
    n = A.shape[1]
    for j in range(G.shape[0]):
        A[j // n, j % n] = G[j]
    return nuclear(A)


@njit(cache=True, inline="always")
def mu_momentum(M, G, beta):
    for j in range(G.shape[0]):
        M[j] = beta * M[j] + (1.0 - beta) * G[j]


# ---------------------------------------------------------------- the steps

# the variants of the one step body ``mu_step`` (each method's step piece passes its own as a literal)
MU_MUON, MU_MUON_NS, MU_SIGNED_MOMENTUM, MU_SIGN_DESCENT, MU_SUBGRADIENT, MU_EF, MU_EF_MUON, MU_MUONMAX, MU_MOMO = \
    range(9)


@njit(cache=True, inline="always")
def mu_sign_update(x, V, alpha):
    for j in range(x.shape[0]):
        v = V[j]
        if v > 0.0:
            x[j] -= alpha
        elif v < 0.0:
            x[j] += alpha


@njit(cache=True)
def mu_ef_update(x, V, E, A, D, alpha):
    """``P = alpha V + E``; ``Delta = (||P||_nuc / rank P) polar(P)``; ``W <- W - Delta``; ``E <- P - Delta``."""
    n = A.shape[1]
    for j in range(x.shape[0]):
        A[j // n, j % n] = alpha * V[j] + E[j]
    nuc, k = svd_polar(A, D)
    sc = nuc / k if k > 0 else 0.0
    for j in range(x.shape[0]):
        dl = sc * D[j // n, j % n]
        E[j] = A[j // n, j % n] - dl
        x[j] -= dl


@njit(cache=True)
def mu_momo_update(x, G, M, avg, f, f_lower, alpha, beta):
    """Momo with ``avg = (fbar, gbar)`` and ``d = M``."""
    gx = 0.0
    for j in range(x.shape[0]):
        gx += G[j] * x[j]
    avg[0] = beta * avg[0] + (1.0 - beta) * f
    avg[1] = beta * avg[1] + (1.0 - beta) * gx
    dx = 0.0
    dd = 0.0
    for j in range(x.shape[0]):
        dx += M[j] * x[j]
        dd += M[j] * M[j]
    tau = 0.0
    if dd > 0.0:
        tau = min(alpha, max(avg[0] - f_lower + dx - avg[1], 0.0) / dd)
    for j in range(x.shape[0]):
        x[j] -= tau * M[j]


@njit(cache=True, inline="always")
def mu_step(variant, x, t, seed, prob, G, M, E, A, D, avg, alpha0, schedule, power, f_lower, alpha_max, beta,
            ns_steps):
    """One step of every method (module docstring); ``variant``: one of the ``MU_*`` codes. Each method's step
    piece below calls it with its code as a constant: Numba prunes the other variants' branches after inlining
    (``inline="always"``), before typing, so there is no dispatch in the step loop and an array a variant
    never touches may be ``None``. The methods without momentum pass ``M = G`` (``M_t = G_t``)."""
    gradient(prob, x, G)
    momo = variant == MU_MOMO
    f = value(prob, x) if momo or schedule == MU_POLYAK else 0.0
    if not (variant == MU_SIGN_DESCENT or variant == MU_SUBGRADIENT or variant == MU_EF):
        mu_momentum(M, G, beta)
    gap = 0.0
    dual = 0.0
    if schedule == MU_POLYAK:
        gap = f - f_lower
        if variant == MU_SIGNED_MOMENTUM or variant == MU_SIGN_DESCENT:
            dual = mu_l1(G)
        elif variant == MU_SUBGRADIENT or momo:
            dual = mu_fro(G)
        else:
            dual = mu_nuc(G, A)
    normalized = (variant == MU_MUON or variant == MU_MUON_NS or variant == MU_SIGNED_MOMENTUM
                  or variant == MU_SIGN_DESCENT)
    alpha = mu_schedule(schedule, alpha0, power, alpha_max, t, seed, gap, dual, normalized)
    if variant == MU_MUON or variant == MU_MUON_NS or variant == MU_MUONMAX:  # W <- W - scale polar(M_t)
        n = A.shape[1]
        for j in range(x.shape[0]):
            A[j // n, j % n] = M[j]
        if variant == MU_MUON_NS:
            ns_polar(A, ns_steps, D)
            scale = alpha
        else:
            nuc, k = svd_polar(A, D)
            scale = alpha * nuc if variant == MU_MUONMAX else alpha
        for j in range(x.shape[0]):
            x[j] -= scale * D[j // n, j % n]
    elif variant == MU_SIGNED_MOMENTUM or variant == MU_SIGN_DESCENT:
        mu_sign_update(x, M, alpha)
    elif variant == MU_SUBGRADIENT:
        for j in range(x.shape[0]):
            x[j] -= alpha * M[j]
    elif variant == MU_EF or variant == MU_EF_MUON:
        mu_ef_update(x, M, E, A, D, alpha)
    else:
        mu_momo_update(x, G, M, avg, f, f_lower, alpha, beta)


# the step pieces: their argument names choose the state and hyperparameters the template passes; inlined
# into the composed kernel's step loop

@njit(cache=True, inline="always")
def muon_polar_step(x, t, seed, prob, G, M, A, D, alpha0, schedule, power, f_lower, alpha_max, beta):
    mu_step(MU_MUON, x, t, seed, prob, G, M, None, A, D, None, alpha0, schedule, power, f_lower, alpha_max, beta, 0)


@njit(cache=True, inline="always")
def muon_ns_step(x, t, seed, prob, G, M, A, D, alpha0, schedule, power, f_lower, alpha_max, beta, ns_steps):
    mu_step(MU_MUON_NS, x, t, seed, prob, G, M, None, A, D, None, alpha0, schedule, power, f_lower, alpha_max, beta,
            ns_steps)


@njit(cache=True, inline="always")
def signed_momentum_step(x, t, seed, prob, G, M, alpha0, schedule, power, f_lower, alpha_max, beta):
    mu_step(MU_SIGNED_MOMENTUM, x, t, seed, prob, G, M, None, None, None, None, alpha0, schedule, power, f_lower,
            alpha_max, beta, 0)


@njit(cache=True, inline="always")
def sign_descent_step(x, t, seed, prob, G, alpha0, schedule, power, f_lower, alpha_max):
    mu_step(MU_SIGN_DESCENT, x, t, seed, prob, G, G, None, None, None, None, alpha0, schedule, power, f_lower,
            alpha_max, 0.0, 0)


@njit(cache=True, inline="always")
def subgradient_step(x, t, seed, prob, G, alpha0, schedule, power, f_lower, alpha_max):
    mu_step(MU_SUBGRADIENT, x, t, seed, prob, G, G, None, None, None, None, alpha0, schedule, power, f_lower,
            alpha_max, 0.0, 0)


@njit(cache=True, inline="always")
def ef_step(x, t, seed, prob, G, E, A, D, alpha0, schedule, power, f_lower, alpha_max):
    mu_step(MU_EF, x, t, seed, prob, G, G, E, A, D, None, alpha0, schedule, power, f_lower, alpha_max, 0.0, 0)


@njit(cache=True, inline="always")
def ef_muon_step(x, t, seed, prob, G, M, E, A, D, alpha0, schedule, power, f_lower, alpha_max, beta):
    mu_step(MU_EF_MUON, x, t, seed, prob, G, M, E, A, D, None, alpha0, schedule, power, f_lower, alpha_max, beta, 0)


@njit(cache=True, inline="always")
def muonmax_step(x, t, seed, prob, G, M, A, D, alpha0, schedule, power, f_lower, alpha_max, beta):
    mu_step(MU_MUONMAX, x, t, seed, prob, G, M, None, A, D, None, alpha0, schedule, power, f_lower, alpha_max, beta, 0)


@njit(cache=True, inline="always")
def momo_step(x, t, seed, prob, G, M, avg, alpha0, schedule, power, f_lower, alpha_max, beta):
    """``avg = (fbar, gbar)``."""
    mu_step(MU_MOMO, x, t, seed, prob, G, M, None, None, None, avg, alpha0, schedule, power, f_lower, alpha_max, beta,
            0)


# ---------------------------------------------------------------- the methods

_COMMON = (_ALPHA0, _SCHED, _POWER, _FLOW, _AMAX)
_G, _M, _E = ("G", ("d",)), ("M", ("d",)), ("E", ("d",))
_A, _D = ("A", ("rows", "cols")), ("D", ("rows", "cols"))


def _method(name, params, step, state, doc, ref=_REF):
    return register_method(VectorMethod(name, params, step, state=state, doc=doc, reference=ref))


MUON = _method("muon", _COMMON + (_BETA,), muon_polar_step, (_G, _M, _A, _D),
               "Muon as analysed: M_t = b M_{t-1} + (1-b) G_t, W <- W - alpha_t polar(M_t) (exact polar by SVD).")
MUON_NS = _method("muon-ns", _COMMON + (_BETA, _NS), muon_ns_step, (_G, _M, _A, _D),
                  "Muon with Newton-Schulz: polar(M_t) replaced by ns_steps quintic iterations (3.4445, -4.7750, "
                  "2.0315) on M_t/||M_t||_F.")
SIGNED_MOMENTUM = _method("signed-momentum", _COMMON + (_BETA,), signed_momentum_step, (_G, _M),
                          "Signed momentum: W <- W - alpha_t sign(M_t) (entrywise, sign(0) = 0).")
SIGN_DESCENT = _method("sign-descent", _COMMON, sign_descent_step, (_G,),
                       "Sign subgradient descent: W <- W - alpha_t sign(G_t).")
SUBGRADIENT = _method("subgradient", _COMMON, subgradient_step, (_G,),
                      "Euclidean subgradient descent: W <- W - alpha_t G_t (Polyak: alpha_t = (f - f*)/||G_t||_F^2).",
                      "Polyak 1969")
EF = _method("ef", _COMMON, ef_step, (_G, _E, _A, _D),
             "Error feedback with the rank-scaled polar compressor: P = gamma_t G_t + E, "
             "Delta = (||P||_nuc/rank P) polar(P), W <- W - Delta, E <- P - Delta.")
EF_MUON = _method("ef-muon", _COMMON + (_BETA9,), ef_muon_step, (_G, _M, _E, _A, _D),
                  "EF-Muon: EF on the momentum, P = gamma_t M_t + E.")
MUONMAX = _method("muonmax", _COMMON + (_BETA9,), muonmax_step, (_G, _M, _A, _D),
                  "MuonMax (FOLLOWS THE AUTHORS' CURRENT CODE, may differ from the paper): W <- W - alpha_t "
                  "||M_t||_nuc polar(M_t) (non-normalized; one matrix = one Muon layer).", _REF_V)
MOMO = _method("momo", _COMMON + (_BETA9,), momo_step, (_G, _M, ("avg", (2,))),
               "Momo (FOLLOWS THE AUTHORS' CURRENT CODE): tau = min(lr, max(fbar - lb + <d, W> - gbar, 0)/||d||^2), "
               "W <- W - tau d with averaged d, fbar, gbar (lr = the schedule's alpha_t, lb = f_lower).", _REF_V)
