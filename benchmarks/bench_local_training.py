"""Performance benchmark: Scaffnew (ProxSkip on the consensus reformulation) over seeds and configurations.

Work (claim PS-1's grid; Mishchenko, Malinovsky, Stich, Richtarik, ICML 2022): the ``quadratic-clients``
instance (n = 4 clients, d = 6, kappa = 100), gamma in {1/L, 1/(2L)} x p in {0.05, 0.1, 0.2, 0.5, 1} x S
seeds, T steps each (full: S = 64, T = 4000; ``--quick``: S = 16, T = 1000); the final iterate of every
trajectory is kept.

Implementations, timed in one run of this script (so their ratios compare like with like):

(0) theorybench: ``run_batch`` of ``scaffnew`` (the composed Numba kernel, one configuration per thread),
    record = {0, T}; timed after one warm-up call, median of 3.
(a) NumPy vectorised over the B = 10 S trajectories: ``X``, ``H`` of shape (B, n, d), one ``einsum`` per
    step for the client gradients, the communication coins drawn with the same counter-based generator
    (``theorybench.backends.array.uniform01``), so the numbers are the kernel's up to rounding.
(b) JAX ``jit(vmap(scan))`` (float64), when ``/tmp/jaxenv/bin/python`` (or ``--jax-python``) can import
    jax: run in that interpreter as a subprocess with the same coins passed in as an array (compile time
    reported apart); skipped otherwise.

Sanity: the max |x_T| difference of NumPy and JAX against theorybench is printed and stored.

Run: ``python benchmarks/bench_local_training.py [--quick]``. Writes ``benchmarks/results/local_training.json``
(``--quick``: ``local_training_quick.json``).
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from _common import machine_info, timed  # noqa: E402  (scripts run from benchmarks/)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
GAMMAS_L = (1.0, 0.5)
PS = (0.05, 0.1, 0.2, 0.5, 1.0)

JAX_SCRIPT = r'''
import json, sys, time
import numpy as np
import jax, jax.numpy as jnp
jax.config.update("jax_enable_x64", True)
z = np.load(sys.argv[1])
A, c, x0, g, p, coins = (jnp.asarray(z[k]) for k in ("A", "c", "x0", "gamma", "p", "coins"))
n, d = c.shape

def traj(g, p, coins):
    def step(state, th):
        X, H = state
        G = jnp.einsum("ijk,ik->ij", A, X - c)
        Xh = X - g * (G - H)
        avg = jnp.mean(Xh - (g / p) * H, axis=0)
        Xn = jnp.where(th, jnp.broadcast_to(avg, Xh.shape), Xh)
        Hn = H + (p / g) * (Xn - Xh)
        return (Xn, Hn), None
    X0 = jnp.broadcast_to(x0, (n, d))
    (X, H), _ = jax.lax.scan(step, (X0, jnp.zeros((n, d))), coins)
    return X.mean(axis=0)

fn = jax.jit(jax.vmap(traj))
t = time.perf_counter(); out = fn(g, p, coins).block_until_ready(); compile_s = time.perf_counter() - t
ts = []
for _ in range(3):
    t = time.perf_counter(); out = fn(g, p, coins).block_until_ready(); ts.append(time.perf_counter() - t)
np.save(sys.argv[2], np.asarray(out))
print(json.dumps({"first_call_s": compile_s, "times": ts, "jax": jax.__version__}))
'''


def configs(L, seeds):
    g = np.array([gl / L for gl in GAMMAS_L for _ in PS for _ in range(seeds)])
    p = np.array([pp for _ in GAMMAS_L for pp in PS for _ in range(seeds)])
    s = np.array([k for _ in GAMMAS_L for _ in PS for k in range(seeds)], dtype=np.int64)
    return g, p, s


def coins_of(p, seeds, n, T):
    """theta[b, t] = uniform01(seed_b, n, t) < p_b (the kernel's coin, stream n, counter t)."""
    from theorybench.backends.array import uniform01
    t = np.arange(T, dtype=np.uint64)[None, :]
    return uniform01(np, seeds.astype(np.uint64)[:, None], n, t) < p[:, None]


def numpy_scaffnew(A, c, x0, g, p, theta):
    """Scaffnew vectorised over the trajectories b: X, H of shape (B, n, d)."""
    B, T = theta.shape
    n, d = c.shape
    X = np.broadcast_to(x0, (B, n, d)).copy()
    H = np.zeros((B, n, d))
    gb, pb = g[:, None, None], p[:, None, None]
    for t in range(T):
        G = np.einsum("ijk,bik->bij", A, X - c)
        Xh = X - gb * (G - H)
        th = theta[:, t]
        avg = (Xh - (gb / pb) * H).mean(axis=1, keepdims=True)
        Xn = np.where(th[:, None, None], avg, Xh)
        H = H + (pb / gb) * (Xn - Xh)
        X = Xn
    return X.mean(axis=1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--jax-python", default="/tmp/jaxenv/bin/python")
    args = ap.parse_args()
    seeds, T = (16, 1000) if args.quick else (64, 4000)
    import theorybench as tb
    from theorybench.algorithms import get_algorithm
    prob = tb.make_problem("quadratic-clients", n=4, blocks=3, kappa=100.0, zeta=1.0)
    A, c, x0, L = prob.arrays["A"], prob.arrays["c"], prob.x0, prob.arrays["L"]
    n = prob.n_clients
    g, p, s = configs(L, seeds)
    B = g.size
    alg = get_algorithm("scaffnew")
    sets = [alg.resolve({"gamma": float(a), "p": float(b)}) for a, b in zip(g, p)]

    def tb_call():
        return tb.run_batch(alg, [prob] * B, sets, s.tolist(), T, record=[0, T])[1][:, -1, :]
    tb_call()  # warm-up (compiles or loads the cached kernel)
    t_tb, ts_tb, x_tb = timed(tb_call, 3)
    theta = coins_of(p, s, n, T)
    t_np, ts_np, x_np = timed(lambda: numpy_scaffnew(A, c, x0, g, p, theta), 1 if not args.quick else 3)
    res = {"work": {"trajectories": int(B), "steps": T, "n": n, "d": prob.dim, "seeds": seeds,
                    "gammas_L": GAMMAS_L, "ps": PS},
           "theorybench_s": t_tb, "theorybench_times": ts_tb, "numpy_s": t_np, "numpy_times": ts_np,
           "numpy_over_theorybench": t_np / t_tb, "numpy_max_abs_diff": float(np.abs(x_np - x_tb).max()),
           "ns_per_client_step": {"theorybench": 1e9 * t_tb / (B * T * n), "numpy": 1e9 * t_np / (B * T * n)},
           "machine": machine_info()}
    jax_py = args.jax_python
    if jax_py and os.path.exists(jax_py):
        with tempfile.TemporaryDirectory() as tmp:
            inp, outp = os.path.join(tmp, "in.npz"), os.path.join(tmp, "out.npy")
            np.savez(inp, A=A, c=c, x0=x0, gamma=g, p=p, coins=theta)
            pr = subprocess.run([jax_py, "-c", JAX_SCRIPT, inp, outp], capture_output=True, text=True, timeout=1800)
            if pr.returncode == 0:
                info = json.loads(pr.stdout.strip().splitlines()[-1])
                t_jx = float(np.median(info["times"]))
                x_jx = np.load(outp)
                res.update({"jax_s": t_jx, "jax_times": info["times"], "jax_first_call_s": info["first_call_s"],
                            "jax_version": info["jax"], "jax_over_theorybench": t_jx / t_tb,
                            "jax_max_abs_diff": float(np.abs(x_jx - x_tb).max())})
                res["ns_per_client_step"]["jax"] = 1e9 * t_jx / (B * T * n)
            else:
                res["jax_skipped"] = "jax run failed: " + pr.stderr.strip().splitlines()[-1][:200]
    else:
        res["jax_skipped"] = f"no JAX interpreter at {jax_py}"
    print(f"Scaffnew, {B} trajectories x {T} steps (n = {n}, d = {prob.dim}):")
    print(f"  theorybench  {t_tb:8.3f} s")
    print(f"  NumPy vect.  {t_np:8.3f} s   ({t_np / t_tb:.2f}x theorybench; max |dx| {res['numpy_max_abs_diff']:.2e})")
    if "jax_s" in res:
        print(f"  JAX          {res['jax_s']:8.3f} s   ({res['jax_over_theorybench']:.2f}x theorybench; first call "
              f"{res['jax_first_call_s']:.2f} s; max |dx| {res['jax_max_abs_diff']:.2e})")
    else:
        print(f"  JAX skipped: {res['jax_skipped']}")
    RESULTS.mkdir(exist_ok=True)
    from theorybench.atomic_io import atomic_write_text
    out = RESULTS / ("local_training_quick.json" if args.quick else "local_training.json")
    atomic_write_text(out, json.dumps(res, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
