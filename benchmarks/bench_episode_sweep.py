"""Performance benchmark: a CELGC / EPISODE hyperparameter sweep on the EPISODE quartic.

Work (Crawshaw, Bao, Liu, ICLR 2023, synthetic experiment): the EPISODE quartic, N = 2 clients,
``f_i(x) = x^4 - 3x^3 - H h_i x^2 + x``, ``h = (-1, 2)``, H = 4, x0 = 1, stochastic gradients ``f_i'(x) + z`` with ``z ~ U(-sigma, sigma)``,
sigma = 1; step clipping (``x <- x - min(eta, gamma/|g|) g``). Both CELGC (``local-clip``) and EPISODE
(``episode``) are swept over eta x gamma x I x seeds for R = 500 rounds.

Implementations compared on the same work:

(0)  theorybench: ``theorybench.sweep`` (one Numba ``prange`` kernel), timed after one warm-up call.
(a)  a plain Python loop with NumPy per step, the way a researcher writes the pseudocode: the iterate is
     a NumPy array, ``grad = 4x^3 - 9x^2 - 2 H h_i x + 1`` in NumPy, ``np.linalg.norm`` for the clip
     test, noise from ``np.random.default_rng(seed).uniform(-sigma, sigma)``. Timed on a subset (all
     configurations, the first few seeds) and extrapolated linearly to all seeds.
(a') the same loop hand-tuned for d = 1 (Python floats, ``abs``, ``gamma * sign(g)``), a faster and so
     more demanding baseline; also timed on a subset and extrapolated.
(b)  NumPy vectorised over all configurations x seeds (arrays of shape (N, n_cfg * seeds); Python loops
     over rounds and local steps only; ``np.where`` for clipping and for the shorter local loops).
(c)  JAX ``jit(vmap(scan))`` if ``import jax`` succeeds (not a dependency; skipped otherwise).
(d)  a hand-written Numba ``prange`` kernel for this one instance (scalar iterate, coefficients inline),
     drawing theorybench's counter-based noise, so its results equal theorybench's up to rounding: a
     measure of what the generic kernel leaves on the table, and a bitwise-level correctness check.

Sanity check: the mean over seeds of the final |f'(x_R)| per configuration must agree between
theorybench and (b) (and (a) on its subset) within sampling noise: the RNGs differ, so the comparison
is a two-sample z-score per configuration, not bitwise.

Per local step (issue 10), CELGC only, every engine at the same Numba thread count: ns per local step per
trajectory (wall time / sum over trajectories of R x N x I) for theorybench's composed kernel through
``theorybench.sweep`` (all running statistics every round, the default sparse record), the composed kernel
asked for the cheap statistics only (record rounds 0 and R), the generic ``federated`` kernel (the same sweep
with the routing of ``local-clip`` to its composed kernel switched off), the hand-written kernel (d), NumPy
vectorised (b) and JAX (c) if importable; then the same at widths 10 to 10^5 configurations (R = 100).
``--per-step-only`` runs just that part (writes ``episode_sweep_per_step[_quick].json``).

Run: ``python benchmarks/bench_episode_sweep.py [--quick]``. Writes ``benchmarks/results/episode_sweep.json``
and ``benchmarks/results/episode_sweep.png`` (``--quick`` writes ``episode_sweep_quick.*``).
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from _common import machine_info, timed  # noqa: E402  (scripts run from benchmarks/)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

ALGOS = ("local-clip", "episode")
H_CLIENTS = np.array([-1.0, 2.0])  # h_i
X0 = 1.0
SIGMA = 1.0


def fprime_global(x, H):
    """f'(x) for f = mean_i f_i = x^4 - 3x^3 - (H/2) x^2 + x."""
    return 4.0 * x**3 - 9.0 * x**2 - H * x + 1.0


# --------------------------------------------------------------------------------------------------
# (a) plain Python loop, NumPy per step
# --------------------------------------------------------------------------------------------------
def loop_numpy(algo, eta, gamma, I, seed, H, R):
    """One trajectory, written from the pseudocode. Returns |f'(x_R)|."""
    rng = np.random.default_rng(seed)
    N = len(H_CLIENTS)
    x = np.array([X0])

    def grad(y, i):
        return 4.0 * y**3 - 9.0 * y**2 - 2.0 * H * H_CLIENTS[i] * y + 1.0

    for r in range(R):
        if algo == "episode":
            Gi = [grad(x, i) + rng.uniform(-SIGMA, SIGMA, size=x.shape) for i in range(N)]
            G = sum(Gi) / N
            clip = np.linalg.norm(G) > gamma / eta
        ys = []
        for i in range(N):
            y = x.copy()
            for k in range(I):
                g = grad(y, i) + rng.uniform(-SIGMA, SIGMA, size=y.shape)
                if algo == "episode":
                    d = g - Gi[i] + G
                    c = clip
                else:
                    d = g
                    c = np.linalg.norm(d) > gamma / eta
                if c:
                    n = np.linalg.norm(d)
                    if n > 0:
                        y = y - gamma * d / n
                else:
                    y = y - eta * d
            ys.append(y)
        x = sum(ys) / N
    return float(np.abs(fprime_global(x[0], H)))


