"""Muon does not converge on convex Lipschitz functions (Parshakova, Khaled, Crawshaw, Garrigos, Gower,
arXiv 2605.08980): claims MU-1..MU-4 on the counterexample
``f(W) = c |W11 + W22| + |W11 - W22|`` (``problems/muon_counterexample.py``).

MU-1 and MU-2 are DERIVED statements of the mechanism (only the diagonal moves; Muon on a diagonal
objective is signed momentum); MU-3 is the Polyak 2-cycle; MU-4 the convergence of EF / EF-Muon with the
rank-scaled polar compressor at the rate T^-1/2 (the bound is the paper's [text], the exponent is fitted).
"""
import math

import numpy as np

from problems.muon_counterexample import diag_start
from theorybench import make_problem, run_batch
from theorybench.algorithms import get_algorithm
from theorybench.claims import Evidence, num, register_paper, verdict
from theorybench.measure import fit_power_law

PAPER = register_paper(
    "muon_nonconvergence_arxiv26",
    "Muon does not converge on convex Lipschitz functions",
    "Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980 (2026)",
    aliases=("muon", "muon-counterexample", "mu"))

REL = 1e-12        # floating-point slack of the invariants (fixed a priori)
EXP_TOL = 0.1      # |fitted exponent - (-1/2)| allowed in MU-4 (fixed a priori)

SETTING_I = dict(c=0.5, w11=0.75, w22=0.5, power=0.51)
SCHEDULES_MU1 = {"constant": dict(schedule="constant", alpha0=0.1),
                 "power": dict(schedule="power", alpha0=1.0, power=0.51),
                 "random": dict(schedule="random", alpha0=0.5),
                 "polyak": dict(schedule="polyak")}


def _runs(alg_name, cases, steps):
    """cases: list of (problem settings, start (w11, w22), hyperparameters). Dense records."""
    alg = get_algorithm(alg_name)
    probs, sets, x0s = [], [], []
    for ps, (a, b), hp in cases:
        p = make_problem("muon-counterexample", **ps)
        m, n = p.shape
        probs.append(p)
        sets.append(alg.resolve(hp))
        x0s.append(diag_start(a, b, m, n))
    rec, x, loss, gn, st = run_batch(alg, probs, sets, list(range(len(cases))), steps, x0s,
                                     record=np.arange(steps + 1))
    return probs, rec, x, loss, st


def _diag(x, p):
    m, n = p.shape
    return x[..., 0], x[..., n + 1]


def _offdiag_max(x, p):
    m, n = p.shape
    mask = np.ones(m * n, bool)
    mask[[0, n + 1]] = False
    return float(np.nanmax(np.abs(x[..., mask]))) if mask.any() else 0.0


# ------------------------------------------------------------------ MU-1

@PAPER.claim("MU-1", "Theorem (b = 0, any schedule) [DERIVED statement]",
             "With b = 0 (Muon = normalized spectral/sign steps), W11 + W22 is invariant under every step "
             "schedule (constant, power, random, Polyak), so f(W_t) >= c |W11^0 + W22^0| (= 0.625 on setting (i)).",
             control="c = 1.5 > 1: the subgradient's signs agree and Muon converges")
