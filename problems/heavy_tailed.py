"""Instances with heavy-tailed gradient noise (vector template) for clipped SGD's high-probability bounds.

Papers: Sadiev, Danilova, Gorbunov, Horvath, Gidel, Dvurechensky, Gasnikov, Richtarik, ICML 2023, "High-probability
bounds for stochastic optimization and variational inequalities: the case of unbounded variance" (arXiv
2302.00999): noise with a bounded alpha-th moment, ``E ||z||^alpha <= sigma^alpha``, ``1 < alpha <= 2``; Gorbunov,
Danilova, Gasnikov, NeurIPS 2020 (arXiv 2005.10785): the bounded-variance case (alpha = 2).

Noise pieces (``noise=...``; the stochastic gradient is ``grad f(x) + z``, z in R^d with independent coordinates;
draw ``k`` of stream ``s`` uses the counters ``c = k d + j``, j = 0..d-1, of ``theorybench.rng``):

``pareto``    symmetric Pareto of type II (Lomax) with tail index alpha and scale sigma:
              ``P(|z_j| > sigma t) = (1 + t)^-alpha`` (t >= 0), sign + or - with probability 1/2. Inverse CDF
              on ``v = 1 - uniform01(seed, s, c)`` in (0, 1]: ``v > 1/2``: ``z_j = sigma ((2v - 1)^(-1/alpha) - 1)``,
              else ``z_j = -sigma ((2v)^(-1/alpha) - 1)``. CDF ``F(z) = 1 - (1 + z/sigma)^-alpha / 2`` for z >= 0,
              ``(1 - z/sigma)^-alpha / 2`` for z < 0. ``E|z_j|^a = sigma^a Gamma(a+1) Gamma(alpha-a) / Gamma(alpha)``,
              finite exactly for ``a < alpha``.
``student``   sigma times Student's t with ``nu = alpha`` degrees of freedom (Bailey's polar method, 1994: attempt
              ``r`` = 0..63 uses ``U = 2 uniform01(seed, s, 2(64c + r)) - 1``, ``V`` the same at ``+1``,
              ``W = U^2 + V^2``, accepted when ``0 < W <= 1``: ``z_j = sigma U sqrt(nu (W^(-2/nu) - 1) / W)``; all 64
              rejected has probability below 1e-42). ``E|z_j|^a = sigma^a nu^(a/2) Gamma((a+1)/2) Gamma((nu-a)/2) /
              (sqrt(pi) Gamma(nu/2))``, finite exactly for ``a < alpha``.
``gaussian``  ``z_j = sigma normal01(seed, s, c)`` (the control: every moment finite; alpha is not used).

Instances (x* and f* = 0 known in closed form):

``ht-quadratic``  ``f(x) = (1/2) sum_j h_j (x_j - x*_j)^2``, ``h`` log-spaced in [mu, L] (d = 1: h = mu), strongly
                  convex (mu) and L-smooth; ``x* = (1, ..., 1)``, start ``x_0 = x* - (R / sqrt(d)) (1, ..., 1)``.
``ht-logcosh``    DERIVED (a convex, smooth, not strongly convex instance chosen for this check, not from the
                  papers): ``f(x) = sum_j w_j s^2 log cosh((x_j - x*_j) / s)``, ``w`` log-spaced in [w_min, L]
                  (stable form ``log cosh u = |u| + log1p(exp(-2|u|)) - log 2``); ``grad_j = w_j s tanh(.)``,
                  ``0 < f'' <= L`` (so L-smooth), f'' -> 0 far away (no strong convexity on R^d); x* and x_0 as above.

Family statistics: ``err = ||x - x*||``, ``err2 = ||x - x*||^2`` (the target statistic is ``err``).
"""
import math

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family, smooth_safe_radius
from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, register_problem
from theorybench.rng import normal01, uniform01

NOISES = ("pareto", "student", "gaussian", "none")
STUDENT_ATTEMPTS = 64


# ---------------------------------------------------------------- noise draws (scalar, then the pieces)

@njit(cache=True)
def pareto_draw(seed, stream, counter, alpha):
    """One standard symmetric Lomax draw (sigma = 1) at ``counter`` of ``stream`` (module docstring)."""
    v = 1.0 - uniform01(seed, stream, counter)  # in (0, 1]
    if v > 0.5:
        return (2.0 * v - 1.0) ** (-1.0 / alpha) - 1.0
    return -((2.0 * v) ** (-1.0 / alpha) - 1.0)


