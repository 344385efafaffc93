"""Property test of the DERIVED EP-1 condition at random dyadic points (hypothesis), independent of the
claim's fixed grid."""
from hypothesis import given, settings, strategies as st

import theorybench as tb
from paper_checks.episode_iclr23 import ep1_condition

dyadic = st.integers(min_value=1, max_value=63).map(lambda k: k / 32)


@settings(max_examples=150, deadline=None)
@given(gamma=st.integers(min_value=1, max_value=48).map(lambda k: k / 8), eta=dyadic,
       I=st.integers(min_value=1, max_value=20), convention=st.sampled_from(["step", "grad"]))
def test_local_clip_stuck_iff_condition(gamma, eta, I, convention):
    r = tb.run("two-client-quadratic", "local-clip", problem_settings={"gamma": gamma}, eta=eta, gamma=gamma,
               local_steps=I, convention=convention, rounds=5)
    stuck = bool(abs(r.x).max() <= 1e-12)
    assert stuck == ep1_condition(convention, gamma, eta, I)[0]
