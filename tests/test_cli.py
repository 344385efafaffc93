"""The CLI contract (researchers' scripts depend on it)."""
import json

import pytest

from theorybench import cli
from theorybench.claims import Evidence, _PAPERS, register_paper


def _run(capsys, *argv):
    rc = cli.main(list(argv))
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_list(capsys):
    rc, out, _ = _run(capsys, "list")
    assert rc == 0
    for word in ("two-client-quadratic", "episode-quartic", "local-clip", "episode", "EP-1", "episode_iclr23"):
        assert word in out
    rc, out, _ = _run(capsys, "list", "local-clip")
    assert "convention" in out and "step" in out and "default" in out


def test_run_json_contract(capsys):
    rc, out, _ = _run(capsys, "run", "two-client-quadratic", "local-clip", "-p", "gamma=2", "-a", "eta=1",
                      "-a", "gamma=2", "-a", "local_steps=1", "-a", "convention=grad", "--rounds", "50", "--json")
    assert rc == 0
    d = json.loads(out)
    assert d["trace"]["round"] == list(range(51))
    assert set(d["trace"]) >= {"loss", "grad_norm", "round", "step", "x"}
    assert d["final"]["x"] == [0.0] and d["final"]["grad_norm"] == 0.5


def test_run_plot(capsys, tmp_path):
    rc, out, _ = _run(capsys, "run", "episode-quartic", "episode", "-p", "H=4", "--rounds", "20",
                      "--plot", str(tmp_path / "o.png"))
    assert rc == 0 and (tmp_path / "o.png").stat().st_size > 1000


def test_sweep_csv(capsys, tmp_path):
    import pandas as pd
    rc, _, _ = _run(capsys, "sweep", "episode-quartic", "local-clip", "-p", "H=1,4", "-a", "local_steps=1:3",
                    "--seeds", "2", "--rounds", "5", "--out", str(tmp_path / "s.csv"))
    assert rc == 0
    df = pd.read_csv(tmp_path / "s.csv")
    assert len(df) == 2 * 3 * 2 * 6
    assert {"H", "local_steps", "seed", "round", "loss", "grad_norm"} <= set(df.columns)
    # what produced it: problem, method and every fixed (given or default) parameter, as columns
    from theorybench import get_algorithm
    from theorybench.problem import get_problem_family
    assert list(df.columns[:2]) == ["problem", "method"]
    assert set(df["problem"]) == {"episode-quartic"} and set(df["method"]) == {"local-clip"}
    assert {p.name for p in get_algorithm("local-clip").params} <= set(df.columns)
    assert {p.name for p in get_problem_family("episode-quartic").params} <= set(df.columns)
    assert (df["gamma"] == get_algorithm("local-clip").resolve({})["gamma"]).all()


@pytest.mark.parametrize("argv, word", [
    (["run", "episode-quartc", "episode", "--rounds", "3"], "did you mean 'episode-quartic'"),
    (["run", "episode-quartic", "episode", "-a", "eta=0", "--rounds", "3"], "'eta'"),
    (["run", "episode-quartic", "episode", "-a", "convention=both", "--rounds", "3"], "step, grad"),
    (["run", "episode-quartic", "episode", "-a", "eta", "--rounds", "3"], "name=value"),
    (["check", "EP-99"], "unknown claim or paper"),
    (["sweep", "episode-quartic", "episode", "-a", "eta=a:b:c", "--rounds", "3"], "eta"),
])
def test_errors_are_clear(capsys, argv, word):
    rc, out, err = _run(capsys, *argv)
    assert rc == 2 and word in err and "Traceback" not in err


def test_check_json_and_report(capsys, tmp_path):
    rc, out, _ = _run(capsys, "check", "EP-1", "--json", "--report", str(tmp_path))
    assert rc == 0
    d = json.loads(out)
    assert d[0]["id"] == "EP-1" and d[0]["verdict"] == "PASS" and d[0]["expected"] == "PASS"
    prov = d[0]["provenance"]
    assert {"commit", "versions", "threads"} <= set(prov) and prov["versions"]["numba"]
    assert (tmp_path / "report.md").exists() and (tmp_path / "figures" / "episode_iclr23" / "ep1_stuck_grid.png").exists()


def test_check_control_is_as_expected(capsys, tmp_path):
    rc, out, _ = _run(capsys, "check", "EP-2", "--control", "--report", str(tmp_path), "--no-figures")
    assert rc == 0 and "FAIL" in out


@pytest.fixture
def dummy_paper():
    paper = register_paper("zz_dummy", "dummy", "nobody")

    @paper.claim("ZZ-1", "none", "a claim that fails", control="none")
    def _check(size="quick", control=False):
        return Evidence("FAIL", "1", "0")
    yield paper
    del _PAPERS["zz_dummy"]


def test_unexpected_verdict_gives_nonzero_exit(capsys, tmp_path, dummy_paper):
    rc, out, _ = _run(capsys, "check", "ZZ-1", "--report", str(tmp_path))
    assert rc == 1 and "UNEXPECTED" in out


def test_version(capsys):
    from importlib import metadata
    import theorybench
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.strip() == f"theorybench {metadata.version('theorybench')}"
    assert theorybench.__version__ == metadata.version("theorybench")
