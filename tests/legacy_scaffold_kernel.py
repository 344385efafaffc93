"""A frozen copy of the former Amplified SCAFFOLD kernel (``theorybench.kernels.scaffold.scaffold_trajectory``
on the engine family ``ASYNTH``, with that family's ``client_value``, ``client_grad`` and ``global_value_grad``
of ``theorybench.families``, ``kernels.common.stoch_grad`` and ``theorybench.sampling``'s ``available_clients``
/ ``sample_clients``, as of commit f9633fb, the last one that ran it), kept as the reference of the
bit-identity test ``tests/test_scaffold_vector.py`` and of ``benchmarks/bench_scaffold_tuning.py`` after the
engine dropped it. Frozen means the same operations in the same order; left out: the dispatch on the family
code (only ASYNTH's branch is kept) and the noise models other than Gaussian (the instance's only one).
Imported from the engine unchanged: the counter-based draws (``theorybench.rng.uniform01``, the random
streams' contract) and the observation (``kernels.common``: ``init_stats``, ``norm``, ``observe_values``),
which every kernel shares.

Notation (Crawshaw, Liu, NeurIPS 2024): N clients, S sampled per round, I local steps, learning rate ``lr``,
amplification gamma, local stepsize ``eta = lr/gamma`` (amplified methods) or ``lr``, period P, K groups,
FedProx's mu; client memories ``c_i`` and ``c = mean_i c_i`` start at 0, the anchor at ``x0``. Client i's
row of ``params`` is ``[mu, c, H, b2, a_i, s_i, zeta, extra]`` (:func:`legacy_rows`), with ``f_i(x) =
mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + a_i/4 x4^2 + s_i zeta x4`` and the logged value
``mean_i f_i + extra x4^2``; Gaussian noise N(0, sigma^2) on x3 only.

:func:`legacy_batch` packs the hyperparameters as the former ``Algorithm.pack`` did: the parameters each
former algorithm declared (``DECLARED``) take the given value or their default (``PARAM_DEFAULTS``), the
other slots the kernel's ``DEFAULTS``; the configurations run one after another (the former ``batch`` ran
each on one thread)."""
import math

import numpy as np
from numba import njit

from theorybench.kernels.common import N_STATS, STAT_NAMES, init_stats, norm, observe_values
from theorybench.rng import uniform01

FEDAVG, FEDPROX, SCAFFOLD, AMP_FEDAVG, AMP_SCAFFOLD = range(5)
CODES = {"fedavg-pp": FEDAVG, "fedprox": FEDPROX, "scaffold": SCAFFOLD, "amplified-fedavg": AMP_FEDAVG,
         "amplified-scaffold": AMP_SCAFFOLD}
SLOTS = ("lr", "amplification", "local_steps", "clients_per_round", "participation", "groups", "period",
         "prox_mu")
DEFAULTS = {"lr": 1e-4, "amplification": 1.0, "local_steps": 10, "clients_per_round": 1, "participation": 1,
            "groups": 2, "period": 480, "prox_mu": 0.0}
H_LR, H_GAMMA, H_LOCAL_STEPS, H_S, H_PART, H_GROUPS, H_PERIOD, H_PROX = range(8)
# the former algorithms' declared parameters and their defaults (methods/scaffold.py at f9633fb)
_PP = ("lr", "local_steps", "clients_per_round", "participation", "groups", "period")
DECLARED = {"fedavg-pp": _PP, "fedprox": _PP + ("prox_mu",), "scaffold": _PP,
            "amplified-fedavg": _PP + ("amplification",), "amplified-scaffold": _PP + ("amplification",)}
PARAM_DEFAULTS = {"lr": 1e-4, "amplification": 1.5, "local_steps": 10, "clients_per_round": 1,
                  "participation": "cyclic", "groups": 2, "period": 480, "prox_mu": 0.1}
UNIFORM, CYCLIC = 0, 1
PARTICIPATION = {"uniform": UNIFORM, "cyclic": CYCLIC}
SAMPLING_STREAM = 1 << 40
NOISE_NONE, NOISE_GAUSSIAN = 0, 2
NOISY = 2  # x3 (0-based 2): the only noisy coordinate


