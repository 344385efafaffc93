"""PipeDream (1F1B) pipeline schedule simulator and the delays it induces (CLAIMS.md section 5; Ilin,
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

import numpy as np

from .errors import TheoryBenchError


def simulate_1f1b(S, M, in_flight=None, preference="alternate"):
    """Simulate the schedule; returns a dict with ``ops`` (list of (time, stage, kind, mb)), ``delays``
    (per update in timeline order), ``update_stage``, ``update_mb`` and ``makespan``."""
    S, M = int(S), int(M)
    if S < 1:
        raise TheoryBenchError(f"parameter 'stages' must be an integer >= 1, got {S}")
    if M < 1:
        raise TheoryBenchError(f"parameter 'microbatches' must be an integer >= 1, got {M}")
    if preference not in ("alternate", "backward"):
        raise TheoryBenchError(f"parameter 'preference' must be one of alternate, backward, got {preference!r}")
    cap = S if in_flight is None else int(in_flight)
    if cap < 1:
        raise TheoryBenchError(f"parameter 'in_flight' must be >= 1, got {cap}")
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
            raise RuntimeError("schedule did not finish (deadlock)")
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


def delay_stats(S, M=None, in_flight=None, preference="alternate"):
    """Steady-state statistics: the second half of the updates (``M`` defaults to 10 S)."""
    M = 10 * int(S) if M is None else int(M)
    sim = simulate_1f1b(S, M, in_flight, preference)
    d = sim["delays"]
    ss = d[d.size // 2:]
    return {"stages": int(S), "microbatches": M, "updates": int(d.size), "max_delay": int(ss.max()),
            "mean_delay": float(ss.mean()), "min_delay": int(ss.min()), "makespan": int(sim["makespan"]),
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

from numba import njit  # noqa: E402

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
