"""Single-machine first-order and adaptive methods, and EF21 / normalized EF21 (the papers are named
per algorithm below), as one whole-trajectory kernel with the same ``batch`` signature as
``kernels/federated.py``.

One "round" is one step: ``x_t`` is the iterate after t steps (round 0 is ``x0``); ``loss`` and
``grad_norm`` are noise-free values of ``f = (1/N) sum_i f_i`` at ``x_t``. The single-machine methods use
the oracle ``g_t = (1/N) sum_i (grad f_i(x_t) + z_i)`` (one stochastic gradient per client, noise from
``common.stoch_grad``); for the usual N = 1 instance this is ``grad f(x_t) + z``. Hyperparameters arrive as
one float vector with the slots of ``SLOTS``. ``t`` below counts steps from 0.

Step schedules: the methods with a step ``eta`` (all but normalized GD, Polyak, AdGD and normalized EF21,
whose steps are their own) take ``schedule`` = constant (``eta``, the default), power (``eta/(t+1)^power``),
random (``eta u_t``, u_t uniform on (0, 1] on stream ``SCHEDULE_STREAM``) or polyak (``(f(x_t) - f_lower)
/ ||g||_2^2``; ``/ ||g||_1`` for SignSGD; ``g`` the oracle's gradient, EF21's estimate), capped at
``alpha_max``; ``eta`` below is that ``eta_t``.

Algorithms (``algo`` code):
    GD (0)                 ``x <- x - eta g``.
    L0L1_GD (1)            (L0,L1)-GD / smoothed clipping: ``x <- x - eta/(L0 + L1 ||g||) g``.
    CLIPPED_GD (2)         step convention: ``x <- x - min(eta, gamma/||g||) g``; gradient convention
                           (Zhang et al. 2020): ``x <- x - eta min(1, gamma/||g||) g``; clipped steps are
                           ``length * g/||g||`` (``common.step``).
    NORMALIZED_GD (3)      ``x <- x - beta_t g/||g||``, ``beta_t = R_hat/sqrt(t+1)`` (no step when g = 0).
    POLYAK (4)             ``x <- x - (f(x) - f_star)/||g||^2 g`` (f noise-free; no step when g = 0).
    ADGD (5)               Malitsky & Mishchenko (2020), Alg. 1: ``x_1 = x_0 - lambda0 g_0``, theta_0 = inf;
                           ``lambda_t = min(sqrt(1 + theta_{t-1}) lambda_{t-1}, ||x_t - x_{t-1}||/(2||g_t - g_{t-1}||))``,
                           ``x_{t+1} = x_t - lambda_t g_t``, ``theta_t = lambda_t/lambda_{t-1}`` (a term that is
                           inf or NaN is dropped; if both are, lambda_t = lambda_{t-1}).
    GEN_SIGNSGD (6)        Generalized SignSGD (Crawshaw et al. 2022, authors' code): ``m = b1 m + (1-b1) g``,
                           ``v = b2 v + (1-b2) m^2`` (per coordinate), ``x <- x - eta m/(sqrt(v) + eps)``
                           (no bias correction; a coordinate with ``sqrt(v) + eps = 0`` does not move).
    SIGNSGD (7)            ``x <- x - eta sign(g)`` (sign(0) = 0).
    SIGNSGD_MOMENTUM (8)   GEN_SIGNSGD with b2 = 0: ``x <- x - eta m/(|m| + eps)``.
    ADAM (9)               ``m = b1 m + (1-b1) g``, ``v = b2 v + (1-b2) g^2``, bias-corrected
                           ``x <- x - eta mhat/(sqrt(vhat) + eps)``.
    ADAGRAD_NORM (10)      ``x <- x - eta g_t/sqrt(gamma^2 + sum_{s<=t} ||g_s||^2)``.
    DEC_ADAGRAD_NORM (11)  decorrelated: the sum runs over s < t (stepsize independent of g_t).
    ADAGRAD (12)           per coordinate: ``x_j <- x_j - eta g_j/sqrt(gamma^2 + sum_{s<=t} g_{s,j}^2)``.
    DEC_ADAGRAD (13)       per coordinate, sum over s < t.
    (for 9-13 a zero denominator gives no step)
    EF21 (14)              Richtarik, Sokolov, Fatkhullin (2021): ``g_i^0 = grad f_i(x_0)`` (uncompressed),
                           ``g = mean_i g_i``; each step ``x <- x - eta g``, then every client sends
                           ``c_i = C(grad f_i(x) - g_i)`` at the new x, ``g_i <- g_i + c_i``, ``g = mean_i g_i``.
    NORMALIZED_EF21 (15)   Khirirat et al. (arXiv 2410.16871), DERIVED indexing: as EF21 with
                           ``x <- x - gamma0/sqrt(T+1) g/||g||`` (T the number of steps of the run).
    Compressor C (``compressor`` slot): Top-k (0): the k entries of largest magnitude (ties: lower index);
    Rand-k (1): k entries uniformly without replacement, unscaled (contractive, alpha = k/d), drawn from the
    counter-based generator on stream ``RANDK_STREAM + i``.
"""
import numpy as np
from numba import njit, prange