def loop_scalar(algo, eta, gamma, I, seed, H, R):
    """(a') the same loop hand-tuned for d = 1: Python floats, scalar noise draws."""
    rng = np.random.default_rng(seed)
    uni = rng.uniform
    thr = gamma / eta
    c0, c1 = -2.0 * H * H_CLIENTS[0], -2.0 * H * H_CLIENTS[1]
    coef = (float(c0), float(c1))
    x = X0
    for r in range(R):
        if algo == "episode":
            G0 = 4.0 * x**3 - 9.0 * x**2 + coef[0] * x + 1.0 + uni(-SIGMA, SIGMA)
            G1 = 4.0 * x**3 - 9.0 * x**2 + coef[1] * x + 1.0 + uni(-SIGMA, SIGMA)
            Gi = (G0, G1)
            G = 0.5 * (G0 + G1)
            clip = abs(G) > thr
        acc = 0.0
        for i in range(2):
            y = x
            a = coef[i]
            for k in range(I):
                g = 4.0 * y**3 - 9.0 * y**2 + a * y + 1.0 + uni(-SIGMA, SIGMA)
                if algo == "episode":
                    g = g - Gi[i] + G
                    c = clip
                else:
                    c = abs(g) > thr
                if c:
                    y -= gamma * np.sign(g)
                else:
                    y -= eta * g
            acc += y
        x = acc / 2
    return abs(fprime_global(x, H))


def time_loop(fn, algo, configs, n_seeds, H, R, budget_s, progress):
    """Run ``fn`` on every configuration for seeds 0, 1, ... until ``budget_s`` is spent (at least one
    seed); return (seconds spent, seeds done, final |f'| array of shape (n_cfg, seeds_done))."""
    out = []
    t0 = time.perf_counter()
    s = 0
    while s < n_seeds:
        out.append([fn(algo, e, g, I, s, H, R) for (e, g, I) in configs])
        s += 1
        el = time.perf_counter() - t0
        if progress:
            print(f"      {fn.__name__}/{algo}: seed {s} done, {el:.1f} s", flush=True)
        if el >= budget_s:
            break
    return time.perf_counter() - t0, s, np.array(out).T


# --------------------------------------------------------------------------------------------------
# (b) NumPy vectorised over configurations x seeds
# --------------------------------------------------------------------------------------------------
def vectorised_numpy(algo, eta, gamma, I, H, R, seed=12345):
    """All trajectories at once: ``eta, gamma, I`` have shape (n,). Returns |f'(x_R)|, shape (n,)."""
    rng = np.random.default_rng(seed)
    n = eta.shape[0]
    N = len(H_CLIENTS)
    lin = (-2.0 * H * H_CLIENTS)[:, None]  # (N, 1)
    thr = gamma / eta
    Imax = int(I.max())
    x = np.full(n, X0)
    with np.errstate(over="ignore", invalid="ignore"):
        for r in range(R):
            if algo == "episode":
                Gi = 4.0 * x**3 - 9.0 * x**2 + lin * x + 1.0 + rng.uniform(-SIGMA, SIGMA, (N, n))
                G = Gi.mean(axis=0)
                clip = np.abs(G) > thr
                corr = G - Gi
            y = np.broadcast_to(x, (N, n)).copy()
            for k in range(Imax):
                g = 4.0 * y**3 - 9.0 * y**2 + lin * y + 1.0 + rng.uniform(-SIGMA, SIGMA, (N, n))
                if algo == "episode":
                    g += corr
                    c = clip
                else:
                    c = np.abs(g) > thr
                step = np.where(c, gamma * np.sign(g), eta * g)
                y = np.where(k < I, y - step, y)
            x = y.mean(axis=0)
        return np.abs(fprime_global(x, H))


