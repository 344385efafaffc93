"""Progress: a bar with elapsed time and ETA when asked for (or on a terminal), quiet otherwise; the
"compiling kernels" phase is seen through Numba's compile events; the claims table fits 100 columns."""
import time

import pytest

from theorybench import cli
from theorybench.claims import Claim, ClaimResult, Evidence, _PAPERS, register_paper
from theorybench.progress import Bar, CompileWatch, wanted
from theorybench.report import table


def test_compile_watch_sees_a_compilation_and_not_a_warm_call():
    import numba

    @numba.njit(cache=False)
    def f(x):
        return x * 2.0 + 1.0
    with CompileWatch() as w:
        f(1.0)
    assert w.seconds > 0 and not w.active
    with CompileWatch() as w:
        f(2.0)  # compiled already
    assert w.seconds == 0


def test_bar_shows_elapsed_eta_and_compiling(capsys):
    import numba

    @numba.njit(cache=False)
    def g(x):
        return x - 3.0
    with Bar(2, desc="work", unit="item", enabled=True, tick=0.01) as bar:
        bar.label("first")
        seen = []
        bar.compile.on_change = lambda active: (seen.append(active), bar._draw())
        g(1.0)
        bar.update(1)
        time.sleep(0.05)
        bar.update(1)
    err = capsys.readouterr().err
    assert "elapsed" in err and "ETA" in err and "work" in err and "first" in err
    assert seen == [True, False] and "compiling kernels" in err


def test_quiet_when_not_a_terminal(capsys):
    assert wanted(None) is False  # pytest's captured stderr is not a terminal
    with Bar(3, enabled=None) as bar:
        bar.update(3)
        bar.write("nothing")
    assert capsys.readouterr().err == ""


@pytest.fixture
def tiny_paper():
    paper = register_paper("zz_progress", "progress", "nobody")

    @paper.claim("ZP-1", "none", "holds", control="none")
    def _check(size="quick", control=False):
        return Evidence("PASS", "1", "1")
    yield paper
    del _PAPERS["zz_progress"]


def test_check_is_quiet_off_a_terminal(capsys, tmp_path, tiny_paper):
    assert cli.main(["check", "ZP-1", "--report", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "ETA" not in err and "%|" not in err


def _result(cid, reference, measured, predicted, verdict="PASS", expected="PASS", control=False, compile_s=0.0):
    c = Claim(cid, "p", reference, "s", None, "c", expected)
    r = ClaimResult(c, Evidence(verdict, measured, predicted), 12.5, "quick", control)
    r.compile_seconds = compile_s
    return r


def test_table_fits_100_columns_and_keeps_everything():
    long_ref = "Theorem 4.2 and Figure 3 (the two-client quadratic, gamma = 2, corrected direction, sympy)"
    long_meas = "slope " + " ".join(f"{k}:{k / 7:.6f}" for k in range(40))
    rs = [_result("EP-1", long_ref, long_meas, "<= -1 (+0.1) " * 12, compile_s=30.0),
          _result("MU-12", "Sec. 3", "x" * 250, "y", verdict="FAIL", expected="PASS"),
          _result("ES-2", "Fig. 2", "m", "p", verdict="FAIL", control=True)]
    t = table(rs)
    lines = t.splitlines()
    assert max(len(line) for line in lines) <= 100
    flat = "".join(line.strip() for line in lines).replace(" ", "")
    for text in (long_ref, long_meas, "x" * 250):
        assert text.replace(" ", "") in flat
    assert "EP-1" in t and "MU-12" in t and "ES-2 [control]" in t
    assert "FAIL (UNEXPECTED)" in t and "FAIL (expected)" in t
    assert "12.5*" in t and "compiling kernels (EP-1 30.0 s)" in t


def test_sweep_progress_same_numbers_and_a_bar(capsys):
    import numpy as np
    import theorybench as tb
    kw = dict(grid={"eta": [0.005, 0.01, 0.02], "local_steps": [2, 8]}, problem_grid={"H": [1.0, 4.0]}, seeds=3,
              rounds=60)
    ref = tb.sweep("episode-quartic", "episode", **kw)
    capsys.readouterr()
    got = tb.sweep("episode-quartic", "episode", progress=True, **kw)
    err = capsys.readouterr().err
    assert "sweep" in err and "/36" in err and "elapsed" in err and "ETA" in err
    np.testing.assert_array_equal(got.x, ref.x)
    np.testing.assert_array_equal(got.loss, ref.loss)
    for k in ref.stats:
        np.testing.assert_array_equal(got.stats[k], ref.stats[k])
    tb.sweep("episode-quartic", "episode", **kw)  # progress=False (the default) draws nothing
    assert capsys.readouterr().err == ""
