"""Scaling-law helpers: crossing rounds equal the kernel's running statistics of a full run, early
stopping changes nothing but the cost, and the one-sided verdicts."""
import numpy as np
import pytest

import theorybench as tb
from theorybench.scaling import crossing_rounds, no_worse_than, scaling_exponent


def test_crossing_rounds_match_a_full_run():
    prob = tb.make_problem("episode-quartic", H=1.0, N=4, center="yes")
    settings = dict(eta=0.002, gamma=0.01, local_steps=4)
    R = crossing_rounds("episode", [(prob, settings)], [0, 1], 6000, 0.1)
    for k, seed in enumerate([0, 1]):
        full = tb.run(prob, "episode", rounds=6000, seed=seed, target=0.1, record=np.arange(6001), **settings)
        assert R[0, k] == full.stats["first_average_below_target"]
        avg = np.cumsum(full.grad_norm) / np.arange(1, full.grad_norm.size + 1)
        assert R[0, k] == np.flatnonzero(avg <= 0.1)[0]


def test_never_reached_is_nan_and_censors_the_fit():
    prob = tb.make_problem("episode-quartic", H=1.0)
    R = crossing_rounds("episode", [(prob, dict(eta=1e-5, gamma=1e-4, local_steps=1))], [0], 10, 1e-3)
    assert np.isnan(R).all()
    fit = scaling_exponent([1, 2], np.array([[1.0], [np.nan]]))
    assert fit["censored"] == 1 and not no_worse_than(fit, -1.0, 0.1)


@pytest.mark.parametrize("lo, hi, worse, ok", [
    (-1.2, -0.95, "above", True), (-0.85, -0.8, "above", False), (-0.95, -0.91, "above", True),
    (-3.5, -2.0, "below", True), (-3.3, -3.2, "below", False), (-2.0, -1.0, "below", True)])
def test_one_sided_verdicts(lo, hi, worse, ok):
    fit = {"slope": (lo + hi) / 2, "lo": lo, "hi": hi, "censored": 0}
    predicted = -1.0 if worse == "above" else -3.0
    assert no_worse_than(fit, predicted, 0.1, worse=worse) is ok
