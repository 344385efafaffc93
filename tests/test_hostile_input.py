"""Hostile input (issue 11): every boundary of the CLI and the Python API turns bad input into one clear
TheoryBenchError naming the thing and the fix, before any work starts; never a traceback, a hang, or a
silent wrong answer. One test per item of the fuzzing pass, and a property test over the CLI's inputs."""
import contextlib
import io
import json
import math
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import theorybench as tb
from theorybench import cli
from theorybench import runner
from theorybench.errors import TheoryBenchError
from theorybench.problem import make_problem

Q = ["two-client-quadratic", "local-clip"]
E = ["episode-quartic", "local-clip"]


def _cli(*argv):
    """Run the CLI in process: (exit code, stdout, stderr). argparse's own refusals exit with 2."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main([str(a) for a in argv])
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def _refused(argv, *words):
    """The CLI refuses ``argv`` with exit code 2 and one line ``theorybench: error: ...`` naming ``words``."""
    rc, out, err = _cli(*argv)
    assert "Traceback" not in err
    assert rc == 2, (rc, out[-300:], err[-500:])
    lines = err.strip().splitlines()
    assert lines and lines[-1].startswith("theorybench: error:"), err
    for w in words:
        assert w in lines[-1], (w, lines[-1])
    return lines[-1]


# ------------------------------------------------------------------ the sweep grammar

@pytest.mark.parametrize("text, why", [
    ("", "no values"), ("  ", "no values"), ("1:2:0", "count n"), ("1:2:1", "count n"), ("8:1", "empty range"),
    ("log:0.1:1:0", "count n"), ("log:0:1:3", "lo > 0"), ("log:-1:1:3", "lo > 0"), ("1:2:1e9", "integer"),
    ("1:2:1000000000", "count n"), ("1:1000000000", "more than"), ("0.1,,0.2", "empty item"), (",", "empty item"),
    ("1:2:3:4", "fields"), ("log:1:2", "fields"), ("0.1:inf:3", "not finite"), ("nan:1:3", "not finite"),
    ("0.1:0.2", "integers"), ("2:1:3", "below hi"), ("log:1:1:3", "below hi"), ("a:b:c", "not a number"),
])
def test_values_grammar_refused(text, why):
    with pytest.raises(TheoryBenchError) as e:
        cli._values(text, "eta")
    msg = str(e.value)
    assert why in msg and "'eta'" in msg and "lo:hi:n" in msg  # names the axis, the fault and the grammar


def test_values_grammar_accepted():
    assert cli._values("1:3", "k") == [1, 2, 3]
    assert cli._values("3:3", "k") == [3]
    assert cli._values("0:1:3", "k") == [0.0, 0.5, 1.0]
    v = cli._values("log:0.01:1:3", "k")
    assert v[0] == 0.01 and v[-1] == 1.0 and v[1] == pytest.approx(0.1, rel=4 * np.finfo(float).eps)
    assert cli._values(" a , b ", "k") == ["a", "b"]


@pytest.mark.parametrize("axis", ["eta=", "eta=1:2:0", "local_steps=8:1", "eta=log:0.1:1:0", "eta=log:0:1:3",
                                  "eta=log:-1:1:3", "eta=1:2:1000000000", "local_steps=1:1000000000"])
def test_sweep_grammar_cli(axis):
    _refused(["sweep", *E, "-a", axis, "--rounds", 3], "cannot read the values", "log:lo:hi:n")


def test_sweep_grammar_problem_axis_cli():
    _refused(["sweep", *E, "-p", "H=", "--rounds", 3], "'H'", "no values")


# ------------------------------------------------------------------ seeds

@pytest.mark.parametrize("seed", [2**63, 10**23, -1])
def test_seed_out_of_range_cli(seed):
    _refused(["run", *Q, "--rounds", 3, "--seed", seed], "--seed", "2**63 - 1")


def test_largest_seed_runs():
    rc, out, err = _cli("run", *Q, "--rounds", 3, "--seed", 2**63 - 1)
    assert rc == 0 and "final:" in out


@pytest.mark.parametrize("seeds, word", [(0, "--seeds"), (-1, "--seeds"), (2**63, "2**63 - 1"),
                                         (10**11, "allow-long")])
def test_seeds_count_cli(seeds, word):
    _refused(["sweep", *Q, "--rounds", 3, "--seeds", seeds], word)


# ------------------------------------------------------------------ logistic-data files

def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


BAD_FILES = [  # (file name, content or a writer, words the error must contain)
    ("ragged.csv", "1,2,1\n3,1\n", ["line 2 has 2 fields", "line 1 has 3"]),
    ("strings.csv", "1,a,1\n2,3,-1\n", ["line 1, column 2", "'a'"]),
    ("strings2.csv", "1,2,1\n2,x,-1\n", ["line 2, column 2"]),
    ("empty.csv", "", ["no data rows"]),
    ("blank.csv", "\n \n", ["no data rows"]),
    ("header_only.csv", "x1,x2,y\n", ["no data rows", "header"]),
    ("semicolon.csv", "1;2;1\n", ["header"]),
    ("nan.csv", "1,nan,1\n2,3,-1\n", ["point 1", "not finite"]),
    ("inf.csv", "1,2,1\n2,-inf,-1\n", ["point 2", "not finite"]),
    ("labels.csv", "1,2,3\n2,3,-1\n", ["labels", "+-1 or 0/1", "3"]),
    ("labels_half.csv", "1,2,0.5\n", ["labels"]),
    ("onecol.csv", "1\n-1\n", ["1 field"]),
    ("binary.csv", b"\xff\xfe\x00\x01", ["not a text"]),
    ("noX.npz", lambda p: np.savez(p, A=np.ones((3, 3))), ["no array 'X' or 'y'", "np.savez"]),
    ("noy.npz", lambda p: np.savez(p, X=np.ones((3, 2))), ["no array 'y'"]),
    ("mismatch.npz", lambda p: np.savez(p, X=np.ones((3, 2)), y=np.ones(2)), ["one label per point"]),
    ("X1d.npz", lambda p: np.savez(p, X=np.ones(3), y=np.ones(3)), ["2-D", "reshape"]),
    ("Xstr.npz", lambda p: np.savez(p, X=np.array([["a", "b"]]), y=np.array([1])), ["real numbers"]),
    ("garbage.npz", b"PK\x03\x04garbage", ["cannot read it as a NumPy .npz"]),
    ("oned.npy", lambda p: np.save(p, np.ones(5)), ["2-D", "(5,)"]),
    ("threed.npy", lambda p: np.save(p, np.ones((2, 2, 2))), ["2-D"]),
    ("onecol.npy", lambda p: np.save(p, np.ones((3, 1))), ["2-D", "d >= 1"]),
    ("obj.npy", lambda p: np.save(p, np.array([{"a": 1}], dtype=object), allow_pickle=True), ["object arrays"]),
    ("empty.npy", lambda p: np.save(p, np.zeros((0, 3))), ["no points"]),
    ("nan.npy", lambda p: np.save(p, np.array([[np.nan, 0.5, 1], [-1, 0.2, -1.0]])), ["not finite"]),
    ("complex.npy", lambda p: np.save(p, np.array([[1 + 1j, 0.5, 1]])), ["real numbers", "complex"]),
    ("garbage.npy", b"\x00\x01garbage", ["cannot read it as a NumPy .npy"]),
]


@pytest.mark.parametrize("name, content, words", BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_bad_data_file(tmp_path, name, content, words):
    path = tmp_path / name
    if callable(content):
        content(str(path))
    else:
        _write(path, content)
    with pytest.raises(TheoryBenchError) as e:
        make_problem("logistic-data", data=str(path))
    for w in words:
        assert w in str(e.value), (w, str(e.value))
    assert "'data'" in str(e.value)


def test_data_folder_and_missing_file(tmp_path):
    with pytest.raises(TheoryBenchError, match="is a folder"):
        make_problem("logistic-data", data=str(tmp_path))
    with pytest.raises(TheoryBenchError, match="no such file"):
        make_problem("logistic-data", data=str(tmp_path / "missing.csv"))
    with pytest.raises(TheoryBenchError, match="must name a CSV"):
        make_problem("logistic-data", data="")


def test_data_error_through_cli_names_the_file(tmp_path):
    """``gd`` has several kernels: the probe that picks one must pass the data file's own error on."""
    path = _write(tmp_path / "ragged.csv", "1,2,1\n3,1\n")
    _refused(["run", "logistic-data", "gd", "-p", f"data={path}", "--steps", 3], "line 2 has 2 fields")
    _refused(["run", "logistic-data", "logistic-gd", "-p", f"data={path}", "--steps", 3], "line 2 has 2 fields")


