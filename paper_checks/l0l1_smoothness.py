"""(L0,L1)-smooth GD on polynomials and cosh: claims LS-1, LS-2, LS-3.

Papers: Lobanov et al. (arXiv 2412.17050) for the two phases of (L0,L1)-GD; Gorbunov et al. (arXiv
2409.14989) for the x^4 experiment (their Fig. 1); Zhang, He, Sra, Jadbabaie (ICLR 2020) for the failure of
fixed-step GD. Instances: ``monomial`` (x^4), ``cosh`` (cosh(x) - 1) from ``problems.smooth_polynomials``.
"""
import math

import numpy as np

from theorybench import make_problem, run, run_batch
from theorybench.algorithms import get_algorithm
from theorybench.claims import Evidence, num, register_paper, verdict
from theorybench.measure import fit_power_law, phase_change

PAPER = register_paper(
    "l0l1_smoothness",
    "(L0,L1)-smoothness: two-phase (L0,L1)-GD, the x^4 experiment, and the failure of fixed steps",
    "Lobanov et al. arXiv 2412.17050; Gorbunov et al. arXiv 2409.14989; Zhang, He, Sra, Jadbabaie, ICLR 2020",
    aliases=("l0l1", "gorbunov", "lobanov", "zhang-clipping"))


# ------------------------------------------------------------------ LS-1: two phases of (L0,L1)-GD

LS1_L0, LS1_L1, LS1_X0 = 4.0, 3.0, 100.0
LS1_R_MIN = 10.0     # phase-1 comparison where 1 - 4/(3R) is accurate to first order (error ~ 1/(2R) <= 5%)
LS1_RTOL = 0.10      # relative tolerance on the contraction 1 - q against 4/(3R)
LS1_TAIL_Q = 0.99    # a sublinear phase: the per-step contraction over the late tail is at least this
LS1_STEPS = {"quick": 3000, "full": 30000}


@PAPER.claim("LS-1", "Lobanov et al. arXiv 2412.17050 [text]; contraction 1 - 4/(3R) DERIVED",
             "(L0,L1)-GD (eta = 1) on x^4 with (L0, L1) = (4, 3) from x0 = 100 decreases f linearly while "
             "||f'|| >= L0/L1 (per-step contraction 1 - 4/(3R), R = |x|) and sublinearly after; the phase change "
             "is at |x| = 3^(-1/3).",
             control="plain GD with the L-smooth step 1/L, L = 12 x0^2, of the starting region")
