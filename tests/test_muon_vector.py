"""The Muon methods on the vector template (``theorybench.methods.muon_vector``, family ``muon-counterexample``
in ``problems/muon_counterexample.py``) against the former kernel's trajectory (``tests/legacy_muon_kernel.py``,
a frozen copy of ``theorybench.kernels.muon.muon_trajectory``, which the engine no longer runs):
bit-identical iterates, losses, subgradient norms and statistics for every method x step schedule, on several
seeds, shapes (wide, square, tall), tie rules, generic and lattice starts, dense and sparse records, a sweep,
a negative target and diverging runs. (Until commit dab5156 the same comparison ran against the engine's own
kernel through ``theorybench.run``, and the frozen copy was checked against it, bit for bit, before removal.)

Tolerance 0 throughout: both sides evaluate the same correctly rounded operations in the same order (the
family's pieces are the former ``value_subgrad`` split into f and G, the steps are the former kernel's
branches written as one function per method), and the SVDs are the same LAPACK call (``np.linalg.svd(A,
full_matrices=False)`` on the same m x n matrix), so any difference is a port error, not rounding. The NumPy
references (``tests/reference_muon.py``) hold the new path in ``tests/test_muon.py``."""
import numpy as np
import pytest

import theorybench as tb
from theorybench.algorithms import get_algorithm
from theorybench.runner import algorithm_for

from legacy_muon_kernel import legacy_run
from problems.muon_counterexample import diag_start

ALGS = {"muon": dict(beta=0.6), "muon-ns": dict(beta=0.6, ns_steps=4), "signed-momentum": dict(beta=0.6),
        "sign-descent": {}, "subgradient": {}, "ef": {}, "ef-muon": dict(beta=0.9), "muonmax": dict(beta=0.9),
        "momo": dict(beta=0.9)}
SCHEDS = {"constant": dict(schedule="constant", alpha0=0.0537),
          "power": dict(schedule="power", alpha0=0.3137, power=0.51),
          "random": dict(schedule="random", alpha0=0.2113), "polyak": dict(schedule="polyak", f_lower=0.01)}
STATS = ["diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round", "grad_norm_sum",
         "first_average_below_target"]


def _same(a, b, what):
    np.testing.assert_array_equal(a, b, err_msg=what)  # NaN positions must agree too


def _compare(alg, h, pset, x0, steps, seed, record, target=0.5):
    p = tb.make_problem("muon-counterexample", **pset)
    assert algorithm_for(alg, p).kernel == "vector"
    a = tb.run(p, alg, steps=steps, seed=seed, x0=x0, record=record, target=target, stats=STATS, **h)
    m, n = p.shape
    x, loss, gn, st = legacy_run(alg, p.arrays["c"], p.arrays["tie"], m, n, get_algorithm(alg).resolve(h),
                                 p.x0 if x0 is None else x0, seed, steps, record, target)
    _same(a.x, x, "x")
    _same(a.loss, loss, "loss")
    _same(a.grad_norm, gn, "grad_norm")
    for k in STATS:
        assert a.stats[k] == st[k] or (np.isnan(a.stats[k]) and np.isnan(st[k])), (k, a.stats[k], st[k])
    return a


@pytest.mark.parametrize("alg", list(ALGS))
@pytest.mark.parametrize("sched", list(SCHEDS))
@pytest.mark.parametrize("shape", [(2, 2), (3, 4), (4, 3)])
def test_bit_identical_to_the_former_kernel(alg, sched, shape):
    m, n = shape
    h = {**ALGS[alg], **SCHEDS[sched]}
    steps = 60
    for seed in (0, 3, 11):
        W0 = np.random.default_rng(100 * seed + m * n).normal(size=(m, n)) * 0.3
        _compare(alg, h, dict(c=0.4, m=m, n=n), W0.ravel(), steps, seed, np.arange(steps + 1))
    # the lattice start of setting (i), where ties and exact cancellations happen, with both tie rules
    for tie in (1.0, 0.0):
        _compare(alg, h, dict(c=0.5, tie=tie, m=m, n=n), diag_start(0.75, 0.5, m, n), steps, 5, np.arange(steps + 1))


