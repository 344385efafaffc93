"""The federated kernel as a batched array program (NumPy namespace; the same code runs on CuPy).

Configurations are the batch axis; the loops run over rounds, clients and local steps, every operation
acting on all configurations at once. The random numbers are the counter-based streams of
``theorybench.rng`` evaluated on uint64 arrays, so the draws are those of the Numba kernels. Supported:
the ``POLY`` family, all six federated algorithms with every client taking part in every round
(``clients_per_round`` 0 or N), the noise models of ``theorybench.rng``, and the running statistics of
``theorybench.kernels.common``. Use it through ``run_batch(..., backend="numpy")`` or ``"cupy"``.
"""
import numpy as np

from ..errors import TheoryBenchError
from ..families import POLY
from ..kernels import federated as fk
from ..kernels.common import (N_STATS, S_ARGMIN_ROUND, S_CLIPPED_FRACTION, S_DIVERGED_ROUND,
                              S_FIRST_AVG_BELOW, S_FIRST_BELOW, S_GRAD_SUM, S_MAX_ABS_X, S_MIN_GRAD_NORM,
                              healthy)
from .. import rng

_GOLDEN = 0x9E3779B97F4A7C15
_M1 = 0xBF58476D1CE4E5B9
_M2 = 0x94D049BB133111EB


def namespace(name):
    """The array namespace of a backend name: ``numpy`` or ``cupy`` (with a clear error if absent)."""
    if name == "numpy":
        return np
    if name == "cupy":
        try:
            import cupy
        except ImportError:  # pragma: no cover - depends on the machine
            raise TheoryBenchError("backend 'cupy' needs CuPy and a GPU: pip install 'theorybench[gpu]'") from None
        return cupy
    raise TheoryBenchError(f"parameter 'backend' must be one of numba, numpy, cupy, got {name!r}")


def _mix(xp, z):
    z = (z ^ (z >> xp.uint64(30))) * xp.uint64(_M1)
    z = (z ^ (z >> xp.uint64(27))) * xp.uint64(_M2)
    return z ^ (z >> xp.uint64(31))


def uniform01(xp, seed, stream, counter):
    """``theorybench.rng.uniform01`` on arrays (uint64 arithmetic wraps, as in the kernels)."""
    g = xp.uint64(_GOLDEN)
    h = _mix(xp, xp.asarray(seed, dtype=xp.uint64) + g)
    h = _mix(xp, h + xp.asarray(stream, dtype=xp.uint64) * g + g)
    h = _mix(xp, h + xp.asarray(counter, dtype=xp.uint64) * g + g)
    return (h >> xp.uint64(11)).astype(xp.float64) * (1.0 / 9007199254740992.0)


def noise(xp, kind, scale, seed, stream, counter):
    """``theorybench.rng.noise`` on arrays (``scale``, ``seed``, ``counter`` broadcast)."""
    shape = xp.broadcast(xp.asarray(scale), xp.asarray(seed), xp.asarray(counter)).shape
    if kind == rng.NOISE_NONE:
        return xp.zeros(shape)
    if kind == rng.NOISE_UNIFORM:
        z = scale * (1.0 - 2.0 * uniform01(xp, seed, stream, counter))
    elif kind == rng.NOISE_RADEMACHER:
        z = xp.where(uniform01(xp, seed, stream, counter) < 0.5, scale, -scale)
    elif kind == rng.NOISE_GAUSSIAN:
        u1 = 1.0 - uniform01(xp, seed, stream, 2 * counter)
        u2 = uniform01(xp, seed, stream, 2 * counter + 1)
        z = scale * xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * xp.pi * u2)
    else:  # truncated Gaussian: the first accepted of 64 attempts
        z = xp.zeros(shape)
        done = xp.zeros(shape, dtype=bool)
        for t in range(64):
            c2 = 2 * (64 * counter + t)
            u1 = 1.0 - uniform01(xp, seed, stream, c2)
            u2 = uniform01(xp, seed, stream, c2 + 1)
            zt = 0.5 * scale * xp.sqrt(-2.0 * xp.log(u1)) * xp.cos(2.0 * xp.pi * u2)
            take = ~done & (xp.abs(zt) <= scale)
            z = xp.where(take, zt, z)
            done = done | take
            if bool(done.all()):
                break
    return xp.where(xp.asarray(scale) == 0.0, 0.0, z)


