"""Claims and verdicts.

A :class:`Claim` names its paper and theorem/figure, states its prediction, and has a ``check``
function ``check(size, control) -> Evidence``: ``size`` is ``"quick"`` (CI) or ``"full"`` (the paper's
size); ``control=True`` runs the claim's negative control, a setting where the prediction must not
hold, so the same check must report FAIL there. Each claim declares its expected verdict: PASS
normally, FAIL (with the reason) when the paper's claim honestly does not hold on our instance.

Papers register themselves with :func:`register_paper`; the engine discovers them through the
``theorybench.papers`` entry-point group, never by name."""
from dataclasses import dataclass, field
from importlib import metadata
import time

from .errors import TheoryBenchError, unknown

PASS, FAIL = "PASS", "FAIL"


KINDS = ("exponent", "ratio", "count", "fraction", "value", "round", "rate", "difference")
RULES = {
    "abs": "|measured - predicted| <= tolerance",
    "le": "measured <= predicted",
    "lt": "measured < predicted",
    "ge": "measured >= predicted",
    "gt": "measured > predicted",
    "in": "predicted[0] <= measured <= predicted[1] (None: unbounded side)",
    "eq": "measured == predicted",
    "ci_not_above": "ci[0] <= predicted + tolerance (a finite measured whose interval is not entirely above)",
    "ci_not_below": "ci[1] >= predicted - tolerance (a finite measured whose interval is not entirely below)",
}


def _number_or_list(v, name, allow_none=True):
    """A float, or a (nested) list of floats, from a number or array; ``None`` allowed when ``allow_none``."""
    import numpy as np
    if v is None:
        if allow_none:
            return None
        raise TheoryBenchError(f"parameter {name!r} of num() must be a number, got None")
    if isinstance(v, (bool, np.bool_)):
        return float(v)
    if isinstance(v, (list, tuple)) and any(x is None for x in v):  # an interval with an open side
        return [_number_or_list(x, name) for x in v]
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise TheoryBenchError(f"parameter {name!r} of num() must be a number or numbers, got {v!r:.200}")
    return float(a) if a.ndim == 0 else a.tolist()


def num(measured, predicted=None, tolerance=None, *, kind="value", rule=None, ci=None, censored=0, note=""):
    """One numeric quantity of an :class:`Evidence` (an entry of ``Evidence.numbers``), as a plain dict:

    ``measured`` (a float or a list of floats, e.g. one per seed or per grid point), ``predicted`` (a
    float, or ``[lo, hi]`` for ``rule="in"``, ``None`` for an open side), ``tolerance`` (a float),
    ``kind`` (one of :data:`KINDS`: what the number is), ``ci`` (``[lo, hi]``, a confidence interval of
    ``measured``), ``rule`` (one of :data:`RULES`: the comparison the check makes, applied to every
    element of ``measured``; only given where that comparison is one of the verdict's conditions, so a
    PASS implies it holds), ``censored`` (how many seeds of a fit never reached their target: a fit with
    censored seeds fails a ``ci_*`` rule, as :func:`theorybench.scaling.no_worse_than` does) and a short
    ``note``. The numbers come from the check's computation."""
    if kind not in KINDS:
        raise TheoryBenchError(f"parameter 'kind' of num() must be one of {', '.join(KINDS)}, got {kind!r:.100}")
    if rule is not None and rule not in RULES:
        raise TheoryBenchError(f"parameter 'rule' of num() must be one of {', '.join(RULES)}, got {rule!r:.100}")
    if rule in ("abs", "ci_not_above", "ci_not_below") and (predicted is None or tolerance is None):
        raise TheoryBenchError(f"num(rule={rule!r}) needs 'predicted' and 'tolerance'")
    if rule in ("ci_not_above", "ci_not_below") and ci is None:
        raise TheoryBenchError(f"num(rule={rule!r}) needs 'ci'")
    d = {"measured": _number_or_list(measured, "measured", allow_none=False), "kind": kind}
    for k, v in (("predicted", predicted), ("tolerance", tolerance), ("ci", ci)):
        if v is not None:
            d[k] = _number_or_list(v, k)
    if rule is not None:
        d["rule"] = rule
    if censored:
        d["censored"] = int(censored)
    if note:
        d["note"] = str(note)
    return d


