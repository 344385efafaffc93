"""Performance benchmark: the CL Fig. 2(a) sweep (transition time vs stepsize over random separable sets).

Work (claim LR-8; Crawshaw, Liu, COLT 2026, Fig. 2(a)): for each dimension d, ``sets`` random data sets (n = d points,
``<x_i, e1> = 0.1``, orthogonal part uniform in the ball, ``problems.logistic_data.random_points``,
normalised to ||x|| <= 1) x 8 stepsizes eta in {4, ..., 512}; GD on the mean logistic loss from w0 = 0 for
T steps. Every engine does the same work per step: the margins ``a = Z w``, the loss in the log domain
(``log F = logsumexp(log ell(a_i)) - log n``, ``log ell`` from logaddexp), the running statistic
``tau_{2/eta}`` (first t with F(w_t) <= 2/eta), and the step ``w <- w + (eta/n) Z^T sigma(-a)``.

Engines, measured in one run:
(0)  theorybench: the logistic kernel through ``theorybench.run_batch`` (Numba ``prange`` over
     configurations), fixed T steps (no early stop), ``checks = 0`` (the same statistics as the peers),
     timed after one warm-up call. Separate lines: with every per-step invariant check on (``checks = 1``,
     more work) and with the early stop at tau_{2/eta} (``stop_below = 2``) that LR-8 uses (less work).
(b)  NumPy vectorised over the batch (arrays (B, n, d); Python loop over steps only).
(c)  JAX ``jit(vmap(scan))``, float64, CPU, if ``import jax`` succeeds (a benchmark-only extra, never
     installed by the tests); skipped otherwise.

Sanity check: tau_{2/eta} agrees between engines on every configuration (reported as a fraction).

Run: ``python benchmarks/bench_logistic.py [--quick]``; writes ``benchmarks/results/logistic_fig2a.json``
(``--quick``: ``logistic_fig2a_quick.json``).
"""
import argparse
import json
import math
import os
import sys
from pathlib import Path

import numpy as np

from _common import machine_info, timed  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results"
ETAS = tuple(2.0**k for k in range(2, 10))


def theorybench_run(problems, etas, T, stop, checks=0):
    from theorybench import run_batch
    from theorybench.algorithms import get_algorithm
    alg = get_algorithm("logistic-gd")
    P, S = [], []
    for p in problems:
        for e in etas:
            P.append(p)
            S.append(alg.resolve({"eta": e, "stop_below": 2.0 if stop else 0.0, "checks": checks}))
    extra = {}
    rec, x, loss, g, st = run_batch(alg, P, S, [0] * len(P), T, record=[0], extra=extra)
    return st[:, extra["stat_names"].index("tau_2_eta")]


def numpy_run(Z, etas, T):
    """Z: (S, n, d) -> tau_{2/eta} (S * len(etas),), configurations in (set, eta) order."""
    S, n, d = Z.shape
    E = len(etas)
    Zb = np.repeat(Z, E, axis=0)                     # (B, n, d)
    eta = np.tile(np.asarray(etas), S)               # (B,)
    B = Zb.shape[0]
    w = np.zeros((B, d))
    tau = np.full(B, -1.0)
    l2 = np.log(2.0 / eta)
    logn = math.log(n)
    for t in range(T + 1):
        a = np.einsum("bnd,bd->bn", Zb, w)
        le = np.where(a < 18.4, np.log(np.logaddexp(0.0, -np.minimum(a, 18.4))), -a - 0.5 * np.exp(-np.maximum(a, 18.4)))
        m = le.max(axis=1)
        logF = m + np.log(np.exp(le - m[:, None]).sum(axis=1)) - logn
        hit = (tau < 0) & (logF <= l2)
        tau[hit] = t
        if t == T:
            break
        s = 0.5 * (1.0 - np.tanh(0.5 * a))  # sigma(-a), stable
        w = w + (eta / n)[:, None] * np.einsum("bn,bnd->bd", s, Zb)
    return tau


