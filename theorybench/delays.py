"""PipeDream (1F1B) pipeline schedule simulator and the delays it induces (Ilin,
Richtarik, arXiv 2606.03498).

Model (discrete time; ``S`` stages, ``M`` microbatches, every op takes one time step):

- each stage does at most one op per time step; forwards and backwards each in microbatch order;
- the forward ``F(mb, s)`` may run at time ``tau`` when ``s = 0`` or ``F(mb, s-1)`` ran at a time
  ``< tau``, and stage s has fewer than ``in_flight`` (default S) microbatches forwarded but not yet
  backwarded;
- the backward ``B(mb, s)`` may run when stage s ran ``F(mb, s)`` earlier and (``s = S-1`` or stage s+1
  ran ``B(mb, s+1)`` earlier);
- 1F1B preference: when both are possible, a stage does the kind it did not do last (``"alternate"``,
  default), or always the backward (``"backward"``).

Block updates: every backward ``B(mb, s)`` updates stage s's weights; they are counted in timeline order
(by time, then stage) with a 0-based counter k. The delay of the k-th update is ``k - j`` with j the number
of backward ops that ran at times before the forward ``F(mb, s)`` that read the weights: the number of
updates applied between the read and this update.
"""
import json
import math
import numbers

import numpy as np
from numba import njit

from .errors import TheoryBenchError

# the full simulator keeps every op as a Python tuple (about 200 bytes each): at most this many ops
MAX_RECORDED_OPS = 2 * 10**6
# delay_stats streams the schedule (no per-op storage); it refuses more than this many stage-steps
# (about 10 ns each) or a ring buffer of more than this many bytes
MAX_SCHEDULE_WORK = 10**9
MAX_SCHEDULE_BYTES = 2 * 2**30


def _count(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) \
            or int(value) != value or value < 1:
        raise TheoryBenchError(f"parameter {name!r} must be an integer >= 1, got {value!r}")
    return int(value)


def _check_inputs(S, M, in_flight, preference):
    if preference not in ("alternate", "backward"):
        raise TheoryBenchError(f"parameter 'preference' must be one of alternate, backward, got {preference!r}")
    if isinstance(S, numbers.Real) and not isinstance(S, bool) and math.isfinite(S) and S == int(S) and S < 1:
        raise TheoryBenchError(f"parameter 'stages' must be an integer >= 1, got {int(S)}")
    S, M = _count(S, "stages"), _count(M, "microbatches")
    cap = S if in_flight is None else _count(in_flight, "in_flight")
    return S, M, cap


def schedule_cost(S, M, in_flight=None):
    """``(stage_steps, ring_bytes)``: the work of streaming the schedule (stages x time steps, the time
    steps estimated as 2 (M + S) + 2) and the bytes of its ring buffer (S x min(in_flight, M) int64)."""
    cap = S if in_flight is None else in_flight
    return S * (2 * (M + S) + 2), 8 * S * min(cap, M)


def simulate_1f1b(S, M, in_flight=None, preference="alternate"):
    """Simulate the schedule; returns a dict with ``ops`` (list of (time, stage, kind, mb)), ``delays``
    (per update in timeline order), ``update_stage``, ``update_mb`` and ``makespan``. Every op is kept:
    at most ``MAX_RECORDED_OPS`` (2 S M); :func:`delay_stats` streams larger schedules."""
    S, M, cap = _check_inputs(S, M, in_flight, preference)
    if 2 * S * M > MAX_RECORDED_OPS:
        raise TheoryBenchError(f"simulate_1f1b keeps every op: S = {S}, M = {M} is {2 * S * M:.3g} ops, more than "
                               f"{MAX_RECORDED_OPS:.0e}; delay_stats(S, M) computes the delay statistics of a "
                               "schedule this large without keeping the ops")
    INF = np.iinfo(np.int64).max
    f_time = np.full((S, M), INF, dtype=np.int64)
    b_time = np.full((S, M), INF, dtype=np.int64)
    nf = np.zeros(S, dtype=np.int64)   # next forward mb per stage
    nb = np.zeros(S, dtype=np.int64)   # next backward mb per stage
    last = ["B"] * S
    ops = []
    b_before = []                      # cumulative count of backward ops before each time
    done_b = 0
    tau = 0
    while nb[0] < M or any(nb[s] < M for s in range(S)):
        b_before.append(done_b)
        this = []
        for s in range(S):
            can_f = nf[s] < M and (s == 0 or f_time[s - 1, nf[s]] < tau) and nf[s] - nb[s] < cap
            can_b = nb[s] < nf[s] and f_time[s, nb[s]] < tau and (s == S - 1 or b_time[s + 1, nb[s]] < tau)
            kind = None
            if can_f and can_b:
                kind = "B" if (preference == "backward" or last[s] == "F") else "F"
            elif can_f:
                kind = "F"
            elif can_b:
                kind = "B"
            if kind is not None:
                this.append((s, kind))
        for s, kind in this:
            if kind == "F":
                f_time[s, nf[s]] = tau
                ops.append((tau, s, "F", int(nf[s])))
                nf[s] += 1
            else:
                b_time[s, nb[s]] = tau
                ops.append((tau, s, "B", int(nb[s])))
                nb[s] += 1
                done_b += 1
            last[s] = kind
        tau += 1
        if tau > 4 * (M + S) * max(1, S) + 10:
            raise TheoryBenchError(f"the 1F1B schedule did not finish (deadlock) for S = {S}, M = {M}, "
                                   f"in_flight = {cap}")
    b_before = np.asarray(b_before + [done_b], dtype=np.int64)
    delays, st, mbs = [], [], []
    k = 0
    for (t, s, kind, mb) in ops:  # ops are in (time, stage) order
        if kind != "B":
            continue
        j = b_before[f_time[s, mb]]
        delays.append(k - j)
        st.append(s)
        mbs.append(mb)
        k += 1
    return {"ops": ops, "delays": np.asarray(delays, dtype=np.int64), "update_stage": np.asarray(st),
            "update_mb": np.asarray(mbs), "makespan": tau, "S": S, "M": M}