def num_fit(fit, predicted, tolerance, worse="above", *, note=""):
    """:func:`num` of a fitted exponent judged by :func:`theorybench.scaling.no_worse_than`: ``fit`` is
    its dict (``slope``, ``lo``, ``hi``, optionally ``censored``); ``worse="above"``: the interval must not
    lie entirely above ``predicted + tolerance``; ``"below"``: not entirely below ``predicted - tolerance``."""
    if worse not in ("above", "below"):
        raise TheoryBenchError(f"parameter 'worse' must be 'above' or 'below', got {worse!r:.100}")
    return num(fit["slope"], predicted, tolerance, kind="exponent", ci=[fit["lo"], fit["hi"]],
               rule="ci_not_above" if worse == "above" else "ci_not_below", censored=fit.get("censored", 0),
               note=note)


def _flat(v):
    if isinstance(v, list):
        return [x for e in v for x in _flat(e)]
    return [v]


def rule_holds(q):
    """Whether the quantity ``q`` (a :func:`num` dict) satisfies its ``rule`` (every element of a list);
    ``None`` when it has no rule."""
    rule = q.get("rule")
    if rule is None:
        return None
    p, tol = q.get("predicted"), q.get("tolerance")
    ms = _flat(q["measured"])
    if rule in ("ci_not_above", "ci_not_below"):
        import math
        lo, hi = q["ci"]
        if q.get("censored", 0) or not all(m is not None and math.isfinite(m) for m in ms):
            return False
        return lo <= p + tol if rule == "ci_not_above" else hi >= p - tol
    if rule == "in":
        lo, hi = p
        return all((lo is None or lo <= m) and (hi is None or m <= hi) for m in ms)
    ps = _flat(p) if isinstance(p, list) else [p] * len(ms)
    if len(ps) != len(ms):
        raise TheoryBenchError(f"rule {rule!r}: {len(ms)} measured values but {len(ps)} predicted")
    tests = {"abs": lambda m, p: abs(m - p) <= tol, "le": lambda m, p: m <= p, "lt": lambda m, p: m < p,
             "ge": lambda m, p: m >= p, "gt": lambda m, p: m > p, "eq": lambda m, p: m == p}[rule]
    return all(tests(m, pp) for m, pp in zip(ms, ps))


@dataclass
class Evidence:
    """What a check measured. ``measured``/``predicted``/``tolerance`` are short texts for the table;
    ``numbers`` maps a quantity's name to its numbers (:func:`num`: measured, predicted, tolerance,
    kind, rule), so a reader of ``report.json`` or of the store gets numbers without parsing the text;
    ``details`` holds further numbers for the JSON report; ``plots`` maps a figure name to ``draw(fig)``."""
    verdict: str
    measured: str
    predicted: str
    tolerance: str = ""
    why: str = ""
    details: dict = field(default_factory=dict)
    seeds: list = field(default_factory=list)
    plots: dict = field(default_factory=dict)
    numbers: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in (PASS, FAIL):
            raise ValueError(f"verdict must be PASS or FAIL, got {self.verdict!r}")
        if not isinstance(self.numbers, dict) or not all(
                isinstance(k, str) and isinstance(v, dict) and "measured" in v for k, v in self.numbers.items()):
            raise TheoryBenchError("Evidence 'numbers' must map names to num(...) dicts")

    def _repr_html_(self):  # a notebook's summary (verdict, measured, predicted, ...)
        from ._html import evidence_html
        return evidence_html(self)


def verdict(ok):
    return PASS if ok else FAIL