# --------------------------------------------------------------------------------------------------
# (d) a hand-written Numba kernel for this one instance (what the generic kernel could approach)
# --------------------------------------------------------------------------------------------------
def make_numba_special():
    """A ``prange`` kernel specialised to the EPISODE quartic (scalar iterate, coefficients inline),
    using theorybench's counter-based noise with the same stream/counter convention, so its draws are
    theorybench's. Built on first use (``cache=True``: compiled once per machine)."""
    from numba import njit, prange
    from theorybench.rng import NOISE_UNIFORM, noise

    @njit(cache=True, parallel=True)
    def special(episode, H, eta, gamma, I, seeds, R, out):
        for c in prange(eta.shape[0]):
            e = eta[c]
            gm = gamma[c]
            thr = gm / e
            s = seeds[c]
            steps = I[c]
            x = 1.0
            cnt0 = 0
            cnt1 = 0
            a0 = 2.0 * H    # -2 H h_1, h_1 = -1
            a1 = -4.0 * H   # -2 H h_2, h_2 = 2
            for r in range(R):
                G0 = 0.0
                G1 = 0.0
                G = 0.0
                clip = False
                if episode:
                    G0 = ((4.0 * x - 9.0) * x + a0) * x + 1.0 + noise(NOISE_UNIFORM, SIGMA, s, 0, cnt0)
                    G1 = ((4.0 * x - 9.0) * x + a1) * x + 1.0 + noise(NOISE_UNIFORM, SIGMA, s, 1, cnt1)
                    cnt0 += 1
                    cnt1 += 1
                    G = 0.5 * (G0 + G1)
                    clip = abs(G) > thr
                acc = 0.0
                for i in range(2):
                    y = x
                    a = a0 if i == 0 else a1
                    Gi = G0 if i == 0 else G1
                    for k in range(steps):
                        if i == 0:
                            z = noise(NOISE_UNIFORM, SIGMA, s, 0, cnt0)
                            cnt0 += 1
                        else:
                            z = noise(NOISE_UNIFORM, SIGMA, s, 1, cnt1)
                            cnt1 += 1
                        g = ((4.0 * y - 9.0) * y + a) * y + 1.0 + z
                        if episode:
                            g = g - Gi + G
                            cl = clip
                        else:
                            cl = abs(g) > thr
                        if cl:
                            if g > 0.0:
                                y -= gm
                            elif g < 0.0:
                                y += gm
                        else:
                            y -= e * g
                    acc += y
                x = acc / 2.0
            out[c] = abs(((4.0 * x - 9.0) * x - H) * x + 1.0)

    def call(algo, eta, gamma, I, seeds, H, R):
        out = np.empty(eta.shape[0])
        special(algo == "episode", float(H), eta, gamma, I, seeds.astype(np.int64), R, out)
        return out

    return call


# --------------------------------------------------------------------------------------------------
# (c) JAX jit(vmap(scan)), optional
# --------------------------------------------------------------------------------------------------
def make_jax(algo, H, R, Imax):
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)
    lin = jnp.asarray(-2.0 * H * H_CLIENTS)
    N = len(H_CLIENTS)

    def traj(eta, gamma, I, key):
        thr = gamma / eta

        def one_round(x, key_r):
            k1, k2 = jax.random.split(key_r)
            Gi = 4.0 * x**3 - 9.0 * x**2 + lin * x + 1.0 + jax.random.uniform(
                k1, (N,), minval=-SIGMA, maxval=SIGMA, dtype=jnp.float64)
            G = jnp.mean(Gi)
            z = jax.random.uniform(k2, (Imax, N), minval=-SIGMA, maxval=SIGMA, dtype=jnp.float64)

            def local(y, inp):
                k, zk = inp
                g = 4.0 * y**3 - 9.0 * y**2 + lin * y + 1.0 + zk
                if algo == "episode":
                    g = g - Gi + G
                    c = jnp.abs(G) > thr
                else:
                    c = jnp.abs(g) > thr
                step = jnp.where(c, gamma * jnp.sign(g), eta * g)
                return jnp.where(k < I, y - step, y), None

            y, _ = jax.lax.scan(local, jnp.full((N,), x), (jnp.arange(Imax), z))
            return jnp.mean(y), None

        x, _ = jax.lax.scan(one_round, jnp.asarray(X0, dtype=jnp.float64), jax.random.split(key, R))
        return jnp.abs(4.0 * x**3 - 9.0 * x**2 - H * x + 1.0)

    fn = jax.jit(jax.vmap(traj))

    def call(eta, gamma, I, seeds):
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds))
        out = fn(jnp.asarray(eta), jnp.asarray(gamma), jnp.asarray(I), keys)
        return np.asarray(out.block_until_ready())

    return call


# --------------------------------------------------------------------------------------------------
# ns per local step, CELGC: composed vs generic vs hand-written vs NumPy vs JAX (issue 10)
# --------------------------------------------------------------------------------------------------
CHEAP = ("diverged_round", "clipped_fraction", "max_abs_x")


def _celgc_batch(tb, H, eta_v, gamma_v, I_v, seed_v):
    """The configurations as ``run_batch`` takes them (one problem object shared)."""
    p = tb.make_problem("episode-quartic", H=H)
    alg = tb.get_algorithm("local-clip")
    settings = [alg.resolve({"eta": float(e), "gamma": float(g), "local_steps": int(i)})
                for e, g, i in zip(eta_v, gamma_v, I_v)]
    return alg, [p] * len(settings), settings, [int(s) for s in seed_v]