def check_ls1(size="quick", control=False):
    T = LS1_STEPS[size]
    if control:
        res = run("monomial", "gd", steps=T, x0=[LS1_X0], problem_settings=dict(p=4), record=np.arange(T + 1),
                  eta=1.0 / (12 * LS1_X0 ** 2))
    else:
        res = run("monomial", "l0l1-gd", steps=T, x0=[LS1_X0], problem_settings=dict(p=4), eta=1.0,
                  record=np.arange(T + 1),
                  L0=LS1_L0, L1=LS1_L1)
    steps, x, gap, gn = res.steps, np.abs(res.x[:, 0]), res.loss, res.grad_norm
    level = LS1_L0 / LS1_L1
    pc = phase_change(steps, gn, gap, level)
    x_cross_pred = 3.0 ** (-1.0 / 3.0)
    checks = {}
    if pc["crossing"] is None:
        checks["phase change detected"] = False
        crossing_ok = False
        dev = np.nan
        tail_q = np.nan
        p_after = np.nan
    else:
        k = pc["index"]
        crossing_ok = bool(x[k] < x_cross_pred <= x[k - 1])
        checks["crossing brackets |x| = 3^(-1/3)"] = crossing_ok
        # phase 1: per-step contraction 1 - q_t against 4/(3 R_t), where R_t >= LS1_R_MIN
        q = gap[1:k + 1] / gap[:k]
        R = x[:k]
        sel = R >= LS1_R_MIN
        rel = np.abs((1 - q[sel]) / (4.0 / (3.0 * R[sel])) - 1.0)
        dev = float(rel.max()) if rel.size else np.nan
        checks[f"phase 1: |1 - q|/(4/(3R)) within {LS1_RTOL:g} for R >= {LS1_R_MIN:g}"] = bool(
            rel.size > 0 and dev <= LS1_RTOL)
        tail_q = pc["q_after_end"] if pc["q_after_end"] is not None else np.nan
        p_after = pc["power_after"]["slope"] if pc["power_after"] else np.nan
        checks[f"phase 2 sublinear: late per-step contraction >= {LS1_TAIL_Q}"] = bool(tail_q >= LS1_TAIL_Q)
        checks["phase 2 still decreasing: fitted power-law exponent < 0"] = bool(p_after < 0)
    ok = all(checks.values())
    failed = [k for k, v in checks.items() if not v]
    return Evidence(
        verdict(ok),
        measured=(f"crossing at step {pc['crossing']}, " if pc["crossing"] is not None else "no crossing, ")
        + f"phase-1 max rel. dev. {dev:.3g}, late q = {tail_q:.5g}, phase-2 exponent {p_after:.3g}",
        predicted="crossing at |x| = 3^(-1/3) = 0.693; 1 - q = 4/(3R) in phase 1; q -> 1 (sublinear) after",
        tolerance=f"rel. {LS1_RTOL:g} for R >= {LS1_R_MIN:g}; late q >= {LS1_TAIL_Q}",
        why="all checks hold" if ok else "failed: " + "; ".join(failed),
        numbers={"crossing_step": num(np.nan if pc["crossing"] is None else pc["crossing"], kind="round",
                                      note="first step with |f'| <= L0/L1 (nan: none)"),
                 "crossing_abs_x": num(np.nan if pc["crossing"] is None else x[pc["index"]], x_cross_pred,
                                       kind="value", note="|x| at the crossing step; predicted 3^(-1/3), bracketed"),
                 "phase1_max_rel_dev": num(dev, LS1_RTOL, kind="value", rule="le",
                                           note=f"max |(1 - q)/(4/(3R)) - 1| for R >= {LS1_R_MIN:g}"),
                 "late_contraction": num(tail_q, LS1_TAIL_Q, kind="ratio", rule="ge"),
                 "phase2_exponent": num(p_after, 0.0, kind="exponent", rule="lt"),
                 "checks_holding": num(sum(checks.values()), len(checks), kind="count", rule="eq")},
        details={"checks": checks, "crossing_step": pc["crossing"], "phase1_max_rel_dev": dev,
                 "late_contraction": tail_q, "phase2_exponent": p_after, "steps": T,
                 "algorithm": res.algorithm, "x0": LS1_X0},
        seeds=[0], plots={"ls1_two_phases": lambda: _plot_ls1(steps, gap, gn, level, pc, control)})


def _plot_ls1(steps, gap, gn, level, pc, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0, height=3.2)
    a, b = axs[0]
    a.semilogy(steps, gap, color="#1f77b4")
    a.set_xlabel("step t")
    a.set_ylabel(r"$f(x_t) - f^*$")
    b.loglog(steps[1:], gn[1:], color="#2ca02c", label=r"$|f'(x_t)|$")
    b.axhline(level, color="k", ls="--", lw=1, label=r"$L_0/L_1$")
    for ax in (a, b):
        if pc["crossing"] is not None:
            ax.axvline(max(pc["crossing"], 1), color="#d62728", lw=1, label="detected phase change")
    b.set_xlabel("step t")
    b.legend(fontsize=7)
    a.set_title(("GD 1/L (control)" if control else r"$(L_0,L_1)$-GD, $x^4$, (4, 3)") + r", $x_0 = 100$")
    return fig


# ------------------------------------------------------------------ LS-2: Gorbunov et al.'s x^4 experiment

LS2_X0S = (1.0, 10.0, 100.0)
LS2_TARGET = {"quick": 1e-2, "full": 1e-3}   # steps to |f'(x)| <= target
LS2_BUDGET = {"quick": 2 * 10 ** 6, "full": 2 * 10 ** 7}
LS2_METHODS = ("gd", "l0l1-gd", "polyak", "adgd")


def _ls2_settings(method, x0, control):
    if method == "gd":
        return dict(eta=1.0 / (12.0 * x0 ** 2))
    if method == "l0l1-gd":
        return dict(eta=1.0, L0=4.0, L1=0.0 if control else 3.0)
    if method == "adgd":
        return dict(lambda0=1e-6)
    return {}


def ls2_iterations(budget, target, control=False, x0s=LS2_X0S):
    """Steps to ``|f'| <= target`` for each method and x0 (NaN: not within ``budget``). A run stops once
    its running average of ``|f'|`` is below the target (the first crossing is recorded before)."""
    out = {}
    prob = make_problem("monomial", p=4)
    for m in LS2_METHODS:
        alg = get_algorithm(m)
        sets = [alg.resolve(_ls2_settings(m, x0, control)) for x0 in x0s]
        rec, x, loss, gn, st = run_batch(alg, [prob] * len(x0s), sets, [0] * len(x0s), budget,
                                         x0s=[np.array([x0]) for x0 in x0s], record=[], targets=-target)
        r = st["first_below_target"]
        out[m] = [float(v) if v >= 0 else math.nan for v in r]
    return out


