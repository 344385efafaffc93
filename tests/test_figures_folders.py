"""`figures` at quick size never replaces the committed paper-size figures/: quick figures go to their own
folder, ``--out figures/`` without ``--full`` is refused, and ``--full`` rewrites figures/."""
import os

import pytest

from theorybench import cli
from theorybench.claims import Evidence, _PAPERS, register_paper


@pytest.fixture
def drawn_paper():
    paper = register_paper("zz_figs", "figs", "nobody")

    def draw():
        from theorybench.plotting import new_figure
        fig, axs = new_figure()
        axs[0][0].plot([0, 1], [1, 0])
        return fig

    @paper.claim("ZG-1", "none", "a claim with a figure", control="none")
    def _check(size="quick", control=False):
        return Evidence("PASS", "1", "1", plots={f"zg1_{size}": draw})
    yield paper
    del _PAPERS["zz_figs"]


@pytest.fixture
def committed(tmp_path, monkeypatch):
    folder = tmp_path / "repo_figures"
    (folder / "zz_figs").mkdir(parents=True)
    monkeypatch.setattr(cli, "default_figures_dir", lambda: str(folder))
    monkeypatch.setenv("THEORYBENCH_STORE", str(tmp_path / "store"))  # this test's own stored results
    monkeypatch.chdir(tmp_path)
    return folder


def test_quick_figures_go_elsewhere(capsys, committed, tmp_path, drawn_paper):
    assert cli.main(["figures", "ZG-1"]) == 0
    err = capsys.readouterr().err
    assert "quick-size figures go to" in err and "--full" in err
    assert (tmp_path / cli.QUICK_FIGURES_DIR / "zz_figs" / "zg1_quick.png").exists()
    assert os.listdir(committed / "zz_figs") == []


def test_quick_figures_into_committed_folder_refused(capsys, committed, drawn_paper):
    for out in (committed, committed / "zz_figs"):
        assert cli.main(["figures", "ZG-1", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert "paper-size" in err and "--full" in err and "Traceback" not in err
    assert os.listdir(committed / "zz_figs") == []


def test_full_rewrites_committed(capsys, committed, drawn_paper):
    assert cli.main(["figures", "ZG-1", "--full"]) == 0
    assert (committed / "zz_figs" / "zg1_full.png").exists()


def test_quick_figures_with_other_out(capsys, committed, tmp_path, drawn_paper):
    assert cli.main(["figures", "ZG-1", "--out", str(tmp_path / "mine")]) == 0
    assert (tmp_path / "mine" / "zz_figs" / "zg1_quick.png").exists()
