"""A frozen copy of the former Clip-LocalGDJ / FedAvg kernel (``theorybench.kernels.localgdj.localgdj_trajectory``
with the engine family ``POINTS4``'s ``client_value``, ``client_grad`` and ``global_value_grad`` of
``theorybench.families``, as of commit a51e89c, when it still ran ``quartic-points``), kept as the reference of
the bit-identity test ``tests/test_localgdj_vector.py`` and of ``benchmarks/bench_localgdj_vector.py`` after the
engine dropped it. Frozen means the same operations in the same order; two things are left out because
``quartic-points`` never used them: the dispatch on the family code (only POINTS4's branch is kept, so the
former runtime dispatch is not timed) and the problem's noise model (the instance is deterministic).

Layout: client m's row of ``params`` is ``[w_m, n_m, p_1, ..., p_{n_m}]`` (points flattened, rows padded to the
largest shard). :func:`legacy_params` builds it from a vector-template ``quartic-points`` instance,
:func:`legacy_batch` runs configurations one after another (the former ``batch`` without prange: each
configuration ran on one thread there too)."""
import numpy as np
from numba import njit

from theorybench.kernels.common import N_STATS, S_CLIPPED_FRACTION, STAT_NAMES, init_stats, norm, observe_values
from theorybench.rng import uniform01

CLIP_LOCALGDJ = 0
FEDAVG_GD = 1
CODES = {"clip-localgdj": CLIP_LOCALGDJ, "fedavg-gd": FEDAVG_GD}
SLOTS = ("alpha", "local_steps", "c0", "c1", "batch_size")
DEFAULTS = {"alpha": 1e-6, "local_steps": 10, "c0": 1e3, "c1": 1e-2, "batch_size": 0}
H_ALPHA, H_LOCAL_STEPS, H_C0, H_C1, H_BATCH = range(5)
MINIBATCH_STREAM = 1 << 41


@njit(cache=True, inline="always")
def points4_value(c, x):
    d = x.shape[0]
    v = 0.0
    m = int(c[1])
    for k in range(m):
        s = 0.0
        for j in range(d):
            t = x[j] - c[2 + k * d + j]
            s += t * t
        v += s * s
    return c[0] * v


@njit(cache=True)
def points4_grad(c, x, out):
    d = x.shape[0]
    m = int(c[1])
    for j in range(d):
        out[j] = 0.0
    for k in range(m):
        s = 0.0
        for j in range(d):
            t = x[j] - c[2 + k * d + j]
            s += t * t
        for j in range(d):
            out[j] += 4.0 * c[0] * s * (x[j] - c[2 + k * d + j])


@njit(cache=True, inline="always")
def global_value_grad(params, x, gout, gtmp):
    n = params.shape[0]
    d = x.shape[0]
    val = 0.0
    for j in range(d):
        gout[j] = 0.0
    for i in range(n):
        val += points4_value(params[i], x)
        points4_grad(params[i], x, gtmp)
        for j in range(d):
            gout[j] += gtmp[j]
    for j in range(d):
        gout[j] /= n
    val /= n
    return val


@njit(cache=True, inline="always")
def observe(params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp):
    loss = global_value_grad(params, x, gf, gtmp)
    return observe_values(x, loss, norm(gf), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True, inline="always")
def points4_minibatch_grad(c, y, out, b, seed, client, k):
    d = y.shape[0]
    m = int(c[1])
    w = 4.0 * (c[0] * m / b)
    for j in range(d):
        out[j] = 0.0
    for s in range(b):
        u = uniform01(seed, MINIBATCH_STREAM + client, k * b + s)
        idx = int(u * m)
        if idx >= m:
            idx = m - 1
        base = 2 + idx * d
        sq = 0.0
        for j in range(d):
            t = y[j] - c[base + j]
            sq += t * t
        for j in range(d):
            out[j] += w * sq * (y[j] - c[base + j])


