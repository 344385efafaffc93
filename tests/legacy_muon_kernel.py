"""A frozen copy of the former Muon kernel's trajectory (``theorybench.kernels.muon.muon_trajectory`` with its
oracle ``value_subgrad``, as of commit dab5156, when it still ran the registered instance), kept as the
reference of the bit-identity test ``tests/test_muon_vector.py`` after the engine dropped it: one generic loop
that dispatches on the method code ``algo`` and the schedule code every step, on ``params = [c, tie, m, n]``.
Its shared helpers (``svd_polar``, ``ns_polar``, ``nuclear``, ``schedule_step``) are the engine's, which the
steepest-descent and single-machine kernels still use. :func:`legacy_run` packs the hyperparameters as the
former ``Algorithm.pack`` did (slots ``SLOTS``, defaults ``DEFAULTS``) and runs one configuration."""
import numpy as np
from numba import njit

from theorybench.kernels.common import N_STATS, STAT_NAMES, init_stats, norm, observe_values
from theorybench.kernels.muon import SCHEDULES, nuclear, ns_polar, schedule_step, svd_polar

MUON, MUON_NS, SIGNED_MOMENTUM, SIGN, GD, EF, EF_MUON, MUONMAX, MOMO = range(9)
CODES = {"muon": MUON, "muon-ns": MUON_NS, "signed-momentum": SIGNED_MOMENTUM, "sign-descent": SIGN,
         "subgradient": GD, "ef": EF, "ef-muon": EF_MUON, "muonmax": MUONMAX, "momo": MOMO}
POLYAK = SCHEDULES["polyak"]
SLOTS = ("alpha0", "schedule", "power", "beta", "ns_steps", "f_lower", "alpha_max")
DEFAULTS = {"alpha0": 1.0, "schedule": 0, "power": 0.51, "beta": 0.0, "ns_steps": 5, "f_lower": 0.0,
            "alpha_max": np.inf}
H_ALPHA0, H_SCHEDULE, H_POWER, H_BETA, H_NS, H_FLOWER, H_AMAX = range(7)
P_C, P_TIE, P_M, P_N = range(4)


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


def legacy_run(alg, c, tie, m, n, hyper, x0, seed, steps, record, target=0.0):
    """One configuration of ``alg`` (a name) on the counterexample with ``(c, tie, m, n)``: returns ``(x, loss,
    grad_norm, stats)`` (x and the traces on ``record``; stats by name, ``kernels.common.STAT_NAMES``).
    ``hyper``: the method's validated settings (``theorybench.algorithms.get_algorithm(alg).resolve``)."""
    h = np.empty(len(SLOTS))
    for k, name in enumerate(SLOTS):
        v = hyper.get(name, DEFAULTS[name])
        h[k] = SCHEDULES[v] if name == "schedule" else v
    params = np.array([c, tie, m, n], dtype=np.float64)
    rec = np.ascontiguousarray(record, dtype=np.int64)
    out_x = np.full((rec.size, m * n), np.nan)
    out_loss = np.full(rec.size, np.nan)
    out_gn = np.full(rec.size, np.nan)
    st = np.zeros(N_STATS)
    muon_trajectory(CODES[alg], params, h, np.ascontiguousarray(x0, dtype=np.float64), np.int64(seed),
                    float(target), int(steps), rec, out_x, out_loss, out_gn, st)
    return out_x, out_loss, out_gn, dict(zip(STAT_NAMES, st))