def check_mu1(size="quick", control=False):
    steps = 1500 if size == "quick" else 100000
    c = 1.5 if control else SETTING_I["c"]
    a, b = SETTING_I["w11"], SETTING_I["w22"]
    bound = c * abs(a + b)
    shapes = [(2, 2), (3, 4)]
    rows, ok, curves = [], True, {}
    for alg_name in ("muon", "signed-momentum", "sign-descent"):
        cases = [(dict(c=c, m=m, n=n), (a, b), dict(sch) if alg_name == "sign-descent" else dict(beta=0.0, **sch))
                 for m, n in shapes for sch in SCHEDULES_MU1.values()]
        keys = [(f"{m}x{n}", k) for m, n in shapes for k in SCHEDULES_MU1]
        for (shape, sk), case in zip(keys, cases):
            probs, rec, x, loss, st = _runs(alg_name, [case], steps)
            p = probs[0]
            d11, d22 = _diag(x[0], p)
            minf = float(np.nanmin(loss[0]))
            drift = float(np.nanmax(np.abs(d11 + d22 - (a + b))))
            off = _offdiag_max(x[0], p)
            good = minf >= bound * (1 - REL) and st[0, 0] < 0
            ok &= good
            rows.append({"algorithm": alg_name, "shape": shape, "schedule": sk, "min_f": minf,
                         "max_sum_drift": drift, "max_offdiag": off, "ok": bool(good)})
            if shape == "2x2" and alg_name == "muon":
                curves[sk] = (rec, loss[0], d11 + d22)
    # the Newton-Schulz variant, reported (not part of the verdict): its polar factor is inexact
    probs, rec, x, loss, st = _runs("muon-ns", [(dict(c=c), (a, b), dict(beta=0.0, **SCHEDULES_MU1["power"]))],
                                    steps)
    ns = {"min_f": float(np.nanmin(loss[0])), "final_f": float(loss[0, -1])}
    # the tie rule sgn(0) = 0 in the oracle (docs/conventions.md, section "Sign ties"), reported (not the verdict)
    probs, rec, x, loss, st = _runs("muon", [(dict(c=c, tie=0.0), (a, b), dict(beta=0.0, **SCHEDULES_MU1["power"]))],
                                    steps)
    below = np.nonzero(loss[0] < bound * (1 - REL))[0]
    tie0 = {"min_f": float(np.nanmin(loss[0])), "first_step_below_bound": int(below[0]) if below.size else None}
    worst = min(rows, key=lambda r: r["min_f"])
    return Evidence(
        verdict(ok),
        measured=(f"min_t f(W_t) = {worst['min_f']:.6g} (worst of {len(rows)} runs: {worst['algorithm']}, "
                  f"{worst['shape']}, {worst['schedule']}); max |W11+W22 - s0| = "
                  f"{max(r['max_sum_drift'] for r in rows):.2g}; off-diagonal max {max(r['max_offdiag'] for r in rows):.2g}"),
        predicted=f"f(W_t) >= c|W11^0 + W22^0| = {bound:g} for all t <= {steps}",
        tolerance=f"relative {REL:g}",
        why=("W11 + W22 stays put under every schedule; only the diagonal moves" if ok else
             "f fell below c|W11^0 + W22^0|: the invariant is broken (c > 1 makes both signs agree)"),
        numbers={"min_f": num([r["min_f"] for r in rows], bound * (1 - REL), kind="value", rule="ge",
                              note="min_t f(W_t) per (algorithm, shape, schedule); predicted: c|W11^0 + W22^0| "
                                   "less the relative tolerance"),
                 "max_sum_drift": num([r["max_sum_drift"] for r in rows], kind="value",
                                      note="max_t |W11 + W22 - s0| per run"),
                 "muon_ns_min_f": num(ns["min_f"], kind="value", note="Muon-NS, power schedule (reported)")},
        details={"rows": rows, "c": c, "W0": [a, b], "steps": steps, "muon_ns_power_schedule": ns, "tie0_power_schedule": tie0,
                 "note": "Muon-NS (quintic, 5 steps) has unequal output singular values, so W11 + W22 drifts; "
                         "reported only"},
        seeds=list(range(1)), plots={"mu1_f_and_sum": lambda: _plot_mu1(curves, bound, control)})


def _plot_mu1(curves, bound, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.4)
    styles = [dict(lw=3.2, ls="-"), dict(lw=2.2, ls="--"), dict(lw=1.5, ls="-."), dict(lw=1.0, ls=":")]
    for j, (k, (rec, f, s)) in enumerate(curves.items()):
        line, = axs[0][0].plot(rec, f, label=k, lw=1)
        # the four sums coincide (the invariant): nested widths and dashes keep each one visible, and the
        # legend gives each schedule's largest drift from s0
        drift = float(np.nanmax(np.abs(s - s[0]))) if len(s) else float("nan")
        axs[0][1].plot(rec, s, color=line.get_color(), label=f"{k}: max drift {drift:.1g}",
                       **styles[j % len(styles)])
    axs[0][0].axhline(bound, color="k", ls="--", lw=1, label=r"$c|W_{11}^0+W_{22}^0|$")
    axs[0][0].set_xscale("symlog", linthresh=1)
    axs[0][0].set_yscale("log")
    axs[0][0].set_xlabel("step t")
    axs[0][0].set_ylabel(r"$f(W_t)$")
    axs[0][0].set_title("Muon, b = 0" + (" (control: c = 1.5)" if control else ", c = 0.5"))
    axs[0][0].legend(fontsize=7)
    axs[0][1].set_xscale("symlog", linthresh=1)
    axs[0][1].set_xlabel("step t")
    axs[0][1].set_ylabel(r"$W_{11}+W_{22}$")
    s0 = next(iter(curves.values()))[2][0] if curves else 1.0
    axs[0][1].set_ylim(min(0.0, 1.1 * np.nanmin([np.nanmin(v[2]) for v in curves.values()])), 1.5 * abs(s0) + 0.1)
    axs[0][1].set_title(r"$W_{11}+W_{22}$ under each schedule" + (" (control)" if control else ""))
    axs[0][1].legend(fontsize=7, loc="best")
    for ax in axs[0]:
        ax.set_xlim(left=0)
    return fig


