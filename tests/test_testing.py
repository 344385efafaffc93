"""theorybench.testing (assertions for a researcher's CI) and the pytest plugin.

Every assertion passes on a real case whose prediction comes from theory, and fails with a readable
message on a negative control (a prediction the same data exclude). Predictions used here:

- GD with step eta on f = x^4: ``x_t^-2 ~ 8 eta t``, so ``f(x_t) ~ t^-2`` (``-p/(p-2)`` for ``x^p``) and
  ``|f'(x_t)| = 4|x_t|^3`` crosses ``level`` near ``t = ((4/level)^(2/3) - x0^-2)/(8 eta)``; with random
  steps ``eta u_t`` (``E u = 1/2``) still ``t^-2``; with steps ``eta0/sqrt(t+1)``, ``x_t^-2 ~ 16 eta0
  sqrt(t)``, so ``f ~ t^-1``; the final loss after T steps scales like ``eta^-2``.
- GD on f = x^2 (L = 2): ``f`` contracts by ``q = (1 - 2 eta)^2`` per step; it diverges for eta > 1.
- The two-client quadratic with local clipping (EP-1's setting): stuck at x = 0 where ``|f'(0)| = 1/2``.
- EPISODE against CELGC on the heterogeneous quartic (EP-3's setting): EPISODE's final ``|f'|`` is lower.
"""
import importlib.metadata
import math
import os

import numpy as np
import pytest

import theorybench as tb
from theorybench.claims import Evidence
from theorybench.errors import TheoryBenchError
from theorybench.results import RunResult
from theorybench.testing import (assert_claim, assert_contraction, assert_ordered, assert_rate,
                                 assert_transition)

pytest_plugins = ["pytester"]

ETA = 0.1


@pytest.fixture(scope="module")
def gd_x4():
    return tb.run("monomial", "gd", steps=2000, eta=ETA, problem_settings={"p": 4})


# ------------------------------------------------------------------ rates

def test_rate_of_one_run_and_its_negative_control(gd_x4):
    m = assert_rate(gd_x4, (-2.1, -1.9), window=(100, None))
    assert m.lo <= m.estimate <= m.hi and -2.1 <= m.lo and m.hi <= -1.9
    with pytest.raises(AssertionError) as e:
        assert_rate(gd_x4, (-1.5, -1.0), window=(100, None))
    msg = str(e.value)
    assert "exponent p of loss ~ C round^p is not in [-1.5, -1]" in msg
    for key in ("measured:", "95% CI [", "predicted:", "fit:", "data:", "gd on monomial", "round [100, 101"):
        assert key in msg
    assert len(msg.splitlines()) <= 8 and max(map(len, msg.splitlines())) < 220


def test_rate_over_seeds_uses_a_t_interval():
    from scipy import stats
    sw = tb.sweep("monomial", "gd", seeds=8, steps=20000, eta=ETA, schedule="random", problem_settings={"p": 4})
    m = assert_rate(sw, (-2.1, -1.9), window=(1000, None))
    s = np.asarray(m.per_seed)
    assert len(s) == 8 and np.ptp(s) > 0  # the random steps differ between seeds
    lo, hi = stats.t.interval(0.95, 7, loc=s.mean(), scale=stats.sem(s))
    assert (m.lo, m.hi) == pytest.approx((lo, hi), rel=1e-12)
    one = assert_rate(sw, (None, -1.9), window=(1000, None))            # one-sided: the 95% upper bound
    assert one.sided == "upper" and m.lo < one.lo and one.hi < m.hi    # the two-sided 90% interval
    with pytest.raises(AssertionError, match=r"(?s)is not in \[-1.5, -1\].*per seed:.*t interval over 8 seeds"):
        assert_rate(sw, (-1.5, -1.0), window=(1000, None))
    with pytest.raises(AssertionError, match="one-sided bound <="):
        assert_rate(sw, (None, -2.5), window=(1000, None))


