"""Lower-bound instances for clipped minibatch SGD (Crawshaw, Bao, Liu, NeurIPS 2023), three regimes.

All three constructions are DERIVED (docs/conventions.md, section "Lower-bound instances (DERIVED)"): the
paper's exact constructions were not readable; these instances reproduce the mechanism of each regime, and
their constants are checked with sympy in ``tests/test_federated_family.py`` and in the claims' evidence.

Notation: eps the stationarity target, (L0, L1) the smoothness constants, M a bound on the gradients,
Delta = f(x0) - inf f.

Each objective is also a declared scalar family (``theorybench.declare.ObjectiveFamily``, end of this module:
``ramp1``, ``cosh1``, ``huber1``), so the federated methods run on these instances through composed kernels
(``theorybench.compose``), with the arithmetic of ``theorybench.families``' RAMP, COSH and HUBER operation for
operation (the same numbers as the generic federated kernel, ``tests/test_lower_bounds_composed.py``).
"""
import math

import numpy as np
from numba import njit

from theorybench.declare import ObjectiveFamily, declare_family
from theorybench.errors import TheoryBenchError
from theorybench.families import COSH, HUBER, RAMP, _huber, _huber_prime, _ramp, _ramp_prime
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


# ------------------------------------------------------------------ declared families (theorybench.declare)
# The three objectives above as declared scalar families (d = 1): client i's row c = params[i]. Each piece is
# the d = 1 case of theorybench.families.client_value / client_grad, operation for operation: the value is
# the family's sum over coordinates started at 0.0 (``0.0 + t``, so signed zeros are the generic kernel's),
# the helpers (_ramp, _huber, ...) are the same @njit functions. The composed kernels inline these pieces.
#
# safe_radius(rows): a radius rho with |f_i(x)|, |f_i'(x)| <= 1e149 for |x| < rho (derived per family below;
# 1e149 leaves a factor 10 below the divergence rule's 1e150 for the rounding of a few operations and of the
# mean over clients), so a kernel may skip f off the record schedule inside it (theorybench.declare). 0 (never
# safe) for rows outside the derivation (non-finite numbers, w <= 0, L0 <= 0).

_SAFE = 1e149


@njit(cache=True, inline="always")
def ramp1_value(c, x):
    """Regime A: ``f_i(x) = c[0] psi_w(x)``, ``w = c[1]`` (the C^1 ramp of ``families.RAMP``)."""
    return c[0] * (0.0 + _ramp(x, c[1]))


@njit(cache=True, inline="always")
def ramp1_grad(c, x):
    """``f_i'(x) = c[0] psi_w'(x)``: ``c[0]`` on x >= 0, ``c[0] (1 + x/w)`` on [-w, 0), 0 below."""
    return c[0] * _ramp_prime(x, c[1])


def ramp1_safe_radius(rows):
    """With ``K = max_i |c_0|`` and ``W = max_i w``: ``|psi_w(x)| <= max(|x|, w)`` (psi_w lies in [-w/2, 0]
    on x < 0, where x*x is formed only for |x| <= w) and ``|psi_w'| <= 1``, so ``|f_i| <= K max(|x|, W)`` and
    ``|f_i'| <= K``; ``rho = 1e149/K`` (at most 1e150) when ``K W < 1e149`` and ``W < 1e149``."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 2 or not np.isfinite(rows).all() or not (rows[:, 1] > 0.0).all():
        return 0.0
    K, W = float(np.abs(rows[:, 0]).max()), float(rows[:, 1].max())
    if W >= _SAFE or K * W >= _SAFE:
        return 0.0
    return 1e150 if K == 0.0 else min(1e150, _SAFE / K)


@njit(cache=True, inline="always")
def cosh1_value(c, x):
    """Regime B: ``f_i(x) = A (cosh(L1 x) - 1)`` with ``A = c[0]``, ``L1 = c[1]`` (``families.COSH``)."""
    return c[0] * (0.0 + (np.cosh(c[1] * x) - 1.0))


@njit(cache=True, inline="always")
def cosh1_grad(c, x):
    """``f_i'(x) = A L1 sinh(L1 x)``."""
    return c[0] * c[1] * np.sinh(c[1] * x)


