"""Lower-bound instances for clipped minibatch SGD (Crawshaw, Bao, Liu, NeurIPS 2023), three regimes.

All three constructions are DERIVED (docs/conventions.md, section "Lower-bound instances (DERIVED)"): the
paper's exact constructions were not readable; these instances reproduce the mechanism of each regime, and
their constants are checked with sympy in ``tests/test_lower_bounds.py`` and in the claims' evidence.

Notation: eps the stationarity target, (L0, L1) the smoothness constants, M a bound on the gradients,
Delta = f(x0) - inf f.
"""
import math

import numpy as np

from theorybench.families import COSH, HUBER, RAMP
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem


@register_problem("lower-bound-a", [
    Param("eps", 0.05, "stationarity target eps (s = 2 eps is the slope of f on x >= 0)", low=0.0, low_open=True),
    Param("L0", 1.0, "smoothness constant L0 (w = C/L0)", low=0.0, low_open=True),
    Param("c", 1.0, "pull of clients 1 and 2 (choose c in [gamma/eta, (M - 3s)/2])", low=0.0, low_open=True),
    Param("D", 0.2, "start x0 = D > 0", low=0.0, low_open=True),
], reference="Crawshaw, Bao, Liu, NeurIPS 2023, regime gamma/eta <= (M - 3s)/2 (DERIVED instance)")
def lower_bound_a(eps, L0, c, D):
    """Regime A (heterogeneous linear), DERIVED: N = 3 clients, ``f_1 = f_2 = -c psi_w``,
    ``f_3 = C psi_w`` with ``s = 2 eps``, ``C = 3s + 2c``, ``w = C/L0``; ``f = s psi_w``; x0 = D.

    With S = 1 client sampled per round and ``gamma/eta <= c``, every sampled gradient on x >= 0 is
    clipped: the iterate is a random walk with steps +gamma (p = 2/3) and -gamma (p = 1/3), drifting away
    from the stationary region ``x <= -w/2`` (where ``|f'| <= eps``).
    """
    s = 2.0 * eps
    C = 3.0 * s + 2.0 * c
    w = C / L0
    params = np.array([[-c, w], [-c, w], [C, w]])
    return Problem("lower-bound-a", RAMP, params, 1, [D], constants={
        "s": Constant(s, "closed form: s = 2 eps"), "C": Constant(C, "closed form: C = 3s + 2c"),
        "w": Constant(w, "closed form: w = C/L0"),
        "M": Constant(C, "closed form: max_i sup |f_i'| = C (attained on x >= 0)"),
        "stationary_below": Constant(-w / 2, "closed form: |f'| = s psi_w'(x) <= eps iff x <= -w/2"),
        "f_star": Constant(-s * w / 2, "closed form: inf f = s inf psi_w = -s w/2"),
        "Delta": Constant(s * D + s * w / 2, "closed form: f(D) - inf f"),
    })


def regime_b_constants(eta, M, L1):
    """``a = eta M/2``, ``A = M/(L1 sinh(L1 a))``, ``L0 = A L1^2``: GD with step eta maps a -> -a -> a."""
    a = eta * M / 2.0
    A = M / (L1 * math.sinh(L1 * a))
    return a, A, A * L1 * L1


@register_problem("lower-bound-b", [
    Param("eta", 2.0, "the stepsize the instance is built for (a = eta M/2)", low=0.0, low_open=True),
    Param("M", 1.0, "gradient norm on the 2-cycle", low=0.0, low_open=True),
    Param("L1", 1.0, "smoothness constant L1", low=0.0, low_open=True),
    Param("p", 1e-9, "relative offset of the start: x0 = a (1 + p) (p < 0 starts inside the cycle)"),
], reference="Crawshaw, Bao, Liu, NeurIPS 2023, regime gamma/eta > M, eta large (DERIVED instance)")
def lower_bound_b(eta, M, L1, p):
    """Regime B (homogeneous exponential), DERIVED: ``f(x) = A (cosh(L1 x) - 1)`` with ``a = eta M/2``,
    ``A = M/(L1 sinh(L1 a))``; (L0, L1) = (A L1^2, L1).

    Without clipping (gamma/eta > M), GD maps a -> -a -> a with ``|f'| = M``. The cycle is repelling,
    so the start is just outside it, ``x0 = a (1 + p)``, from where ``|f'(x_r)| >= M`` forever (until
    overflow). The instance belongs to the (L0, L1) class with a given L0 iff
    ``eta >= (2/(L1 M)) arcsinh(M L1/L0)``.
    """
    a, A, L0 = regime_b_constants(eta, M, L1)
    params = np.array([[A, L1]])
    return Problem("lower-bound-b", COSH, params, 1, [a * (1.0 + p)], constants={
        "a": Constant(a, "closed form: a = eta M/2"), "A": Constant(A, "closed form: A = M/(L1 sinh(L1 a))"),
        "L0": Constant(L0, "closed form: L0 = A L1^2 (f'' = L0 cosh(L1 x) <= L0 + L1 |f'|, sympy)"),
        "L1": Constant(L1, "closed form"), "M": Constant(M, "closed form: |f'(+-a)| = M"),
        "eta_min_in_class": Constant(2.0 / (L1 * M) * math.asinh(M * L1 / L0),
                                     "closed form: A L1^2 <= L0 iff eta >= (2/(L1 M)) arcsinh(M L1/L0)"),
        "f_star": Constant(0.0, "closed form"),
    })


@register_problem("lower-bound-c", [
    Param("eps", 0.05, "stationarity target eps (the slope outside is 2 eps)", low=0.0, low_open=True),
    Param("L0", 1.0, "curvature of the quadratic core", low=0.0, low_open=True),
    Param("Delta", 1.0, "initial gap f(x0) - inf f", low=0.0, low_open=True),
], reference="Crawshaw, Bao, Liu, NeurIPS 2023, regime gamma/eta > M, eta < 1/(L1 M) (DERIVED instance)")
def lower_bound_c(eps, L0, Delta):
    """Regime C (homogeneous linear/Huber), DERIVED: ``f(x) = 2 eps |x| - 2 eps^2/L0`` for
    ``|x| >= 2 eps/L0`` and ``(L0/2) x^2`` inside; ``x0 = Delta/(2 eps) + eps/L0`` so that
    ``f(x0) = Delta``. Unclipped GD crawls ``2 eps eta`` per round, so reaching ``|f'| <= eps`` (``|x| <=
    eps/L0``) takes ``R >= (Delta/(2 eps) - eps/L0)/(2 eps eta)`` rounds. The instance has no M: under the
    regime's stepsize restriction ``eta = c/(L1 M)`` this gives ``R ~ Delta L1 M/(4 c eps^2)``.
    """
    x0 = Delta / (2.0 * eps) + eps / L0
    params = np.array([[eps, L0]])
    return Problem("lower-bound-c", HUBER, params, 1, [x0], constants={
        "x0": Constant(x0, "closed form: f(x0) = Delta"), "Delta": Constant(Delta, "closed form"),
        "f_star": Constant(0.0, "closed form"), "L0": Constant(L0, "closed form: f'' <= L0"),
        "stationary_within": Constant(eps / L0, "closed form: |f'| <= eps iff |x| <= eps/L0"),
    })


def regime_c_rounds_lower_bound(eps, L0, Delta, eta):
    """``(Delta/(2 eps) - eps/L0)/(2 eps eta)``: rounds of unclipped GD before ``|x| <= 2 eps/L0``
    can be reached from x0 (a lower bound on rounds to eps-stationarity)."""
    return (Delta / (2.0 * eps) - eps / L0) / (2.0 * eps * eta)