def test_rate_from_xy_pairs_and_require_modes():
    rng = np.random.default_rng(0)
    t = np.geomspace(1, 1e4, 30)
    y = 2.0 * t ** -1.0 * np.exp(rng.normal(0, 0.2, size=(32, t.size)))
    assert assert_rate((t, y), (-1.1, -0.9)).estimate == pytest.approx(-1.0, abs=0.05)
    with pytest.raises(AssertionError, match=r"is not in \[-0.9, -0.5\]"):
        assert_rate((t, y), (-0.9, -0.5))
    exact = (t, 3.0 * t ** -0.5)
    assert assert_rate(exact, (-0.5 - 1e-9, -0.5 + 1e-9)).estimate == pytest.approx(-0.5, abs=1e-12)
    wide = (t, y[0])
    m = assert_rate(wide, (-1.5, -0.5))
    edge = ((m.lo + m.estimate) / 2, 0.0)                           # holds the estimate, not the whole CI
    assert_rate(wide, edge, require="overlap")
    assert_rate(wide, edge, require="estimate")
    with pytest.raises(AssertionError, match="confidence interval must lie inside"):
        assert_rate(wide, edge)
    beyond = (m.hi + 0.01, 0.0)                                      # excludes the whole interval
    with pytest.raises(AssertionError, match="must reach the prediction"):
        assert_rate(wide, beyond, require="overlap")
    censored = y[:3].copy()
    censored[1, -2:] = np.nan                                        # a seed that diverged (or never reached)
    with pytest.raises(AssertionError, match=r"seed 1 is not finite at 7279 \(2 point\(s\) in the window"):
        assert_rate((t, censored), (-1.5, -0.5))
    assert_rate((t, censored), (-1.5, -0.5), window=(None, 5000))


def test_scaling_law_against_a_swept_axis():
    etas = [0.01, 0.02, 0.04, 0.08]
    sw = tb.sweep("monomial", "gd", grid={"eta": etas}, seeds=2, steps=2000, problem_settings={"p": 4})
    m = assert_rate(sw, (-2.1, -1.9), x="eta")                       # final loss ~ (8 eta T)^-2
    assert "eta^p" in m.what
    with pytest.raises(AssertionError, match=r"exponent p of loss ~ C eta\^p is not in \[-1.1, -0.9\]"):
        assert_rate(sw, (-1.1, -0.9), x="eta")


def test_contraction_of_gd_on_a_quadratic():
    eta = 0.1
    r = tb.run("monomial", "gd", steps=200, eta=eta, problem_settings={"p": 2})
    q = (1 - 2 * eta) ** 2
    m = assert_contraction(r, (q - 0.01, q + 0.01))
    assert m.estimate == pytest.approx(q, rel=1e-9)
    assert_contraction(r, (None, q + 0.01))
    with pytest.raises(AssertionError, match=r"(?s)contraction q of loss ~ C q\^round is not >= 0.9.*data:"):
        assert_contraction(r, (0.9, None))


# ------------------------------------------------------------------ a user-defined method

def _user_gd_sqrt(eta0=0.05, T=20000, x0=1.0, seed=0):
    """A user's own method, plain NumPy (GD with steps eta0/sqrt(t+1) on x^4), returned as a RunResult."""
    x = np.empty(T + 1)
    x[0] = x0
    for t in range(T):
        x[t + 1] = x[t] - eta0 / math.sqrt(t + 1) * 4 * x[t] ** 3
    t = np.arange(T + 1)
    return RunResult("x^4", "user-gd-sqrt", {"eta0": eta0}, {}, seed, t, t, x[:, None], x ** 4,
                     4 * np.abs(x) ** 3, {"diverged_round": -1})


def test_user_defined_method_results():
    user = _user_gd_sqrt()
    assert_rate(user, (-1.1, -0.9), window=(1000, None))           # f ~ (16 eta0 sqrt(t))^-2 ~ t^-1
    with pytest.raises(AssertionError, match="user-gd-sqrt on x\\^4"):
        assert_rate(user, (-2.1, -1.9), window=(1000, None))
    gd = tb.run("monomial", "gd", steps=20000, eta=ETA, problem_settings={"p": 4})
    assert_ordered(gd, user)                                           # t^-2 beats t^-1
    with pytest.raises(AssertionError, match="final_loss of a <= b fails on 1 of 1"):
        assert_ordered(user, gd)
    seeds = [_user_gd_sqrt(x0=x0, seed=k, T=100000) for k, x0 in enumerate((0.8, 1.0, 1.25))]
    assert len(assert_rate(seeds, (-1.1, -0.9), window=(10000, None)).per_seed) == 3


