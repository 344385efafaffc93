"""The Amplified SCAFFOLD methods on the vector template (``theorybench.methods.scaffold_vector``, family
``amplified-scaffold-synthetic`` in ``problems/amplified_scaffold.py``) against the engine's former generic
kernel (``theorybench.kernels.scaffold`` on the family code ``ASYNTH``; its frozen copy
``tests/legacy_scaffold_kernel.py`` since the engine dropped it): bit-identical trajectories, losses,
gradient norms and statistics on the same seeds and settings, for every method on cyclic and uniform
participation, a sweep with a sparse record schedule and a target, diverging runs and an early stop; the
family's value, gradient and client pieces against the former ``ASYNTH`` arithmetic. (Until commit 8481561 the
same comparison ran against the engine's own kernel through ``theorybench.run``; before the frozen copy
replaced it, the copy was checked against that kernel, run from a worktree of commit f9633fb in a separate
process, on every configuration below (136 runs, 4 of them diverging, 2 early stops, and the family pieces
at 110 points): bit for bit, signs of zeros included.) The NumPy reference (``tests/reference_scaffold.py``,
exact agreement in ``tests/test_scaffold.py``), which the former kernel matched bit for bit as well, keeps
holding the new methods.

Tolerance 0 throughout: both sides evaluate the same correctly rounded operations in the same order (the
family's value, gradient and noise pieces are written term by term as the former ``ASYNTH`` family and
``kernels.common.stoch_grad`` computed them, the round as ``kernels.scaffold.scaffold_trajectory`` did), so
any difference is a port error, not rounding. Nothing here depends on ``theorybench.families``."""
import itertools
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError
from theorybench.runner import algorithm_for

import legacy_scaffold_kernel as legacy
from problems.amplified_scaffold import safe_radius

PROBLEM = "amplified-scaffold-synthetic"
METHODS = {"fedavg-pp": {}, "fedprox": {"prox_mu": 0.7}, "scaffold": {},
           "amplified-fedavg": {"amplification": 2.0}, "amplified-scaffold": {"amplification": 1.5}}
STATS = ["diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round", "grad_norm_sum",
         "first_average_below_target"]


def _same(a, b, what):
    np.testing.assert_array_equal(a, b, err_msg=what)  # NaN positions must agree too


def compare(method, pset, hyper, seed, rounds, record, x0=None, target=0.0, stats=STATS):
    """``theorybench.run`` of the vector method against the frozen former kernel: the same recorded rounds,
    iterates, losses, gradient norms and statistics (those in ``stats``). Returns both results."""
    prob = tb.make_problem(PROBLEM, **pset)
    assert algorithm_for(method, prob).kernel == "vector"
    a = tb.run(prob, method, rounds=rounds, seed=seed, x0=x0, record=record, target=target, stats=list(stats),
               **hyper)
    rec, x, loss, gn, st = legacy.legacy_run(method, pset, hyper, seed, rounds, record, x0, target)
    _same(a.rounds, rec, "rounds")
    _same(a.x, x, "x")
    _same(a.loss, loss, "loss")
    _same(a.grad_norm, gn, "grad_norm")
    for k in stats:
        assert a.stats[k] == st[k], (k, a.stats[k], st[k])
    return a, st


# (rounds, hyperparameters, problem settings): the cases of tests/test_scaffold.py plus S = 0 under cyclic
# participation, groups = 1, a non-default start and noise-free runs
CASES = [
    (200, dict(lr=1e-3, period=20), {}),
    (200, dict(lr=3e-3, period=10, local_steps=3), {"N": 4, "zeta": 5.0}),
    (120, dict(lr=2e-3, period=12, groups=3, clients_per_round=1, local_steps=4), {"N": 6}),
    (150, dict(lr=1e-3, period=20, clients_per_round=2), {"N": 4, "sigma": 0.5}),
    (150, dict(lr=1e-3, participation="uniform", clients_per_round=1, period=25), {"N": 4}),
    (100, dict(lr=5e-3, participation="uniform", clients_per_round=0, period=10, local_steps=2), {"N": 2}),
    (1000, dict(lr=1e-4), {}),
    (60, dict(lr=2e-3, period=12, groups=4), {}),
    (80, dict(lr=2e-3, period=8, groups=2, clients_per_round=0), {"N": 6, "sigma": 0.0}),
    (80, dict(lr=2e-3, period=9, groups=1, clients_per_round=2), {"N": 4, "H": 9.0, "mu": 0.7, "c": -2.0}),
]


@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("rounds,hyper,pset", CASES, ids=[f"case{k}" for k in range(len(CASES))])
def test_bit_identical_to_the_former_kernel(method, rounds, hyper, pset):
    x0 = [0.5, -1.0, 0.3, 2.0] if rounds == 80 else None
    for seed in (0, 5):
        compare(method, pset, {**hyper, **METHODS[method]}, seed, rounds, np.arange(rounds + 1), x0, target=0.5)