from ..families import client_value
from ..rng import uniform01
from .common import S_CLIPPED_FRACTION, init_stats, is_clipped, norm, observe, step, stoch_grad
from .muon import CONSTANT, POLYAK as POLYAK_SCHEDULE, schedule_step

GD = 0
L0L1_GD = 1
CLIPPED_GD = 2
NORMALIZED_GD = 3
POLYAK = 4
ADGD = 5
GEN_SIGNSGD = 6
SIGNSGD = 7
SIGNSGD_MOMENTUM = 8
ADAM = 9
ADAGRAD_NORM = 10
DEC_ADAGRAD_NORM = 11
ADAGRAD = 12
DEC_ADAGRAD = 13
EF21 = 14
NORMALIZED_EF21 = 15

RANDK_STREAM = 1 << 20

SCHEDULE_STREAM = 1 << 21  # the random step schedule's stream (noise uses 0..N-1)

SLOTS = ("eta", "L0", "L1", "gamma", "convention", "R_hat", "f_star", "lambda0", "beta1", "beta2", "eps",
         "k", "compressor", "gamma0", "schedule", "power", "f_lower", "alpha_max")
DEFAULTS = {"eta": 0.01, "L0": 1.0, "L1": 1.0, "gamma": 1.0, "convention": 0, "R_hat": 1.0, "f_star": 0.0,
            "lambda0": 1e-6, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8, "k": 1, "compressor": 0,
            "gamma0": 1.0, "schedule": 0, "power": 0.5, "f_lower": 0.0, "alpha_max": np.inf}
(H_ETA, H_L0, H_L1, H_GAMMA, H_CONVENTION, H_RHAT, H_FSTAR, H_LAMBDA0, H_BETA1, H_BETA2, H_EPS, H_K,
 H_COMPRESSOR, H_GAMMA0, H_SCHEDULE, H_POWER, H_FLOWER, H_AMAX) = range(18)
N_HYPER = len(SLOTS)


@njit(cache=True, inline="always")
def _oracle(family, params, x, g, gtmp, nkind, nscale, nmask, seed, counters):
    """``g = (1/N) sum_i (grad f_i(x) + z_i)``."""
    n = params.shape[0]
    d = x.shape[0]
    for j in range(d):
        g[j] = 0.0
    for i in range(n):
        stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
        counters[i] += 1
        for j in range(d):
            g[j] += gtmp[j]
    for j in range(d):
        g[j] /= n


@njit(cache=True)
def _compress(v, k, kind, seed, stream, counter, out, idx):
    """``out = C(v)``: Top-k (kind 0) or unscaled Rand-k (kind 1); ``idx`` is scratch of length d."""
    d = v.shape[0]
    for j in range(d):
        out[j] = 0.0
        idx[j] = j
    k = min(k, d)
    if kind == 0:
        for q in range(k):  # selection: the largest remaining |v_j| (ties: lower index)
            best = q
            for r in range(q + 1, d):
                if abs(v[idx[r]]) > abs(v[idx[best]]) or (abs(v[idx[r]]) == abs(v[idx[best]])
                                                          and idx[r] < idx[best]):
                    best = r
            t = idx[q]
            idx[q] = idx[best]
            idx[best] = t
            out[idx[q]] = v[idx[q]]
    else:
        for q in range(k):  # partial Fisher-Yates
            r = q + int(uniform01(seed, stream, counter * d + q) * (d - q))
            t = idx[q]
            idx[q] = idx[r]
            idx[r] = t
            out[idx[q]] = v[idx[q]]


