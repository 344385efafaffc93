"""The edge-of-stability methods (``theorybench.methods.steepest_vector`` on the family ``psd-quadratic`` of
``problems/psd_quadratic.py``; the NumPy driver ``theorybench.kernels.steepest`` on ``tanh-mlp``) against the
former kernel's trajectories (``tests/legacy_steepest_kernel.py``, a frozen copy of the former
``theorybench.kernels.steepest``, which dispatched on the method code inside its step loop and evaluated both
models itself): bit-identical iterates, losses, gradient norms and statistics for every method x step
schedule, on several seeds, dimensions, matrix views, block sizes, momentum values and starts, dense and sparse
records, a sweep, a negative target and diverging runs. (When this file was added, before the port, the same tests ran
against the engine's own kernel through ``theorybench.run``: the frozen copy was checked there, bit for bit.)

Tolerance 0 throughout: both sides evaluate the same correctly rounded operations in the same order (the
family's pieces are the former ``quadratic_loss_grad`` split into f and grad f, the steps are the former
kernel's branches written as one function per method, the SVDs the same LAPACK call), so any difference is a
port error, not rounding. The NumPy references (``tests/reference_steepest.py``) hold the new path in
``tests/test_steepest.py``."""
import os
import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import theorybench as tb
from theorybench.algorithms import get_algorithm
from theorybench.runner import algorithm_for

from legacy_steepest_kernel import legacy_run

ALGS = {"gd": {}, "linf-descent": {}, "sign-gd": {}, "block-cd": {}, "spectral-gd": {}, "muon-nomomentum": {},
        "heavy-ball": dict(beta=0.5), "nesterov": dict(beta=0.8)}
SCHEDS = {"constant": dict(schedule="constant", eta=0.0731),
          "power": dict(schedule="power", eta=0.213, power=0.6),
          "random": dict(schedule="random", eta=0.1113),
          "polyak": dict(schedule="polyak", f_lower=-0.01, alpha_max=5.0)}
STATS = ["diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round", "grad_norm_sum",
         "first_average_below_target"]
# (d, m, block, seed, cond, lam_max): one layer of m x d/m (m = 0: the column), contiguous blocks
QUADRATICS = [(12, 3, 5, 2, 20.0, 2.0), (9, 3, 2, 0, 10.0, 1.0), (6, 0, 1, 1, 5.0, 3.0), (8, 8, 3, 4, 50.0, 1.0)]


def _same(a, b, what):
    np.testing.assert_array_equal(a, b, err_msg=what)  # NaN positions must agree too


def _hyper(alg, sched):
    h = {**ALGS[alg], **SCHEDS[sched]}
    if alg in ("linf-descent", "spectral-gd") and sched != "polyak":
        h["eta"] = h["eta"] / 20  # unnormalized in a large dual norm
    return h


def _check_stats(a, st):
    for k in STATS:
        assert a.stats[k] == st[k] or (np.isnan(a.stats[k]) and np.isnan(st[k])), (k, a.stats[k], st[k])


def _compare(alg, h, p, x0, steps, seed, record, target=0.5):
    # the vector template: the registered vector method, or for gd the variant that runs steepest-gd
    assert algorithm_for(alg, p).kernel == ("theorybench.methods.steepest_vector" if alg == "gd" else "vector")
    a = tb.run(p, alg, steps=steps, seed=seed, x0=x0, record=record, target=target, stats=STATS, **h)
    x, loss, gn, st = legacy_run(alg, get_algorithm(alg).resolve(h), p.x0 if x0 is None else x0, seed, steps,
                                 record, target, H=p.H, layers=p.layers, blocks=p.blocks)
    _same(a.x, x, "x")
    _same(a.loss, loss, "loss")
    _same(a.grad_norm, gn, "grad_norm")
    _check_stats(a, st)
    return a


def _quadratic(d, m, block, seed, cond, lam_max):
    return tb.make_problem("psd-quadratic", d=d, m=m, block=block, seed=seed, cond=cond, lam_max=lam_max)


@pytest.mark.parametrize("alg", list(ALGS))
@pytest.mark.parametrize("sched", list(SCHEDS))
def test_quadratic_bit_identical_to_the_former_kernel(alg, sched):
    h = _hyper(alg, sched)
    steps = 60
    for q in QUADRATICS:
        p = _quadratic(*q)
        for seed in (0, 7):
            x0 = np.random.default_rng(10 * seed + q[0]).normal(size=p.dim)
            _compare(alg, h, p, x0 if seed else None, steps, seed, np.arange(steps + 1))