def test_header_and_labels_read(tmp_path):
    path = _write(tmp_path / "h.csv", "x1,x2,y\n1,0.5,1\n\n# a comment\n-1,0.2,0\n")
    p = make_problem("logistic-data", data=str(path), normalize="raw")
    np.testing.assert_array_equal(p.all_points(), [[1.0, 0.5], [1.0, -0.2]])  # 0/1 labels fold to -1/+1


def _points():
    return np.array([[1.0, 0.2, 1], [2.0, 0.5, 1], [-0.3, -1.0, -1]])


@pytest.mark.parametrize("factor", [1e300, 2.0**1000, 1e-300, 2.0**-1060])
def test_unit_normalisation_is_overflow_safe(tmp_path, factor):
    """Points of norm up to 1e308 (and subnormal ones): ``unit`` divides by max ||x_i||, so the data as run
    equals that of the same points at unit scale (up to a few roundings), never all zeros (loss log 2)."""
    big = _points()
    big[:, :2] *= factor
    A = big.copy()
    A[:, :2] /= factor  # the same points as stored (subnormal inputs are rounded), at unit scale
    np.save(tmp_path / "s.npy", A)
    np.save(tmp_path / "b.npy", big)
    small = make_problem("logistic-data", data=str(tmp_path / "s.npy"))
    large = make_problem("logistic-data", data=str(tmp_path / "b.npy"))
    eps = np.finfo(float).eps
    np.testing.assert_allclose(large.Z, small.Z, rtol=16 * eps, atol=0)
    assert max(np.linalg.norm(large.all_points(), axis=1)) == pytest.approx(1.0, rel=16 * eps)
    assert large.constants["margin"].value == pytest.approx(small.constants["margin"].value, rel=1e-9)


