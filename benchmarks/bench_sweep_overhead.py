"""The Python cost of ``theorybench.sweep`` around the composed kernel: CELGC (``local-clip``) on
``episode-quartic``, R = 100, I = 8, ``record=[]``, one thread; ns per local step per configuration
through ``sweep``, through the kernel call alone (``compose.plan_batch`` then ``module.batch``) and for
NumPy vectorised over the configurations (``bench_episode_sweep.vectorised_numpy``, its own noise draws) at
widths 10 to 10^5 configurations. A local step is one client's step of one trajectory (R * N * I per
configuration, N = 2). Usage: ``python benchmarks/bench_sweep_overhead.py [--profile W]
[--save FILE.npz] [--numpy]`` (``--save`` writes the sweep's arrays, to compare two versions bit for bit)."""
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


def numpy_vectorised(width):
    from bench_episode_sweep import vectorised_numpy
    etas, gammas, S = grid(width)
    e, g = np.meshgrid(etas, gammas, indexing="ij")
    e, g = np.repeat(e.reshape(-1), S), np.repeat(g.reshape(-1), S)
    t = time.perf_counter()
    vectorised_numpy("celgc", e, g, np.full(e.size, LOCAL), 1.0, ROUNDS)
    return time.perf_counter() - t


def main():
    import numba
    import theorybench as tb
    ap = argparse.ArgumentParser()
    ap.add_argument("--profile", type=int, default=0)
    ap.add_argument("--save", default="")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--numpy", action="store_true", help="time NumPy vectorised too (one run per width)")
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
    print(f"{'width':>7} {'sweep ns/step':>14} {'kernel ns/step':>15} {'ratio':>6} {'numpy ns/step':>14}")
    n_clients = tb.make_problem("episode-quartic").n_clients
    for w in WIDTHS:
        steps = w * ROUNDS * LOCAL * n_clients
        reps = a.repeats if w < 100000 else max(1, a.repeats - 1)
        ts = []
        for _ in range(reps):
            t = time.perf_counter()
            do_sweep(tb, w)
            ts.append(time.perf_counter() - t)
        k = kernel_only(tb, w, reps)
        s = min(ts)
        v = numpy_vectorised(w) if a.numpy else np.nan
        print(f"{w:>7} {s / steps * 1e9:14.2f} {k / steps * 1e9:15.2f} {s / k:6.2f} {v / steps * 1e9:14.2f}",
              flush=True)


if __name__ == "__main__":
    main()
