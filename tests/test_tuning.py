"""The tuning protocol helpers."""
import numpy as np

from theorybench.tuning import tail_percentile, tune


def test_tail_percentile_is_the_authors_element():
    v = np.arange(100.0)[::-1]  # logged values 99, 98, ..., 0
    # last 10% = 9..0 sorted = 0..9; element round(0.9 * 10) = 9
    assert tail_percentile(v) == 9.0
    assert tail_percentile(np.array([1.0, np.nan])) == np.inf


def test_tune_selects_the_smallest_mean_metric():
    out = tune("episode-quartic", "episode", {"eta": [0.0005, 0.005, 0.05]}, seeds=2, rounds=200,
               record=np.arange(10, 201, 10), problem_settings={"H": 1.0}, gamma=0.05, local_steps=4)
    assert len(out["scores"]) == 3 and out["best"]["eta"] in (0.0005, 0.005, 0.05)
    assert out["score"] == min(s for s in out["scores"] if np.isfinite(s))
    assert out["configs"][int(np.argmin(out["scores"]))] == out["best"]
