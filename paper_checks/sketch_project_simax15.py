"""Randomized iterative methods for linear systems (Gower, Richtarik, SIAM J. Matrix Anal. Appl. 36(4),
1660-1690, 2015; arXiv 1506.03296): claims SK-1 and SK-2 on the ``linear-system`` instance with the
``sketch-project`` method.

The paper's method (its "sketch-and-project" view): ``x_{k+1} = x_k - B^{-1} Z_k (x_k - x*)``,
``Z = A^T S (S^T A B^{-1} A^T S)^+ S^T A``, S drawn i.i.d. each step. Its Section 4 (general convergence
theory; theorem numbers recalled, not checked against the text: "norm of expectation", Thm 4.3, and
"expectation of norm", Thm 4.6) states

* the expected iterates exactly: ``E[x_k - x*] = (I - B^{-1} E[Z])^k (x_0 - x*)`` (SK-1), and
* ``E ||x_k - x*||_B^2 <= rho^k ||x_0 - x*||_B^2`` with ``rho = 1 - lambda_min(B^{-1/2} E[Z] B^{-1/2})``
  (SK-2); the special cases: randomized Kaczmarz with p_i = ||a_i||^2/||A||_F^2 has rho = 1 - lambda_min(A^T A) /
  ||A||_F^2 (Strohmer, Vershynin 2009), randomized coordinate descent on a positive definite A with B = A
  and p_i = A_ii / tr A has rho = 1 - lambda_min(A) / tr A.

Instances (DERIVED: the paper's experiments use other matrices): ``kind=general``, m = 12, n = 4, rows of
norms log-spaced from 1 to 100 (B = I), for kaczmarz, kaczmarz-uniform, block (k = 2) and gaussian;
``kind=pd``, n = 4, diagonal from 1 to 10 (B = A), for coordinate. E[Z] is exact for the discrete sketches
(a sum over the m rows or the C(m, k) blocks); for the Gaussian sketch it is a one-dimensional integral
(``problems.linear_systems.gaussian_W``) computed to a relative error below 1e-12, far below the
Monte-Carlo error it is compared with.
"""
import math

import numpy as np

from theorybench import make_problem, sweep
from theorybench.claims import Evidence, num, register_paper, verdict
from problems import linear_systems as LS

PAPER = register_paper(
    "sketch_project_simax15", "Randomized iterative methods for linear systems (sketch-and-project)",
    "Gower, Richtarik, SIAM J. Matrix Anal. Appl. 36(4) 2015 (arXiv 1506.03296)",
    aliases=("sketch-project", "sketch_project", "gower-richtarik"))

GENERAL = {"kind": "general", "n": 4, "m": 12, "row_scale": 100.0}
PD = {"kind": "pd", "n": 4, "row_scale": 10.0}
BLOCK_SIZE = 2
# sketch -> (instance settings, the other sampling used by the controls)
SK1_CASES = {"kaczmarz": (GENERAL, "kaczmarz-uniform"), "kaczmarz-uniform": (GENERAL, "kaczmarz"),
             "block": (GENERAL, "kaczmarz-uniform"), "gaussian": (GENERAL, "kaczmarz"),
             "coordinate": (PD, "kaczmarz-uniform")}
SK1_KS = (1, 2, 5, 10, 20, 40)
SK1_SEEDS = {"quick": 4000, "full": 100_000}
DATA_SEEDS = {"quick": (0,), "full": (0, 1, 2)}
ALPHA = 0.01            # family-wise error of SK-1's and SK-2's intervals (Bonferroni over every comparison)

SK2_CASES = {"kaczmarz": (GENERAL, "kaczmarz-uniform"), "kaczmarz-uniform": (GENERAL, "kaczmarz"),
             "coordinate": (PD, "kaczmarz-uniform"), "block": (GENERAL, None), "gaussian": (GENERAL, None)}
SK2_SEEDS = {"quick": 10_000, "full": 100_000}
SK2_DECAY = 1e-3        # horizon K: the bound rho^K reaches this; the rate is fitted on k in [K/2, K]
SK2_POINTS = 41         # recorded steps on [0, K]
BOOT = 400              # bootstrap resamples over seeds


def _z_crit(count):
    from scipy.stats import norm
    return float(norm.isf(ALPHA / (2.0 * count)))


def _problem(settings, data_seed):
    return make_problem("linear-system", **settings, data_seed=data_seed)


