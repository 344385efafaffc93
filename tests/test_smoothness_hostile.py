"""Hostile input to ``theorybench smoothness`` and :mod:`theorybench.smoothness` (issue 11): expressions are
parsed by a whitelist, never evaluated; non-differentiable objectives are refused instead of getting a
meaningless L0 = 0; every parameter is checked with an error naming it and its allowed range; nothing
raises anything but TheoryBenchError, and the CLI reports it with exit code 2 and no traceback."""
import json
import math
import signal
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from theorybench import smoothness, symbolic
from theorybench.cli import main
from theorybench.errors import TheoryBenchError


# --- 1. the expression is parsed, never evaluated -----------------------------------------------------

def _payloads(path):
    p = str(path)
    return [
        f"__import__('os').system('touch {p}') or x**4",
        f"x**4 + __import__('os').system('touch {p}')",
        f"(lambda: __import__('os').system('touch {p}'))() or x",
        f"open('{p}', 'w').write('1') or x**4",
        f"exec(\"open('{p}', 'w')\") or x",
        f"eval(\"open('{p}', 'w')\") or x",
        f"x if open('{p}', 'w') else x",
        f"[open('{p}', 'w') for _ in (1,)] and x",
        f"getattr(__builtins__, 'open')('{p}', 'w') or x",
        "x.__class__.__mro__[-1].__subclasses__()",
        "().__class__.__base__.__subclasses__()",
        "exp.__globals__",
        "x.real",
        "Symbol('y')*x",
        "sympify('x')",
        "Function('f')(x)",
        "__builtins__",
        "x; import os",
    ]


@pytest.mark.parametrize("i", range(len(_payloads("F"))))
def test_payload_is_refused_and_not_run(tmp_path, i):
    target = tmp_path / "F"
    payload = _payloads(target)[i]
    with pytest.raises(TheoryBenchError, match="allowed"):
        smoothness.tight_L0(payload, 1.0)
    with pytest.raises(TheoryBenchError):
        smoothness.tight_curve(payload, [1.0])
    with pytest.raises(TheoryBenchError):
        smoothness.certified_grid(payload, 1.0, X=1.0, cells=4)
    assert not target.exists()


def test_payload_error_names_the_offending_token(tmp_path):
    with pytest.raises(TheoryBenchError, match="__import__"):
        symbolic.parse_expression(f"__import__('os').system('touch {tmp_path / 'F'}') or x**4")
    with pytest.raises(TheoryBenchError, match="attribute access"):
        symbolic.parse_expression("x.real")
    with pytest.raises(TheoryBenchError, match="lambda"):
        symbolic.parse_expression("(lambda: 1)() * x")
    with pytest.raises(TheoryBenchError, match="unknown name '__class__'"):
        symbolic.parse_expression("__class__")
    with pytest.raises(TheoryBenchError, match="'//'"):
        symbolic.parse_expression("x//2")
    with pytest.raises(TheoryBenchError, match="unknown function 'f'"):
        symbolic.parse_expression("f(x)")


def test_cli_payload_exit_code_and_no_traceback(tmp_path, capsys):
    target = tmp_path / "F"
    assert main(["smoothness", _payloads(target)[0]]) == 2
    err = capsys.readouterr().err
    assert "theorybench: error:" in err and "Traceback" not in err and "__import__" in err
    assert not target.exists()


