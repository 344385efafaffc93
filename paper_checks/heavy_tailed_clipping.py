"""Clipped SGD under heavy-tailed noise: claims HT-1 (high-probability tails) and HT-2 (infinite second moment).

Papers: Sadiev, Danilova, Gorbunov, Horvath, Gidel, Dvurechensky, Gasnikov, Richtarik, ICML 2023 (arXiv 2302.00999):
under ``E ||z||^alpha <= sigma^alpha`` (1 < alpha <= 2) clipped-SGD's error bounds hold with probability
``1 - beta`` and depend on ``log(1/beta)`` [recalled: Theorem for the strongly convex case, ``||x_K - x*||^2 <= 2
exp(-gamma mu K / 2) R^2`` with a step and clipping level tuned to ``log((K+1)/beta)``]; Gorbunov, Danilova,
Gasnikov, NeurIPS 2020 (arXiv 2005.10785): the same with bounded variance (alpha = 2); plain SGD's
high-probability bounds under heavy tails depend polynomially on ``1/beta``. Here ``delta`` = beta.

Instances (``problems/heavy_tailed.py``): ``ht-quadratic`` (d = 2, h in [1/2, 1], strongly convex) and
``ht-logcosh`` (DERIVED, convex smooth, not strongly convex), noise ``pareto`` (symmetric Lomax) or ``student``
(Student-t with alpha degrees of freedom), scale sigma = 1, x* = (1, 1), ||x_0 - x*|| = 1. Methods
(``theorybench/methods/clipped_sgd.py``): ``sgd`` and ``clipped-sgd`` with the same constant step gamma (HT-1) or the
same harmonic steps gamma/(t+1) (HT-2); the clipping level lambda is fixed (not tuned to delta).

Measured quantities: the final error ``||x_K - x*||`` over many independent runs (seeds); its empirical
``(1 - delta)`` quantiles with bootstrap bands (resampling the runs); the sample mean of ``||x_K - x*||^2`` over
the first n runs of a group, against n.
"""
import math
import time

import numpy as np

from theorybench import sweep
from theorybench.claims import Evidence, num, register_paper, verdict
from theorybench.measure import fit_power_law

PAPER = register_paper(
    "heavy_tailed_clipping_icml23",
    "High-probability bounds for stochastic optimization and variational inequalities: the case of unbounded "
    "variance (clipped SGD under heavy-tailed noise)",
    "Sadiev, Danilova, Gorbunov, Horvath, Gidel, Dvurechensky, Gasnikov, Richtarik, ICML 2023 (arXiv 2302.00999); "
    "Gorbunov, Danilova, Gasnikov, NeurIPS 2020 (arXiv 2005.10785)",
    aliases=("heavy-tailed", "clipped-sgd", "sadiev23", "ht"))

# ---------------------------------------------------------------- HT-1 settings
HT1_RUNS = {"quick": 20_000, "full": 1_000_000}           # independent runs per setting
HT1_DELTA_MIN = {"quick": 1e-3, "full": 1e-4}             # quick: 20 runs beyond the last quantile
HT1_N_DELTAS = 7                                          # log-spaced deltas in [delta_min, 1e-1]
HT1_SETTINGS = {  # (instance, noise, alpha)
    "quick": (("ht-quadratic", "pareto", 1.5), ("ht-logcosh", "student", 1.5)),
    "full": (("ht-quadratic", "pareto", 1.5), ("ht-quadratic", "student", 1.5), ("ht-quadratic", "pareto", 1.25),
             ("ht-logcosh", "pareto", 1.5), ("ht-logcosh", "student", 1.5), ("ht-logcosh", "pareto", 1.25))}
HT1_STEPS = 100          # K
HT1_GAMMA = 0.1          # constant step gamma of both methods
HT1_LAMBDA = 1.0         # clipping level lambda (fixed: not tuned to delta)
HT1_SIGMA = 1.0
HT1_D = 2
HT1_LOG_POWER = 1.0      # clipped SGD: q(delta) grows no faster than log(1/delta)^1 (one-sided)
HT1_SLOPE_TOL = 0.1      # SGD: |d log q / d log(1/delta) - 1/alpha| <= 0.1
HT1_BOOT = {"quick": 200, "full": 200}                    # bootstrap resamples
HT1_CONTROL_NOISE = "gaussian"                            # control: light tails (SGD's slope must miss 1/alpha)

