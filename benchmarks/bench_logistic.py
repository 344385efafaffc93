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

Second work, ``--gd-sweep`` (the speed target of a plain GD sweep): one 2-D separable set of n = 64 points
(``logistic-random``, d = 2, n = 64, margin 0.1, ||x|| <= 1) x 256 stepsizes eta = 2^k, k evenly spaced in
[-2, 10], T = 10^4 GD steps on the mean logistic loss from w0 = 0, the final w and log F(w_T) kept (no
running statistic that needs the loss between records). Engines in one run, every one at the same thread
count (``--threads``, default 1; JAX/XLA limited to one intra-op thread when 1):
(0)  theorybench ``run_batch`` (``record=[T]``, ``checks=0``, ``running=0``: the statistics that need the
     loss between records are not computed), after one warm-up call;
(a)  a plain Numba ``prange`` loop written for this instance (scalar w, the gradient's stable sigmoid
     ``e = exp(-|a|)``, the loss only at the end); a second line: the same loop with theorybench's
     vectorisable ``exp`` over a margin buffer (what a hand-written loop gets from the same trick);
(b)  NumPy vectorised over the 256 configurations (arrays (B, n));
(c)  JAX ``jit(vmap(scan))`` float64 if importable.
Agreement: the largest |w_T| difference relative to max |w_T| between theorybench and each peer.
Run: ``python benchmarks/bench_logistic.py --gd-sweep [--quick] [--threads N]``; writes
``results/logistic_gd_sweep[_quick].json``.
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


GD_ETAS = tuple(float(v) for v in 2.0 ** np.linspace(-2.0, 10.0, 256))


def plain_numba():
    """The plain Numba prange loop of the GD sweep (d = 2, scalar state); returns run(X, etas, T) -> (W, logF)."""
    from numba import njit, prange

    @njit(parallel=True, cache=False)
    def run(x0, x1, etas, T, W, L):
        n = x0.shape[0]
        for c in prange(etas.shape[0]):
            eta = etas[c]
            w0 = 0.0
            w1 = 0.0
            for t in range(T):
                g0 = 0.0
                g1 = 0.0
                for i in range(n):
                    a = w0 * x0[i] + w1 * x1[i]
                    e = math.exp(-abs(a))
                    ph = e / (1.0 + e) if a >= 0.0 else 1.0 / (1.0 + e)
                    g0 -= ph / n * x0[i]
                    g1 -= ph / n * x1[i]
                w0 -= eta * g0
                w1 -= eta * g1
            s = 0.0
            for i in range(n):
                a = w0 * x0[i] + w1 * x1[i]
                s += (max(0.0, -a) + math.log1p(math.exp(-abs(a)))) / n
            W[c, 0] = w0
            W[c, 1] = w1
            L[c] = math.log(s)

    from theorybench.kernels.logistic import exp_neg_abs

    @njit(parallel=True, cache=False)
    def run_vexp(x0, x1, etas, T, W, L):
        n = x0.shape[0]
        for c in prange(etas.shape[0]):
            eta = etas[c]
            w0 = 0.0
            w1 = 0.0
            a = np.empty(n)
            e = np.empty(n)
            ib = np.empty(n, np.int64)
            fb = ib.view(np.float64)
            for t in range(T):
                for i in range(n):
                    a[i] = w0 * x0[i] + w1 * x1[i]
                exp_neg_abs(a, e, ib, fb, n)
                g0 = 0.0
                g1 = 0.0
                for i in range(n):
                    ph = (e[i] if a[i] >= 0.0 else 1.0) / (1.0 + e[i])
                    g0 -= ph / n * x0[i]
                    g1 -= ph / n * x1[i]
                w0 -= eta * g0
                w1 -= eta * g1
            s = 0.0
            for i in range(n):
                v = w0 * x0[i] + w1 * x1[i]
                s += (max(0.0, -v) + math.log1p(math.exp(-abs(v)))) / n
            W[c, 0] = w0
            W[c, 1] = w1
            L[c] = math.log(s)

    def call(Z, etas, T, vexp=False):
        e = np.asarray(etas, dtype=np.float64)
        W = np.empty((e.size, 2))
        L = np.empty(e.size)
        (run_vexp if vexp else run)(np.ascontiguousarray(Z[:, 0]), np.ascontiguousarray(Z[:, 1]), e, T, W, L)
        return W, L
    return call


def numpy_gd(Z, etas, T):
    """NumPy over the B configurations: (B, n) margins per step; returns (W, logF)."""
    e = np.asarray(etas, dtype=np.float64)
    n = Z.shape[0]
    W = np.zeros((e.size, Z.shape[1]))
    for _ in range(T):
        a = W @ Z.T                                   # (B, n)
        s = 0.5 * (1.0 - np.tanh(0.5 * a))            # sigma(-a), stable
        W = W + (e / n)[:, None] * (s @ Z)
    a = W @ Z.T
    return W, np.log(np.mean(np.maximum(0.0, -a) + np.log1p(np.exp(-np.abs(a))), axis=1))