@njit(cache=True, nogil=True)  # nogil: run by interruptible() in a worker thread, so Ctrl-C stops it
def _stream_1f1b(S, M, cap, backward_first):
    """The schedule of :func:`simulate_1f1b`, streamed: ``(max, min, sum, count)`` of the delays of the
    updates ``k >= S M // 2`` (the steady state), and the makespan; -1 makespan on a deadlock.

    The rules' "ran at an earlier time" conditions are counters at the start of a time step: F(nf[s], s-1)
    ran earlier iff nf[s-1] > nf[s]; B(nb[s], s+1) iff nb[s+1] > nb[s]; F(nb[s], s) iff nf[s] > nb[s].
    For a delay, a forward stores the number of backwards before its time step in a ring buffer of the
    microbatches in flight at its stage (at most min(in_flight, M) of them)."""
    W = min(cap, M)
    ring = np.zeros((S, W), dtype=np.int64)
    nf = np.zeros(S, dtype=np.int64)
    nb = np.zeros(S, dtype=np.int64)
    last_f = np.zeros(S, dtype=np.bool_)   # the stage's last op was a forward (starts as "B")
    kind = np.zeros(S, dtype=np.int8)      # this time step: 0 idle, 1 forward, 2 backward
    total = S * M
    half = total // 2
    done_b = 0
    k = 0
    dmax = -1
    dmin = 1 << 62
    dsum = 0   # int64: exact
    cnt = 0
    tau = 0
    limit = 4 * (M + S) * max(1, S) + 10
    while done_b < total:
        for s in range(S):
            can_f = nf[s] < M and (s == 0 or nf[s - 1] > nf[s]) and nf[s] - nb[s] < cap
            can_b = nb[s] < nf[s] and (s == S - 1 or nb[s + 1] > nb[s])
            if can_f and can_b:
                kind[s] = 2 if (backward_first or last_f[s]) else 1
            elif can_f:
                kind[s] = 1
            elif can_b:
                kind[s] = 2
            else:
                kind[s] = 0
        start = done_b
        for s in range(S):
            if kind[s] == 1:
                ring[s, nf[s] % W] = start
                nf[s] += 1
                last_f[s] = True
            elif kind[s] == 2:
                d = k - ring[s, nb[s] % W]
                if k >= half:
                    if d > dmax:
                        dmax = d
                    if d < dmin:
                        dmin = d
                    dsum += d
                    cnt += 1
                k += 1
                nb[s] += 1
                done_b += 1
                last_f[s] = False
        tau += 1
        if tau > limit:
            return dmax, dmin, dsum, cnt, -1
    return dmax, dmin, dsum, cnt, tau


