"""Performance benchmark: HT-1's work, many independent runs of clipped SGD under heavy-tailed noise.

Work (claim HT-1; Sadiev et al., ICML 2023): ``runs`` independent runs (seeds 0 .. runs-1, default 10^5) of
``clipped-sgd`` (and ``sgd``) on ``ht-quadratic`` (d = 2, h in [1/2, 1], symmetric Lomax noise with alpha = 1.5,
sigma = 1), K = 100 steps, gamma = 0.1, lambda = 1; only the final iterate kept. Every engine draws the same
numbers (the counter-based SplitMix64 streams of theorybench.rng, the Lomax inverse CDF), so the final iterates
agree to rounding.

Engines, measured in one run at the same thread count (``--threads``, default 1):
(0)  theorybench ``sweep`` (``record=[K]``), timed after one warm-up call;
(b)  NumPy vectorised over the runs (``tests/reference_heavy_tailed.py``: arrays (runs, d), a Python loop over
     the steps);
(c)  JAX ``jit(vmap(scan))``, float64 with uint64 hashing, CPU, run by the interpreter ``--jax-python`` (default
     ``/tmp/jaxenv/bin/python`` if it exists; skipped otherwise), XLA limited to one intra-op thread when 1.
Agreement: the largest |x_K difference| relative to max |x_K| between theorybench and each peer.

Run: ``python benchmarks/bench_heavy_tailed.py [--quick] [--threads N]``; writes
``benchmarks/results/heavy_tailed[_quick].json``.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import HERE, machine_info, timed  # noqa: E402

sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

K, GAMMA, LAM, ALPHA, SIGMA, D = 100, 0.1, 1.0, 1.5, 1.0, 2

JAX_SCRIPT = r'''
import json, sys, time, os
cfg = json.loads(sys.argv[1])
if cfg["threads"] == 1:
    os.environ["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import numpy as np
G, M1, M2 = jnp.uint64(0x9E3779B97F4A7C15), jnp.uint64(0xBF58476D1CE4E5B9), jnp.uint64(0x94D049BB133111EB)
def mix(z):
    z = (z ^ (z >> jnp.uint64(30))) * M1
    z = (z ^ (z >> jnp.uint64(27))) * M2
    return z ^ (z >> jnp.uint64(31))
def uniform01(seed, counter):
    h = mix(seed + G)
    h = mix(h + jnp.uint64(0) * G + G)
    h = mix(h + counter * G + G)
    return (h >> jnp.uint64(11)).astype(jnp.float64) * (1.0 / 9007199254740992.0)
h_diag = jnp.asarray(cfg["h"]); xstar = jnp.asarray(cfg["xstar"]); x0 = jnp.asarray(cfg["x0"])
d, alpha, sigma, gamma, lam, clip = len(cfg["h"]), cfg["alpha"], cfg["sigma"], cfg["gamma"], cfg["lam"], cfg["clip"]
def one(seed):
    seed = jnp.uint64(seed)
    def body(x, t):
        c = jnp.uint64(t) * jnp.uint64(d) + jnp.arange(d, dtype=jnp.uint64)
        v = 1.0 - uniform01(seed, c)
        p = jnp.where(v > 0.5, 2.0 * v - 1.0, 2.0 * v)
        mag = p ** (-1.0 / alpha) - 1.0
        g = h_diag * (x - xstar) + sigma * jnp.where(v > 0.5, mag, -mag)
        if clip:
            n = jnp.sqrt(jnp.sum(g * g))
            g = jnp.where(n > lam, (lam / n) * g, g)
        return x - gamma * g, None
    x, _ = jax.lax.scan(body, x0, jnp.arange(cfg["K"], dtype=jnp.uint64))
    return x
f = jax.jit(jax.vmap(one))
seeds = jnp.arange(cfg["runs"], dtype=jnp.uint64)
f(seeds).block_until_ready()
ts = []
for _ in range(cfg["repeats"]):
    t = time.perf_counter(); out = f(seeds).block_until_ready(); ts.append(time.perf_counter() - t)
np.save(cfg["out"], np.asarray(out))
print(json.dumps({"times": ts, "jax": jax.__version__}))
'''


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="10^4 runs, 1 repeat")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--runs", type=int, default=None)
    ap.add_argument("--jax-python", default="/tmp/jaxenv/bin/python")
    args = ap.parse_args()
    import numba
    numba.set_num_threads(args.threads)
    import theorybench as tb
    from reference_heavy_tailed import grad_quadratic, reference_run
    runs = args.runs or (10_000 if args.quick else 100_000)
    repeats = 1 if args.quick else 3
    prob = tb.make_problem("ht-quadratic", d=D, noise="pareto", alpha=ALPHA, sigma=SIGMA)
    grad = grad_quadratic(prob.arrays["h"], prob.arrays["xstar"])
    result = {"machine": machine_info(), "threads": args.threads, "runs": runs, "steps": K, "work": __doc__.split("\n\n")[1],
              "engines": {}}
    for method in ("clipped-sgd", "sgd"):
        h = {"gamma": GAMMA} | ({"lam": LAM} if method == "clipped-sgd" else {})
        call = lambda: tb.sweep(prob, method, seeds=runs, steps=K, record=[K], **h).x[..., -1, :].reshape(runs, D)  # noqa: E731
        call()
        t_tb, ts_tb, x_tb = timed(call, repeats)
        t_np, ts_np, (x_np, _) = timed(lambda: reference_run(method, grad, prob.x0, K, np.arange(runs), "pareto",
                                                             SIGMA, ALPHA, GAMMA, LAM), repeats)
        scale = np.abs(x_tb).max()
        row = {"theorybench_s": t_tb, "theorybench_all": ts_tb, "numpy_s": t_np, "numpy_all": ts_np,
               "ns_per_step_theorybench": 1e9 * t_tb / (runs * K), "ns_per_step_numpy": 1e9 * t_np / (runs * K),
               "numpy_over_theorybench": t_np / t_tb,
               "agreement_numpy": float(np.abs(x_tb - x_np).max() / scale)}
        if Path(args.jax_python).exists():
            with tempfile.TemporaryDirectory() as tmp:
                cfg = {"h": prob.arrays["h"].tolist(), "xstar": prob.arrays["xstar"].tolist(), "x0": prob.x0.tolist(),
                       "alpha": ALPHA, "sigma": SIGMA, "gamma": GAMMA, "lam": LAM, "clip": method == "clipped-sgd",
                       "K": K, "runs": runs, "repeats": repeats, "threads": args.threads, "out": f"{tmp}/x.npy"}
                p = subprocess.run([args.jax_python, "-c", JAX_SCRIPT, json.dumps(cfg)], capture_output=True, text=True,
                                   timeout=3600, env={**os.environ, "OMP_NUM_THREADS": str(args.threads)})
                if p.returncode == 0:
                    info = json.loads(p.stdout.strip().splitlines()[-1])
                    x_jax = np.load(f"{tmp}/x.npy")
                    t_jax = float(np.median(info["times"]))
                    row.update({"jax_s": t_jax, "jax_all": info["times"], "jax": info["jax"],
                                "ns_per_step_jax": 1e9 * t_jax / (runs * K), "jax_over_theorybench": t_jax / t_tb,
                                "agreement_jax": float(np.abs(x_tb - x_jax).max() / scale)})
                else:
                    row["jax_error"] = p.stderr[-2000:]
        else:
            row["jax"] = "skipped (no JAX interpreter)"
        result["engines"][method] = row
        print(method, json.dumps({k: v for k, v in row.items() if not k.endswith("_all")}, indent=1))
    out = HERE / "results" / ("heavy_tailed_quick.json" if args.quick else "heavy_tailed.json")
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(out, json.dumps(result, indent=1))
    print("wrote", out)


if __name__ == "__main__":
    main()
