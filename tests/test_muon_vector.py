"""The Muon methods on the vector template (``theorybench.methods.muon_vector``, family ``muon-counterexample``
in ``problems/muon_counterexample.py``) against the former kernel (``theorybench.kernels.muon`` on the
former layout ``MatrixProblem``, built by ``legacy_problem``): bit-identical iterates, losses, subgradient
norms and statistics for every method x step schedule, on several seeds, shapes (wide, square, tall), tie
rules, generic and lattice starts, dense and sparse records, and a diverging run.

Tolerance 0 throughout: both sides evaluate the same correctly rounded operations in the same order (the
family's pieces are ``kernels.muon.value_subgrad`` split into f and G, the steps are the kernel's branches
written as one function per method), and the SVDs are the same LAPACK call (``np.linalg.svd(A,
full_matrices=False)`` on the same m x n matrix), so any difference is a port error, not rounding. The NumPy
references (``tests/reference_muon.py``) hold the new path in ``tests/test_muon.py``."""
import numpy as np
import pytest

import theorybench as tb
from theorybench.runner import algorithm_for

from problems.muon_counterexample import diag_start, legacy_problem

ALGS = {"muon": dict(beta=0.6), "muon-ns": dict(beta=0.6, ns_steps=4), "signed-momentum": dict(beta=0.6),
        "sign-descent": {}, "subgradient": {}, "ef": {}, "ef-muon": dict(beta=0.9), "muonmax": dict(beta=0.9),
        "momo": dict(beta=0.9)}
SCHEDS = {"constant": dict(schedule="constant", alpha0=0.0537), "power": dict(schedule="power", alpha0=0.3137, power=0.51),
          "random": dict(schedule="random", alpha0=0.2113), "polyak": dict(schedule="polyak", f_lower=0.01)}
STATS = ["diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round", "grad_norm_sum",
         "first_average_below_target"]


def _legacy_available():
    try:
        import theorybench.kernels.muon as km
    except ImportError:
        return False
    from theorybench.algorithms import VARIANTS
    return hasattr(km, "muon_trajectory") and any(a.kernel == "muon" for a in VARIANTS.get("muon", []))


legacy = pytest.mark.skipif(not _legacy_available(), reason="the former muon kernel is gone (the NumPy references in "
                                                            "tests/test_muon.py hold the new methods)")


def _same(a, b, what):
    np.testing.assert_array_equal(a, b, err_msg=what)  # NaN positions must agree too


def _compare(alg, h, pset, x0, steps, seed, record, target=0.5):
    new_p, old_p = tb.make_problem("muon-counterexample", **pset), legacy_problem(**pset)
    assert algorithm_for(alg, new_p).kernel == "vector" and algorithm_for(alg, old_p).kernel == "muon"
    a = tb.run(new_p, alg, steps=steps, seed=seed, x0=x0, record=record, target=target, stats=STATS, **h)
    b = tb.run(old_p, alg, steps=steps, seed=seed, x0=x0, record=record, target=target, **h)
    _same(a.x, b.x, "x")
    _same(a.loss, b.loss, "loss")
    _same(a.grad_norm, b.grad_norm, "grad_norm")
    for k in STATS:
        assert a.stats[k] == b.stats[k] or (np.isnan(a.stats[k]) and np.isnan(b.stats[k])), (k, a.stats[k], b.stats[k])
    return a


@legacy
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


@legacy
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


@legacy
def test_negative_target_and_sweep_identical():
    """A negative target (stop at the running-average crossing) and a sweep over a grid x seeds."""
    x0 = diag_start(0.75, 0.5)
    a = tb.run(tb.make_problem("muon-counterexample"), "subgradient", steps=50, x0=x0, alpha0=0.01, target=-10.0)
    b = tb.run(legacy_problem(), "subgradient", steps=50, x0=x0, alpha0=0.01, target=-10.0)
    _same(a.loss, b.loss, "loss")
    assert a.stats["first_average_below_target"] == b.stats["first_average_below_target"] == 0
    kw = dict(grid={"alpha0": [0.05, 0.2], "beta": [0.0, 0.5]}, seeds=3, steps=200, schedule="random")
    s1 = tb.sweep(tb.make_problem("muon-counterexample", m=2, n=3), "muon", **kw)
    s0 = tb.sweep(legacy_problem(m=2, n=3), "muon", **kw)
    _same(s1.x, s0.x, "x")
    _same(s1.loss, s0.loss, "loss")


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