# ------------------------------------------------------------------------------------ ASYNTH (families.py)

@njit(cache=True)
def client_value(c, x):
    """``f_i(x)`` for the row ``c = [mu, cc, H, b2, a_i, s_i, zeta, extra]``."""
    x3p = max(0.0, x[2])
    return (0.5 * c[0] * (x[0] - c[1]) ** 2 + 0.5 * c[2] * (x[1] - c[3]) ** 2
            + c[2] / 8.0 * (x[2] * x[2] + x3p * x3p) + 0.25 * c[4] * x[3] * x[3] + c[5] * c[6] * x[3])


@njit(cache=True)
def client_grad(c, x, out):
    """Write ``grad f_i(x)`` into ``out``."""
    out[0] = c[0] * (x[0] - c[1])
    out[1] = c[2] * (x[1] - c[3])
    out[2] = c[2] / 4.0 * (x[2] + max(0.0, x[2]))
    out[3] = 0.5 * c[4] * x[3] + c[5] * c[6]


@njit(cache=True)
def global_value_grad(params, x, gout, gtmp):
    """The logged value ``mean_i f_i(x) + extra x4^2``; writes ``grad (mean_i f_i)(x)`` into ``gout``."""
    n = params.shape[0]
    d = x.shape[0]
    val = 0.0
    for j in range(d):
        gout[j] = 0.0
    for i in range(n):
        val += client_value(params[i], x)
        client_grad(params[i], x, gtmp)
        for j in range(d):
            gout[j] += gtmp[j]
    for j in range(d):
        gout[j] /= n
    val /= n
    val += params[0, 7] * x[3] * x[3]
    return val


# ------------------------------------------------------------------------- noise (rng.noise, Gaussian only)

@njit(cache=True)
def noise(kind, scale, seed, stream, counter):
    """``rng.noise`` for the models ``none`` and ``gaussian``: Box-Muller on the draws ``2 counter``, ``+1``."""
    if kind == NOISE_NONE or scale == 0.0:
        return 0.0
    u1 = 1.0 - uniform01(seed, stream, 2 * counter)  # in (0, 1]
    u2 = uniform01(seed, stream, 2 * counter + 1)
    return scale * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True, inline="always")
def stoch_grad(c, y, out, nkind, nscale, nmask, seed, client, counter):
    """``grad f_i(y) + z``: coordinate j of client i's k-th draw uses stream i, counter ``k d + j``."""
    client_grad(c, y, out)
    d = y.shape[0]
    for j in range(d):
        if nmask[j] != 0.0:
            out[j] += noise(nkind, nscale, seed, client, counter * d + j)


# ------------------------------------------------------------------------------------ sampling.py

@njit(cache=True)
def available_clients(mode, n, groups, period, r, out):
    """Write the clients available in round ``r`` into ``out``; return their number."""
    if mode == CYCLIC and groups > 1:
        per = period // groups
        g = (r % period) // per if per > 0 else 0
        if g >= groups:
            g = groups - 1
        m = 0
        for i in range(n):
            if i % groups == g:
                out[m] = i
                m += 1
        return m
    for i in range(n):
        out[i] = i
    return n


@njit(cache=True)
def sample_clients(seed, r, avail, m, S, out):
    """Draw ``min(S, m)`` of the ``m`` clients in ``avail[:m]`` without replacement into ``out``."""
    if S <= 0 or S >= m:
        for k in range(m):
            out[k] = avail[k]
        return m
    for k in range(S):
        u = uniform01(seed, SAMPLING_STREAM, r * 1048576 + k)
        j = k + int(u * (m - k))
        if j >= m:
            j = m - 1
        t = avail[k]
        avail[k] = avail[j]
        avail[j] = t
        out[k] = avail[k]
    return S


# ------------------------------------------------------------------------------------ kernels/scaffold.py

@njit(cache=True, inline="always")
def observe(params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp):
    loss = global_value_grad(params, x, gf, gtmp)
    return observe_values(x, loss, norm(gf), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True, inline="always")