def test_method_declared_by_a_user_through_theorybench_declare():
    pytest.importorskip("theorybench.declare")
    import sys
    sys.path.insert(0, os.path.dirname(__file__))
    try:
        import user_method_example  # noqa: F401  (registers decay-clip-sgd, as a user's package would)
    finally:
        sys.path.remove(os.path.dirname(__file__))
    sw = tb.sweep("episode-quartic", "decay-clip-sgd", seeds=4, rounds=200, problem_settings={"H": 1})
    assert sw.algorithm == "decay-clip-sgd"
    assert_transition(sw, None, kind="divergence")
    assert_transition(sw, (1, 200), level=1.0)           # |f'| reaches the noise level sigma = 1
    with pytest.raises(AssertionError, match="decay-clip-sgd on episode-quartic"):
        assert_transition(sw, None, level=1.0)


# ------------------------------------------------------------------ transitions

def test_first_crossing(gd_x4):
    level = 1e-3
    t_pred = ((4 / level) ** (2 / 3) - 1) / (8 * ETA)
    v = assert_transition(gd_x4, (0.9 * t_pred, 1.1 * t_pred), level=level)
    assert v.shape == (1,)
    with pytest.raises(AssertionError, match=r"(?s)first round with grad_norm <= 0.001 is not in \[1, 10\].*seed 0:"):
        assert_transition(gd_x4, (1, 10), level=level)
    with pytest.raises(AssertionError, match="is not never"):
        assert_transition(gd_x4, None, level=level)
    exact = tb.run("monomial", "gd", steps=2000, eta=ETA, problem_settings={"p": 4}, target=level)
    s = assert_transition(exact, (0.9 * t_pred, 1.1 * t_pred), kind="statistic", y="first_below_target")
    assert s[0] == v[0]  # every round recorded: the kernel's running statistic and the trace agree


def test_divergence_round():
    d = tb.run("monomial", "gd", steps=400, eta=1.5, problem_settings={"p": 2})    # |1 - 2 eta| = 2 > 1
    assert assert_transition(d, (1, None), kind="divergence")[0] == d.diverged_at
    with pytest.raises(AssertionError, match=r"(?s)divergence round is not never.*seed 0: \d+"):
        assert_transition(d, None, kind="divergence")
    ok = tb.run("monomial", "gd", steps=400, eta=0.1, problem_settings={"p": 2})
    assert np.isnan(assert_transition(ok, None, kind="divergence")).all()
    with pytest.raises(AssertionError, match="seed 0: never"):
        assert_transition(ok, (1, None), kind="divergence")


def test_plateau_of_the_stuck_counterexample():
    r = tb.run("two-client-quadratic", "local-clip", problem_settings={"gamma": 2}, eta=1, gamma=2,
               local_steps=1, convention="grad", rounds=50)
    assert assert_transition(r, (0.49, 0.51), kind="plateau")[0] == pytest.approx(0.5)   # |f'(0)| = 1/2
    with pytest.raises(AssertionError, match=r"(?s)plateau of grad_norm .* is not <= 0.1.*data:"):
        assert_transition(r, (None, 0.1), kind="plateau")


# ------------------------------------------------------------------ ordering

@pytest.fixture(scope="module")
def ep3_pair():
    kw = dict(seeds=8, rounds=500, problem_settings={"H": 4}, eta=0.01, gamma=0.05, local_steps=8)
    return tb.sweep("episode-quartic", "episode", **kw), tb.sweep("episode-quartic", "local-clip", **kw)


@pytest.mark.parametrize("how", ["every", "proportion", "mean"])
def test_ordered_methods(ep3_pair, how):
    episode, celgc = ep3_pair
    assert_ordered(episode, celgc, "final_grad_norm", how=how)
    with pytest.raises(AssertionError, match="local-clip on episode-quartic") as e:
        assert_ordered(celgc, episode, "final_grad_norm", how=how)
    assert {"per seed:", "a:", "b:"} & {line.split()[0] for line in str(e.value).splitlines()[1:]}


