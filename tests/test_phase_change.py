"""The two-phase detector ``theorybench.measure.phase_change`` on synthetic curves with known phases, and
the section-3 CLI contract (problem and algorithm names, ``--steps``)."""
import json

import numpy as np
import pytest

from theorybench.algorithms import ALGORITHMS
from theorybench.cli import main
from theorybench.measure import phase_change
from theorybench.problem import problem_families


def test_detects_crossing_and_both_phases():
    t = np.arange(0, 2001, dtype=float)
    k = 500
    gap = np.where(t <= k, 0.97 ** t, 0.97 ** k * (1 + (t - k)) ** -2.0)
    gn = np.sqrt(gap)
    level = float(np.sqrt(gap[k])) * (1 + 1e-9)
    pc = phase_change(t, gn, gap, level)
    assert pc["crossing"] == k
    assert pc["rate_before"]["q"] == pytest.approx(0.97, rel=1e-10)
    assert pc["power_after"]["slope"] == pytest.approx(-2.0, abs=0.02)
    assert pc["q_after_end"] > 0.99


def test_no_crossing():
    t = np.arange(10.0)
    pc = phase_change(t, np.ones(10), 0.5 ** t, 0.1)
    assert pc["crossing"] is None and pc["rate_before"]["q"] == pytest.approx(0.5)


def test_section3_names_exist():
    probs = problem_families()
    for name in ("monomial", "abs-power", "exp", "cosh", "extremal", "huber", "quartic-clients"):
        assert name in probs
    for name in ("gd", "l0l1-gd", "clipped-gd", "normalized-gd", "polyak", "adgd", "generalized-signsgd", "signsgd",
                 "adam", "adagrad-norm", "decorrelated-adagrad-norm", "adagrad", "decorrelated-adagrad", "ef21",
                 "normalized-ef21"):
        assert ALGORITHMS[name].kernel == "single"


def test_cli_run_steps_means_steps(capsys):
    assert main(["run", "monomial", "polyak", "-p", "p=4", "--x0", "10", "--steps", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["trace"]["round"][-1] == 100
    # Polyak on x^4: eta = f/f'^2 = 1/(16 x^2), so x_{t+1} = (3/4) x_t exactly
    assert d["final"]["x"][0] == pytest.approx(10 * 0.75 ** 100, rel=1e-12)
    assert main(["run", "monomial", "l0l1-gd", "-p", "p=4", "-a", "L0=4", "-a", "L1=3", "-a", "eta=1", "--x0", "100",
                 "--steps", "100", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert 0 < d["final"]["x"][0] < 100