# ---------------------------------------------------------------- HT-2 settings
HT2_GROUPS = 20                                           # independent groups of runs
HT2_RUNS = {"quick": 10_000, "full": 1_000_000}           # runs per group (n grows up to this)
HT2_N_MIN = {"quick": 100, "full": 1_000}
HT2_INSTANCE = "ht-quadratic"
HT2_NOISE = "pareto"
HT2_ALPHA = 1.5          # < 2: infinite variance; the prefix mean of err^2 grows like n^(2/alpha - 1)
HT2_CONTROL_ALPHA = 3.0  # control: > 2, finite second moment, SGD's mean settles too
HT2_STEPS = 30
HT2_GAMMA = 2.0          # gamma_t = gamma / (t + 1), gamma mu = 1
HT2_LAMBDA = 1.0
HT2_SETTLE_TOL = 0.05    # clipped SGD: fitted growth exponent of the mean of err^2 not entirely above 0.05


CHUNK = 1_000_000        # runs per sweep call


def _seed_base(tag):
    return {"ht1": 10_000_000, "ht2": 50_000_000}[tag]


def final_errors(instance, method, noise, alpha, runs, steps, gamma, lam=None, schedule="constant", seed0=0,
                 d=HT1_D, sigma=HT1_SIGMA):
    """``(err, err2)``: ``||x_K - x*||`` and its square over ``runs`` independent runs (seeds seed0 .. seed0 +
    runs - 1), recorded only at 0 and K (memory: a few numbers per run)."""
    grid = {"gamma": [gamma], "schedule": [schedule]}
    if lam is not None:
        grid["lam"] = [lam]
    e, e2 = np.empty(runs), np.empty(runs)
    for a in range(0, runs, CHUNK):  # chunks of at most CHUNK runs: the recorded arrays stay small
        b = min(runs, a + CHUNK)
        s = sweep(instance, method, grid=grid, seeds=range(seed0 + a, seed0 + b), steps=steps, record=[steps],
                  problem_settings={"d": d, "noise": noise, "alpha": alpha, "sigma": sigma})
        e[a:b], e2[a:b] = s.traces["err"][..., -1].ravel(), s.traces["err2"][..., -1].ravel()
    return e, e2


def tail_quantiles(e, deltas):
    """Empirical ``(1 - delta)`` quantiles of the sample ``e`` (linear interpolation)."""
    return np.quantile(e, 1.0 - np.asarray(deltas))


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def bootstrap_tails(e, deltas, n_boot, rng):
    """Bootstrap over runs: ``(q, band, slope_delta, slope_log)``: the quantiles, their 95% percentile bands
    ``(2, len(deltas))``, and for the log-log slopes of q against ``1/delta`` and against ``log(1/delta)`` each
    ``(estimate, lo, hi)``."""
    deltas = np.asarray(deltas)
    q = tail_quantiles(e, deltas)
    inv, lg = 1.0 / deltas, np.log(1.0 / deltas)
    bq = np.empty((n_boot, deltas.size))
    for b in range(n_boot):
        bq[b] = tail_quantiles(e[rng.integers(0, e.size, e.size)], deltas)
    band = np.percentile(bq, [2.5, 97.5], axis=0)
    s1 = np.array([_slope(inv, r) for r in bq])
    s2 = np.array([_slope(lg, r) for r in bq])
    ci = lambda s: np.percentile(s, [2.5, 97.5])  # noqa: E731
    return q, band, (_slope(inv, q), *ci(s1)), (_slope(lg, q), *ci(s2))


def ht1_curves(size="quick", control=False):
    """Per setting: the quantile curves of both methods (module docstring of HT-1's check)."""
    deltas = np.logspace(-1, math.log10(HT1_DELTA_MIN[size]), HT1_N_DELTAS)
    rng = np.random.default_rng(12345)
    out, seen = [], set()
    for k, (inst, noise, alpha) in enumerate(HT1_SETTINGS[size]):
        nz = HT1_CONTROL_NOISE if control else noise
        if (inst, nz, alpha if nz != "gaussian" else None) in seen:  # the control: one Gaussian run per instance
            continue
        seen.add((inst, nz, alpha if nz != "gaussian" else None))
        seed0 = _seed_base("ht1") + k * 10_000_000
        row = {"instance": inst, "noise": nz, "alpha": alpha, "runs": HT1_RUNS[size]}
        for name, m, lam in (("sgd", "sgd", None), ("clipped", "clipped-sgd", HT1_LAMBDA)):
            t0 = time.perf_counter()
            e, _ = final_errors(inst, m, nz, alpha, HT1_RUNS[size], HT1_STEPS, HT1_GAMMA, lam, seed0=seed0)
            wall = time.perf_counter() - t0
            q, band, sd, sl = bootstrap_tails(e, deltas, HT1_BOOT[size], rng)
            row[name] = {"q": q.tolist(), "band": band.tolist(), "slope_inv_delta": list(sd),
                         "slope_log": list(sl), "nonfinite": int((~np.isfinite(e)).sum()), "sweep_seconds": wall}
        out.append(row)
    return deltas, out