@njit(cache=True)
def student_draw(seed, stream, counter, nu):
    """One Student-t draw with ``nu`` degrees of freedom (Bailey's polar method, module docstring)."""
    for r in range(STUDENT_ATTEMPTS):
        c2 = 2 * (STUDENT_ATTEMPTS * counter + r)
        u = 2.0 * uniform01(seed, stream, c2) - 1.0
        v = 2.0 * uniform01(seed, stream, c2 + 1) - 1.0
        w = u * u + v * v
        if w > 0.0 and w <= 1.0:
            return u * np.sqrt(nu * (w ** (-2.0 / nu) - 1.0) / w)
    return 0.0


@njit(inline="always")
def pareto_noise(out, seed, stream, counter, sigma, alpha):
    d = out.shape[0]
    for j in range(d):
        out[j] += sigma * pareto_draw(seed, stream, counter * d + j, alpha)


@njit(inline="always")
def student_noise(out, seed, stream, counter, sigma, alpha):
    d = out.shape[0]
    for j in range(d):
        out[j] += sigma * student_draw(seed, stream, counter * d + j, alpha)


@njit(inline="always")
def gaussian_noise(out, seed, stream, counter, sigma):
    d = out.shape[0]
    for j in range(d):
        out[j] += sigma * normal01(seed, stream, counter * d + j)


def pareto_cdf(z, sigma, alpha):
    """Exact CDF of the ``pareto`` noise (one coordinate)."""
    z = np.asarray(z, dtype=np.float64) / sigma
    return np.where(z >= 0, 1.0 - 0.5 * (1.0 + np.abs(z)) ** -alpha, 0.5 * (1.0 + np.abs(z)) ** -alpha)


def abs_moment(noise, a, sigma, alpha):
    """``E|z_j|^a`` of one coordinate of the noise model (``inf`` where it diverges: ``a >= alpha``)."""
    if noise == "gaussian":
        return sigma ** a * 2 ** (a / 2) * math.gamma((a + 1) / 2) / math.sqrt(math.pi)
    if a >= alpha:
        return math.inf
    if noise == "pareto":
        return sigma ** a * math.gamma(a + 1) * math.gamma(alpha - a) / math.gamma(alpha)
    if noise == "student":
        return (sigma ** a * alpha ** (a / 2) * math.gamma((a + 1) / 2) * math.gamma((alpha - a) / 2)
                / (math.sqrt(math.pi) * math.gamma(alpha / 2)))
    raise TheoryBenchError(f"noise must be one of {', '.join(NOISES[:3])}, got {noise!r}")


# ---------------------------------------------------------------- objectives and statistics

@njit
def quad_value(x, h, xstar):
    v = 0.0
    for j in range(x.shape[0]):
        r = x[j] - xstar[j]
        v += 0.5 * h[j] * r * r
    return v


@njit(inline="always")
def quad_grad(x, out, h, xstar):
    for j in range(x.shape[0]):
        out[j] = h[j] * (x[j] - xstar[j])


@njit
def logcosh_value(x, w, xstar, s):
    v = 0.0
    for j in range(x.shape[0]):
        u = abs((x[j] - xstar[j]) / s)
        v += w[j] * s * s * (u + np.log1p(np.exp(-2.0 * u)) - np.log(2.0))
    return v


@njit(inline="always")
def logcosh_grad(x, out, w, xstar, s):
    for j in range(x.shape[0]):
        out[j] = w[j] * s * np.tanh((x[j] - xstar[j]) / s)


@njit
def err(x, xstar):
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - xstar[j]) ** 2
    return np.sqrt(s)


@njit
def err2(x, xstar):
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - xstar[j]) ** 2
    return s


_NOISE_PIECES = {"pareto": pareto_noise, "student": student_noise, "gaussian": gaussian_noise}
_STATS = (("err", err), ("err2", err2))
REFERENCE = ("Sadiev et al., ICML 2023 (arXiv 2302.00999); Gorbunov, Danilova, Gasnikov, NeurIPS 2020 "
             "(arXiv 2005.10785)")

QUAD_FAMILY = declare_vector_family(VectorFamily(
    "ht-quadratic", ("ht-quadratic",), quad_value, quad_grad, noises=_NOISE_PIECES, stats=_STATS,
    safe_radius=lambda p: smooth_safe_radius(p.constant("L"), p.arrays["xstar"]),
    target_stat="err", doc="(1/2) sum_j h_j (x_j - x*_j)^2 with heavy-tailed additive gradient noise",
    reference=REFERENCE))
LOGCOSH_FAMILY = declare_vector_family(VectorFamily(
    "ht-logcosh", ("ht-logcosh",), logcosh_value, logcosh_grad, noises=_NOISE_PIECES, stats=_STATS,
    safe_radius=lambda p: smooth_safe_radius(p.constant("L"), p.arrays["xstar"]),
    target_stat="err", doc="sum_j w_j s^2 log cosh((x_j - x*_j)/s) with heavy-tailed additive gradient noise "
                           "(DERIVED)", reference=REFERENCE))