# ------------------------------------------------------------------ MU-2

def mu2_start(steps_sum=None):
    """S = sum_t (-1)^t/(t+1) = ln 2 (the infinite sum)."""
    return math.log(2.0)


@PAPER.claim("MU-2", "Theorem (momentum b in (0,1)) [DERIVED statement]",
             "b in (0,1), c < (1-b)/(1+b), alpha_t = 1/(t+1), W0 = diag(1+S, 1-S) with S = sum (-1)^t alpha_t = "
             "ln 2: the iterates alternate sides, W11 + W22 = 2 forever and f(W_t) >= 2c; the condition is "
             "sharp (at 1.01 (1-b)/(1+b) the iterates escape).",
             control="c = 1.01 (1-b)/(1+b): just above the condition, the iterates escape and f drops below 2c")
def check_mu2(size="quick", control=False):
    steps = 2000 if size == "quick" else 100000
    bs = [0.5, 0.9] if size == "quick" else [0.1, 0.5, 0.9, 0.99]
    S = mu2_start()
    rows, ok, curves = [], True, {}
    for alg_name in ("muon", "signed-momentum"):
        for b in bs:
            crit = (1 - b) / (1 + b)
            cs = [1.01 * crit] if control else [0.5 * crit, 0.99 * crit]
            for c in cs:
                probs, rec, x, loss, st = _runs(alg_name, [(dict(c=c), (1 + S, 1 - S),
                                                            dict(beta=b, schedule="power", alpha0=1.0, power=1.0))],
                                                steps)
                p = probs[0]
                d11, d22 = _diag(x[0], p)
                minf = float(np.nanmin(loss[0]))
                drift = float(np.nanmax(np.abs(d11 + d22 - 2.0)))
                alt = np.sign(d11 - d22)
                alternates = bool(np.all(alt[1:] * alt[:-1] < 0))
                good = minf >= 2 * c * (1 - 1e-9) and drift <= 1e-9
                ok &= good
                rows.append({"algorithm": alg_name, "b": b, "c": c, "c_over_bound": c / crit, "min_f": minf,
                             "two_c": 2 * c, "max_sum_drift": drift, "alternates": alternates, "ok": bool(good)})
                if alg_name == "muon" and b == 0.9:
                    curves[f"c = {c / crit:.2f} (1-b)/(1+b)"] = (rec, loss[0] / (2 * c), d11 + d22)
    worst = min(rows, key=lambda r: r["min_f"] / r["two_c"])
    return Evidence(
        verdict(ok),
        measured=(f"min_t f/(2c) = {worst['min_f'] / worst['two_c']:.6g} (worst: {worst['algorithm']}, b={worst['b']}, "
                  f"c={worst['c_over_bound']:.2f}x bound); max |W11+W22-2| = "
                  f"{max(r['max_sum_drift'] for r in rows):.2g}; all alternate: {all(r['alternates'] for r in rows)}"),
        predicted=f"f(W_t) >= 2c and W11 + W22 = 2 for t <= {steps}",
        tolerance="relative 1e-9 (the start uses the infinite sum ln 2)",
        why=("below the condition the iterates alternate and W11 + W22 = 2" if ok else
             "W11 + W22 left 2 and f fell below 2c (the iterates escaped)"),
        numbers={"min_f_over_2c": num([r["min_f"] / r["two_c"] for r in rows], 1 - 1e-9, kind="ratio", rule="ge",
                                      note="per (algorithm, b, c)"),
                 "max_sum_drift": num([r["max_sum_drift"] for r in rows], 1e-9, kind="value", rule="le",
                                      note="max_t |W11 + W22 - 2| per run"),
                 "alternating_runs": num(sum(r["alternates"] for r in rows), len(rows), kind="count")},
        details={"rows": rows, "steps": steps, "S": S},
        plots={"mu2_momentum": lambda: _plot_mu2(curves, control)})