def _poly_grad(xp, c, x):
    """Per-coordinate Horner derivative, as ``families._poly_grad`` (``c``: (B, P), ``x``: (B, d))."""
    B, d = x.shape
    kp1 = c.shape[1] // d
    out = xp.empty_like(x)
    for j in range(d):
        base = j * kp1
        if kp1 < 2:
            out[:, j] = 0.0
            continue
        v = (kp1 - 1) * c[:, base + kp1 - 1]
        for k in range(kp1 - 2, 0, -1):
            v = v * x[:, j] + k * c[:, base + k]
        out[:, j] = v
    return out


def _poly_value(xp, c, x):
    B, d = x.shape
    kp1 = c.shape[1] // d
    total = xp.zeros(B)
    for j in range(d):
        base = j * kp1
        v = c[:, base + kp1 - 1]
        for k in range(kp1 - 2, -1, -1):
            v = v * x[:, j] + c[:, base + k]
        total = total + v
    return total


def _norm(xp, g):
    """``kernels.common.norm`` per row of ``g`` (B, d), to the bit: the plain ``sqrt(sum_j g_j^2)`` when that
    sum neither overflows nor underflows (``1e-300 < s < 1e300``), otherwise the max-abs rescaled
    ``m sqrt(sum_j (g_j/m)^2)``, ``m = max_j |g_j|`` (``m`` itself if 0 or infinite; NaN if a coordinate is
    NaN); sums in coordinate order, as in the kernel."""
    s = xp.zeros(g.shape[0])
    for j in range(g.shape[1]):
        s = s + g[:, j] * g[:, j]
    out = xp.sqrt(s)
    slow = ~((s < 1e300) & (s > 1e-300))
    if bool(slow.any()):
        gs = g[slow]
        m = xp.abs(gs).max(axis=1)
        plain_m = (m == 0.0) | ~xp.isfinite(m)
        safe = xp.where(plain_m, 1.0, m)
        t = xp.zeros(gs.shape[0])
        for j in range(gs.shape[1]):
            q = gs[:, j] / safe
            t = t + q * q
        r = xp.where(plain_m, m, m * xp.sqrt(t))
        out[slow] = xp.where(xp.isnan(s[slow]), s[slow], r)
    return out


def xp_where_conv(gn, eta, gamma, conv):
    """``||g|| > gamma/eta`` (step convention) or ``||g|| > gamma`` (gradient convention), per row."""
    return ((conv == 0) & (gn > gamma / eta)) | ((conv != 0) & (gn > gamma))


def _step(xp, y, g, eta, gamma, conv, clip, active):
    """Rows with ``active & clip`` take ``length * g/||g||`` (none if g = 0), other active rows ``eta g``."""
    n = _norm(xp, g)
    length = xp.where(conv == 0, gamma, eta * gamma)
    safe = xp.where(n == 0.0, 1.0, n)
    unit = g / safe[:, None]
    clipped_step = xp.where((n == 0.0)[:, None], 0.0, length[:, None] * unit)
    new = xp.where(clip[:, None], y - clipped_step, y - eta[:, None] * g)
    return xp.where(active[:, None], new, y)


def federated_batch(xp, *args):
    """The array twin of ``theorybench.kernels.federated.batch`` (arguments as there, without the output
    arrays); returns ``(x, loss, grad_norm, stats)`` as host NumPy arrays with the kernel's shapes.
    Overflow is not warned about: it is reported as divergence, by the kernels' rule
    (``kernels.common.healthy``) on the kernels' rescaled norm (:func:`_norm`)."""
    if xp is np:
        with np.errstate(all="ignore"):
            return _federated_batch(xp, *args)
    return _federated_batch(xp, *args)


# the federated methods this backend implements; any other code is refused, never run as another method
COVERED = {fk.FEDAVG: "fedavg", fk.LOCAL_CLIP: "local-clip", fk.EPISODE: "episode",
           fk.CLIPPED_MINIBATCH: "clipped-minibatch", fk.EPISODE_PP: "episode++",
           fk.NAIVE_PARALLEL_CLIP: "naive-parallel-clip"}


