"""Stored claim results: `check` stores what it runs, `figures` redraws from the store (runs only what is
missing), keyed on the code and the settings; a result that cannot be stored or read back just runs."""
import os
import threading

import pytest

from theorybench import cli, store
from theorybench.claims import Evidence, _PAPERS, register_paper
from theorybench.store import ClaimStore


@pytest.fixture(autouse=True)
def own_store(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYBENCH_STORE", str(tmp_path / "store"))
    monkeypatch.setattr(cli, "default_figures_dir", lambda: str(tmp_path / "repo_figures"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "store"


@pytest.fixture
def counted_paper():
    calls = []
    paper = register_paper("zz_store", "store", "nobody")

    def draw(values):
        from theorybench.plotting import new_figure
        fig, axs = new_figure()
        axs[0][0].plot(values)
        return fig

    @paper.claim("ZS-1", "none", "a claim that counts its runs", control="none")
    def _check(size="quick", control=False):
        calls.append((size, control))
        values = [1.0, 2.0, float(len(calls))]
        return Evidence("PASS", f"run {len(calls)}", "1", plots={"zs1": lambda: draw(values)})
    yield calls
    del _PAPERS["zz_store"]


def test_figures_redraw_from_what_check_stored(capsys, tmp_path, counted_paper):
    assert cli.main(["check", "ZS-1", "--no-figures"]) == 0
    assert len(counted_paper) == 1
    assert cli.main(["figures", "ZS-1"]) == 0
    err = capsys.readouterr().err
    assert len(counted_paper) == 1 and "redrawn from stored results" in err and "ZS-1" in err
    assert (tmp_path / cli.QUICK_FIGURES_DIR / "zz_store" / "zs1.png").stat().st_size > 1000
    assert cli.main(["figures", "ZS-1", "--rerun"]) == 0
    assert len(counted_paper) == 2
    assert cli.main(["figures", "ZS-1", "--full"]) == 0  # another size: not stored yet, runs
    assert counted_paper[-1] == ("full", False) and len(counted_paper) == 3


def test_check_always_runs(capsys, counted_paper):
    for _ in range(2):
        assert cli.main(["check", "ZS-1", "--no-figures"]) == 0
    assert len(counted_paper) == 2


def test_key_follows_code_and_settings(monkeypatch, counted_paper):
    from theorybench.claims import select
    c = select(["ZS-1"])[0]
    st = ClaimStore.default()
    r = c.run("quick")
    st.save(r)
    assert st.load(c, "quick").evidence.measured == r.evidence.measured
    assert st.load(c, "quick", control=True) is None and st.load(c, "full") is None
    monkeypatch.setattr(store, "code_key", lambda claim: "edited code")
    assert st.load(c, "quick") is None


def test_code_key_changes_with_a_source_file(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "a.py").write_text("x = 1\n")
    h1 = store._tree_hash(str(pkg))
    store._tree_hash.cache_clear()
    (pkg / "a.py").write_text("x = 2\n")
    assert store._tree_hash(str(pkg)) != h1


def test_unstorable_or_damaged_results_just_run(capsys, own_store, counted_paper):
    from theorybench.claims import select
    c = select(["ZS-1"])[0]
    r = c.run("quick")
    lock = threading.Lock()
    r.evidence.plots["bad"] = lambda: lock  # a lock cannot be pickled
    assert ClaimStore.default().save(r) is None
    good = c.run("quick")
    p = ClaimStore.default().save(good)
    with open(p, "wb") as fh:
        fh.write(b"not a pickle")
    assert ClaimStore.default().load(c, "quick") is None
    n = len(counted_paper)
    assert cli.main(["figures", "ZS-1"]) == 0 and len(counted_paper) == n + 1


def test_store_off(monkeypatch, own_store, counted_paper):
    monkeypatch.setenv("THEORYBENCH_STORE", "off")
    assert ClaimStore.default() is None
    assert cli.main(["figures", "ZS-1"]) == 0 and cli.main(["figures", "ZS-1"]) == 0
    assert len(counted_paper) == 2 and not own_store.exists()


def test_a_new_result_replaces_the_one_of_older_code(monkeypatch, own_store, counted_paper):
    from theorybench.claims import select
    c = select(["ZS-1"])[0]
    st = ClaimStore.default()
    monkeypatch.setattr(store, "code_key", lambda claim: "old code")
    old = st.save(c.run("quick"))
    ctl = st.save(c.run("quick", control=True))
    monkeypatch.setattr(store, "code_key", lambda claim: "new code")
    new = st.save(c.run("quick"))
    files = sorted(p.name for p in (own_store / "zz_store").iterdir())
    assert new != old and sorted([os.path.basename(new), os.path.basename(ctl)]) == files
