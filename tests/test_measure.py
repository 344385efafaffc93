"""Rate fitters on curves with known exponents, confidence intervals, transition detectors."""
import numpy as np
import pytest

from theorybench.measure import (clopper_pearson, first_crossing, fit_linear_rate, fit_power_law,
                                 last_increase, mean_ci)


@pytest.mark.parametrize("p", [-2.0, -1.0, -0.5, 1.0, 2.0])
def test_power_law_exponent_recovered_exactly_without_noise(p):
    t = np.geomspace(1, 1e6, 40)
    fit = fit_power_law(t, 3.0 * t**p)
    assert fit["slope"] == pytest.approx(p, abs=1e-10)
    assert fit["intercept"] == pytest.approx(np.log(3.0), abs=1e-9)


def test_power_law_ci_over_seeds_covers_truth_and_excludes_neighbours():
    rng = np.random.default_rng(0)
    t = np.geomspace(1, 1e4, 30)
    y = 2.0 * t**-1.0 * np.exp(rng.normal(0, 0.2, size=(32, t.size)))
    fit = fit_power_law(t, y)
    assert fit["lo"] < -1.0 < fit["hi"]
    assert fit["hi"] < -0.9 and fit["lo"] > -1.1


def test_linear_rate():
    t = np.arange(100)
    fit = fit_linear_rate(t, 5 * 0.9**t)
    assert fit["q"] == pytest.approx(0.9, rel=1e-12)


def test_mean_ci_coverage():
    rng = np.random.default_rng(1)
    hits = sum(lo <= 0.0 <= hi for _, lo, hi in (mean_ci(rng.normal(size=20)) for _ in range(400)))
    assert 0.90 <= hits / 400 <= 0.99


def test_clopper_pearson():
    lo, hi = clopper_pearson(0, 10)
    assert lo == 0.0 and hi == pytest.approx(1 - 0.025 ** (1 / 10), rel=1e-9)
    lo, hi = clopper_pearson(5, 10)
    assert lo < 0.5 < hi


def test_transition_detectors():
    v = np.array([5.0, 4.0, 4.5, 3.0, 2.0, 2.0, 1.0])
    assert last_increase(v) == 2
    assert last_increase(np.array([3.0, 2.0, 1.0])) == 0
    assert first_crossing(v, 2.0) == 4
    assert first_crossing(v, 0.5) is None
    assert first_crossing(v, 4.5, index=np.arange(7) * 10, below=False) == 0


def test_probability_at_most():
    from theorybench.measure import probability_at_most
    assert probability_at_most(10, 100, 0.25)["ok"]
    assert not probability_at_most(60, 100, 0.25)["ok"]
    assert not probability_at_most(0, 10, 0.01)["resolvable"]
    assert probability_at_most(0, 1000, 0.01)["resolvable"]