def test_huge_point_run_is_not_log2(tmp_path):
    """The silent wrong answer of the fuzzing pass: a point of norm 1.4e308 made every point 0 after
    normalisation, and the run reported loss log 2 forever with exit 0."""
    path = _write(tmp_path / "huge.csv", "1e308,1e308,1\n1,0.5,1\n")
    rc, out, err = _cli("run", "logistic-data", "logistic-gd", "-p", f"data={path}", "--steps", 3, "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["trace"]["loss"][-1] < d["trace"]["loss"][0] == pytest.approx(math.log(2))
    assert not d["diverged"]


def test_raw_norm_beyond_float64_refused(tmp_path):
    path = _write(tmp_path / "huger.csv", "1.5e308,1.5e308,1\n1,0.5,1\n")
    with pytest.raises(TheoryBenchError, match="normalize=unit"):
        make_problem("logistic-data", data=str(path), normalize="raw")
    p = make_problem("logistic-data", data=str(path))  # unit: fine
    assert np.isfinite(p.Z).all() and np.abs(p.Z).max() > 0


def test_large_data_margin_qp_refused_with_fix(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2000, 2))
    X[:, 0] = np.abs(X[:, 0]) + 0.1
    path = tmp_path / "big.npy"
    np.save(path, np.column_stack([X, np.ones(2000)]))
    with pytest.raises(TheoryBenchError, match="exact_margin=no"):
        make_problem("logistic-data", data=str(path))
    p = make_problem("logistic-data", data=str(path), exact_margin="no")
    assert 0 < p.constants["margin"].value <= float(np.min(X[:, 0]) + 1e-12) + np.finfo(float).eps
    assert "lower bound" in p.constants["margin"].source


def test_duplicate_points_do_not_count_for_the_qp():
    p = make_problem("cl-lemma31", n=100000)  # two distinct points: the QP is small
    assert p.constants["margin"].value == pytest.approx(0.1, rel=1e-9)


def test_generated_set_too_large_refused():
    with pytest.raises(TheoryBenchError, match="GiB"):
        make_problem("logistic-random", d=10000, n=1000000)
    with pytest.raises(TheoryBenchError, match="exact_margin=no"):
        make_problem("logistic-random", d=2000)


# ------------------------------------------------------------------ search

S = ["search", "cosh", "gd", "--steps", 5, "--maxiter", 1, "--popsize", 2]