@pytest.mark.parametrize("alg", ["heavy-ball", "nesterov"])
@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.99])
def test_momentum_values_bit_identical(alg, beta):
    p = _quadratic(*QUADRATICS[0])
    for sched in SCHEDS:
        _compare(alg, {**SCHEDS[sched], "beta": beta}, p, None, 80, 3, np.arange(81))


@pytest.mark.parametrize("alg", list(ALGS))
def test_sparse_records_long_run_one_dimension_and_divergence(alg):
    """The vector kernel evaluates f and grad f only on recorded steps inside the family's safe radius, the
    former kernel every step: the same numbers, statistics included; runs pushed past 1e150 diverge at the same
    step."""
    p = _quadratic(*QUADRATICS[1])
    rec = np.unique(np.geomspace(1, 3000, 25).astype(int))
    a = _compare(alg, _hyper(alg, "power"), p, None, 3000, 7, np.r_[0, rec], target=0.05)
    assert a.stats["diverged_round"] == -1
    one = tb.make_problem("psd-quadratic", d=1, lam_max=1.0)
    _compare(alg, {**ALGS[alg], "eta": 0.9}, one, [1.0], 200, 0, np.arange(201), target=1e-3)
    # above the stability threshold from the top eigenvector, and Polyak steps against a lower bound far below
    # f* (|x| pushed out to 1e149 and beyond, where f is evaluated every step)
    lam, vec = np.linalg.eigh(p.H)
    d = _compare(alg, {**ALGS[alg], "eta": 2.5 / lam[-1] * (20.0 if alg in ("sign-gd", "muon-nomomentum") else 1.0)},
                 p, vec[:, -1], 5000, 0, np.union1d([0], np.geomspace(1, 5000, 30).astype(int)))
    for f_lower in (-1e149, -1e155):
        _compare(alg, {**ALGS[alg], "schedule": "polyak", "f_lower": f_lower}, p, None, 40, 1, np.arange(41))
    if alg == "gd":
        assert d.diverged


def test_negative_target_and_sweep_identical():
    """A negative target (stop at the running-average crossing) and a sweep over a grid x seeds."""
    p = _quadratic(*QUADRATICS[0])
    a = _compare("gd", dict(eta=0.1), p, None, 50, 0, np.arange(51), target=-10.0)
    assert a.stats["first_average_below_target"] == 0 and np.isnan(a.loss[1:]).all()
    grid = {"eta": [0.05, 0.2], "beta": [0.0, 0.5]}
    s = tb.sweep(p, "heavy-ball", grid=grid, seeds=3, steps=200, schedule="random", record=np.arange(201))
    assert s.dims == ("eta", "beta", "seed")
    for i, eta in enumerate(grid["eta"]):
        for j, b in enumerate(grid["beta"]):
            for k, seed in enumerate(s.coords["seed"]):
                h = get_algorithm("heavy-ball").resolve(dict(eta=eta, beta=b, schedule="random"))
                x, loss, gn, st = legacy_run("heavy-ball", h, p.x0, seed, 200, np.arange(201), H=p.H,
                                             layers=p.layers, blocks=p.blocks)
                _same(s.x[i, j, k], x, "x")
                _same(s.loss[i, j, k], loss, "loss")


def test_gd_elsewhere_is_the_single_machine_gd():
    """``gd`` on psd-quadratic runs steepest-gd (random schedule on stream 0, as the former kernel); on the
    other vector instances it is still the single-machine gd of methods.first_order_vector (stream 2^21)."""
    from theorybench.declare import get_vector_method
    from theorybench.rng import uniform01
    for name in ("monomial", "linear-system"):
        assert algorithm_for("gd", tb.make_problem(name)).kernel == "vector"
    assert get_vector_method("gd").step.py_func.__module__ == "theorybench.methods.first_order_vector"
    p = tb.make_problem("psd-quadratic", d=1, lam_max=1.0)
    r = tb.run(p, "gd", steps=1, x0=[1.0], seed=4, eta=0.5, schedule="random", record=[0, 1])
    assert r.x[-1, 0] == 1.0 - 0.5 * (1.0 - uniform01(4, 0, 0)) * 1.0
    with pytest.raises(tb.TheoryBenchError, match="cannot run problem"):
        tb.run("tanh-mlp", "muon", steps=1)


# ---------------------------------------------------------------- the MLP (the NumPy driver)

def _mlp(**kw):
    p = tb.make_problem("tanh-mlp", **kw)
    return p, SimpleNamespace(X=p.X, Y=p.Y, widths=p.widths, layers=p.layers, blocks=p.blocks)


