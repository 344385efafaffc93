"""`check` never silently overwrites a report: each report gets its own folder, and ``--report DIR`` that
already holds one is refused unless ``--overwrite``."""
import datetime
import json
import os

import pytest

from theorybench import cli
from theorybench.claims import Evidence, _PAPERS, register_paper
from theorybench.report import holds_report, new_report_dir, report_label


@pytest.fixture
def tiny_paper():
    paper = register_paper("zz_folders", "folders", "nobody")

    @paper.claim("ZR-1", "none", "a claim that holds", control="none")
    def _check(size="quick", control=False):
        return Evidence("PASS", "1", "1")
    yield paper
    del _PAPERS["zz_folders"]


def _check(capsys, *argv):
    rc = cli.main(["check", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_default_folders_are_new_each_time(capsys, tmp_path, monkeypatch, tiny_paper):
    monkeypatch.chdir(tmp_path)
    rc1, out1, _ = _check(capsys, "ZR-1")
    rc2, out2, _ = _check(capsys, "ZR-1")
    assert rc1 == rc2 == 0
    folders = sorted(os.listdir(tmp_path / "theorybench-report"))
    assert len(folders) == 2 and all(f.endswith("ZR-1") or f.endswith("ZR-1-2") for f in folders), folders
    for f in folders:
        assert holds_report(tmp_path / "theorybench-report" / f)
    # the output says where each report went, and the two differ
    paths = [line.split("report: ", 1)[1] for out in (out1, out2) for line in out.splitlines()
             if line.startswith("report: ")]
    assert len(paths) == 2 and paths[0] != paths[1] and all(os.path.exists(p) for p in paths)


def test_report_dir_holding_a_report_is_refused(capsys, tmp_path, tiny_paper):
    (tmp_path / "report.md").write_text("an earlier report\n")
    rc, out, err = _check(capsys, "ZR-1", "--report", str(tmp_path))
    assert rc == 2 and "already holds a report" in err and "--overwrite" in err and "Traceback" not in err
    assert (tmp_path / "report.md").read_text() == "an earlier report\n"
    rc, out, err = _check(capsys, "ZR-1", "--report", str(tmp_path), "--overwrite")
    assert rc == 0 and "ZR-1" in (tmp_path / "report.md").read_text()


def test_report_dir_empty_or_new_is_used(capsys, tmp_path, tiny_paper):
    rc, out, _ = _check(capsys, "ZR-1", "--report", str(tmp_path / "new"))
    assert rc == 0 and holds_report(tmp_path / "new") and str(tmp_path / "new") in out
    rc, out, err = _check(capsys, "ZR-1", "--json", "--report", str(tmp_path / "j"))
    assert rc == 0 and json.loads(out)[0]["id"] == "ZR-1" and str(tmp_path / "j") in err


def test_refused_selector_leaves_no_empty_folder(capsys, tmp_path, monkeypatch, tiny_paper):
    monkeypatch.chdir(tmp_path)
    rc, _, err = _check(capsys, "ZR-99")
    root = tmp_path / "theorybench-report"
    assert rc == 2 and (not root.exists() or not os.listdir(root))


def test_failing_claim_leaves_no_empty_folder(capsys, tmp_path, monkeypatch):
    paper = register_paper("zz_boom", "boom", "nobody")

    @paper.claim("ZB-1", "none", "raises", control="none")
    def _boom(size="quick", control=False):
        raise RuntimeError("boom")
    monkeypatch.chdir(tmp_path)
    try:
        with pytest.raises(RuntimeError):
            cli.main(["check", "ZB-1"])
    finally:
        del _PAPERS["zz_boom"]
    assert not os.listdir(tmp_path / "theorybench-report")


def test_new_report_dir_names(tmp_path):
    now = datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    a = new_report_dir(tmp_path, "EP-1", now)
    b = new_report_dir(tmp_path, "EP-1", now)
    assert os.path.basename(a) == "20260102T030405Z-EP-1" and os.path.basename(b) == "20260102T030405Z-EP-1-2"
    assert report_label([]) == "all" and report_label(["EP-1", "a/b"], full=True, control=True) == \
        "EP-1-a_b-full-control"