@PAPER.claim("LS-2", "Gorbunov et al. arXiv 2409.14989, Fig. 1 [text via a secondary source]",
             "On f = x^4 from x0 in {1, 10, 100}: GD with 1/L (L = 12 x0^2) slows down as x0 grows (scale-invariant "
             "trajectory x_t/x0); Polyak and AdGD need the fewest steps; (L0,L1)-GD with (4, 3) needs a number of "
             "steps polynomial in x0 (O(L0 R^2/eps + L1^2 R^2), no exp(L1 R)).",
             control="(L0,L1)-GD with L1 = 0 (the fixed step eta/L0), which overflows from x0 = 100")
def check_ls2(size="quick", control=False):
    its = ls2_iterations(LS2_BUDGET[size], LS2_TARGET[size], control)
    checks = {}
    gd = its["gd"]
    checks["GD: steps grow with x0"] = bool(np.all(np.isfinite(gd)) and gd[0] < gd[1] < gd[2])
    # scale invariance: u_t = x_t/x0 is the same sequence for every x0 (compared over 200 steps)
    us = [run("monomial", "gd", steps=200, x0=[x0], eta=1.0 / (12 * x0 ** 2)).x[:, 0] / x0 for x0 in LS2_X0S]
    inv = float(max(np.max(np.abs(u - us[0])) for u in us))
    checks["GD: x_t/x0 independent of x0 (1e-12)"] = inv <= 1e-12
    for x0, k in zip(LS2_X0S, range(3)):
        fast = max(its["polyak"][k], its["adgd"][k])
        slow = min(its["gd"][k], its["l0l1-gd"][k])
        checks[f"x0 = {x0:g}: Polyak and AdGD fewest steps"] = bool(np.isfinite(fast) and fast <= slow)
    l0 = its["l0l1-gd"]
    # polynomial growth: steps(100)/steps(10) at most the L1^2 R^2 scaling (100x) -- exp(L1 R) would be e^270
    checks["(L0,L1)-GD: steps(x0=100)/steps(x0=10) <= (100/10)^2"] = bool(
        np.all(np.isfinite(l0)) and l0[2] / l0[1] <= (LS2_X0S[2] / LS2_X0S[1]) ** 2)
    ok = all(checks.values())
    table = {m: dict(zip([f"x0={x:g}" for x in LS2_X0S], v)) for m, v in its.items()}
    return Evidence(
        verdict(ok), measured="; ".join(f"{m}: " + "/".join(f"{v:.0f}" for v in vals) for m, vals in its.items()),
        predicted="GD increasing in x0; Polyak, AdGD fewest; (L0,L1)-GD polynomial in x0",
        tolerance=f"steps to |f'| <= {LS2_TARGET[size]:g} within {LS2_BUDGET[size]} steps",
        why="all checks hold" if ok else "failed: " + "; ".join(k for k, v in checks.items() if not v),
        numbers=dict({f"steps_{m}": num(v, kind="count", note=f"steps to |f'| <= target per x0 in {list(LS2_X0S)} "
                                                              "(nan: not within the budget)")
                      for m, v in its.items()},
                     gd_scale_invariance_max_dev=num(inv, 1e-12, kind="value", rule="le"),
                     l0l1_steps_ratio_x0_100_over_10=num(l0[2] / l0[1], (LS2_X0S[2] / LS2_X0S[1]) ** 2, kind="ratio",
                                                         rule="le"),
                     checks_holding=num(sum(checks.values()), len(checks), kind="count", rule="eq")),
        details={"steps_to_target": table, "checks": checks, "gd_scale_invariance_max_dev": inv},
        seeds=[0], plots={"gorbunov_fig1": lambda: _plot_ls2(control), "vankov_fig1": _plot_vankov1,
                          "vankov_fig2": _plot_vankov2})