def test_cli_subprocess_payload(tmp_path):
    target = tmp_path / "F"
    r = subprocess.run([sys.executable, "-m", "theorybench.cli", "smoothness", _payloads(target)[0]],
                       capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "theorybench: error:" in r.stderr
    assert not target.exists()


@pytest.mark.parametrize("text", ["x**10**10**10", "2**10**10", "((2**64)**64)**64", "(x**64)**64",
                                  "x**64*x**64", "x**-65", "1e400*x", "1e-400*x", "exp(1000)*x",
                                  "10**301*x", "x" + "+x" * 200, "(" * 150 + "x" + ")" * 150,
                                  "-" * 290 + "x", "1/0*x", "0**-1 + x", "(-8)**(1/3)*x", "log(-1)*x"])
def test_size_limits_and_bad_constants(text):
    with pytest.raises(TheoryBenchError, match="cannot use expression"):
        symbolic.parse_expression(text)


@pytest.mark.parametrize("text,expected", [("0.1*x", "x/10"), ("x**4.0", "x**4"), ("1_000.5*x", "2001*x/2"),
                                           ("sqrt(x**2)", "Abs(x)"), ("-(-x)", "x"), ("pi*E*x", "E*pi*x")])
def test_parser_reads_numbers_exactly(text, expected):
    assert str(symbolic.parse_expression(text)) == expected


def test_sympy_expression_still_accepted():
    import sympy
    t = sympy.Symbol("t")
    r = smoothness.tight_L0(t**4, 3)
    assert r.exact == "16/9"
    with pytest.raises(TheoryBenchError, match="not supported"):
        smoothness.tight_L0(sympy.Function("g")(t), 1.0)
    with pytest.raises(TheoryBenchError, match="Piecewise"):
        smoothness.tight_L0(sympy.Piecewise((t**2, t > 0), (0, True)), 1.0)
    with pytest.raises(TheoryBenchError, match="string or a sympy expression"):
        smoothness.tight_L0(4, 1.0)


# --- 2. non-differentiable objectives are refused ----------------------------------------------------

@pytest.mark.parametrize("expr,where", [("Abs(x)", "0"), ("Max(x, 0)", "0"), ("Min(x, 0)", "0"),
                                        ("Abs(x - 1)", "1"), ("Max(x**2, 1)", "-1"), ("Abs(x)**(1/2)", "0"),
                                        ("sqrt(x**4 + x**2)", "0"), ("x**2 + Abs(x)", "0")])
@pytest.mark.parametrize("method", ["auto", "closed", "grid"])
def test_not_differentiable_refused(expr, where, method):
    with pytest.raises(TheoryBenchError, match=rf"not differentiable at x = {where}\b"):
        smoothness.tight_L0(expr, 1.0, method=method, X=2.0, cells=50)


def test_not_differentiable_sympy_input():
    import sympy
    x = sympy.Symbol("x")
    for f in (sympy.sign(x) * x, sympy.Heaviside(x) * x, sympy.Abs(x)):
        with pytest.raises(TheoryBenchError, match="not differentiable at x = 0"):
            smoothness.tight_L0(f, 1.0)
    with pytest.raises(TheoryBenchError, match="not continuous at x = 0"):
        smoothness.tight_L0(sympy.Heaviside(x) + x**2, 1.0)


def test_kinks_at_infinitely_many_points_refused():
    with pytest.raises(TheoryBenchError, match="infinitely many"):
        smoothness.tight_L0("Abs(sin(x))", 1.0)


@pytest.mark.parametrize("expr", ["log(x)", "sqrt(x)", "1/x", "tan(x)", "x**(1/3)", "x**x", "log(Abs(x))",
                                  "x**(-1/2)"])
def test_not_defined_on_the_real_line_refused(expr):
    with pytest.raises(TheoryBenchError, match="undefined|infinitely many"):
        smoothness.tight_L0(expr, 1.0, method="grid", X=1.0, cells=10)


# C^1 objectives whose f'' jumps at a kink are accepted; h is taken where f'' exists
def test_c1_with_jumping_second_derivative():
    # Max(x,0)^2: f'' = 2, f' = 2x on x > 0, both 0 on x < 0: sup h = 2 (x -> 0+)
    assert smoothness.tight_L0("Max(x, 0)**2", 1.0).L0 == 2.0
    # x|x|: f' = 2|x|, |f''| = 2: sup h = 2 at x = 0
    assert smoothness.tight_L0("x*Abs(x)", 1.0).L0 == 2.0
    # a kink away from 0: the grid brackets 2
    r = smoothness.tight_L0("Max(x - 1, 0)**2", 1.0, X=3.0, cells=600)
    assert r.method == "certified grid" and r.lower <= 2.0 <= r.upper < math.inf


def test_log_one_plus_x_squared():
    # |f''| = 2|1 - x^2|/(1 + x^2)^2 <= 2 with equality at x = 0, where f' = 0: L0 = 2 for every L1
    r = smoothness.tight_L0("log(1 + x**2)", 1.0)
    assert r.exact == "2"


# --- 3. parameters --------------------------------------------------------------------------------

@pytest.mark.parametrize("kw,name", [
    ({"cells": 0}, "cells"), ({"cells": -5}, "cells"), ({"cells": 2.5}, "cells"), ({"cells": True}, "cells"),
    ({"cells": "10"}, "cells"), ({"cells": smoothness.MAX_CELLS + 1}, "cells"), ({"cells": 10**30}, "cells"),
    ({"X": math.nan}, "X"), ({"X": math.inf}, "X"), ({"X": 0.0}, "X"), ({"X": -1.0}, "X"),
    ({"X": 1e308}, "X"), ({"X": "1"}, "X"), ({"X": None}, "X"),
    ({"time_limit": 0}, "time_limit"), ({"time_limit": math.nan}, "time_limit"),
    ({"time_limit": -1}, "time_limit"), ({"time_limit": 1e9}, "time_limit"),
    ({"method": "bogus"}, "method"), ({"method": None}, "method")])
def test_grid_parameters(kw, name):
    args = {"method": "grid", "X": 2.0, "cells": 20, **kw}
    with pytest.raises(TheoryBenchError, match=rf"\b{name}\b"):
        smoothness.tight_L0("x**4", 1.0, **args)
    if name in ("cells", "X", "time_limit"):
        with pytest.raises(TheoryBenchError, match=rf"\b{name}\b"):
            smoothness.certified_grid("x**4", 1.0, **{k: v for k, v in args.items() if k != "method"})


@pytest.mark.parametrize("L1", [math.nan, math.inf, -math.inf, -1.0, "1", None, True])
def test_L1_checked(L1):
    with pytest.raises(TheoryBenchError, match="L1"):
        smoothness.tight_L0("x**4", L1)


@pytest.mark.parametrize("L1s", [[], [math.nan], [1.0, -1.0], "1,2", 3.0, [1.0] * (smoothness.MAX_CURVE + 1)])
def test_curve_values_checked(L1s):
    with pytest.raises(TheoryBenchError, match="L1s"):
        smoothness.tight_curve("x**4", L1s)


def test_large_X_gives_a_finite_bracket_not_a_verdict():
    # x**4 at L1 = 1 has L0 = 16 (row 2 of the constants table): a coarse grid on the widest allowed
    # domain brackets it with a finite (if loose) upper bound instead of reporting "not smooth"
    r = smoothness.tight_L0("x**4", 1.0, method="grid", X=smoothness.MAX_X, cells=200)
    assert r.lower <= 16.0 <= r.upper < math.inf


def test_grid_upper_inf_is_not_a_smoothness_verdict(capsys):
    # f'' = (3/4)|x|^(-1/2) is unbounded at 0: the cell around 0 cannot be bounded
    assert main(["smoothness", "Abs(x)**(3/2)", "--method", "grid", "--X", "1", "--cells", "10"]) == 0
    out = capsys.readouterr().out
    assert "no finite upper bound" in out and "not (L0, L1)-smooth" not in out
    assert main(["smoothness", "Abs(x)**(3/2)", "--method", "grid", "--X", "1", "--cells", "10", "--json"]) == 0
    d = json.loads(capsys.readouterr().out, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))
    assert d["L0"] is None and d["upper"] is None


