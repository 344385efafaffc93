"""The array backend (NumPy here; the same code runs on CuPy) against the Numba kernels."""
import importlib.util

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError

ALGOS = ["fedavg", "local-clip", "episode", "clipped-minibatch", "episode++", "naive-parallel-clip"]


@pytest.mark.parametrize("algo", ALGOS)
@pytest.mark.parametrize("noise", ["uniform", "truncated-gaussian"])
def test_numpy_backend_matches_numba(algo, noise):
    grid = {"eta": [0.005, 0.02], "local_steps": [1, 3, 8]}
    if algo != "fedavg":
        grid["gamma"] = [0.02, 0.1]
    kw = dict(grid=grid, problem_grid={"H": [1.0, 4.0]}, seeds=3, rounds=60, target=0.3,
              problem_settings={"N": 3, "noise": noise})
    a = tb.sweep("episode-quartic", algo, backend="numba", **kw)
    b = tb.sweep("episode-quartic", algo, backend="numpy", **kw)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-12, atol=1e-12)
    for k in a.stats:
        np.testing.assert_allclose(b.stats[k], a.stats[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_divergence_and_quadratic_agree():
    kw = dict(grid={"eta": [0.25, 0.5, 1.0, 1.5]}, tied_grid={"gamma": [0.5, 1.0, 2.0]}, rounds=30,
              local_steps=3, convention="grad")
    a = tb.sweep("two-client-quadratic", "local-clip", backend="numba", **kw)
    b = tb.sweep("two-client-quadratic", "local-clip", backend="numpy", **kw)
    np.testing.assert_array_equal(b.x, a.x)
    a = tb.run("episode-quartic", "fedavg", eta=0.5, local_steps=1, rounds=40, problem_settings={"sigma": 0.0})
    b = tb.run("episode-quartic", "fedavg", eta=0.5, local_steps=1, rounds=40, problem_settings={"sigma": 0.0},
               backend="numpy")
    assert a.diverged and b.diverged_at == a.diverged_at


def test_unsupported_settings_are_refused_clearly():
    with pytest.raises(TheoryBenchError, match="clients_per_round"):
        tb.run("episode-quartic", "clipped-minibatch", clients_per_round=1, rounds=3, backend="numpy",
               problem_settings={"N": 3})
    with pytest.raises(TheoryBenchError, match="polynomial"):
        tb.run("lower-bound-a", "clipped-minibatch", rounds=3, backend="numpy")
    with pytest.raises(TheoryBenchError, match="backend"):
        tb.run("episode-quartic", "episode", rounds=3, backend="torch")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is None, reason="CuPy is not installed (optional extra 'gpu')")
def test_cupy_backend_matches_numba():  # pragma: no cover - needs a GPU
    kw = dict(grid={"eta": [0.005, 0.02]}, seeds=4, rounds=50)
    a = tb.sweep("episode-quartic", "episode", backend="numba", **kw)
    b = tb.sweep("episode-quartic", "episode", backend="cupy", **kw)
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12, atol=1e-12)
