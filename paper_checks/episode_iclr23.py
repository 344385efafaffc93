"""EPISODE (Crawshaw, Bao, Liu, ICLR 2023): claims EP-1..EP-5.

Instances: the two-client quadratic (``problems.federated_polynomials.two_client_quadratic``) and the
EPISODE quartic. Algorithms: CELGC (``local-clip``), EPISODE (``episode``).
"""
from fractions import Fraction

import numpy as np

from theorybench import make_problem, run_batch, sweep
from theorybench.algorithms import get_algorithm
from theorybench.claims import Evidence, num, num_fit, register_paper, verdict
from theorybench.measure import mean_ci
from theorybench.plotting import COLORS, LABELS
from theorybench import symbolic

PAPER = register_paper(
    "episode_iclr23",
    "EPISODE: Episodic Gradient Clipping with Periodic Resampled Corrections for Federated Learning "
    "with Heterogeneous Data",
    "Crawshaw, Bao, Liu, ICLR 2023", aliases=("episode",))

STUCK_TOL = 1e-12      # |x_r| <= 1e-12 counts as x_r = 0 (docs/conventions.md, section "Exact cancellations")
CONVERGED_TOL = 1e-12  # "machine precision" for EP-2
PAPER_HYPER = dict(eta=0.01, gamma=0.05, local_steps=8, convention="step")
PAPER_ROUNDS = 500
FEW_ROUNDS = 10        # "within a few rounds" (EP-3), stated as the prediction's parameter
FAR_ABOVE_NOISE = 3.0  # "far above the noise level": |f'| > 3 sigma
SEEDS = {"quick": 8, "full": 64}


# ---------------------------------------------------------------- EP-1: local clipping stays stuck

def ep1_grid(size):
    """Dyadic grids, so that every boundary point of the conditions is hit exactly."""
    if size == "quick":
        return [0.25, 0.5, 1.0, 2.0, 4.0], [1/16, 1/8, 1/4, 1/2, 3/4, 1.0, 1.5, 1.875], [1, 2, 3, 4, 5, 8, 9]
    return ([k / 8 for k in range(1, 33)], [k / 16 for k in range(1, 32)], list(range(1, 17)))


ETA_EDGE = 2.0  # 2/L for the 1-smooth f_i: the claim's domain is 0 < eta < 2/L


def ep1_condition(convention, gamma, eta, I):
    """DERIVED stuck-ness condition of CELGC on the two-client quadratic from x0 = 0, in exact
    rational arithmetic. Returns ``(stuck, on_boundary)``.

    gradient clipping: ``(I-1) eta gamma <= 1``; step clipping: ``(2 - I) gamma + 1 >= gamma/eta``.
    """
    g, e = Fraction(gamma), Fraction(eta)
    if convention == "grad":
        lhs, rhs = (I - 1) * e * g, Fraction(1)
        return lhs <= rhs, lhs == rhs
    lhs, rhs = ((2 - I) * g + 1) * e, g
    return lhs >= rhs, lhs == rhs


def ep1_symbolic_proof():
    """sympy: (a) under the condition both clients' gradients keep their sign and stay above the
    clipping threshold for all I steps, so the clipped steps are +L and -L (L the clipped step length)
    and the two local iterates cancel: ``y_I^1 + y_I^2 = I L - I L = 0``; (b) the condition on client 1's
    last gradient is exactly the stated one; (c) client 2's gradient exceeds client 1's by exactly 1."""
    s = symbolic.sp()
    gamma, eta, k, I = s.symbols("gamma eta k I", positive=True)
    out = {}
    for conv, L, thresh in (("step", gamma, gamma / eta), ("grad", eta * gamma, gamma)):
        a1, a2 = -gamma - 1, gamma + 2
        g1 = k * L + a1          # client 1 after k clipped steps (moving right)
        g2 = -k * L + a2         # client 2 after k clipped steps (moving left)
        stated = ((2 - I) * gamma + 1 - gamma / eta) if conv == "step" else 1 - (I - 1) * eta * gamma
        margin_last = (-g1 - thresh).subs(k, I - 1)
        out[f"{conv}: |g1| - threshold at k = I-1 equals the stated condition"] = bool(
            symbolic.is_identity(margin_last, stated))
        out[f"{conv}: |g2| - |g1| = 1 at every k"] = bool(symbolic.is_identity(g2 - (-g1), s.Integer(1)))
        out[f"{conv}: y_I^1 + y_I^2 = 0"] = bool(symbolic.is_identity(I * L + (-I * L), s.Integer(0)))
    return out


