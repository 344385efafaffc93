"""Clip-LocalGDJ / FedAvg (``theorybench.methods.localgdj_vector`` on the vector template) against the NumPy
reference (``tests/reference_localgdj.py``); the quartic-points problem against the authors' construction; the
family's client gradients against finite differences; the problem's constants."""
import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError
from theorybench.methods import localgdj_vector
from problems import quartic_points as qp

import reference_localgdj as ref
import tolerances as tol


# --------------------------------------------------------------------------- the instance

@pytest.mark.parametrize("d", [1, 3, 100])
def test_points_are_the_authors(d):
    pts = qp.points(d)
    np.testing.assert_array_equal(pts, ref.authors_points(d))
    assert pts.shape == (1000, d) and np.abs(pts).max() <= 10.0
    assert np.all(np.diff(np.linalg.norm(pts, axis=1)) >= 0)


def test_value_order_is_the_earlier_1d_script():
    pts = qp.points(1, order="value")
    np.testing.assert_array_equal(pts[:, 0], np.sort(np.random.RandomState(0).uniform(-10, 10, 1000)))


@pytest.mark.parametrize("d", [1, 100])
def test_problem_is_the_papers_f_and_clients(d):
    """mean_m f_m is the paper's f = (1/1000) sum_j ||x - x_j||^4; f_m is the authors' client loss."""
    prob = tb.make_problem("quartic-points", d=d)
    pts = ref.authors_points(d)
    shards = ref.authors_shards(pts, 10)
    r = np.random.default_rng(1)
    for x in [np.full(d, 100.0), r.uniform(-5, 5, d), r.uniform(-30, 30, d)]:
        assert prob.value(x) == pytest.approx(ref.authors_value(x, pts), rel=1e-13)
        np.testing.assert_allclose(prob.grad(x), ref.authors_gradient(x, pts), rtol=1e-12,
                                   atol=1e-12 * np.abs(ref.authors_gradient(x, pts)).max())
        for m in (0, 4, 9):
            assert prob.client_value(m, x) == pytest.approx(ref.authors_value(x, shards[m]), rel=1e-13)
    np.testing.assert_array_equal(prob.x0, np.full(d, 100.0))
    assert prob.n_clients == 10 and prob.constant("shard_sizes") == [100] * 10


def test_unequal_shards_keep_f():
    """n not divisible by M: contiguous shards differing by one point, weight M/n, f unchanged."""
    prob = tb.make_problem("quartic-points", d=2, n_points=53, clients=7)
    pts = qp.points(2, 53)
    assert sorted(set(prob.constant("shard_sizes"))) == [7, 8] and sum(prob.constant("shard_sizes")) == 53
    x = np.array([0.3, -1.7])
    assert prob.value(x) == pytest.approx(ref.authors_value(x, pts), rel=1e-13)


def _small_points(seed=3, d=3):
    """Three clients with 4, 2 and 3 points and random weights (a ``quartic-points`` instance built directly)."""
    r = np.random.default_rng(seed)
    sizes = [4, 2, 3]
    arrays = qp.points_arrays(r.uniform(-3, 3, (sum(sizes), d)), sizes, r.uniform(0.1, 2.0, 3))
    prob = qp.QuarticPointsProblem("small-points", -1, np.zeros((3, 0)), d, np.zeros(d), arrays=arrays,
                                   family_name=qp.NAME)
    return prob, sizes


def test_client_gradient_against_finite_differences():
    prob, _ = _small_points()
    d = 3
    r = np.random.default_rng(0)
    h = 1e-5
    for _ in range(5):
        x = r.uniform(-4, 4, d)
        for i in range(3):
            g = prob.client_grad(i, x)
            fd = np.array([(prob.client_value(i, x + h * e) - prob.client_value(i, x - h * e)) / (2 * h)
                           for e in np.eye(d)])
            np.testing.assert_allclose(g, fd, rtol=1e-7, atol=1e-7 * np.abs(g).max())