# Vankov et al. (arXiv 2410.10800) Figs. 1-2, as read in a secondary summary: f = (1/p)||x||^p, L1 = 1,
# L0 = ((p-2)/L1)^(p-2); GM with the step 1/(L0 + L1 ||g||) (our reading of their rule (9)), NGM with
# R_hat in {R/2, 2R, 10R}, Polyak (PS-GM). p = 4, d = 10, ||x0|| = R = 10 are OUR choices (not re-read).
VK_P, VK_D, VK_R, VK_STEPS = 4.0, 10, 10.0, 2000


def _vk_problem():
    return make_problem("abs-power", p=VK_P, d=VK_D, radial=1, x0=VK_R / math.sqrt(VK_D))


def _plot_vankov1():
    from theorybench.plotting import new_figure
    fig, axs = new_figure(width=4.8, height=3.4)
    ax = axs[0][0]
    prob = _vk_problem()
    L0 = (VK_P - 2.0) ** (VK_P - 2.0)
    runs = [("l0l1-gd", dict(eta=1.0, L0=L0, L1=1.0), r"GM $1/(L_0 + L_1\|g\|)$"),
            ("polyak", {}, "PS-GM (Polyak)")] + [
        ("normalized-gd", dict(R_hat=c * VK_R), rf"NGM $\hat R = {c:g}R$") for c in (0.5, 2.0, 10.0)]
    for m, h, lab in runs:
        r = run(prob, m, steps=VK_STEPS, **h)
        ax.loglog(r.steps[1:], np.maximum(r.loss[1:], 1e-300), label=lab)
    ax.set_ylim(1e-16, None)
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$f(x_k) - f^*$")
    ax.set_title(rf"$f = \|x\|^{VK_P:g}/{VK_P:g}$, $d = {VK_D}$, $R = {VK_R:g}$ (Vankov et al. Fig. 1)", fontsize=8)
    ax.legend(fontsize=7)
    return fig


def _plot_vankov2():
    from theorybench.plotting import new_figure
    fig, axs = new_figure(width=4.8, height=3.4)
    ax = axs[0][0]
    prob = _vk_problem()
    for L1 in (1.0, 2.0, 4.0, 8.0, 16.0):
        L0 = ((VK_P - 2.0) / L1) ** (VK_P - 2.0)
        r = run(prob, "l0l1-gd", steps=VK_STEPS, eta=1.0, L0=L0, L1=L1)
        ax.loglog(r.steps[1:], np.maximum(r.loss[1:], 1e-300), label=rf"$L_1 = {L1:g}$")
    ax.set_xlabel("iteration")
    ax.set_ylabel(r"$f(x_k) - f^*$")
    ax.set_title(r"GM with $(L_0, L_1)$ on the tight curve (Vankov et al. Fig. 2)", fontsize=8)
    ax.legend(fontsize=7)
    return fig


def _plot_ls2(control):
    """Gorbunov et al. Fig. 1: f(x_t) for the six methods on x^4, x0 in {1, 10, 100}."""
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=3, width=10.0, height=3.2)
    methods = [("gd", "GD 1/L"), ("l0l1-gd", r"$(L_0,L_1)$-GD"), ("clipped-gd", "clipped GD"),
               ("normalized-gd", "normalized GD"), ("polyak", "Polyak"), ("adgd", "AdGD")]
    for ax, x0 in zip(axs[0], LS2_X0S):
        for m, lab in methods:
            h = _ls2_settings(m, x0, control) if m in LS2_METHODS else (
                dict(eta=1.0 / 12.0, gamma=1.0 / 12.0 * 4.0 / 3.0, convention="grad") if m == "clipped-gd"
                else dict(R_hat=2.0 * x0))  # normalized GD: R_hat = 2 x0 (an over-estimate; R_hat = x0 lands on 0 in one step)
            r = run("monomial", m, steps=1000, x0=[x0], **h)
            # normalized GD oscillates over a wide band: drawn thin and light, underneath, so the smooth
            # curves it crosses (GD 1/L above all, drawn on top and dashed) stay visible
            style = (dict(lw=0.6, alpha=0.45, zorder=1) if m == "normalized-gd" else
                     dict(lw=2.0, ls="--", zorder=4) if m == "gd" else dict(zorder=3))
            ax.loglog(r.steps[1:], np.maximum(r.loss[1:], 1e-300), label=lab, **style)
        ax.set_ylim(1e-30, max(1.0, x0 ** 4) * 10)
        ax.set_xlabel("iteration")
        ax.set_title(rf"$f = x^4$, $x_0 = {x0:g}$")
    axs[0][0].set_ylabel(r"$f(x_t)$")
    handles, labels = axs[0][0].get_legend_handles_labels()
    fig.tight_layout()  # the legend below the panels, covering none of them
    leg = fig.legend(handles, labels, loc="upper center", ncol=6, fontsize=7, bbox_to_anchor=(0.5, 0.0),
                     frameon=False)
    for line in leg.get_lines():
        line.set_alpha(1.0)
        line.set_linewidth(1.6)
    return fig