@pytest.mark.parametrize("extra, words", [
    (["--bound", "L1=-1:1"], ["'L1'", "declared range", "(0, inf)"]),
    (["--bound", "L1=0.1:1", "-p", "d=abc"], ["'d'", "'abc'"]),
    (["--bound", "L1=0.1:1", "--maxiter", -1], ["'maxiter'"]),
    (["--bound", "L1=0.1:1", "--popsize", 0], ["'popsize'"]),
    (["--bound", "L1=0.1:1", "--seed", -1], ["'seed'", "2**32"]),
    (["--bound", "L1=0.1:1", "--log", "L0"], ["log scale", "'L0'"]),
    (["--bound", "d=1:3"], ["'d'", "only real parameters"]),
    (["--bound", "L1=0.1:1", "-p", "L1=0.5"], ["both searched"]),
    (["--bound", "L1=0.1:1e400"], ["finite"]),
    (["--bound", "L1=1:0.1"], ["low < high"]),
    (["--bound", "L1=a:b"], ["LOW:HIGH"]),
    (["--bound", "L1=0.1:1", "--steps", 10**12], ["allow-long"]),
    (["--bound", "L1=0.1:1", "--steps", -5], ["'steps'"]),
])
def test_search_refusals(extra, words):
    _refused(S + extra, *words)


def test_search_choice_parameter_held_fixed():
    """A fixed choice (noise=uniform) is passed as text to the problem, not through float()."""
    rc, out, err = _cli("search", "episode-quartic", "local-clip", "--bound", "H=0.1:1", "-p", "noise=uniform",
                        "--steps", 3, "--maxiter", 1, "--popsize", 2)
    assert rc == 0, err
    assert "worst instance" in out


def test_search_python_api_error_inside_the_box_is_clear():
    from theorybench.search import worst_instance
    with pytest.raises(TheoryBenchError, match="declared range"):
        worst_instance("cosh", "gd", {"L1": (-1.0, 1.0)}, 5, maxiter=1, popsize=2)


# ------------------------------------------------------------------ delays