def test_nested_exp_grid_does_not_hang():
    # exp(exp(exp(x))) on [-10, 10]: the interval exp refuses arguments beyond its limit (upper = inf)
    r = smoothness.tight_L0("exp(exp(exp(x)))", 1.0, method="grid", X=10.0, cells=20, time_limit=60)
    assert r.upper == math.inf and r.lower >= 0


def test_time_budget_interrupts_and_restores_the_handler():
    before = signal.getsignal(signal.SIGALRM)
    with pytest.raises(smoothness._OutOfTime):
        with smoothness._time_budget(0.05):
            while True:
                pass
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL)[0] == 0


# --- the CLI: every error is exit code 2 with a one-line message ---------------------------------------

@pytest.mark.parametrize("argv,needle", [
    (["x**4", "--method", "grid", "--cells", "0"], "--cells"),
    (["x**4", "--method", "grid", "--cells", "100000000"], "--cells"),
    (["x**4", "--method", "grid", "--X", "nan"], "--X"),
    (["x**4", "--method", "grid", "--X", "1e308"], "--X"),
    (["x**4", "--method", "grid", "--X=-inf"], "--X"),
    (["x**4", "--L1", "nan"], "--L1"),
    (["x**4", "--L1", "-1"], "--L1"),
    (["x**4", "--curve", "1,nan"], "--curve"),
    (["x**4", "--curve", "1,,2"], "--curve"),
    (["x**4", "--curve", ",".join(["1"] * 101)], "--curve"),
    (["x**4", "--time-limit", "0"], "--time-limit"),
    (["Abs(x)"], "not differentiable at x = 0"),
    (["Max(x,0)", "--method", "grid"], "not differentiable at x = 0"),
    (["log(x)"], "undefined"),
    (["x*y"], "one variable"),
    (["x**("], "invalid syntax"),
    (["x**10**10**10"], "exponent"),
    ([""], "empty"),
])
def test_cli_errors(argv, needle, capsys):
    assert main(["smoothness", *argv]) == 2
    cap = capsys.readouterr()
    assert needle in cap.err and "Traceback" not in cap.err and cap.out == ""