def jax_engine():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def one(Z, eta, T):
        n = Z.shape[0]
        l2 = jnp.log(2.0 / eta)

        def step(carry, t):
            w, tau = carry
            a = Z @ w
            le = jnp.where(a < 18.4, jnp.log(jnp.logaddexp(0.0, -jnp.minimum(a, 18.4))),
                           -a - 0.5 * jnp.exp(-jnp.maximum(a, 18.4)))
            logF = jax.scipy.special.logsumexp(le) - jnp.log(n)
            tau = jnp.where((tau < 0) & (logF <= l2), t, tau)
            w = w + (eta / n) * (jax.nn.sigmoid(-a) @ Z)
            return (w, tau), None
        (w, tau), _ = jax.lax.scan(step, (jnp.zeros(Z.shape[1]), -1.0), jnp.arange(T + 1, dtype=jnp.float64))
        return tau

    def run(Z, etas, T):
        S = Z.shape[0]
        Zb = jnp.asarray(np.repeat(Z, len(etas), axis=0))
        eb = jnp.asarray(np.tile(np.asarray(etas), S))
        f = jax.jit(jax.vmap(lambda z, e: one(z, e, T)))
        return np.asarray(f(Zb, eb))
    return run


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    if args.quick:
        dims, sets, T, reps = (2, 4, 8, 16), 64, 256, 1
    else:
        dims, sets, T, reps = (2, 4, 8, 16, 32, 64), 512, 256, 3
    import theorybench as tb  # noqa: F401
    from theorybench import make_problem
    jrun = jax_engine()
    rows = []
    tot = {"theorybench": 0.0, "theorybench_early_stop": 0.0, "numpy": 0.0, "jax": 0.0 if jrun else None}
    for d in dims:
        probs = [make_problem("logistic-random", d=d, n=0, gamma=0.1, data_seed=s, normalize="unit",
                              exact_margin="no") for s in range(sets)]
        Z = np.stack([p.Z[0] for p in probs])
        theorybench_run(probs[:2], ETAS, 4, False)  # warm-up (compile / cache load)
        t_tb, _, tau_tb = timed(lambda: theorybench_run(probs, ETAS, T, False), reps)
        t_tbs, _, tau_tbs = timed(lambda: theorybench_run(probs, ETAS, T, True), reps)
        t_tbc, _, tau_tbc = timed(lambda: theorybench_run(probs, ETAS, T, False, 1), reps)
        t_np, _, tau_np = timed(lambda: numpy_run(Z, ETAS, T), reps)
        row = {"d": d, "sets": sets, "configs": sets * len(ETAS), "T": T, "theorybench_s": t_tb,
               "theorybench_early_stop_s": t_tbs, "theorybench_all_checks_s": t_tbc, "numpy_s": t_np,
               "tau_agree_numpy": float(np.mean(tau_tb == tau_np)), "tau_agree_early_stop": float(np.mean(tau_tb == tau_tbs)),
               "worst_tau": [float(v) for v in tau_tb.reshape(sets, len(ETAS)).max(axis=0)]}
        if jrun:
            jrun(Z[:2], ETAS, T)
            t_j, _, tau_j = timed(lambda: jrun(Z, ETAS, T), reps)
            row["jax_s"] = t_j
            row["tau_agree_jax"] = float(np.mean(tau_tb == tau_j))
            tot["jax"] += t_j
        tot["theorybench"] += t_tb
        tot["theorybench_early_stop"] += t_tbs
        tot["numpy"] += t_np
        rows.append(row)
        print(f"d={d:>3}: theorybench {t_tb:.3f} s (all checks {t_tbc:.3f} s, early stop {t_tbs:.3f} s), numpy {t_np:.3f} s "
              f"({t_np / t_tb:.1f}x)" + (f", jax {row['jax_s']:.3f} s ({row['jax_s'] / t_tb:.1f}x)" if jrun else "")
              + f"; tau agreement {row['tau_agree_numpy']:.4f}", flush=True)
    out = {"work": "CL Fig. 2(a): random sets x 8 etas (4..512) per d, GD T steps, log-domain loss, tau_{2/eta}",
           "dims": list(dims), "rows": rows, "totals_s": tot,
           "ratio_numpy_over_theorybench": tot["numpy"] / tot["theorybench"],
           "ratio_jax_over_theorybench": (tot["jax"] / tot["theorybench"]) if jrun else None,
           "jax": "not importable: skipped (not a dependency; install the 'bench' extra to include it)" if not jrun else "jit(vmap(scan)), float64, CPU",
           "machine": machine_info(), "numba_threads_env": os.environ.get("NUMBA_NUM_THREADS")}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("logistic_fig2a_quick.json" if args.quick else "logistic_fig2a.json")
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(path, json.dumps(out, indent=1))
    print(f"totals: {tot}; numpy/theorybench = {out['ratio_numpy_over_theorybench']:.2f}x; wrote {path}")


if __name__ == "__main__":
    main()
