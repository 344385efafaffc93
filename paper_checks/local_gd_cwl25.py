"""Local GD for separable logistic regression: Crawshaw, Woodworth, Liu (ICLR 2025 and ICML 2025, "CWL"),
claims LG-1 and LG-2. Read through abstracts and secondary notes only: the
two-client instance is DERIVED (client 1 ``(gamma, sqrt(1-gamma^2))``, client 2 ``(gamma, -delta)``,
gamma = 0.1, ||x|| <= 1, raw = normalised), and the two-stage constants are secondary (parameters)."""
import math

import numpy as np

from theorybench import make_problem
from theorybench.claims import Evidence, num, register_paper, verdict
from theorybench.measure import fit_power_law

from ._logistic_common import horizon_note, runs

PAPER = register_paper(
    "local_gd_cwl25", "Local GD for separable logistic regression (large stepsizes; ICLR 2025 and ICML 2025)",
    "Crawshaw, Woodworth, Liu, ICLR 2025 / ICML 2025", aliases=("cwl", "local-gd"))

KS = (1, 4, 16, 64)
GRID_ETAS = tuple(2.0**k for k in range(-2, 11))  # 2^-2 .. 2^10
K_SLOPE_TOL = 0.2   # LG-1: |slope of F(w_R) in K + 1| allowed (a priori)
RATIO_TOL = 0.15    # LG-2: |F eta K R gamma^2 - 1| allowed at moderate eta K (a priori; asymptotic)
SPREAD_TOL = 1.25   # LG-2: max/min final loss over K at fixed eta K (a priori: "barely changes")


def instance(delta=0.5, separable="yes"):
    return make_problem("logistic-two-client", gamma=0.1, delta=delta, separable=separable)


@PAPER.claim("LG-1", "ICLR 2025 abstract (large-stepsize Local GD)",
             "Local GD with a stepsize eta >> 1/K reaches F = O(1/(K R)): at fixed R the final loss falls like "
             "K^-1; classical analyses (eta <~ 1/K) give Omega(1/R) independent of K.",
             control="the classical stepsize eta = 1/K: the final loss does not improve with K")
def check_lg1(size="quick", control=False):
    """Measured with plain Local GD at eta = 1 (>> 1/K for K >= 4). The two-stage variant with the
    secondary constants (eta_1 = 1/K, switch at F <= gamma^2/(42 eta_2 K M)) is run and reported: within R
    rounds it does not reach its switching level on this instance."""
    R = 2048  # the paper's R (cheap: one point per client)
    deltas = (0.5,) if size == "quick" else (0.5, 0.1)
    rows, ok = [], True
    for dl in deltas:
        p = instance(dl)
        S = [{"eta": (1.0 / K) if control else 1.0, "local_steps": K} for K in KS]
        r = runs("logistic-local-gd", [p] * len(KS), S, R, record=[R])
        F = np.exp(r.log_loss[:, -1])
        fit = fit_power_law(np.array(KS, float), F)
        ts = runs("logistic-two-stage", [p] * len(KS), [{"eta": 1.0 / K, "local_steps": K, "eta2": 1.0} for K in KS],
                  R, record=[R])
        ok &= bool(abs(fit["slope"] + 1) <= K_SLOPE_TOL and (r.stats["diverged_round"] < 0).all())
        rows.append({"delta": dl, "F_R": F.tolist(), "slope": fit["slope"], "two_stage_F_R": np.exp(ts.log_loss[:, -1]).tolist(),
                     "two_stage_switch_round": ts.stats["switch_round"].tolist()})
    meas = "; ".join(f"delta={w['delta']}: F(w_R) = {np.round(w['F_R'], 6).tolist()}, slope in K {w['slope']:.3f}"
                     for w in rows)
    return Evidence(
        verdict(ok), measured=meas + f" (R = {R}, K = {list(KS)}, eta = {'1/K' if control else '1'})",
        predicted=f"slope -1 +- {K_SLOPE_TOL}", tolerance=f"slope {K_SLOPE_TOL} (a priori)",
        why="the final loss falls like 1/K" if ok else "the final loss does not fall like 1/K",
        numbers={"slope_in_K": num([w["slope"] for w in rows], -1.0, K_SLOPE_TOL, kind="exponent", rule="abs",
                                   note="one per delta: " + ", ".join(str(w["delta"]) for w in rows))},
        details={"rows": rows, "R": R, "K": list(KS),
                 "note": "two-stage Local GD with the secondary constants never switches within R rounds here"},
        plots={"local_gd_grid": lambda: plot_grid(2048)})


def grid_runs(R, delta=0.5, separable="yes", etas=GRID_ETAS):
    p = instance(delta, separable)
    P, S = [], []
    for K in KS:
        for e in etas:
            P.append(p)
            S.append({"eta": e, "local_steps": K})
    from theorybench.runner import record_schedule
    return p, runs("logistic-local-gd", P, S, R, record=record_schedule(R, 120, 0))


