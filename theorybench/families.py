"""Objective families evaluated inline inside the kernels ("problems as data").

A problem is a family code plus a parameter array ``params`` of shape ``(n_clients, n_par)``; client
``i``'s objective is ``f_i(x) = family(params[i], x)`` and the global objective is
``f = (1/N) sum_i f_i``. The kernels call :func:`client_value` / :func:`client_grad`, which dispatch on
the integer family code, so one compiled kernel serves every family (one compile, cached on disk).

Families (row ``c = params[i]``; every family is a sum over coordinates unless said otherwise)
--------
``POLY`` (0): per-coordinate polynomials ``sum_j sum_k c[j (K+1) + k] x_j^k`` (``K + 1 = n_par / d``),
    evaluated by Horner's rule. The two-client quadratic and the EPISODE quartic.
``RAMP`` (1): ``c[0] * sum_j psi_w(x_j)`` with ``w = c[1]`` and the C^1 ramp ``psi_w(x) = x`` (x >= 0),
    ``x + x^2/(2w)`` (-w <= x < 0), ``-w/2`` (x < -w): ``psi_w' = 1``, ``1 + x/w``, ``0``
    (1/w-smooth, bounded below by -w/2). Lower-bound regime A.
``COSH`` (2): ``c[0] * sum_j (cosh(c[1] x_j) - 1)``: ``A (cosh(L1 x) - 1)`` is (A L1^2, L1)-smooth.
    Lower-bound regime B.
``HUBER`` (3): ``sum_j h(x_j)`` with ``h(x) = 2 eps |x| - 2 eps^2/L0`` for ``|x| >= 2 eps/L0`` and
    ``(L0/2) x^2`` inside (``eps = c[0]``, ``L0 = c[1]``). Lower-bound regime C.
``MONOMIAL`` (6): ``c[0] * sum_j x_j^p`` with ``p = c[1]`` (an integer; even for a function bounded below).
``ABSPOW`` (7): ``|x|^p/p`` with ``p = c[0]``: separable ``sum_j |x_j|^p/p`` when ``c[1] == 0``, radial
    ``||x||^p/p`` when ``c[1] == 1`` (gradient ``||x||^(p-2) x``).
``EXPA`` (8): ``sum_j exp(a x_j)`` with ``a = c[0]`` (convex, inf f = 0 not attained).
``EXTREMAL`` (9): the extremal (L0, L1) function ``sum_j (L0/L1^2)(exp(L1|x_j|) - L1|x_j| - 1)`` with
    ``L0 = c[0]``, ``L1 = c[1]``, evaluated as ``(L0/L1^2)(expm1(u) - u)``, ``u = L1|x|`` (a Taylor series for
    u < 1e-3, where expm1(u) - u cancels); gradient ``(L0/L1) sign(x) expm1(L1|x|)``. ``E'' = L0 + L1|E'|``.
``QUARTIC`` (10): ``(1/4) sum_j (x_j - b_j)^4`` with ``b = c[0:d]`` (evaluated directly, not expanded). The
    error-feedback clients of Khirirat et al. (arXiv 2410.16871).
``HUBER1`` (11): the Huber function of ``HUBER`` on the first coordinate only (``eps = c[0]``, ``L0 = c[1]``);
    the other coordinates are flat (zero). With noise on a second coordinate: the AG-1 instance.
Codes 4 and 5 are retired: the Amplified SCAFFOLD and Clip-LocalGDJ objectives are vector-template families
declared next to their instances (``problems/amplified_scaffold.py``, ``problems/quartic_points.py``).
Overflow (|x| large) gives inf, which the kernels report as divergence.
"""
import numpy as np
from numba import njit

POLY = 0
RAMP = 1
COSH = 2
HUBER = 3
MONOMIAL = 6
ABSPOW = 7
EXPA = 8
EXTREMAL = 9
QUARTIC = 10
HUBER1 = 11
FAMILY_NAMES = {POLY: "separable polynomial", RAMP: "C1 ramp psi_w", COSH: "A (cosh(L1 x) - 1)",
                HUBER: "Huber (linear outside 2 eps/L0)", MONOMIAL: "A sum_j x_j^p",
                ABSPOW: "|x|^p/p (separable or radial)", EXPA: "sum_j exp(a x_j)",
                EXTREMAL: "extremal (L0,L1) function (L0/L1^2)(exp(L1|x|) - L1|x| - 1)",
                QUARTIC: "(1/4) sum_j (x_j - b_j)^4", HUBER1: "Huber on x_1, flat in the other coordinates"}


@njit(cache=True, inline="always")
def _poly_value(c, x):
    d = x.shape[0]
    kp1 = c.shape[0] // d
    total = 0.0
    for j in range(d):
        base = j * kp1
        v = c[base + kp1 - 1]
        for k in range(kp1 - 2, -1, -1):
            v = v * x[j] + c[base + k]
        total += v
    return total


@njit(cache=True, inline="always")
def _poly_grad(c, x, out):
    d = x.shape[0]
    kp1 = c.shape[0] // d
    for j in range(d):
        base = j * kp1
        if kp1 < 2:
            out[j] = 0.0
            continue
        v = (kp1 - 1) * c[base + kp1 - 1]
        for k in range(kp1 - 2, 0, -1):
            v = v * x[j] + k * c[base + k]
        out[j] = v


