"""Reports of claim checks: a terminal table, a Markdown report with figures, JSON, provenance.

Files are written atomically (see :func:`write_report`): a killed `check` leaves old or new complete
files, never a partial one."""
import datetime
import json
import os
import platform
import subprocess
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
    """The progress of a list of claims: a bar with elapsed time and ETA on stderr (a terminal only; see
    :mod:`theorybench.progress`), the claim under way, and "compiling kernels" while Numba compiles.
    ``compile_seconds(label)``: the compile time inside that claim (Numba's compile events).
    Use as a context manager, or call :meth:`close`."""

    def __init__(self, total, enabled=True, desc="claims"):
        from .progress import Bar
        self.total, self.done = total, 0
        self.bar = Bar(total, desc=desc, unit="claim", enabled=None if enabled else False).__enter__()
        self._c0, self._compile = 0.0, {}

    def start(self, label):
        self._c0 = self.bar.compile.now()
        self.bar.label(label)

    def finish(self, label, status, compile_seconds=None):
        """``compile_seconds``: measured elsewhere (a worker process); else this process's compile time since
        :meth:`start`."""
        self.done += 1
        c = self.bar.compile.now() - self._c0 if compile_seconds is None else compile_seconds
        self._compile[label] = c
        if c >= 1.0:
            self.bar.write(f"{label}: {status}; its time includes {c:.1f} s compiling kernels "
                           "(cached on disk: later runs skip it)")
        self.bar.update(1)

    def compile_seconds(self, label):
        return self._compile.get(label, 0.0)

    def close(self):
        self.bar.__exit__(None, None, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


TABLE_WIDTH = 100


def _wrap(text, width, first="", rest=""):
    """``text`` wrapped to ``width`` columns, never cut (a word longer than a line is split across lines);
    ``first``/``rest``: the indent of the first and of the following lines."""
    import textwrap
    return textwrap.wrap(str(text), width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=True, break_on_hyphens=False) or [first]


def table(results, width=TABLE_WIDTH):
    """The terminal table, at most ``width`` columns: claim, verdict, seconds, reference on one line;
    measured and predicted on the lines below, wrapped, never truncated (ids and verdicts whole).
    A time marked ``*`` includes compiling kernels (the first claim to need them pays; the cache
    serves later runs)."""
    head = []
    for r in results:
        v = r.evidence.verdict + ("" if r.as_expected else " (UNEXPECTED)")
        if r.expected == "FAIL" and r.as_expected:
            v += " (expected)"
        cid = r.claim.id + (" [control]" if r.control else "")
        c = getattr(r, "compile_seconds", 0.0)
        head.append((cid, v, f"{r.seconds:.1f}" + ("*" if c >= 1.0 else ""), r))
    wid = max([len("claim")] + [len(h[0]) for h in head])
    wv = max([len("verdict")] + [len(h[1]) for h in head])
    ws = max([len("s")] + [len(h[2]) for h in head])
    wref = max(width - wid - wv - ws - 6, 20)
    line = lambda a, b, c, d: f"{a:<{wid}}  {b:<{wv}}  {c:>{ws}}  {d}".rstrip()  # noqa: E731
    out = [line("claim", "verdict", "s", "reference"), line("-" * wid, "-" * wv, "-" * ws, "-" * wref)]
    indent = " " * 4
    compiled = []
    for cid, v, sec, r in head:
        ref = _wrap(r.claim.reference, wref)
        out.append(line(cid, v, sec, ref[0]))
        out += [line("", "", "", more) for more in ref[1:]]
        for key, text in (("measured", r.evidence.measured), ("predicted", r.evidence.predicted)):
            out += _wrap(f"{key}: {text}", width, indent, indent + "  ")
        if sec.endswith("*"):
            compiled.append(f"{cid} {getattr(r, 'compile_seconds', 0.0):.1f} s")
    if compiled:
        out += [""] + _wrap("* includes compiling kernels (" + ", ".join(compiled) + "); they are cached on "
                            "disk, so later runs skip it", width)
    return "\n".join(out)


def save_plots(results, outdir, progress=None):
    """Draw every evidence plot into ``outdir/<paper>/<name>.{png,pdf}``; return the PNG paths.
    progress: a bar "drawing figures" (``None``: when stderr is a terminal)."""
    from .plotting import render
    from .progress import Bar
    written = {}
    n = sum(len(r.evidence.plots) for r in results)
    with Bar(n, desc="drawing figures", unit="fig", enabled=progress if n else False) as bar:
        for r in results:
            for name, draw in r.evidence.plots.items():
                bar.label(f"{r.claim.id}: {name}")
                stem = os.path.join(outdir, r.claim.paper, name + ("_control" if r.control else ""))
                render(draw, stem)  # drawn off screen in the paper style (rcParams left as they were)
                written.setdefault(r.claim.id, []).append(stem + ".png")
                bar.update(1)
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
        d["compile_seconds"] = round(getattr(r, "compile_seconds", 0.0), 3)  # part of "seconds"
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
