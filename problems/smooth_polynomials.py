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

Vector template (``theorybench.declare_vector``): one ``VectorFamily`` per objective below (``sp-monomial``,
``sp-abs-power``, ``sp-exp``, ``sp-cosh``, ``sp-extremal``, ``sp-huber``, ``sp-quartic``), with the arithmetic of
``theorybench.families`` operation for operation (the trajectories are the same numbers), ``client_grad`` (one
client, or the rows of ``b``), and the noise models of the single kernel: ``uniform`` (``U(-sigma, sigma]``),
``gaussian``, ``rademacher`` (+-sigma), ``truncated-gaussian`` (``theorybench.rng.noise``), coordinate j of draw k
of stream s at counter ``k d + j``, only where ``noise_mask[j] != 0`` (the arrays ``sigma``, ``noise_mask``).
``safe_radius``: a radius inside which |f| and ||grad f|| stay below 1e149 (derived per family below, with a
factor 1/2 of room). The values compile with ``error_model="numpy"`` (extremal's L0/L1^2 with an underflowing
L1^2 gives inf, as in the single kernel, not an exception); the gradients divide by nothing that can be 0.
"""
import dataclasses
import math

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family
from theorybench.families import ABSPOW, COSH, EXPA, EXTREMAL, HUBER1, MONOMIAL, QUARTIC
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem
from theorybench.rng import NOISE_GAUSSIAN, NOISE_RADEMACHER, NOISE_TRUNCGAUSS, NOISE_UNIFORM, noise

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


# ================================================================== vector-template families (module docstring)

@njit(cache=True, inline="always")
def sp_add_noise(out, kind, sigma, seed, stream, counter, noise_mask):
    """``out[j] += noise(kind, sigma, seed, stream, counter d + j)`` where ``noise_mask[j] != 0``."""
    d = out.shape[0]
    for j in range(d):
        if noise_mask[j] != 0.0:
            out[j] += noise(kind, sigma, seed, stream, counter * d + j)


@njit(cache=True, inline="always")
def sp_uniform_noise(out, seed, stream, counter, sigma, noise_mask):
    sp_add_noise(out, NOISE_UNIFORM, sigma, seed, stream, counter, noise_mask)


@njit(cache=True, inline="always")
def sp_gaussian_noise(out, seed, stream, counter, sigma, noise_mask):
    sp_add_noise(out, NOISE_GAUSSIAN, sigma, seed, stream, counter, noise_mask)


@njit(cache=True, inline="always")
def sp_rademacher_noise(out, seed, stream, counter, sigma, noise_mask):
    sp_add_noise(out, NOISE_RADEMACHER, sigma, seed, stream, counter, noise_mask)


@njit(cache=True, inline="always")
def sp_truncgauss_noise(out, seed, stream, counter, sigma, noise_mask):
    sp_add_noise(out, NOISE_TRUNCGAUSS, sigma, seed, stream, counter, noise_mask)


NOISE_PIECES = {"uniform": sp_uniform_noise, "gaussian": sp_gaussian_noise, "rademacher": sp_rademacher_noise,
                "truncated-gaussian": sp_truncgauss_noise}


def _radius(bound_f, bound_g):
    """The largest r (times 1/2) with both bounds (increasing functions of r) below 1e149: bisection on a log
    scale (plain Python, once per instance)."""
    lo, hi = 0.0, 1e150
    if bound_f(hi) < 1e149 and bound_g(hi) < 1e149:
        return hi
    for _ in range(200):
        mid = math.sqrt(max(lo, 1e-300) * hi) if lo > 0 else hi * 1e-10 if hi > 1e-290 else 0.5 * hi
        try:
            ok = bound_f(mid) < 1e149 and bound_g(mid) < 1e149
        except OverflowError:
            ok = False
        lo, hi = (mid, hi) if ok else (lo, mid)
        if hi - lo <= 1e-12 * hi:
            break
    return 0.5 * lo


def _safe(fn):
    """A safe_radius from ``fn(problem) -> (bound_f, bound_g)`` (overflow in a bound: not safe)."""
    def radius(problem):
        bf, bg = fn(problem)

        def guard(b):
            def g(r):
                try:
                    return b(r)
                except (OverflowError, ZeroDivisionError):
                    return math.inf
            return g
        return _radius(guard(bf), guard(bg))
    return radius


# x^p: f = A sum_j x_j^p, grad_j = A p x_j^(p-1)  (families.MONOMIAL)
@njit(cache=True, error_model="numpy")
def sp_monomial_value(x, A, p):
    v = 0.0
    for j in range(x.shape[0]):
        v += x[j] ** p
    return A * v


@njit(cache=True, inline="always")
def sp_monomial_grad(x, out, A, p):
    for j in range(x.shape[0]):
        out[j] = A * p * x[j] ** (p - 1.0)


@njit(cache=True, inline="always")
def sp_monomial_client_grad(i, x, out, A, p):
    sp_monomial_grad(x, out, A, p)


# |x|^p/p, separable or radial (families.ABSPOW)
@njit(cache=True, error_model="numpy")
def sp_abspow_value(x, p, radial):
    d = x.shape[0]
    if radial != 0.0:
        s = 0.0
        for j in range(d):
            s += x[j] * x[j]
        return np.sqrt(s) ** p / p
    v = 0.0
    for j in range(d):
        v += abs(x[j]) ** p
    return v / p


@njit(cache=True, inline="always")
def sp_abspow_grad(x, out, p, radial):
    d = x.shape[0]
    if radial != 0.0:
        s = 0.0
        for j in range(d):
            s += x[j] * x[j]
        r = np.sqrt(s)
        f = r ** (p - 2.0) if r > 0.0 else 0.0
        for j in range(d):
            out[j] = f * x[j]
    else:
        for j in range(d):
            a = abs(x[j]) ** (p - 1.0)
            out[j] = a if x[j] > 0.0 else (-a if x[j] < 0.0 else 0.0)


@njit(cache=True, inline="always")
def sp_abspow_client_grad(i, x, out, p, radial):
    sp_abspow_grad(x, out, p, radial)


# sum_j exp(a x_j) (families.EXPA)
@njit(cache=True, error_model="numpy")
def sp_exp_value(x, a):
    v = 0.0
    for j in range(x.shape[0]):
        v += np.exp(a * x[j])
    return v


@njit(cache=True, inline="always")
def sp_exp_grad(x, out, a):
    for j in range(x.shape[0]):
        out[j] = a * np.exp(a * x[j])


@njit(cache=True, inline="always")
def sp_exp_client_grad(i, x, out, a):
    sp_exp_grad(x, out, a)


# A sum_j (cosh(k x_j) - 1), A = L0/L1^2, k = L1 (families.COSH)
@njit(cache=True, error_model="numpy")
def sp_cosh_value(x, A, k):
    v = 0.0
    for j in range(x.shape[0]):
        v += np.cosh(k * x[j]) - 1.0
    return A * v


@njit(cache=True, inline="always")
def sp_cosh_grad(x, out, A, k):
    for j in range(x.shape[0]):
        out[j] = A * k * np.sinh(k * x[j])


@njit(cache=True, inline="always")
def sp_cosh_client_grad(i, x, out, A, k):
    sp_cosh_grad(x, out, A, k)


# the extremal function (L0/L1^2)(expm1(u) - u), u = L1|x| (families.EXTREMAL)
@njit(cache=True, error_model="numpy")
def sp_extremal_1(x, L0, L1):
    u = L1 * abs(x)
    if u < 1e-3:
        r = u * u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u / 120.0)))
    else:
        r = np.expm1(u) - u
    return L0 / (L1 * L1) * r


@njit(cache=True, error_model="numpy")
def sp_extremal_value(x, L0, L1):
    v = 0.0
    for j in range(x.shape[0]):
        v += sp_extremal_1(x[j], L0, L1)
    return v


@njit(cache=True, inline="always")
def sp_extremal_grad(x, out, L0, L1):
    for j in range(x.shape[0]):
        v = L0 / L1 * np.expm1(L1 * abs(x[j]))
        out[j] = v if x[j] >= 0.0 else -v


@njit(cache=True, inline="always")
def sp_extremal_client_grad(i, x, out, L0, L1):
    sp_extremal_grad(x, out, L0, L1)


# Huber on x_1 (eps = h_eps, L0 = h_L0), flat elsewhere (families.HUBER1)
@njit(cache=True, error_model="numpy")
def sp_huber_value(x, h_eps, h_L0):
    if abs(x[0]) >= 2.0 * h_eps / h_L0:
        return 2.0 * h_eps * abs(x[0]) - 2.0 * h_eps * h_eps / h_L0
    return 0.5 * h_L0 * x[0] * x[0]


@njit(cache=True, inline="always")
def sp_huber_grad(x, out, h_eps, h_L0):
    for j in range(x.shape[0]):
        out[j] = 0.0
    if abs(x[0]) >= 2.0 * h_eps / h_L0:
        out[0] = 2.0 * h_eps if x[0] > 0.0 else -2.0 * h_eps
    else:
        out[0] = h_L0 * x[0]


@njit(cache=True, inline="always")
def sp_huber_client_grad(i, x, out, h_eps, h_L0):
    sp_huber_grad(x, out, h_eps, h_L0)


# f_i = (1/4) sum_j (x_j - b_ij)^4, f = mean_i f_i (families.QUARTIC, global_value_grad's order)
@njit(cache=True, error_model="numpy")
def sp_quartic_value(x, b):
    n = b.shape[0]
    val = 0.0
    for i in range(n):
        v = 0.0
        for j in range(x.shape[0]):
            t = x[j] - b[i, j]
            v += t * t * t * t
        val += 0.25 * v
    return val / n


@njit(cache=True, inline="always")
def sp_quartic_grad(x, out, b):
    n = b.shape[0]
    for j in range(x.shape[0]):
        out[j] = 0.0
    for i in range(n):
        for j in range(x.shape[0]):
            t = x[j] - b[i, j]
            out[j] += t * t * t
    for j in range(x.shape[0]):
        out[j] /= n


@njit(cache=True, inline="always")
def sp_quartic_client_grad(i, x, out, b):
    for j in range(x.shape[0]):
        t = x[j] - b[i, j]
        out[j] = t * t * t


def _family(name, value, grad, client_grad, safe, doc):
    return declare_vector_family(VectorFamily(
        f"sp-{name}", (name,), value, grad, client_grad=client_grad, noises=NOISE_PIECES, safe_radius=_safe(safe),
        doc=doc, reference="theorybench.families (the single kernel's objectives)"))


def _d(problem):
    return float(problem.dim)


# bounds with r = max_j |x_j| (||x|| <= sqrt(d) r):
MONOMIAL_FAMILY = _family(
    "monomial", sp_monomial_value, sp_monomial_grad, sp_monomial_client_grad,
    lambda P: (lambda r: abs(P.arrays["A"]) * _d(P) * r ** P.arrays["p"],
               lambda r: abs(P.arrays["A"]) * P.arrays["p"] * math.sqrt(_d(P)) * r ** (P.arrays["p"] - 1.0)),
    "A sum_j x_j^p")
ABS_POWER_FAMILY = _family(
    "abs-power", sp_abspow_value, sp_abspow_grad, sp_abspow_client_grad,
    lambda P: (lambda r: (math.sqrt(_d(P)) * r + 1.0) ** P.arrays["p"] * _d(P) / P.arrays["p"],
               lambda r: math.sqrt(_d(P)) * (math.sqrt(_d(P)) * r + 1.0) ** (P.arrays["p"] - 1.0)),
    "|x|^p/p (separable or radial)")
EXP_FAMILY = _family(
    "exp", sp_exp_value, sp_exp_grad, sp_exp_client_grad,
    lambda P: (lambda r: _d(P) * math.exp(abs(P.arrays["a"]) * r),
               lambda r: math.sqrt(_d(P)) * max(1.0, abs(P.arrays["a"])) * math.exp(abs(P.arrays["a"]) * r)),
    "sum_j exp(a x_j)")
COSH_FAMILY = _family(
    "cosh", sp_cosh_value, sp_cosh_grad, sp_cosh_client_grad,
    lambda P: (lambda r: abs(P.arrays["A"]) * _d(P) * math.exp(abs(P.arrays["k"]) * r),
               lambda r: abs(P.arrays["A"] * P.arrays["k"]) * math.sqrt(_d(P)) * math.exp(abs(P.arrays["k"]) * r)),
    "A sum_j (cosh(k x_j) - 1)")
EXTREMAL_FAMILY = _family(
    "extremal", sp_extremal_value, sp_extremal_grad, sp_extremal_client_grad,
    lambda P: (lambda r: P.arrays["L0"] / P.arrays["L1"] ** 2 * _d(P) * math.exp(P.arrays["L1"] * r),
               lambda r: P.arrays["L0"] / P.arrays["L1"] * math.sqrt(_d(P)) * math.exp(P.arrays["L1"] * r)),
    "extremal (L0,L1) function (L0/L1^2)(exp(L1|x|) - L1|x| - 1)")
HUBER_FAMILY = _family(
    "huber", sp_huber_value, sp_huber_grad, sp_huber_client_grad,
    lambda P: (lambda r: 2.0 * P.arrays["h_eps"] * r + 2.0 * P.arrays["h_eps"] ** 2 / P.arrays["h_L0"]
               + 0.5 * P.arrays["h_L0"] * (2.0 * P.arrays["h_eps"] / P.arrays["h_L0"]) ** 2,
               lambda r: 2.0 * P.arrays["h_eps"] + 1.0),
    "Huber on x_1, flat in the other coordinates")
QUARTIC_FAMILY = _family(
    "quartic-clients", sp_quartic_value, sp_quartic_grad, sp_quartic_client_grad,
    lambda P: (lambda r: 0.25 * _d(P) * (r + float(np.abs(P.arrays["b"]).max())) ** 4,
               lambda r: math.sqrt(_d(P)) * (r + float(np.abs(P.arrays["b"]).max())) ** 3),
    "(1/4) sum_j (x_j - b_ij)^4, mean over the clients i")


def _vector(name, family, arrays, d, x0, constants=None, noise="none", sigma=0.0, noise_coords=None, n=1):
    """A vector-template instance with the noise arrays ``sigma`` and ``noise_mask`` (module docstring)."""
    mask = np.ones(d) if noise_coords is None else np.zeros(d)
    if noise_coords is not None:
        mask[list(noise_coords)] = 1.0
    arrays = dict(arrays, sigma=float(sigma), noise_mask=mask)
    if noise not in ("none",) + tuple(NOISE_PIECES):
        from theorybench.errors import TheoryBenchError
        raise TheoryBenchError(f"noise must be one of none, {', '.join(NOISE_PIECES)}, got {noise!r}")
    return VectorProblem(name, -1, np.zeros((n, 0)), d, x0, noise=noise, sigma=float(sigma), constants=constants or {},
                         arrays=arrays, family_name=family.name)


def with_noise(problem, noise, sigma, x0=None):
    """A copy of ``problem`` (a vector-template instance of this module, or a legacy ``Problem``) whose
    stochastic gradient carries the noise model ``noise`` with scale ``sigma`` on every coordinate; ``x0``: a
    new default start."""
    x0 = problem.x0 if x0 is None else np.asarray(x0, dtype=np.float64)
    if isinstance(problem, VectorProblem):
        arrays = dict(problem.arrays, sigma=float(sigma), noise_mask=np.ones(problem.dim))
        return dataclasses.replace(problem, noise=noise, sigma=float(sigma), arrays=arrays, x0=x0)
    return Problem(problem.name, problem.family, problem.params, problem.dim, x0, noise=noise, sigma=sigma,
                   constants=problem.constants, settings=problem.settings)


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
    return _vector("monomial", MONOMIAL_FAMILY, {"A": 1.0, "p": float(p)}, d, _start(x0, d), c)


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
    return _vector("abs-power", ABS_POWER_FAMILY, {"p": float(p), "radial": float(radial)}, d, _start(x0, d), c)


@register_problem("exp", [
    Param("a", 1.0, "rate a of exp(a x)"), DIM, Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="Gorbunov et al. arXiv 2409.14989")
def exp_problem(a, d, x0):
    """``f(x) = sum_j exp(a x_j)``: (0, |a|)-smooth (f'' = |a| f'); inf f = 0, not attained."""
    return _vector("exp", EXP_FAMILY, {"a": float(a)}, d, _start(x0, d), constants={
        "L0": Constant(0.0, "closed form: f'' = |a| |f'|"), "L1": Constant(abs(a), "closed form"),
        "f_star": Constant(0.0, "closed form (infimum, not attained)")})


@register_problem("cosh", [
    Param("L0", 1.0, "L0 (f = (L0/L1^2)(cosh(L1 x) - 1))", low=0.0, low_open=True),
    Param("L1", 1.0, "L1", low=0.0, low_open=True), DIM, Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="Zhang, He, Sra, Jadbabaie, ICLR 2020 (DERIVED instance of the fixed-step lower bound)")
def cosh_problem(L0, L1, d, x0):
    """``f(x) = (L0/L1^2) sum_j (cosh(L1 x_j) - 1)``: (L0, L1)-smooth (f'' = L0 cosh <= L0 + L1|f'|); f* = 0.
    The default (1, 1) is ``cosh(x) - 1`` of LS-3."""
    return _vector("cosh", COSH_FAMILY, {"A": float(L0 / L1 ** 2), "k": float(L1)}, d, _start(x0, d), constants={
        "L0": Constant(L0, "sympy: sup (L0 cosh(L1 x) - L1 (L0/L1)|sinh(L1 x)|) = L0"),
        "L1": Constant(L1, "closed form"), "f_star": Constant(0.0, "closed form")})


@register_problem("extremal", [
    Param("L0", 1.0, "L0", low=0.0, low_open=True), Param("L1", 1.0, "L1", low=0.0, low_open=True), DIM,
    Param("x0", 1.0, "start x0 (every coordinate)"),
], reference="DERIVED: E'' = L0 + L1|E'| (docs/conventions.md, (L0,L1)-smoothness)")
def extremal(L0, L1, d, x0):
    """The extremal (L0,L1) function ``E(x) = sum_j (L0/L1^2)(exp(L1|x_j|) - L1|x_j| - 1)`` (DERIVED):
    ``E'' = L0 + L1|E'|`` exactly; f* = 0 at 0."""
    return _vector("extremal", EXTREMAL_FAMILY, {"L0": float(L0), "L1": float(L1)}, d, _start(x0, d), constants={
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
    return _vector("huber", HUBER_FAMILY, {"h_eps": float(eps), "h_L0": float(L0)}, 2, [x0, 0.0], noise=noise,
                   sigma=sigma, noise_coords=(1,), constants={
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
    consts = {"L0_times_L1_sq": Constant(4.0, "sympy: tight L0 of t^4/4 is 4/L1^2 for every L1")}
    if _template_has_horizon():  # normalized EF21 runs on the vector template (see quartic_clients_vector)
        return _vector("quartic-clients", QUARTIC_FAMILY, {"b": b}, d, _start(x0, d), consts, n=n)
    return Problem("quartic-clients", QUARTIC, b, d, _start(x0, d), constants=consts)


def _template_has_horizon():
    """Whether the vector template hands the run's horizon T to a method's pieces (the fixed name ``steps``):
    normalized EF21's step gamma0/sqrt(T + 1) needs it (``methods.single_vector``)."""
    from theorybench import declare_vector
    return "steps" in declare_vector.FIXED


def quartic_clients_vector(n=10, d=100, data_seed=0, x0=0.0):
    """``quartic-clients`` as a vector-template instance (family ``sp-quartic-clients``; the same b_ij, start and
    constants). The registered problem stays on the single kernel while normalized EF21, which runs on it, has
    no vector variant: its step gamma0/sqrt(T + 1) needs the run's horizon T, which the vector template does not
    hand to a method's pieces yet (it switches by itself once ``declare_vector.FIXED`` has ``steps``). ef21,
    generalized-signsgd and adam run on this instance (tests/test_single_vector.py)."""
    b = np.random.default_rng(int(data_seed)).standard_normal((int(n), int(d)))
    return _vector("quartic-clients", QUARTIC_FAMILY, {"b": b}, int(d), _start(x0, int(d)),
                   {"L0_times_L1_sq": Constant(4.0, "sympy: tight L0 of t^4/4 is 4/L1^2 for every L1")}, n=int(n))
