"""Objective families evaluated inline inside the kernels ("problems as data").

A problem is a family code plus a parameter array ``params`` of shape ``(n_clients, n_par)``; client
``i``'s objective is ``f_i(x) = family(params[i], x)`` and the global objective is
``f = (1/N) sum_i f_i``. The kernels call :func:`client_value` / :func:`client_grad`, which dispatch on
the integer family code, so one compiled kernel serves every family (one compile, cached on disk).

Families
--------
``POLY`` (0): separable per-coordinate polynomials,
    ``f_i(x) = sum_j sum_k c[i, j (K+1) + k] x_j^k`` with ``K + 1 = n_par / d``.
    The two-client quadratic ``x^2/2 + a_i x`` and the EPISODE quartic
    ``x^4 - 3x^3 - H h_i x^2 + x`` are both of this form. Evaluated by Horner's rule (exact on the
    dyadic grids the EP-1 check uses).
"""
import numpy as np
from numba import njit

POLY = 0
FAMILY_NAMES = {POLY: "separable polynomial"}


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


@njit(cache=True)
def client_value(family, c, x):
    """``f_i(x)`` for the client parameter row ``c``."""
    if family == POLY:
        return _poly_value(c, x)
    return np.nan


@njit(cache=True)
def client_grad(family, c, x, out):
    """Write ``grad f_i(x)`` into ``out``."""
    if family == POLY:
        _poly_grad(c, x, out)
    else:
        out[:] = np.nan


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
    return val / n
