"""The vector template (theorybench.declare_vector / compose_vector) against its peers on the same work.

Work: SGD ``x <- x - eta (H (x - c) + sigma z_t)`` on a d-dimensional quadratic (``H = diag(1..kappa)``,
Gaussian noise), C independent trajectories (seeds) of T steps, final x only. Engines, each at
``numba.get_num_threads()`` threads (JAX: XLA's CPU client, whose thread pool is its own):

(a) theorybench: ``sweep(..., seeds=C, record=[0, T])`` of a VectorMethod declared like a user's
    (``tests/vector_example.py``'s ``test-sgd``), the whole call (planning, composition, kernel);
(b) a hand-written Numba kernel: ``prange`` over trajectories, the same counter-based draws
    (``theorybench.rng.add_normal``: Box-Muller pairs) and the same operations, so its final x equals (a)'s
    bit for bit;
(c) NumPy vectorised over the trajectories (``(C, d)`` arrays, ``numpy.random`` draws: other numbers);
(d) JAX ``jit(vmap(scan))`` in float64 (``jax.random`` draws), if ``import jax`` succeeds.

Run: ``python benchmarks/bench_vector_template.py [--quick]`` (JAX: run it with a Python that has jax).
Writes ``benchmarks/results/vector_template.json``. Reports ns per step per trajectory and ratios to (a),
measured in one run."""
import argparse
import json
import sys

import numba
import numpy as np
from numba import njit, prange

from _common import jax_over_seeds, HERE, machine_info, timed

sys.path.insert(0, str(HERE.parent / "tests"))


def problem(d, kappa, sigma):
    import theorybench as tb
    import vector_example  # noqa: F401  (the declared family, instance and method)
    return tb.make_problem("test-quad", d=d, kappa=kappa, sigma=sigma)


def make_hand_written():
    from theorybench.rng import add_normal

    @njit(parallel=True)
    def kernel(H, c, sigma, eta, seeds, T, out):
        C, d = out.shape
        for b in prange(C):
            x = np.zeros(d)
            g = np.empty(d)
            seed = seeds[b]
            for t in range(T):
                for i in range(d):
                    s = 0.0
                    for j in range(d):
                        s += H[i, j] * (x[j] - c[j])
                    g[i] = s
                add_normal(g, sigma, seed, 0, t)
                for j in range(d):
                    x[j] -= eta * g[j]
            out[b] = x
    return kernel


def numpy_vectorised(H, c, sigma, eta, C, T, rs):
    x = np.zeros((C, H.shape[0]))
    for _ in range(T):
        x -= eta * ((x - c) @ H.T + sigma * rs.standard_normal(x.shape))
    return x


def make_jax(H, c, sigma, eta, T):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    Hj, cj = jnp.asarray(H), jnp.asarray(c)

    def traj(key):
        def body(x, k):
            z = jax.random.normal(k, x.shape, dtype=jnp.float64)
            return x - eta * (Hj @ (x - cj) + sigma * z), None
        x, _ = jax.lax.scan(body, jnp.zeros(H.shape[0]), jax.random.split(key, T))
        return x
    return jax_over_seeds(traj)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    import theorybench as tb
    d, kappa, sigma, eta = 8, 10.0, 1.0, 0.05
    T = 200 if args.quick else 1000
    widths = (100, 10000) if args.quick else (100, 10000, 100000)
    repeats = 2 if args.quick else 3
    prob = problem(d, kappa, sigma)
    H, c = prob.arrays["H"], prob.arrays["c"]
    hw = make_hand_written()
    jax_call = None
    try:
        jax_call, jax_version = make_jax(H, c, sigma, eta, T)
    except Exception as exc:  # noqa: BLE001  (optional peer)
        print(f"JAX skipped: {exc!r}")
    rows = []
    for C in widths:
        seeds = np.arange(C, dtype=np.int64)
        steps = C * T

        def tb_call():
            sw = tb.sweep(prob, "test-sgd", seeds=C, steps=T, record=[0, T], eta=eta)
            return sw.x[:, -1, :]
        out = np.empty((C, d))
        engines = {"theorybench": tb_call,
                   "hand-written Numba": lambda: (hw(H, c, sigma, eta, seeds, T, out), out)[1],
                   "NumPy vectorised": lambda: numpy_vectorised(H, c, sigma, eta, C, T, np.random.default_rng(0))}
        if jax_call is not None:
            engines[f"JAX {jax_version} jit(vmap(scan))"] = lambda: jax_call(seeds)
        res = {}
        for name, fn in engines.items():
            fn()  # compile / warm
            t, _, val = timed(fn, repeats)
            res[name] = {"seconds": t, "ns_per_step": 1e9 * t / steps}
            if name == "hand-written Numba":
                res[name]["bit_identical_to_theorybench"] = bool(np.array_equal(val, tb_call()))
        base = res["theorybench"]["seconds"]
        for name in res:
            res[name]["ratio_to_theorybench"] = res[name]["seconds"] / base
        rows.append({"configurations": C, "steps": T, "d": d, "engines": res})
        print(f"C = {C}, T = {T}, d = {d}:")
        for name, r in res.items():
            print(f"  {name:<40} {r['seconds']:9.4f} s  {r['ns_per_step']:8.2f} ns/step  "
                  f"x{r['ratio_to_theorybench']:.2f} of theorybench")
    out_path = HERE / "results" / ("vector_template_quick.json" if args.quick else "vector_template.json")
    out_path.parent.mkdir(exist_ok=True)
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(out_path, json.dumps({"machine": machine_info(), "threads": numba.get_num_threads(),
                                            "rows": rows}, indent=1))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
