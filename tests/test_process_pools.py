"""Process pools after an in-process run: a spawned pool gives the in-process numbers; a forking
``ProcessPoolExecutor`` is refused with the fix instead of dying in the threading layer."""
import concurrent.futures
import multiprocessing

import numpy as np
import pytest

import theorybench as tb
from theorybench.executors import check_executor, process_pool, start_method

KW = dict(grid={"eta": [0.005, 0.02], "local_steps": [2, 8]}, problem_grid={"H": [1.0, 4.0]}, seeds=2, rounds=40)


def test_spawned_pool_after_in_process_run_matches():
    ref = tb.sweep("episode-quartic", "episode", **KW)  # the threading layer is now running here
    with process_pool(max_workers=2) as ex:
        assert start_method(ex) == "spawn"
        got = tb.sweep("episode-quartic", "episode", executor=ex, **KW)
    np.testing.assert_array_equal(got.x, ref.x)
    np.testing.assert_array_equal(got.loss, ref.loss)
    for k in ref.stats:
        np.testing.assert_array_equal(got.stats[k], ref.stats[k])


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork on this platform")
def test_fork_pool_refused_with_the_fix():
    tb.sweep("episode-quartic", "episode", **KW)
    with concurrent.futures.ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as ex:
        with pytest.raises(tb.TheoryBenchError) as e:
            tb.sweep("episode-quartic", "episode", executor=ex, **KW)
    msg = str(e.value)
    assert "'executor'" in msg and "fork" in msg and 'get_context("spawn")' in msg


def test_other_executors_pass():
    with concurrent.futures.ThreadPoolExecutor(1) as ex:
        assert check_executor(ex) is ex and start_method(ex) is None
    assert check_executor(None) is None
