"""(L0,L1)-smooth polynomials, exponentials and the adaptive-method instances (Zhang, He, Sra,
Jadbabaie, ICLR 2020; Gorbunov et al., arXiv 2409.14989; Crawshaw et al., NeurIPS 2022; Crawshaw, Liu,
ICLR 2025; Khirirat et al., arXiv 2410.16871; docs/conventions.md, section "(L0,L1)-smoothness").

Tight (L0, L1) constants (Hessian form ``|f''| <= L0 + L1 |f'|``, tight L0 for a given L1 is
``sup_x (|f''| - L1 |f'|)``), derived with sympy (``theorybench.smoothness`` recomputes them in the tests):

    (1/p)|x|^p, p > 2 (also (1/p)||x||^p in R^d): L0 = ((p-2)/L1)^(p-2)
    x^p (p even):                                 L0 = p ((p-2)/L1)^(p-2); x^4: L0 = 16/L1^2
    exp(a x):                                     (0, |a|)
    (L0/L1^2)(cosh(L1 x) - 1):                    (L0, L1)
    extremal (L0/L1^2)(exp(L1|x|) - L1|x| - 1):   (L0, L1), with equality E'' = L0 + L1|E'| (DERIVED)
"""
import numpy as np

from theorybench.families import ABSPOW, COSH, EXPA, EXTREMAL, HUBER1, MONOMIAL, QUARTIC
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

DIM = Param("d", 1, "dimension d", kind="int", low=1, high=10**6)
L1_FOR = Param("L1", 3.0, "the L1 at which the tight L0 constant is reported", low=0.0, low_open=True)


def tight_L0_abs_power(p, L1):
    """Tight L0 of (1/p)|x|^p for a given L1 (p > 2): ``((p-2)/L1)^(p-2)`` [sympy]."""
    return ((p - 2.0) / L1) ** (p - 2.0)


def tight_L0_monomial(p, L1):
    """Tight L0 of x^p (p even > 2) for a given L1: ``p ((p-2)/L1)^(p-2)`` [sympy]."""
    return p * ((p - 2.0) / L1) ** (p - 2.0)


def _start(x0, d):
    return np.full(d, float(x0))


@register_problem("monomial", [
    Param("p", 4, "the power p (an even integer >= 2, so that f is convex and bounded below)", kind="int",
          low=2, high=64),
    DIM, Param("x0", 1.0, "start x0 (every coordinate)"), L1_FOR,
], reference="Gorbunov et al. arXiv 2409.14989 (x^4, x0 in {1, 10, 100})")
def monomial(p, d, x0, L1):
    """``f(x) = sum_j x_j^p`` (p even); f* = 0 at x* = 0. Tight L0 for the given L1:
    ``p ((p-2)/L1)^(p-2)`` (x^4: 16/L1^2, so (4, 3) is valid)."""
    if p % 2:
        from theorybench.errors import TheoryBenchError
        raise TheoryBenchError(f"parameter 'p' of problem 'monomial' must be an even integer, got {p}")
    c = {"f_star": Constant(0.0, "closed form"), "L1": Constant(L1, "given")}
    if p > 2:
        c["L0"] = Constant(tight_L0_monomial(p, L1), "sympy: sup_x (p(p-1)x^(p-2) - L1 p|x|^(p-1))")
    else:
        c["L0"] = Constant(2.0, "closed form: f'' = 2")
    return Problem("monomial", MONOMIAL, np.array([[1.0, float(p)]]), d, _start(x0, d), constants=c)


@register_problem("abs-power", [
    Param("p", 4.0, "the power p (> 1; (L0,L1)-smooth iff p >= 2)", low=1.0, low_open=True),
    DIM, Param("radial", 0, "1: ||x||^p/p; 0: sum_j |x_j|^p/p", kind="int", low=0, high=1),
    Param("x0", 1.0, "start x0 (every coordinate)"), L1_FOR,
], reference="Gorbunov et al. arXiv 2409.14989; Vankov et al. arXiv 2410.10800")
def abs_power(p, d, radial, x0, L1):
    """``f(x) = |x|^p/p`` (separable, or radial ``||x||^p/p``); f* = 0. Tight L0 for a given L1 (p > 2):
    ``((p-2)/L1)^(p-2)`` [sympy]; for 1 < p < 2 not (L0,L1)-smooth (f'' unbounded at 0)."""
    c = {"f_star": Constant(0.0, "closed form"), "L1": Constant(L1, "given")}
    if p > 2:
        c["L0"] = Constant(tight_L0_abs_power(p, L1), "sympy: sup_x ((p-1)|x|^(p-2) - L1 |x|^(p-1))")
    return Problem("abs-power", ABSPOW, np.array([[float(p), float(radial)]]), d, _start(x0, d), constants=c)