def test_transitions_over_seeds_of_a_sweep(ep3_pair):
    episode, celgc = ep3_pair     # EP-3: EPISODE reaches |f'| <= sigma = 1 within 10 rounds, CELGC never
    assert assert_transition(episode, (0, 10), level=1.0).shape == (8,)
    assert_transition(celgc, None, level=1.0)
    assert_transition(celgc, None, kind="divergence")
    with pytest.raises(AssertionError, match=r"is not in \[0, 10\] on 8 of 8 seed\(s\)"):
        assert_transition(celgc, (0, 10), level=1.0)


def test_ordered_by_proportion_needs_enough_seeds():
    a, b = np.zeros(4), np.ones(4)      # ordered on all 4 seeds, yet 4 seeds cannot exclude a fair coin
    assert_ordered(a, b)
    with pytest.raises(AssertionError, match="one-sided exact lower bound"):
        assert_ordered(a, b, how="proportion")
    assert_ordered(np.zeros(5), np.ones(5), how="proportion")
    with pytest.raises(AssertionError, match="every value of a"):
        assert_ordered([0.0, 2.0], [1.0, 1.5, 3.0])


# ------------------------------------------------------------------ claims

def test_assert_claim_real_and_control():
    res = assert_claim("EP-3")
    assert res.as_expected and res.evidence.verdict == "PASS"
    assert assert_claim("ep-3", control=True).evidence.verdict == "FAIL"


def test_assert_claim_message_on_a_wrong_verdict(monkeypatch):
    from theorybench import claims
    paper = claims.Paper("scratch_testing", "scratch", "nobody")

    @paper.claim("TST-1", "Thm 0", "always holds", control="never")
    def check(size="quick", control=False):
        return Evidence("FAIL", "measured 3.2", "<= 1", tolerance="0", why="3.2 > 1", seeds=[0, 1])

    monkeypatch.setitem(claims._PAPERS, paper.key, paper)
    with pytest.raises(AssertionError) as e:
        assert_claim("TST-1")
    msg = str(e.value)
    assert msg.startswith("TST-1 (Thm 0) at quick size: verdict FAIL, expected PASS")
    for key in ("statement: always holds", "measured:  measured 3.2", "predicted: <= 1", "why:       3.2 > 1"):
        assert key in msg
    assert assert_claim("TST-1", control=True).evidence.verdict == "FAIL"


# ------------------------------------------------------------------ bad input names the parameter

@pytest.mark.parametrize("call, name", [
    (lambda r: assert_rate(r, (1, 0)), "interval"),
    (lambda r: assert_rate(r, (None, None)), "interval"),
    (lambda r: assert_rate(r, (-3, -1), level=1.5), "level"),
    (lambda r: assert_rate(r, (-3, -1), y="los"), "y"),
    (lambda r: assert_rate(r, (-3, -1), require="some"), "require"),
    (lambda r: assert_rate(r, (-3, -1), window=(5,)), "window"),
    (lambda r: assert_rate(r, (-3, -1), x="eta"), "x"),
    (lambda r: assert_rate("loss.csv", (-3, -1)), "result"),
    (lambda r: assert_rate(r, (-3, -1), time="seconds"), "time"),
    (lambda r: assert_contraction(r, (0, 1), offset=float("nan")), "offset"),
    (lambda r: assert_transition(r, (0, 1), kind="jump"), "kind"),
    (lambda r: assert_transition(r, (0, 1)), "level"),
    (lambda r: assert_transition(r, None, kind="plateau"), "within"),
    (lambda r: assert_transition(r, (0, 1), kind="plateau", tail=0), "tail"),
    (lambda r: assert_transition(r, (0, 1), kind="statistic", y="nope"), "y"),
    (lambda r: assert_ordered(r, r, how="most"), "how"),
    (lambda r: assert_ordered(r, r, statistic="best"), "statistic"),
    (lambda r: assert_ordered(r, [1.0, 2.0], how="mean"), "how"),
    (lambda r: assert_ordered(r, "x"), "b"),
    (lambda r: assert_claim("EP-99"), "claim_id"),
    (lambda r: assert_claim("EP-3", size="medium"), "size"),
])
def test_bad_input_names_the_parameter(gd_x4, call, name):
    with pytest.raises(TheoryBenchError, match=f"'{name}'"):
        call(gd_x4)


