"""run_batch names its statistics: paper modules read them by name, never by column index."""
import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError
from theorybench.runner import run_batch


def test_statistics_are_read_by_name():
    prob = tb.make_problem("episode-quartic")
    alg = tb.algorithms.get_algorithm("local-clip")
    st = alg.resolve({})
    rec, x, loss, g, stats = run_batch(alg, [prob] * 3, [st] * 3, [0, 1, 2], 20, targets=[1e9] * 3)
    assert "diverged_round" in stats.names and "first_below_target" in stats.names
    np.testing.assert_array_equal(stats["first_below_target"], [0, 0, 0])  # target above every |f'|: round 0
    np.testing.assert_array_equal(stats["diverged_round"], [-1, -1, -1])
    assert stats["min_grad_norm"].shape == (3,)
    with pytest.raises(TheoryBenchError, match="did you mean"):
        stats["diverged_rounds"]


def test_kernel_with_its_own_statistics_names_them():
    prob = tb.make_problem("wbty-toy")
    *_, stats = run_batch("logistic-gd", [prob], [tb.algorithms.get_algorithm("logistic-gd").resolve({"eta": 1.0})],
                          [0], 50)
    assert "tau_mono" in stats.names
    assert stats["tau_mono"].shape == (1,)