def _plot_mu2(curves, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.4)
    for k, (rec, fr, s) in curves.items():
        axs[0][0].plot(rec, fr, lw=1, label=k)
        axs[0][1].plot(rec, s, lw=1, label=k)
    axs[0][0].axhline(1.0, color="k", ls="--", lw=1)
    axs[0][0].set_xscale("symlog", linthresh=1)
    axs[0][0].set_yscale("log")
    axs[0][0].set_xlabel("step t")
    axs[0][0].set_ylabel(r"$f(W_t)/(2c)$")
    axs[0][0].set_title("Muon, b = 0.9, $\\alpha_t = 1/(t+1)$" + (" (control)" if control else ""))
    axs[0][0].legend(fontsize=7)
    axs[0][1].set_xscale("symlog", linthresh=1)
    axs[0][1].set_xlabel("step t")
    axs[0][1].set_ylabel(r"$W_{11}+W_{22}$")
    axs[0][1].set_ylim(-0.1, 3.0)
    for ax in axs[0]:
        ax.set_xlim(left=0)
    return fig


# ------------------------------------------------------------------ MU-3

@PAPER.claim("MU-3", "Polyak step (b = 0), setting (iii)",
             "Polyak sign steps alpha_t = (f(W_t) - f*)/||G_t||_* (nuclear norm), b = 0, fall into a 2-cycle with "
             "f above f(W0). DERIVED precise form (c < 1): after one step |W11 - W22| = c|W11^0 + W22^0|, the cycle "
             "has f = 2c|W11^0 + W22^0|, which exceeds f(W0) iff |W11^0 - W22^0| < c|W11^0 + W22^0| (true on "
             "setting (i)'s start diag(0.75, 0.5)).",
             control="the Euclidean Polyak step (subgradient method, alpha_t = (f - f*)/||G_t||_F^2) converges")
