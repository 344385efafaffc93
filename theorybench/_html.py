"""Small text and HTML summaries for notebooks (``__repr__`` / ``_repr_html_`` of results, sweeps and
claim evidence): a few lines each, never whole arrays."""
import html
import math
import numbers

import numpy as np

VERDICT_COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e"}


def num(v):
    """A number in 4 significant digits (``inf``, ``nan`` as such); other values as ``str``."""
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, numbers.Integral):
        return str(int(v))
    if isinstance(v, numbers.Real):
        v = float(v)
        return f"{v:.4g}" if math.isfinite(v) else str(v)
    return str(v)


def settings_text(d, skip_none=True):
    """``{'eta': 0.5, 'convention': 'step'}`` as ``eta=0.5, convention=step`` (``None``, i.e. auto, left out)."""
    return ", ".join(f"{k}={num(v)}" for k, v in d.items() if not (skip_none and v is None))


def values_text(values, most=6):
    """An axis' values, shortened: ``0.25, 0.5, 1, ..., 4`` (first and last kept)."""
    vals = [num(v) for v in values]
    if len(vals) > most:
        vals = vals[: most - 2] + ["…", vals[-1]]
    return ", ".join(vals)


def table(title, rows, color=None):
    """An HTML table: a bold title line, then ``(label, value)`` rows; every text is escaped."""
    head = html.escape(title)
    if color:
        head = f'<span style="color:{color}">{head}</span>'
    body = "".join(
        f'<tr><th style="text-align:left;padding:1px 8px 1px 0">{html.escape(str(k))}</th>'
        f'<td style="text-align:left;padding:1px 0">{html.escape(str(v))}</td></tr>'
        for k, v in rows if v not in (None, ""))
    return (f'<div class="theorybench-repr"><b>{head}</b>'
            f'<table style="border-collapse:collapse;font-size:90%">{body}</table></div>')


def evidence_html(ev, title="Evidence"):
    """``Evidence``: verdict (coloured), measured, predicted, tolerance, why, seeds, figure names."""
    rows = [("measured", ev.measured), ("predicted", ev.predicted), ("tolerance", ev.tolerance),
            ("why", ev.why), ("seeds", ", ".join(map(str, ev.seeds)) if ev.seeds else ""),
            ("figures", ", ".join(ev.plots) if ev.plots else "")]
    return table(f"{title}: {ev.verdict}", rows, VERDICT_COLORS.get(ev.verdict))


def claim_result_html(r):
    """``ClaimResult``: the claim's id and reference, its statement, then its evidence."""
    ev = r.evidence
    head = f"{r.claim.id}{' [control]' if r.control else ''}: {ev.verdict} (expected {r.expected})"
    rows = [("reference", r.claim.reference), ("statement", r.claim.statement),
            ("measured", ev.measured), ("predicted", ev.predicted), ("tolerance", ev.tolerance),
            ("why", ev.why), ("size", f"{r.size}, {r.seconds:.2f} s")]
    return table(head, rows, VERDICT_COLORS.get(ev.verdict) if r.as_expected else VERDICT_COLORS["FAIL"])