@pytest.mark.parametrize("method", ["scaffold", "amplified-scaffold", "fedprox"])
def test_sweep_bit_identical_with_sparse_records_and_target(method):
    """A sweep (grid x seeds) with the authors' log schedule and a target, as AS-1 runs them: the vector
    kernel evaluates f only on recorded rounds (inside the family's safe radius), the former one every round;
    the numbers agree exactly, and first_below_target (every round) too."""
    grid = {"lr": [1e-3, 3e-4]}
    grid.update({"amplification": [1.25, 3.0]} if method.startswith("amplified") else
                {"prox_mu": [0.1, 1.0]} if method == "fedprox" else {})
    fixed = dict(period=60, local_steps=4)
    record = np.arange(100, 1501, 100)
    a = tb.sweep(tb.make_problem(PROBLEM), method, grid=grid, seeds=3, rounds=1500, record=record, target=0.3,
                 **fixed)
    assert a.dims == tuple(grid) + ("seed",)
    cells = list(itertools.product(*(range(len(a.coords[k])) for k in a.dims)))
    hypers = [{**fixed, **{k: a.coords[k][i] for k, i in zip(a.dims[:-1], cell[:-1])}} for cell in cells]
    seeds = [a.coords["seed"][cell[-1]] for cell in cells]
    rec, x, loss, gn, st = legacy.legacy_batch(method, {}, hypers, seeds, 1500, record, targets=0.3)
    _same(a.rounds, rec, "rounds")
    shape = a.loss.shape[:-1]
    _same(a.x, x.reshape(a.x.shape), "x")
    _same(a.loss, loss.reshape(a.loss.shape), "loss")
    _same(a.grad_norm, gn.reshape(a.grad_norm.shape), "grad_norm")
    for k in ("diverged_round", "first_below_target", "max_abs_x"):
        _same(a.stats[k], st[k].reshape(shape), k)
    assert (a.stats["first_below_target"] >= 0).any()


@pytest.mark.parametrize("method", ["fedavg-pp", "amplified-scaffold"])
def test_divergence_and_early_stop_identical(method):
    """A stepsize past stability diverges at the same round with the same NaN tail; a negative target
    stops both at the first running-average crossing."""
    h = METHODS[method]
    for pset, lr in (({}, 0.5), ({"H": 1e6}, 1e-3)):
        _, st = compare(method, pset, dict(lr=lr, period=20, **h), 1, 400, np.arange(401),
                        stats=["diverged_round", "max_abs_x"])
        assert st["diverged_round"] > 0
    _, st = compare(method, {}, dict(lr=1e-3, period=20, **h), 2, 3000, np.arange(3001), target=-0.5,
                    stats=["first_average_below_target", "diverged_round"])
    assert 0 < st["first_average_below_target"] < 3000


@pytest.mark.parametrize("pset", [{"N": 4, "zeta": 3.0, "H": 9.0, "lambda": 0.5, "L": 3.0, "mu": 0.7, "c": -2.0},
                                  {}])
def test_family_pieces_bit_identical_to_asynth(pset):
    """The family's value, gradient, client values and client gradients: the former ``ASYNTH`` arithmetic
    (``legacy_scaffold_kernel.client_value``, ``client_grad``, ``global_value_grad``) exactly."""
    s = {"N": 2, "H": 16.0, "lambda": 1.0, "zeta": 16.0, "c": 1.0, "mu": 1.0, "L": 2.0, **pset}
    rows = legacy.legacy_rows(s["N"], s["H"], s["lambda"], s["zeta"], s["c"], s["mu"], s["L"])
    new_p = tb.make_problem(PROBLEM, **pset)
    rs = np.random.default_rng(1)
    g_old, tmp = np.empty(4), np.empty(4)
    for x in np.concatenate([rs.uniform(-3, 3, size=(50, 4)), rs.uniform(-1e80, 1e80, size=(5, 4))]):
        v = legacy.global_value_grad(rows, x, g_old, tmp)
        assert new_p.value(x) == v
        _same(new_p.grad(x), g_old, "grad")
        for i in range(s["N"]):
            legacy.client_grad(rows[i], x, tmp)
            _same(new_p.client_grad(i, x), tmp, "client_grad")
            assert new_p.client_value(i, x) == legacy.client_value(rows[i], x)


# --------------------------------------------------------------------------- the family's own checks

@pytest.mark.parametrize("pset", [{}, {"H": 1e12, "zeta": 1e40, "L": 1e-3}, {"mu": 1e-8, "c": 1e30}])
def test_safe_radius_keeps_f_and_grad_in_range(pset):
    """Inside the family's safe radius |f| and ||grad f|| stay below 1e149 (so the kernel may skip them on
    unrecorded rounds without changing the divergence rule's verdict): checked at the corners of the box."""
    prob = tb.make_problem(PROBLEM, **pset)
    rho = safe_radius(prob)
    assert rho > 0.0
    r = np.nextafter(rho, 0.0)
    for signs in np.array(np.meshgrid(*[[-1.0, 1.0]] * 4)).T.reshape(-1, 4):
        x = r * signs
        assert abs(prob.value(x)) < 1e149 and np.linalg.norm(prob.grad(x)) < 1e149


def test_period_must_be_a_multiple_of_groups():
    with pytest.raises(TheoryBenchError, match="'period'.*multiple of 'groups'"):
        tb.run(PROBLEM, "scaffold", rounds=5, period=481)
    with pytest.raises(TheoryBenchError, match="'period'"):
        tb.sweep(PROBLEM, "amplified-fedavg", grid={"period": [480, 481]}, rounds=5)
    tb.run(PROBLEM, "scaffold", rounds=5, period=481, participation="uniform")  # only cyclic needs it


def test_steps_count_local_steps_and_rounds_are_vector_steps():
    res = tb.run(PROBLEM, "amplified-scaffold", rounds=30, local_steps=3, period=10, record=[10, 20])
    assert res.rounds.tolist() == [0, 10, 20, 30] and res.steps.tolist() == [0, 30, 60, 90]
    assert math.isfinite(res.loss[-1])