def _ep1_observe(grid, convention, rounds=20):
    gammas, etas, Is = grid
    pts, problems, settings = [], [], []
    alg = get_algorithm("local-clip")
    for gm in gammas:
        prob = make_problem("two-client-quadratic", gamma=gm)
        for e in etas:
            for I in Is:
                pts.append((gm, e, I))
                problems.append(prob)
                settings.append(alg.resolve(dict(eta=e, gamma=gm, local_steps=I, convention=convention)))
    rec, x, loss, gn, st = run_batch(alg, problems, settings, [0] * len(pts), rounds)
    stuck = (np.nanmax(np.abs(x[:, :, 0]), axis=1) <= STUCK_TOL) & (np.abs(gn - 0.5).max(axis=1) <= STUCK_TOL)
    return pts, stuck


@PAPER.claim("EP-1", "Liu, EPISODE talk (2023), two-client counterexample; condition DERIVED",
             "CELGC on the two-client quadratic from x0 = 0 keeps x_r = 0, |f'(x_r)| = 1/2 for all r iff "
             "(I-1) eta gamma <= 1 (gradient clipping) / (2 - I) gamma + 1 >= gamma/eta (step clipping), "
             "for 0 < eta < 2/L = 2.",
             control="observations of each convention compared with the other convention's condition")
def check_ep1(size="quick", control=False):
    """DERIVED exact claim: at every grid point (boundaries included) the observed stuck-ness equals the
    predicted one, and sympy proves the cancellation."""
    grid = ep1_grid(size)
    proof = ep1_symbolic_proof()
    n_pts = n_bad = n_boundary = n_stuck = 0
    mism, maps = [], {}
    for conv in ("step", "grad"):
        pred_conv = ("grad" if conv == "step" else "step") if control else conv
        pts, stuck = _ep1_observe(grid, conv)
        pred = [ep1_condition(pred_conv, *p) for p in pts]
        maps[conv] = (pts, stuck, [p[0] for p in pred])
        for p, s_obs, (s_pred, bnd) in zip(pts, stuck, pred):
            n_pts += 1
            n_boundary += bnd
            n_stuck += bool(s_obs)
            if bool(s_obs) != s_pred:
                n_bad += 1
                if len(mism) < 10:
                    mism.append({"convention": conv, "gamma": p[0], "eta": p[1], "I": p[2],
                                 "observed_stuck": bool(s_obs), "predicted_stuck": s_pred})
    # Beyond the domain: at eta = 2/L an unclipped step reflects y through the client's minimiser, which
    # creates further exact cancellations; measured and reported, not part of the verdict.
    edge_pts = edge_extra = 0
    for conv in ("step", "grad"):
        pts, stuck = _ep1_observe((grid[0], [ETA_EDGE], grid[2]), conv)
        edge_pts += len(pts)
        edge_extra += sum(bool(s_obs) and not ep1_condition(conv, *p)[0] for p, s_obs in zip(pts, stuck))
    ok = n_bad == 0 and all(proof.values())
    why = ("every grid point agrees and the sympy cancellation proof holds" if ok else
           f"{n_bad} of {n_pts} grid points disagree" + ("" if all(proof.values()) else "; a sympy proof step failed"))
    return Evidence(
        verdict(ok), measured=f"{n_pts - n_bad}/{n_pts} points agree ({n_stuck} stuck, {n_boundary} on the boundary)",
        predicted=f"{n_pts}/{n_pts} agree", tolerance=f"stuck: |x_r| <= {STUCK_TOL:g} for r <= 20",
        why=why, numbers={"agreement": num((n_pts - n_bad) / n_pts, 1.0, kind="fraction", rule="eq",
                                           note=f"grid points whose observed stuck-ness is the predicted one, of {n_pts}"),
                          "disagreements": num(n_bad, 0, kind="count", rule="eq"),
                          "stuck_points": num(n_stuck, kind="count"), "boundary_points": num(n_boundary, kind="count"),
                          "sympy_proof_steps_holding": num(sum(map(bool, proof.values())), len(proof), kind="count",
                                                           rule="eq")},
        details={"grid": {"gamma": grid[0], "eta": grid[1], "I": grid[2]}, "points": n_pts,
                          "disagreements": n_bad, "boundary_points": n_boundary, "stuck_points": n_stuck,
                          "first_disagreements": mism, "sympy_proof": proof,
                          "finding_at_eta_2_over_L": {"points": edge_pts, "stuck_beyond_condition": edge_extra}},
        seeds=[0], plots={"ep1_stuck_grid": lambda: _plot_ep1(maps, control)})