# ---------------------------------------------------------------- instances

def _common_params(d_default=2):
    return [Param("d", d_default, "dimension d", kind="int", low=1, high=10_000),
            Param("noise", "pareto", "noise model z (module docstring)", kind="choice", choices=NOISES),
            Param("alpha", 1.5, "tail index alpha of pareto/student (E|z|^a finite exactly for a < alpha)",
                  low=1.0, low_open=True, high=1e6),
            Param("sigma", 1.0, "noise scale sigma", low=0.0, high=1e150),
            Param("R", 1.0, "start distance ||x_0 - x*||", low=0.0, high=1e100)]


def _check(alpha, sigma):
    if not alpha > 1.0:
        raise TheoryBenchError(f"parameter 'alpha' must be > 1 (a finite mean), got {alpha!r}")
    if not sigma >= 0.0:
        raise TheoryBenchError(f"parameter 'sigma' must be >= 0, got {sigma!r}")


def _spectrum(lo, hi, d):
    return np.array([lo]) if d == 1 else np.geomspace(lo, hi, d)


def _arrays(noise, sigma, alpha, d):
    arr = {"xstar": np.ones(d)}
    if noise != "none":
        arr["sigma"] = float(sigma)
    if noise in ("pareto", "student"):
        arr["alpha"] = float(alpha)
    return arr


def _settings_noise(noise, sigma):
    return "none" if (noise == "none" or sigma == 0.0) else noise


@register_problem("ht-quadratic", _common_params() + [
    Param("mu", 0.5, "strong convexity mu (smallest h_j)", low=0.0, low_open=True, high=1e100),
    Param("L", 1.0, "smoothness L (largest h_j)", low=0.0, low_open=True, high=1e100)], reference=REFERENCE)
def build_quadratic(d, noise, alpha, sigma, R, mu, L):
    """Strongly convex quadratic ``(1/2) sum_j h_j (x_j - x*_j)^2``, h log-spaced in [mu, L], x* = 1, f* = 0,
    gradient noise ``noise`` with tail index alpha and scale sigma (problems/heavy_tailed.py)."""
    _check(alpha, sigma)
    if mu > L:
        raise TheoryBenchError(f"parameter 'mu' must be <= L, got mu={mu!r} > L={L!r}")
    noise = _settings_noise(noise, sigma)
    h = _spectrum(mu, L, d)
    arrays = {"h": h, **_arrays(noise, sigma, alpha, d)}
    x0 = np.ones(d) - R / math.sqrt(d)
    consts = {"mu": Constant(float(h.min()), "closed form"), "L": Constant(float(h.max()), "closed form"),
              "f_star": Constant(0.0, "closed form")}
    return VectorProblem("ht-quadratic", -1, np.zeros((1, 0)), d, x0, noise=noise, sigma=float(sigma),
                         constants=consts, arrays=arrays, family_name="ht-quadratic")


@register_problem("ht-logcosh", _common_params() + [
    Param("w_min", 0.5, "smallest weight w_j", low=0.0, low_open=True, high=1e100),
    Param("L", 1.0, "smoothness L (largest weight w_j)", low=0.0, low_open=True, high=1e100),
    Param("s", 1.0, "width s of the log cosh", low=0.0, low_open=True, high=1e100)],
    reference=REFERENCE + " (DERIVED instance)")
def build_logcosh(d, noise, alpha, sigma, R, w_min, L, s):
    """DERIVED convex smooth, not strongly convex instance ``sum_j w_j s^2 log cosh((x_j - x*_j)/s)``, x* = 1, f* = 0,
    with heavy-tailed gradient noise (problems/heavy_tailed.py)."""
    _check(alpha, sigma)
    if w_min > L:
        raise TheoryBenchError(f"parameter 'w_min' must be <= L, got w_min={w_min!r} > L={L!r}")
    noise = _settings_noise(noise, sigma)
    w = _spectrum(w_min, L, d)
    arrays = {"w": w, "s": float(s), **_arrays(noise, sigma, alpha, d)}
    x0 = np.ones(d) - R / math.sqrt(d)
    consts = {"L": Constant(float(w.max()), "closed form"), "f_star": Constant(0.0, "closed form")}
    return VectorProblem("ht-logcosh", -1, np.zeros((1, 0)), d, x0, noise=noise, sigma=float(sigma),
                         constants=consts, arrays=arrays, family_name="ht-logcosh")
