"""The Python cost of ``theorybench.sweep`` around the composed kernel: CELGC (``local-clip``) on
``episode-quartic``, R = 100, I = 8, ``record=[]``, one thread; ns per local step per configuration
through ``sweep`` and through the kernel call alone (``compose.plan_batch`` then ``module.batch``) at
widths 10 to 10^5 configurations. Usage: ``python benchmarks/bench_sweep_overhead.py [--profile W]
[--save FILE.npz]`` (``--save`` writes the sweep's arrays, to compare two versions bit for bit)."""
import argparse
import time

import numpy as np

ROUNDS, LOCAL = 100, 8
WIDTHS = {10: (5, 2, 1), 1000: (10, 10, 10), 10000: (100, 10, 10), 100000: (100, 100, 10)}


def grid(width):
    ne, ng, S = WIDTHS[width]
    etas = np.logspace(-3, 0.5, ne).tolist()  # the largest steps diverge
    gammas = np.logspace(-1, 1, ng).tolist()
    return etas, gammas, S


def do_sweep(tb, width):
    etas, gammas, S = grid(width)
    return tb.sweep("episode-quartic", "local-clip", grid={"eta": etas, "gamma": gammas}, seeds=S,
                    rounds=ROUNDS, local_steps=LOCAL, record=[])


def kernel_only(tb, width, repeats):
    """The composed kernel call alone on the same configurations (its planning is not timed)."""
    from theorybench import compose
    from theorybench.algorithms import get_algorithm
    from theorybench.problem import make_problem
    etas, gammas, S = grid(width)
    alg = get_algorithm("local-clip")
    p = make_problem("episode-quartic")
    settings = [alg.resolve({"eta": e, "gamma": g, "local_steps": LOCAL}) for e in etas for g in gammas
                for _ in range(S)]
    seeds = [s for _ in etas for _ in gammas for s in range(S)]
    n = len(settings)
    rec = np.array([0, ROUNDS], dtype=np.int64)
    best = np.inf
    for _ in range(repeats):
        (mod, args, _), = compose.plan_batch(alg, [p] * n, settings, seeds, ROUNDS, rec, [p.x0] * n,
                                              np.zeros(n))
        t = time.perf_counter()
        mod.batch(*args)
        best = min(best, time.perf_counter() - t)
    return best


def main():
    import numba
    import theorybench as tb
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--save", default="")
    ap.add_argument("--repeats", type=int, default=3)
    a = ap.parse_args()
    numba.set_num_threads(1)
    do_sweep(tb, 10)  # compile / load
    if a.profile:
        import cProfile
        import pstats
        cProfile.runctx("do_sweep(tb, a.profile)", globals(), locals(), "/tmp/sweep.prof")
        pstats.Stats("/tmp/sweep.prof").sort_stats("cumulative").print_stats(30)
        return
    if a.save:
        r = do_sweep(tb, 10000)
        np.savez(a.save, x=r.x, loss=r.loss, g=r.grad_norm, steps=r.steps, rounds=r.rounds,
                 **{"s_" + k: v for k, v in r.stats.items()})
        print(r.dims, {k: len(v) for k, v in r.coords.items()}, int(r.diverged.sum()), "diverged")
        return
    print(f"{'width':>7} {'sweep ns/step':>14} {'kernel ns/step':>15} {'ratio':>6}")
    for w in WIDTHS:
        steps = w * ROUNDS * LOCAL
        reps = a.repeats if w < 100000 else max(1, a.repeats - 1)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            do_sweep(tb, w)
            ts.append(time.perf_counter() - t)
        k = kernel_only(tb, w, reps)
        s = min(ts)
        print(f"{w:>7} {s / steps * 1e9:14.2f} {k / steps * 1e9:15.2f} {s / k:6.2f}", flush=True)


if __name__ == "__main__":
    main()
