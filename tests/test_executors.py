"""Sweeps sent to an executor give the same numbers as in process."""
import concurrent.futures
import importlib.util

import numpy as np
import pytest

import theorybench as tb

KW = dict(grid={"eta": [0.005, 0.01, 0.02], "local_steps": [2, 8]}, problem_grid={"H": [1.0, 4.0]}, seeds=3,
          rounds=80)


def test_thread_pool_executor_matches_in_process():
    ref = tb.sweep("episode-quartic", "episode", **KW)
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as ex:
        got = tb.sweep("episode-quartic", "episode", executor=ex, **KW)
    np.testing.assert_array_equal(got.x, ref.x)
    for k in ref.stats:
        np.testing.assert_array_equal(got.stats[k], ref.stats[k])


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                    reason="dask.distributed is not installed (optional extra 'dask')")
def test_dask_client_matches_in_process():
    from distributed import Client
    ref = tb.sweep("episode-quartic", "local-clip", **KW)
    with Client(processes=False, n_workers=2, threads_per_worker=1, dashboard_address=None) as client:
        got = tb.sweep("episode-quartic", "local-clip", executor=client, **KW)
    np.testing.assert_array_equal(got.x, ref.x)
    np.testing.assert_array_equal(got.loss, ref.loss)
