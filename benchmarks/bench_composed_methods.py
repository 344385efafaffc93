"""ns per local step per trajectory of every routed (method, problem) combination: its composed kernel
(``theorybench.compose``, declared pieces) against the generic ``federated`` kernel (runtime dispatch on the
family and algorithm codes), through ``theorybench.sweep`` and as the batch call alone (planned once), on the
same configurations, one Numba thread.

A local step is one client's step of one trajectory, so a call does ``R * N * sum_c I_c`` of them (EPISODE's
extra draw at x_r per client and round, and EPISODE++'s I draws per client at x_0, are not counted: the same
work on both sides; for clipped minibatch SGD and naive parallel clipping a "local step" is one of the I
stochastic gradient draws at x_r). The two sweeps give the
same numbers bit for bit (checked here too). Timings are medians of round-robin repeats on a shared machine.

    python benchmarks/bench_composed_methods.py [--quick] [--rounds R] [--seeds S] [--repeats K] [--methods M ...]

Writes ``results/composed_methods_per_step[_quick].json``.
"""
import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

METHODS = ("fedavg", "local-clip", "episode", "clipped-minibatch", "naive-parallel-clip", "episode++")
COMBOS = [(m, p) for p in ("episode-quartic", "two-client-quadratic") for m in METHODS]


def grid_for(method):
    g = {"eta": [0.005, 0.01, 0.02, 0.04], "local_steps": [8]}
    if method != "fedavg":
        g["gamma"] = [0.05, 0.5, 6.0]
    return g


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer seeds and repeats (< ~1 min)")
    ap.add_argument("--rounds", type=int, default=None, help="rounds R (default 500, quick 200)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 64, quick 8)")
    ap.add_argument("--repeats", type=int, default=None, help="timed repeats (default 5, quick 3)")
    ap.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS, help="methods to time")
    args = ap.parse_args(argv)
    import numba
    import theorybench as tb
    from theorybench import compose, declare
    from theorybench.algorithms import kernel_module
    from theorybench.atomic_io import atomic_write_text

    numba.set_num_threads(1)
    seeds = args.seeds or (8 if args.quick else 64)
    repeats = args.repeats or (3 if args.quick else 5)
    R = args.rounds or (200 if args.quick else 500)
    rows = []
    print(f"one Numba thread, R = {R}, I = 8, {seeds} seeds per configuration; ns per local step per trajectory")
    print(f"  {'':<57}{'theorybench.sweep':^30}{'batch call alone':^30}")
    print(f"  {'method':<20}{'problem':<24}{'trajectories':>13}" + f"{'generic':>10}{'composed':>10}{'speed-up':>10}" * 2
          + "  bit-identical")
    for method, problem in [c for c in COMBOS if c[0] in args.methods]:
        grid = grid_for(method)
        N = tb.make_problem(problem).n_clients
        kw = dict(grid=grid, seeds=seeds, rounds=R, record=[0, R])

        def composed():
            return tb.sweep(problem, method, **kw)

        def generic():
            saved = declare.ROUTED.pop(method)
            try:
                return tb.sweep(problem, method, **kw)
            finally:
                declare.ROUTED[method] = saved

        # the batch calls alone, planned once (record 0 and R, every statistic): what each kernel costs
        alg = tb.get_algorithm(method)
        prob = tb.make_problem(problem)
        combos = [dict(zip(grid, v)) for v in np.stack(np.meshgrid(*grid.values(), indexing="ij"), -1).reshape(
            -1, len(grid))]
        settings = [alg.resolve({k: (int(v) if k == "local_steps" else float(v)) for k, v in c.items()})
                    for c in combos for _ in range(seeds)]
        n = len(settings)
        probs, sd, x0s, rec = [prob] * n, [s for _ in combos for s in range(seeds)], [prob.x0] * n, \
            np.array([0, R], dtype=np.int64)
        plan = compose.plan_batch(alg, probs, settings, sd, R, rec, x0s, None)
        gen = kernel_module("federated")
        gargs = (alg.code, prob.family, np.stack([prob.params] * n), np.stack([alg.pack(st) for st in settings]),
                 np.stack([prob.x0] * n), np.asarray(sd, dtype=np.int64), prob.noise_code,
                 np.full(n, prob.sigma), np.stack([prob.noise_mask] * n), np.zeros(n), R, rec,
                 np.empty((n, 2, 1)), np.empty((n, 2)), np.empty((n, 2)), np.empty((n, 8)))

        def composed_kernel():
            for m, args, _ in plan:
                m.batch(*args)

        def generic_kernel():
            gen.batch(*gargs)

        a, b = composed(), generic()  # compiles (or loads) both
        same = (all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in ("x", "loss", "grad_norm"))
                and all(np.array_equal(a.stats[k], b.stats[k], equal_nan=True) for k in a.stats))
        n_traj = int(np.prod(a.loss.shape[:-1]))
        steps = float(R * N * 8 * n_traj)
        composed_kernel()
        generic_kernel()
        same = same and np.array_equal(plan[0][1][-3], gargs[-3], equal_nan=True)  # final f, both kernels
        samples = {"generic": [], "composed": [], "generic_kernel": [], "composed_kernel": []}
        for _ in range(repeats):
            for k, fn in (("generic", generic), ("composed", composed), ("generic_kernel", generic_kernel),
                          ("composed_kernel", composed_kernel)):
                t = time.perf_counter()
                fn()
                samples[k].append(time.perf_counter() - t)
        ns = {k: statistics.median(v) / steps * 1e9 for k, v in samples.items()}
        rows.append({"method": method, "problem": problem, "trajectories": n_traj, "local_steps": steps,
                     "ns_per_step_generic": ns["generic"], "ns_per_step_composed": ns["composed"],
                     "speedup": ns["generic"] / ns["composed"],
                     "ns_per_step_generic_kernel_only": ns["generic_kernel"],
                     "ns_per_step_composed_kernel_only": ns["composed_kernel"],
                     "speedup_kernel_only": ns["generic_kernel"] / ns["composed_kernel"], "bit_identical": bool(same),
                     "samples_s": samples})
        print(f"  {method:<20}{problem:<24}{n_traj:>13}{ns['generic']:10.2f}{ns['composed']:10.2f}"
              f"{ns['generic'] / ns['composed']:9.2f}x{ns['generic_kernel']:10.2f}{ns['composed_kernel']:10.2f}"
              f"{ns['generic_kernel'] / ns['composed_kernel']:9.2f}x  {same}")
    RESULTS.mkdir(exist_ok=True)
    stem = "composed_methods_per_step_quick" if args.quick else "composed_methods_per_step"
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(
        {"benchmark": "composed_methods_per_step", "rounds": R, "seeds": seeds, "repeats": repeats,
         "threads": 1, "rows": rows}, indent=1))


if __name__ == "__main__":
    main()
