"""Heavy-tailed noise instances (problems/heavy_tailed.py) and sgd / clipped-sgd (theorybench/methods/clipped_sgd.py):
kernels against the NumPy reference with the same draws, the noise laws (KS against the exact CDF, tail index,
moments finite or infinite as documented), and bad parameters."""
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError

from problems import heavy_tailed as ht
from reference_heavy_tailed import (grad_logcosh, grad_quadratic, noise as ref_noise, pareto as ref_pareto,
                                    reference_run, student as ref_student)
from tolerances import local_rel, trajectory_atol

SEEDS = np.arange(40, 240)
STEPS = 60


def _kernel_final(problem, method, **h):
    s = tb.sweep(problem, method, seeds=list(SEEDS), steps=STEPS, record=[STEPS], **h)
    return s.x[..., -1, :].reshape(SEEDS.size, -1)


@pytest.mark.parametrize("instance", ["ht-quadratic", "ht-logcosh"])
@pytest.mark.parametrize("noise", ["pareto", "student", "gaussian", "none"])
@pytest.mark.parametrize("method,schedule", [("sgd", "constant"), ("clipped-sgd", "constant"),
                                             ("clipped-sgd", "harmonic"), ("sgd", "harmonic")])
def test_kernel_matches_reference(instance, noise, method, schedule):
    d, alpha, sigma, gamma, lam = 3, 1.3, 0.7, 0.2, 0.8
    prob = tb.make_problem(instance, d=d, noise=noise, alpha=alpha, sigma=sigma, R=2.0)
    a = prob.arrays
    grad = grad_quadratic(a["h"], a["xstar"]) if instance == "ht-quadratic" else grad_logcosh(a["w"], a["xstar"], a["s"])
    h = {"gamma": gamma, "schedule": schedule} | ({"lam": lam} if method == "clipped-sgd" else {})
    xk = _kernel_final(prob, method, **h)
    xr, big = reference_run(method, grad, prob.x0, STEPS, SEEDS, noise, sigma, alpha, gamma, lam, schedule)
    # gamma L = 0.2 and clipping (a projection) keep the one-step map nonexpansive: the local errors add up
    atol = trajectory_atol(STEPS, local_rel(d), 1.0, scale=big)[:, None]
    assert np.all(np.abs(xk - xr) <= atol), np.abs(xk - xr).max()
    assert np.isfinite(xk).all()


def test_noise_piece_draws_match_reference():
    """The kernels' noise pieces draw exactly the documented numbers (through the stochastic gradient at x*)."""
    prob = tb.make_problem("ht-quadratic", d=2, noise="student", alpha=2.5, sigma=1.0, R=0.0)
    r = tb.sweep(prob, "sgd", seeds=[7, 8], steps=1, record=[1], gamma=1.0)
    z = ref_noise("student", np.array([7, 8]), 0, 2, 1.0, 2.5)
    np.testing.assert_allclose(r.x[..., -1, :].reshape(2, 2), 1.0 - z, rtol=1e-13, atol=1e-13)


def _draws(kind, alpha, n=20000, seed=3):
    c = np.arange(n)
    return ref_pareto(seed, 0, c, alpha) if kind == "pareto" else ref_student(seed, 0, c, alpha)


@pytest.mark.parametrize("kind,alpha", [("pareto", 1.5), ("pareto", 1.1), ("student", 1.5), ("student", 3.0)])
def test_noise_law_ks(kind, alpha):
    """KS test against the exact CDF with a fixed seed (the draws are deterministic: no flakiness)."""
    from scipy import stats
    z = _draws(kind, alpha)
    cdf = (lambda v: ht.pareto_cdf(v, 1.0, alpha)) if kind == "pareto" else stats.t(alpha).cdf
    assert stats.kstest(z, cdf).pvalue > 1e-3


def test_kernel_scalar_draws_match_reference():
    from numba import njit

    @njit
    def draw_many(kind, n, alpha):
        out = np.empty(n)
        for c in range(n):
            out[c] = ht.pareto_draw(3, 0, c, alpha) if kind == 0 else ht.student_draw(3, 0, c, alpha)
        return out
    for k, kind in enumerate(("pareto", "student")):
        np.testing.assert_allclose(draw_many(k, 5000, 1.5), _draws(kind, 1.5, 5000), rtol=1e-12, atol=0)


@pytest.mark.parametrize("kind,alpha", [("pareto", 1.5), ("student", 1.5), ("pareto", 1.25)])
def test_tail_index(kind, alpha):
    """Hill estimator on the top 1% of |z| is close to alpha (the law's tail index)."""
    a = np.sort(np.abs(_draws(kind, alpha, n=200_000, seed=11)))[::-1]
    k = 2000
    hill = 1.0 / np.mean(np.log(a[:k] / a[k]))
    assert abs(hill - alpha) < 0.15 * alpha