def test_cli_argparse_rejects_non_integer_cells(capsys):
    with pytest.raises(SystemExit) as e:
        main(["smoothness", "x**4", "--cells", "2.5"])
    assert e.value.code == 2 and "Traceback" not in capsys.readouterr().err


# --- property: any text gives a TheoryBenchError or a sane answer --------------------------------------

# mostly well-formed pieces (so that many examples reach the checks, the closed form and the grid), some
# hostile ones (names, attributes, huge constants, literals of other types)
_LEAVES = ["x"] * 8 + ["1", "2", "0.5", "3", "-1", "pi", "E", "1/3"] * 2 + [
    "10**10", "1e308", "1e-308", "y", "__import__('os')", "'s'", "x.real", "[]", "1j", "True"]
_UNARY = ["exp", "log", "sqrt", "sin", "cos", "tan", "sinh", "cosh", "tanh", "Abs"] * 3 + ["eval", "open"]
_BINARY = ["+", "-", "*", "/", "**"] * 4 + ["//", " or ", "."]


def _extend(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(_BINARY), children).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(st.sampled_from(_UNARY), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["Max", "Min"]), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        children.map(lambda c: f"-({c})"),
    )


_EXPRS = st.recursive(st.sampled_from(_LEAVES), _extend, max_leaves=6)


def _extend_valid(c):
    return st.one_of(
        st.tuples(c, st.sampled_from(["+", "-", "*", "/"]), c).map(lambda t: f"({t[0]}){t[1]}({t[2]})"),
        st.tuples(c, st.sampled_from(["2", "3", "4", "-1", "1/2", "3/2", "5/2"])).map(lambda t: f"({t[0]})**({t[1]})"),
        st.tuples(st.sampled_from(_UNARY[:10]), c).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(["Max", "Min"]), c, c).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"))


# only whitelisted pieces: most reach the checks, the closed form or the grid
_VALID = st.recursive(st.sampled_from(["x"] * 3 + ["1", "2", "0.5", "3", "pi", "1/3"]), _extend_valid, max_leaves=4)
_TEXT = st.text(alphabet=st.sampled_from(list("xX0123456789.+-*/()eE ,_'\"abcsinpxAM[]{}:;=<>!@#$%^&|\\\n\t\x00é")),
                max_size=40)


@settings(max_examples=200, deadline=20_000, suppress_health_check=[HealthCheck.too_slow],
          derandomize=True)
@given(text=st.one_of(_EXPRS, _VALID, _TEXT), L1=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
       method=st.sampled_from(["auto", "grid"]))
def test_property_error_or_sane_answer(text, L1, method):
    # each stage is limited to time_limit seconds: the deadline (well above 3 stages) only catches a hang
    try:
        r = smoothness.tight_L0(text, L1, method=method, X=2.0, cells=16, time_limit=2.0)
    except TheoryBenchError as e:
        assert str(e)
        return
    assert isinstance(r.L0, float) and not math.isnan(r.L0) and r.L0 >= 0
    assert not math.isnan(r.lower) and not math.isnan(r.upper)
    assert 0 <= r.lower <= r.upper and r.L0 == r.upper
    assert r.method in ("closed form (sympy)", "certified grid")
    json.dumps(r.to_dict())
