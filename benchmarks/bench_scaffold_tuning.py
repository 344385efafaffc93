"""Performance benchmark: the Amplified SCAFFOLD tuning sweep on the synthetic instance.

Work (claim AS-1; Crawshaw, Liu, NeurIPS 2024): the Amplified SCAFFOLD synthetic objective in d = 4 (N = 2, H = 16,
lambda = 1, zeta = 16, sigma = 1, c = 1, mu = 1, L = 2; Gaussian noise on coordinate 3), cyclic
participation (K = 2 groups, P = 480), S = 1, I = 10, R = 5000 rounds, objective logged every 100 rounds.
The authors' tuning grids, as appropriate per method:

    FedAvg               lr                      4 configurations
    SCAFFOLD             lr                      4
    FedProx              lr x mu                16
    Amplified FedAvg     lr x amplification     16
    Amplified SCAFFOLD   lr x amplification     16      -> 56 configurations x 10 seeds = 560 trajectories

with lr in {1e-3, 1e-4, 1e-5, 1e-6}, amplification in {1.25, 1.5, 2, 3}, mu in {0.01, 0.1, 1, 10}; each
configuration scored by the authors' metric (90th percentile of the logged objective over the last 10%).

Implementations:

(0) theorybench: ``theorybench.sweep`` per method (the vector template's composed kernel for
    ``theorybench.methods.scaffold_vector`` on the family of ``problems/amplified_scaffold.py``), metric from
    the logged trace; timed after one warm-up call, median of 3. The same sweeps are also run on the frozen
    copy of the engine's former generic kernel (``tests/legacy_scaffold_kernel.py``: ``kernels/scaffold.py``
    on the family code ``ASYNTH``, which the engine no longer has), interleaved with the new ones (same
    process, same load), with the check that their metrics are bit-identical. The frozen copy runs the
    configurations one after another on one thread (the former kernel ran them under ``prange``), so the
    time ratio compares like with like only at one numba thread (``NUMBA_NUM_THREADS=1``).
(a) a plain NumPy loop written like the authors' own synthetic script: one Python loop over rounds, one
    over the sampled clients, one over local steps; ``stochastic_grad`` builds a NumPy array per call
    with ``np.random.normal`` noise; ``np.random.choice`` samples the client; the objective is logged
    every 100 rounds (to a list, not a CSV file). Timed on a subset (every configuration of a method for
    the first ``--loop-seeds`` seeds, or fewer configurations under ``--quick``) and extrapolated
    linearly to all 560 trajectories per method; the output says so.

Sanity check: the RNGs differ, so the loop and theorybench agree only statistically: per configuration of
the subset, a two-sample z-score of the mean log tuning metric (theorybench over all its seeds, the loop
over its seeds); the max |z| is printed. The selected configuration of each method is also printed for
theorybench.

Run: ``python benchmarks/bench_scaffold_tuning.py [--quick]``. Writes
``benchmarks/results/scaffold_tuning.json`` (``--quick``: ``scaffold_tuning_quick.json``).
"""
import argparse
import json
import math
import time
from itertools import product
from pathlib import Path

import numpy as np

from _common import machine_info, timed  # noqa: E402  (scripts run from benchmarks/)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

LR = (1e-3, 1e-4, 1e-5, 1e-6)
AMP = (1.25, 1.5, 2.0, 3.0)
PROX = (0.01, 0.1, 1.0, 10.0)
METHODS = {  # theorybench name: (authors' settings, grid axes)
    "fedavg-pp": (dict(amplify=False, correction=None), ("lr",)),
    "scaffold": (dict(amplify=False, correction="round"), ("lr",)),
    "fedprox": (dict(amplify=False, correction=None), ("lr", "prox_mu")),
    "amplified-fedavg": (dict(amplify=True, correction=None), ("lr", "amplification")),
    "amplified-scaffold": (dict(amplify=True, correction="period"), ("lr", "amplification")),
}
AXES = {"lr": LR, "amplification": AMP, "prox_mu": PROX}
INSTANCE = dict(M=2, H=16.0, lamb=1.0, zeta=16.0, sigma=1.0, c=1.0, mu=1.0, L=2.0)
I, S, P, K, R, LOG_EVERY = 10, 1, 480, 2, 5000, 100


