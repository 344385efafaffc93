"""Reports of claim checks: a terminal table, a Markdown report with figures, JSON, provenance.

Files are written atomically (see :func:`write_report`): a killed `check` leaves old or new complete
files, never a partial one."""
import datetime
import json
import os
import platform
import subprocess
import sys
import time
from importlib import metadata


def provenance():
    """Git commit, package versions, thread count, host: attached to every report."""
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True,
                                timeout=5).stdout.strip() or None
        dirty = bool(subprocess.run(["git", "status", "--porcelain"], cwd=here, capture_output=True,
                                    text=True, timeout=5).stdout.strip())
    except (OSError, subprocess.SubprocessError):
        commit, dirty = None, None
    import numba
    versions = {"python": platform.python_version()}
    for pkg in ("theorybench", "numpy", "numba", "scipy", "sympy", "matplotlib"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {"commit": commit, "dirty": dirty, "versions": versions, "threads": numba.get_num_threads(),
            "machine": platform.machine(), "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


class Progress:
    """A one-line progress bar on stderr (one line per item when stderr is not a terminal)."""

    def __init__(self, total, enabled=True):
        self.total, self.done, self.enabled = total, 0, enabled
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def start(self, label):
        if self.enabled and self.tty:
            bar = "#" * int(20 * self.done / max(self.total, 1))
            sys.stderr.write(f"\r[{bar:<20}] {self.done}/{self.total} {label:<28}")
            sys.stderr.flush()

    def finish(self, label, status):
        self.done += 1
        if not self.enabled:
            return
        if self.tty:
            self.start(label)
            if self.done == self.total:
                sys.stderr.write("\r" + " " * 60 + "\r")
        else:
            sys.stderr.write(f"[{self.done}/{self.total}] {label}: {status} "
                             f"({time.perf_counter() - self.t0:.1f} s)\n")
        sys.stderr.flush()


def _cut(s, n):
    s = str(s)
    return s if len(s) <= n else s[: n - 1] + "…"


def table(results):
    """The terminal table: claim, reference, measured, predicted, verdict, seconds."""
    rows = [("claim", "reference", "measured", "predicted", "verdict", "s")]
    for r in results:
        v = r.evidence.verdict + ("" if r.as_expected else " (UNEXPECTED)")
        if r.expected == "FAIL" and r.as_expected:
            v += " (expected)"
        cid = r.claim.id + (" [control]" if r.control else "")
        rows.append((cid, _cut(r.claim.reference, 28), _cut(r.evidence.measured, 60),
                     _cut(r.evidence.predicted, 44), v, f"{r.seconds:.1f}"))
    widths = [max(len(row[k]) for row in rows) for k in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def save_plots(results, outdir):
    """Draw every evidence plot into ``outdir/<paper>/<name>.{png,pdf}``; return the PNG paths."""
    from .plotting import save
    written = {}
    for r in results:
        for name, draw in r.evidence.plots.items():
            stem = os.path.join(outdir, r.claim.paper, name + ("_control" if r.control else ""))
            save(draw(), stem)
            written.setdefault(r.claim.id, []).append(stem + ".png")
    return written


def markdown(results, prov, figures, outdir):
    lines = ["# theorybench report", "",
             f"commit `{prov['commit']}`{' (dirty)' if prov['dirty'] else ''}, threads {prov['threads']}, "
             f"{prov['date']}; " + ", ".join(f"{k} {v}" for k, v in prov["versions"].items()), ""]
    if prov.get("interrupted"):
        lines += [f"**Interrupted**: {prov['interrupted']}.", ""]
    lines += ["| claim | paper | reference | measured | predicted | verdict | expected | s |",
              "|---|---|---|---|---|---|---|---|"]
    cell = lambda t: str(t).replace("|", "\\|")  # noqa: E731  (a pipe would end the table cell)
    for r in results:
        e = r.evidence
        lines.append(f"| {r.claim.id}{' (control)' if r.control else ''} | {r.claim.paper} | {cell(r.claim.reference)} | "
                     f"{cell(e.measured)} | {cell(e.predicted)} | **{e.verdict}** | {r.expected} | {r.seconds:.1f} |")
    for r in results:
        e = r.evidence
        lines += ["", f"## {r.claim.id}{' (negative control)' if r.control else ''}: {r.claim.reference}", "",
                  r.claim.statement, "",
                  f"- verdict: **{e.verdict}** (expected {r.expected})" +
                  (f"; {r.claim.expected_reason}" if r.claim.expected_reason else ""),
                  f"- measured: {e.measured}", f"- predicted: {e.predicted}",
                  f"- tolerance: {e.tolerance}", f"- why: {e.why}", f"- seeds: {e.seeds}",
                  f"- size: {r.size}; {r.seconds:.2f} s"]
        if r.control:
            lines.append(f"- control setting: {r.claim.control}")
        for png in figures.get(r.claim.id, []):
            if (r.control and "_control" in png) or (not r.control and "_control" not in png):
                lines += ["", f"![{os.path.basename(png)}]({os.path.relpath(png, outdir)})"]
    return "\n".join(lines) + "\n"


REPORT_FILES = ("report.md", "report.json")
DEFAULT_REPORT_ROOT = "theorybench-report"


def holds_report(folder):
    """Whether ``folder`` already holds a report (``report.md`` or ``report.json``)."""
    return any(os.path.exists(os.path.join(folder, f)) for f in REPORT_FILES)


def report_label(selectors=(), full=False, control=False):
    """A folder-name label for a run: the selectors (``all`` when none), then ``full`` / ``control``."""
    import re
    parts = [re.sub(r"[^A-Za-z0-9_.+-]", "_", s) for s in selectors] or ["all"]
    label = "-".join(parts)
    if len(label) > 60:
        label = label[:60] + f"-and-{len(parts)}"
    return label + ("-full" if full else "") + ("-control" if control else "")


def new_report_dir(root=DEFAULT_REPORT_ROOT, label="all", now=None):
    """Create and return a new folder ``root/<UTC time>-<label>`` (``-2``, ``-3`` ... appended when that
    name is taken): each report gets its own folder, and ``os.mkdir`` claims it, so two runs started in
    the same second never share one."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    base = os.path.join(root, f"{now.strftime('%Y%m%dT%H%M%SZ')}-{label}")
    os.makedirs(root, exist_ok=True)
    for k in range(1, 10**4):
        path = base if k == 1 else f"{base}-{k}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue
    raise FileExistsError(f"no free report folder name under {base!r}")


def write_report(results, outdir, prov, with_figures=True):
    """Write ``outdir/figures/<paper>/*.{png,pdf}``, then ``outdir/report.md``, then ``outdir/report.json``;
    return the path of ``report.md``.

    Every file is written atomically (:mod:`theorybench.atomic_io`): each one is either its old complete
    version or its new one. A run killed during this write phase can leave a mix of complete files (new
    figures beside the previous ``report.md``, or a new ``report.md`` beside the previous
    ``report.json``) and hidden ``.<name>.tmp-*`` files, but no empty or truncated report, figure or PDF.
    ``prov["interrupted"]`` (set by ``theorybench check`` on Ctrl-C: how many claims finished) is shown
    at the top of ``report.md`` and kept in each JSON record's provenance."""
    from .atomic_io import atomic_write_text
    os.makedirs(outdir, exist_ok=True)
    figures = save_plots(results, os.path.join(outdir, "figures")) if with_figures else {}
    atomic_write_text(os.path.join(outdir, "report.md"), markdown(results, prov, figures, outdir))
    atomic_write_text(os.path.join(outdir, "report.json"), dumps(as_json(results, prov)))
    return os.path.join(outdir, "report.md")


def as_json(results, prov):
    out = []
    for r in results:
        d = r.to_dict()
        d["provenance"] = prov
        out.append(d)
    return out


def clean(obj):
    """JSON-safe copy: numpy scalars and arrays to Python, non-finite floats to None."""
    import math
    import numpy as np
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return clean(obj.tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def dumps(obj):
    return json.dumps(clean(obj), indent=1, allow_nan=False)
