"""The Amplified SCAFFOLD methods on the vector template (``theorybench.methods.scaffold_vector``, family
``amplified-scaffold-synthetic`` in ``problems/amplified_scaffold.py``) against the engine's former generic
kernel (``theorybench.kernels.scaffold`` on the family code ``ASYNTH``): bit-identical trajectories, losses,
gradient norms and statistics on the same seeds and settings. The trajectory comparisons ran (and passed) at
commit 9fabb2e, before that kernel was removed; they skip without it (the family pieces' comparison runs
while ``families.ASYNTH`` exists). The NumPy reference (``tests/reference_scaffold.py``, exact agreement in
``tests/test_scaffold.py``), which the former kernel matched bit for bit as well, keeps holding the new
methods.

Tolerance 0 throughout: both sides evaluate the same correctly rounded operations in the same order (the
family's value, gradient and noise pieces are written term by term as ``families.ASYNTH`` and
``kernels.common.stoch_grad`` compute them, the round as ``kernels.scaffold.scaffold_trajectory`` does), so
any difference is a port error, not rounding."""
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench import families
from theorybench.errors import TheoryBenchError
from theorybench.runner import algorithm_for

from problems.amplified_scaffold import asynth_rows, safe_radius

PROBLEM = "amplified-scaffold-synthetic"
METHODS = {"fedavg-pp": {}, "fedprox": {"prox_mu": 0.7}, "scaffold": {},
           "amplified-fedavg": {"amplification": 2.0}, "amplified-scaffold": {"amplification": 1.5}}
DEFAULTS = dict(N=2, H=16.0, **{"lambda": 1.0}, zeta=16.0, sigma=1.0, c=1.0, mu=1.0, L=2.0)


def _legacy_available():
    if getattr(families, "ASYNTH", None) is None:
        return False
    try:
        import theorybench.kernels.scaffold  # noqa: F401
    except ImportError:
        return False
    from theorybench.algorithms import VARIANTS
    return any(a.kernel == "scaffold" for a in VARIANTS.get("amplified-scaffold", []))


legacy = pytest.mark.skipif(not _legacy_available(), reason="the former scaffold kernel is gone (the NumPy reference "
                                                            "in tests/test_scaffold.py holds the new methods)")
asynth = pytest.mark.skipif(getattr(families, "ASYNTH", None) is None, reason="families.ASYNTH is gone")


def legacy_problem(**pset):
    """The instance as the former engine built it: family code ``ASYNTH``, rows ``[mu, c, H, b2, a_i, s_i,
    zeta, extra]``, Gaussian noise on coordinate 3."""
    from theorybench.problem import Problem
    s = {**DEFAULTS, **pset}
    rows = asynth_rows(s["N"], s["H"], s["lambda"], s["zeta"], s["c"], s["mu"], s["L"])
    return Problem(PROBLEM, families.ASYNTH, rows, 4, np.zeros(4), noise="gaussian", sigma=s["sigma"],
                   noise_coords=(2,))


def _same(a, b, what):
    np.testing.assert_array_equal(a, b, err_msg=what)  # NaN positions must agree too


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


@legacy
@pytest.mark.parametrize("method", list(METHODS))
@pytest.mark.parametrize("rounds,hyper,pset", CASES, ids=[f"case{k}" for k in range(len(CASES))])
def test_bit_identical_to_the_former_kernel(method, rounds, hyper, pset):
    new_p, old_p = tb.make_problem(PROBLEM, **pset), legacy_problem(**pset)
    assert algorithm_for(method, new_p).kernel == "vector" and algorithm_for(method, old_p).kernel == "scaffold"
    h = {**hyper, **METHODS[method]}
    x0 = [0.5, -1.0, 0.3, 2.0] if rounds == 80 else None
    for seed in (0, 5):
        # the gradient-norm statistics asked for by name (the vector template computes them only when asked)
        stats = ["diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round",
                 "grad_norm_sum", "first_average_below_target"]
        a = tb.run(new_p, method, rounds=rounds, seed=seed, x0=x0, record=np.arange(rounds + 1), target=0.5,
                   stats=stats, **h)
        b = tb.run(old_p, method, rounds=rounds, seed=seed, x0=x0, record=np.arange(rounds + 1), target=0.5, **h)
        _same(a.x, b.x, "x")
        _same(a.loss, b.loss, "loss")
        _same(a.grad_norm, b.grad_norm, "grad_norm")
        for k in stats:
            assert a.stats[k] == b.stats[k], (k, a.stats[k], b.stats[k])