def _compare_mlp(alg, h, p, legacy_p, steps, seed, record, target=0.0, x0=None):
    assert algorithm_for(alg, p).kernel == "steepest"  # the NumPy driver
    a = tb.run(p, alg, steps=steps, seed=seed, record=record, target=target, x0=x0, **h)
    x, loss, gn, st = legacy_run(alg, get_algorithm(alg).resolve(h), p.x0 if x0 is None else x0, seed, steps,
                                 record, target, mlp=legacy_p)
    _same(a.x, x, "x")
    _same(a.loss, loss, "loss")
    _same(a.grad_norm, gn, "grad_norm")
    for k in ("diverged_round", "first_below_target", "max_abs_x"):
        assert a.stats[k] == st[k], (k, a.stats[k], st[k])
    return a


@pytest.mark.parametrize("alg", list(ALGS))
def test_mlp_bit_identical_to_the_former_driver(alg):
    p, lp = _mlp(n=64, dim=8, classes=3, width=12, seed=1)
    for sched in SCHEDS:
        h = _hyper(alg, sched)
        if alg in ("linf-descent", "spectral-gd") and sched != "polyak":
            h["eta"] = h["eta"] / 10
        _compare_mlp(alg, h, p, lp, 25, 3, np.arange(26), target=0.05)
    # a diverging run (Polyak against a lower bound far below f*)
    _compare_mlp(alg, {**ALGS[alg], "schedule": "polyak", "f_lower": -1e155}, p, lp, 10, 0, np.arange(11))


def test_mlp_short_edge_of_stability_run_bit_identical():
    """ES-1's GD and ES-2's SignGD on the default MLP (512 points, 32-64-64-10) for a short run, sparse records."""
    p, lp = _mlp()
    rec = np.r_[0:201:10]
    for alg, eta in (("gd", 0.5), ("sign-gd", 0.004), ("muon-nomomentum", 0.06)):
        _compare_mlp(alg, dict(eta=eta), p, lp, 200, 0, rec)


def test_numpy_driver_takes_any_model_and_agrees_with_the_template():
    """The NumPy driver is generic: a user's model that supplies ``loss_grad`` and the geometry (here the
    quadratic of psd-quadratic, its f and grad f from the family's compiled pieces) runs every method, and takes
    the template's steps bit for bit (the polar methods: NumPy's SVD in the driver, Numba's in the template,
    last bits apart, which normalized steps amplify; their first steps compared to rounding)."""
    from problems.psd_quadratic import psdq_grad, psdq_value
    from theorybench.problem import Problem
    q = _quadratic(*QUADRATICS[0])

    class NumpyQuadratic(Problem):
        layers, blocks = q.layers, q.blocks

        def loss_grad(self, w):
            g = np.empty_like(w)
            psdq_grad(w, g, q.H)
            return psdq_value(w, q.H), g

    user = NumpyQuadratic("my-quadratic", -7, np.zeros((1, 1)), q.dim, q.x0)
    for alg in ALGS:
        assert algorithm_for(alg, user).kernel == "steepest"
        for sched in SCHEDS:
            h = _hyper(alg, sched)
            a = tb.run(user, alg, steps=40, seed=2, **h)
            b = tb.run(q, alg, steps=40, seed=2, **h)
            if alg in ("spectral-gd", "muon-nomomentum"):  # last-bit SVD differences, amplified over the run
                np.testing.assert_allclose(a.x[:6], b.x[:6], rtol=1e-9, atol=1e-12, err_msg=f"{alg} {sched}")
            else:
                _same(a.x, b.x, "x")
                _same(a.loss, b.loss, "loss")
                _same(a.grad_norm, b.grad_norm, "grad_norm")


def test_thread_count_invariance_of_the_quadratic_methods():
    """NUMBA_NUM_THREADS = 1 and 2 give the same numbers (every method, a sweep of 8 configurations)."""
    code = ("import numpy as np; import theorybench as tb\n"
            "for a in ['gd', 'linf-descent', 'sign-gd', 'block-cd', 'spectral-gd', 'muon-nomomentum', 'heavy-ball', "
            "'nesterov']:\n"
            "    s = tb.sweep('psd-quadratic', a, {'eta': [0.01, 0.05, 0.2, 0.5]}, seeds=2, steps=150, "
            "problem_settings={'d': 12, 'm': 3, 'block': 5}, schedule='random')\n"
            "    print(a, repr(s.x.tolist()), repr(s.loss.tolist()))\n")
    outs = []
    for threads in ("1", "2"):
        env = {**os.environ, "NUMBA_NUM_THREADS": threads}
        outs.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                   check=True).stdout)
    assert outs[0] == outs[1] and outs[0].count("\n") == 8