def configs_of(method):
    axes = METHODS[method][1]
    return [dict(zip(axes, v)) for v in product(*(AXES[a] for a in axes))]


def tail_metric(logged):
    """90th percentile (element round(0.9 k) of the sorted k = 10% last logged values)."""
    n = max(1, int(round(0.1 * len(logged))))
    tail = np.sort(np.asarray(logged[-n:], dtype=float))
    return tail[min(int(round(0.9 * n)), n - 1)]


# --------------------------------------------------------------------------------------------------
# (a) a plain NumPy loop, like the authors' script
# --------------------------------------------------------------------------------------------------
def authors_loop(lr, amplification, prox_mu, amplify, correction, seed, rounds=R):
    M, H, lamb, zeta, sigma, c, mu, L = (INSTANCE[k] for k in ("M", "H", "lamb", "zeta", "sigma", "c", "mu", "L"))
    np.random.seed(seed)
    gamma = amplification if amplify else 1.0
    eta = lr / gamma
    best = np.array([c, mu ** 0.5 * c / H ** 0.5, 0.0, 0.0])

    def stochastic_grad(x, client):
        x1, x2, x3, x4 = x
        pos_x3 = max(0, x3)
        noise = np.random.normal(scale=sigma)
        coeff, sign = (L, 1) if client % 2 == 0 else (lamb, -1)
        return np.array([mu * (x1 - c), H * (x2 - best[1]), 0.25 * H * (x3 + pos_x3) + noise,
                         0.5 * coeff * x4 + sign * zeta])

    def obj(x):
        x1, x2, x3, x4 = x
        pos_x3 = max(0, x3)
        return (0.5 * mu * (x1 - c) ** 2 + 0.5 * H * (x2 - best[1]) ** 2 + 0.125 * H * (x3 ** 2 + pos_x3 ** 2)
                + 0.25 * (L + lamb) * x4 ** 2)

    global_x = np.zeros(4)
    amplify_x = global_x.copy()
    local_corr = [np.zeros(4) for _ in range(M)]
    global_corr = np.zeros(4)
    sums = [np.zeros(4) for _ in range(M)]
    counts = [0] * M
    logged = []
    for r in range(rounds):
        group = (r - P * math.floor(r / P)) // (P / K)
        avail = [i for i in range(M) if i % K == group]
        sampled = np.random.choice(avail, size=S, replace=False)
        models = []
        for client in sampled:
            local_x = global_x.copy()
            for _ in range(I):
                g = stochastic_grad(local_x, client)
                if correction is not None:
                    sums[client] += g
                    counts[client] += 1
                    g += -local_corr[client] + global_corr
                if prox_mu:
                    g += prox_mu * (local_x - global_x)
                local_x = local_x - eta * g
            models.append(local_x)
        global_x = np.mean(np.array(models), axis=0)
        if correction == "round":
            for client in sampled:
                global_corr -= local_corr[client] / M
                local_corr[client] = sums[client] / counts[client]
                global_corr += local_corr[client] / M
                sums[client] = np.zeros(4)
                counts[client] = 0
        if amplify and (r + 1) % P == 0:
            global_x = amplify_x + gamma * (global_x - amplify_x)
            amplify_x = global_x.copy()
            if correction == "period":
                for client in range(M):
                    if counts[client] > 0:
                        global_corr -= local_corr[client] / M
                        local_corr[client] = sums[client] / counts[client]
                        global_corr += local_corr[client] / M
                        sums[client] = np.zeros(4)
                        counts[client] = 0
        if (r + 1) % LOG_EVERY == 0:
            logged.append(obj(global_x))
    return tail_metric(logged)