# ------------------------------------------------------------------ LS-3: fixed steps fail on cosh

LS3_X0S = {"quick": (2.0, 4.0, 6.0, 8.0), "full": (2.0, 4.0, 6.0, 8.0, 10.0, 12.0)}
LS3_REL = 0.02          # the largest convergent step lies within +-2% of 2 x0/sinh(x0)
LS3_F_TARGET = 1e-6
LS3_GRAD_TARGET = math.sqrt(2 * LS3_F_TARGET)  # near 0, f = cosh x - 1 ~ x^2/2 and |f'| ~ |x|: f <= 1e-6
LS3_BUDGET = {"quick": 2 * 10 ** 6, "full": 2 * 10 ** 7}
LS3_EXP_TOL = 0.2       # log(steps) grows in x0 with slope 1 (steps ~ sinh(x0)/x0) to within 0.2
LS3_LIN_TOL = 0.2       # (L0,L1)-GD steps grow at most like x0^(1 + 0.2)
LS3_FRACTION = 0.9      # the fixed step used: 90% of the largest convergent one (1/2 is degenerate: it maps
                        # x0 exactly to the minimiser, x0 - (x0/sinh x0) sinh x0 = 0)


def _ls3_largest_step(x0s, budget):
    """For each x0: does fixed-step GD reach f <= 1e-6 at (1 -+ LS3_REL) 2 x0/sinh(x0)?"""
    prob = make_problem("cosh")
    alg = get_algorithm("gd")
    probs, sets, starts = [], [], []
    for x0 in x0s:
        pred = 2 * x0 / math.sinh(x0)
        for f in (1 - LS3_REL, 1 + LS3_REL):
            probs.append(prob)
            sets.append(alg.resolve(dict(eta=pred * f)))
            starts.append(np.array([x0]))
    rec, x, loss, gn, st = run_batch(alg, probs, sets, [0] * len(probs), budget, x0s=starts, record=[],
                                     targets=-LS3_GRAD_TARGET)  # stop at the running-average crossing
    hit = st["first_below_target"].reshape(len(x0s), 2)
    return hit


def _ls3_steps(algo, x0s, budget, hyper_of):
    prob = make_problem("cosh")
    alg = get_algorithm(algo)
    sets = [alg.resolve(hyper_of(x0)) for x0 in x0s]
    rec, x, loss, gn, st = run_batch(alg, [prob] * len(x0s), sets, [0] * len(x0s), budget,
                                     x0s=[np.array([x0]) for x0 in x0s], record=[], targets=-LS3_GRAD_TARGET)
    r = st["first_below_target"]
    return np.where(r >= 0, r, np.nan)


@PAPER.claim("LS-3", "Zhang, He, Sra, Jadbabaie, ICLR 2020 (fixed step fails) [derived instance]",
             "On f = cosh(x) - 1 ((L0, L1) = (1, 1)): the largest convergent fixed step is 2 x0/sinh(x0) and the "
             "steps to f <= 1e-6 of GD with such a step grow like sinh(x0)/x0 (log-slope 1 in x0), while "
             "(L0,L1)-GD (eta = 1) needs steps at most linear in x0.",
             control="(L0,L1)-GD in place of the fixed-step GD (its steps do not explode)")
