"""The claims as a Markdown document: ``theorybench list [PAPER ...] --markdown [--out FILE]``.

Per paper (as registered with :func:`theorybench.claims.register_paper`): its title, citation, key and
aliases; per claim: its id, reference in the paper (theorem, lemma, figure), statement, negative control,
expected verdict (with the reason of an expected FAIL) and, where the claim declares them, its quick and
full sizes (an attribute ``sizes``: a mapping ``{"quick": text, "full": text}``).

Without a selector the document covers the papers this project ships (:func:`project_papers`); another
installed package's papers are named as selectors (their keys or aliases). ``docs/claims.md`` is the
document without a selector, written by ``theorybench list --markdown --out docs/claims.md``; a test regenerates it and compares, so it never
drifts from the registry. The statements live in the paper modules (``paper_checks/``), nowhere else."""
import re
import sys
from importlib import metadata

from .claims import FAIL, papers, select

DOC_PATH = "docs/claims.md"
_PROJECT = "theorybench"  # the distribution whose entry points name this project's own papers

# characters that Markdown could read as markup: backslash, backtick, asterisk, "](" (a link), an
# underscore not inside a word, and "<" opening what looks like an HTML tag ("<w, z_i>"; "<=" is text)
_ESCAPE = re.compile(r"([\\`*]|\](?=\()|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])|<(?=[A-Za-z/!?]))")


def _md(text):
    """One line of inline Markdown showing ``text`` literally (math such as ``<w, z_i>`` or ``w*`` stays
    text, not HTML or emphasis)."""
    return _ESCAPE.sub(r"\\\1", " ".join(str(text).split()))


def _natural(claim_id):
    """``EP-10`` after ``EP-9``."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", claim_id)]


def project_papers():
    """The papers registered by this project's own ``theorybench.papers`` entry points (not those of
    other installed packages, nor ones registered in the running process by a test or a notebook),
    sorted by key."""
    everything = papers()
    modules = {ep.module for ep in metadata.entry_points(group="theorybench.papers")
               if ep.dist is not None and ep.dist.name == _PROJECT}
    held = {id(v) for m in modules if m in sys.modules for v in vars(sys.modules[m]).values()}
    own = [p for p in everything.values()
           if id(p) in held or (p.claims and all(getattr(c.check, "__module__", None) in modules
                                                 for c in p.claims))]
    return sorted(own, key=lambda p: p.key)


def _grouped(selectors):
    """``[(paper, [claims])]`` for the selectors (claim ids, paper keys or aliases), papers by key."""
    if not selectors:
        return [(p, list(p.claims)) for p in project_papers()]
    by_key = papers()
    chosen = {}
    for c in select(selectors):
        chosen.setdefault(c.paper, []).append(c)
    return [(by_key[k], chosen[k]) for k in sorted(chosen)]


def _claim_lines(c):
    out = [f"### {c.id}: {_md(c.reference)}", "",
           f"- **Statement.** {_md(c.statement)}",
           f"- **Negative control** (must FAIL): {_md(c.control)}"]
    if c.expected == FAIL:
        out.append(f"- **Expected verdict: FAIL.** {_md(c.expected_reason)}")
    else:
        out.append(f"- **Expected verdict:** {c.expected}")
    sizes = getattr(c, "sizes", None) or {}
    for size in ("quick", "full"):
        if sizes.get(size):
            out.append(f"- **{size.capitalize()} size:** {_md(sizes[size])}")
    return out + [""]


def claims_markdown(selectors=()):
    """The Markdown text for the selected claims (no selector: every paper of this project)."""
    lines = ["# Claims checked by theorybench", "",
             "Generated from the paper modules (`paper_checks/`) by `theorybench list --markdown --out "
             "docs/claims.md`: do not edit by hand (`tests/test_docs.py` fails when this file and the registry "
             "differ). The conventions the checks rely on (clipping conventions, noise models, round counting) "
             "and the constructions that are ours (DERIVED), not the papers', are in `docs/conventions.md`.",
             "",
             "Every claim is a check with a verdict. A claim that honestly does not hold on our instance declares "
             "an expected FAIL with the reason; every claim has a negative control, a setting where its "
             "prediction must not hold, so the same check must report FAIL there. `theorybench check` exits "
             "non-zero only on an unexpected verdict. Run one claim with `theorybench check ID` (`--control`: its "
             "negative control; `--full`: its full size), a paper's with `theorybench check PAPER`.", ""]
    groups = _grouped(list(selectors))
    if not selectors:
        lines += ["| paper | claims | citation |", "|---|---|---|"]
        for p, cs in groups:
            ids = ", ".join(c.id for c in sorted(cs, key=lambda c: _natural(c.id)))
            lines.append(f"| [{p.key}](#{p.key}) | {ids} | {_md(p.citation).replace('|', chr(92) + '|')} |")
        lines.append("")
    for p, cs in groups:
        aliases = ", ".join(f"`{a}`" for a in p.aliases)
        lines += [f"## {p.key}", "", f"**{_md(p.title)}**", "", f"{_md(p.citation)}", "",
                  f"Select with `{p.key}`" + (f" or {aliases}" if aliases else "") + ".", ""]
        for c in sorted(cs, key=lambda c: _natural(c.id)):
            lines += _claim_lines(c)
    return "\n".join(lines).rstrip("\n") + "\n"


def cmd_markdown(selectors, out=None):
    """``theorybench list [SELECTOR ...] --markdown [--out FILE]``: print the document, or write it to
    ``out`` atomically."""
    if out:
        from .params import check_output_file
        check_output_file(out, "--out")
    text = claims_markdown(selectors)
    if out:
        from .atomic_io import atomic_write_text
        atomic_write_text(out, text)
        print(f"wrote {out}")
    else:
        print(text, end="")
    return 0