# --------------------------------------------------------------------------------------------------
def theorybench_sweep(tb, method, seeds, problem="amplified-scaffold-synthetic"):
    grid = {a: list(AXES[a]) for a in METHODS[method][1]}
    rec = np.arange(LOG_EVERY, R + 1, LOG_EVERY)
    sw = tb.sweep(problem, method, grid=grid, seeds=seeds, rounds=R, record=rec)
    keep = np.isin(sw.rounds, rec)
    L = sw.loss[..., keep]
    n = max(1, int(round(0.1 * L.shape[-1])))
    tail = np.sort(np.where(np.isfinite(L[..., -n:]), L[..., -n:], np.inf), axis=-1)
    return tail[..., min(int(round(0.9 * n)), n - 1)].reshape(-1, seeds)  # (configs, seeds)


def former_sweep(method, seeds):
    """The metrics of :func:`theorybench_sweep` (same configurations, seeds and order) from the frozen copy of
    the former kernel (``tests/legacy_scaffold_kernel.py``), on one thread."""
    import sys
    sys.path.insert(0, str(HERE.parent / "tests"))
    from legacy_scaffold_kernel import legacy_batch
    s = INSTANCE
    pset = {"N": s["M"], "H": s["H"], "lambda": s["lamb"], "zeta": s["zeta"], "sigma": s["sigma"], "c": s["c"],
            "mu": s["mu"], "L": s["L"]}
    cfgs = configs_of(method)
    rec = np.arange(LOG_EVERY, R + 1, LOG_EVERY)
    rounds, _, loss, _, _ = legacy_batch(method, pset, [c for c in cfgs for _ in range(seeds)],
                                         [k for _ in cfgs for k in range(seeds)], R, rec)
    L = loss[:, np.isin(rounds, rec)]
    n = max(1, int(round(0.1 * L.shape[-1])))
    tail = np.sort(np.where(np.isfinite(L[..., -n:]), L[..., -n:], np.inf), axis=-1)
    return tail[..., min(int(round(0.9 * n)), n - 1)].reshape(-1, seeds)  # (configs, seeds)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="loop timed on 2 configurations per method, 1 seed")
    ap.add_argument("--seeds", type=int, default=10, help="seeds per configuration (default 10)")
    ap.add_argument("--loop-seeds", type=int, default=1, help="seeds per configuration timed for the loop")
    args = ap.parse_args(argv)

    import numba
    import theorybench as tb

    seeds = args.seeds
    threads = numba.get_num_threads()
    n_cfg = {m: len(configs_of(m)) for m in METHODS}
    n_traj = sum(n_cfg.values()) * seeds
    print(f"Amplified SCAFFOLD synthetic, R = {R}, I = {I}, S = {S}, cyclic K = {K}, P = {P}: "
          f"{sum(n_cfg.values())} configurations x {seeds} seeds = {n_traj} trajectories; numba threads = {threads}",
          flush=True)

    print("[0] theorybench: warm-up ...", flush=True)
    t = time.perf_counter()
    for m in METHODS:
        theorybench_sweep(tb, m, seeds)
    warm = time.perf_counter() - t
    for m in METHODS:
        former_sweep(m, 1)  # compiles the frozen copy
    tb_per, tb_metric, old_per, same = {}, {}, {}, True
    for m in METHODS:
        med, ts, out = timed(lambda: theorybench_sweep(tb, m, seeds), 3)
        tb_per[m], tb_metric[m] = med, out
        med_old, _, out_old = timed(lambda: former_sweep(m, seeds), 3)
        old_per[m] = med_old
        same &= bool(np.array_equal(out, out_old))
    tb_total = sum(tb_per.values())
    print(f"    warm-up {warm:.2f} s; timed {tb_total:.3f} s (median of 3 per method)", flush=True)
    old_total = sum(old_per.values())
    print(f"    frozen former kernel (ASYNTH, 1 thread): {old_total:.3f} s; new ({threads} threads) / former = "
          f"{tb_total / old_total:.2f}; metrics bit-identical: {same}", flush=True)
    for m in METHODS:
        print(f"      {m:<20} new {tb_per[m]:.3f} s   former {old_per[m]:.3f} s", flush=True)
    selected = {}
    for m in METHODS:
        score = tb_metric[m].mean(axis=1)
        selected[m] = configs_of(m)[int(np.argmin(score))]
        print(f"    {m:<20} selected {selected[m]}  score {score.min():.3g}", flush=True)

    print("[a] plain NumPy loop like the authors' script (subset, extrapolated) ...", flush=True)
    loop_per, loop_subset, z_all = {}, {}, []
    for m in METHODS:
        base, _ = METHODS[m]
        cfgs = configs_of(m)
        idx = list(range(len(cfgs))) if not args.quick else [0, len(cfgs) - 1]
        n_done, t_used, metrics = 0, 0.0, []
        for k in idx:
            h = cfgs[k]
            row = []
            for s in range(args.loop_seeds):
                t = time.perf_counter()
                row.append(authors_loop(h["lr"], h.get("amplification", 1.0), h.get("prox_mu", 0.0),
                                        base["amplify"], base["correction"], seed=s))
                t_used += time.perf_counter() - t
                n_done += 1
            metrics.append(row)
            a = np.log(tb_metric[m][k][np.isfinite(tb_metric[m][k])])
            b = np.log(np.asarray(row)[np.isfinite(row)])
            if a.size >= 2 and b.size >= 1:
                vb = b.var(ddof=1) if b.size >= 2 else a.var(ddof=1)
                se = math.sqrt(a.var(ddof=1) / a.size + vb / b.size)
                diff = abs(a.mean() - b.mean())
                z_all.append(0.0 if diff <= 1e-9 else (diff / se if se > 0 else math.inf))
        per_traj = t_used / n_done
        loop_per[m] = per_traj * n_cfg[m] * seeds
        loop_subset[m] = {"trajectories_timed": n_done, "seconds_timed": t_used, "seconds_per_trajectory": per_traj,
                          "configs_timed": [cfgs[k] for k in idx], "metrics": metrics}
        print(f"    {m:<20} {n_done} trajectories in {t_used:.1f} s -> {loop_per[m]:.1f} s for "
              f"{n_cfg[m] * seeds} (extrapolated)", flush=True)
    loop_total = sum(loop_per.values())
    ratio = loop_total / tb_total
    zmax = max(z_all) if z_all else float("nan")
    print(f"\nratio (loop, extrapolated) / theorybench = {ratio:.0f}x   "
          f"[theorybench {tb_total:.3f} s on {threads} threads; loop {loop_total:.1f} s on 1 thread]")
    print(f"sanity: max |z| of the mean log tuning metric over {len(z_all)} configurations = {zmax:.2f}")

    payload = {
        "work": {"instance": INSTANCE, "I": I, "S": S, "P": P, "K": K, "R": R, "log_every": LOG_EVERY,
                 "configurations": n_cfg, "seeds": seeds, "trajectories": n_traj},
        "theorybench": {"per_method_s": tb_per, "total_s": tb_total, "warmup_s": warm, "threads": threads,
                        "measured": "median of 3", "selected": selected},
        "theorybench_former_kernel": {
            "per_method_s": old_per, "total_s": old_total, "new_over_former": tb_total / old_total,
            "metrics_bit_identical": same, "threads": 1,
            "source": "tests/legacy_scaffold_kernel.py (frozen copy of kernels/scaffold.py on ASYNTH)",
            "measured": "median of 3, interleaved with the new kernel's"},
        "authors_style_loop": {"per_method_s_extrapolated": loop_per, "total_s_extrapolated": loop_total,
                               "threads": 1, "subset": loop_subset,
                               "extrapolation": "seconds per timed trajectory x configurations x seeds"},
        "ratio_loop_over_theorybench": ratio,
        "sanity_max_abs_z_log_metric": zmax,
        "machine": machine_info(),
    }
    RESULTS.mkdir(exist_ok=True)
    stem = "scaffold_tuning_quick" if args.quick else "scaffold_tuning"
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(payload, indent=2, default=float))
    print(f"wrote {RESULTS / (stem + '.json')}")


if __name__ == "__main__":
    main()
