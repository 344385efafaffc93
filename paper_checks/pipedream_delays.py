"""Demystifying pipeline parallelism: the delays of PipeDream (Ilin, Richtarik, arXiv 2606.03498):
claims PD-1 and PD-2, on the 1F1B simulator ``theorybench.delays``.

PD-2's instance (randomized PipeDream on a noisy linear objective with bounded gradients) is DERIVED: it
measures the stale-read quantity ``E ||x_k - x_{k - tau_k}||^2`` that the bound's stale-read term controls.
"""
import numpy as np

from theorybench.claims import Evidence, num, register_paper, verdict
from theorybench.delays import delay_stats, stale_read_term
from theorybench.measure import fit_power_law

PAPER = register_paper(
    "pipedream_delays_arxiv26", "Demystifying pipeline parallelism (PipeDream delays)",
    "Ilin, Richtarik, arXiv 2606.03498 (2026)", aliases=("pipedream", "delays", "pd"))

MAX_RESIDUAL = 2.0   # |max delay - (S^2 - S/2)| allowed: the O(1) (fixed a priori)
LEAD_TOL = 0.02      # |fitted S^2 coefficient - 1| (fixed a priori)
MEAN_TOL = 0.1       # |mean delay / (S^2/2) - 1| at S >= 8 (fixed a priori)
EXP_TOL = 0.3        # |fitted exponent - predicted| in PD-2 (fixed a priori)


def _stages(size):
    return [2, 3, 4, 6, 8, 12, 16] if size == "quick" else [2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 48, 64]


@PAPER.claim("PD-1", "delay of PipeDream 1F1B [text + code]",
             "Steady-state (second half of the updates, M = 10 S) maximum delay of 1F1B is S^2 - S/2 + O(1); "
             "the mean delay is ~ S^2/2.",
             control="no in-flight limit (in_flight = M: all forwards first, GPipe-like fill): delays grow with M")
def check_pd1(size="quick", control=False):
    Ss = _stages(size)
    rows = [delay_stats(S, in_flight=(10 * S if control else None)) for S in Ss]
    S = np.array(Ss, dtype=float)
    mx = np.array([r["max_delay"] for r in rows], dtype=float)
    mean = np.array([r["mean_delay"] for r in rows])
    resid = mx - (S ** 2 - S / 2)
    coef = np.polyfit(S, mx, 2)
    mean_ratio = mean / (S ** 2 / 2)
    ok = (np.all(np.abs(resid) <= MAX_RESIDUAL) and abs(coef[0] - 1) <= LEAD_TOL
          and np.all(np.abs(mean_ratio[S >= 8] - 1) <= MEAN_TOL))
    return Evidence(
        verdict(ok),
        measured=(f"max delay - (S^2 - S/2) in [{resid.min():g}, {resid.max():g}] over S = {Ss[0]}..{Ss[-1]}; fitted "
                  f"max = {coef[0]:.4f} S^2 + {coef[1]:.3f} S + {coef[2]:.2f}; mean/(S^2/2) at S={Ss[-1]}: "
                  f"{mean_ratio[-1]:.3f}"),
        predicted="max = S^2 - S/2 + O(1); mean ~ S^2/2",
        tolerance=(f"|residual| <= {MAX_RESIDUAL:g}, |S^2 coefficient - 1| <= {LEAD_TOL}, "
                   f"|mean/(S^2/2) - 1| <= {MEAN_TOL} for S >= 8"),
        why=("the 1F1B steady state has the quadratic delay" if ok else
             "the delays do not follow S^2 - S/2 (without the in-flight limit they grow with M)"),
        numbers={"max_delay_residual": num(resid, 0.0, MAX_RESIDUAL, kind="value", rule="abs",
                                           note="max delay - (S^2 - S/2), one per S"),
                 "S2_coefficient": num(coef[0], 1.0, LEAD_TOL, kind="value", rule="abs",
                                       note="fitted max delay = a S^2 + b S + c: a"),
                 "mean_ratio_S_ge_8": num(mean_ratio[S >= 8], 1.0, MEAN_TOL, kind="ratio", rule="abs",
                                          note="mean delay / (S^2/2), one per S >= 8")},
        details={"rows": rows, "fit": coef.tolist(), "in_flight": "M" if control else "S"},
        plots={"pd1_delays_vs_S": lambda: _plot_pd1(S, mx, mean, coef, control)})