@dataclass
class Claim:
    id: str
    paper: str
    reference: str
    statement: str
    check: object
    control: str
    expected: str = PASS
    expected_reason: str = ""

    def run(self, size="quick", control=False):
        if size not in ("quick", "full"):
            raise ValueError(f"size must be 'quick' or 'full', got {size!r}")
        t0 = time.perf_counter()
        ev = self.check(size=size, control=control)
        return ClaimResult(self, ev, time.perf_counter() - t0, size, control)

    @property
    def expected_for(self):
        return self.expected


@dataclass
class ClaimResult:
    claim: Claim
    evidence: Evidence
    seconds: float
    size: str
    control: bool

    @property
    def expected(self):
        return FAIL if self.control else self.claim.expected

    @property
    def as_expected(self):
        return self.evidence.verdict == self.expected

    def _repr_html_(self):
        from ._html import claim_result_html
        return claim_result_html(self)

    def to_dict(self):
        ev = self.evidence
        return {"id": self.claim.id, "paper": self.claim.paper, "reference": self.claim.reference,
                "statement": self.claim.statement, "control": self.control,
                "control_setting": self.claim.control if self.control else None,
                "size": self.size, "verdict": ev.verdict, "expected": self.expected,
                "expected_reason": self.claim.expected_reason, "as_expected": self.as_expected,
                "measured": ev.measured, "predicted": ev.predicted, "tolerance": ev.tolerance,
                "why": ev.why, "numbers": getattr(ev, "numbers", {}), "details": ev.details, "seeds": ev.seeds,
                "seconds": round(self.seconds, 3)}


@dataclass
class Paper:
    key: str
    title: str
    citation: str
    aliases: tuple = ()
    claims: list = field(default_factory=list)

    def claim(self, id, reference, statement, control, expected=PASS, expected_reason=""):
        """Decorator registering ``check(size, control) -> Evidence`` as claim ``id``."""
        def deco(fn):
            self.claims.append(Claim(id, self.key, reference, statement, fn, control, expected,
                                     expected_reason))
            return fn
        return deco


_PAPERS: dict = {}
_DISCOVERED = False


def register_paper(key, title, citation, aliases=()):
    paper = Paper(key, title, citation, tuple(aliases))
    _PAPERS[key] = paper
    return paper


def papers():
    global _DISCOVERED
    if not _DISCOVERED:
        _DISCOVERED = True
        for ep in metadata.entry_points(group="theorybench.papers"):
            ep.load()
    return dict(_PAPERS)


def all_claims():
    return [c for p in papers().values() for c in p.claims]


def select(selectors=()):
    """Claims matching any selector: a claim id (``EP-1``, case-insensitive), a paper key or alias
    (``episode``: exactly that paper, not ``episode++``), or a prefix of a paper key or alias when it
    names one paper only (an ambiguous prefix is an error listing the matches). No selector: every claim."""
    ps = papers()
    if not selectors:
        return all_claims()
    out = []
    ids = {c.id.lower(): c for c in all_claims()}
    for s in selectors:
        sl = s.lower()
        if sl in ids:
            out.append(ids[sl])
            continue
        hits = [p for p in ps.values() if sl == p.key.lower() or sl in (a.lower() for a in p.aliases)]
        if not hits:
            hits = [p for p in ps.values()
                    if any(n.lower().startswith(sl) for n in (p.key,) + tuple(p.aliases))]
            if len(hits) > 1:
                names = ", ".join(sorted(p.aliases[0] if p.aliases else p.key for p in hits))
                raise TheoryBenchError(f"selector {s!r} is a prefix of several papers ({names}): name one")
        if not hits:
            raise unknown("claim or paper", s, [c.id for c in ids.values()] + list(ps))
        for p in hits:
            out.extend(p.claims)
    return unique_claims(out)


def unique_claims(claims):
    """``claims`` without repeats (by id), in their first order."""
    seen, uniq = set(), []
    for c in claims:
        if c.id not in seen:
            seen.add(c.id)
            uniq.append(c)
    return uniq