def test_sweep_selection_errors():
    sw = tb.sweep("monomial", "gd", grid={"eta": [0.05, 0.1]}, seeds=2, steps=50, problem_settings={"p": 4})
    with pytest.raises(TheoryBenchError, match=r"'sel' must fix the sweep axes \['eta'\]"):
        assert_rate(sw, (-3, -1))
    with pytest.raises(TheoryBenchError, match="did you mean 'eta'"):
        assert_rate(sw, (-3, -1), sel={"et": 0.1})
    with pytest.raises(TheoryBenchError, match="not on the axis"):
        assert_rate(sw, (-3, -1), sel={"eta": 0.3})
    assert_rate(sw, (-2.5, -1.0), sel={"eta": 0.1}, window=(10, None), require="estimate")


# ------------------------------------------------------------------ the pytest plugin

def test_plugin_is_declared_and_the_project_suite_collects_no_claims(request):
    tomllib = pytest.importorskip("tomllib")
    with open(os.path.join(os.path.dirname(__file__), "..", "pyproject.toml"), "rb") as fh:
        eps = tomllib.load(fh)["project"]["entry-points"]["pytest11"]
    assert eps["theorybench"] == "theorybench.pytest_plugin"
    from theorybench.pytest_plugin import ClaimItem
    # the project's own `pytest` runs the claims in test_paper_claims.py, never a second time
    assert not any(isinstance(it, ClaimItem) for it in request.session.items)


PAPER_MODULE = '''
"""A user's paper package: one claim (EPX-1) and one that declares FAIL (EPX-2)."""
import theorybench as tb
from theorybench.claims import Evidence, register_paper, verdict
from theorybench.measure import fit_power_law

PAPER = register_paper("scratch_gd_x4", "GD on x^4", "folklore", aliases=("scratch-x4",))
STEPS = {"quick": 400, "full": 800}


def _slope(size):
    with open("sizes.txt", "a") as fh:
        fh.write(size + "\\n")
    r = tb.run("monomial", "gd", steps=STEPS[size], eta=0.1, problem_settings={"p": 4})
    keep = r.rounds >= 50
    return fit_power_law(r.rounds[keep], r.loss[keep])["slope"]


@PAPER.claim("EPX-1", "folklore", "GD on x^4: f(x_t) ~ t^-2", control="the exponent -1 predicted instead")
def check_rate(size="quick", control=False):
    p = _slope(size)
    want = -1.0 if control else -2.0
    return Evidence(verdict(abs(p - want) <= 0.1), f"{p:.3f}", f"{want} +- 0.1")


@PAPER.claim("EPX-2", "folklore", "GD on x^4 converges linearly", control="a quadratic's exponent",
             expected="FAIL", expected_reason="x^4 is not strongly convex: the rate is sublinear")
def check_linear(size="quick", control=False):
    return Evidence("FAIL", f"{_slope(size):.3f}", "exponential decay")
'''

USER_TEST = '''
import os
import pytest
from theorybench.testing import assert_rate


def test_rate(theorybench_engine):
    res = theorybench_engine.run("monomial", "gd", steps=theorybench_engine.pick(400, 800), eta=0.1,
                                 problem_settings={"p": 4})
    assert res.seed == int(os.environ["EXPECTED_SEED"])
    assert_rate(res, (-2.1, -1.9), window=(50, None))
    with pytest.raises(AssertionError, match="is not in"):
        assert_rate(res, (-1.1, -0.9), window=(50, None))


@pytest.mark.theorybench_full
def test_only_at_full(theorybench_size):
    assert theorybench_size == "full"
'''


def _plugin_args():
    """Load the plugin through its entry point (as a user's pytest does) when it is installed."""
    installed = any(ep.value == "theorybench.pytest_plugin"
                    for ep in importlib.metadata.entry_points(group="pytest11"))
    if installed and not os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):
        return []
    return ["-p", "theorybench.pytest_plugin"]