def _federated_batch(xp, algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds):
    if algo not in COVERED:
        raise TheoryBenchError(f"the array backend does not cover federated method code {algo}; it runs "
                               f"{', '.join(COVERED.values())}: use backend='numba'")
    if family != POLY:
        raise TheoryBenchError("the array backend supports the polynomial family only; use backend='numba'")
    B, N, _ = params.shape
    d = x0.shape[1]
    S = hyper[:, fk.H_S]
    if np.any((S != 0) & (S != N)):
        raise TheoryBenchError("the array backend runs every client in every round (clients_per_round 0 or N); "
                               "use backend='numba' for client sampling")
    P = xp.asarray(params)
    eta = xp.asarray(hyper[:, fk.H_ETA])
    gamma = xp.asarray(hyper[:, fk.H_GAMMA])
    steps = xp.asarray(hyper[:, fk.H_LOCAL_STEPS].astype(np.int64))
    conv = xp.asarray(hyper[:, fk.H_CONVENTION].astype(np.int64))
    Imax = int(hyper[:, fk.H_LOCAL_STEPS].max())
    seeds_x = xp.asarray(seeds.astype(np.uint64))
    scale = xp.asarray(nscale)
    mask = xp.asarray(nmask)
    tgt = xp.asarray(target)
    x = xp.asarray(x0).copy()
    counters = xp.zeros((B, N), dtype=xp.int64)
    clipped = xp.zeros(B)
    decisions = xp.zeros(B)
    nrec = len(rec_rounds)
    out_x = xp.full((B, nrec, d), xp.nan)
    out_l = xp.full((B, nrec), xp.nan)
    out_g = xp.full((B, nrec), xp.nan)
    st = xp.zeros((B, N_STATS))
    st[:, S_DIVERGED_ROUND] = -1.0
    st[:, S_MIN_GRAD_NORM] = xp.inf
    st[:, S_FIRST_BELOW] = -1.0
    st[:, S_FIRST_AVG_BELOW] = -1.0
    alive = xp.ones(B, dtype=bool)
    rec_pos = {int(r): k for k, r in enumerate(rec_rounds)}
    cols = xp.arange(d)

    def stoch_grad(i, y):
        g = _poly_grad(xp, P[:, i, :], y)
        z = noise(xp, nkind, scale[:, None], seeds_x[:, None], i, counters[:, i][:, None] * d + cols[None, :])
        return g + xp.where(mask != 0.0, z, 0.0)

    def observe(r):
        nonlocal alive
        gsum = xp.zeros((B, d))
        val = xp.zeros(B)
        for i in range(N):
            val = val + _poly_value(xp, P[:, i, :], x)
            gsum = gsum + _poly_grad(xp, P[:, i, :], x)
        gf = gsum / N
        loss = val / N
        gn = _norm(xp, gf)
        xmax = xp.abs(x).max(axis=1)  # NaN-propagating, as in the kernel
        before = st[:, S_MAX_ABS_X] if r > 0 else xp.full(B, xp.inf)
        bad = alive & ~healthy.py_func(xmax, loss, gn, before)  # the kernels' rule (kernels.common)
        st[:, S_DIVERGED_ROUND] = xp.where(bad, r, st[:, S_DIVERGED_ROUND])
        alive = alive & ~bad
        ok = alive
        st[:, S_MAX_ABS_X] = xp.where(ok, xp.maximum(st[:, S_MAX_ABS_X], xmax), st[:, S_MAX_ABS_X])
        better = ok & (gn < st[:, S_MIN_GRAD_NORM])
        st[:, S_MIN_GRAD_NORM] = xp.where(better, gn, st[:, S_MIN_GRAD_NORM])
        st[:, S_ARGMIN_ROUND] = xp.where(better, r, st[:, S_ARGMIN_ROUND])
        lvl = xp.abs(tgt)
        st[:, S_FIRST_BELOW] = xp.where(ok & (st[:, S_FIRST_BELOW] < 0) & (gn <= lvl), r, st[:, S_FIRST_BELOW])
        st[:, S_GRAD_SUM] = xp.where(ok, st[:, S_GRAD_SUM] + gn, st[:, S_GRAD_SUM])
        st[:, S_FIRST_AVG_BELOW] = xp.where(ok & (st[:, S_FIRST_AVG_BELOW] < 0) & (st[:, S_GRAD_SUM] <= lvl * (r + 1)),
                                            r, st[:, S_FIRST_AVG_BELOW])
        if r in rec_pos:
            k = rec_pos[r]
            out_l[:, k] = xp.where(ok, loss, xp.nan)
            out_g[:, k] = xp.where(ok, gn, xp.nan)
            out_x[:, k, :] = xp.where(ok[:, None], x, xp.nan)
        # a negative target asks a run to stop at its running-average crossing (as in the kernels)
        alive = alive & ~((tgt < 0) & (st[:, S_FIRST_AVG_BELOW] >= 0))

    G = xp.zeros((B, d))
    Gi = xp.zeros((B, N, d))
    if algo == fk.EPISODE_PP:
        for i in range(N):
            acc = xp.zeros((B, d))
            for k in range(Imax):
                act = k < steps
                g = stoch_grad(i, x)
                counters[:, i] += act
                acc = xp.where(act[:, None], acc + g, acc)
            Gi[:, i, :] = acc / steps[:, None]
            G = G + Gi[:, i, :]
        G = G / N
    observe(0)
    for r in range(1, rounds + 1):
        if not bool(alive.any()):
            break
        if algo == fk.EPISODE:
            G = xp.zeros((B, d))
            for i in range(N):
                g = stoch_grad(i, x)
                counters[:, i] += 1
                Gi[:, i, :] = g
                G = G + g
            G = G / N
        if algo in (fk.EPISODE, fk.EPISODE_PP):
            clip_r = xp_where_conv(_norm(xp, G), eta, gamma, conv)
            clipped += clip_r & alive
            decisions += alive
        if algo in (fk.CLIPPED_MINIBATCH, fk.NAIVE_PARALLEL_CLIP):
            acc = xp.zeros((B, d))
            for i in range(N):
                gbar = xp.zeros((B, d))
                for k in range(Imax):
                    act = k < steps
                    g = stoch_grad(i, x)
                    counters[:, i] += act
                    gbar = xp.where(act[:, None], gbar + g, gbar)
                gbar = gbar / steps[:, None]
                if algo == fk.NAIVE_PARALLEL_CLIP:
                    c = xp_where_conv(_norm(xp, gbar), eta, gamma, conv)
                    clipped += c & alive
                    decisions += alive
                    acc = acc + _step(xp, xp.zeros((B, d)), gbar, eta, gamma, conv, c, xp.ones(B, dtype=bool))
                else:
                    acc = acc + gbar
            if algo == fk.NAIVE_PARALLEL_CLIP:
                x = x + acc / N
            else:
                acc = acc / N
                c = xp_where_conv(_norm(xp, acc), eta, gamma, conv)
                clipped += c & alive
                decisions += alive
                x = _step(xp, x, acc, eta, gamma, conv, c, xp.ones(B, dtype=bool))
        else:
            acc = xp.zeros((B, d))
            newmem = xp.zeros((B, N, d))
            for i in range(N):
                y = x.copy()
                gsum = xp.zeros((B, d))
                for k in range(Imax):
                    act = k < steps
                    g = stoch_grad(i, y)
                    counters[:, i] += act
                    if algo in (fk.EPISODE, fk.EPISODE_PP):
                        gsum = xp.where(act[:, None], gsum + g, gsum)
                        g = g - Gi[:, i, :] + G
                        c = clip_r
                    elif algo == fk.LOCAL_CLIP:
                        c = xp_where_conv(_norm(xp, g), eta, gamma, conv)
                        clipped += c & act & alive
                        decisions += act & alive
                    else:
                        c = xp.zeros(B, dtype=bool)
                    y = _step(xp, y, g, eta, gamma, conv, c, act)
                acc = acc + y
                if algo == fk.EPISODE_PP:
                    newmem[:, i, :] = gsum / steps[:, None]
            if algo == fk.EPISODE_PP:
                for i in range(N):
                    G = G + (newmem[:, i, :] - Gi[:, i, :]) / N
                    Gi[:, i, :] = newmem[:, i, :]
            x = acc / N
        observe(r)
    st[:, S_CLIPPED_FRACTION] = xp.where(decisions > 0, clipped / xp.where(decisions > 0, decisions, 1), 0.0)
    get = (lambda a: a.get()) if xp is not np else (lambda a: a)
    return get(out_x), get(out_l), get(out_g), get(st)
