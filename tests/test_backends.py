"""The array backend (NumPy here; the same code runs on CuPy) against the Numba kernels."""
import importlib.util

import numpy as np
import pytest

import theorybench as tb
from theorybench.backends import array as array_backend
from theorybench.errors import TheoryBenchError

import tolerances as tol

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
    # The array backend repeats the kernel's correctly rounded operations in its order, except the noise's
    # transcendental functions (NumPy's SIMD log/exp/cos against the kernel's libm, a few ULP apart), whose
    # differences clipped local steps then propagate. Tolerances: the array backend's measured sensitivity to
    # rounding (tests/tolerances.py), perturbing its gradient and noise calls; the sweep's configurations
    # form one state (step axis first), d = 1, up to 8 local steps a round, 3 clients summed. Round indices
    # and fractions of clipping decisions are counts: equal unless a decision flips (tolerance 0).
    floats = [k for k in a.stats if k in ("min_grad_norm", "max_abs_x", "grad_norm_sum")]

    def numpy_sweep():
        s = tb.sweep("episode-quartic", algo, backend="numpy", **kw)
        return (np.moveaxis(s.x, -2, 0), np.moveaxis(s.loss, -1, 0)) + tuple(
            np.asarray(s.stats[k], dtype=float)[None] for k in floats)
    atols = tol.reference_atol(numpy_sweep, tol.local_rel(1, extra=3), per_step=max(grid["local_steps"]),
                               patch=[(array_backend, "_poly_grad"), (array_backend, "noise")])
    tol.assert_trajectory_close(np.moveaxis(b.x, -2, 0), np.moveaxis(a.x, -2, 0), atols[0], what="x")
    tol.assert_trajectory_close(np.moveaxis(b.loss, -1, 0), np.moveaxis(a.loss, -1, 0), atols[1], what="loss")
    for k, at in zip(floats, atols[2:]):
        # a statistic of the whole run: its spread carries the propagation; the floor counts every round
        tol.assert_trajectory_close(b.stats[k][None], a.stats[k][None],
                                    at + tol.nonexpansive_atol(a.stats[k][None], tol.local_rel(1, extra=3),
                                                               kw["rounds"] * max(grid["local_steps"])), what=k)
    for k in a.stats:
        if k not in floats:
            np.testing.assert_allclose(b.stats[k], a.stats[k], rtol=0, atol=0, err_msg=k)


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