def delay_stats(S, M=None, in_flight=None, preference="alternate"):
    """Steady-state statistics: the second half of the updates (``M`` defaults to 10 S). The schedule is
    streamed (no per-op storage); one larger than ``MAX_SCHEDULE_WORK`` stage-steps or
    ``MAX_SCHEDULE_BYTES`` of ring buffer is refused before it starts, with the estimate."""
    if M is None and isinstance(S, numbers.Real) and not isinstance(S, bool) and math.isfinite(S):
        M = 10 * int(S) if int(S) == S and S >= 1 else 1
    S, M, cap = _check_inputs(S, M, in_flight, preference)
    work, nbytes = schedule_cost(S, M, cap)
    if work > MAX_SCHEDULE_WORK or nbytes > MAX_SCHEDULE_BYTES:
        raise TheoryBenchError(
            f"the 1F1B schedule with S = {S} stages and M = {M} microbatches is about {work:.3g} stage-steps "
            f"and a {nbytes / 2**20:.3g} MiB ring buffer, above the limits ({MAX_SCHEDULE_WORK:.0e} stage-steps, "
            f"{MAX_SCHEDULE_BYTES / 2**30:g} GiB): take fewer stages or microbatches (--microbatches; the "
            "statistics are of the steady state, which a few S microbatches reach)")
    from .interrupt import interruptible
    dmax, dmin, dsum, cnt, makespan = interruptible(_stream_1f1b, S, M, cap, preference == "backward")
    if makespan < 0:
        raise TheoryBenchError(f"the 1F1B schedule did not finish (deadlock) for S = {S}, M = {M}, in_flight = {cap}")
    return {"stages": S, "microbatches": M, "updates": S * M, "max_delay": int(dmax),
            "mean_delay": float(dsum / cnt), "min_delay": int(dmin), "makespan": int(makespan),
            "predicted_max": S * S - S / 2, "predicted_mean": S * S / 2}


def add(subparsers):
    """``theorybench delays --stages S [--microbatches M] [--json]`` (entry point of theorybench.commands)."""
    p = subparsers.add_parser("delays", help="PipeDream 1F1B delay statistics (steady state)")
    p.add_argument("--stages", type=int, required=True, help="pipeline stages S")
    p.add_argument("--microbatches", type=int, default=None, help="microbatches M (default 10 S)")
    p.add_argument("--in-flight", type=int, default=None, help="max microbatches in flight per stage (default S)")
    p.add_argument("--preference", default="alternate", choices=("alternate", "backward"))
    p.add_argument("--json", action="store_true")
    p.set_defaults(fn=_cmd_delays)


def _cmd_delays(args):
    st = delay_stats(args.stages, args.microbatches, args.in_flight, args.preference)
    if args.json:
        print(json.dumps(st))
    else:
        print(f"PipeDream 1F1B, S = {st['stages']} stages, M = {st['microbatches']} microbatches "
              f"({st['updates']} block updates; steady state = second half)")
        print(f"  max delay  {st['max_delay']:>8d}   (S^2 - S/2 = {st['predicted_max']:g})")
        print(f"  mean delay {st['mean_delay']:>8.2f}   (S^2/2 = {st['predicted_mean']:g})")
        print(f"  min delay  {st['min_delay']:>8d}")
    return 0


# ---------------------------------------------------------------- randomized PipeDream (PD-2)

from .rng import NOISE_NAMES, noise, uniform01  # noqa: E402


@njit(cache=True)
def _stale_term(a, sigma, gamma, Delta, K, seed, gauss):
    """SGD with random delays on ``f(x) = <a, x>`` (bounded gradients ||a||, noise sigma per coordinate):
    ``x_{k+1} = x_k - gamma g(x_{k - tau_k})``, ``tau_k`` uniform on {0, ..., Delta}. Returns the mean of the
    stale-read term ``||x_k - x_{k - tau_k}||^2`` over the second half of the K steps."""
    d = a.shape[0]
    H = Delta + 1
    hist = np.zeros((H, d))   # ring buffer of the last Delta + 1 iterates
    x = np.zeros(d)
    acc = 0.0
    cnt = 0
    for k in range(K):
        for j in range(d):
            hist[k % H, j] = x[j]
        u = uniform01(seed, 1, k)
        tau = int(u * (Delta + 1))
        if tau > Delta:
            tau = Delta
        if tau > k:
            tau = k
        old = hist[(k - tau) % H]
        if k >= K // 2:
            s = 0.0
            for j in range(d):
                t = x[j] - old[j]
                s += t * t
            acc += s
            cnt += 1
        for j in range(d):
            g = a[j] + noise(gauss, sigma, seed, 2, k * d + j)
            x[j] -= gamma * g
    return acc / cnt


def stale_read_term(Delta, gamma, K=None, d=10, sigma=0.1, seed=0):
    """Measured ``E ||x_k - x_{k - tau_k}||^2`` of randomized PipeDream (delays uniform up to Delta)."""
    a = np.full(d, 1.0 / np.sqrt(d))
    K = max(20000, 40 * (int(Delta) + 1)) if K is None else int(K)
    return float(_stale_term(a, float(sigma), float(gamma), int(Delta), K, int(seed), NOISE_NAMES["gaussian"]))