def per_step(H, R, grid, n_seeds, repeats, widths, log):
    """ns per local step per trajectory for CELGC on the EPISODE quartic, each engine on the same work."""
    import numba
    import theorybench as tb
    from theorybench import compose, declare

    threads = numba.get_num_threads()
    configs = [(e, g, I) for e in grid["eta"] for g in grid["gamma"] for I in grid["local_steps"]]
    cfg = np.array(configs)
    eta_v, gamma_v = np.repeat(cfg[:, 0], n_seeds), np.repeat(cfg[:, 1], n_seeds)
    I_v = np.repeat(cfg[:, 2], n_seeds).astype(np.int64)
    seed_v = np.tile(np.arange(n_seeds), len(configs))
    N = len(H_CLIENTS)
    local_steps = float(R * N * I_v.sum())
    alg, probs, settings, seeds = _celgc_batch(tb, H, eta_v, gamma_v, I_v, seed_v)
    rec_ends = np.array([0, R], dtype=np.int64)
    x0s = [p.x0 for p in probs]

    def sweep_tb():
        return tb.sweep("episode-quartic", "local-clip", grid=grid, problem_settings={"H": H}, seeds=n_seeds,
                        rounds=R)

    def composed_cheap():
        return compose.run_batch_group(alg, probs, settings, seeds, R, rec_ends, x0s, None, "numba", {},
                                       stats=CHEAP)

    def composed_all():
        return compose.run_batch_group(alg, probs, settings, seeds, R, rec_ends, x0s, None, "numba", {})

    def generic_sweep():
        saved = declare.ROUTED.pop("local-clip")
        try:
            return sweep_tb()
        finally:
            declare.ROUTED["local-clip"] = saved

    plan_all = compose.plan_batch(alg, probs, settings, seeds, R, rec_ends, x0s, None)
    plan_cheap = compose.plan_batch(alg, probs, settings, seeds, R, rec_ends, x0s, None, stats=CHEAP)

    def kernel_only(plan):
        return lambda: [m.batch(*a) for m, a, _ in plan]

    call_d = make_numba_special()
    engines = {
        "composed_sweep": ("theorybench.sweep, composed kernel (all statistics, sparse record)", sweep_tb),
        "composed_kernel_all": ("composed kernel, all statistics, record 0 and R", composed_all),
        "composed_kernel_cheap": ("composed kernel, cheap statistics, record 0 and R", composed_cheap),
        "kernel_only_all": ("  its batch call alone (planned once), all statistics", kernel_only(plan_all)),
        "kernel_only_cheap": ("  its batch call alone (planned once), cheap statistics", kernel_only(plan_cheap)),
        "generic_sweep": ("theorybench.sweep, generic federated kernel (before issue 10)", generic_sweep),
        "hand_numba": ("hand-written Numba kernel (d)",
                       lambda: call_d("local-clip", eta_v, gamma_v, I_v, seed_v, H, R)),
        "numpy_vectorised": ("NumPy vectorised (b), 1 thread",
                             lambda: vectorised_numpy("local-clip", eta_v, gamma_v, I_v, H, R)),
    }
    first = {}
    try:
        import jax  # noqa: F401
        call_c = make_jax("local-clip", H, R, int(I_v.max()))
        engines["jax"] = (f"JAX {jax.__version__} jit(vmap(scan))", lambda: call_c(eta_v, gamma_v, I_v, seed_v))
    except Exception as exc:  # optional peer
        log(f"  JAX skipped: {exc!r}")
    for k, (lab, fn) in engines.items():
        t = time.perf_counter()
        fn()
        first[k] = time.perf_counter() - t
    # bit-identity of the composed sweep and the generic kernel (trace and statistics)
    a, b = sweep_tb(), generic_sweep()
    same = (all(np.array_equal(getattr(a, f), getattr(b, f), equal_nan=True) for f in ("x", "loss", "grad_norm"))
            and all(np.array_equal(a.stats[k], b.stats[k], equal_nan=True) for k in a.stats))
    d_diff = float(np.nanmax(np.abs(call_d("local-clip", eta_v, gamma_v, I_v, seed_v, H, R)
                                    - a.grad_norm[..., -1].reshape(-1))))
    samples = {k: [] for k in engines}
    for _ in range(repeats):  # round robin: the machine is shared
        for k, (_, fn) in engines.items():
            t = time.perf_counter()
            fn()
            samples[k].append(time.perf_counter() - t)
    import statistics
    out = {}
    log(f"\nCELGC, EPISODE quartic H={H:g}: {eta_v.size} trajectories x R={R}, {local_steps:.3g} local steps per "
        f"call, {threads} Numba threads; median of {repeats} (round robin)")
    log(f"  {'engine':<66}{'ns/step':>9}{'vs hand':>9}{'first call s':>14}")
    hand = statistics.median(samples["hand_numba"])
    for k, (lab, _) in engines.items():
        m = statistics.median(samples[k])
        out[k] = {"label": lab, "median_s": m, "samples_s": samples[k], "ns_per_local_step": m / local_steps * 1e9,
                  "ratio_vs_hand": m / hand, "first_call_s": first[k]}
        log(f"  {lab:<66}{out[k]['ns_per_local_step']:9.2f}{out[k]['ratio_vs_hand']:8.2f}x{first[k]:14.2f}")
    log(f"  composed sweep bit-identical to the generic kernel (x, f, |f'|, all statistics): {same}; "
        f"hand-written vs composed final |f'|: max |diff| {d_diff:.2e}")
    width_rows = []
    if widths:
        Rw = 100
        log(f"\nWidths (R = {Rw}, I = 8, eta = 0.01, gamma = 0.05, seeds vary): ns per local step")
        for w in widths:
            e = np.full(w, 0.01)
            g = np.full(w, 0.05)
            I = np.full(w, 8, dtype=np.int64)
            sd = np.arange(w)
            alg_w, probs_w, set_w, seeds_w = _celgc_batch(tb, H, e, g, I, sd)
            recw = np.array([0, Rw], dtype=np.int64)
            x0w = [p.x0 for p in probs_w]
            steps_w = float(Rw * N * I.sum())
            plan_w = compose.plan_batch(alg_w, probs_w, set_w, seeds_w, Rw, recw, x0w, None, stats=CHEAP)
            fns = {"composed_kernel_cheap": lambda: compose.run_batch_group(alg_w, probs_w, set_w, seeds_w, Rw, recw,
                                                                            x0w, None, "numba", {}, stats=CHEAP),
                   "kernel_only_cheap": kernel_only(plan_w),
                   "composed_sweep": lambda: tb.sweep("episode-quartic", "local-clip", problem_settings={"H": H},
                                                      seeds=w, rounds=Rw, eta=0.01, gamma=0.05, local_steps=8),
                   "numpy_vectorised": lambda: vectorised_numpy("local-clip", e, g, I, H, Rw)}
            if "jax" in engines:
                cj = make_jax("local-clip", H, Rw, 8)
                cj(e, g, I, sd)
                fns["jax"] = lambda: cj(e, g, I, sd)
            row = {"width": w}
            for k, fn in fns.items():
                fn()
                m, _, _ = timed(fn, 3 if w <= 10**4 else 1)
                row[k] = m / steps_w * 1e9
            width_rows.append(row)
            log("  " + f"{w:>7}: " + ", ".join(f"{k} {v:.2f}" for k, v in row.items() if k != "width"))
    return {"engines": out, "bit_identical_composed_vs_generic": same, "hand_vs_composed_max_abs_diff": d_diff,
            "trajectories": int(eta_v.size), "rounds": R, "local_steps_per_call": local_steps, "threads": threads,
            "widths": width_rows}