def _refresh(i, n, d, ci, c, gsum, cnt):
    """``c <- c - c_i/N``; ``c_i <- gsum_i / cnt_i``; ``c <- c + c_i/N``; clear i's accumulator."""
    for j in range(d):
        c[j] -= ci[i, j] / n
        ci[i, j] = gsum[i, j] / cnt[i]
        c[j] += ci[i, j] / n
        gsum[i, j] = 0.0
    cnt[i] = 0


@njit(cache=True)
def scaffold_trajectory(algo, params, hyper, x0, seed, nkind, nscale, nmask, target, rounds, rec_rounds, out_x,
                        out_loss, out_gnorm, st):
    """Run one configuration for ``rounds`` rounds; record at ``rec_rounds`` (sorted, with 0 and R)."""
    n = params.shape[0]
    d = x0.shape[0]
    lr = hyper[H_LR]
    steps = int(hyper[H_LOCAL_STEPS])
    S = int(hyper[H_S])
    part = int(hyper[H_PART])
    K = int(hyper[H_GROUPS])
    P = int(hyper[H_PERIOD])
    prox = hyper[H_PROX]
    amplify = algo == AMP_FEDAVG or algo == AMP_SCAFFOLD
    correct = algo == SCAFFOLD or algo == AMP_SCAFFOLD
    gamma = hyper[H_GAMMA] if amplify else 1.0
    eta = lr / gamma

    x = x0.copy()
    anchor = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    acc = np.empty(d)
    ci = np.zeros((n, d))
    c = np.zeros(d)
    gsum = np.zeros((n, d))
    cnt = np.zeros(n, dtype=np.int64)
    counters = np.zeros(n, dtype=np.int64)
    avail = np.empty(n, dtype=np.int64)
    chosen = np.empty(n, dtype=np.int64)
    init_stats(st)

    p = observe(params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        t = r - 1
        m = available_clients(part, n, K, P, t, avail)
        ns = sample_clients(seed, t, avail, m, S, chosen)
        for j in range(d):
            acc[j] = 0.0
        for q in range(ns):
            i = chosen[q]
            row = params[i]
            for j in range(d):
                y[j] = x[j]
            for k in range(steps):
                stoch_grad(row, y, g, nkind, nscale, nmask, seed, i, counters[i])
                counters[i] += 1
                if correct:
                    for j in range(d):
                        gsum[i, j] += g[j]
                        g[j] += c[j] - ci[i, j]
                    cnt[i] += 1
                if prox != 0.0:
                    for j in range(d):
                        g[j] += prox * (y[j] - x[j])
                for j in range(d):
                    y[j] -= eta * g[j]
            for j in range(d):
                acc[j] += y[j]
        if ns > 0:
            for j in range(d):
                x[j] = acc[j] / ns
        if algo == SCAFFOLD:
            for q in range(ns):
                _refresh(chosen[q], n, d, ci, c, gsum, cnt)
        if amplify and r % P == 0:
            for j in range(d):
                x[j] = anchor[j] + gamma * (x[j] - anchor[j])
                anchor[j] = x[j]
            if algo == AMP_SCAFFOLD:
                for i in range(n):
                    if cnt[i] > 0:
                        _refresh(i, n, d, ci, c, gsum, cnt)
        p = observe(params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)


@njit(cache=True)
def _batch(algo, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec, out_x, out_loss, out_gnorm,
           out_stats):
    for cfg in range(hyper.shape[0]):
        scaffold_trajectory(algo, params, hyper[cfg], x0[cfg], seeds[cfg], nkind, nscale, nmask, target[cfg],
                            rounds, rec, out_x[cfg], out_loss[cfg], out_gnorm[cfg], out_stats[cfg])


# ------------------------------------------------------------------------------------ drivers

def legacy_rows(N=2, H=16.0, lam=1.0, zeta=16.0, c=1.0, mu=1.0, L=2.0):
    """The ``(N, 8)`` rows ``[mu, c, H, b2, a_i, s_i, zeta, extra]`` of the former ``ASYNTH`` instance
    (``a_i = L, s_i = +1`` for even i, ``lambda, -1`` for odd i, ``b2 = sqrt(mu) c / sqrt(H)``,
    ``extra = (L + lambda)/8``), as ``problems.amplified_scaffold`` built them for the former engine."""
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    extra = (L + lam) / 8.0
    return np.array([[mu, c, H, b2, L if i % 2 == 0 else lam, 1.0 if i % 2 == 0 else -1.0, zeta, extra]
                     for i in range(N)])


def pack(alg, given):
    """The former ``Algorithm.pack`` of the former ``Algorithm.resolve(given)`` (module docstring)."""
    unknown = set(given) - set(DECLARED[alg])
    if unknown:
        raise ValueError(f"{alg!r} did not declare {sorted(unknown)}")
    h = np.empty(len(SLOTS))
    for k, name in enumerate(SLOTS):
        v = given.get(name, PARAM_DEFAULTS[name]) if name in DECLARED[alg] else DEFAULTS[name]
        h[k] = PARTICIPATION[v] if name == "participation" else v
    return h


def record_rounds(record, rounds):
    """The recorded rounds: ``record`` with 0 and ``rounds`` added, sorted, without repeats."""
    return np.unique(np.concatenate([[0], np.asarray(record, dtype=np.int64).reshape(-1), [rounds]]))


def legacy_batch(alg, pset, hypers, seeds, rounds, record, x0s=None, targets=None):
    """Configurations ``hypers[c]`` (the given hyperparameters, as passed to ``theorybench.run``), ``seeds[c]``,
    ``x0s[c]`` (default 0) of ``alg`` (a name) on the instance with problem settings ``pset`` (``N``, ``H``,
    ``lambda``, ``zeta``, ``sigma``, ``c``, ``mu``, ``L``; the registered defaults otherwise). Returns ``(rec, x,
    loss, grad_norm, stats)``: the recorded rounds, x and the traces on them with a leading configuration axis,
    the statistics by name (``kernels.common.STAT_NAMES``, arrays over the configurations)."""
    s = {"N": 2, "H": 16.0, "lambda": 1.0, "zeta": 16.0, "sigma": 1.0, "c": 1.0, "mu": 1.0, "L": 2.0, **pset}
    params = legacy_rows(s["N"], s["H"], s["lambda"], s["zeta"], s["c"], s["mu"], s["L"])
    sigma = float(s["sigma"])
    nkind = NOISE_GAUSSIAN if sigma > 0 else NOISE_NONE
    nmask = np.zeros(4)
    nmask[NOISY] = 1.0
    n = len(hypers)
    hyper = np.stack([pack(alg, h) for h in hypers]).reshape(n, len(SLOTS))
    x0 = np.zeros((n, 4)) if x0s is None else np.ascontiguousarray(np.asarray(x0s, dtype=np.float64).reshape(n, 4))
    rec = record_rounds(record, rounds)
    out_x = np.full((n, rec.size, 4), np.nan)
    out_loss = np.full((n, rec.size), np.nan)
    out_gn = np.full((n, rec.size), np.nan)
    st = np.zeros((n, N_STATS))
    tg = np.zeros(n) if targets is None else np.ascontiguousarray(np.broadcast_to(targets, (n,)), dtype=np.float64)
    _batch(CODES[alg], params, hyper, x0, np.asarray(seeds, dtype=np.int64), nkind, sigma, nmask, tg, int(rounds),
           rec, out_x, out_loss, out_gn, st)
    return rec, out_x, out_loss, out_gn, {k: st[:, j] for j, k in enumerate(STAT_NAMES)}


def legacy_run(alg, pset, hyper, seed, rounds, record, x0=None, target=0.0):
    """One configuration (:func:`legacy_batch`): ``(rec, x, loss, grad_norm, stats)`` without the leading axis
    (stats as floats)."""
    rec, x, loss, gn, st = legacy_batch(alg, pset, [hyper], [seed], rounds, record,
                                        None if x0 is None else [x0], [target])
    return rec, x[0], loss[0], gn[0], {k: float(v[0]) for k, v in st.items()}
