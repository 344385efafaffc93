"""Performance benchmark: DIANA with rand-k over many seeds (the work of claims CP-1 / CP-2).

Work: ``quadratic-clients`` (n = 4 clients, d = 12, kappa = 16, zeta = 1, seed 0), DIANA (Mishchenko, Gorbunov,
Takac, Richtarik 2019) with rand-k (k = 2, omega = 5), the theorem's alpha = 1/(omega + 1) and gamma = 1/((1 +
6 omega/n) L), from x_0 = 1 for T steps, over B seeds; the final iterates are kept. Every engine draws the same
uniforms (``theorybench.rng``: stream n + i, counter t d + j, selection sampling for the k-subset), so the final
iterates agree to rounding.

Engines, measured in one run, every one at the same thread count (``--threads``, default 1; XLA limited to one
intra-op thread when 1):
(0) theorybench: ``run_batch`` of the composed vector-template kernel (``record=[T]``), after a warm-up call;
(b) NumPy vectorised over the B seeds (arrays (B, n, d); Python loops over steps and over the d coordinates of the
    selection sampling);
(c) JAX ``jit(vmap(scan))``, float64, CPU, if ``import jax`` succeeds (run this script with a Python that has
    jax, e.g. a separate virtual environment with theorybench installed); skipped otherwise.
Agreement: the largest |x_T difference| relative to max |x_T - x*| + ||x*|| between theorybench and each peer.

Run: ``python benchmarks/bench_compressed.py [--quick] [--threads N]``; writes
``benchmarks/results/compressed_diana[_quick].json``.
"""
import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np

from _common import machine_info, timed  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results"
N, BLOCKS, KAPPA, K = 4, 6, 16.0, 2


def instance():
    from theorybench import make_problem
    return make_problem("quadratic-clients", n=N, blocks=BLOCKS, kappa=KAPPA, zeta=1.0, seed=0)


def hyper(prob):
    from theorybench.methods.compressed import diana_default_alpha, diana_default_gamma, omega
    om = omega("randk", prob.dim, K)
    return diana_default_gamma(prob.arrays["L"], om, N), diana_default_alpha(om)


def theorybench_run(prob, seeds, T):
    from theorybench import run_batch
    from theorybench.algorithms import get_algorithm
    alg = get_algorithm("diana")
    g, a = hyper(prob)
    s = alg.resolve({"gamma": g, "alpha": a, "compression": "randk", "k": K})
    rec, x, *_ = run_batch(alg, [prob] * len(seeds), [s] * len(seeds), list(seeds), T, record=[T])
    return x[:, -1, :]


def numpy_run(prob, seeds, T):
    """DIANA vectorised over the seeds: x (B, d), h (B, n, d)."""
    from theorybench.backends.array import uniform01
    A, c = prob.arrays["A"], prob.arrays["c"]
    n, d = c.shape
    g, a = hyper(prob)
    B = len(seeds)
    sd = np.asarray(seeds, dtype=np.uint64)[:, None, None]
    streams = (n + np.arange(n, dtype=np.uint64))[None, :, None]
    cols = np.arange(d, dtype=np.uint64)[None, None, :]
    x = np.broadcast_to(prob.x0, (B, d)).copy()
    h = np.zeros((B, n, d))
    scale = d / K
    for t in range(T):
        grads = np.einsum("ijk,bik->bij", A, x[:, None, :] - c[None])   # (B, n, d)
        v = grads - h
        u = uniform01(np, sd, streams, np.uint64(t * d) + cols)        # (B, n, d)
        delta = np.zeros_like(v)
        kept = np.zeros((B, n))
        for j in range(d):
            take = u[:, :, j] * (d - j) < (K - kept)
            delta[:, :, j] = np.where(take, scale * v[:, :, j], 0.0)
            kept += take
        acc = (h + delta).sum(axis=1)
        h += a * delta
        x = x - g * (acc / n)
    return x