def plot_grid(R):
    """Local GD loss vs rounds over eta in {2^-2..2^10}, K in {1, 4, 16, 64} (delta = 0.5)."""
    from theorybench.plotting import new_figure
    p, r = grid_runs(R)
    fig, axs = new_figure(ncols=4, width=14.0, height=3.2)
    cmap = __import__("matplotlib").colormaps["viridis"]
    k = 0
    for j, K in enumerate(KS):
        ax = axs[0][j]
        for i, e in enumerate(GRID_ETAS):
            ok = r.rec > 0
            ax.plot(r.rec[ok], r.log_loss[k][ok] / math.log(10), color=cmap(i / (len(GRID_ETAS) - 1)), lw=0.9,
                    label=f"2^{int(math.log2(e))}" if j == 0 and i % 3 == 0 else None)
            k += 1
        ax.set_xscale("log")
        ax.set_xlabel("round r")
        ax.set_title(f"K = {K}")
    axs[0][0].set_ylabel(r"$\log_{10} F(w_r)$")
    axs[0][0].legend(title="eta", fontsize=6)
    return fig


@PAPER.claim("LG-2", "ICML 2025 abstract (any constant stepsize) [constants secondary]",
             "Local GD with any constant eta does not diverge; after the unstable phase F(w_r) = O(1/(eta K R)) with "
             "F eta K R gamma^2 -> 1 at moderate eta K (as GD with stepsize eta K); at fixed eta K the final loss "
             "barely depends on K.",
             control="non-separable data (client 1's point also given to client 2 with the opposite label)")
def check_lg2(size="quick", control=False):
    R = 2048  # the paper's R (cheap: one point per client)
    p, r = grid_runs(R, 0.5, "no" if control else "yes")
    g = p.margin if p.margin > 0 else instance(0.5).margin
    div = r.stats["diverged_round"]
    F = np.exp(r.log_loss[:, -1]).reshape(len(KS), len(GRID_ETAS))
    etaK = np.array([[e * K for e in GRID_ETAS] for K in KS])
    ratio = F * etaK * R * g * g
    moderate = (etaK <= 64) & (etaK >= 1)  # the asymptotic regime within R rounds (as LR-3: not at large eta K)
    ratio_ok = bool(np.all(np.abs(ratio[moderate] - 1) <= RATIO_TOL))
    # fixed eta K = 64: eta = 64/K
    r2 = runs("logistic-local-gd", [p] * len(KS), [{"eta": 64.0 / K, "local_steps": K} for K in KS], R, record=[R])
    F2 = np.exp(r2.log_loss[:, -1])
    spread = float(F2.max() / F2.min())
    ok = bool((div < 0).all() and ratio_ok and spread <= SPREAD_TOL)
    big = (etaK >= 2**10)
    return Evidence(
        verdict(ok),
        measured=(f"diverged {int((div >= 0).sum())}/{div.size}; F eta K R gamma^2 in [{ratio[moderate].min():.3f}, "
                  f"{ratio[moderate].max():.3f}] for 1 <= eta K <= 64 (at eta K >= 2^10: [{ratio[big].min():.3g}, "
                  f"{ratio[big].max():.3g}]); eta K = 64: max/min F over K = {spread:.3f}"),
        predicted=f"no divergence; |ratio - 1| <= {RATIO_TOL} at moderate eta K; max/min <= {SPREAD_TOL}",
        tolerance="a priori tolerances; eta = 2^10 runs in the log domain (the paper's runs diverged there)",
        why="stable, GD-like with stepsize eta K" if ok else "diverged, or the loss is off 1/(eta K R gamma^2)",
        numbers={"diverged": num(int((div >= 0).sum()), 0, kind="count", rule="eq", note=f"of {div.size} runs"),
                 "ratio_moderate": num(ratio[moderate], 1.0, RATIO_TOL, kind="ratio", rule="abs",
                                       note="F eta K R gamma^2 for 1 <= eta K <= 64"),
                 "ratio_large_etaK": num([ratio[big].min(), ratio[big].max()], kind="ratio", note="min, max at eta K >= 2^10"),
                 "spread_fixed_etaK": num(spread, SPREAD_TOL, kind="ratio", rule="le",
                                          note="max/min final F over K at eta K = 64")},
        details={"R": R, "K": list(KS), "etas": list(GRID_ETAS), "final_F": F.tolist(), "ratio": ratio.tolist(),
                 "fixed_etaK_64_F": F2.tolist(), "gamma": g, "tau_mono": r.stats["tau_mono"].tolist(),
                 "horizon": horizon_note(r.stats)})