def check_mu3(size="quick", control=False):
    steps = 100 if size == "quick" else 10000
    starts = [(0.75, 0.5)] if size == "quick" else [(0.75, 0.5), (1.0, -0.3), (2.0, 1.5), (-0.4, -1.1)]
    c = 0.5
    alg = "subgradient" if control else "muon"
    rows, ok, show = [], True, None
    for (a, b) in starts:
        hp = dict(schedule="polyak") if control else dict(schedule="polyak", beta=0.0)
        probs, rec, x, loss, st = _runs(alg, [(dict(c=c), (a, b), hp)], steps)
        f0 = float(loss[0, 0])
        tail = x[0, -6:]
        cyc = float(np.max(np.abs(tail[2:] - tail[:-2])))
        moving = float(np.max(np.abs(tail[1:] - tail[:-1])))
        f_tail = float(np.min(loss[0, steps // 2:]))
        f_cycle = 2 * c * abs(a + b)
        above_predicted = abs(a - b) < c * abs(a + b)
        good = (cyc <= 1e-12 * max(1.0, np.max(np.abs(tail))) and moving > 0
                and abs(f_tail - f_cycle) <= 1e-12 * f_cycle and (f_tail > f0) == above_predicted)
        ok &= good
        rows.append({"W0": [a, b], "f0": f0, "min_f_second_half": f_tail, "predicted_cycle_f": f_cycle,
                     "predicted_above_f0": bool(above_predicted), "cycle_error": cyc,
                     "step_length": moving, "ok": bool(good)})
        if show is None:
            show = (rec, loss[0], x[0], probs[0])
    r0 = rows[0]
    return Evidence(
        verdict(ok),
        measured=(f"W0={r0['W0']}: f(W0) = {r0['f0']:.4g}, f on the tail = {r0['min_f_second_half']:.4g}, "
                  f"|W_t+2 - W_t| = {r0['cycle_error']:.2g}; {sum(r['ok'] for r in rows)}/{len(rows)} starts as predicted"),
        predicted=(f"a 2-cycle (W_t+2 = W_t != W_t+1) at f = 2c|W11^0+W22^0| = {r0['predicted_cycle_f']:.4g} > f(W0) "
                   "(other starts: above f(W0) iff |W11^0 - W22^0| < c|W11^0 + W22^0|)"),
        tolerance="cycle and its f within 1e-12 relative",
        why=("the Polyak sign step overshoots into the predicted 2-cycle" if ok else
             "no 2-cycle at the predicted level (the Euclidean Polyak step converges)"),
        numbers={"starts_as_predicted": num(sum(r["ok"] for r in rows), len(rows), kind="count", rule="eq"),
                 "tail_f_over_cycle_f": num([r["min_f_second_half"] / r["predicted_cycle_f"] for r in rows], 1.0,
                                            kind="ratio", note="per start"),
                 "tail_f_over_f0": num([r["min_f_second_half"] / r["f0"] for r in rows], kind="ratio",
                                       note="per start"),
                 "cycle_error": num([r["cycle_error"] for r in rows], kind="value", note="max |W_t+2 - W_t| on the tail")},
        details={"rows": rows, "steps": steps, "algorithm": alg},
        plots={"mu3_polyak": lambda: _plot_mu3(*show, control)})


def _plot_mu3(rec, loss, x, p, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    ax.plot(rec, np.maximum(loss, 1e-300), marker=".", ms=3, lw=0.8)
    ax.axhline(loss[0], color="k", ls="--", lw=1, label="$f(W_0)$")
    ax.set_yscale("log")
    ax.set_xlabel("step t")
    ax.set_ylabel("$f(W_t)$")
    ax.set_title("Euclidean Polyak (control)" if control else "Muon with Polyak steps, b = 0")
    ax.legend(fontsize=7)
    return fig


# ------------------------------------------------------------------ MU-4

def ef_bound(D, L, r, T):
    """The paper's bound ``D L (1 + 2 sqrt(1 - 1/r) r)/sqrt(T)`` [text]."""
    return D * L * (1 + 2 * math.sqrt(1 - 1 / r) * r) / math.sqrt(T)


@PAPER.claim("MU-4", "Theorem (EF / EF-Muon) [text + DERIVED rate]",
             "EF and EF-Muon with gamma = D/(L sqrt(T)) converge: f(avg W_T) - f* <= D L (1 + 2 sqrt(1-1/r) r)/sqrt(T) "
             "and the fitted exponent of f(avg W_T) in T is -1/2.",
             control="Muon (b = 0) with the same constant step gamma: f(avg W_T) stays >= 0.625")
def check_mu4(size="quick", control=False):
    Ts = [100, 300, 1000, 3000, 10000] if size == "quick" else [100, 300, 1000, 3000, 10000, 30000, 100000, 300000]
    c, a, b = SETTING_I["c"], SETTING_I["w11"], SETTING_I["w22"]
    p = make_problem("muon-counterexample", c=c)
    D = math.hypot(a, b)             # ||W0 - W*||_F with W* = 0
    L = p.constant("G")              # Frobenius Lipschitz constant sqrt(2 (c^2 + 1))
    r = min(p.shape)
    algs = [("muon", dict(beta=0.0))] if control else [("ef", {}), ("ef-muon", dict(beta=0.9))]
    rows, ok, traj = [], True, {}
    for alg_name, hp in algs:
        vals = []
        for T in Ts:
            gamma = D / (L * math.sqrt(T))
            probs, rec, x, loss, st = _runs(alg_name, [(dict(c=c), (a, b), dict(schedule="constant", alpha0=gamma,
                                                                                 **hp))], T)
            avg = np.mean(x[0, :T], axis=0)
            fa = probs[0].value(avg)
            bd = ef_bound(D, L, r, T)
            vals.append(fa)
            rows.append({"algorithm": alg_name, "T": T, "gamma": gamma, "f_avg": fa, "bound": bd,
                         "final_f": float(loss[0, -1])})
            ok &= fa <= bd
            if T == Ts[2]:
                traj[alg_name] = x[0]
        fit = fit_power_law(Ts, vals)
        good = fit["slope"] <= -0.5 + EXP_TOL
        ok &= good
        rows.append({"algorithm": alg_name, "fitted_exponent": fit["slope"], "ci95": [fit["lo"], fit["hi"]],
                     "two_sided_within_tol": bool(abs(fit["slope"] + 0.5) <= EXP_TOL)})
    if not control:  # Muon beside EF-Muon in the (W11, W22) plane
        probs, rec, x, loss, st = _runs("muon", [(dict(c=c), (a, b), dict(schedule="constant",
                                                                           alpha0=D / (L * math.sqrt(Ts[2])),
                                                                           beta=0.0))], Ts[2])
        traj["muon"] = x[0]
    fits = [rw for rw in rows if "fitted_exponent" in rw]
    worst_ratio = max(rw["f_avg"] / rw["bound"] for rw in rows if "f_avg" in rw)
    return Evidence(
        verdict(ok),
        measured="; ".join(f"{rw['algorithm']}: exponent {rw['fitted_exponent']:.3f} "
                           f"[{rw['ci95'][0]:.3f}, {rw['ci95'][1]:.3f}]" for rw in fits)
                 + f"; max f(avg W_T)/bound = {worst_ratio:.3g}",
        predicted=f"exponent <= -0.5 + {EXP_TOL}; f(avg W_T) <= D L (1 + 2 sqrt(1-1/r) r)/sqrt(T) (r = {r})",
        tolerance=(f"exponent at most -1/2 + {EXP_TOL} (the bound's rate; one-sided: a faster decay is "
                   "reported in details.two_sided_within_tol, it does not contradict an upper bound); bound exactly"),
        why=("EF / EF-Muon converge at the T^-1/2 rate under the bound" if ok else
             "f(avg W_T) does not decay like T^-1/2 under the bound"),
        numbers=dict({f"exponent_{rw['algorithm']}": num(rw["fitted_exponent"], -0.5 + EXP_TOL, kind="exponent",
                                                         rule="le", ci=rw["ci95"], note="f(avg W_T) vs T")
                      for rw in fits},
                     f_avg_over_bound=num([rw["f_avg"] / rw["bound"] for rw in rows if "f_avg" in rw], 1.0,
                                          kind="ratio", rule="le", note="per (algorithm, T)")),
        details={"rows": rows, "D": D, "L": L, "r": r, "Ts": Ts,
                 "note": "the first version of this check was two-sided (|p + 1/2| <= 0.1); EF-Muon (b = 0.9) "
                         "decays faster than T^-1/2 at quick size, so the check was made one-sided: the "
                         "theorem is an upper bound. The two-sided result is kept per algorithm."},
        plots={"mu4_rate": lambda: _plot_mu4(rows, D, L, r, control),
               "mu4_plane": lambda: _plot_plane(traj, p, control)})


def _plot_mu4(rows, D, L, r, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    for alg in sorted({rw["algorithm"] for rw in rows}):
        pts = [(rw["T"], rw["f_avg"]) for rw in rows if rw["algorithm"] == alg and "T" in rw]
        ax.loglog(*zip(*pts), marker="o", label=alg)
    Ts = np.array(sorted({rw["T"] for rw in rows if "T" in rw}), dtype=float)
    ax.loglog(Ts, [ef_bound(D, L, r, T) for T in Ts], "k--", lw=1, label="bound")
    ax.set_xlabel("T")
    ax.set_ylabel(r"$f(\bar W_T) - f^*$")
    ax.set_title("EF with $\\gamma = D/(L\\sqrt{T})$" + (" (control: Muon)" if control else ""))
    ax.legend(fontsize=7)
    return fig


def _plot_plane(traj, p, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=max(1, len(traj)), width=4.0 * max(1, len(traj)))
    u = np.linspace(-0.3, 1.0, 200)
    U, V = np.meshgrid(u, u)
    c = p.arrays["c"]
    F = c * np.abs(U + V) + np.abs(U - V)
    n = p.shape[1]
    for ax, (name, x) in zip(axs[0], traj.items()):
        ax.contour(U, V, F, levels=15, linewidths=0.5, cmap="Greys")
        ax.plot(x[:, 0], x[:, n + 1], lw=0.6, marker=".", ms=1.5)
        ax.plot(x[0, 0], x[0, n + 1], "go", ms=4)
        ax.plot(0, 0, "r*", ms=7)
        ax.set_xlabel("$W_{11}$")
        ax.set_ylabel("$W_{22}$")
        ax.set_title(name)
    return fig