@njit(cache=True, inline="always")
def _ramp(x, w):
    if x >= 0.0:
        return x
    if x >= -w:
        return x + x * x / (2.0 * w)
    return -0.5 * w


@njit(cache=True, inline="always")
def _ramp_prime(x, w):
    if x >= 0.0:
        return 1.0
    if x >= -w:
        return 1.0 + x / w
    return 0.0


@njit(cache=True, inline="always")
def _huber(x, eps, L0):
    if abs(x) >= 2.0 * eps / L0:
        return 2.0 * eps * abs(x) - 2.0 * eps * eps / L0
    return 0.5 * L0 * x * x


@njit(cache=True, inline="always")
def _huber_prime(x, eps, L0):
    if abs(x) >= 2.0 * eps / L0:
        return 2.0 * eps if x > 0.0 else -2.0 * eps
    return L0 * x


@njit(cache=True, inline="always")
def _extremal(x, L0, L1):
    u = L1 * abs(x)
    if u < 1e-3:
        r = u * u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u / 120.0)))
    else:
        r = np.expm1(u) - u
    return L0 / (L1 * L1) * r


@njit(cache=True, inline="always")
def _extremal_prime(x, L0, L1):
    v = L0 / L1 * np.expm1(L1 * abs(x))
    return v if x >= 0.0 else -v


@njit(cache=True)
def client_value(family, c, x):
    """``f_i(x)`` for the client parameter row ``c``."""
    d = x.shape[0]
    if family == POLY:
        return _poly_value(c, x)
    v = 0.0
    if family == RAMP:
        for j in range(d):
            v += _ramp(x[j], c[1])
        return c[0] * v
    if family == COSH:
        for j in range(d):
            v += np.cosh(c[1] * x[j]) - 1.0
        return c[0] * v
    if family == HUBER:
        for j in range(d):
            v += _huber(x[j], c[0], c[1])
        return v
    if family == MONOMIAL:
        for j in range(d):
            v += x[j] ** c[1]
        return c[0] * v
    if family == ABSPOW:
        if c[1] != 0.0:
            s = 0.0
            for j in range(d):
                s += x[j] * x[j]
            return np.sqrt(s) ** c[0] / c[0]
        for j in range(d):
            v += abs(x[j]) ** c[0]
        return v / c[0]
    if family == EXPA:
        for j in range(d):
            v += np.exp(c[0] * x[j])
        return v
    if family == EXTREMAL:
        for j in range(d):
            v += _extremal(x[j], c[0], c[1])
        return v
    if family == QUARTIC:
        for j in range(d):
            t = x[j] - c[j]
            v += t * t * t * t
        return 0.25 * v
    if family == HUBER1:
        return _huber(x[0], c[0], c[1])
    return np.nan


@njit(cache=True)
def client_grad(family, c, x, out):
    """Write ``grad f_i(x)`` into ``out``."""
    d = x.shape[0]
    if family == POLY:
        _poly_grad(c, x, out)
    elif family == RAMP:
        for j in range(d):
            out[j] = c[0] * _ramp_prime(x[j], c[1])
    elif family == COSH:
        for j in range(d):
            out[j] = c[0] * c[1] * np.sinh(c[1] * x[j])
    elif family == HUBER:
        for j in range(d):
            out[j] = _huber_prime(x[j], c[0], c[1])
    elif family == MONOMIAL:
        for j in range(d):
            out[j] = c[0] * c[1] * x[j] ** (c[1] - 1.0)
    elif family == ABSPOW:
        if c[1] != 0.0:
            s = 0.0
            for j in range(d):
                s += x[j] * x[j]
            r = np.sqrt(s)
            f = r ** (c[0] - 2.0) if r > 0.0 else 0.0
            for j in range(d):
                out[j] = f * x[j]
        else:
            for j in range(d):
                a = abs(x[j]) ** (c[0] - 1.0)
                out[j] = a if x[j] > 0.0 else (-a if x[j] < 0.0 else 0.0)
    elif family == EXPA:
        for j in range(d):
            out[j] = c[0] * np.exp(c[0] * x[j])
    elif family == EXTREMAL:
        for j in range(d):
            out[j] = _extremal_prime(x[j], c[0], c[1])
    elif family == QUARTIC:
        for j in range(d):
            t = x[j] - c[j]
            out[j] = t * t * t
    elif family == HUBER1:
        for j in range(d):
            out[j] = 0.0
        out[0] = _huber_prime(x[0], c[0], c[1])
    else:
        for j in range(d):
            out[j] = np.nan


@njit(cache=True)
def global_value_grad(family, params, x, gout, gtmp):
    """Noise-free ``f(x) = mean_i f_i(x)``; writes ``grad f(x)`` into ``gout``; returns ``f(x)``."""
    n = params.shape[0]
    d = x.shape[0]
    val = 0.0
    for j in range(d):
        gout[j] = 0.0
    for i in range(n):
        val += client_value(family, params[i], x)
        client_grad(family, params[i], x, gtmp)
        for j in range(d):
            gout[j] += gtmp[j]
    for j in range(d):
        gout[j] /= n
    val /= n
    return val
