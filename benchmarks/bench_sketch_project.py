"""Sketch-and-project over many seeds: theorybench's sweep against NumPy vectorised over the seeds (and JAX
``jit(vmap(scan))`` when ``import jax`` works).

Work: C independent trajectories (seeds) of T steps of ``sketch-project`` on the generated
``linear-system`` (kind=general, m x n, B = I), final x only, for the sketches ``kaczmarz`` (one row by
importance), ``block`` (k rows without replacement, a k x k pseudo-inverse) and ``gaussian`` (S ~ N(0, I_m)).
Engines, all at the same thread count (``--threads``, default 1: NUMBA_NUM_THREADS, OpenBLAS/OpenMP and
XLA's CPU pool are set before anything is imported):

(a) theorybench: ``sweep(prob, "sketch-project", seeds=C, steps=T, record=[0, T], sketch=...)``, the whole
    call (planning, the cached composed kernel, results);
(b) NumPy vectorised over the seeds (``(C, n)`` iterates) with the *same* counter-based draws
    (``theorybench.rng``'s SplitMix64 hash written with uint64 arrays), so its final x agrees with (a)'s to
    rounding (reported: max |x_a - x_b|);
(c) JAX 64-bit ``jit(vmap(scan))`` with ``jax.random`` draws (other numbers; reported: the mean final
    error, which must be of the same size).

Run: ``python benchmarks/bench_sketch_project.py [--quick] [--threads N]`` (JAX: a Python with jax, e.g.
a virtual environment with ``pip install jax`` and this package). Writes
``benchmarks/results/sketch_project[_quick].json``; the ratios are from one run."""
import argparse
import json
import os
import sys
import time


def _threads_from_argv(argv):
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith("--threads="):
            return a.split("=", 1)[1]
    return "1"


_T = _threads_from_argv(sys.argv)
for _k in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_k] = _T
os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen="
                           + ("false" if _T == "1" else "true") + f" intra_op_parallelism_threads={_T}").strip()

import numpy as np  # noqa: E402

from _common import jax_over_seeds, HERE, machine_info, timed  # noqa: E402

GOLDEN, M1, M2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * M1
    z = (z ^ (z >> np.uint64(27))) * M2
    return z ^ (z >> np.uint64(31))


