"""Sweeps record sparsely by default, estimate their memory before they start, and keep their axes apart."""
import tracemalloc

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError
from theorybench.runner import (SWEEP_RECORD_POINTS, check_memory, output_bytes, run_batch,
                                sweep_record_schedule)


@pytest.mark.parametrize("rounds", [0, 1, 5, SWEEP_RECORD_POINTS - 1, 500, 10**4, 10**9])
def test_sweep_schedule_is_log_spaced_with_both_ends(rounds):
    rec = sweep_record_schedule(rounds)
    assert rec[0] == 0 and rec[-1] == rounds
    assert np.all(np.diff(rec) > 0)
    assert rec.size <= SWEEP_RECORD_POINTS + 1
    if rounds + 1 <= SWEEP_RECORD_POINTS:
        assert rec.size == rounds + 1  # short horizons: every round


def test_default_sweep_records_the_sparse_schedule():
    sw = tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.02]}, seeds=2, rounds=3000)
    assert np.array_equal(sw.rounds, sweep_record_schedule(3000))
    dense = tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.02]}, seeds=2, rounds=3000,
                     record=np.arange(3001))
    keep = np.isin(dense.rounds, sw.rounds)
    np.testing.assert_array_equal(dense.loss[..., keep], sw.loss)  # same numbers, fewer of them
    np.testing.assert_array_equal(dense.stats["first_below_target"], sw.stats["first_below_target"])


def test_paper_sized_sweep_fits_half_a_gigabyte_by_default():
    """The issue's budget: 10^5 configurations x 500 rounds (d = 1) under 0.5 GB with the default schedule."""
    rec = sweep_record_schedule(500)
    assert output_bytes(10**5, rec.size, 1) < 0.5 * 2**30
    # every round would not fit: the estimate is what refuses it
    with pytest.raises(TheoryBenchError, match="record fewer rounds"):
        check_memory(10**5, 501, 1, max_memory=0.5 * 2**30)


def test_batch_is_refused_before_it_starts():
    with pytest.raises(TheoryBenchError, match="max_memory"):
        tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.02]}, seeds=4, rounds=100,
                 record=np.arange(101), max_memory=1000)


def test_env_limit_is_validated(monkeypatch):
    monkeypatch.setenv("THEORYBENCH_MAX_MEMORY", "lots")
    with pytest.raises(TheoryBenchError, match="THEORYBENCH_MAX_MEMORY"):
        tb.sweep("episode-quartic", "local-clip", seeds=1, rounds=2)
    monkeypatch.setenv("THEORYBENCH_MAX_MEMORY", "100")
    with pytest.raises(TheoryBenchError, match="GiB"):
        tb.sweep("episode-quartic", "local-clip", seeds=4, rounds=50)


def test_peak_memory_is_the_result_not_twice_it():
    """The kernel writes into the result arrays: the traced peak stays near the estimate (not 2x)."""
    n, rounds = 4096, 300
    prob = tb.make_problem("episode-quartic")
    alg = tb.algorithms.get_algorithm("fedavg")
    st = alg.resolve({"local_steps": 1})
    run_batch(alg, [prob] * 2, [st] * 2, [0, 1], 2)  # compiled before tracing
    tracemalloc.start()
    run_batch(alg, [prob] * n, [st] * n, list(range(n)), rounds, record=np.arange(rounds + 1))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    est = output_bytes(n, rounds + 1, prob.dim)
    assert peak < 1.5 * est, (peak, est)


def test_problem_parameter_named_seed_gets_its_own_axis():
    sw = tb.sweep("psd-quadratic", "gd", {"eta": [0.1, 0.2]}, problem_grid={"seed": [0, 1, 2]}, seeds=2, steps=3)
    assert sw.dims == ("problem_seed", "eta", "seed")
    assert sw.loss.shape[:3] == (3, 2, 2)
    # the problem seed changes the instance; the run seed does not touch a deterministic method
    assert not np.allclose(sw.sel("loss", problem_seed=0, eta=0.1, seed=0), sw.sel("loss", problem_seed=1, eta=0.1, seed=0))
    np.testing.assert_array_equal(sw.sel("loss", problem_seed=0, eta=0.1, seed=0),
                                  sw.sel("loss", problem_seed=0, eta=0.1, seed=1))


def test_axis_given_twice_is_refused():
    with pytest.raises(TheoryBenchError, match="collide"):
        tb.sweep("two-client-quadratic", "local-clip", grid={"gamma": [1.0, 2.0]}, tied_grid={"gamma": [1.0, 2.0]},
                 rounds=2)


def test_seed_as_a_grid_axis_is_refused_with_the_fix():
    for kw in ({"grid": {"seed": [0, 1]}}, {"tied_grid": {"seed": [0, 1]}}):
        with pytest.raises(TheoryBenchError, match="seeds axis.*problem_grid"):
            tb.sweep("psd-quadratic", "gd", seeds=2, steps=3, **kw)
