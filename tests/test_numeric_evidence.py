"""Claims carry numbers, not only text: ``Evidence.numbers`` maps a quantity's name to :func:`num`'s dict
(measured, predicted, tolerance, kind, rule, ci). A few fast claims run at quick size (claim and
control): their numbers are finite, agree with the text, agree with the verdict (a PASS satisfies every
rule; for the claims below, whose verdict is exactly their rules, a FAIL breaks one), and reach
``report.json``, the store and ``assert_claim``'s message. A listing test names the claims whose check
builds no numbers (a documented set that may only shrink)."""
import inspect
import json
import math
import os

import pytest

from theorybench.claims import FAIL, PASS, Evidence, all_claims, num, num_fit, rule_holds, select
from theorybench.errors import TheoryBenchError
from theorybench.report import as_json, clean, provenance, write_report
from theorybench.store import ClaimStore

# claims whose verdict is exactly "every rule in Evidence.numbers holds" (fast at quick size), with one
# quantity whose value (formatted as the text formats it) must appear in the measured text
EXACT = {"PD-1": None, "PD-2": ("exponent_S", "{:.3f}"), "LB-B": None, "MU-3": None, "LR-4": ("slope_T", "{:.3f}")}

# claims whose check builds no Evidence.numbers yet: this set may only shrink (remove an id when its
# check gains numbers; never add one)
WITHOUT_NUMBERS = frozenset()


def _flat(v):
    return [x for e in v for x in _flat(e)] if isinstance(v, list) else [v]


@pytest.fixture(scope="module")
def results():
    return {(cid, ctl): select([cid])[0].run("quick", control=ctl) for cid in EXACT for ctl in (False, True)}


# ------------------------------------------------------------------ num() and rule_holds()

def test_num_converts_and_validates():
    import numpy as np
    q = num(np.float64(0.5), [0.4, None], kind="exponent", rule="in", ci=np.array([0.45, 0.55]))
    assert q == {"measured": 0.5, "kind": "exponent", "predicted": [0.4, None], "ci": [0.45, 0.55], "rule": "in"}
    assert type(q["measured"]) is float and rule_holds(q) is True
    assert num(np.arange(3), 2, kind="count", rule="le")["measured"] == [0.0, 1.0, 2.0]
    assert rule_holds(num([1.0, 3.0], [1.0, 2.0], rule="le")) is False
    assert rule_holds(num(1.04, 1.0, 0.05, rule="abs")) and not rule_holds(num(1.06, 1.0, 0.05, rule="abs"))
    assert rule_holds(num(7.0)) is None
    assert rule_holds(num(float("nan"), 1.0, rule="le")) is False
    for bad, match in ((dict(kind="speed"), "'kind'"), (dict(rule="near"), "'rule'"),
                       (dict(rule="abs", predicted=1.0), "tolerance"), (dict(measured=None), "'measured'"),
                       (dict(measured="fast"), "'measured'")):
        args = {"measured": 1.0, **bad}
        with pytest.raises(TheoryBenchError, match=match):
            num(args.pop("measured"), **args)
    with pytest.raises(TheoryBenchError, match="numbers"):
        Evidence(PASS, "m", "p", numbers={"x": 1.0})


def test_num_fit_one_sided_and_censored():
    fit = {"slope": -0.45, "lo": -0.55, "hi": -0.35}
    assert rule_holds(num_fit(fit, -0.5, 0.1, "above"))           # -0.55 <= -0.4: not entirely above
    assert not rule_holds(num_fit(dict(fit, lo=-0.3), -0.5, 0.1, "above"))
    assert not rule_holds(num_fit(dict(fit, censored=1), -0.5, 0.1, "above"))  # as no_worse_than
    assert rule_holds(num_fit({"slope": -3.5, "lo": -3.9, "hi": -3.05}, -3.0, 0.1, "below"))
    with pytest.raises(TheoryBenchError, match="'worse'"):
        num_fit(fit, -0.5, 0.1, "sideways")


# ------------------------------------------------------------------ real claims at quick size

@pytest.mark.parametrize("control", [False, True], ids=["claim", "control"])
@pytest.mark.parametrize("cid", sorted(EXACT))
def test_numbers_are_finite_and_agree_with_the_verdict(results, cid, control):
    ev = results[(cid, control)].evidence
    assert ev.numbers, f"{cid}: no numbers"
    for name, q in ev.numbers.items():
        values = _flat(q["measured"])
        assert values and all(isinstance(v, float) and math.isfinite(v) for v in values), (cid, name, q)
        for key in ("predicted", "tolerance", "ci"):
            if key in q:
                assert all(v is None or isinstance(v, float) for v in _flat(q[key])), (cid, name, key)
    holds = {name: rule_holds(q) for name, q in ev.numbers.items()}
    ruled = [h for h in holds.values() if h is not None]
    assert ruled, f"{cid}: no quantity with a rule"
    assert (ev.verdict == PASS) == all(ruled), (cid, control, ev.verdict, holds)
    assert ev.verdict == (FAIL if control else PASS)


@pytest.mark.parametrize("cid", sorted(c for c, v in EXACT.items() if v))
def test_numbers_match_the_text(results, cid):
    name, fmt = EXACT[cid]
    ev = results[(cid, False)].evidence
    assert fmt.format(ev.numbers[name]["measured"]) in ev.measured


def test_report_json_and_store_carry_the_numbers(results, tmp_path):
    rs = [results[(cid, False)] for cid in sorted(EXACT)] + [results[("PD-2", True)]]
    write_report(rs, str(tmp_path / "report"), provenance(), with_figures=False)
    with open(tmp_path / "report" / "report.json") as fh:
        records = json.load(fh)
    assert [r["id"] for r in records] == [r.claim.id for r in rs]
    for rec, r in zip(records, rs):
        assert rec["numbers"] == clean(r.evidence.numbers) and rec["numbers"]
        assert rec["verdict"] == r.evidence.verdict
    assert as_json(rs, {})[0]["numbers"] is rs[0].evidence.numbers
    store = ClaimStore(str(tmp_path / "store"))
    r = results[("PD-2", False)]
    assert store.numbers(r.claim, "quick") is None
    assert os.path.exists(store.save(r))
    assert store.numbers(r.claim, "quick") == r.evidence.numbers
    assert store.numbers(r.claim, "quick", control=True) is None


def test_assert_claim_message_shows_the_numbers(results):
    from theorybench.testing import claim_message
    r = results[("PD-2", True)]  # the control FAILs: its message, as assert_claim would raise it
    text = claim_message(r, PASS)
    assert "numbers:" in text and "exponent_S = " in text and "[fails]" in text


# ------------------------------------------------------------------ which claims still lack numbers

def test_listing_claims_without_numbers():
    """Static: a claim's check carries numbers when it passes ``numbers=`` to its Evidence."""
    claims = all_claims()
    ids = {c.id for c in claims}
    lacking = sorted(c.id for c in claims if "numbers=" not in inspect.getsource(c.check))
    print(f"claims without numeric evidence: {lacking or 'none'} ({len(ids) - len(lacking)}/{len(ids)} carry numbers)")
    assert WITHOUT_NUMBERS <= ids, f"unknown ids in WITHOUT_NUMBERS: {sorted(WITHOUT_NUMBERS - ids)}"
    assert set(lacking) <= WITHOUT_NUMBERS, f"claims without numbers (add them, not to the list): {lacking}"
    assert set(lacking) == WITHOUT_NUMBERS, (f"these claims now carry numbers: remove them from WITHOUT_NUMBERS: "
                                             f"{sorted(WITHOUT_NUMBERS - set(lacking))}")
