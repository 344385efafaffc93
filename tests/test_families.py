"""Instances: values and gradients against sympy, constants against their definitions."""
import numpy as np
import pytest
import sympy as sp

import theorybench as tb

X = sp.Symbol("x")


def _sympy_clients(name, settings):
    if name == "two-client-quadratic":
        g = settings.get("gamma", 1.0)
        a = [-g - 1, g + 2]
        return [X**2 / 2 + ai * X for ai in a]
    H = settings.get("H", 1.0)
    return [X**4 - 3 * X**3 - H * hi * X**2 + X for hi in (-1, 2)]


CASES = [("two-client-quadratic", {"gamma": 0.5}), ("two-client-quadratic", {"gamma": 3.0}),
         ("episode-quartic", {"H": 1.0}), ("episode-quartic", {"H": 4.0}), ("episode-quartic", {"H": 2.5})]


@pytest.mark.parametrize("name, settings", CASES)
def test_values_and_gradients_match_sympy(name, settings):
    prob = tb.make_problem(name, **settings)
    clients = _sympy_clients(name, settings)
    f = sum(clients) / len(clients)
    for x in np.linspace(-3, 4, 29):
        for i, fi in enumerate(clients):
            assert prob.client_value(i, [x]) == pytest.approx(float(fi.subs(X, x)), rel=1e-13, abs=1e-12)
            assert prob.client_grad(i, [x])[0] == pytest.approx(float(sp.diff(fi, X).subs(X, x)), rel=1e-13, abs=1e-12)
        assert prob.value([x]) == pytest.approx(float(f.subs(X, x)), rel=1e-13, abs=1e-12)
        assert prob.grad([x])[0] == pytest.approx(float(sp.diff(f, X).subs(X, x)), rel=1e-13, abs=1e-12)


@pytest.mark.parametrize("name, settings", CASES)
def test_gradient_matches_finite_differences(name, settings):
    prob = tb.make_problem(name, **settings)
    h = 1e-6
    for x in np.linspace(-2, 3, 11):
        fd = (prob.value([x + h]) - prob.value([x - h])) / (2 * h)
        assert prob.grad([x])[0] == pytest.approx(fd, rel=1e-6, abs=1e-6)


def test_quadratic_constants_are_exact():
    prob = tb.make_problem("two-client-quadratic", gamma=2.0)
    assert prob.constant("x_star") == -0.5
    assert prob.grad([prob.constant("x_star")])[0] == 0.0
    assert prob.constant("grad_at_0") == prob.grad([0.0])[0] == 0.5
    assert prob.value([-0.5]) == prob.constant("f_star")
    assert prob.constants["L"].source.startswith("closed form")


@pytest.mark.parametrize("H", [1.0, 2.0, 4.0])
def test_quartic_global_minimiser(H):
    prob = tb.make_problem("episode-quartic", H=H)
    xs = prob.constant("x_star")
    assert abs(prob.grad([xs])[0]) < 1e-10
    grid = np.linspace(-5, 6, 20001)
    vals = [prob.value([v]) for v in grid]
    assert prob.constant("f_star") <= min(vals) + 1e-12
    assert abs(grid[int(np.argmin(vals))] - xs) < 1e-3


def test_general_linear_coefficients():
    prob = tb.make_problem("two-client-quadratic", a1=-3.0, a2=1.0)
    assert prob.constant("x_star") == 1.0 and prob.grad([1.0])[0] == 0.0