@register_problem("exp", [
    Param("a", 1.0, "rate a of exp(a x)"), DIM, Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="Gorbunov et al. arXiv 2409.14989")
def exp_problem(a, d, x0):
    """``f(x) = sum_j exp(a x_j)``: (0, |a|)-smooth (f'' = |a| f'); inf f = 0, not attained."""
    return Problem("exp", EXPA, np.array([[float(a)]]), d, _start(x0, d), constants={
        "L0": Constant(0.0, "closed form: f'' = |a| |f'|"), "L1": Constant(abs(a), "closed form"),
        "f_star": Constant(0.0, "closed form (infimum, not attained)")})


@register_problem("cosh", [
    Param("L0", 1.0, "L0 (f = (L0/L1^2)(cosh(L1 x) - 1))", low=0.0, low_open=True),
    Param("L1", 1.0, "L1", low=0.0, low_open=True), DIM, Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="Zhang, He, Sra, Jadbabaie, ICLR 2020 (DERIVED instance of the fixed-step lower bound)")
def cosh_problem(L0, L1, d, x0):
    """``f(x) = (L0/L1^2) sum_j (cosh(L1 x_j) - 1)``: (L0, L1)-smooth (f'' = L0 cosh <= L0 + L1|f'|); f* = 0.
    The default (1, 1) is ``cosh(x) - 1`` of LS-3."""
    return Problem("cosh", COSH, np.array([[L0 / L1 ** 2, L1]]), d, _start(x0, d), constants={
        "L0": Constant(L0, "sympy: sup (L0 cosh(L1 x) - L1 (L0/L1)|sinh(L1 x)|) = L0"),
        "L1": Constant(L1, "closed form"), "f_star": Constant(0.0, "closed form")})


@register_problem("extremal", [
    Param("L0", 1.0, "L0", low=0.0, low_open=True), Param("L1", 1.0, "L1", low=0.0, low_open=True), DIM,
    Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="DERIVED: E'' = L0 + L1|E'| (docs/conventions.md, (L0,L1)-smoothness)")
def extremal(L0, L1, d, x0):
    """The extremal (L0,L1) function ``E(x) = sum_j (L0/L1^2)(exp(L1|x_j|) - L1|x_j| - 1)`` (DERIVED):
    ``E'' = L0 + L1|E'|`` exactly; f* = 0 at 0."""
    return Problem("extremal", EXTREMAL, np.array([[L0, L1]]), d, _start(x0, d), constants={
        "L0": Constant(L0, "closed form: E'' - L1|E'| = L0"), "L1": Constant(L1, "closed form"),
        "f_star": Constant(0.0, "closed form")})


@register_problem("huber", [
    Param("eps", 0.05, "stationarity target eps (slope 2 eps outside the core)", low=0.0, low_open=True),
    Param("L0", 1.0, "curvature of the quadratic core", low=0.0, low_open=True),
    Param("Delta", 1.0, "initial gap f(x0) - inf f", low=0.0, low_open=True),
    Param("sigma", 1.0, "Rademacher noise +-sigma on the second (flat) coordinate", low=0.0),
    Param("noise", "rademacher", "noise model of the second coordinate", kind="choice",
          choices=("rademacher", "uniform", "gaussian", "truncated-gaussian")),
], reference="Crawshaw, Liu, ICLR 2025 (DERIVED instance reproducing Omega(Delta^2 L1^2 sigma^2 eps^-4))")
def huber(eps, L0, Delta, sigma, noise):
    """DERIVED AG-1 instance in d = 2: ``f(x) = h(x_1)`` with the Huber ``h = 2 eps |x| - 2 eps^2/L0`` for
    ``|x| >= 2 eps/L0``, ``(L0/2) x^2`` inside; x_2 is flat and its gradient carries the noise (+-sigma).
    Start ``x0 = (Delta/(2 eps) + eps/L0, 0)`` so that ``f(x0) = Delta``; ``|f'| <= eps`` iff ``|x_1| <= eps/L0``.
    Decorrelated AdaGrad-Norm with ``gamma = sqrt(sigma^2 + 4 eps^2)`` needs about
    ``Delta^2 (sigma^2 + 4 eps^2)/(64 eta^2 eps^4)`` steps (``steps_to_eps_formula``)."""
    x0 = Delta / (2.0 * eps) + eps / L0
    return Problem("huber", HUBER1, np.array([[eps, L0]]), 2, [x0, 0.0], noise=noise, sigma=sigma,
                   noise_coords=(1,), constants={
                       "f_star": Constant(0.0, "closed form"), "L0": Constant(L0, "closed form: f'' <= L0"),
                       "Delta": Constant(Delta, "closed form"),
                       "stationary_within": Constant(eps / L0, "closed form: |f'| <= eps iff |x_1| <= eps/L0")})


def steps_to_eps_formula(Delta, sigma, eta, eps):
    """``Delta^2 (sigma^2 + 4 eps^2)/(64 eta^2 eps^4)``: decorrelated AdaGrad-Norm's steps to ``|f'| <= eps``
    on :func:`huber` (DERIVED: the x_1 step is ``2 eps eta/sqrt((t+1)(sigma^2 + 4 eps^2))``, summing to
    ``4 eps eta sqrt(T)/sqrt(sigma^2 + 4 eps^2)`` over T steps, against a distance ``Delta/(2 eps)``)."""
    return Delta ** 2 * (sigma ** 2 + 4.0 * eps ** 2) / (64.0 * eta ** 2 * eps ** 4)


@register_problem("quartic-clients", [
    Param("n", 10, "clients n", kind="int", low=1, high=10**5),
    Param("d", 100, "dimension d", kind="int", low=1, high=10**5),
    Param("data_seed", 0, "seed of b_ij ~ N(0, 1) (NumPy default_rng)", kind="int", low=0),
    Param("x0", 0.0, "start x0 (every coordinate)"),
], reference="Khirirat et al. arXiv 2410.16871 (instance [text]; start DERIVED)")
def quartic_clients(n, d, data_seed, x0):
    """``f_i(x) = (1/4) sum_j (x_j - b_ij)^4``, ``b_ij ~ N(0, 1)``; f = mean_i f_i. Each f_i is
    (4/L1^2, L1)-smooth for every L1 (coordinate-wise tight L0 of t^4/4 is ((4-2)/L1)^2 = 4/L1^2)."""
    b = np.random.default_rng(data_seed).standard_normal((n, d))
    return Problem("quartic-clients", QUARTIC, b, d, _start(x0, d), constants={
        "L0_times_L1_sq": Constant(4.0, "sympy: tight L0 of t^4/4 is 4/L1^2 for every L1")})