def sk1_measure(size="quick"):
    """Seed-averages of ``x_k - x*`` and their standard errors, per (sketch, data seed): a list of dicts."""
    rows = []
    S = SK1_SEEDS[size]
    for ds in DATA_SEEDS[size]:
        for sk, (settings, other) in SK1_CASES.items():
            prob = _problem(settings, ds)
            sw = sweep(prob, "sketch-project", seeds=S, steps=SK1_KS[-1], record=[0, *SK1_KS], sketch=sk,
                       block_size=BLOCK_SIZE)
            E = sw.x[:, 1:, :] - prob.arrays["xstar"]          # (seeds, len(ks), n)
            rows.append({"sketch": sk, "data_seed": ds, "other": other, "prob": prob,
                         "mean": E.mean(axis=0), "se": E.std(axis=0, ddof=1) / math.sqrt(S)})
    return rows


@PAPER.claim("SK-1", "Gower, Richtarik SIMAX 2015, Sec. 4, norm of expectation (Thm 4.3 [recalled numbering]): "
             "E[x_k - x*] = (I - B^-1 E[Z])^k (x_0 - x*)",
             "For every sketch (Kaczmarz with importance and with uniform sampling, block of 2 rows, Gaussian, "
             "coordinate descent with B = A), the seed-average of x_k - x* agrees with (I - B^-1 E[Z])^k (x_0 - x*) "
             "within Monte-Carlo intervals at k = 1, 2, 5, 10, 20, 40 (every coordinate, Bonferroni over all "
             "comparisons at family-wise level 0.01).",
             control="the formula with the other sampling's E[Z] (importance <-> uniform; block -> single rows "
                     "uniformly; gaussian -> Kaczmarz importance; coordinate -> uniform coordinates)")
def check_sk1(size="quick", control=False):
    rows = sk1_measure(size)
    n_cmp = sum(r["mean"].size for r in rows)
    zc = _z_crit(n_cmp)
    per, zmax_all, gz = [], [], 0.0
    for r in rows:
        used = r["other"] if control else r["sketch"]
        EZ = LS.expected_Z(r["prob"], used, BLOCK_SIZE)
        pred = LS.expected_error(r["prob"], EZ, SK1_KS)
        z = (r["mean"] - pred) / r["se"]
        zk = np.abs(z).max(axis=1)
        per.append({"sketch": r["sketch"], "data_seed": r["data_seed"], "E[Z] of": used,
                    "max_abs_z_per_k": zk.tolist(), "predicted": pred.tolist(), "measured": r["mean"].tolist(),
                    "se": r["se"].tolist(), "rho": LS.rho(r["prob"], EZ)})
        zmax_all.append(float(zk.max()))
        gz = max(gz, float(zk.max()))
    ok = gz <= zc
    worst = per[int(np.argmax(zmax_all))]
    return Evidence(
        verdict(ok),
        measured="max |z| per sketch: " + ", ".join(f"{p['sketch']}{'' if len(DATA_SEEDS[size]) == 1 else '/' + str(p['data_seed'])}"
                                                   f" {z:.2f}" for p, z in zip(per, zmax_all)),
        predicted=f"every |seed-average - (I - B^-1 E[Z])^k e_0| / s.e. <= {zc:.2f}" + (" (E[Z] of the other sampling)"
                                                                                    if control else ""),
        tolerance=f"Bonferroni over {n_cmp} comparisons, family-wise {ALPHA:g}; {SK1_SEEDS[size]} seeds each",
        why=("the seed-averages follow the exact expected iterates" if ok else
             f"the seed-average of {worst['sketch']} is {max(zmax_all):.1f} standard errors from the formula"),
        numbers={"max_abs_z": num(zmax_all, zc, kind="value", rule="le",
                                  note="per (sketch, data seed): max over k and coordinates of |mean - formula| / s.e."),
                 "z_critical": num(zc, kind="value", note=f"normal quantile at {ALPHA:g} / (2 x {n_cmp})")},
        details={"ks": list(SK1_KS), "seeds": SK1_SEEDS[size], "cases": per,
                 "instances": {"general": GENERAL, "pd": PD, "block_size": BLOCK_SIZE}},
        seeds=list(range(SK1_SEEDS[size])),
        plots={"sk1_expected_iterates": lambda: _plot_sk1(per, control)})


def _rate(ks, M, lo):
    """Per-step contraction exp(slope) of a least-squares fit of log M on ks[lo:]."""
    return math.exp(np.polyfit(ks[lo:], np.log(M[lo:]), 1)[0])


