"""Normalized error feedback (Khirirat et al., arXiv 2410.16871): claim EF-1.

Instance: ``quartic-clients`` (n = 10, d = 100, ``f_i = (1/4) sum_j (x_j - b_ij)^4``, ``b_ij ~ N(0, 1)``, start
x0 = 0: DERIVED), Top-k with k = 0.1 d. Algorithms: ``normalized-ef21`` (step ``gamma0/sqrt(K+1)``) and
``ef21`` (constant step).
"""
import math

import numpy as np

from theorybench import make_problem, run
from theorybench.claims import Evidence, num, num_fit, register_paper, verdict
from theorybench.measure import fit_power_law
from theorybench.scaling import no_worse_than

PAPER = register_paper(
    "normalized_ef21",
    "Error feedback under (L0,L1)-smoothness: normalization and clipping",
    "Khirirat, Sadiev, Riabinin, Gorbunov, Richtarik, arXiv 2410.16871", aliases=("ef21", "normalized-ef21"))

EF1_KS = {"quick": (100, 400, 1600, 6400), "full": (100, 400, 1600, 6400, 25600, 102400)}
EF1_SEEDS = {"quick": 3, "full": 10}      # data seeds of b_ij
EF1_TOL = 0.1                              # fitted exponent no worse than -1/2 + 0.1
EF1_EF21_ETA = 1.0                         # "a larger constant step": EF21 with gamma0 itself as its step
EF1_N, EF1_D = 10, 100


def ef1_min_grad(ks, data_seeds, control=False):
    """``min_k ||grad f(x_k)||`` of normalized EF21 (gamma0 = 1, Top-k, k = d/10) after K steps, shape
    ``(len(data_seeds), len(ks))``. Control: the step ``1/sqrt(K_min + 1)`` for every K (not shrinking)."""
    out = np.empty((len(data_seeds), len(ks)))
    for a, s in enumerate(data_seeds):
        prob = make_problem("quartic-clients", n=EF1_N, d=EF1_D, data_seed=s)
        for b, K in enumerate(ks):
            g0 = math.sqrt(K + 1) / math.sqrt(ks[0] + 1) if control else 1.0
            r = run(prob, "normalized-ef21", steps=K, gamma0=g0, k=EF1_D // 10, compressor="topk",
                    stats=["min_grad_norm"])
            out[a, b] = r.stats["min_grad_norm"] if not r.diverged else np.nan
    return out


@PAPER.claim("EF-1", "Khirirat et al. arXiv 2410.16871 [text + derived instance]",
             "On the quartic federated instance (n = 10, d = 100, Top-k with k = 10), normalized EF21 with "
             "gamma0 = 1 has min_k ||grad f(x_k)|| decaying at least like K^-1/2, while EF21 with the larger "
             "constant step gamma = 1 diverges.",
             control="normalized EF21 with a step that does not shrink with K (1/sqrt(K_min + 1) for every K)")
def check_ef1(size="quick", control=False):
    ks = EF1_KS[size]
    seeds = list(range(EF1_SEEDS[size]))
    mg = ef1_min_grad(ks, seeds, control)
    fit = fit_power_law(ks, mg)
    fit["censored"] = int((~np.isfinite(mg)).any(axis=1).sum())
    rate_ok = no_worse_than(fit, -0.5, EF1_TOL, worse="above")
    ef21 = {}
    for eta in (EF1_EF21_ETA, 0.1, 0.01):  # the larger step (the claim) and two smaller ones (reported)
        r = run(make_problem("quartic-clients", n=EF1_N, d=EF1_D, data_seed=0), "ef21", steps=ks[-1], eta=eta,
                k=EF1_D // 10, stats=["min_grad_norm"])
        ef21[eta] = {"diverged": bool(r.diverged), "min_grad_norm": r.stats["min_grad_norm"],
                     "diverged_round": r.stats["diverged_round"]}
    div_ok = ef21[EF1_EF21_ETA]["diverged"]
    ok = rate_ok and div_ok
    return Evidence(
        verdict(ok),
        measured=f"exponent {fit['slope']:.3f} [{fit['lo']:.3f}, {fit['hi']:.3f}]; EF21 (gamma = {EF1_EF21_ETA:g}) "
                 + ("diverged" if div_ok else "did not diverge"),
        predicted="exponent <= -1/2; EF21 with gamma = 1 diverges",
        tolerance=f"CI not entirely above -1/2 + {EF1_TOL:g}",
        why="as predicted" if ok else ("rate slower than K^-1/2" if not rate_ok else "EF21 did not diverge"),
        numbers={"exponent": num_fit(fit, -0.5, EF1_TOL, "above", note="min_k ||grad f(x_k)|| vs K"),
                 "ef21_diverged": num(div_ok, 1.0, kind="count", rule="eq",
                                      note=f"1 if EF21 with gamma = {EF1_EF21_ETA:g} diverged")},
        details={"K": list(ks), "min_grad_norm": mg.tolist(), "fit": {k: fit[k] for k in ("slope", "lo", "hi")},
                 "ef21_by_step": {str(k): v for k, v in ef21.items()},
                 "note": "EF21 with the smaller constant steps 0.1 and 0.01 converges on this instance (reported)"},
        seeds=seeds, plots={"ef21_vs_normalized": lambda: _plot_ef1(ks, mg, control)})


def _plot_ef1(ks, mg, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(width=4.5, height=3.4)
    ax = axs[0][0]
    ax.loglog(ks, mg.mean(axis=0), "o-", label="normalized EF21" + (" (control step)" if control else r", $\gamma_0 = 1$"))
    ref = mg.mean(axis=0)[0] * (np.asarray(ks) / ks[0]) ** -0.5
    ax.loglog(ks, ref, "--", color="k", lw=1, label=r"$K^{-1/2}$")
    prob = make_problem("quartic-clients", n=EF1_N, d=EF1_D, data_seed=0)
    for eta in (0.1, 0.01):
        ys = [run(prob, "ef21", steps=K, eta=eta, k=EF1_D // 10, stats=["min_grad_norm"]).stats["min_grad_norm"]
              for K in ks]
        ax.loglog(ks, np.maximum(ys, 1e-16), "s:", label=rf"EF21, $\gamma = {eta:g}$")
    ax.set_xlabel("K")
    ax.set_ylabel(r"$\min_{k \leq K} \|\nabla f(x_k)\|$")
    ax.set_title(r"quartic, $n = 10$, $d = 100$, Top-$k$ ($k = 10$); EF21 $\gamma = 1$ diverges", fontsize=8)
    ax.legend(fontsize=7)
    return fig