@legacy
@pytest.mark.parametrize("method", ["scaffold", "amplified-scaffold", "fedprox"])
def test_sweep_bit_identical_with_sparse_records_and_target(method):
    """A sweep (grid x seeds) with the authors' log schedule and a target, as AS-1 runs them: the vector
    kernel evaluates f only on recorded rounds (inside the family's safe radius), the old one every round;
    the numbers agree exactly, and first_below_target (every round) too."""
    grid = {"lr": [1e-3, 3e-4]}
    grid.update({"amplification": [1.25, 3.0]} if method.startswith("amplified") else
                {"prox_mu": [0.1, 1.0]} if method == "fedprox" else {})
    kw = dict(grid=grid, seeds=3, rounds=1500, record=np.arange(100, 1501, 100), target=0.3, period=60,
              local_steps=4)
    a = tb.sweep(tb.make_problem(PROBLEM), method, **kw)
    b = tb.sweep(legacy_problem(), method, **kw)
    _same(a.x, b.x, "x")
    _same(a.loss, b.loss, "loss")
    _same(a.grad_norm, b.grad_norm, "grad_norm")
    for k in ("diverged_round", "first_below_target", "max_abs_x"):
        _same(a.stats[k], b.stats[k], k)
    assert (a.stats["first_below_target"] >= 0).any()


@legacy
@pytest.mark.parametrize("method", ["fedavg-pp", "amplified-scaffold"])
def test_divergence_and_early_stop_identical(method):
    """A stepsize past stability diverges at the same round with the same NaN tail; a negative target
    stops both at the first running-average crossing."""
    h = METHODS[method]
    for pset, lr in (({}, 0.5), ({"H": 1e6}, 1e-3)):
        a = tb.run(tb.make_problem(PROBLEM, **pset), method, rounds=400, seed=1, lr=lr, period=20,
                   record=np.arange(401), **h)
        b = tb.run(legacy_problem(**pset), method, rounds=400, seed=1, lr=lr, period=20, record=np.arange(401), **h)
        assert b.stats["diverged_round"] > 0
        assert a.stats["diverged_round"] == b.stats["diverged_round"]
        assert a.stats["max_abs_x"] == b.stats["max_abs_x"]
        _same(a.x, b.x, "x")
        _same(a.loss, b.loss, "loss")
    a = tb.run(tb.make_problem(PROBLEM), method, rounds=3000, seed=2, lr=1e-3, period=20, target=-0.5,
               record=np.arange(3001), **h)
    b = tb.run(legacy_problem(), method, rounds=3000, seed=2, lr=1e-3, period=20, target=-0.5,
               record=np.arange(3001), **h)
    assert 0 < b.stats["first_average_below_target"] < 3000
    assert a.stats["first_average_below_target"] == b.stats["first_average_below_target"]
    _same(a.x, b.x, "x")


@asynth
def test_family_pieces_bit_identical_to_asynth():
    from theorybench.families import client_grad, client_value, global_value_grad
    pset = {"N": 4, "zeta": 3.0, "H": 9.0, "lambda": 0.5, "L": 3.0, "mu": 0.7, "c": -2.0}
    new_p, old_p = tb.make_problem(PROBLEM, **pset), legacy_problem(**pset)
    rs = np.random.default_rng(1)
    g_old, tmp = np.empty(4), np.empty(4)
    for x in rs.uniform(-3, 3, size=(50, 4)):
        v = global_value_grad(families.ASYNTH, old_p.params, x, g_old, tmp)
        assert new_p.value(x) == v
        assert np.array_equal(new_p.grad(x), g_old)
        for i in range(4):
            client_grad(families.ASYNTH, old_p.params[i], x, tmp)
            assert np.array_equal(new_p.client_grad(i, x), tmp)
            assert new_p.client_value(i, x) == client_value(families.ASYNTH, old_p.params[i], x)


# --------------------------------------------------------------------------- without the former kernel

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