def cosh1_safe_radius(rows):
    """With ``K = max_i max(|A|, |A L1|)`` and ``Lm = max_i |L1|``: for ``|L1 x| <= u``, ``cosh - 1`` and
    ``|sinh|`` are below ``e^u``, so ``|f_i|, |f_i'| <= K e^u``; ``u = min(700, ln(1e148/K))`` (a factor 10
    for the rounding of cosh, sinh and L1 x; 700 keeps cosh finite, so A = 0 gives 0, not 0 * inf),
    ``rho = u/Lm``."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 2 or not np.isfinite(rows).all():
        return 0.0
    A, L1 = np.abs(rows[:, 0]), np.abs(rows[:, 1])
    K = float(max(A.max(), (A * L1).max()))
    Lm = float(L1.max())
    if not np.isfinite(K) or K >= _SAFE / 10.0:
        return 0.0
    if Lm == 0.0:
        return 1e150
    u = 700.0 if K == 0.0 else min(700.0, math.log(_SAFE / 10.0 / K))
    return min(1e150, u / Lm)


@njit(cache=True, inline="always")
def huber1_value(c, x):
    """Regime C: ``f_i(x) = 2 eps |x| - 2 eps^2/L0`` for ``|x| >= 2 eps/L0``, ``(L0/2) x^2`` inside
    (``eps = c[0]``, ``L0 = c[1]``; ``families.HUBER``, not ``HUBER1``)."""
    return 0.0 + _huber(x, c[0], c[1])


@njit(cache=True, inline="always")
def huber1_grad(c, x):
    """``f_i'(x) = 2 eps sign(x)`` outside, ``L0 x`` inside."""
    return _huber_prime(x, c[0], c[1])


def huber1_safe_radius(rows):
    """With ``E = max_i 2|eps|`` and ``Q = max_i 2 eps^2/L0`` (L0 > 0): ``|f_i| <= E |x| + Q`` (inside,
    ``(L0/2) x^2 <= 2 eps^2/L0``) and ``|f_i'| <= E`` (``L0 |x| < 2 eps`` inside); ``rho = (1e149 - Q)/E`` (at
    most 1e150) when ``Q <= 1e149/2``."""
    rows = np.asarray(rows, dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] != 2 or not np.isfinite(rows).all() or not (rows[:, 1] > 0.0).all():
        return 0.0
    eps, L0 = np.abs(rows[:, 0]), rows[:, 1]
    E = float((2.0 * eps).max())
    with np.errstate(over="ignore"):
        Q = float((2.0 * eps * eps / L0).max())
    if not (np.isfinite(Q) and np.isfinite(E)) or Q > _SAFE / 2.0 or E >= _SAFE:
        return 0.0
    return 1e150 if E == 0.0 else min(1e150, (_SAFE - Q) / E)


def _rows(code, what):
    def rows(problem):
        if problem.family != code or problem.dim != 1:
            raise TheoryBenchError(f"problem {problem.name!r} is not in the {what} layout (family code "
                                   f"{problem.family}, d = {problem.dim})")
        return problem.params
    return rows


RAMP1 = declare_family(ObjectiveFamily(
    "ramp1", ramp1_value, ramp1_grad, problems=("lower-bound-a",), rows=_rows(RAMP, "ramp"),
    safe_radius=ramp1_safe_radius, code=RAMP, tuple_rows=True,
    doc="c_0 psi_w(x), w = c_1: the C^1 ramp of the lower bound's regime A (DERIVED instance)"))
COSH1 = declare_family(ObjectiveFamily(
    "cosh1", cosh1_value, cosh1_grad, problems=("lower-bound-b",), rows=_rows(COSH, "cosh"),
    safe_radius=cosh1_safe_radius, code=COSH, tuple_rows=True,
    doc="A (cosh(L1 x) - 1): the lower bound's regime B (DERIVED instance)"))
HUBER1D = declare_family(ObjectiveFamily(
    "huber1", huber1_value, huber1_grad, problems=("lower-bound-c",), rows=_rows(HUBER, "Huber"),
    safe_radius=huber1_safe_radius, code=HUBER, tuple_rows=True,
    doc="2 eps |x| - 2 eps^2/L0 outside 2 eps/L0, (L0/2) x^2 inside: the lower bound's regime C (DERIVED)"))
