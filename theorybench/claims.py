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


@dataclass
class Evidence:
    """What a check measured. ``measured``/``predicted``/``tolerance`` are short texts for the table;
    ``details`` holds numbers for the JSON report; ``plots`` maps a figure name to ``draw(fig)``."""
    verdict: str
    measured: str
    predicted: str
    tolerance: str = ""
    why: str = ""
    details: dict = field(default_factory=dict)
    seeds: list = field(default_factory=list)
    plots: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.verdict not in (PASS, FAIL):
            raise ValueError(f"verdict must be PASS or FAIL, got {self.verdict!r}")

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
                "why": ev.why, "details": ev.details, "seeds": ev.seeds,
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
    seen, uniq = set(), []
    for c in out:
        if c.id not in seen:
            seen.add(c.id)
            uniq.append(c)
    return uniq
