"""The single-machine kernel (``theorybench.kernels.single``) against the NumPy reference
(``tests/reference_single.py``), the new families' values and gradients against sympy, and the section-3
problems' constants."""
import math

import numpy as np
import pytest
import sympy as sp

import theorybench as tb
from theorybench import families as F
from theorybench.problem import Problem

import reference_federated as reff
import reference_single as ref
import tolerances as tol

SINGLE = [
    ("gd", dict(eta=0.05)),
    ("l0l1-gd", dict(eta=0.7, L0=4.0, L1=3.0)),
    ("clipped-gd", dict(eta=0.3, gamma=0.2, convention="step")),
    ("clipped-gd", dict(eta=0.3, gamma=0.7, convention="grad")),
    ("normalized-gd", dict(R_hat=1.3)),
    ("polyak", dict(f_star=0.0)),
    ("adgd", dict(lambda0=1e-3)),
    ("generalized-signsgd", dict(eta=0.05, beta1=0.8, beta2=0.99, eps=1e-8)),
    ("signsgd", dict(eta=0.05)),
    ("signsgd-momentum", dict(eta=0.05, beta1=0.8, eps=1e-8)),
    ("adam", dict(eta=0.05, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("adagrad-norm", dict(eta=0.5, gamma=0.3)),
    ("decorrelated-adagrad-norm", dict(eta=0.5, gamma=0.3)),
    ("adagrad", dict(eta=0.5, gamma=0.3)),
    ("decorrelated-adagrad", dict(eta=0.5, gamma=0.3)),
]
IDS = [f"{a}-{h.get('convention', '')}".rstrip("-") for a, h in SINGLE]


def _instance(noise="none", sigma=0.0):
    """Radial |x|^3/3 in d = 3 (non-separable, so norms matter)."""
    return Problem("abs-power", F.ABSPOW, np.array([[3.0, 1.0]]), 3, [0.9, -1.7, 0.4], noise=noise, sigma=sigma)


@pytest.mark.parametrize("algo,h", SINGLE, ids=IDS)
@pytest.mark.parametrize("noise", [None, ("gaussian", 0.1)], ids=["exact", "gaussian"])
def test_single_kernel_matches_reference(algo, h, noise):
    T = 60
    prob = _instance(*(noise or ("none", 0.0)))
    res = tb.run(prob, algo, steps=T, seed=3, **h)
    noise_fn = None if noise is None else reff.make_noise_fn(noise[0], noise[1], 3)

    def run(grads, value):
        return ref.reference_run(algo, grads, value, prob.x0, T, noise_fn=noise_fn, seed=3, **h)
    xs = run([lambda x: prob.grad(x)], prob.value)
    np.testing.assert_array_equal(res.rounds, np.arange(T + 1))
    assert not res.diverged
    # Normalized, clipped, sign and adaptive steps amplify last-bit differences (normalized GD oscillates
    # around 0 at |x| ~ eta_t, where g/|g| turns by eta_t/|x| per unit of error): the tolerance is the
    # reference's own measured sensitivity to rounding (tests/tolerances.py, Monte Carlo arithmetic).
    atol = tol.reference_atol(run, tol.local_rel(3), oracles=[[lambda x: prob.grad(x)], prob.value])
    tol.assert_trajectory_close(res.x, np.array(xs), atol, what=f"{algo} iterates")


@pytest.mark.parametrize("algo,h", [("ef21", dict(eta=0.05, k=2, compressor="topk")),
                                    ("ef21", dict(eta=0.05, k=2, compressor="randk")),
                                    ("normalized-ef21", dict(gamma0=1.0, k=2, compressor="topk")),
                                    ("normalized-ef21", dict(gamma0=1.0, k=3, compressor="randk"))],
                         ids=["ef21-topk", "ef21-randk", "nef21-topk", "nef21-randk"])
def test_ef21_matches_reference(algo, h):
    T = 40
    prob = tb.make_problem("quartic-clients", n=3, d=6, data_seed=1, x0=0.3)
    res = tb.run(prob, algo, steps=T, seed=5, **h)
    grads = [(lambda i: (lambda x: prob.client_grad(i, x)))(i) for i in range(3)]

    def run(grads, value):
        return ref.reference_run(algo, grads, value, prob.x0, T, seed=5, **h)
    xs = run(grads, prob.value)
    assert not res.diverged
    # normalized EF21 steps amplify rounding like normalized GD: the reference's measured sensitivity
    # (tests/tolerances.py), the oracle summing 3 clients' gradients in d = 6
    atol = tol.reference_atol(run, tol.local_rel(6, extra=3), oracles=[grads, prob.value])
    tol.assert_trajectory_close(res.x, np.array(xs), atol, what=f"{algo} iterates")


def test_single_results_do_not_depend_on_batching():
    prob = _instance("gaussian", 0.2)
    one = [tb.run(prob, "adam", steps=30, seed=s, eta=0.05).x for s in range(3)]
    sw = tb.sweep(prob, "adam", seeds=3, steps=30, eta=0.05)
    for s in range(3):
        np.testing.assert_array_equal(sw.x[s], one[s])


def test_overflow_is_divergence_not_nan():
    res = tb.run("monomial", "gd", steps=50, eta=1.0, problem_settings=dict(p=4), x0=[10.0])
    assert res.diverged
    res = tb.run("extremal", "gd", steps=50, eta=1.0, problem_settings=dict(L0=1.0, L1=1.0), x0=[30.0])
    assert res.diverged


# --------------------------------------------------------------- families vs sympy

def _sym_family(name, xs, c):
    if name == "monomial":
        return c[0] * sum(x ** int(c[1]) for x in xs)
    if name == "abspow-sep":
        return sum(sp.Abs(x) ** c[0] for x in xs) / c[0]
    if name == "abspow-rad":
        return sp.sqrt(sum(x ** 2 for x in xs)) ** c[0] / c[0]
    if name == "exp":
        return sum(sp.exp(c[0] * x) for x in xs)
    if name == "extremal":
        L0, L1 = c
        return sum(L0 / L1 ** 2 * (sp.exp(L1 * sp.Abs(x)) - L1 * sp.Abs(x) - 1) for x in xs)
    if name == "quartic":
        return sum((x - b) ** 4 for x, b in zip(xs, c)) / 4
    raise ValueError(name)


FAMS = [("monomial", F.MONOMIAL, [1.5, 4.0]), ("monomial", F.MONOMIAL, [1.0, 6.0]),
        ("abspow-sep", F.ABSPOW, [3.5, 0.0]), ("abspow-rad", F.ABSPOW, [4.0, 1.0]),
        ("abspow-rad", F.ABSPOW, [2.5, 1.0]), ("exp", F.EXPA, [-1.3]),
        ("extremal", F.EXTREMAL, [4.0, 3.0]), ("extremal", F.EXTREMAL, [1.0, 0.5]),
        ("quartic", F.QUARTIC, [0.3, -1.2, 2.0])]


@pytest.mark.parametrize("name,code,c", FAMS, ids=[f"{n}-{k}" for k, (n, _, _) in enumerate(FAMS)])
def test_new_family_values_and_gradients_vs_sympy(name, code, c):
    xs = sp.symbols("x0:3", real=True)
    expr = _sym_family(name, xs, [sp.nsimplify(v) for v in c])
    grad = [sp.diff(expr, x) for x in xs]

    def exact(e, pt):  # 40 significant digits: no cancellation in exp(u) - 1 near 0
        return float(e.evalf(40, subs={x: sp.Float(float(v), 40) for x, v in zip(xs, pt)}))
    rs = np.random.default_rng(0)
    cc = np.array(c, dtype=float)
    for pt in [rs.normal(size=3) for _ in range(4)] + [np.array([1e-5, -2e-4, 0.7])]:
        out = np.empty(3)
        F.client_grad(code, cc, pt, out)
        val = F.client_value(code, cc, pt)
        assert val == pytest.approx(exact(expr, pt), rel=1e-12, abs=1e-300)
        np.testing.assert_allclose(out, [exact(g, pt) for g in grad], rtol=1e-12, atol=1e-300)


def test_extremal_small_argument_is_accurate():
    """Near 0 the series branch keeps full relative accuracy (expm1(u) - u would cancel)."""
    for x in (1e-9, 3e-5, 9.9e-4, 1.1e-3):
        exact = sp.Rational(4, 9) * (sp.exp(3 * sp.nsimplify(x)) - 3 * sp.nsimplify(x) - 1)
        assert F.client_value(F.EXTREMAL, np.array([4.0, 3.0]), np.array([x])) == pytest.approx(
            float(exact.evalf(40)), rel=1e-13)


def test_huber1_is_flat_in_second_coordinate():
    prob = tb.make_problem("huber", eps=0.05, L0=1.0, Delta=1.0, sigma=0.0)
    assert prob.value(prob.x0) == pytest.approx(1.0, rel=1e-14)
    g = prob.grad([0.02, 5.0])
    assert g[1] == 0.0 and g[0] == pytest.approx(0.02)


def test_problem_constants_match_table():
    p = tb.make_problem("monomial", p=4, L1=3.0)
    assert p.constant("L0") == pytest.approx(16 / 9)
    p = tb.make_problem("abs-power", p=5.0, L1=2.0)
    assert p.constant("L0") == pytest.approx((3 / 2) ** 3)
    assert tb.make_problem("exp", a=-2.0).constant("L1") == 2.0


SCHEDULED = ["gd", "clipped-gd", "signsgd", "adam", "adagrad-norm", "l0l1-gd"]
STEP_SCHEDULES = [dict(schedule="power", eta=0.4, power=0.7), dict(schedule="random", eta=0.3),
                  dict(schedule="polyak", alpha_max=2.0)]


@pytest.mark.parametrize("algo", SCHEDULED)
@pytest.mark.parametrize("sched", range(len(STEP_SCHEDULES)), ids=["power", "random", "polyak"])
def test_step_schedules_match_reference(algo, sched):
    """Every method with a step eta takes the schedules of the Muon family (power, random, Polyak)."""
    T = 40
    h = dict(STEP_SCHEDULES[sched])
    if algo == "l0l1-gd":
        h.update(L0=1.0, L1=1.0)
    prob = _instance("gaussian", 0.1)
    res = tb.run(prob, algo, steps=T, seed=3, **h)
    noise_fn = reff.make_noise_fn("gaussian", 0.1, 3)

    def run(grads, value):
        return ref.reference_run(algo, grads, value, prob.x0, T, noise_fn=noise_fn, seed=3, **h)
    xs = run([lambda x: prob.grad(x)], prob.value)
    assert not res.diverged
    # Polyak steps divide by |g|^2 and amplify rounding of f: the reference's measured sensitivity
    # (tests/tolerances.py)
    atol = tol.reference_atol(run, tol.local_rel(3), oracles=[[lambda x: prob.grad(x)], prob.value])
    tol.assert_trajectory_close(res.x, np.array(xs), atol, what=f"{algo} iterates")


def test_ef21_with_a_power_schedule_matches_reference():
    h = dict(eta=0.1, k=2, compressor="topk", schedule="power", power=0.5)
    prob = tb.make_problem("quartic-clients", n=3, d=6, data_seed=1, x0=0.3)
    res = tb.run(prob, "ef21", steps=30, seed=5, **h)
    grads = [(lambda i: (lambda x: prob.client_grad(i, x)))(i) for i in range(3)]

    def run(grads, value):
        return ref.reference_run("ef21", grads, value, prob.x0, 30, seed=5, **h)
    xs = run(grads, prob.value)
    # as in test_ef21_matches_reference
    atol = tol.reference_atol(run, tol.local_rel(6, extra=3), oracles=[grads, prob.value])
    tol.assert_trajectory_close(res.x, np.array(xs), atol, what="ef21 iterates")


def test_constant_schedule_is_the_default():
    a = tb.run("monomial", "gd", steps=50, eta=0.01)
    b = tb.run("monomial", "gd", steps=50, eta=0.01, schedule="constant")
    np.testing.assert_array_equal(a.x, b.x)
