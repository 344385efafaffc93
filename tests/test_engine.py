"""Engine behaviour: determinism across thread counts, on-disk kernel cache, schedules, divergence,
result objects, parameter validation."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError


def test_record_schedule_includes_ends_and_is_log_spaced():
    s = tb.record_schedule(10**7)
    assert s[0] == 0 and s[-1] == 10**7 and np.all(np.diff(s) > 0)
    assert s.size < 300
    assert np.array_equal(tb.record_schedule(50), np.arange(51))


def _threads_script(n):
    return textwrap.dedent(f"""
        import numba, numpy as np, theorybench as tb
        numba.set_num_threads({n})
        sw = tb.sweep("episode-quartic", "episode", grid={{"eta": [0.005, 0.01, 0.02], "local_steps": [2, 8]}},
                      problem_grid={{"H": [1.0, 4.0]}}, seeds=5, rounds=60)
        np.save("out_{n}.npy", np.concatenate([sw.x.ravel(), sw.loss.ravel(), sw.grad_norm.ravel()]))
    """)


def test_same_seed_same_numbers_on_any_thread_count(tmp_path):
    import numba
    counts = sorted({1, max(1, numba.config.NUMBA_NUM_THREADS)})
    for n in counts:
        subprocess.run([sys.executable, "-c", _threads_script(n)], cwd=tmp_path, check=True)
    ref = np.load(tmp_path / f"out_{counts[0]}.npy")
    for n in counts[1:]:
        assert np.array_equal(ref, np.load(tmp_path / f"out_{n}.npy"), equal_nan=True)
    # and in-process, sweep vs one run per configuration
    sw = tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.02]}, seeds=3, rounds=40)
    for k, eta in enumerate([0.01, 0.02]):
        for s in range(3):
            r = tb.run("episode-quartic", "local-clip", eta=eta, rounds=40, seed=s)
            assert np.array_equal(r.x, sw.x[k, s])


def test_second_process_loads_kernels_from_cache(tmp_path):
    code = textwrap.dedent("""
        import theorybench as tb
        from theorybench.kernels.federated import batch as federated_batch
        from theorybench.families import POLY
        # a hand-built quadratic in d = 2 (rows: c0 + c1 x_j + c2 x_j^2 per coordinate): the generic
        # federated kernel (the composer is scalar)
        prob = tb.Problem("poly-2d", POLY, [[0.0, 1.0, 0.5, 0.0, 1.0, 0.5], [0.0, -1.0, 0.5, 0.0, 2.0, 0.5]],
                          2, [0.5, 1.0])
        tb.run(prob, "episode++", rounds=3)
        st = federated_batch.stats
        print(sum(st.cache_hits.values()), sum(st.cache_misses.values()))
    """)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)  # fills the cache
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    hits, misses = map(int, out.split())
    assert hits >= 1 and misses == 0


def test_divergence_is_reported_not_silent():
    r = tb.run("episode-quartic", "fedavg", eta=0.5, local_steps=1, rounds=50, problem_settings={"sigma": 0.0})
    assert r.diverged and r.diverged_at is not None and r.diverged_at <= 50
    d = r.to_dict()
    assert d["diverged"] is True and d["final"]["loss"] is None


def test_run_result_json_contract():
    r = tb.run("two-client-quadratic", "local-clip", problem_settings={"gamma": 2}, eta=1, gamma=2,
               local_steps=1, convention="grad", rounds=50)
    d = r.to_dict()
    assert d["trace"]["round"][0] == 0 and d["trace"]["round"][-1] == 50
    assert len(d["trace"]["loss"]) == len(d["trace"]["grad_norm"]) == 51
    assert isinstance(d["final"]["x"], list) and d["final"]["x"] == [0.0]
    assert d["final"]["grad_norm"] == 0.5


def test_sweep_named_axes_and_dataframe():
    sw = tb.sweep("two-client-quadratic", "episode", grid={"eta": [0.25, 0.5], "local_steps": [1, 2, 3]},
                  problem_grid={"gamma": [1.0, 2.0]}, seeds=2, rounds=10)
    assert sw.dims == ("problem_gamma", "eta", "local_steps", "seed")
    assert sw.loss.shape == (2, 2, 3, 2, 11)
    one = sw.sel("x", problem_gamma=2.0, eta=0.5, local_steps=3, seed=1)
    r = tb.run("two-client-quadratic", "episode", problem_settings={"gamma": 2.0}, eta=0.5, local_steps=3,
               rounds=10, seed=1)
    assert np.array_equal(one, r.x)
    df = sw.to_dataframe()
    assert len(df) == 2 * 2 * 3 * 2 * 11
    assert {"problem_gamma", "eta", "local_steps", "seed", "round", "step", "loss", "grad_norm", "x0"} <= set(df.columns)
    assert df["step"].max() == 30


@pytest.mark.parametrize("call, word", [
    (lambda: tb.run("episode-quartc", "episode", rounds=1), "episode-quartic"),
    (lambda: tb.run("episode-quartic", "episod", rounds=1), "episode"),
    (lambda: tb.run("episode-quartic", "episode", eta=-1.0, rounds=1), "eta"),
    (lambda: tb.run("episode-quartic", "episode", local_steps=0, rounds=1), "local_steps"),
    (lambda: tb.run("episode-quartic", "episode", local_steps=2.5, rounds=1), "local_steps"),
    (lambda: tb.run("episode-quartic", "episode", convention="both", rounds=1), "convention"),
    (lambda: tb.run("episode-quartic", "episode", rounds=-3), "rounds"),
    (lambda: tb.run("episode-quartic", "episode", rounds=2, seed=-1), "seed"),
    (lambda: tb.run("episode-quartic", "episode", rounds=2, x0=[1.0, 2.0]), "x0"),
    (lambda: tb.run("episode-quartic", "episode", steps=10, local_steps=8), "steps"),
    (lambda: tb.make_problem("episode-quartic", sigma=-1), "sigma"),
])
def test_bad_input_names_the_parameter(call, word):
    with pytest.raises(TheoryBenchError, match=word):
        call()


def test_kernel_cache_is_keyed_on_the_engine_sources_it_uses():
    import os
    from theorybench._numba_cache import EngineInTreeLocator, engine_closure, engine_stamp
    from theorybench.kernels import federated
    from theorybench.kernels.federated import batch
    tb.run("episode-quartic", "episode", rounds=2)
    locator = batch._cache._impl.locator
    assert isinstance(locator, EngineInTreeLocator) or type(locator).__name__.startswith("Engine")
    assert locator.get_source_stamp() == engine_stamp(federated.__file__)
    used = {os.path.basename(p) for p in engine_closure(federated.__file__)}
    assert {"federated.py", "common.py", "families.py", "rng.py"} <= used  # pieces it inlines


def test_clients_per_round_beyond_the_clients_is_refused():
    with pytest.raises(TheoryBenchError, match="clients_per_round"):
        tb.run("lower-bound-a", "clipped-minibatch", clients_per_round=4, rounds=2)


def test_an_algorithm_refuses_a_problem_its_kernel_cannot_evaluate():
    with pytest.raises(TheoryBenchError, match="cannot run problem 'episode-quartic'"):
        tb.run("episode-quartic", "muon", steps=3)
    with pytest.raises(TheoryBenchError, match="logistic-gd"):
        tb.run("wbty-toy", "gd", steps=3)
