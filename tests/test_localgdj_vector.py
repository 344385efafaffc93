"""``clip-localgdj`` and ``fedavg-gd`` on the vector template (``theorybench.methods.localgdj_vector``, family
``quartic-points`` of ``problems.quartic_points``) against the former generic kernel (``kernels/localgdj.py`` on
the engine family ``POINTS4``; its frozen copy ``tests/legacy_localgdj_kernel.py`` since the engine dropped it):
the same trajectories bit for bit, the same losses, gradient norms, divergence rounds, ``clipped_fraction`` and
running statistics (the first-order methods gd, l0l1-gd, clipped-gd, normalized-gd on this instance gave the
single-machine kernel's numbers on the former ``POINTS4`` problem bit for bit at commit d123b64, before the
engine dropped that family); the family pieces against the NumPy formulas. ``tests/test_localgdj.py`` holds the methods against the plain NumPy
reference ``tests/reference_localgdj.py`` (written from the pseudocode) bit for bit.

Tolerance 0 everywhere below: the vector pieces perform the former kernel's floating-point operations in the
same order (per client a left-to-right sum over its points; the clients' gradients summed, then divided by
M; the local steps, the server's sum and ``1/(alpha M tau)``, the norm ``kernels.common.norm``; the minibatch
draws ``uniform01(seed, 2^41 + m, k b + s)``), so any difference is a change of arithmetic, not rounding noise.
"""
import numpy as np
import pytest

import theorybench as tb
from theorybench.algorithms import VARIANTS
from theorybench.errors import TheoryBenchError
from theorybench.runner import record_schedule, run_batch
from problems import quartic_points as qp

import reference_localgdj as ref
from legacy_localgdj_kernel import legacy_batch, legacy_params


def variant(name, kernel):
    alg = [a for a in VARIANTS.get(name, []) if a.kernel == kernel]
    assert alg, f"no {kernel!r} variant of {name!r}: the port is missing"
    return alg[0]


def both(name, prob, settings, seeds, rounds, *, x0s=None, record=None, targets=None, stats="all"):
    """The frozen former kernel and ``run_batch`` of the vector method on ``prob``: two tuples ``(rec, x, loss,
    grad_norm, stats by name)``."""
    new = variant(name, "vector")
    sets = [new.resolve(s) for s in settings]
    rec = record_schedule(rounds) if record is None else np.asarray(record, dtype=np.int64)
    starts = [prob.x0] * len(sets) if x0s is None else x0s
    x, loss, gn, st = legacy_batch(name, legacy_params(prob), sets, seeds, rounds, rec, starts, targets)
    b = run_batch(new, [prob] * len(sets), sets, seeds, rounds, x0s=x0s, record=record, targets=targets,
                  stats=stats)
    return (rec, x, loss, gn, st), b[:4] + ({k: b[4][k] for k in b[4].names},)


def assert_same(a, b, stats=("diverged_round", "max_abs_x", "first_below_target", "clipped_fraction"),
                gn_stats=False):
    rec_a, xa, la, ga, sa = a
    rec_b, xb, lb, gb, sb = b
    np.testing.assert_array_equal(rec_a, rec_b)
    for what, u, v in (("x", xa, xb), ("loss", la, lb), ("grad_norm", ga, gb)):
        same = (u == v) | (np.isnan(u) & np.isnan(v))
        assert same.all(), f"{what} differs first at {np.argwhere(~same)[0].tolist()}: {u[~same][:3]} vs {v[~same][:3]}"
    names = list(stats) + (["min_grad_norm", "argmin_round", "grad_norm_sum", "first_average_below_target"]
                           if gn_stats else [])
    for k in names:
        if k in sa and k in sb:
            np.testing.assert_array_equal(sa[k], sb[k], err_msg=k)


def _settings(name, alpha, tau, c0, c1, b):
    s = dict(alpha=alpha, local_steps=tau, batch_size=b)
    if name == "clip-localgdj":
        s.update(c0=c0, c1=c1)
    return s