def test_client_gradient_formula_and_shards():
    prob, sizes = _small_points()
    a = prob.arrays
    x = np.array([0.5, -1.0, 2.0])
    for i, m in enumerate(sizes):
        P = a["pts"][a["start"][i]:a["start"][i] + m]
        np.testing.assert_allclose(prob.client_grad(i, x), ref.client_grad(x, P, a["weight"][i]), rtol=1e-14)
        assert prob.client_value(i, x) == pytest.approx(a["weight"][i] * np.sum(np.sum((x - P) ** 2, axis=1) ** 2),
                                                        rel=1e-14)
    assert prob.value(x) == pytest.approx(np.mean([prob.client_value(i, x) for i in range(3)]), rel=1e-14)
    np.testing.assert_allclose(prob.grad(x), np.mean([prob.client_grad(i, x) for i in range(3)], axis=0),
                               rtol=1e-14)


# --------------------------------------------------------------------------- constants

def test_constants_one_dimensional():
    prob = tb.make_problem("quartic-points")
    pts = ref.authors_points(1)
    xs, fs = prob.constant("x_star"), prob.constant("f_star")
    # the authors' optimal_value (d = 1): 100 Newton steps from x = 1
    x = np.array([1.0])
    for _ in range(100):
        g = ref.authors_gradient(x, pts)
        H = 12 * np.mean((x - pts[:, 0]) ** 2)
        x = x - g / H
    assert xs == pytest.approx(x[0], abs=1e-14)
    assert fs == pytest.approx(ref.authors_value(x, pts), rel=1e-14)
    assert abs(ref.authors_gradient([xs], pts)[0]) <= 1e-10
    for dx in (1e-3, -1e-3, 0.5):
        assert ref.authors_value([xs + dx], pts) > fs
    lmin, lmax = prob.constant("hessian_eigs_at_x_star")
    assert lmin == pytest.approx(12 * np.mean((xs - pts[:, 0]) ** 2), rel=1e-12) and lmax == lmin
    assert prob.constant("f_x0") == pytest.approx(ref.authors_value([100.0], pts), rel=1e-14)


def test_constants_high_dimensional():
    prob = tb.make_problem("quartic-points", d=100)
    pts = ref.authors_points(100)
    xs, fs = np.array(prob.constant("x_star")), prob.constant("f_star")
    g = ref.authors_gradient(xs, pts)
    assert np.linalg.norm(g) <= 1e-12 * np.linalg.norm(ref.authors_gradient(np.full(100, 1.0), pts)) * 1e3
    assert fs == pytest.approx(ref.authors_value(xs, pts), rel=1e-14)
    r = np.random.default_rng(2)
    for _ in range(5):
        assert ref.authors_value(xs + 1e-2 * r.standard_normal(100), pts) > fs
    lmin, lmax = prob.constant("hessian_eigs_at_x_star")
    assert 0 < lmin <= lmax


@pytest.mark.parametrize("d", [1, 100])
def test_excess_is_f_minus_fstar_without_cancellation(d):
    prob = tb.make_problem("quartic-points", d=d)
    pts = qp.points_of(prob)
    xs = np.atleast_1d(prob.constant("x_star"))
    r = np.random.default_rng(5)
    X = xs + r.uniform(-3, 3, (6, d))
    want = np.array([ref.authors_value(x, pts) for x in X]) - prob.constant("f_star")
    np.testing.assert_allclose(qp.excess(X, pts, xs), want, rtol=1e-10)
    # near x*, a 1e-7 displacement: the excess is the quadratic form, far below f*'s rounding
    h = 1e-7 * r.standard_normal(d)
    quad = 0.5 * h @ qp.hessian(xs, pts) @ h
    assert qp.excess(xs + h, pts, xs) == pytest.approx(quad, rel=1e-5)
    assert np.isnan(qp.excess(np.full(d, np.nan), pts, xs))


# --------------------------------------------------------------------------- kernel against the reference

def _hyper(algo, alpha, tau, c0, c1, b):
    h = dict(alpha=alpha, local_steps=tau, batch_size=b)
    if algo == "clip-localgdj":
        h.update(c0=c0, c1=c1)
    return h


def kernel_and_reference(algo, psettings, alpha, tau, c0, c1, b, rounds, seed=0, x0=None):
    prob = tb.make_problem("quartic-points", **psettings)
    res = tb.run(prob, algo, rounds=rounds, seed=seed, x0=x0, **_hyper(algo, alpha, tau, c0, c1, b))
    pts = qp.points_of(prob)
    shards = [pts[s:e] for s, e in qp.shards(len(pts), prob.n_clients)]
    counts = {}
    xs = ref.reference_run(algo, shards, prob.n_clients / len(pts), prob.x0 if x0 is None else x0, rounds,
                           alpha=alpha, tau=tau, c0=c0, c1=c1, batch_size=b, seed=seed, counts=counts)
    assert not res.diverged
    return prob, res, xs, counts


