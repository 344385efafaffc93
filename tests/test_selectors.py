"""Claim selectors are exact: a paper key or alias selects that paper only; a prefix only when unique."""
import pytest

from theorybench.claims import papers, select
from theorybench.errors import TheoryBenchError


def _paper_of(claim_id):
    return next(p.key for p in papers().values() if any(c.id == claim_id for c in p.claims))


def test_alias_selects_exactly_its_paper():
    ids = [c.id for c in select(["episode"])]
    assert ids and {_paper_of(i) for i in ids} == {"episode_iclr23"}  # not EPISODE++ (alias episode++)


def test_every_key_and_alias_selects_one_paper():
    for p in papers().values():
        for name in (p.key,) + tuple(p.aliases):
            assert {_paper_of(c.id) for c in select([name])} == {p.key}, name


def test_unique_prefix_selects_and_ambiguous_prefix_lists_matches():
    assert {_paper_of(c.id) for c in select(["pipedr"])} == {"pipedream_delays_arxiv26"}
    with pytest.raises(TheoryBenchError, match="prefix of several papers"):
        select(["l"])


def test_claim_id_is_case_insensitive_and_unknown_names_suggest():
    assert [c.id for c in select(["ep-3"])] == ["EP-3"]
    with pytest.raises(TheoryBenchError, match="did you mean"):
        select(["EP-33"])