@njit(cache=True)
def _scheduled(sch, eta0, hyper, t, seed, family, params, x, g, normalized):
    """The step ``eta_t`` of the schedule (``kernels.muon.schedule_step``; Polyak: ``(f(x_t) - f_lower)``
    over ``||g||_1`` for SignSGD, over ``||g||_2^2`` otherwise, with the oracle's gradient ``g``)."""
    gap, dual = 0.0, 0.0
    if sch == POLYAK_SCHEDULE:
        fx = 0.0
        for i in range(params.shape[0]):
            fx += client_value(family, params[i], x)
        gap = fx / params.shape[0] - hyper[H_FLOWER]
        if normalized:
            for j in range(g.shape[0]):
                dual += abs(g[j])
        else:
            dual = norm(g)
    return schedule_step(sch, eta0, hyper[H_POWER], hyper[H_AMAX], t, seed, SCHEDULE_STREAM, gap, dual, normalized)


@njit(cache=True)
def single_trajectory(algo, family, params, hyper, x0, seed, nkind, nscale, nmask, target, rounds,
                      rec_rounds, out_x, out_loss, out_gnorm, st):
    """Run one configuration for ``rounds`` steps; record at ``rec_rounds`` (sorted, with 0 and T)."""
    n = params.shape[0]
    d = x0.shape[0]
    eta = hyper[H_ETA]
    L0 = hyper[H_L0]
    L1 = hyper[H_L1]
    gamma = hyper[H_GAMMA]
    conv = int(hyper[H_CONVENTION])
    b1 = hyper[H_BETA1]
    b2 = 0.0 if algo == SIGNSGD_MOMENTUM else hyper[H_BETA2]
    eps = hyper[H_EPS]
    kk = int(hyper[H_K])
    ckind = int(hyper[H_COMPRESSOR])

    x = x0.copy()
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    m = np.zeros(d)
    v = np.zeros(d)
    xprev = np.empty(d)
    gprev = np.empty(d)
    acc = np.zeros(d)
    gi = np.zeros((n, d))
    cvec = np.empty(d)
    idx = np.empty(d, dtype=np.int64)
    counters = np.zeros(n, dtype=np.int64)
    ccount = np.zeros(n, dtype=np.int64)
    clipped = 0
    decisions = 0
    lam_prev = hyper[H_LAMBDA0]
    theta = np.inf
    sumsq = gamma * gamma
    init_stats(st)

    if algo == EF21 or algo == NORMALIZED_EF21:
        for i in range(n):
            stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
            counters[i] += 1
            for j in range(d):
                gi[i, j] = gtmp[j]
        for j in range(d):
            acc[j] = 0.0
            for i in range(n):
                acc[j] += gi[i, j]
            acc[j] /= n
    ef_step = hyper[H_GAMMA0] / np.sqrt(rounds + 1.0)
    sch = int(hyper[H_SCHEDULE])
    eta0 = hyper[H_ETA]

    p = observe(family, params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        t = r - 1
        if algo == EF21 or algo == NORMALIZED_EF21:
            if algo == EF21:
                if sch != CONSTANT:
                    eta = _scheduled(sch, eta0, hyper, t, seed, family, params, x, acc, False)
                for j in range(d):
                    x[j] -= eta * acc[j]
            else:
                gn = norm(acc)
                if gn > 0.0:
                    for j in range(d):
                        x[j] -= ef_step * (acc[j] / gn)
            for i in range(n):
                stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
                counters[i] += 1
                for j in range(d):
                    gtmp[j] -= gi[i, j]
                _compress(gtmp, kk, ckind, seed, RANDK_STREAM + i, ccount[i], cvec, idx)
                ccount[i] += 1
                for j in range(d):
                    gi[i, j] += cvec[j]
            for j in range(d):
                acc[j] = 0.0
                for i in range(n):
                    acc[j] += gi[i, j]
                acc[j] /= n
            p = observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)
            continue

        _oracle(family, params, x, g, gtmp, nkind, nscale, nmask, seed, counters)
        if sch != CONSTANT:
            eta = _scheduled(sch, eta0, hyper, t, seed, family, params, x, g, algo == SIGNSGD)
        if algo == GD:
            for j in range(d):
                x[j] -= eta * g[j]
        elif algo == L0L1_GD:
            s = eta / (L0 + L1 * norm(g))
            for j in range(d):
                x[j] -= s * g[j]
        elif algo == CLIPPED_GD:
            c = is_clipped(norm(g), eta, gamma, conv)
            clipped += c
            decisions += 1
            step(x, g, eta, gamma, conv, c)
        elif algo == NORMALIZED_GD:
            gn = norm(g)
            if gn > 0.0:
                beta = hyper[H_RHAT] / np.sqrt(t + 1.0)
                for j in range(d):
                    x[j] -= beta * (g[j] / gn)
        elif algo == POLYAK:
            gn = norm(g)
            if gn > 0.0:
                fx = 0.0
                for i in range(n):
                    fx += client_value(family, params[i], x)
                fx /= n
                if gn * gn > 0.0:
                    s = (fx - hyper[H_FSTAR]) / (gn * gn)
                    for j in range(d):
                        x[j] -= s * g[j]
        elif algo == ADGD:
            if t == 0:
                lam = lam_prev
            else:
                dx = 0.0
                dg = 0.0
                for j in range(d):
                    dx += (x[j] - xprev[j]) ** 2
                    dg += (g[j] - gprev[j]) ** 2
                a = np.sqrt(1.0 + theta) * lam_prev
                b = np.sqrt(dx) / (2.0 * np.sqrt(dg)) if dg > 0.0 else np.inf
                lam = min(a, b)
                if not np.isfinite(lam):
                    lam = lam_prev
                theta = lam / lam_prev if lam_prev > 0.0 else np.inf
            for j in range(d):
                xprev[j] = x[j]
                gprev[j] = g[j]
                x[j] -= lam * g[j]
            lam_prev = lam
        elif algo == GEN_SIGNSGD or algo == SIGNSGD_MOMENTUM:
            for j in range(d):
                m[j] = b1 * m[j] + (1.0 - b1) * g[j]
                v[j] = b2 * v[j] + (1.0 - b2) * m[j] * m[j]
                den = np.sqrt(v[j]) + eps
                if den > 0.0:
                    x[j] -= eta * m[j] / den
        elif algo == SIGNSGD:
            for j in range(d):
                if g[j] > 0.0:
                    x[j] -= eta
                elif g[j] < 0.0:
                    x[j] += eta
        elif algo == ADAM:
            c1 = 1.0 - b1 ** (t + 1)
            c2 = 1.0 - b2 ** (t + 1)
            for j in range(d):
                m[j] = b1 * m[j] + (1.0 - b1) * g[j]
                v[j] = b2 * v[j] + (1.0 - b2) * g[j] * g[j]
                den = np.sqrt(v[j] / c2) + eps
                if den > 0.0:
                    x[j] -= eta * (m[j] / c1) / den
        elif algo == ADAGRAD_NORM or algo == DEC_ADAGRAD_NORM:
            gn = norm(g)
            if algo == ADAGRAD_NORM:
                sumsq += gn * gn
            den = np.sqrt(sumsq)
            if den > 0.0:
                for j in range(d):
                    x[j] -= eta * g[j] / den
            if algo == DEC_ADAGRAD_NORM:
                sumsq += gn * gn
        elif algo == ADAGRAD or algo == DEC_ADAGRAD:
            for j in range(d):
                if algo == ADAGRAD:
                    v[j] += g[j] * g[j]
                den = np.sqrt(gamma * gamma + v[j])
                if den > 0.0:
                    x[j] -= eta * g[j] / den
                if algo == DEC_ADAGRAD:
                    v[j] += g[j] * g[j]
        p = observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)
    st[S_CLIPPED_FRACTION] = clipped / decisions if decisions > 0 else 0.0


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over configurations c (see ``kernels/federated.batch``); each configuration runs on one
    thread, so results do not depend on the thread count."""
    for c in prange(hyper.shape[0]):
        single_trajectory(algo, family, params[c], hyper[c], x0[c], seeds[c], nkind, nscale[c], nmask[c],
                          target[c], rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])