def test_delay_stats_streamed_equals_the_simulator():
    from theorybench.delays import delay_stats, simulate_1f1b
    for S_ in (1, 2, 3, 5, 8):
        for M in (1, 2, 7, 3 * S_ + 1):
            for cap in (None, 1, 2, 50):
                for pref in ("alternate", "backward"):
                    sim = simulate_1f1b(S_, M, cap, pref)
                    d = sim["delays"][sim["delays"].size // 2:]
                    got = delay_stats(S_, M, cap, pref)
                    assert (got["max_delay"], got["min_delay"], got["makespan"]) == \
                        (int(d.max()), int(d.min()), sim["makespan"])
                    assert got["mean_delay"] == float(d.mean())


def test_delays_large_is_cheap_or_refused():
    from theorybench.delays import delay_stats, simulate_1f1b
    st_ = delay_stats(1000)  # was 57 s and 3.7 GB: now streamed
    assert st_["updates"] == 1000 * 10000 and st_["min_delay"] >= 0
    _refused(["delays", "--stages", 100000], "stage-steps", "--microbatches")
    _refused(["delays", "--stages", 4, "--microbatches", 10**12], "stage-steps")
    _refused(["delays", "--stages", 0], "'stages'")
    _refused(["delays", "--stages", 4, "--in-flight", 0], "'in_flight'")
    with pytest.raises(TheoryBenchError, match="delay_stats"):
        simulate_1f1b(3000, 30000)
    with pytest.raises(TheoryBenchError, match="stages"):
        delay_stats(1.5)


# ------------------------------------------------------------------ long jobs

@pytest.mark.parametrize("argv", [
    ["run", *Q, "--rounds", 10**12], ["run", *Q, "--steps", 10**12],
    ["sweep", *E, "-a", "local_steps=1:1000", "--rounds", 10**8],
    ["run", *E, "--rounds", 3, "-p", "N=100000", "-a", "local_steps=10000000"],
])
def test_long_jobs_refused_with_estimate_and_flag(argv):
    _refused(argv, "client steps", "--allow-long")


def test_long_job_estimate_printed_and_flag_allows(monkeypatch):
    monkeypatch.setattr(runner, "LONG_WORK", 10)
    rc, out, err = _cli("run", *Q, "--rounds", 5)
    assert rc == 0 and "long job: about 80 client steps (5 rounds x 8 local steps x 2 clients)" in err
    monkeypatch.setattr(runner, "DEFAULT_MAX_WORK", 50)
    _refused(["run", *Q, "--rounds", 5], "80", "--allow-long")
    _refused(["sweep", *Q, "--rounds", 5], "--allow-long")
    assert _cli("run", *Q, "--rounds", 5, "--allow-long")[0] == 0
    assert _cli("sweep", *Q, "--rounds", 5, "--allow-long")[0] == 0


def test_long_job_python_api():
    with pytest.raises(TheoryBenchError, match="max_work"):
        tb.run(*Q, rounds=10**12)
    with pytest.raises(TheoryBenchError, match="max_work"):
        tb.sweep(*Q, rounds=3, seeds=10**12)
    assert tb.run(*Q, rounds=3, max_work=math.inf).rounds[-1] == 3
    with pytest.raises(TheoryBenchError, match="max_work"):
        tb.run(*Q, rounds=3, max_work=1)
    with pytest.raises(TheoryBenchError, match="max_work"):
        tb.run(*Q, rounds=3, max_work=-1)


def test_sharpness_evaluations_bounded():
    _refused(["run", "psd-quadratic", "gd", "--steps", 10**12, "--sharpness", 1], "sharpness evaluations",
             "--allow-long")
    _refused(["run", "psd-quadratic", "gd", "--steps", 3, "--sharpness", 0], "--sharpness")
    _refused(["run", "psd-quadratic", "gd", "--steps", 3, "--sharpness", -1], "--sharpness")


# ------------------------------------------------------------------ output paths, checked before the work

@pytest.fixture
def no_work(monkeypatch):
    """Any computation fails the test: a bad output path must be refused before it."""
    def boom(*a, **k):
        raise AssertionError("computed before checking the output path")
    monkeypatch.setattr(runner, "run", boom)
    monkeypatch.setattr(runner, "sweep", boom)
    monkeypatch.setattr(cli, "_run_claims", boom)


def test_plot_paths_checked_first(tmp_path, no_work):
    _refused(["run", *Q, "--rounds", 3, "--plot", tmp_path], "is a directory")
    _refused(["run", *Q, "--rounds", 3, "--plot", tmp_path / "no" / "p.png"], "does not exist")
    _refused(["run", *Q, "--rounds", 3, "--plot", tmp_path / "p.xyz"], "unknown file type", ".png")


def test_out_paths_checked_first(tmp_path, no_work):
    _refused(["sweep", *Q, "--rounds", 3, "--out", tmp_path / "no" / "s.csv"], "--out", "does not exist")
    _refused(["sweep", *Q, "--rounds", 3, "--out", tmp_path], "--out", "is a directory")
    f = _write(tmp_path / "f.csv", "x")
    _refused(["check", "EP-1", "--report", f], "--report", "is a file")
    _refused(["check", "EP-1", "--report", f / "sub"], "--report", "is a file")
    _refused(["figures", "EP-1", "--out", f], "--out", "is a file")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_unwritable_folder(tmp_path, no_work):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        _refused(["sweep", *Q, "--rounds", 3, "--out", ro / "s.csv"], "not writable")
    finally:
        ro.chmod(0o700)


def test_plot_without_extension_gets_png(tmp_path):
    rc, out, err = _cli("run", *Q, "--rounds", 3, "--plot", tmp_path / "fig")
    assert rc == 0, err
    assert (tmp_path / "fig.png").stat().st_size > 0


# ------------------------------------------------------------------ the Python API

def _two_client():
    return make_problem("two-client-quadratic")


@pytest.mark.parametrize("call, words", [
    (lambda: tb.sweep(*Q, rounds=3, seeds="3"), ["'seeds'", "count"]),
    (lambda: tb.sweep(*Q, rounds=3, seeds=True), ["'seeds'"]),
    (lambda: tb.sweep(*Q, rounds=3, seeds=[1.5]), ["'seed'", "1.5"]),
    (lambda: tb.sweep(*Q, rounds=3, seeds=[2**63]), ["'seed'"]),
    (lambda: tb.sweep(*Q, rounds=3, seeds=0), ["'seeds'"]),
    (lambda: tb.run(*Q, rounds=3, seed=1.5), ["'seed'", "1.5"]),
    (lambda: tb.run(*Q, rounds=3, seed="3"), ["'seed'"]),
    (lambda: tb.run(*Q, rounds=3, seed=True), ["'seed'"]),
    (lambda: tb.run(*Q, rounds=3, seed=2**63), ["'seed'"]),
    (lambda: tb.run(*Q, rounds=3, seed=-1), ["'seed'"]),
    (lambda: tb.run(*Q, rounds=3, record=[0.5, 2.7]), ["'record'", "integers"]),
    (lambda: tb.run(*Q, rounds=3, record=["a"]), ["'record'"]),
    (lambda: tb.run(*Q, rounds=3, record=[[1]]), ["'record'"]),
    (lambda: tb.run(*Q, rounds=3, record=[5]), ["[0, 3]"]),
    (lambda: tb.run(_two_client(), "local-clip", rounds=3, problem_settings={"gamma": 5}),
     ["problem_settings", "Problem object", "registered name"]),
    (lambda: tb.sweep(_two_client(), "local-clip", problem_grid={"gamma": [1, 2]}, rounds=3),
     ["problem_grid", "Problem object"]),
    (lambda: tb.sweep(*Q, grid={"eta": [0.1, 0.2]}, eta=0.5, rounds=3), ["'eta'", "both"]),
    (lambda: tb.sweep(*Q, problem_grid={"gamma": [1, 2]}, problem_settings={"gamma": 3}, rounds=3),
     ["'gamma'", "both"]),
    (lambda: tb.sweep(*Q, tied_grid={"gamma": [1, 2]}, gamma=3, rounds=3), ["'gamma'", "both"]),
    (lambda: tb.sweep(*Q, grid={"eta": 0.1}, rounds=3), ["'eta'", "list of values"]),
    (lambda: tb.sweep(*Q, grid={"eta": "0.1"}, rounds=3), ["'eta'", "list of values"]),
    (lambda: tb.sweep(*Q, grid={"eta": []}, rounds=3), ["'eta'", "no values"]),
    (lambda: tb.run(*Q, rounds=3, local_steps=True), ["'local_steps'", "True"]),
    (lambda: tb.run(*Q, rounds=3, eta=True), ["'eta'"]),
    (lambda: tb.run(*Q, rounds=True), ["'rounds'"]),
    (lambda: tb.run(*Q, rounds=float("nan")), ["'rounds'"]),
    (lambda: tb.run(*Q, rounds=float("inf")), ["'rounds'"]),
    (lambda: tb.run(*Q, rounds="3"), ["'rounds'"]),
    (lambda: tb.run(*Q, steps=3.5), ["'steps'"]),
    (lambda: tb.run(*Q, rounds=3, x0="abc"), ["'x0'"]),
    (lambda: tb.run(*Q, rounds=3, x0=[True]), ["'x0'"]),
    (lambda: tb.run(*Q, rounds=3, x0=[1.0, 2.0]), ["'x0'", "1 finite number"]),
    (lambda: tb.run(*Q, rounds=3, target=float("nan")), ["'target'"]),
    (lambda: tb.run(*Q, rounds=3, target="a"), ["'target'"]),
    (lambda: tb.run(*Q, rounds=3, problem_settings=[1]), ["'problem_settings'", "dict"]),
    (lambda: tb.run(*Q, rounds=3, eta=[0.1, 0.2]), ["'eta'"]),
])
def test_python_api_refusals(call, words):
    with pytest.raises(TheoryBenchError) as e:
        call()
    for w in words:
        assert w in str(e.value), (w, str(e.value))


def test_python_api_accepts():
    sw = tb.sweep(*Q, rounds=3, seeds=np.int64(2))
    assert sw.coords["seed"] == [0, 1]
    sw = tb.sweep(*Q, rounds=3, seeds=[3, 5])
    assert sw.coords["seed"] == [3, 5]
    assert tb.run(*Q, rounds=3, seed=3.0).seed == 3
    assert tb.run(*Q, rounds=3, record=[1.0, 2.0]).rounds.tolist() == [0, 1, 2, 3]
    # integers are read exactly (float() would round 2**53 + 1)
    assert make_problem("psd-quadratic", seed="9007199254740993").settings["seed"] == 9007199254740993


# ------------------------------------------------------------------ other arguments

@pytest.mark.parametrize("x0, word", [("nan", "finite"), ("1,2", "1 finite number"), ("1,,2", "--x0"),
                                      ("1e400", "finite"), ("", "--x0")])
def test_x0(x0, word):
    _refused(["run", *Q, "--rounds", 3, "--x0", x0], word)


@pytest.mark.parametrize("argv, word", [
    (["run", *Q, "--rounds", 3, "-a", "eta=nan"], "'eta'"),
    (["run", *Q, "--rounds", 3, "-a", "local_steps=1.5"], "'local_steps'"),
    (["run", *Q, "--rounds", 3, "-p", "gamma=-1"], "'gamma'"),
    (["run", *Q, "--rounds", 3, "-p", "bogus=1"], "'bogus'"),
    (["run", *Q, "--rounds", -1], "'rounds'"),
    (["run", *Q, "--rounds", 3, "-a", "clients_per_round=5"], "'clients_per_round'"),
])
def test_other_arguments(argv, word):
    _refused(argv, word)


# ------------------------------------------------------------------ the property test over the CLI

GOOD = st.sampled_from(["0.1", "0.5", "1", "2", "3", "0.01", "1e-3", "4.", "+2"])
HOSTILE = st.one_of(st.sampled_from(["0", "-1", "1e300", "-1e300", "nan", "inf", "-inf", "", "abc", "1e-320",
                                     "1,2", "1:3", "True", "1e400"]),
                    st.floats(allow_nan=True, allow_infinity=True, width=64).map(repr),
                    st.integers(-10, 10).map(str))
NUM = st.one_of(GOOD, GOOD, HOSTILE)
GOOD_GRID = st.one_of(GOOD, st.sampled_from(["1:3", "1:2", "0.1:0.5:3", "log:0.1:1:3", "0.1,0.2", "1,2"]))
GRID = st.one_of(NUM, GOOD_GRID,
                 st.sampled_from(["8:1", "1:2:0", "log:0:1:3", "log:-1:1:3", "log:0.1:1:0", "1:2:1e9",
                                  "1:2:10000000000", "0.1,,0.2", ",", "1:2:3:4", "0:1000000000", "1:2:1"]))
PROBLEM_PARAMS = {"two-client-quadratic": ["gamma", "a1", "a2", "x0"],
                  "episode-quartic": ["H", "sigma", "x0", "N", "noise", "center"]}
ALG_PARAMS = ["eta", "gamma", "local_steps", "convention", "clients_per_round", "eta", "gamma", "bogus"]


@st.composite
def argvs(draw, tmp):
    """A CLI call; half of them hostile (bad values mixed in everywhere), half plausible (the values a user
    would type, still including huge steps and overflowing eta), so that both outcomes are exercised."""
    hostile = draw(st.booleans())

    def pick(good, bad):
        return draw(st.one_of(good, bad) if hostile else good)

    cmd = draw(st.sampled_from(["run", "sweep"]))
    problem = draw(st.sampled_from(sorted(PROBLEM_PARAMS)))
    argv = [cmd, problem, "local-clip"]
    values = (GRID if hostile else GOOD_GRID) if cmd == "sweep" else (NUM if hostile else GOOD)
    for name in draw(st.lists(st.sampled_from(PROBLEM_PARAMS[problem]), max_size=2, unique=True)):
        good = {"N": ["1", "2", "3"], "noise": ["uniform", "truncated-gaussian"], "center": ["no", "yes"]}
        bad = {"N": ["0", "-1", "1.5", "100000"], "noise": ["bad"], "center": ["maybe"]}
        v = pick(st.sampled_from(good[name]), st.sampled_from(bad[name])) if name in good else draw(values)
        argv += ["-p", f"{name}={v}"]
    for name in draw(st.lists(st.sampled_from(ALG_PARAMS if hostile else ALG_PARAMS[:-1]), max_size=3,
                              unique=True)):
        good = {"convention": ["step", "grad"], "local_steps": ["1", "2", "8"] + (["1:3"] if cmd == "sweep" else []),
                "clients_per_round": ["0", "1", "2"]}
        bad = {"convention": ["both"], "local_steps": ["0", "2.5", "1e30"], "clients_per_round": ["3", "-1"]}
        v = pick(st.sampled_from(good[name]), st.sampled_from(bad[name])) if name in good else draw(values)
        argv += ["-a", f"{name}={v}"]
    argv += [draw(st.sampled_from(["--rounds", "--steps"])),
             str(pick(st.integers(0, 30), st.one_of(st.integers(-2, -1), st.sampled_from([10**12, 2**63, 10**30]))))]
    if cmd == "run":
        if draw(st.booleans()):
            argv += ["--seed", str(pick(st.one_of(st.integers(0, 5), st.just(2**63 - 1)),
                                        st.sampled_from([-1, 2**63, 10**30])))]
        if draw(st.booleans()):
            argv += [f"--x0={pick(GOOD, st.one_of(HOSTILE, st.sampled_from(['1,2', '1,,2', ',', ' 1 '])))}"]
        plot = pick(st.sampled_from([None] * 8 + ["p.png", "p"]), st.sampled_from(["dir", "missing/p.png", "p.xyz", ""]))
        if plot is not None:
            argv += ["--plot", str(tmp) if plot == "dir" else os.path.join(str(tmp), plot)]
        if draw(st.booleans()):
            argv.append("--json")
    else:
        if draw(st.booleans()):
            argv += ["--seeds", str(pick(st.integers(1, 3), st.sampled_from([0, -1, 10**12, 2**63])))]
        out = pick(st.sampled_from([None] * 3 + ["s.csv"]), st.sampled_from(["dir", "missing/s.csv"]))
        if out is not None:
            argv += ["--out", str(tmp) if out == "dir" else os.path.join(str(tmp), out)]
        if draw(st.booleans()):
            argv.append("--final-only")
    return argv


def _no_silent_nan(argv, out):
    """A non-finite final value is never passed on silently: a run that prints nan says DIVERGED; JSON
    has no NaN; a sweep row with a NaN loss is marked diverged."""
    if "run" == argv[0]:
        if "--json" in argv:
            d = json.loads(out, parse_constant=lambda c: pytest.fail(f"{c} in JSON output"))
            if any(v is None for v in [d["final"]["loss"], d["final"]["grad_norm"]]):
                assert d["diverged"]
        else:
            final = [ln for ln in out.splitlines() if ln.startswith("final:")]
            assert len(final) == 1
            if "nan" in final[0] or "inf" in final[0]:
                assert "DIVERGED" in out
    elif "--out" not in argv and out.strip():
        import pandas as pd
        df = pd.read_csv(io.StringIO(out))
        for col in ("loss", "final_loss"):
            if col in df:
                bad = df[col].isna()
                if bad.any():
                    flag = df["diverged"].astype(bool) if "diverged" in df else df["diverged_round"] >= 0
                    assert flag[bad].all(), df[bad].head()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(data=st.data())
def test_cli_property(tmp_path, data):
    argv = data.draw(argvs(tmp_path))
    rc, out, err = _cli(*argv)
    assert "Traceback" not in err, (argv, err)
    if rc == 0:
        _no_silent_nan(argv, out)
    else:
        assert rc == 2, (argv, rc, err)
        lines = [ln for ln in err.strip().splitlines() if ln.strip()]
        assert lines and "error:" in lines[-1], (argv, err)
        if lines[-1].startswith("theorybench: error:"):  # our refusals: one line (argparse adds its usage)
            assert sum("error:" in ln for ln in lines) == 1, (argv, err)


def test_problem_constants_past_float64_refused_with_the_values():
    """A problem parameter whose constants overflow while the problem is built (H = 1e308 on the EPISODE
    quartic) is a clear error naming the value, not a LinAlgError from numpy.roots."""
    with pytest.raises(TheoryBenchError, match=r"episode-quartic.*H=1e\+308"):
        tb.make_problem("episode-quartic", H=1e308)
    _refused(["run", "episode-quartic", "episode", "-p", "H=1e308", "--rounds", "5"], "H=1e+308")


def test_output_path_ending_in_a_separator_is_a_folder(tmp_path):
    out = str(tmp_path / "missing") + os.sep
    _refused(["sweep", "two-client-quadratic", "local-clip", "-a", "eta=0.1,0.2", "--rounds", "3",
              "--final-only", "--out", out], "--out", "is a directory")
    assert not os.path.exists(out)