# --------------------------------------------------------------------------------------------------
def z_scores(a, b):
    """Per-configuration two-sample z of the means over the last axis (seeds), finite runs only.
    ``a`` is the reference (theorybench, all seeds); ``b`` may hold fewer seeds (the loops' subset)."""
    za = []
    for ra, rb in zip(a, b):
        ra, rb = ra[np.isfinite(ra)], rb[np.isfinite(rb)]
        if ra.size < 2 or rb.size < 1:
            continue
        va = ra.var(ddof=1)
        vb = rb.var(ddof=1) if rb.size >= 2 else va  # one run on the b side: borrow a's spread
        se = np.sqrt(va / ra.size + vb / rb.size)
        diff = abs(ra.mean() - rb.mean())
        # configurations stuck at a deterministic point (clipped steps that cancel) agree only up to
        # rounding (different but equivalent evaluation orders of f'): a difference that small is 0
        if diff <= 1e-9 * max(1.0, abs(ra.mean())):
            diff = 0.0
        za.append(0.0 if diff == 0 else (diff / se if se > 0 else np.inf))
    return np.array(za)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="8 seeds, short loop budget (< ~30 s)")
    ap.add_argument("--H", type=float, default=4.0, help="heterogeneity knob H (default 4)")
    ap.add_argument("--rounds", type=int, default=500, help="communication rounds R (default 500)")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 64, quick 8)")
    ap.add_argument("--loop-budget", type=float, default=None,
                    help="seconds per (loop variant, algorithm) for the Python loops (default 5, quick 1)")
    ap.add_argument("--per-step-only", action="store_true",
                    help="only the CELGC ns-per-local-step comparison (composed, generic, hand-written, NumPy, JAX)")
    ap.add_argument("--widths", default=None,
                    help="comma-separated widths for the per-step scan (default 10,100,1000,10000,100000; quick: "
                         "10,1000,10000; 'none' to skip)")
    args = ap.parse_args(argv)

    import numba
    import theorybench as tb

    if args.widths is None:
        widths = [10, 1000, 10000] if args.quick else [10, 100, 1000, 10000, 100000]
    else:
        widths = [] if args.widths == "none" else [int(w) for w in args.widths.split(",")]
    if args.per_step_only:
        n_seeds_ps = args.seeds or (8 if args.quick else 64)
        grid_ps = {"eta": [0.005, 0.01, 0.02], "gamma": [0.025, 0.05, 0.1], "local_steps": [2, 4, 8]}
        ps = per_step(args.H, args.rounds, grid_ps, n_seeds_ps, 3 if args.quick else 5, widths,
                      lambda m: print(m, flush=True))
        RESULTS.mkdir(parents=True, exist_ok=True)
        from theorybench.atomic_io import atomic_write_text
        stem = "episode_sweep_per_step_quick" if args.quick else "episode_sweep_per_step"
        atomic_write_text(RESULTS / f"{stem}.json", json.dumps({"benchmark": "episode_sweep_per_step",
                                                                "quick": args.quick, "H": args.H, "per_step": ps,
                                                                "machine": machine_info()}, indent=2, default=float))
        print(f"wrote {RESULTS / (stem + '.json')}")
        return 0

    H, R = args.H, args.rounds
    n_seeds = args.seeds or (8 if args.quick else 64)
    budget = args.loop_budget if args.loop_budget is not None else (1.0 if args.quick else 5.0)
    grid = {"eta": [0.005, 0.01, 0.02], "gamma": [0.025, 0.05, 0.1], "local_steps": [2, 4, 8]}
    configs = [(e, g, I) for e in grid["eta"] for g in grid["gamma"] for I in grid["local_steps"]]
    n_cfg = len(configs)
    n_traj = n_cfg * n_seeds  # per algorithm
    repeats = 3
    threads = numba.get_num_threads()
    print(f"EPISODE quartic (H={H:g}, sigma={SIGMA:g}, x0={X0:g}), R={R} rounds, step clipping; "
          f"{n_cfg} configurations x {n_seeds} seeds x {len(ALGOS)} algorithms = {n_traj * len(ALGOS)} "
          f"trajectories; numba threads = {threads}", flush=True)

    # per-trajectory arrays in theorybench's order: product(eta, gamma, I, seed)
    cfg = np.array(configs)
    eta_v = np.repeat(cfg[:, 0], n_seeds)
    gamma_v = np.repeat(cfg[:, 1], n_seeds)
    I_v = np.repeat(cfg[:, 2], n_seeds).astype(np.int64)
    seed_v = np.tile(np.arange(n_seeds), n_cfg)

    res = {}
    finals = {}

    # (0) theorybench
    print("[0] theorybench.sweep: warm-up ...", flush=True)
    t = time.perf_counter()
    for algo in ALGOS:
        tb.sweep("episode-quartic", algo, grid=grid, problem_settings={"H": H}, seeds=n_seeds, rounds=R)
    warm = time.perf_counter() - t
    per = {}
    for algo in ALGOS:
        med, ts, sw = timed(lambda: tb.sweep("episode-quartic", algo, grid=grid, problem_settings={"H": H},
                                             seeds=n_seeds, rounds=R), repeats)
        per[algo] = med
        finals[("tb", algo)] = sw.grad_norm[..., -1].reshape(n_cfg, n_seeds)
    res["theorybench"] = {"per_algorithm_s": per, "total_s": sum(per.values()), "measured": "median of 3",
                          "warmup_s": warm, "threads": threads}
    print(f"    warm-up (JIT cache load + first run) {warm:.2f} s; timed {sum(per.values()):.3f} s", flush=True)

    # (b) NumPy vectorised
    print("[b] NumPy vectorised ...", flush=True)
    per = {}
    for algo in ALGOS:
        med, ts, out = timed(lambda: vectorised_numpy(algo, eta_v, gamma_v, I_v, H, R), repeats)
        per[algo] = med
        finals[("b", algo)] = out.reshape(n_cfg, n_seeds)
    res["numpy_vectorised"] = {"per_algorithm_s": per, "total_s": sum(per.values()), "measured": "median of 3",
                               "threads": 1}
    print(f"    {sum(per.values()):.3f} s", flush=True)

    # (a) and (a') plain loops, subset + linear extrapolation
    for key, fn, label in (("python_loop_numpy", loop_numpy, "[a] Python loop, NumPy per step"),
                           ("python_loop_scalar", loop_scalar, "[a'] Python loop, scalar floats")):
        print(f"{label} (subset, ~{budget:g} s per algorithm) ...", flush=True)
        per, per_meas, done = {}, {}, {}
        for algo in ALGOS:
            el, s, out = time_loop(fn, algo, configs, n_seeds, H, R, budget, progress=not args.quick)
            per_meas[algo] = el
            done[algo] = s
            per[algo] = el * n_seeds / s
            finals[(key, algo)] = out
        res[key] = {"per_algorithm_s": per, "total_s": sum(per.values()),
                    "measured": "extrapolated linearly from all configurations x the first seeds_done seeds",
                    "measured_s": per_meas, "seeds_done": done, "extrapolated": any(d < n_seeds for d in done.values()),
                    "threads": 1}
        print(f"    measured {sum(per_meas.values()):.1f} s on seeds {done}, extrapolated to all "
              f"{n_seeds} seeds: {sum(per.values()):.1f} s", flush=True)

    # (d) hand-written Numba kernel for this instance (same counter-based noise as theorybench)
    print("[d] hand-written Numba kernel for this instance ...", flush=True)
    call = make_numba_special()
    t = time.perf_counter()
    for algo in ALGOS:
        call(algo, eta_v, gamma_v, I_v, seed_v, H, R)
    warm_d = time.perf_counter() - t
    per = {}
    for algo in ALGOS:
        med, ts, out = timed(lambda: call(algo, eta_v, gamma_v, I_v, seed_v, H, R), repeats)
        per[algo] = med
        finals[("d", algo)] = out.reshape(n_cfg, n_seeds)
    res["numba_special"] = {"per_algorithm_s": per, "total_s": sum(per.values()), "measured": "median of 3",
                            "warmup_s": warm_d, "threads": threads}
    print(f"    warm-up (compile or cache load) {warm_d:.2f} s; timed {sum(per.values()):.3f} s", flush=True)

    # (c) JAX
    try:
        import jax  # noqa: F401
        have_jax = True
    except Exception:
        have_jax = False
    if have_jax:
        print("[c] JAX jit(vmap(scan)) ...", flush=True)
        try:
            per, comp = {}, {}
            for algo in ALGOS:
                call = make_jax(algo, H, R, int(I_v.max()))
                t = time.perf_counter()
                call(eta_v, gamma_v, I_v, seed_v)
                comp[algo] = time.perf_counter() - t
                med, ts, out = timed(lambda: call(eta_v, gamma_v, I_v, seed_v), repeats)
                per[algo] = med
                finals[("c", algo)] = out.reshape(n_cfg, n_seeds)
            res["jax"] = {"per_algorithm_s": per, "total_s": sum(per.values()), "measured": "median of 3",
                          "compile_s": comp, "jax": jax.__version__, "threads": None}
        except Exception as exc:  # an optional peer must not sink the benchmark
            print(f"    JAX run failed: {exc!r}", flush=True)
            res["jax"] = {"skipped": f"failed: {exc!r}"}
    else:
        print("[c] JAX: skipped (import jax failed; JAX is not a dependency)", flush=True)
        res["jax"] = {"skipped": "import jax failed"}

    # sanity: statistical agreement of the mean final |f'(x_R)| per configuration
    sanity = {}
    print("\nSanity: mean over seeds of the final |f'(x_R)| per configuration (different RNGs: z-scores)")
    peers = [("b", "NumPy vectorised", None), ("python_loop_numpy", "Python loop (a)", None),
             ("python_loop_scalar", "Python loop (a')", None)]
    if ("c", ALGOS[0]) in finals:
        peers.append(("c", "JAX", None))
    for key, name, _ in peers:
        for algo in ALGOS:
            a_tb = finals[("tb", algo)]
            other = finals[(key, algo)]
            z = z_scores(a_tb, other)
            ndiv = int((~np.isfinite(other)).sum()) + int((~np.isfinite(a_tb)).sum())
            zmax = float(z.max()) if z.size else float("nan")
            # with 27 independent comparisons the max |z| of two equal distributions is rarely above 4
            ok = bool(z.size and zmax < 4.5)
            sanity[f"{key}/{algo}"] = {"max_abs_z": zmax, "n_configs": int(z.size), "non_finite": ndiv, "ok": ok,
                                      "seeds_compared": int(other.shape[1])}
            scale = float(np.nanmean(a_tb))
            print(f"  theorybench vs {name:18s} {algo:10s}: max |z| = {zmax:5.2f} over {z.size} configs "
                  f"({other.shape[1]} seeds; mean final |f'| {scale:.3g}; non-finite {ndiv}) "
                  f"{'OK' if ok else 'CHECK'}")
    for algo in ALGOS:  # (d) draws theorybench's noise: the same numbers up to rounding
        diff = float(np.nanmax(np.abs(finals[("d", algo)] - finals[("tb", algo)])))
        ok = diff <= 1e-9
        sanity[f"numba_special/{algo}"] = {"max_abs_diff": diff, "ok": ok}
        print(f"  theorybench vs hand-written Numba (same noise stream) {algo:10s}: max |diff| of final |f'| "
              f"= {diff:.2e} {'OK' if ok else 'CHECK'}")
    for algo in ALGOS:
        m = np.nanmean(finals[("tb", algo)], axis=1)
        print(f"  theorybench {algo}: mean final |f'| over configs: min {m.min():.3g}, median "
              f"{np.median(m):.3g}, max {m.max():.3g}")

    # table
    t0 = res["theorybench"]["total_s"]
    rows = [("theorybench (numba prange)", "theorybench", threads),
            ("Python loop, NumPy per step (a)*", "python_loop_numpy", 1),
            ("Python loop, scalar floats (a')*", "python_loop_scalar", 1),
            ("NumPy vectorised (b)", "numpy_vectorised", 1),
            ("JAX jit(vmap(scan)) (c)", "jax", None),
            ("hand-written Numba kernel, this instance only (d)", "numba_special", threads)]
    total_traj = n_traj * len(ALGOS)
    lines = ["| implementation | wall time (s) | configs*seeds per s | ratio vs theorybench | threads |",
             "|---|---:|---:|---:|---:|"]
    for label, key, th in rows:
        r = res[key]
        if "skipped" in r:
            lines.append(f"| {label} | skipped | - | - | - |")
            continue
        r["ratio_vs_theorybench"] = r["total_s"] / t0
        r["trajectories_per_s"] = total_traj / r["total_s"]
        lines.append(f"| {label} | {r['total_s']:.3f} | {r['trajectories_per_s']:,.0f} | "
                     f"{r['ratio_vs_theorybench']:.{1 if r['ratio_vs_theorybench'] >= 10 else 2}f}x | {th if th is not None else '-'} |")
    table = "\n".join(lines)
    print(f"\n{total_traj} trajectories ({n_cfg} configs x {n_seeds} seeds x {len(ALGOS)} algorithms), "
          f"R = {R}; wall time summed over both algorithms; ratio = time / theorybench time")
    print(table)
    print("* timed on all configurations x the first seeds and extrapolated linearly to all seeds "
          f"(seeds done: a {res['python_loop_numpy']['seeds_done']}, a' {res['python_loop_scalar']['seeds_done']})")
    speedup = res["python_loop_numpy"]["total_s"] / t0
    speedup_s = res["python_loop_scalar"]["total_s"] / t0
    target_ok = speedup >= 40
    print(f"Target (issue): theorybench >= 40x faster than the plain loop (a): {speedup:.1f}x "
          f"-> {'MET' if target_ok else 'NOT MET'} (against the tuned loop (a'): {speedup_s:.1f}x)")

    ps = per_step(H, R, grid, n_seeds, repeats, widths, lambda m: print(m, flush=True))

    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "episode_sweep_quick" if args.quick else "episode_sweep"
    payload = {
        "benchmark": "episode_sweep", "quick": args.quick,
        "work": {"problem": "episode-quartic", "H": H, "sigma": SIGMA, "x0": X0, "rounds": R,
                 "convention": "step", "algorithms": list(ALGOS), "grid": grid, "seeds": n_seeds,
                 "configurations": n_cfg, "trajectories": total_traj},
        "results": res, "sanity": sanity, "table_markdown": table, "celgc_per_local_step": ps,
        "target": {"description": "theorybench >= 40x faster than a plain Python loop (a)",
                   "speedup_vs_loop_numpy": speedup, "speedup_vs_loop_scalar": speedup_s, "met": target_ok},
        "machine": machine_info(),
    }
    from theorybench.atomic_io import atomic_savefig, atomic_write_text
    atomic_write_text(RESULTS / f"{stem}.json", json.dumps(payload, indent=2, default=float))

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    keys = [(lab.split(" (")[0] if not lab.startswith("theorybench") else "theorybench", k)
            for lab, k, _ in rows if "skipped" not in res[k]]
    names = {"theorybench": "theorybench", "python_loop_numpy": "loop, NumPy\nper step (a)",
             "python_loop_scalar": "loop, scalar\nfloats (a')", "numpy_vectorised": "NumPy\nvectorised (b)",
             "jax": "JAX\njit(vmap(scan))", "numba_special": "hand-written\nNumba (d)"}
    vals = [res[k]["ratio_vs_theorybench"] for _, k in keys]
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    bars = ax.bar([names[k] for _, k in keys], vals, color=["C2"] + ["C0"] * (len(vals) - 1))
    ax.set_yscale("log")
    ax.axhline(1.0, color="k", lw=0.6)
    for b, v in zip(bars, vals):
        ax.text(b.get_x() + b.get_width() / 2, v * 1.08, f"{v:.{1 if v >= 10 else 2}f}x", ha="center", va="bottom", fontsize=8)
    ax.set_ylim(min(0.5, min(vals) / 2), max(vals) * 3)
    ax.set_ylabel("wall time / theorybench (log)")
    ax.set_title(f"EPISODE quartic sweep: {total_traj} trajectories, R={R}, {threads} threads", fontsize=9)
    fig.tight_layout()
    atomic_savefig(fig, RESULTS / f"{stem}.png")
    plt.close(fig)
    print(f"\nwrote {RESULTS / (stem + '.json')} and {RESULTS / (stem + '.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