# (problem settings, alpha, tau, c0, c1, batch size, rounds): the cases of tests/test_localgdj.py and more
CASES = [
    ({}, 1e-6, 10, 1e3, 0.1, 0, 40),
    ({}, 1e-5, 10, 1e4, 1e-3, 0, 40),
    ({}, 1e-7, 3, 1e2, 1.0, 0, 30),
    ({}, 1e-6, 10, 1e3, 0.1, 8, 30),
    ({"order": "value"}, 1e-5, 4, 1e3, 1e-2, 8, 20),
    ({"n_points": 53, "clients": 7, "x0": -20.0}, 3e-4, 5, 50.0, 0.3, 0, 30),
    ({"n_points": 53, "clients": 7, "x0": -20.0}, 3e-4, 5, 50.0, 0.3, 3, 30),
    ({"d": 3}, 1e-6, 10, 1e3, 0.1, 8, 25),
    ({"d": 100}, 1e-8, 10, 1e4, 1e-2, 0, 6),
    ({"d": 100}, 1e-8, 10, 1e4, 1e-2, 8, 6),
    ({"d": 2, "n_points": 53, "clients": 7, "x0": -3.0, "seed": 5}, 1e-4, 4, 100.0, 0.05, 5, 20),
    ({}, 1e-2, 10, 1e3, 1e-6, 0, 15),          # diverges (local steps far above 2/L near x0)
]


@pytest.mark.parametrize("name", ["clip-localgdj", "fedavg-gd"])
@pytest.mark.parametrize("ps,alpha,tau,c0,c1,b,R", CASES)
def test_bit_identical_to_the_former_kernel(name, ps, alpha, tau, c0, c1, b, R):
    prob = tb.make_problem("quartic-points", **ps)
    a, b_ = both(name, prob, [_settings(name, alpha, tau, c0, c1, b)] * 3, [0, 4, 7], R)
    assert_same(a, b_)


def test_diverging_runs_end_at_the_same_round():
    prob = tb.make_problem("quartic-points")
    sets = [dict(alpha=a, local_steps=10, batch_size=0) for a in (1e-4, 1e-3, 1e-2, 1e-1)]
    a, b = both("fedavg-gd", prob, sets, [0] * 4, 30)
    assert_same(a, b)
    assert (b[4]["diverged_round"] > 0).sum() >= 2  # the cases do diverge
    assert (a[4]["diverged_round"] == b[4]["diverged_round"]).all()


def test_sweep_grid_record_targets_and_gradient_statistics():
    """A grid of (c0, c1) x seeds with minibatches, a sparse record schedule, a target, and the gradient-norm
    statistics asked for (evaluated at every round, as the former kernel always did)."""
    prob = tb.make_problem("quartic-points", d=2)
    sets = [dict(alpha=1e-6, local_steps=10, c0=c0, c1=c1, batch_size=8) for c0 in (1e2, 1e3, 1e4)
            for c1 in (1e-3, 1e-2, 1.0) for _ in range(2)]
    seeds = [s for _ in range(9) for s in (0, 3)]
    gs = prob.constant("grad_norm_x0")
    targets = [gs * 1e-3] * len(sets)
    a, b = both("clip-localgdj", prob, sets, seeds, 60, record=[0, 1, 7, 30, 59, 60], targets=targets,
                stats=["min_grad_norm", "argmin_round", "grad_norm_sum", "first_average_below_target"])
    assert_same(a, b, gn_stats=True)
    x0s = [np.full(2, v) for v in np.linspace(-50, 50, len(sets))]
    a, b = both("clip-localgdj", prob, sets, seeds, 20, x0s=x0s)
    assert_same(a, b)


def test_problem_seed_sweep_keeps_both_axes():
    """A sweep over the problem's own parameter ``seed`` and over run seeds: two axes, each cell the single run."""
    sw = tb.sweep("quartic-points", "gd", problem_grid={"seed": [0, 2]}, seeds=2, rounds=10, eta=1e-6,
                  problem_settings=dict(n_points=40, clients=4), record=list(range(11)))
    assert sw.dims == ("problem_seed", "seed") and sw.x.shape[:2] == (2, 2)
    for i, ps in enumerate([0, 2]):
        r = tb.run("quartic-points", "gd", rounds=10, eta=1e-6, problem_settings=dict(seed=ps, n_points=40, clients=4))
        assert np.array_equal(sw.x[i, 0], r.x)
    assert not np.array_equal(sw.x[0, 0], sw.x[1, 0])