def _plot_ep1(maps, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0, height=3.2)
    for ax, conv in zip(axs[0], ("step", "grad")):
        pts, stuck, pred = maps[conv]
        gammas = sorted({p[0] for p in pts})
        gm = 1.0 if 1.0 in gammas else gammas[len(gammas) // 2]
        sel = [k for k, p in enumerate(pts) if p[0] == gm]
        e = np.array([pts[k][1] for k in sel]); I = np.array([pts[k][2] for k in sel])
        s = np.array([stuck[k] for k in sel]); pr = np.array([pred[k] for k in sel])
        ax.scatter(e[s], I[s], marker="s", s=22, color="#d62728", label="observed stuck")
        ax.scatter(e[~s], I[~s], marker="o", s=14, facecolors="none", edgecolors="#1f77b4", label="observed moving")
        bad = s != pr
        if bad.any():
            ax.scatter(e[bad], I[bad], marker="x", s=40, color="k", label="disagrees with prediction")
        ee = np.linspace(e.min(), e.max(), 400)
        bound = 1 + 1 / (ee * gm) if conv == "grad" else 2 + 1 / gm - 1 / ee
        ax.plot(ee, bound, color="k", lw=1, label="predicted boundary")
        ax.set_ylim(0.5, I.max() + 0.5)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(r"stepsize $\eta$")
        ax.set_ylabel("local steps $I$")
        ax.set_title(f"{conv} clipping, $\\gamma$ = {gm:g}" + (" (control)" if control else ""))
    handles, labels = axs[0][0].get_legend_handles_labels()
    fig.tight_layout()  # then the legend goes below the figure's edge, under both x labels (bbox tight keeps it)
    fig.legend(handles, labels, loc="upper center", ncol=4, fontsize=7, bbox_to_anchor=(0.5, 0.0), frameon=False)
    return fig


# ------------------------------------------------- EP-2: EPISODE's correction removes the trap

def ep2_symbolic_proof():
    """sympy: on ``f_i = x^2/2 + a_i x``, ``d = g - G_r^i + G_r = f_i'(y) - f_i'(x) + f'(x) = f'(y)``."""
    s = symbolic.sp()
    x, y, a1, a2 = s.symbols("x y a1 a2", real=True)
    fp = lambda a, z: z + a
    fbar = lambda z: (fp(a1, z) + fp(a2, z)) / 2
    return {f"client {i}: d = f'(y)": bool(symbolic.is_identity(fp(a, y) - fp(a, x) + fbar(x), fbar(y)))
            for i, a in ((1, a1), (2, a2))}


def _ep2_runs(algo, gammas, etas, Is, rounds):
    alg = get_algorithm(algo)
    pts, problems, settings = [], [], []
    for gm in gammas:
        prob = make_problem("two-client-quadratic", gamma=gm)
        for e in etas:
            for I in Is:
                for conv in ("step", "grad"):
                    pts.append((gm, e, I, conv))
                    problems.append(prob)
                    settings.append(alg.resolve(dict(eta=e, gamma=gm, local_steps=I, convention=conv)))
    rec, x, loss, gn, st = run_batch(alg, problems, settings, [0] * len(pts), rounds, record=[rounds])
    return pts, np.abs(x[:, -1, 0] + 0.5), gn[:, -1], st["diverged_round"] >= 0


@PAPER.claim("EP-2", "Sec. 4 (corrected direction), sympy",
             "EPISODE's corrected direction on the two-client quadratic equals f'(y) exactly, so from x0 = 0 it "
             "converges to x* = -1/2 to machine precision for every (gamma, eta <= 1, I), both conventions.",
             control="the correction removed (CELGC) on the same grid")
def check_ep2(size="quick", control=False):
    gammas, _, Is = ep1_grid(size)
    etas = [e for e in ep1_grid(size)[1] if e <= 1.0]
    rounds = 1000 if size == "quick" else 4000
    proof = ep2_symbolic_proof()
    pts, err, gn, div = _ep2_runs("local-clip" if control else "episode", gammas, etas, Is, rounds)
    worst = int(np.nanargmax(np.where(np.isfinite(err), err, np.inf)))
    n_ok = int(((err <= CONVERGED_TOL) & (gn <= CONVERGED_TOL) & ~div).sum())
    ok = n_ok == len(pts) and all(proof.values())
    # the figure maps eta in (0, 2) at a small gamma, where the 1 < eta < 2 trap (outside the claim) shows
    fig_etas = [k / 16 for k in range(1, 32)]
    fig_gamma = 0.125
    fpts, ferr, _, _ = _ep2_runs("local-clip" if control else "episode", [fig_gamma], fig_etas,
                                 list(range(1, 11)), 400)
    return Evidence(
        verdict(ok), measured=f"{n_ok}/{len(pts)} converged; worst |x_R - x*| = {err[worst]:.2e}",
        predicted=f"{len(pts)}/{len(pts)} with |x_R - x*|, |f'(x_R)| <= {CONVERGED_TOL:g}",
        tolerance=f"{CONVERGED_TOL:g} after R = {rounds} rounds",
        why=("all converged; sympy proves d = f'(y)" if ok else
             f"{len(pts) - n_ok} grid points did not converge (worst at gamma, eta, I, conv = {pts[worst]})"),
        numbers={"converged_fraction": num(n_ok / len(pts), 1.0, kind="fraction", rule="eq",
                                           note=f"of {len(pts)} grid points"),
                 "worst_error": num(err[worst], CONVERGED_TOL, kind="value", note="max |x_R - x*| over the grid")},
        details={"points": len(pts), "converged": n_ok, "worst_error": float(err[worst]),
                 "worst_point": list(pts[worst]), "rounds": rounds, "sympy_proof": proof},
        seeds=[0], plots={"ep2_convergence_map": lambda: _plot_ep2(fpts, ferr, fig_gamma, control)})


def _plot_ep2(pts, err, gamma, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0, height=3.2)
    etas = sorted({p[1] for p in pts})
    Is = sorted({p[2] for p in pts})
    for ax, conv in zip(axs[0], ("step", "grad")):
        Z = np.full((len(Is), len(etas)), np.nan)
        for k, p in enumerate(pts):
            if p[3] == conv:
                Z[Is.index(p[2]), etas.index(p[1])] = np.log10(max(err[k], 1e-17))
        de = etas[1] - etas[0]
        mesh = ax.pcolormesh(np.array(etas + [etas[-1] + de]) - de / 2, np.arange(len(Is) + 1) + 0.5, Z,
                             cmap="viridis", vmin=-17, vmax=0, shading="flat")
        ax.grid(False)
        ax.axvline(1.0, color="w", lw=1.2, ls="--")
        ax.text(1.03, len(Is) + 0.3, r"$\eta > 1$: outside", color="w", fontsize=7, va="top")
        ax.set_xlabel(rf"stepsize $\eta$ ($\gamma = {gamma:g}$)")
        ax.set_ylabel("local steps $I$")
        ax.set_title(f"{'CELGC (control)' if control else 'EPISODE'}, {conv} clipping")
    fig.colorbar(mesh, ax=axs[0].tolist(), label=r"$\log_{10} |x_R - x^*|$ after 400 rounds")
    return fig


# ------------------------------------------------------- EP-3 / EP-4: the EPISODE quartic

def quartic_runs(algo, H, seeds, rounds=PAPER_ROUNDS):
    """The paper's synthetic experiment: ``algo`` on the quartic with heterogeneity ``H``, one run per seed."""
    sw = sweep("episode-quartic", algo, problem_settings={"H": H}, seeds=seeds, rounds=rounds,
               record=np.arange(rounds + 1), **PAPER_HYPER)  # every round: the tail mean and first crossing
    return sw


def _tail_grad(sw):
    """Per seed: mean of |f'(x_r)| over the last 10% of rounds (a noise-averaged stationarity measure)."""
    g = sw.grad_norm.reshape(-1, sw.rounds.size)
    k = max(1, sw.rounds.size // 10)
    return g[:, -k:].mean(axis=1)


def _first_below(sw, level):
    g = sw.grad_norm.reshape(-1, sw.rounds.size)
    out = []
    for row in g:
        k = np.flatnonzero(row <= level)
        out.append(int(sw.rounds[k[0]]) if k.size else None)
    return out


def _basin_ok(sw, prob):
    """Final iterate's nearest stationary point is the global minimiser x*."""
    st = np.asarray(prob.constant("stationary_points"))
    xs = sw.x.reshape(-1, sw.rounds.size, 1)[:, -1, 0]
    nearest = st[np.argmin(np.abs(xs[:, None] - st[None, :]), axis=1)]
    return np.isclose(nearest, prob.constant("x_star"))


@PAPER.claim("EP-3", "Sec. 5.1, synthetic experiment (H = 4)",
             "On the EPISODE quartic with H = 4 and the paper's hyperparameters, CELGC stalls at a non-stationary "
             "point (|f'| far above the noise level) while EPISODE reaches the global minimiser within a few rounds.",
             control="H = 1 (mild heterogeneity): CELGC does not stall")
def check_ep3(size="quick", control=False):
    H = 1.0 if control else 4.0
    seeds = SEEDS[size]
    prob = make_problem("episode-quartic", H=H)
    sigma = prob.sigma
    ep, cl = quartic_runs("episode", H, seeds), quartic_runs("local-clip", H, seeds)
    ep_first = _first_below(ep, sigma)
    ep_tail, cl_tail = _tail_grad(ep), _tail_grad(cl)
    ep_fast = all(r is not None and r <= FEW_ROUNDS for r in ep_first)
    ep_conv = bool((ep_tail <= sigma).all() and _basin_ok(ep, prob).all())
    cl_stall = bool((cl_tail > FAR_ABOVE_NOISE * sigma).all())
    ok = ep_fast and ep_conv and cl_stall
    reasons = []
    if not cl_stall:
        reasons.append(f"CELGC's tail |f'| is {cl_tail.min():.3g} <= {FAR_ABOVE_NOISE:g} sigma on some seed: no stall")
    if not ep_fast:
        reasons.append("EPISODE needed more than a few rounds on some seed")
    if not ep_conv:
        reasons.append("EPISODE did not settle at the global minimiser")
    cl_x = cl.x.reshape(seeds, -1)[:, -1]
    return Evidence(
        verdict(ok),
        measured=(f"CELGC tail |f'| min {cl_tail.min():.3g} (x_R ~ {np.median(cl_x):.3f}); EPISODE tail |f'| max "
                  f"{ep_tail.max():.3g}, first |f'|<=sigma by round {max(r if r is not None else 10**9 for r in ep_first)}"),
        predicted=f"CELGC > {FAR_ABOVE_NOISE:g} sigma; EPISODE <= sigma within {FEW_ROUNDS} rounds, at x* = {prob.constant('x_star'):.4f}",
        tolerance=f"sigma = {sigma:g}; tail = last 10% of {PAPER_ROUNDS} rounds; all {seeds} seeds",
        why="; ".join(reasons) or "CELGC stalls far from stationarity on every seed, EPISODE converges within a few rounds",
        numbers={"celgc_tail_grad": num(cl_tail, FAR_ABOVE_NOISE * sigma, kind="value", rule="gt",
                                        note="mean |f'| over the last 10% of rounds, per seed"),
                 "episode_tail_grad": num(ep_tail, sigma, kind="value", rule="le", note="per seed"),
                 "episode_first_round_below_sigma": num([np.nan if r is None else r for r in ep_first], FEW_ROUNDS,
                                                        kind="round", rule="le", note="per seed (nan: never)")},
        details={"H": H, "celgc_tail_grad": cl_tail.tolist(), "episode_tail_grad": ep_tail.tolist(),
                 "episode_first_round_below_sigma": ep_first, "celgc_final_x": cl_x.tolist(),
                 "x_star": prob.constant("x_star")},
        seeds=list(range(seeds)),
        plots={f"objective_H{H:g}": lambda: _plot_objective(H, ep, cl, prob),
               f"landscape_H{H:g}": lambda: _plot_landscape(H, ep, cl, prob)})


def _plot_objective(H, ep, cl, prob):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    fstar = prob.constant("f_star")
    for name, sw in (("local-clip", cl), ("episode", ep)):
        gap = sw.loss.reshape(-1, sw.rounds.size) - fstar
        ax.plot(sw.rounds, np.median(gap, axis=0), color=COLORS[name], label=LABELS[name])
        ax.fill_between(sw.rounds, np.quantile(gap, 0.1, axis=0), np.quantile(gap, 0.9, axis=0),
                        color=COLORS[name], alpha=0.2, lw=0)
    ax.set_yscale("log")
    ax.set_xlabel("round r")
    ax.set_ylabel(r"$f(x_r) - f^*$")
    ax.set_title(f"EPISODE quartic, H = {H:g} (median, 10-90% over {gap.shape[0]} seeds)")
    ax.legend()
    return fig


def _plot_landscape(H, ep, cl, prob):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    xs = np.linspace(1.0, 4.0, 400)
    ax.plot(xs, [prob.value([v]) for v in xs], color="k", label="$f$")
    for i, ls in ((0, "--"), (1, ":")):
        ax.plot(xs, [prob.client_value(i, [v]) for v in xs], color="k", ls=ls, lw=1, label=f"$f_{i + 1}$")
    for name, sw in (("local-clip", cl), ("episode", ep)):
        xf = sw.x.reshape(-1, sw.rounds.size)[:, -1]
        ax.scatter(xf, [prob.value([v]) for v in xf], color=COLORS[name], zorder=3, s=18,
                   label=f"{LABELS[name]}: final $x_R$")
    ax.set_xlabel("$x$")
    ax.set_ylabel("objective")
    ax.set_title(f"H = {H:g}")
    ax.legend(fontsize=7)
    return fig


@PAPER.claim("EP-4", "Sec. 5.1, synthetic experiment (H = 1) and heterogeneity",
             "With H = 1 both methods converge and EPISODE is faster in the first rounds; across H in {1, 2, 4} "
             "EPISODE's final |f'| stays at the noise level while CELGC's grows with H.",
             control="the correction removed: CELGC in EPISODE's place")
def check_ep4(size="quick", control=False):
    seeds = SEEDS[size]
    fast_name = "local-clip" if control else "episode"
    Hs = [1.0, 2.0, 4.0]
    runs = {(a, H): quartic_runs(a, H, seeds) for a in (fast_name, "local-clip") for H in Hs}
    prob1 = make_problem("episode-quartic", H=1.0)
    sigma, fstar = prob1.sigma, prob1.constant("f_star")
    both_converge = all(bool((_tail_grad(runs[(a, 1.0)]) <= sigma).all() and _basin_ok(runs[(a, 1.0)], prob1).all())
                        for a in (fast_name, "local-clip"))
    early = slice(1, FEW_ROUNDS + 1)
    gap = {a: (runs[(a, 1.0)].loss.reshape(seeds, -1)[:, early] - fstar).mean(axis=1)
           for a in (fast_name, "local-clip")}
    d_mean, d_lo, d_hi = mean_ci(gap[fast_name] - gap["local-clip"])
    faster = bool(d_hi < 0)
    tails = {a: [_tail_grad(runs[(a, H)]) for H in Hs] for a in (fast_name, "local-clip")}
    ep_flat = all(bool((t <= sigma).all()) for t in tails[fast_name])
    incr = [mean_ci(tails["local-clip"][k + 1] - tails["local-clip"][k]) for k in range(len(Hs) - 1)]
    cl_grows = all(lo > 0 for _, lo, _ in incr) and bool(tails["local-clip"][-1].mean() > sigma)
    ok = both_converge and faster and ep_flat and cl_grows
    reasons = [t for c, t in ((both_converge, "not both converged at H = 1"),
                              (faster, f"no early speed-up: mean gap difference {d_mean:.3g} [{d_lo:.3g}, {d_hi:.3g}]"),
                              (ep_flat, f"{LABELS[fast_name]}'s tail |f'| exceeds sigma for some H"),
                              (cl_grows, "CELGC's tail |f'| does not grow significantly with H")) if not c]
    means = {a: [float(t.mean()) for t in tails[a]] for a in tails}
    return Evidence(
        verdict(ok),
        measured=(f"H=1 early gap diff {d_mean:.3g} [{d_lo:.3g}, {d_hi:.3g}]; tail |f'| vs H: "
                  f"{LABELS[fast_name].split()[0]} {', '.join(f'{v:.3g}' for v in means[fast_name])}; "
                  f"CELGC {', '.join(f'{v:.3g}' for v in means['local-clip'])}"),
        predicted="diff < 0 (95% CI); EPISODE <= sigma for every H; CELGC increasing in H, > sigma at H = 4",
        tolerance=f"sigma = {sigma:g}; early = rounds 1..{FEW_ROUNDS}; {seeds} seeds, paired t-intervals",
        why="; ".join(reasons) or "as predicted",
        numbers={"early_gap_difference": num(d_mean, 0.0, kind="difference", ci=[d_lo, d_hi],
                                             note=f"H = 1, mean over rounds 1..{FEW_ROUNDS} of the gap, "
                                                  f"{fast_name} minus CELGC, paired over seeds"),
                 "early_gap_difference_upper": num(d_hi, 0.0, kind="difference", rule="lt",
                                                   note="upper end of its 95% CI"),
                 "fast_tail_grad_max": num([t.max() for t in tails[fast_name]], sigma, kind="value", rule="le",
                                           note=f"{fast_name}: max over seeds of the tail |f'|, per H in {Hs}"),
                 "celgc_tail_grad_mean": num(means["local-clip"], kind="value", note=f"per H in {Hs}"),
                 "celgc_increment_lower": num([lo for _, lo, _ in incr], 0.0, kind="difference", rule="gt",
                                              note="lower end of the CI of the tail |f'| increase between consecutive H"),
                 "celgc_tail_grad_mean_H4": num(tails["local-clip"][-1].mean(), sigma, kind="value", rule="gt")},
        details={"H": Hs, "tail_grad_means": means, "early_gap_difference": [d_mean, d_lo, d_hi],
                 "celgc_increments_ci": [list(map(float, c)) for c in incr], "fast_method": fast_name},
        seeds=list(range(seeds)),
        plots={"objective_H1": lambda: _plot_objective(1.0, runs[(fast_name, 1.0)], runs[("local-clip", 1.0)], prob1),
               "landscape_H1": lambda: _plot_landscape(1.0, runs[(fast_name, 1.0)], runs[("local-clip", 1.0)], prob1),
               "heterogeneity": lambda: _plot_heterogeneity(Hs, tails, sigma)})


def _plot_heterogeneity(Hs, tails, sigma):
    from theorybench.plotting import new_figure
    fig, axs = new_figure()
    ax = axs[0][0]
    for a, t in tails.items():
        m = [v.mean() for v in t]
        ci = [mean_ci(v) for v in t]
        ax.errorbar(Hs, m, yerr=[[mm - c[1] for mm, c in zip(m, ci)], [c[2] - mm for mm, c in zip(m, ci)]],
                    marker="o", color=COLORS[a], label=LABELS[a], capsize=3)
    ax.axhline(sigma, color="k", ls=":", lw=1, label=r"noise level $\sigma$")
    ax.set_yscale("log")
    ax.set_xlabel("heterogeneity H")
    ax.set_ylabel(r"final $|f'(x)|$ (last 10% of rounds)")
    ax.legend(fontsize=7)
    return fig


# ------------------------------------------------------- EP-5: rates under the theorem's stepsize rules

EP5_RULE = dict(c_eta=0.05, tau=5.0, c_I=0.8)
"""Stepsize rules of the rate theorem. The form ``eta = c_eta N eps^2/(sigma^2 L0)`` is the one in the
authors' synthetic script (a comment there reads ``eta = 10*N*epsilon^2/sigma^2/(A*L0)``); the constants
are RECALLED, not read from the theorem, so they are parameters: ``c_eta`` (0.05 keeps eta below 1/L on
the quartic up to N = 32), ``tau = gamma/eta`` (the authors' threshold 5) and ``c_I`` in ``I = ceil(c_I/eps)``
(communication part). L0 = 1 on our scale."""
EP5_TOL = 0.1        # exponent tolerance, fixed a priori
EP5_RATIO_TOL = 1.25  # "insensitive to heterogeneity": rounds at H within 25% of the homogeneous ones


def _ep5_settings(N, eps, I, sigma, scale_with_N=True):
    eta = EP5_RULE["c_eta"] * (N if scale_with_N else 1) * eps**2 / sigma**2
    return dict(eta=eta, gamma=EP5_RULE["tau"] * eta, local_steps=I, convention="step")


def _quartic(N, H, center="yes"):
    return make_problem("episode-quartic", H=H, N=N, center=center, noise="truncated-gaussian")


@PAPER.claim("EP-5", "Thm. (rates; constants RECALLED)",
             "Under the theorem's stepsize rules, iterations to an average |f'| <= eps scale like 1/N (linear "
             "speedup) for EPISODE and CELGC, rounds like eps^-3 or better with I ~ 1/eps, and EPISODE's rounds "
             "are insensitive to heterogeneity.",
             control="eta not scaled with N (the rule's linear-speedup factor removed)")
def check_ep5(size="quick", control=False):
    from theorybench.scaling import crossing_rounds, no_worse_than, scaling_exponent
    seeds = list(range(8 if size == "quick" else 32))
    Ns = [1, 2, 4, 8, 16] if size == "quick" else [1, 2, 4, 8, 16, 32]
    epss = [0.2, 0.1, 0.05] if size == "quick" else [0.2, 0.1, 0.05, 0.025]
    eps0, I0, sigma = 0.1, 8, 1.0
    horizon = 20000 if size == "quick" else 60000
    # (a) linear speedup in N: EPISODE on heterogeneous data, CELGC on homogeneous data (its setting)
    speed = {}
    for algo, H in (("episode", 1.0), ("local-clip", 0.0)):
        cfg = [(_quartic(N, H), _ep5_settings(N, eps0, I0, sigma, not control)) for N in Ns]
        R = crossing_rounds(algo, cfg, seeds, horizon, eps0)
        speed[algo] = (scaling_exponent(Ns, R * I0), R)
    # (b) communication with I ~ 1/eps (EPISODE, N = 8)
    Is = [int(np.ceil(EP5_RULE["c_I"] / e)) for e in epss]
    cfg = [(_quartic(8, 1.0), _ep5_settings(8, e, I, sigma)) for e, I in zip(epss, Is)]
    Rc = crossing_rounds("episode", cfg, seeds, 4 * horizon, epss)
    comm = scaling_exponent(epss, Rc)
    # (c) heterogeneity: the centred quartic keeps f fixed while H grows
    Hs = [0.0, 1.0, 4.0]
    het = {}
    for algo in ("episode", "local-clip"):
        cfg = [(_quartic(8, H), _ep5_settings(8, eps0, I0, sigma)) for H in Hs]
        het[algo] = crossing_rounds(algo, cfg, seeds, horizon, eps0)
    ratios = het["episode"][1:] / het["episode"][0]
    ratio_ci = [mean_ci(r) if np.isfinite(r).all() else (np.nan, np.nan, np.inf) for r in ratios]
    ok_speed = {a: no_worse_than(f, -1.0, EP5_TOL, worse="above") for a, (f, _) in speed.items()}
    ok_comm = no_worse_than(comm, -3.0, EP5_TOL, worse="below")
    ok_het = all(c[2] <= EP5_RATIO_TOL for c in ratio_ci)
    ok = all(ok_speed.values()) and ok_comm and ok_het
    fa, fc = speed["episode"][0], speed["local-clip"][0]
    reasons = [t for c_, t in ((ok_speed["episode"], f"EPISODE speedup exponent {fa['slope']:.3f} [{fa['lo']:.3f}, {fa['hi']:.3f}] worse than -1"),
                               (ok_speed["local-clip"], f"CELGC speedup exponent {fc['slope']:.3f} [{fc['lo']:.3f}, {fc['hi']:.3f}] worse than -1"),
                               (ok_comm, f"rounds grow faster than eps^-3: {comm['slope']:.3f}"),
                               (ok_het, "EPISODE's rounds grow with heterogeneity")) if not c_]
    het_cl = [float(np.nanmean(het["local-clip"][k] / het["local-clip"][0])) if np.isfinite(het["local-clip"][k]).all()
              else None for k in range(1, len(Hs))]
    return Evidence(
        verdict(ok),
        measured=(f"iterations vs N: EPISODE {fa['slope']:.3f} [{fa['lo']:.3f}, {fa['hi']:.3f}], CELGC {fc['slope']:.3f} "
                  f"[{fc['lo']:.3f}, {fc['hi']:.3f}]; rounds vs eps {comm['slope']:.2f} [{comm['lo']:.2f}, {comm['hi']:.2f}]; "
                  f"EPISODE rounds ratio H=1,4 vs H=0: " + ", ".join(f"{c[0]:.3f}" for c in ratio_ci)),
        predicted=f"<= -1 (+{EP5_TOL}); >= -3 (-{EP5_TOL}); ratio <= {EP5_RATIO_TOL} (95% upper bound)",
        tolerance=f"one-sided 95% t-intervals over {len(seeds)} seeds; metric: first r with mean_(s<=r) |f'(x_s)| <= eps",
        why="; ".join(reasons) or "linear speedup in N, rounds within eps^-3, EPISODE insensitive to heterogeneity",
        numbers={"speedup_exponent_episode": num_fit(fa, -1.0, EP5_TOL, "above", note="iterations vs N"),
                 "speedup_exponent_celgc": num_fit(fc, -1.0, EP5_TOL, "above", note="iterations vs N"),
                 "rounds_exponent_eps": num_fit(comm, -3.0, EP5_TOL, "below", note="rounds vs eps, I ~ 1/eps"),
                 "episode_rounds_ratio": num([c[0] for c in ratio_ci], EP5_RATIO_TOL, kind="ratio",
                                             note="rounds at H = 1, 4 over H = 0 (mean)"),
                 "episode_rounds_ratio_upper": num([c[2] for c in ratio_ci], EP5_RATIO_TOL, kind="ratio", rule="le",
                                                   note="upper end of the 95% interval, H = 1, 4")},
        details={"rule": {**EP5_RULE, "eta": "c_eta N eps^2/sigma^2" if not control else "c_eta eps^2/sigma^2",
                          "gamma": "tau eta", "I": f"{I0} (a), ceil(c_I/eps) (b)"},
                 "N": Ns, "eps": epss, "I_comm": Is, "speedup_fits": {a: f for a, (f, _) in speed.items()},
                 "speedup_rounds_median": {a: np.nanmedian(R, axis=1).tolist() for a, (_, R) in speed.items()},
                 "comm_fit": comm, "comm_rounds_median": np.nanmedian(Rc, axis=1).tolist(), "H": Hs,
                 "episode_ratio_ci": [list(map(float, c)) for c in ratio_ci], "celgc_ratio_mean": het_cl},
        seeds=seeds, plots={"ep5_rates": lambda: _plot_ep5(Ns, speed, I0, epss, Rc, control)})


def _plot_ep5(Ns, speed, I0, epss, Rc, control):
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0)
    ax = axs[0][0]
    for a, (fit, R) in speed.items():
        med = np.nanmedian(R * I0, axis=1)
        ax.loglog(Ns, med, "o-", color=COLORS[a], label=f"{LABELS[a]}: slope {fit['slope']:.2f}")
    ref = np.nanmedian(speed["episode"][1] * I0, axis=1)[0]
    ax.loglog(Ns, ref / np.array(Ns, float), "k--", lw=1, label="1/N")
    ax.set_xlabel("clients N")
    ax.set_ylabel(r"iterations to mean $|f'| \leq \epsilon$")
    ax.set_title("linear speedup" + (" (control: eta not scaled)" if control else ""))
    ax.legend(fontsize=7)
    ax = axs[0][1]
    med = np.nanmedian(Rc, axis=1)
    ax.loglog(epss, med, "o-", color=COLORS["episode"], label=r"EPISODE, $I = \lceil c_I/\epsilon \rceil$")
    e = np.array(epss)
    ax.loglog(e, med[0] * (e / e[0]) ** -3, "k--", lw=1, label=r"$\epsilon^{-3}$ (the bound's rate)")
    ax.set_xlabel(r"$\epsilon$")
    ax.set_ylabel(r"rounds to mean $|f'| \leq \epsilon$")
    ax.set_title(r"rounds vs accuracy $\epsilon$")
    ax.legend(fontsize=7)
    return fig
