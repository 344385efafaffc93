"""Federated one-dimensional polynomial instances (Liu, EPISODE talk, 2023; Crawshaw, Bao, Liu, ICLR 2023).

Both instances are separable polynomials (family ``POLY``): client ``i``'s row of ``params`` holds the
coefficients ``c_0, c_1, ...`` of ``f_i(x) = sum_k c_k x^k``.
"""
import numpy as np
from numba import njit

from theorybench.declare import ObjectiveFamily, declare_family
from theorybench.errors import TheoryBenchError
from theorybench.families import POLY
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem


def quadratic_constants(a1, a2):
    """Closed forms for ``f = mean_i (x^2/2 + a_i x) = x^2/2 + abar x``: ``x* = -abar``,
    ``f* = -abar^2/2``, ``L = 1`` (every ``f_i`` is 1-smooth), ``f'(0) = abar``."""
    abar = (a1 + a2) / 2.0
    return {
        "x_star": Constant(-abar, "closed form: f' = x + (a1 + a2)/2"),
        "f_star": Constant(-abar * abar / 2.0, "closed form"),
        "L": Constant(1.0, "closed form: f_i'' = 1"),
        "grad_at_0": Constant(abar, "closed form: f'(0) = (a1 + a2)/2"),
    }


@register_problem("two-client-quadratic", [
    Param("gamma", 1.0, "clipping parameter the instance is built for: a_1 = -gamma-1, a_2 = gamma+2",
          low=0.0, low_open=True),
    Param("a1", None, "client 1's linear coefficient (auto: -gamma-1)"),
    Param("a2", None, "client 2's linear coefficient (auto: gamma+2)"),
    Param("x0", 0.0, "start point x_0"),
], reference="Liu, EPISODE talk (2023), two-client counterexample to local clipping")
def two_client_quadratic(gamma, a1, a2, x0):
    """Two-client quadratic ``f_i(x) = x^2/2 + a_i x`` with ``a_1 = -gamma-1``, ``a_2 = gamma+2``.

    ``f = x^2/2 + x/2``, ``x* = -1/2``, ``f'(0) = 1/2``; deterministic. Local clipping from ``x0 = 0``
    takes two opposite clipped steps that cancel exactly, so CELGC never moves (claim EP-1; the
    stuck-ness conditions are DERIVED, see ``paper_checks.episode_iclr23``).
    """
    a1 = -gamma - 1.0 if a1 is None else a1
    a2 = gamma + 2.0 if a2 is None else a2
    params = np.array([[0.0, a1, 0.5], [0.0, a2, 0.5]])
    return Problem("two-client-quadratic", POLY, params, 1, [x0], constants=quadratic_constants(a1, a2))


EPISODE_H = (-1.0, 2.0)


def quartic_minimisers(H, h=EPISODE_H):
    """Stationary points of ``f = x^4 - 3x^3 - H hbar x^2 + x`` (roots of a cubic, numerically) and the
    global minimiser among them."""
    hbar = float(np.mean(h))
    roots = np.roots([4.0, -9.0, -2.0 * H * hbar, 1.0])
    real = np.sort(roots[np.abs(roots.imag) < 1e-12].real)
    f = lambda x: x**4 - 3 * x**3 - H * hbar * x**2 + x
    return real, real[np.argmin(f(real))]


