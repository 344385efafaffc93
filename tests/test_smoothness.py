"""The certified (L0, L1) calculator against every row of the constants table of
docs/conventions.md (section "(L0,L1)-smoothness"), the
certified grid against the closed forms, and the CLI."""
import json
import math

import pytest

from theorybench import smoothness
from theorybench.cli import main


def _abs_power(p, L1):
    return ((p - 2) / L1) ** (p - 2)


# row 1: (1/p)|x|^p, p > 2: L0 = ((p-2)/L1)^(p-2)
@pytest.mark.parametrize("p", ["3", "4", "7/2", "5"])
@pytest.mark.parametrize("L1", [0.5, 1.0, 3.0])
def test_abs_power_row(p, L1):
    pf = eval(p)
    r = smoothness.tight_L0(f"Abs(x)**({p})/({p})", L1)
    assert r.method.startswith("closed form")
    assert r.L0 == pytest.approx(_abs_power(pf, L1), rel=1e-12)


# row 2: x^p: L0 = p((p-2)/L1)^(p-2); x^4: 16/L1^2, (4, 3) valid, tight 16/9
@pytest.mark.parametrize("p", [4, 6, 8])
@pytest.mark.parametrize("L1", [1.0, 2.0, 3.0])
def test_monomial_row(p, L1):
    r = smoothness.tight_L0(f"x**{p}", L1)
    assert r.method.startswith("closed form")
    assert r.L0 == pytest.approx(p * ((p - 2) / L1) ** (p - 2), rel=1e-12)


def test_x4_at_L1_3_is_16_over_9():
    r = smoothness.tight_L0("x**4", 3)
    assert r.exact == "16/9" and r.L0 <= 4.0


# row 3: exp(a x): (0, |a|); below |a| not smooth
@pytest.mark.parametrize("a", [-2.0, 0.5, 3.0])
def test_exp_row(a):
    assert smoothness.tight_L0(f"exp({a}*x)", abs(a)).L0 == 0.0
    assert smoothness.tight_L0(f"exp({a}*x)", 2 * abs(a)).L0 == 0.0
    assert math.isinf(smoothness.tight_L0(f"exp({a}*x)", abs(a) / 2).L0)


# row 4: (L0/L1^2)(cosh(L1 x) - 1): (L0, L1)
@pytest.mark.parametrize("L0,L1", [(1.0, 1.0), (2.0, 1.5), (0.25, 4.0)])
def test_cosh_row(L0, L1):
    r = smoothness.tight_L0(f"{L0}/{L1}**2*(cosh({L1}*x) - 1)", L1)
    assert r.L0 == pytest.approx(L0, rel=1e-12)


# row 5: |x|^p, 1 < p < 2: not (L0,L1)-smooth
@pytest.mark.parametrize("p", ["3/2", "5/4", "19/10"])
def test_abs_power_below_two_not_smooth(p):
    assert math.isinf(smoothness.tight_L0(f"Abs(x)**({p})", 1.0).L0)


# the extremal function: E'' = L0 + L1|E'|
@pytest.mark.parametrize("L0,L1", [(1.0, 1.0), (4.0, 3.0)])
def test_extremal(L0, L1):
    r = smoothness.tight_L0(f"{L0}/{L1}**2*(exp({L1}*Abs(x)) - {L1}*Abs(x) - 1)", L1)
    assert r.L0 == pytest.approx(L0, rel=1e-12)


@pytest.mark.parametrize("expr,L1", [("x**4", 3.0), ("Abs(x)**3/3", 1.0), ("cosh(x) - 1", 1.0)])
def test_certified_grid_brackets_closed_form(expr, L1):
    exact = smoothness.tight_L0(expr, L1).L0
    r = smoothness.tight_L0(expr, L1, method="grid", X=5.0, cells=4000)
    assert r.method == "certified grid"
    assert r.lower <= exact * (1 + 1e-12) + 1e-15
    assert r.upper >= exact * (1 - 1e-12)
    assert r.upper - r.lower <= 0.1 * max(1.0, exact)


def test_grid_fallback_when_no_closed_form():
    r = smoothness.tight_L0("x**4 + sin(x)", 3.0, X=4.0, cells=4000)
    assert r.method == "certified grid" and r.lower <= r.upper < math.inf


def test_curve_is_monotone():
    curve = smoothness.tight_curve("x**4", [1.0, 2.0, 4.0])
    assert [round(b, 12) for _, b in curve] == [16.0, 4.0, 1.0]


def test_bad_input():
    with pytest.raises(ValueError, match="L1"):
        smoothness.tight_L0("x**4", -1.0)
    with pytest.raises(ValueError, match="one variable"):
        smoothness.tight_L0("x*y", 1.0)


def test_cli(capsys):
    assert main(["smoothness", "x**4", "--L1", "3"]) == 0
    out = capsys.readouterr().out
    assert "16/9" in out and "closed form" in out
    assert main(["smoothness", "x**4", "--L1", "3", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["exact"] == "16/9" and d["L0"] == pytest.approx(16 / 9)
    assert main(["smoothness", "x**(", "--L1", "3"]) == 2