# (problem settings, alpha, tau, c0, c1, batch size, rounds)
CASES_1D = [
    ({}, 1e-6, 10, 1e3, 0.1, 0, 40),
    ({}, 1e-5, 10, 1e4, 1e-3, 0, 40),
    ({}, 1e-7, 3, 1e2, 1.0, 0, 30),
    ({}, 1e-6, 10, 1e3, 0.1, 8, 30),          # the authors' minibatches
    ({"order": "value"}, 1e-5, 4, 1e3, 1e-2, 8, 20),
    ({"n_points": 53, "clients": 7, "x0": -20.0}, 3e-4, 5, 50.0, 0.3, 0, 30),
    ({"n_points": 53, "clients": 7, "x0": -20.0}, 3e-4, 5, 50.0, 0.3, 3, 30),
]


@pytest.mark.parametrize("algo", ["clip-localgdj", "fedavg-gd"])
@pytest.mark.parametrize("ps,alpha,tau,c0,c1,b,R", CASES_1D)
def test_kernel_bitwise_one_dimensional(algo, ps, alpha, tau, c0, c1, b, R):
    prob, res, xs, counts = kernel_and_reference(algo, ps, alpha, tau, c0, c1, b, R, seed=4)
    np.testing.assert_array_equal(res.rounds, np.arange(R + 1))
    assert np.array_equal(res.x, xs), f"first mismatch at round {int(np.argmax(res.x[:, 0] != xs[:, 0]))}"
    pts = qp.points_of(prob)
    # the same (bit-identical) iterates: the loss is a weighted mean of n nonnegative terms (x - p)^4 (3
    # roundings each in 1-D, the client weight and the mean's division 2 more), summed in another order by
    # NumPy (pairwise) than by the kernel (per client, then over clients): tests/tolerances.py, sum_rtol
    np.testing.assert_allclose(res.loss, [ref.authors_value(x, pts) for x in xs], rtol=tol.sum_rtol(len(pts), 5),
                               atol=0)
    if algo == "clip-localgdj":
        assert res.stats["clipped_fraction"] == counts["clipped"] / counts["jumps"]
    else:
        assert res.stats["clipped_fraction"] == 0.0


CASES_ND = [
    ({"d": 3}, 1e-6, 10, 1e3, 0.1, 0, 25),
    ({"d": 3}, 1e-6, 10, 1e3, 0.1, 8, 25),
    ({"d": 100}, 1e-8, 10, 1e4, 1e-2, 0, 8),
    ({"d": 100}, 1e-8, 10, 1e4, 1e-2, 8, 8),
    ({"d": 2, "n_points": 53, "clients": 7, "x0": -3.0}, 1e-4, 4, 100.0, 0.05, 5, 20),
]


@pytest.mark.parametrize("algo", ["clip-localgdj", "fedavg-gd"])
@pytest.mark.parametrize("ps,alpha,tau,c0,c1,b,R", CASES_ND)
def test_kernel_matches_reference_in_d_dimensions(algo, ps, alpha, tau, c0, c1, b, R):
    prob, res, xs, counts = kernel_and_reference(algo, ps, alpha, tau, c0, c1, b, R, seed=2)
    # Tolerance 0 (tests/tolerances.py, last paragraph): the reference adds in the kernel's order
    # (left-to-right sums, no BLAS) with correctly rounded operations, so the traces are identical on every
    # CPU; assert_allclose reports how far apart they are if a reordering in the kernel breaks that.
    np.testing.assert_allclose(res.x, xs, rtol=0, atol=0)
    assert np.array_equal(res.x, xs)
    if algo == "clip-localgdj":
        assert res.stats["clipped_fraction"] == counts["clipped"] / counts["jumps"]


