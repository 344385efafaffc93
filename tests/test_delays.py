"""The PipeDream 1F1B simulator (theorybench.delays) against a hand-worked case, and its CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from theorybench.delays import delay_stats, simulate_1f1b, stale_read_term
from theorybench.errors import TheoryBenchError


def test_hand_worked_S2_M3():
    """S = 2, M = 3, worked by hand from the rules (docstring of theorybench.delays):
    t0: s0 F0 | t1: s0 F1, s1 F0 | t2: s1 B0 (s0 idle: 2 in flight) | t3: s0 B0, s1 F1 | t4: s0 F2, s1 B1 |
    t5: s0 B1, s1 F2 | t6: s1 B2 | t7: s0 B2. Updates in timeline order and their reads:
    B(0,s1)@2 read @1 (0 updates before) -> 0; B(0,s0)@3 read @0 -> 1; B(1,s1)@4 read @3 (1 before) -> 1;
    B(1,s0)@5 read @1 -> 3; B(2,s1)@6 read @5 (3 before) -> 1; B(2,s0)@7 read @4 (2 before) -> 3."""
    sim = simulate_1f1b(2, 3)
    assert sim["ops"] == [(0, 0, "F", 0), (1, 0, "F", 1), (1, 1, "F", 0), (2, 1, "B", 0), (3, 0, "B", 0),
                          (3, 1, "F", 1), (4, 0, "F", 2), (4, 1, "B", 1), (5, 0, "B", 1), (5, 1, "F", 2),
                          (6, 1, "B", 2), (7, 0, "B", 2)]
    np.testing.assert_array_equal(sim["delays"], [0, 1, 1, 3, 1, 3])
    assert sim["makespan"] == 8


@pytest.mark.parametrize("S", [1, 2, 3, 5, 8])
def test_schedule_rules(S):
    sim = simulate_1f1b(S, 4 * S)
    seen = set()
    f, b = {}, {}
    for t, s, kind, mb in sim["ops"]:
        assert (t, s) not in seen  # one op per stage and step
        seen.add((t, s))
        (f if kind == "F" else b)[(s, mb)] = t
    for (s, mb), t in f.items():
        assert s == 0 or f[(s - 1, mb)] < t
    for (s, mb), t in b.items():
        assert f[(s, mb)] < t and (s == S - 1 or b[(s + 1, mb)] < t)
    for s in range(S):  # in-flight limit
        for t in range(sim["makespan"]):
            inflight = sum(1 for (ss, mb), tf in f.items() if ss == s and tf <= t and b[(s, mb)] > t)
            assert inflight <= S
    assert (sim["delays"] >= 0).all()


def test_bad_input():
    with pytest.raises(TheoryBenchError, match="stages"):
        delay_stats(0)


def test_stale_term_linear_formula():
    """On a noise-free linear objective the stale term is gamma^2 ||a||^2 E[tau^2], tau uniform on {0..Delta}."""
    D, g = 20, 0.1
    v = stale_read_term(D, g, sigma=0.0, K=200000)
    assert v == pytest.approx(g * g * D * (2 * D + 1) / 6, rel=0.03)


def test_cli_delays_json():
    out = subprocess.run([sys.executable, "-m", "theorybench.cli", "delays", "--stages", "4", "--json"],
                         capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    assert d["microbatches"] == 40 and {"max_delay", "mean_delay"} <= d.keys()
    assert d["max_delay"] == delay_stats(4)["max_delay"]
