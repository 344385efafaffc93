"""The counterexample search rediscovers that fixed-step GD fails on cosh with a large start."""
import math

import pytest

from theorybench.cli import main
from theorybench.errors import TheoryBenchError
from theorybench.search import worst_instance


def test_search_rediscovers_fixed_step_failure_on_cosh():
    eta = 0.5
    res = worst_instance("cosh", "gd", {"x0": (0.1, 10.0)}, steps=500, hyper=dict(eta=eta), maxiter=5, popsize=6)
    x0 = res["params"]["x0"]
    assert res["diverged"]
    # a fixed step eta diverges iff eta > 2 x0/sinh(x0) (LS-3): the worst instance lies beyond that threshold
    assert eta > 2 * x0 / math.sinh(x0)


def test_search_bad_bounds():
    with pytest.raises(TheoryBenchError, match="not a parameter"):
        worst_instance("cosh", "gd", {"nope": (0.0, 1.0)}, steps=10)
    with pytest.raises(TheoryBenchError, match="low < high"):
        worst_instance("cosh", "gd", {"x0": (2.0, 1.0)}, steps=10)


def test_search_cli(capsys):
    assert main(["search", "cosh", "gd", "--bound", "x0=0.1:10", "-a", "eta=0.5", "--steps", "200",
                 "--maxiter", "3", "--popsize", "5"]) == 0
    assert "diverged" in capsys.readouterr().out