def check_ls3(size="quick", control=False):
    x0s = LS3_X0S[size]
    budget = LS3_BUDGET[size]
    hit = _ls3_largest_step(x0s, budget)
    threshold_ok = bool(np.all(hit[:, 0] >= 0) and np.all(hit[:, 1] < 0))
    fixed = ((lambda x0: dict(eta=1.0, L0=1.0, L1=1.0)) if control else
             (lambda x0: dict(eta=LS3_FRACTION * 2 * x0 / math.sinh(x0))))
    gd_steps = _ls3_steps("l0l1-gd" if control else "gd", x0s, budget, fixed)
    l0l1_steps = _ls3_steps("l0l1-gd", x0s, budget, lambda x0: dict(eta=1.0, L0=1.0, L1=1.0))
    ok_gd = np.all(np.isfinite(gd_steps))
    exp_slope = float(np.polyfit(x0s, np.log(gd_steps), 1)[0]) if ok_gd else np.nan
    lin = fit_power_law(x0s, l0l1_steps)
    checks = {f"largest convergent step within +-{LS3_REL:g} of 2 x0/sinh(x0)": threshold_ok,
              f"fixed step ({LS3_FRACTION:g} x the largest): d log(steps)/d x0 = 1 +- {LS3_EXP_TOL:g}": bool(
                  ok_gd and abs(exp_slope - 1.0) <= LS3_EXP_TOL),
              f"(L0,L1)-GD: steps ~ x0^p with p <= 1 + {LS3_LIN_TOL:g}": bool(
                  np.all(np.isfinite(l0l1_steps)) and lin["hi"] <= 1.0 + LS3_LIN_TOL)}
    ok = all(checks.values())
    return Evidence(
        verdict(ok),
        measured=f"fixed-step log-slope {exp_slope:.3g}; (L0,L1)-GD exponent {lin['slope']:.3g} "
                 f"[{lin['lo']:.3g}, {lin['hi']:.3g}]; threshold bracketed at {int((hit[:, 0] >= 0).sum())}/{len(x0s)} "
                 f"(converge) and {int((hit[:, 1] < 0).sum())}/{len(x0s)} (fail)",
        predicted="largest step 2 x0/sinh(x0); fixed-step log-slope 1; (L0,L1)-GD exponent <= 1",
        tolerance=f"+-{LS3_REL:g} on the step; {LS3_EXP_TOL:g} on the log-slope; {LS3_LIN_TOL:g} on the exponent",
        why="all checks hold" if ok else "failed: " + "; ".join(k for k, v in checks.items() if not v),
        numbers={"fixed_step_log_slope": num(exp_slope, 1.0, LS3_EXP_TOL, kind="rate", rule="abs",
                                             note="d log(steps)/d x0"),
                 "l0l1_exponent": num(lin["slope"], 1.0, LS3_LIN_TOL, kind="exponent", ci=[lin["lo"], lin["hi"]]),
                 "l0l1_exponent_upper": num(lin["hi"], 1.0 + LS3_LIN_TOL, kind="exponent", rule="le",
                                            note="upper end of the exponent's interval"),
                 "threshold_converge_bracketed": num(int((hit[:, 0] >= 0).sum()), len(x0s), kind="count", rule="eq"),
                 "threshold_fail_bracketed": num(int((hit[:, 1] < 0).sum()), len(x0s), kind="count", rule="eq")},
        details={"x0": list(x0s), "fixed_step_steps": gd_steps.tolist(), "l0l1_steps": l0l1_steps.tolist(),
                 "fixed_log_slope": exp_slope, "l0l1_fit": {k: lin[k] for k in ("slope", "lo", "hi")},
                 "checks": checks},
        seeds=[0], plots={"ls3_fixed_step_blowup": lambda: _plot_ls3(x0s, gd_steps, l0l1_steps, control, hit)})


def _plot_ls3(x0s, gd_steps, l0l1_steps, control, hit):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0, height=3.2)
    a, b = axs[0]
    xx = np.linspace(1.0, max(x0s), 200)
    a.semilogy(xx, 2 * xx / np.sinh(xx), color="k", lw=1, label=r"$2x_0/\sinh x_0$")
    pred = np.array([2 * x / math.sinh(x) for x in x0s])
    xs0 = np.asarray(x0s)
    for col, f in ((0, 1 - LS3_REL), (1, 1 + LS3_REL)):
        conv = hit[:, col] >= 0
        if conv.any():
            a.semilogy(xs0[conv], (pred * f)[conv], "o", ms=4, color="#2ca02c", label=f"{f:g} x: converges")
        if (~conv).any():
            a.semilogy(xs0[~conv], (pred * f)[~conv], "x", ms=5, color="#d62728", label=f"{f:g} x: does not")
    a.set_xlabel(r"$x_0$")
    a.set_ylabel("largest convergent fixed step")
    a.legend(fontsize=7)
    b.semilogy(x0s, gd_steps, "o-", label="(L0,L1)-GD (control)" if control else f"GD, {LS3_FRACTION:g} x the largest step")
    b.semilogy(x0s, l0l1_steps, "s-", label=r"$(L_0,L_1)$-GD, $\eta = 1$")
    b.set_xlabel(r"$x_0$")
    b.set_ylabel(r"steps to $f \leq 10^{-6}$")
    b.legend(fontsize=7)
    return fig