@pytest.mark.parametrize("kind", ["pareto", "student"])
def test_moments_finite_below_alpha(kind):
    """E|z|^a for a = alpha/2 (a finite-variance estimate) matches the closed form; a >= alpha is infinite."""
    alpha = 1.5
    a = alpha / 2
    z = np.abs(_draws(kind, alpha, n=200_000, seed=5))
    est, se = np.mean(z ** a), np.std(z ** a) / math.sqrt(z.size)
    exact = ht.abs_moment(kind, a, 1.0, alpha)
    assert abs(est - exact) < 5 * se + 1e-3 * exact
    assert ht.abs_moment(kind, alpha, 1.0, alpha) == math.inf
    assert ht.abs_moment(kind, 2.0, 1.0, alpha) == math.inf
    assert math.isfinite(ht.abs_moment("gaussian", 2.0, 1.0, alpha))
    assert ht.abs_moment("gaussian", 2.0, 1.0, alpha) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["pareto", "student"])
def test_second_moment_diverges(kind):
    """alpha < 2: the sample mean of z^2 over nested prefixes keeps growing (median over groups)."""
    z = _draws(kind, 1.5, n=400_000, seed=9).reshape(40, -1) ** 2
    c = np.cumsum(z, axis=1)
    m_small, m_large = np.median(c[:, 99] / 100), np.median(c[:, -1] / c.shape[1])
    assert m_large > 2.0 * m_small


@pytest.mark.parametrize("instance", ["ht-quadratic", "ht-logcosh"])
def test_known_minimiser(instance):
    prob = tb.make_problem(instance, d=3, noise="none")
    xs = prob.arrays["xstar"]
    assert prob.value(xs) == 0.0
    np.testing.assert_array_equal(prob.grad(xs), 0.0)
    assert np.linalg.norm(prob.x0 - xs) == pytest.approx(1.0)
    r = tb.run(prob, "sgd", steps=2000, gamma=0.5)
    assert r.traces["err"][-1] < 1e-6


def test_logcosh_value_gradient_stable():
    prob = tb.make_problem("ht-logcosh", d=2, noise="none", s=0.5)
    x = np.array([1e6, -3.0])
    assert np.isfinite(prob.value(x))
    e = 1e-6
    for x in (np.array([0.3, 2.0]), np.array([-1.5, 1.2])):
        fd = [(prob.value(x + e * u) - prob.value(x - e * u)) / (2 * e) for u in np.eye(2)]
        np.testing.assert_allclose(prob.grad(x), fd, rtol=1e-6, atol=1e-8)


def test_clip_fraction_and_no_clip_equals_sgd():
    prob = tb.make_problem("ht-quadratic", noise="pareto")
    a = tb.run(prob, "sgd", steps=50, seed=2, gamma=0.1)
    b = tb.run(prob, "clipped-sgd", steps=50, seed=2, gamma=0.1, lam=1e300)
    np.testing.assert_array_equal(a.x, b.x)
    assert b.stats["clip_fraction"] == 0.0
    c = tb.run(prob, "clipped-sgd", steps=50, seed=2, gamma=0.1, lam=1e-3)
    assert c.stats["clip_fraction"] == 1.0


@pytest.mark.parametrize("settings,match", [({"alpha": 1.0}, "alpha"), ({"alpha": 0.5}, "alpha"),
                                            ({"sigma": -1.0}, "sigma"), ({"noise": "cauchy"}, "noise"),
                                            ({"mu": 2.0, "L": 1.0}, "mu"), ({"d": 0}, "d")])
def test_bad_parameters(settings, match):
    with pytest.raises(TheoryBenchError, match=match):
        tb.make_problem("ht-quadratic", **settings)


def test_bad_method_parameters():
    with pytest.raises(TheoryBenchError, match="lam"):
        tb.run("ht-quadratic", "clipped-sgd", steps=5, lam=0.0)
    with pytest.raises(TheoryBenchError, match="gamma"):
        tb.run("ht-quadratic", "sgd", steps=5, gamma=-0.1)
    with pytest.raises(TheoryBenchError, match="schedule"):
        tb.run("ht-quadratic", "sgd", steps=5, schedule="cosine")


def test_same_numbers_on_any_thread_count():
    import numba
    prob = tb.make_problem("ht-logcosh", noise="student", alpha=1.2)
    old = numba.get_num_threads()
    try:
        out = []
        for k in (1, numba.config.NUMBA_NUM_THREADS):  # (1 and 1 on a one-thread machine: still runs)
            numba.set_num_threads(k)
            out.append(tb.sweep(prob, "clipped-sgd", seeds=64, steps=40, record=[40], lam=0.5).x)
    finally:
        numba.set_num_threads(old)
    np.testing.assert_array_equal(out[0], out[1])