@PAPER.claim("HT-1", "Sadiev et al. ICML 2023 (arXiv 2302.00999) high-probability bounds; Gorbunov et al. "
             "NeurIPS 2020 [recalled constants]",
             "Under noise with only alpha-th moments (alpha = 1.5), the (1 - delta) quantile of clipped SGD's final "
             "error grows no faster than log(1/delta) over delta in [1e-4, 1e-1] (fitted exponent against log(1/delta) "
             "not above 1), while plain SGD's grows polynomially in 1/delta with log-log slope 1/alpha (+-0.1); "
             "bootstrap bands over the runs.",
             control="Gaussian noise: SGD's quantiles grow slowly too (slope far from 1/alpha), so the check FAILs")
def check_ht1(size="quick", control=False):
    deltas, rows = ht1_curves(size, control)
    clip_ok, sgd_ok = [], []
    for r in rows:
        c, s = r["clipped"]["slope_log"], r["sgd"]["slope_inv_delta"]
        clip_ok.append(c[1] <= HT1_LOG_POWER)
        sgd_ok.append(abs(s[0] - 1.0 / r["alpha"]) <= HT1_SLOPE_TOL)
    ok = all(clip_ok) and all(sgd_ok)
    tag = lambda r: f"{r['instance']}/{r['noise']}/alpha={r['alpha']:g}"  # noqa: E731
    measured = "; ".join(
        f"{tag(r)}: clipped exponent vs log(1/delta) {r['clipped']['slope_log'][0]:.2f} "
        f"[{r['clipped']['slope_log'][1]:.2f}, {r['clipped']['slope_log'][2]:.2f}], SGD slope vs 1/delta "
        f"{r['sgd']['slope_inv_delta'][0]:.3f} [{r['sgd']['slope_inv_delta'][1]:.3f}, "
        f"{r['sgd']['slope_inv_delta'][2]:.3f}] (1/alpha = {1 / r['alpha']:.3f})" for r in rows)
    numbers = {}
    for k, r in enumerate(rows):
        numbers[f"clipped_log_exponent_{k}"] = num(
            r["clipped"]["slope_log"][0], HT1_LOG_POWER, 0.0, kind="exponent", rule="ci_not_above",
            ci=r["clipped"]["slope_log"][1:], note=f"{tag(r)}: d log q / d log log(1/delta), clipped SGD")
        numbers[f"sgd_delta_slope_{k}"] = num(
            r["sgd"]["slope_inv_delta"][0], 1.0 / r["alpha"], HT1_SLOPE_TOL, kind="exponent", rule="abs",
            ci=r["sgd"]["slope_inv_delta"][1:], note=f"{tag(r)}: d log q / d log(1/delta), SGD")
    numbers["nonfinite_runs"] = num(sum(r[m]["nonfinite"] for r in rows for m in ("sgd", "clipped")), 0.0,
                                    kind="count", rule="eq", note="runs whose final error is not finite")
    finite = numbers["nonfinite_runs"]["measured"] == 0.0
    ok = ok and finite
    why = "as predicted" if ok else (
        "some runs ended with a non-finite error" if not finite else
        "clipped SGD's quantiles grow faster than log(1/delta)" if not all(clip_ok) else
        "SGD's quantile slope is not 1/alpha (its tails are not polynomial with index alpha)")
    return Evidence(
        verdict(ok), measured=measured,
        predicted=f"clipped exponent vs log(1/delta) <= {HT1_LOG_POWER:g}; SGD slope vs 1/delta = 1/alpha",
        tolerance=f"clipped: bootstrap CI not entirely above {HT1_LOG_POWER:g}; SGD: |slope - 1/alpha| <= "
                  f"{HT1_SLOPE_TOL:g}",
        why=why, numbers=numbers,
        details={"deltas": deltas.tolist(), "settings": rows, "steps": HT1_STEPS, "gamma": HT1_GAMMA,
                 "lambda": HT1_LAMBDA, "sigma": HT1_SIGMA, "d": HT1_D,
                 "note": "with a fixed step and clipping level clipped SGD's quantiles grow about like "
                         "sqrt(log(1/delta)) (bounded increments); the theorems' log(1/delta) is an upper bound "
                         "with parameters tuned to delta"},
        seeds=[_seed_base("ht1"), _seed_base("ht1") + HT1_RUNS[size]],
        plots={"quantiles": lambda: _plot_ht1(deltas, rows, control)})