@pytest.mark.parametrize("alg", list(ALGS))
def test_sparse_records_long_run_and_divergence(alg):
    """The vector kernel evaluates f and G only on recorded steps inside the family's safe radius, the former
    kernel every step: the same numbers, statistics included; a run pushed past 1e150 diverges at the same step."""
    h = {**ALGS[alg], **SCHEDS["power"]}
    rec = np.unique(np.geomspace(1, 3000, 25).astype(int))
    a = _compare(alg, h, dict(c=0.3, m=3, n=3), diag_start(0.9, -0.2, 3, 3), 3000, 7, np.r_[0, rec], target=0.8)
    assert a.stats["diverged_round"] == -1
    # Polyak steps against a lower bound far below f*: alpha_t ~ |f_lower| / ||G||_* pushes the iterate out to
    # 1e149 and beyond, where the vector kernel evaluates f and G every step (outside the safe radius)
    for f_lower in (-1e149, -1e155):
        big = {**ALGS[alg], "schedule": "polyak", "f_lower": f_lower}
        d = _compare(alg, big, dict(c=0.5), diag_start(0.75, 0.5), 40, 1, np.arange(41))
        if f_lower == -1e155:
            assert d.stats["diverged_round"] == 1
    if alg == "muon-ns":  # b = 0, 5 steps: |x| grows over a dozen steps and the run diverges past 1e149
        d = _compare(alg, {"schedule": "polyak", "f_lower": -1e149}, dict(c=0.5), diag_start(0.75, 0.5), 40, 1,
                     np.arange(41))
        assert d.stats["diverged_round"] > 1


def test_negative_target_and_sweep_identical():
    """A negative target (stop at the running-average crossing) and a sweep over a grid x seeds."""
    a = _compare("subgradient", dict(alpha0=0.01), {}, diag_start(0.75, 0.5), 50, 0, np.arange(51), target=-10.0)
    assert a.stats["first_average_below_target"] == 0 and np.isnan(a.loss[1:]).all()
    grid = {"alpha0": [0.05, 0.2], "beta": [0.0, 0.5]}
    s = tb.sweep(tb.make_problem("muon-counterexample", m=2, n=3), "muon", grid=grid, seeds=3, steps=200,
                 schedule="random", record=np.arange(201))
    assert s.dims == ("alpha0", "beta", "seed")
    for i, a0 in enumerate(grid["alpha0"]):
        for j, b in enumerate(grid["beta"]):
            for k, seed in enumerate(s.coords["seed"]):
                h = get_algorithm("muon").resolve(dict(alpha0=a0, beta=b, schedule="random"))
                x, loss, gn, st = legacy_run("muon", 0.5, 1.0, 2, 3, h, diag_start(0.75, 0.5, 2, 3), seed, 200,
                                             np.arange(201))
                _same(s.x[i, j, k], x, "x")
                _same(s.loss[i, j, k], loss, "loss")


def test_family_pieces_match_the_python_problem():
    p = tb.make_problem("muon-counterexample", c=0.3, tie=-0.5, m=3, n=5)
    assert p.shape == (3, 5) and p.dims["rows"] == 3 and p.dims["cols"] == 5
    W = np.zeros((3, 5))
    W[0, 0], W[1, 1] = 0.2, 0.2                      # W11 - W22 = 0: the tie
    g = p.grad(W.ravel())
    assert g[0] == 0.3 * 1 - 0.5 and g[6] == 0.3 * 1 + 0.5 and np.count_nonzero(g) == 2
    assert p.value(W.ravel()) == 0.3 * 0.4
    assert p.client_value(0, W.ravel()) == p.value(W.ravel())
    assert p.constant("G") == np.sqrt(2.0 * (0.3 ** 2 + 1.0))
    from problems.muon_counterexample import FAMILY
    rho = FAMILY.safe_radius(p)
    x = np.full(15, 0.999 * rho)
    assert abs(p.value(x)) < 1e149 and np.linalg.norm(p.grad(x)) < 1e149
    assert FAMILY.safe_radius(tb.make_problem("muon-counterexample", c=1e200)) == 0.0