def sk2_measure(size="quick"):
    """Per (sketch, data seed): the horizon K, the seed-average of ||x_k - x*||_B^2 on the record schedule, its
    per-step contraction on [K/2, K] with a bootstrap interval over seeds, rho and the other sampling's rho."""
    S = SK2_SEEDS[size]
    rs = np.random.default_rng(20150603)
    out = []
    for ds in DATA_SEEDS[size]:
        for sk, (settings, other) in SK2_CASES.items():
            prob = _problem(settings, ds)
            r = LS.rho(prob, LS.expected_Z(prob, sk, BLOCK_SIZE))
            r_other = LS.rho(prob, LS.expected_Z(prob, other, BLOCK_SIZE)) if other else None
            K = int(math.ceil(math.log(SK2_DECAY) / math.log(r)))
            ks = np.unique(np.linspace(0, K, SK2_POINTS).round().astype(np.int64))
            sw = sweep(prob, "sketch-project", seeds=S, steps=K, record=ks, sketch=sk, block_size=BLOCK_SIZE)
            E = sw.traces["err_B2"]                                  # (seeds, len(ks))
            M = E.mean(axis=0)
            lo = int(np.searchsorted(ks, K // 2))
            Mb = np.empty((BOOT, E.shape[1]))                         # Poisson bootstrap over seeds
            for c in range(0, BOOT, 50):
                W = rs.poisson(1.0, (min(50, BOOT - c), S)).astype(np.float64)
                Mb[c:c + W.shape[0]] = (W @ E) / W.sum(axis=1, keepdims=True)
            rates = np.array([_rate(ks, mb, lo) for mb in Mb])
            exact = (LS.second_moment_rate(prob, sk, BLOCK_SIZE) if sk in LS.DISCRETE else None)
            curve = (LS.expected_err_B2(prob, sk, ks, BLOCK_SIZE) if sk in LS.DISCRETE else None)
            out.append({"sketch": sk, "data_seed": ds, "K": K, "ks": ks, "mean": M, "rho": r, "rho_other": r_other,
                        "other": other, "rate": _rate(ks, M, lo), "rate_boot": rates, "mean_boot": Mb,
                        "exact_rate": exact, "exact_curve": curve, "window": [int(ks[lo]), K]})
    return out


@PAPER.claim("SK-2", "Gower, Richtarik SIMAX 2015, Sec. 4, expectation of norm (Thm 4.6 [recalled numbering]), and "
             "its special cases (Strohmer-Vershynin rho for Kaczmarz, 1 - lambda_min(A)/tr A for coordinate descent)",
             "E ||x_k - x*||_B^2 <= rho^k ||x_0 - x*||_B^2 with rho = 1 - lambda_min(B^-1/2 E[Z] B^-1/2): the "
             "per-step contraction of the seed-average of ||x_k - x*||_B^2, fitted on k in [K/2, K] (K: rho^K = "
             "1e-3), is not above rho, and the seed-average stays below rho^k ||x_0 - x*||_B^2 at every recorded "
             "k (one-sided, bootstrap intervals over seeds, Bonferroni at family-wise level 0.01).",
             control="the rho of the other sampling where it is smaller (Kaczmarz: uniform rows' rho; coordinate "
                     "descent: uniform coordinates' rho); the measured contraction exceeds it")
def check_sk2(size="quick", control=False):
    rows = sk2_measure(size)
    n_cmp = sum(1 + len(r["ks"]) for r in rows)
    q = ALPHA / n_cmp                                    # one-sided lower ends at this level
    zq = _z_crit(n_cmp / 2.0)                            # = norm.isf(q): normal bootstrap intervals
    per, lows, preds, ok = [], [], [], True
    for r in rows:
        use_other = control and r["rho_other"] is not None and r["rho_other"] < r["rho"]
        pr = r["rho_other"] if use_other else r["rho"]
        rate_sd = float(np.std(r["rate_boot"], ddof=1))
        rate_lo = r["rate"] - zq * rate_sd
        ratio = r["mean"] / (pr ** r["ks"] * r["mean"][0])           # <= 1: the bound holds at step k
        ratio_lo = ratio - zq * np.std(r["mean_boot"] / (pr ** r["ks"] * r["mean_boot"][:, :1]), axis=0, ddof=1)
        holds = rate_lo <= pr and bool(np.all(ratio_lo <= 1.0))
        ok &= holds
        lows.append(rate_lo)
        preds.append(pr)
        per.append({"sketch": r["sketch"], "data_seed": r["data_seed"], "K": r["K"], "fit_window": r["window"],
                    "rho_compared": pr, "rho": r["rho"], "rho_other_sampling": r["rho_other"],
                    "other_sampling": r["other"], "compared_with_other": use_other,
                    "measured_rate": r["rate"], "rate_interval": [rate_lo, r["rate"] + zq * rate_sd],
                    "exact_second_moment_rate": r["exact_rate"],
                    "max_rel_dev_from_exact_mean": (None if r["exact_curve"] is None else
                                                    float(np.max(np.abs(r["mean"] / r["exact_curve"] - 1)))),
                    "max_bound_ratio": float(ratio.max()),
                    "max_bound_ratio_lower": float(ratio_lo.max()), "holds": holds})
    lab = (lambda p: p["sketch"]) if len(DATA_SEEDS[size]) == 1 else (lambda p: f"{p['sketch']}/{p['data_seed']}")
    txt = ", ".join(f"{lab(p)} {p['measured_rate']:.4f} [{p['rate_interval'][0]:.4f}, {p['rate_interval'][1]:.4f}]"
                    f" vs {p['rho_compared']:.4f}" for p in per)
    bad = [p["sketch"] for p in per if not p["holds"]]
    return Evidence(
        verdict(ok),
        measured="per-step contraction (interval) vs rho: " + txt,
        predicted="contraction <= rho" + (" of the other sampling, where smaller" if control else "")
                  + "; seed-average <= rho^k ||x_0 - x*||_B^2",
        tolerance=f"one-sided: the lower end (estimate - {zq:.2f} bootstrap s.d., {BOOT} Poisson resamples of "
                  f"{SK2_SEEDS[size]} seeds; level {q:.2g} each) not above",
        why=("every sketch contracts at least as fast as its rho" if ok else
             f"the measured contraction of {', '.join(bad)} exceeds the rho compared with"),
        numbers={"rate_lower": num(lows, preds, kind="rate", rule="le",
                                   note="lower end of the per-step contraction's interval vs the rho compared, per case"),
                 "measured_rate": num([p["measured_rate"] for p in per], preds, kind="rate",
                                      note="fitted per-step contraction on [K/2, K]"),
                 "exact_second_moment_rate": num([p["exact_second_moment_rate"] if p["exact_second_moment_rate"]
                                                  is not None else float("nan") for p in per], kind="rate",
                                                 note="spectral radius of C -> E[(I - B^-1 Z) C (I - B^-1 Z)^T] "
                                                      "(discrete sketches; nan: gaussian)")},
        details={"cases": per, "seeds": SK2_SEEDS[size], "decay": SK2_DECAY, "bootstrap": BOOT},
        seeds=list(range(SK2_SEEDS[size])),
        plots={"sk2_contraction": lambda: _plot_sk2(rows, control)})


def _plot_sk1(per, control):
    from theorybench.plotting import new_figure
    first = [p for p in per if p["data_seed"] == per[0]["data_seed"]]
    fig, axs = new_figure(ncols=len(first), width=2.6 * len(first), height=2.8)
    ks = np.array(SK1_KS)
    for ax, p in zip(axs[0], first):
        pred, mean, se = (np.array(p[k]) for k in ("predicted", "measured", "se"))
        for j in range(pred.shape[1]):
            ax.plot(ks, pred[:, j], "-", color=f"C{j}", lw=1)
            ax.errorbar(ks, mean[:, j], yerr=3 * se[:, j], fmt="o", ms=3, color=f"C{j}", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("k")
        ax.set_title(p["sketch"] + (f"\n(E[Z] of {p['E[Z] of']})" if control else ""), fontsize=8)
    axs[0][0].set_ylabel(r"$E[x_k - x^*]_j$: formula (lines), mean $\pm 3$ s.e.")
    return fig


def _plot_sk2(rows, control):
    from theorybench.plotting import new_figure
    first = [r for r in rows if r["data_seed"] == rows[0]["data_seed"]]
    fig, axs = new_figure(ncols=len(first), width=2.6 * len(first), height=2.8)
    for ax, r in zip(axs[0], first):
        ks, M = r["ks"], r["mean"]
        ax.semilogy(ks, M / M[0], "o", ms=3, label="seed-average")
        ax.semilogy(ks, r["rho"] ** ks, "k--", lw=1, label=rf"$\rho^k$, $\rho$ = {r['rho']:.3f}")
        if r["rho_other"] is not None and r["rho_other"] < r["rho"]:
            ax.semilogy(ks, r["rho_other"] ** ks, ":", color="C3", lw=1,
                        label=rf"other sampling's $\rho^k$ ({r['rho_other']:.3f})")
        if r["exact_curve"] is not None:
            ax.semilogy(ks, r["exact_curve"] / r["exact_curve"][0], "-", color="C2", lw=0.8,
                        label=r"exact $E\|x_k - x^*\|_B^2$")
        ax.axvspan(r["window"][0], r["window"][1], color="0.9", zorder=0)
        ax.set_xlabel("k")
        ax.set_title(r["sketch"], fontsize=8)
        ax.legend(fontsize=5)
    axs[0][0].set_ylabel(r"$E\|x_k - x^*\|_B^2 / \|x_0 - x^*\|_B^2$")
    return fig