# ---------------------------------------------------------------------------------- the family pieces

@pytest.mark.parametrize("ps", [{}, {"d": 3}, {"d": 2, "n_points": 53, "clients": 7}])
def test_family_pieces_against_numpy(ps):
    prob = tb.make_problem("quartic-points", **ps)
    pts = qp.points_of(prob)
    xs = np.atleast_1d(prob.constant("x_star"))
    r = np.random.default_rng(0)
    for x in [prob.x0, xs + r.uniform(-3, 3, prob.dim), r.uniform(-30, 30, prob.dim)]:
        assert prob.value(x) == pytest.approx(qp.value(x, pts), rel=1e-13)
        np.testing.assert_allclose(prob.grad(x), qp.gradient(x, pts), rtol=1e-12,
                                   atol=1e-13 * np.abs(qp.gradient(x, pts)).max())
        for m, (s, e) in enumerate(qp.shards(len(pts), prob.n_clients)):
            w = prob.n_clients / len(pts)
            np.testing.assert_allclose(prob.client_grad(m, x), ref.client_grad(x, pts[s:e], w), rtol=1e-13,
                                       atol=1e-14 * np.abs(ref.client_grad(x, pts[s:e], w)).max())
            assert prob.client_value(m, x) == pytest.approx(w * np.sum(np.sum((x - pts[s:e]) ** 2, axis=1) ** 2),
                                                             rel=1e-13)
    with pytest.raises(TheoryBenchError, match="client index"):
        prob.client_value(prob.n_clients, prob.x0)


def test_safe_radius_is_sound():
    """Inside the safe radius f and ||grad f|| stay below 1e149 (at the corner, where they are largest)."""
    for ps in [{}, {"d": 100}, {"d": 2, "n_points": 53, "clients": 7, "box": 1e3}]:
        prob = tb.make_problem("quartic-points", **ps)
        rho = qp.safe_radius(prob)
        assert rho > 1e30 / np.sqrt(prob.dim)
        B = np.abs(prob.arrays["pts"]).max()
        x = np.full(prob.dim, rho * (1 - 1e-12))
        x_far = -x  # the coordinates' farthest corner from some point
        for y in (x, x_far):
            assert abs(prob.value(y)) < 1e149 and np.linalg.norm(prob.grad(y)) < 1e149
        assert B < rho


def test_minibatches_need_the_points():
    """The minibatch gradient reads the instance's points: another vector instance is refused by name."""
    with pytest.raises(TheoryBenchError, match="pts"):
        tb.run("quadratic-clients", "fedavg-gd", rounds=2, batch_size=8)


@pytest.mark.parametrize("name", ["clip-localgdj", "fedavg-gd"])
def test_lj1_quick_grid_bit_identical(name):
    """Every run of LJ-1's quick study (3 alphas x 12 (c0, c1) pairs, tau = 10, R = 100, d = 1) and its
    negative control's pair (c1 = 0, c0 = 1/(alpha tau)): the former kernel's numbers exactly."""
    from paper_checks import clip_localgdj as lj
    prob = tb.make_problem("quartic-points")
    c0s, c1s = lj.GRIDS["quick"]
    pairs = [(c0, c1) for c0 in c0s for c1 in c1s]
    sets = [dict(alpha=a, local_steps=lj.TAU, c0=c0, c1=c1, batch_size=0) for a in lj.ALPHAS[1]
            for c0, c1 in pairs + [(1.0 / (a * lj.TAU), 0.0)]]
    if name == "fedavg-gd":
        sets = [dict(alpha=a, local_steps=lj.TAU, batch_size=0) for a in lj.ALPHAS[1]]
    a, b = both(name, prob, sets, [0] * len(sets), lj.ROUNDS)
    assert_same(a, b)