def jax_gd():
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def one(Z, eta, T):
        n = Z.shape[0]

        def step(w, _):
            return w + (eta / n) * (jax.nn.sigmoid(-(Z @ w)) @ Z), None
        w, _ = jax.lax.scan(step, jnp.zeros(Z.shape[1]), None, length=T)
        a = Z @ w
        return w, jnp.log(jnp.mean(jnp.logaddexp(0.0, -a)))

    def run(Z, etas, T):
        f = jax.jit(jax.vmap(lambda e: one(jnp.asarray(Z), e, T)))
        W, L = f(jnp.asarray(np.asarray(etas)))
        return np.asarray(W), np.asarray(L)
    return run


def theorybench_gd(problem, etas, T, running=0):
    from theorybench import run_batch
    from theorybench.algorithms import get_algorithm
    alg = get_algorithm("logistic-gd")
    given = {"checks": 0}
    if any(q.name == "running" for q in alg.params):  # (absent before the specialised kernel)
        given["running"] = running
    S = [alg.resolve(dict(given, eta=e)) for e in etas]
    extra = {}
    rec, x, loss, g, st = run_batch(alg, [problem] * len(S), S, [0] * len(S), T, record=[T], extra=extra)
    return x[:, -1, :], extra["traces"]["log_loss"][:, -1]


def gd_sweep(args):
    import numba
    numba.set_num_threads(args.threads)
    import theorybench as tb  # noqa: F401
    from theorybench import make_problem
    T = 1000 if args.quick else 10**4
    reps = 5
    p = make_problem("logistic-random", d=2, n=64, gamma=0.1, data_seed=0, normalize="unit", exact_margin="no")
    Z = np.ascontiguousarray(p.Z[0])
    engines = {"theorybench": lambda: theorybench_gd(p, GD_ETAS, T),
               "theorybench_all_running_stats": lambda: theorybench_gd(p, GD_ETAS, T, running=1)}
    pl = plain_numba()
    engines["plain_numba_prange"] = lambda: pl(Z, GD_ETAS, T)
    engines["plain_numba_prange_vectorisable_exp"] = lambda: pl(Z, GD_ETAS, T, True)
    engines["numpy"] = lambda: numpy_gd(Z, GD_ETAS, T)
    jr = jax_gd()
    if jr is not None:
        engines["jax"] = lambda: jr(Z, GD_ETAS, T)
    times, all_times, outs = {}, {}, {}
    for name, fn in engines.items():
        fn()  # warm-up: compile / cache load
        times[name], all_times[name], outs[name] = timed(fn, reps)
        print(f"{name}: {times[name]:.3f} s", flush=True)
    W0 = outs["theorybench"][0]
    scale = np.max(np.abs(W0))
    agree = {k: float(np.max(np.abs(v[0] - W0)) / scale) for k, v in outs.items()}
    agree_loss = {k: float(np.max(np.abs(v[1] - outs["theorybench"][1]))) for k, v in outs.items()}
    ratios = {f"theorybench_over_{k}": times["theorybench"] / times[k] for k in times if k != "theorybench"}
    best = {k: min(v) for k, v in all_times.items()}
    ratios_best = {f"theorybench_over_{k}": best["theorybench"] / best[k] for k in best if k != "theorybench"}
    out = {"work": "GD sweep: 2-D separable set, n = 64, 256 etas 2^[-2, 10] x T steps, final w and log F",
           "T": T, "configs": len(GD_ETAS), "threads": args.threads, "times_s": times, "ratios": ratios,
           "all_times_s": all_times, "ratios_of_best_times": ratios_best, "repeats": reps,
           "max_rel_w_diff_vs_theorybench": agree, "max_abs_logF_diff_vs_theorybench": agree_loss,
           "ns_per_point_step_theorybench": times["theorybench"] * 1e9 * args.threads / (len(GD_ETAS) * T * 64),
           "jax": None if jr is None else __import__("jax").__version__,
           "machine": machine_info(), "load_average": os.getloadavg()}
    RESULTS.mkdir(exist_ok=True)
    suffix = ("_quick" if args.quick else "") + (f"_{args.threads}threads" if args.threads != 1 else "")
    path = RESULTS / f"logistic_gd_sweep{suffix}.json"
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(path, json.dumps(out, indent=1))
    print(json.dumps({"ratios": ratios, "ratios_of_best_times": ratios_best, "agree_w": agree,
                      "agree_logF": agree_loss}, indent=1))
    print(f"wrote {path}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--gd-sweep", action="store_true", help="the 2-D, n = 64, 256-stepsize GD sweep")
    ap.add_argument("--threads", type=int, default=1, help="threads of every engine (--gd-sweep)")
    args = ap.parse_args()
    if args.gd_sweep:
        if args.threads == 1:  # XLA's CPU client reads its flags at import
            os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
        return gd_sweep(args)
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
