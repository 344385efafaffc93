"""The project's own documentation: ``docs/claims.md`` is what the registry says (regenerated and
compared, so it cannot drift), ``docs/conventions.md`` exists with the sections the code cites, and no
file of the repository cites a specification outside it."""
import os
import re
import subprocess

from theorybench import cli
from theorybench.claims_doc import DOC_PATH, claims_markdown, project_papers

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTSIDE_SPEC = "CLAIMS" + ".md"  # spelled in two parts so that this file does not cite it either


def test_claims_doc_is_up_to_date():
    with open(os.path.join(ROOT, DOC_PATH), encoding="utf-8") as fh:
        committed = fh.read()
    assert committed == claims_markdown(), (
        f"{DOC_PATH} differs from the claims registered in paper_checks/: regenerate it with "
        f"`theorybench list --markdown --out {DOC_PATH}`")


def test_claims_doc_lists_every_claim():
    text = claims_markdown()
    papers = project_papers()
    assert papers, "no paper of this project is registered"
    for p in papers:
        assert f"## {p.key}" in text
        for c in p.claims:
            assert f"### {c.id}: " in text
    for c in (c for p in papers for c in p.claims if c.expected == "FAIL"):
        block = text.split(f"### {c.id}: ", 1)[1].split("\n### ", 1)[0]
        assert "Expected verdict: FAIL." in block and c.expected_reason.split()[0] in block


def test_list_markdown_cli(capsys, tmp_path):
    assert cli.main(["list", "episode", "LR-5", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "## episode_iclr23" in out and "### EP-1: " in out and "### LR-5: " in out
    assert "### LR-6: " not in out and "## muon" not in out
    dest = tmp_path / "claims.md"
    assert cli.main(["list", "--markdown", "--out", str(dest)]) == 0
    assert dest.read_text(encoding="utf-8") == claims_markdown()


def test_list_markdown_bad_input(capsys, tmp_path):
    assert cli.main(["list", "nope-paper", "--markdown"]) == 2
    assert "nope-paper" in capsys.readouterr().err
    assert cli.main(["list", "--out", str(tmp_path / "x.md")]) == 2
    assert "--markdown" in capsys.readouterr().err
    assert cli.main(["list", "--markdown", "--out", str(tmp_path / "missing" / "x.md")]) == 2
    assert "--out" in capsys.readouterr().err
    assert cli.main(["list", "episode", "muon"]) == 2
    assert "--markdown" in capsys.readouterr().err


def test_markdown_shows_math_literally():
    from theorybench.claims_doc import _md
    assert _md("<w_t, w*> >= 0, x_r <= 1") == r"\<w_t, w\*> >= 0, x_r <= 1"


def test_conventions_doc_has_the_cited_sections():
    with open(os.path.join(ROOT, "docs", "conventions.md"), encoding="utf-8") as fh:
        text = fh.read()
    headings = set(re.findall(r"^#+ (.+)$", text, flags=re.M))
    cited = set()
    for path in _repository_files():
        if path.endswith((".py", ".md")):
            with open(os.path.join(ROOT, path), encoding="utf-8", errors="replace") as fh:
                cited.update(re.findall(r'docs/conventions\.md,?\s+section\s+"([^"]+)"', fh.read()))
    missing = sorted({" ".join(c.split()) for c in cited} - headings)
    assert not missing, f"docs/conventions.md has no section named {missing}"


def _repository_files():
    """The repository's files: tracked and untracked-but-not-ignored (git), else a walk that skips
    hidden folders and build outputs."""
    try:
        out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                             cwd=ROOT, capture_output=True, check=True).stdout
        return [p for p in out.decode("utf-8", "replace").split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for folder, dirs, names in os.walk(ROOT):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d != "__pycache__" and not d.endswith(".egg-info")]
            files += [os.path.relpath(os.path.join(folder, n), ROOT) for n in names]
        return files


def test_no_citation_of_a_file_outside_the_repository():
    hits = []
    for path in _repository_files():
        try:
            with open(os.path.join(ROOT, path), "rb") as fh:
                data = fh.read()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # binary (figures)
        for n, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if OUTSIDE_SPEC in line:
                hits.append(f"{path}:{n}: {line.strip()[:100]}")
    assert not hits, (f"the repository cites {OUTSIDE_SPEC}, a file outside it; cite the paper or docs/conventions.md:\n"
                      + "\n".join(hits))