def _plot_ht1(deltas, rows, control):
    from theorybench.plotting import new_figure
    ncols = min(3, len(rows))
    nrows = -(-len(rows) // ncols)
    fig, axs = new_figure(ncols=ncols, nrows=nrows, width=4.2 * ncols, height=3.8 * nrows)
    for ax, r in zip([a for row in axs for a in row], rows):
        inv = 1.0 / deltas
        for name, lab, mk in (("sgd", "SGD", "o-"), ("clipped", r"clipped SGD ($\lambda = %g$)" % HT1_LAMBDA, "s-")):
            q, band = np.asarray(r[name]["q"]), np.asarray(r[name]["band"])
            line, = ax.loglog(inv, q, mk, ms=3, label=lab)
            ax.fill_between(inv, band[0], band[1], color=line.get_color(), alpha=0.25, lw=0)
        q0 = r["sgd"]["q"][0]
        ax.loglog(inv, q0 * (inv / inv[0]) ** (1.0 / r["alpha"]), "k--", lw=1,
                  label=r"$\delta^{-1/\alpha}$, $\alpha = %g$" % r["alpha"])
        c0 = r["clipped"]["q"][0]
        ax.loglog(inv, c0 * np.log(inv) / np.log(inv[0]), "k:", lw=1, label=r"$\log(1/\delta)$")
        ax.set_xlabel(r"$1/\delta$")
        ax.set_ylabel(r"$(1-\delta)$ quantile of $\|x_K - x^*\|$")
        ax.set_title(f"{r['instance']}, {r['noise']} noise" + ("" if r["noise"] == "gaussian" else
                                                                rf", $\alpha = {r['alpha']:g}$")
                     + f", {r['runs']:,} runs" + (" (control)" if control else ""), fontsize=8)
        ax.legend(fontsize=7)
    fig.subplots_adjust(hspace=0.4, wspace=0.3)
    return fig


# ---------------------------------------------------------------- HT-2

def prefix_means(v, groups, ns):
    """``(groups, len(ns))``: the mean of the first n values of each group (v reshaped to ``(groups, -1)``)."""
    c = np.cumsum(v.reshape(groups, -1), axis=1)
    idx = np.asarray(ns) - 1
    return c[:, idx] / np.asarray(ns, dtype=np.float64)


def ht2_curves(size="quick", control=False):
    alpha = HT2_CONTROL_ALPHA if control else HT2_ALPHA
    n_max = HT2_RUNS[size]
    ns = np.unique(np.round(np.geomspace(HT2_N_MIN[size], n_max, 9)).astype(np.int64))
    total = HT2_GROUPS * n_max
    out = {"alpha": alpha, "ns": ns.tolist(), "groups": HT2_GROUPS}
    for name, m, lam in (("sgd", "sgd", None), ("clipped", "clipped-sgd", HT2_LAMBDA)):
        t0 = time.perf_counter()
        e, e2 = final_errors(HT2_INSTANCE, m, HT2_NOISE, alpha, total, HT2_STEPS, HT2_GAMMA, lam,
                             schedule="harmonic", seed0=_seed_base("ht2"))
        wall = time.perf_counter() - t0
        m2, m1 = prefix_means(e2, HT2_GROUPS, ns), prefix_means(e, HT2_GROUPS, ns)
        f2, f1 = fit_power_law(ns, m2), fit_power_law(ns, m1)
        out[name] = {"mean_err2": m2.tolist(), "mean_err": m1.tolist(),
                     "fit_err2": [f2["slope"], f2["lo"], f2["hi"]], "fit_err": [f1["slope"], f1["lo"], f1["hi"]],
                     "nonfinite": int((~np.isfinite(e2)).sum()), "sweep_seconds": wall}
    return out


@PAPER.claim("HT-2", "Sadiev et al. ICML 2023 (arXiv 2302.00999), unbounded variance [derived consequence]",
             "With noise of tail index alpha = 1.5 < 2 and steps gamma/(t+1), SGD's mean squared error is infinite: "
             "its sample mean over the first n runs keeps growing with n (fitted exponent > 0, about 2/alpha - 1), "
             "while clipped SGD's settles (exponent not above 0.05); SGD's mean |error| is finite (reported).",
             control="alpha = 3 > 2 (finite variance): SGD's sample mean squared error settles too, so the check FAILs")
def check_ht2(size="quick", control=False):
    r = ht2_curves(size, control)
    s, c = r["sgd"]["fit_err2"], r["clipped"]["fit_err2"]
    grow_ok = s[1] > 0.0
    settle_ok = c[1] <= HT2_SETTLE_TOL
    nonfinite = r["sgd"]["nonfinite"] + r["clipped"]["nonfinite"]
    ok = grow_ok and settle_ok and nonfinite == 0
    pred = max(0.0, 2.0 / r["alpha"] - 1.0)  # alpha >= 2: finite second moment, the mean settles
    return Evidence(
        verdict(ok),
        measured=f"alpha = {r['alpha']:g}: SGD mean err^2 exponent {s[0]:.3f} [{s[1]:.3f}, {s[2]:.3f}] "
                 f"(predicted max(0, 2/alpha - 1) = {pred:.3f}); clipped {c[0]:.3f} [{c[1]:.3f}, {c[2]:.3f}]; mean |err| exponents: "
                 f"SGD {r['sgd']['fit_err'][0]:.3f}, clipped {r['clipped']['fit_err'][0]:.3f}",
        predicted="SGD's sample mean of err^2 grows with n (exponent 2/alpha - 1 > 0); clipped SGD's settles (0)",
        tolerance=f"SGD: CI lower end > 0; clipped: CI not entirely above {HT2_SETTLE_TOL:g}",
        why="as predicted" if ok else ("some runs ended with a non-finite error" if nonfinite else
                                       "SGD's sample mean squared error does not keep growing" if not grow_ok
                                       else "clipped SGD's sample mean squared error keeps growing"),
        numbers={"sgd_growth_lo": num(s[1], 0.0, kind="exponent", rule="gt", ci=s[1:],
                                      note="lower end of the CI of the exponent of SGD's prefix mean of err^2 vs n"),
                 "sgd_growth": num(s[0], pred, kind="exponent", ci=s[1:], note="reported: 2/alpha - 1"),
                 "clipped_growth": num(c[0], 0.0, HT2_SETTLE_TOL, kind="exponent", rule="ci_not_above", ci=c[1:],
                                       note="exponent of clipped SGD's prefix mean of err^2 vs n"),
                 "nonfinite_runs": num(nonfinite, 0.0, kind="count", rule="eq",
                                       note="runs whose final error is not finite"),
                 "sgd_abs_growth": num(r["sgd"]["fit_err"][0], 0.0, kind="exponent", ci=r["sgd"]["fit_err"][1:],
                                       note="reported: SGD's prefix mean of |err| (finite first moment)")},
        details={**r, "steps": HT2_STEPS, "gamma": HT2_GAMMA, "schedule": "harmonic", "lambda": HT2_LAMBDA,
                 "instance": HT2_INSTANCE, "noise": HT2_NOISE},
        seeds=[_seed_base("ht2"), _seed_base("ht2") + HT2_GROUPS * HT2_RUNS[size]],
        plots={"second_moment": lambda: _plot_ht2(r, control)})


def _plot_ht2(r, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.4, height=3.4)
    ns = np.asarray(r["ns"])
    for ax, key, lab in ((axs[0][0], "mean_err2", r"$\frac{1}{n}\sum \|x_K - x^*\|^2$"),
                         (axs[0][1], "mean_err", r"$\frac{1}{n}\sum \|x_K - x^*\|$")):
        for name, txt, mk in (("sgd", "SGD", "o-"), ("clipped", "clipped SGD", "s-")):
            m = np.asarray(r[name][key])
            line, = ax.loglog(ns, np.median(m, axis=0), mk, ms=3, label=f"{txt} (median of {r['groups']} groups)")
            ax.fill_between(ns, m.min(axis=0), m.max(axis=0), color=line.get_color(), alpha=0.2, lw=0)
        if key == "mean_err2":
            med = np.median(np.asarray(r["sgd"][key]), axis=0)
            ax.loglog(ns, med[0] * (ns / ns[0]) ** (2.0 / r["alpha"] - 1.0), "k--", lw=1,
                      label=r"$n^{2/\alpha - 1}$")
        ax.set_xlabel("runs n")
        ax.set_ylabel(lab)
        ax.legend(fontsize=7)
    fig.suptitle(rf"{HT2_INSTANCE}, {HT2_NOISE} noise, $\alpha = {r['alpha']:g}$, steps $\gamma/(t+1)$"
                 + (" (control)" if control else ""), fontsize=8)
    return fig