@pytest.fixture
def scratch(pytester, monkeypatch):
    pytester.makepyfile(mypapers=PAPER_MODULE, test_user=USER_TEST)
    pytester.makefile(".ini", pytest="[pytest]\npythonpath = .\ntheorybench_papers = mypapers\n"
                                     "theorybench_warmup = monomial gd\n")
    monkeypatch.setenv("EXPECTED_SEED", "0")
    return pytester


def _run(pytester, *args):
    return pytester.runpytest_subprocess(*_plugin_args(), "-v", "-p", "no:cacheprovider", *args)


def _outcomes(result):
    """{test name: outcome word} from the -v lines."""
    out = {}
    for line in result.outlines:
        parts = line.split()
        if len(parts) >= 2 and "::" in parts[0] and parts[1] in ("PASSED", "FAILED", "XFAIL", "XPASS", "SKIPPED"):
            out[parts[0].split("::")[-1]] = parts[1]
    return out


def test_plugin_collects_a_user_papers_claims(scratch):
    res = _run(scratch)
    assert _outcomes(res) == {"EPX-1": "PASSED", "EPX-1[control]": "PASSED", "EPX-2": "XFAIL",
                              "EPX-2[control]": "PASSED", "test_rate": "PASSED", "test_only_at_full": "SKIPPED"}
    res.assert_outcomes(passed=4, xfailed=1, skipped=1)
    assert "collected 6 items" in res.stdout.str()
    assert "theorybench: size quick, seed 0, papers: mypapers" in res.stdout.str()
    assert (scratch.path / "sizes.txt").read_text().split() == ["quick"] * 4


def test_plugin_size_and_seed_options(scratch, monkeypatch):
    monkeypatch.setenv("EXPECTED_SEED", "3")
    res = _run(scratch, "--theorybench-size", "full", "--theorybench-seed", "3")
    assert _outcomes(res)["test_only_at_full"] == "PASSED"
    res.assert_outcomes(passed=5, xfailed=1)
    assert set((scratch.path / "sizes.txt").read_text().split()) == {"full"}
    res = _run(scratch, "--theorybench-size", "full", "-m", "not theorybench_slow")
    assert not any(k.startswith("EPX") for k in _outcomes(res))


def test_plugin_explicit_paths_and_selection(scratch):
    res = _run(scratch, "test_user.py")                   # a path given: only that file runs
    assert set(_outcomes(res)) == {"test_rate", "test_only_at_full"}
    res = _run(scratch, "test_user.py", "--theorybench-papers", "mypapers", "-k", "EPX-1 or rate")
    assert _outcomes(res) == {"EPX-1": "PASSED", "EPX-1[control]": "PASSED", "test_rate": "PASSED"}
    # a claim id, and every installed paper (the theorybench.papers entry points)
    res = scratch.runpytest_subprocess(*_plugin_args(), "--collect-only", "-q", "--theorybench-papers", "EP-3")
    from theorybench.claims import all_claims
    every = {c.id: f"theorybench::{c.paper}::{c.id}" for c in all_claims()}
    claims = [line for line in res.outlines if line.startswith("theorybench::")]
    assert claims == [every["EP-3"], every["EP-3"] + "[control]"]
    res = scratch.runpytest_subprocess(*_plugin_args(), "--collect-only", "-q", "--theorybench-papers", "all")
    claims = {line for line in res.outlines if line.startswith("theorybench::")}
    assert claims == set(every.values()) | {v + "[control]" for v in every.values()}


def test_plugin_failure_message_and_bad_paper_name(scratch):
    scratch.makepyfile(mypapers=PAPER_MODULE.replace("want = -1.0 if control else -2.0",
                                                     "want = -1.0 if control else -3.0"))
    res = _run(scratch, "-k", "EPX-1")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["*EPX-1 (folklore) at quick size: verdict FAIL, expected PASS*",
                              "*predicted: -3.0 +- 0.1*"])
    assert "Traceback" not in res.stdout.str()
    res = _run(scratch, "--theorybench-papers", "no_such_paper_xyz")
    assert res.ret == pytest.ExitCode.USAGE_ERROR
    assert "theorybench_papers: 'no_such_paper_xyz' is neither an importable module" in res.stderr.str()