def uniform01(seeds, stream, counter):
    """``theorybench.rng.uniform01`` for an array of seeds (uint64 wrap-around arithmetic)."""
    with np.errstate(over="ignore"):
        h = _mix(seeds.astype(np.uint64) + GOLDEN)
        h = _mix(h + np.uint64(stream) * GOLDEN + GOLDEN)
        h = _mix(h + np.uint64(counter) * GOLDEN + GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def normal01(seeds, stream, counter):
    u1 = 1.0 - uniform01(seeds, stream, 2 * counter)
    u2 = uniform01(seeds, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def numpy_vectorised(arr, sketch, seeds, T, k):
    """Sketch-and-project on C = len(seeds) trajectories at once, the kernel's draws."""
    A, b, G, rowB, cum = arr["A"], arr["b"], arr["ABinv"], arr["rowB"], arr["cum_rows"]
    m, n = A.shape
    C = seeds.size
    X = np.zeros((C, n))
    idx = np.arange(C)
    for t in range(T):
        if sketch == "kaczmarz":
            i = np.minimum(np.searchsorted(cum, uniform01(seeds, 0, t), side="right"), m - 1)
            r = np.einsum("cj,cj->c", A[i], X) - b[i]
            X -= (r / rowB[i])[:, None] * G[i]
        elif sketch == "block":
            perm = np.tile(np.arange(m), (C, 1))
            for j in range(k):
                r = np.minimum(j + (uniform01(seeds, 0, t * k + j) * (m - j)).astype(np.int64), m - 1)
                a, c = perm[idx, j].copy(), perm[idx, r].copy()
                perm[idx, j], perm[idx, r] = c, a
            R = perm[:, :k]
            AR, GR = A[R], G[R]                                     # (C, k, n)
            res = np.einsum("ckn,cn->ck", AR, X) - b[R]
            M = AR @ GR.transpose(0, 2, 1)
            y = np.einsum("ckl,cl->ck", np.linalg.pinv(M), res)
            X -= np.einsum("ck,ckn->cn", y, GR)
        else:
            S = np.stack([normal01(seeds, 0, t * m + j) for j in range(m)], axis=1)   # (C, m)
            W = S @ G                                               # B^{-1} A^T s
            r = np.einsum("cm,cm->c", S, X @ A.T - b)
            den = np.einsum("cm,cm->c", S, W @ A.T)
            X -= np.where(den > 0, r / np.where(den > 0, den, 1.0), 0.0)[:, None] * W
    return X


def make_jax(arr, sketch, T, k):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    A, b, G, rowB = (jnp.asarray(arr[key]) for key in ("A", "b", "ABinv", "rowB"))
    logits = jnp.log(jnp.asarray(np.einsum("ij,ij->i", arr["A"], arr["A"])))
    m, n = arr["A"].shape

    def body(x, key):
        if sketch == "kaczmarz":
            i = jax.random.categorical(key, logits)
            return x - (A[i] @ x - b[i]) / rowB[i] * G[i], None
        if sketch == "block":
            R = jax.random.choice(key, m, (k,), replace=False)
            AR, GR = A[R], G[R]
            y = jnp.linalg.pinv(AR @ GR.T) @ (AR @ x - b[R])
            return x - y @ GR, None
        s = jax.random.normal(key, (m,), dtype=jnp.float64)
        w = s @ G
        return x - (s @ (A @ x - b)) / (s @ (A @ w)) * w, None

    def traj(key):
        x, _ = jax.lax.scan(body, jnp.zeros(n), jax.random.split(key, T))
        return x
    return jax_over_seeds(traj)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", default="1")
    ap.add_argument("--m", type=int, default=60)
    ap.add_argument("--n", type=int, default=20)
    args = ap.parse_args(argv)
    import numba
    import theorybench as tb
    prob = tb.make_problem("linear-system", kind="general", m=args.m, n=args.n, row_scale=10.0)
    arr, xs = prob.arrays, prob.arrays["xstar"]
    k = 4
    C = 2000 if args.quick else 10000
    Ts = {"kaczmarz": 500, "block": 100, "gaussian": 100} if args.quick else \
        {"kaczmarz": 1000, "block": 200, "gaussian": 200}
    repeats = 2 if args.quick else 3
    seeds = np.arange(C, dtype=np.int64)
    rows = []
    for sketch, T in Ts.items():
        def tb_call():
            sw = tb.sweep(prob, "sketch-project", seeds=C, steps=T, record=[0, T], sketch=sketch, block_size=k)
            return sw.x[:, -1, :]
        engines = {"theorybench sweep": tb_call,
                   "NumPy vectorised (same draws)": lambda: numpy_vectorised(arr, sketch, seeds, T, k)}
        try:
            jax_call, jv = make_jax(arr, sketch, T, k)
            engines[f"JAX {jv} jit(vmap(scan))"] = lambda: jax_call(seeds)
        except ImportError as exc:
            print(f"JAX skipped: {exc!r}")
        res, finals = {}, {}
        for name, fn in engines.items():
            t0 = time.perf_counter()
            fn()  # compile / warm
            slow = time.perf_counter() - t0 > 30.0   # a slow peer is timed once (after its warm-up call)
            t, _, val = timed(fn, 1 if slow else repeats)
            finals[name] = val
            res[name] = {"seconds": t, "ns_per_step": 1e9 * t / (C * T),
                         "mean_final_err2": float(np.mean(np.sum((val - xs) ** 2, axis=1)))}
        base = res["theorybench sweep"]["seconds"]
        for name in res:
            res[name]["ratio_to_theorybench"] = res[name]["seconds"] / base
        res["NumPy vectorised (same draws)"]["max_abs_diff_to_theorybench"] = float(
            np.max(np.abs(finals["NumPy vectorised (same draws)"] - finals["theorybench sweep"])))
        rows.append({"sketch": sketch, "configurations": C, "steps": T, "m": args.m, "n": args.n,
                     "block_size": k if sketch == "block" else None, "engines": res})
        print(f"{sketch}: C = {C}, T = {T}, m = {args.m}, n = {args.n}:")
        for name, r in res.items():
            print(f"  {name:<34} {r['seconds']:9.4f} s  {r['ns_per_step']:9.1f} ns/step  "
                  f"x{r['ratio_to_theorybench']:.2f} of theorybench  mean ||x_T - x*||^2 {r['mean_final_err2']:.3g}")
    out_path = HERE / "results" / ("sketch_project_quick.json" if args.quick else "sketch_project.json")
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(out_path, json.dumps({"machine": machine_info(), "threads": numba.get_num_threads(),
                                            "rows": rows}, indent=1))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