def _plot_pd1(S, mx, mean, coef, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    ss = np.linspace(S.min(), S.max(), 200)
    ax.plot(S, mx, "o", label="max delay (steady state)")
    ax.plot(S, mean, "s", label="mean delay")
    ax.plot(ss, np.polyval(coef, ss), "C0-", lw=1,
            label=f"fit {coef[0]:.3f}$S^2$ {coef[1]:+.2f}$S$ {coef[2]:+.1f}")
    ax.plot(ss, ss ** 2 - ss / 2, "k--", lw=1, label="$S^2 - S/2$")
    ax.plot(ss, ss ** 2 / 2, "k:", lw=1, label="$S^2/2$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("stages S")
    ax.set_ylabel("delay (block updates)")
    ax.set_title("PipeDream 1F1B, M = 10 S" + (" (control: no in-flight limit)" if control else ""))
    ax.legend(fontsize=7)
    return fig


@PAPER.claim("PD-2", "Randomized PipeDream, stale-read term [DERIVED instance]",
             "With delays uniform on {0, ..., Delta}, Delta = the 1F1B maximum delay ~ S^2, the stale-read quantity "
             "E||x_k - x_{k-tau_k}||^2 (bounded gradients) scales as gamma^2 S^4: fitted exponents 4 in S and 2 "
             "in gamma.",
             control="delays uniform up to Delta = S (not S^2): the S exponent is 2")
def check_pd2(size="quick", control=False):
    Ss = [4, 6, 8, 12, 16] if size == "quick" else [4, 6, 8, 12, 16, 24, 32, 48]
    gammas = [0.003, 0.01, 0.03]
    seeds = [0, 1] if size == "quick" else [0, 1, 2, 3]
    Deltas = [(S if control else delay_stats(S)["max_delay"]) for S in Ss]
    vals = np.array([[[stale_read_term(D, g, seed=sd) for D in Deltas] for g in gammas] for sd in seeds])
    fit_S = fit_power_law(Ss, vals[:, 1, :])
    fit_g = fit_power_law(gammas, vals[:, :, -1])
    ok = abs(fit_S["slope"] - 4) <= EXP_TOL and abs(fit_g["slope"] - 2) <= EXP_TOL
    return Evidence(
        verdict(ok),
        measured=(f"exponent in S {fit_S['slope']:.3f} [{fit_S['lo']:.3f}, {fit_S['hi']:.3f}]; in gamma "
                  f"{fit_g['slope']:.3f} [{fit_g['lo']:.3f}, {fit_g['hi']:.3f}]"),
        predicted="gamma^2 S^4: exponents 4 (S) and 2 (gamma)",
        tolerance=f"+-{EXP_TOL} on each exponent (fixed a priori); {len(seeds)} seeds",
        why=("the stale-read term grows as gamma^2 Delta^2 ~ gamma^2 S^4" if ok else
             "the stale-read term does not scale as gamma^2 S^4 (with Delta ~ S it is gamma^2 S^2)"),
        numbers={"exponent_S": num(fit_S["slope"], 4.0, EXP_TOL, kind="exponent", rule="abs",
                                   ci=[fit_S["lo"], fit_S["hi"]]),
                 "exponent_gamma": num(fit_g["slope"], 2.0, EXP_TOL, kind="exponent", rule="abs",
                                       ci=[fit_g["lo"], fit_g["hi"]])},
        details={"S": Ss, "Delta": Deltas, "gamma": gammas, "values": vals.tolist(), "fit_S": fit_S, "fit_gamma": fit_g},
        seeds=seeds, plots={"pd2_stale_term": lambda: _plot_pd2(Ss, gammas, vals, control)})


def _plot_pd2(Ss, gammas, vals, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    m = vals.mean(axis=0)
    for i, g in enumerate(gammas):
        ax.loglog(Ss, m[i], "o-", label=f"gamma = {g:g}")
        ax.loglog(Ss, m[i, 0] * (np.array(Ss) / Ss[0]) ** 4, "k:", lw=0.8)
    ax.set_xlabel("stages S")
    ax.set_ylabel(r"$E\|x_k - x_{k-\tau_k}\|^2$")
    ax.set_title("randomized PipeDream" + (" (control: Delta = S)" if control else ", Delta = max 1F1B delay")
                 + "; dotted: $S^4$")
    ax.legend(fontsize=7)
    return fig