def test_cases_exercise_both_server_regimes():
    """Among the 1-D jump cases some rounds clip (c1 ||g_p|| > c0) and some do not."""
    fr = []
    for ps, alpha, tau, c0, c1, b, R in CASES_1D:
        counts = {}
        prob = tb.make_problem("quartic-points", **ps)
        pts = qp.points_of(prob)
        shards = [pts[s:e] for s, e in qp.shards(len(pts), prob.n_clients)]
        ref.reference_run("clip-localgdj", shards, prob.n_clients / len(pts), prob.x0, R, alpha=alpha, tau=tau,
                          c0=c0, c1=c1, batch_size=b, counts=counts)
        fr.append(counts["clipped"] / counts["jumps"])
    assert any(0.0 < f < 1.0 for f in fr), fr


def test_minibatch_gradient_is_the_authors_mean():
    """With weight 1/n_m, the minibatch estimate is the authors' ``4 * mean over the batch``."""
    pts = ref.authors_points(3)
    shard = ref.authors_shards(pts, 10)[6]
    idx = ref.minibatch_indices(7, 6, 11, 8, len(shard))
    x = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(ref.minibatch_grad(x, shard, 1.0 / len(shard), idx),
                               ref.authors_gradient(x, shard[idx]), rtol=1e-13)
    assert ref.MINIBATCH_STREAM == localgdj_vector.MINIBATCH_STREAM


def test_minibatch_indices_are_uniform():
    n_m, b = 100, 8
    idx = np.concatenate([ref.minibatch_indices(0, 3, k, b, n_m) for k in range(2000)])
    counts = np.bincount(idx, minlength=n_m)
    assert idx.min() >= 0 and idx.max() < n_m
    assert np.all(np.abs(counts - idx.size / n_m) <= 6 * np.sqrt(idx.size / n_m))


def test_jump_with_fedavg_server_step_is_fedavg():
    """c1 = 0, c0 = 1/(alpha tau): the jump x_p - alpha tau g_p is the average of the local iterates."""
    alpha, tau = 1e-6, 10
    a = tb.run("quartic-points", "clip-localgdj", rounds=50, alpha=alpha, local_steps=tau, c0=1 / (alpha * tau), c1=0.0)
    b = tb.run("quartic-points", "fedavg-gd", rounds=50, alpha=alpha, local_steps=tau)
    np.testing.assert_allclose(a.x, b.x, rtol=1e-12, atol=1e-12)


def test_sweep_equals_single_runs():
    """prange over configurations: a sweep gives exactly the single runs' numbers."""
    sw = tb.sweep("quartic-points", "clip-localgdj", grid={"c0": [1e2, 1e3, 1e4], "c1": [1e-2, 1.0]},
                  seeds=[0, 3], rounds=20, alpha=1e-6, batch_size=8)
    for i, c0 in enumerate([1e2, 1e3, 1e4]):
        for j, c1 in enumerate([1e-2, 1.0]):
            for k, s in enumerate([0, 3]):
                r = tb.run("quartic-points", "clip-localgdj", rounds=20, seed=s, alpha=1e-6, batch_size=8, c0=c0, c1=c1)
                assert np.array_equal(sw.x[i, j, k], r.x)


def test_divergence_is_reported():
    """alpha far above the local stability limit: the run is marked diverged, no crash, NaN after."""
    r = tb.run("quartic-points", "fedavg-gd", rounds=10, alpha=1e-2)
    assert r.diverged and np.isnan(r.loss[-1])


def test_bad_inputs_are_named():
    with pytest.raises(TheoryBenchError, match="alpha"):
        tb.run("quartic-points", "clip-localgdj", rounds=2, alpha=-1.0)
    with pytest.raises(TheoryBenchError, match="c1"):
        tb.run("quartic-points", "clip-localgdj", rounds=2, c1=-0.5)
    with pytest.raises(TheoryBenchError, match="order"):
        tb.make_problem("quartic-points", d=2, order="value")
    with pytest.raises(TheoryBenchError, match="clients"):
        tb.make_problem("quartic-points", n_points=5, clients=10)
    # the methods read the instance's points (the minibatches): other instances are refused by name
    with pytest.raises(TheoryBenchError, match="cannot run problem 'episode-quartic'"):
        tb.run("episode-quartic", "fedavg-gd", rounds=2, batch_size=8)
    with pytest.raises(TheoryBenchError, match="pts"):
        tb.run("quadratic-clients", "clip-localgdj", rounds=2)
