"""Every registered claim at quick size: its verdict must be the declared one (an expected FAIL is an
xfail, strict), and its negative control must report FAIL."""
import pytest

from theorybench.claims import FAIL, all_claims

CLAIMS = all_claims()


def _param(c):
    marks = [pytest.mark.xfail(strict=True, reason=c.expected_reason)] if c.expected == FAIL else []
    return pytest.param(c, id=c.id, marks=marks)


def test_claims_are_registered():
    ids = {c.id for c in CLAIMS}
    assert {"EP-1", "EP-2", "EP-3", "EP-4"} <= ids


@pytest.mark.parametrize("claim", [_param(c) for c in CLAIMS])
def test_claim_quick(claim):
    res = claim.run("quick")
    assert res.evidence.verdict == "PASS", f"{claim.id}: {res.evidence.why} (measured {res.evidence.measured})"


@pytest.mark.parametrize("claim", CLAIMS, ids=[c.id for c in CLAIMS])
def test_negative_control_fails(claim):
    res = claim.run("quick", control=True)
    assert res.evidence.verdict == FAIL, f"{claim.id} control passed: {res.evidence.measured}"
    assert res.as_expected