def jax_engine():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from theorybench.rng import _GOLDEN, _M1, _M2

    def mix(z):
        z = (z ^ (z >> jnp.uint64(30))) * jnp.uint64(_M1)
        z = (z ^ (z >> jnp.uint64(27))) * jnp.uint64(_M2)
        return z ^ (z >> jnp.uint64(31))

    def uniform(seed, stream, counter):
        gold = jnp.uint64(_GOLDEN)
        hh = mix(seed + gold)
        hh = mix(hh + stream * gold + gold)
        hh = mix(hh + counter * gold + gold)
        return (hh >> jnp.uint64(11)).astype(jnp.float64) * (1.0 / 9007199254740992.0)

    def make(prob, T):
        A, c = jnp.asarray(prob.arrays["A"]), jnp.asarray(prob.arrays["c"])
        n, d = prob.arrays["c"].shape
        g, a = hyper(prob)
        x0 = jnp.asarray(prob.x0)
        streams = (n + jnp.arange(n, dtype=jnp.uint64))[:, None]
        cols = jnp.arange(d, dtype=jnp.uint64)[None, :]

        def one(seed):
            def step(carry, t):
                x, h = carry
                v = jnp.einsum("ijk,ik->ij", A, x[None, :] - c) - h
                u = uniform(seed, streams, t * jnp.uint64(d) + cols)   # (n, d)
                kept = jnp.zeros(n)
                cols_out = []
                for j in range(d):
                    take = u[:, j] * (d - j) < (K - kept)
                    cols_out.append(jnp.where(take, (d / K) * v[:, j], 0.0))
                    kept = kept + take
                delta = jnp.stack(cols_out, axis=1)
                acc = (h + delta).sum(axis=0)
                return (x - g * (acc / n), h + a * delta), None
            (x, h), _ = jax.lax.scan(step, (x0, jnp.zeros((n, d))), jnp.arange(T, dtype=jnp.uint64))
            return x
        return jax.jit(jax.vmap(one))

    def run(prob, seeds, T, _cache={}):
        key = (id(prob), T)
        if key not in _cache:
            _cache[key] = make(prob, T)
        return np.asarray(_cache[key](jnp.asarray(np.asarray(seeds, dtype=np.uint64))))
    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a small run (B = 64, T = 500)")
    ap.add_argument("--threads", type=int, default=1, help="threads of every engine")
    args = ap.parse_args()
    if args.threads == 1:  # XLA's CPU client reads its flags at import
        os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    import numba
    numba.set_num_threads(args.threads)
    B, T = (64, 500) if args.quick else (256, 4000)
    repeats = 3
    seeds = list(range(B))
    prob = instance()
    xs = prob.arrays["xstar"]
    theorybench_run(prob, seeds[:2], 10)  # warm-up (compile or load the cached kernel)
    times, outs = {}, {}
    times["theorybench"], _, outs["theorybench"] = timed(lambda: theorybench_run(prob, seeds, T), repeats)
    times["numpy"], _, outs["numpy"] = timed(lambda: numpy_run(prob, seeds, T), 1 if not args.quick else repeats)
    jrun = jax_engine()
    if jrun is not None:
        jrun(prob, seeds, T)  # compile
        times["jax"], _, outs["jax"] = timed(lambda: jrun(prob, seeds, T), repeats)
    scale = float(np.abs(outs["theorybench"] - xs).max() + np.linalg.norm(xs))
    agree = {k: float(np.abs(v - outs["theorybench"]).max() / scale) for k, v in outs.items() if k != "theorybench"}
    ratios = {f"{k}_over_theorybench": v / times["theorybench"] for k, v in times.items() if k != "theorybench"}
    steps = B * T * N
    res = {"work": f"DIANA, rand-k (k = {K}), quadratic-clients n = {N}, d = {2 * BLOCKS}, kappa = {KAPPA:g}; "
                   f"{B} seeds x {T} steps",
           "B": B, "T": T, "threads": args.threads, "times_s": times, "ratios": ratios,
           "ns_per_client_step": {k: v * 1e9 * args.threads / steps for k, v in times.items()},
           "agreement_rel": agree, "final_dist_theorybench_max": float(np.linalg.norm(outs["theorybench"] - xs,
                                                                                       axis=1).max()),
           "jax": "skipped (import jax failed)" if jrun is None else "measured",
           "load_average_1_5_15min": list(os.getloadavg()), "machine": machine_info()}
    from theorybench.atomic_io import atomic_write_text
    RESULTS.mkdir(exist_ok=True)
    suffix = ("_quick" if args.quick else "") + (f"_{args.threads}threads" if args.threads != 1 else "")
    atomic_write_text(RESULTS / f"compressed_diana{suffix}.json", json.dumps(res, indent=1) + "\n")
    print(json.dumps({k: res[k] for k in ("work", "times_s", "ratios", "ns_per_client_step", "agreement_rel")},
                     indent=1))


if __name__ == "__main__":
    main()