@njit(cache=True)
def localgdj_trajectory(algo, params, hyper, x0, seed, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, st):
    M = params.shape[0]
    d = x0.shape[0]
    alpha = hyper[H_ALPHA]
    tau = int(hyper[H_LOCAL_STEPS])
    c0 = hyper[H_C0]
    c1 = hyper[H_C1]
    b = int(hyper[H_BATCH])

    x = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    acc = np.empty(d)
    counters = np.zeros(M, dtype=np.int64)
    clipped = 0
    jumps = 0
    inv = 1.0 / (alpha * M * tau)
    init_stats(st)

    p = observe(params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        for j in range(d):
            acc[j] = 0.0
        for m in range(M):
            for j in range(d):
                y[j] = x[j]
            for k in range(tau):
                if b > 0:
                    points4_minibatch_grad(params[m], y, g, b, seed, m, counters[m])
                else:
                    points4_grad(params[m], y, g)
                counters[m] += 1
                for j in range(d):
                    y[j] -= alpha * g[j]
            if algo == CLIP_LOCALGDJ:
                for j in range(d):
                    acc[j] += x[j] - y[j]
            else:
                for j in range(d):
                    acc[j] += y[j]
        if algo == CLIP_LOCALGDJ:
            for j in range(d):
                acc[j] *= inv
            gn = norm(acc)
            lr = 1.0 / (c0 + c1 * gn)
            clipped += c1 * gn > c0
            jumps += 1
            for j in range(d):
                x[j] -= lr * acc[j]
        else:
            for j in range(d):
                x[j] = acc[j] / M
        p = observe(params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)
    st[S_CLIPPED_FRACTION] = clipped / jumps if jumps > 0 else 0.0


@njit(cache=True)
def _batch(algo, params, hyper, x0, seeds, target, rounds, rec, out_x, out_loss, out_gnorm, out_stats):
    for c in range(hyper.shape[0]):
        localgdj_trajectory(algo, params, hyper[c], x0[c], seeds[c], target[c], rounds, rec, out_x[c],
                            out_loss[c], out_gnorm[c], out_stats[c])


def legacy_params(prob):
    """The former POINTS4 rows of a vector-template ``quartic-points`` instance (module docstring)."""
    a = prob.arrays
    M, d = prob.n_clients, prob.dim
    width = int(a["count"].max())
    params = np.zeros((M, 2 + width * d))
    for m in range(M):
        s, c = int(a["start"][m]), int(a["count"][m])
        params[m, 0] = a["weight"][m]
        params[m, 1] = c
        params[m, 2:2 + c * d] = a["pts"][s:s + c].ravel()
    return params


def legacy_batch(alg, params, settings, seeds, rounds, record, x0s, targets=None):
    """Configurations ``settings[c]`` (validated dicts), ``seeds[c]``, ``x0s[c]`` of ``alg`` (a name) on
    ``params``: returns ``(x, loss, grad_norm, stats)`` (x and the traces on ``record``; stats by name,
    ``kernels.common.STAT_NAMES``, arrays over the configurations)."""
    n = len(settings)
    hyper = np.array([[s.get(k, DEFAULTS[k]) for k in SLOTS] for s in settings], dtype=np.float64)
    hyper = hyper.reshape(n, len(SLOTS))
    rec = np.ascontiguousarray(record, dtype=np.int64)
    x0 = np.ascontiguousarray(np.asarray(x0s, dtype=np.float64).reshape(n, -1))
    out_x = np.full((n, rec.size, x0.shape[1]), np.nan)
    out_loss = np.full((n, rec.size), np.nan)
    out_gn = np.full((n, rec.size), np.nan)
    st = np.zeros((n, N_STATS))
    tg = np.zeros(n) if targets is None else np.ascontiguousarray(np.broadcast_to(targets, (n,)), dtype=np.float64)
    _batch(CODES[alg], np.ascontiguousarray(params), hyper, x0, np.asarray(seeds, dtype=np.int64), tg, int(rounds),
           rec, out_x, out_loss, out_gn, st)
    return out_x, out_loss, out_gn, {k: st[:, j] for j, k in enumerate(STAT_NAMES)}