@register_problem("episode-quartic", [
    Param("H", 1.0, "heterogeneity knob: f_i = x^4 - 3x^3 - H h_i x^2 + x, h = linspace(-1, 2, N)", low=0.0),
    Param("sigma", 1.0, "noise bound: stochastic gradient f_i'(x) + z, |z| <= sigma", low=0.0),
    Param("x0", 1.0, "start point x_0 (the authors' value is 1)"),
    Param("N", 2, "number of clients (the paper's N = 2 gives h = (-1, 2))", kind="int", low=1, high=10**5),
    Param("noise", "uniform", "noise model: uniform U(-sigma, sigma] (the authors') or truncated-gaussian "
          "(N(0, (sigma/2)^2) conditioned on |z| <= sigma)", kind="choice", choices=("uniform", "truncated-gaussian")),
    Param("center", "no", "yes: quadratic coefficients -(1/2 + H (h_i - 1/2)), so that f does not depend on H "
          "(equal to the authors' instance at H = 1; H = 0 is homogeneous)", kind="choice", choices=("no", "yes")),
], reference="Crawshaw, Bao, Liu, ICLR 2023, synthetic experiment (authors' MATLAB code)")
def episode_quartic(H, sigma, x0, N=2, noise="uniform", center="no"):
    """EPISODE's synthetic instance: ``f_i(x) = x^4 - 3x^3 - H h_i x^2 + x`` with
    ``h = linspace(-1, 2, N)`` (the authors' MATLAB: N = 2, ``h = (-1, 2)``).

    ``mean_i h_i = 1/2`` for every N, so ``f = x^4 - 3x^3 - (H/2) x^2 + x`` does not depend on N;
    stochastic gradients ``f_i'(x) + z``, ``z ~ U(-sigma, sigma]``. The paper's hyperparameters are
    eta = 0.01, gamma = 0.05 (step clipping, threshold 5), I = 8, R = 500; H = 1 in the committed run,
    H = 4 is the heterogeneous case.
    """
    hs = np.linspace(EPISODE_H[0], EPISODE_H[1], N) if N > 1 else np.array([0.5])
    quad = [0.5 + H * (hi - 0.5) for hi in hs] if center == "yes" else [H * hi for hi in hs]
    params = np.array([[0.0, 1.0, -q, -3.0, 1.0] for q in quad])
    H_global = 1.0 if center == "yes" else H  # centred: f is the authors' H = 1 objective for every H
    stationary, xstar = quartic_minimisers(H_global)
    f = lambda x: x**4 - 3 * x**3 - H_global * 0.5 * x**2 + x
    consts = {
        "x_star": Constant(float(xstar), "numerical: the real root of the cubic f' (numpy.roots) with the smallest f"),
        "f_star": Constant(float(f(xstar)), "numerical: f(x_star)"),
        "stationary_points": Constant(stationary.tolist(), "numerical: real roots of f'"),
        "sigma": Constant(sigma, "paper: noise bound"),
    }
    return Problem("episode-quartic", POLY, params, 1, [x0], noise=noise, sigma=sigma, constants=consts)


# ------------------------------------------------------------------ declared family (theorybench.declare)
# The scalar polynomials above as a declared objective family: client i's row holds c_0, ..., c_K of
# f_i(x) = sum_k c_k x^k (d = 1); the composed kernels inline these pieces.

@njit(cache=True, inline="always")
def poly1_value(c, x):
    """``f_i(x) = sum_k c[k] x^k`` by Horner's rule, as ``0.0 + Horner`` (the engine's sum over coordinates
    for d = 1, so the numbers are the generic kernel's, signed zeros included). ``c``: an array or a tuple."""
    kp1 = len(c)
    v = c[kp1 - 1]
    for k in range(kp1 - 2, -1, -1):
        v = v * x + c[k]
    return 0.0 + v


@njit(cache=True, inline="always")
def poly1_grad(c, x):
    """``f_i'(x) = sum_k k c[k] x^(k-1)`` by Horner's rule (``theorybench.families._poly_grad`` for d = 1).
    ``c``: an array or a tuple."""
    kp1 = len(c)
    if kp1 < 2:
        return 0.0
    v = (kp1 - 1) * c[kp1 - 1]
    for k in range(kp1 - 2, 0, -1):
        v = v * x + k * c[k]
    return v


def poly1_safe_radius(rows):
    """``rho`` with ``|f_i(x)|, |f_i'(x)| <= M max(1, |x|)^K <= 1e149`` for ``|x| < rho``, where
    ``M = max_i max(sum_k |c_k|, sum_k k |c_k|)``: inside it f and f' are finite and below the divergence
    rule's 1e150 (a factor 10 covers Horner's rounding). 0 when no such radius exists."""
    rows = np.asarray(rows, dtype=np.float64)
    K = rows.shape[1] - 1
    k = np.arange(K + 1)
    M = float(max(np.abs(rows).sum(axis=1).max(), (k * np.abs(rows)).sum(axis=1).max()))
    if not np.isfinite(M) or M >= 1e149:
        return 0.0
    if K == 0 or M == 0.0:
        return 1e150
    return max(1.0, (1e149 / M) ** (1.0 / K))


def _poly1_rows(problem):
    if problem.family != POLY:
        raise TheoryBenchError(f"problem {problem.name!r} is not in the polynomial layout (family code "
                               f"{problem.family})")
    return problem.params


POLY1 = declare_family(ObjectiveFamily(
    "poly1", poly1_value, poly1_grad, problems=("two-client-quadratic", "episode-quartic"), rows=_poly1_rows,
    safe_radius=poly1_safe_radius, code=POLY, tuple_rows=True,
    doc="scalar polynomials f_i(x) = sum_k c_k x^k (the two-client quadratic, the EPISODE quartic)"))
