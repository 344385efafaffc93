"""The certified (L0, L1) calculator (CLAIMS.md sections 0 and 3).

For a univariate objective f (a sympy expression in one variable, or a string sympy can parse; a separable
objective is the sum of its coordinate functions, so its per-coordinate function is what to pass), the
Hessian form of (L0,L1)-smoothness ``|f''(x)| <= L0 + L1 |f'(x)|`` holds for a given L1 with the tight

    L0(L1) = sup_x h(x),   h(x) = |f''(x)| - L1 |f'(x)|   (clipped below at 0)

:func:`tight_L0` computes it in one of two ways, and says which:

* ``"closed form (sympy)"``: on each half-line (x = t and x = -t, t > 0, so that ``Abs`` simplifies) the
  candidates are the real roots of ``f''' = +-L1 f''`` (the critical points of the four sign branches of h),
  the zeros of f' and f'', and the limits at 0+ and +oo; when sympy's ``solveset`` returns a finite set for
  every equation, L0 is the exact maximum of h over the candidates (a sympy number, then its float).
* ``"certified grid"``: otherwise (or on request), on ``[-X, X]``: a lower bound ``max_k h(x_k)`` over a
  fine grid, and an upper bound from interval arithmetic on every cell ``[x_k, x_{k+1}]`` (mpmath.iv:
  ``sup |f''| - L1 inf |f'|`` over the cell, which encloses h there); the tight L0 on [-X, X] lies between
  them. Beyond X nothing is certified, which the result says (``domain``).

``L0 = inf`` means f is not (L0, L1)-smooth for this L1 (e.g. ``|x|^p``, 1 < p < 2, where f'' blows up at 0,
or ``exp(a x)`` with ``L1 < |a|``). :func:`tight_curve` gives L0 over a list of L1.
"""
from dataclasses import dataclass, field
import math

from . import symbolic


@dataclass
class SmoothnessResult:
    """``L0`` (float; ``inf`` when not (L0,L1)-smooth for this L1), ``L1``, ``method`` (how it was
    established), ``exact`` (the sympy expression when closed form), ``lower``/``upper`` (a certified
    bracket; equal to L0 for a closed form), ``argmax`` (where h attains it, when known), ``domain``."""
    expr: str
    L1: float
    L0: float
    method: str
    lower: float
    upper: float
    exact: str | None = None
    argmax: float | None = None
    domain: str = "all real x"
    details: dict = field(default_factory=dict)

    def to_dict(self):
        d = {k: getattr(self, k) for k in ("expr", "L1", "L0", "method", "lower", "upper", "exact",
                                           "argmax", "domain", "details")}
        if d["argmax"] is not None and not math.isfinite(d["argmax"]):
            d["argmax"] = None  # attained only in the limit |x| -> inf
        return d


def _parse(expr):
    s = symbolic.sp()
    if isinstance(expr, str):
        expr = s.sympify(expr)
    free = sorted(expr.free_symbols, key=lambda v: v.name)
    if len(free) != 1:
        raise ValueError(f"expression must have exactly one variable, got {free or 'none'}: {expr}")
    xr = s.Symbol(free[0].name, real=True)  # so that d|x|/dx = sign(x)
    return expr.subs(free[0], xr), xr


def _closed_form(expr, x, L1):
    """The exact sup of h over the real line, or None when sympy cannot solve a candidate equation."""
    s = symbolic.sp()
    t = s.Symbol("t", positive=True)
    L1r = s.nsimplify(L1)
    best, arg = s.Integer(0), None
    for sign in (1, -1):
        f = s.simplify(expr.subs(x, sign * t))
        d1, d2 = s.diff(f, t), s.diff(f, t, 2)
        d3 = s.diff(f, t, 3)
        h = s.Abs(d2) - L1r * s.Abs(d1)
        cands = []
        eqs = [d3 - L1r * d2, d3 + L1r * d2, d1, d2]
        for eq in eqs:
            eq = s.simplify(eq)
            if eq == 0:
                continue
            try:
                sol = s.solveset(eq, t, s.Interval.open(0, s.oo))
            except Exception:
                return None
            if isinstance(sol, s.FiniteSet):
                cands.extend(sol)
            elif sol == s.S.EmptySet:
                continue
            else:
                return None
        for lim_pt in (0, s.oo):
            try:
                v = s.limit(h, t, lim_pt, "+" if lim_pt == 0 else "-")
            except Exception:
                return None
            if v.has(s.AccumBounds) or v.has(s.nan) or not (v.is_real or v in (s.oo, -s.oo)):
                return None
            if v == s.oo:
                return s.oo, None
            if v.is_real and v > best:
                best, arg = v, (0.0 if lim_pt == 0 else (math.inf * sign))
        for c in cands:
            if not c.is_real:
                continue
            v = s.simplify(h.subs(t, c))
            if v == s.oo or v == s.zoo:
                return s.oo, None
            if not v.is_real:
                return None
            if v > best:
                best, arg = v, float(sign * c)
    return best, arg


def _derivatives(expr, x):
    """f' and f'' with the DiracDelta terms of |x|-type kinks dropped (they multiply a vanishing factor
    for the C^1 objectives considered here; at a genuine kink h is +inf anyway, see the closed form)."""
    s = symbolic.sp()
    d1 = s.diff(expr, x).replace(s.DiracDelta, lambda *a: 0)
    d2 = s.diff(d1, x).replace(s.DiracDelta, lambda *a: 0)
    return d1, d2


def _iv_sign(z):
    import mpmath
    iv = mpmath.iv
    z = iv.mpf(z)
    if z.a > 0:
        return iv.mpf(1)
    if z.b < 0:
        return iv.mpf(-1)
    return iv.mpf([-1, 1])


def _interval_funcs(expr, x):
    import mpmath
    s = symbolic.sp()
    iv = mpmath.iv
    mods = [{"cosh": lambda z: (iv.exp(z) + iv.exp(-z)) / 2, "sinh": lambda z: (iv.exp(z) - iv.exp(-z)) / 2,
             "Abs": abs, "sign": _iv_sign}, iv]
    ivsign = s.Function("ivsign")
    e1, e2 = (e.replace(s.sign, ivsign) for e in _derivatives(expr, x))
    mods[0]["ivsign"] = _iv_sign
    return iv, s.lambdify(x, e1, modules=mods), s.lambdify(x, e2, modules=mods)


def _float_funcs(expr, x):
    s = symbolic.sp()
    e1, e2 = _derivatives(expr, x)
    return s.lambdify(x, e1, "numpy"), s.lambdify(x, e2, "numpy")


def certified_grid(expr, L1, X=10.0, cells=20000):
    """Lower and upper bounds on ``sup_{|x| <= X} h(x)`` (see the module docstring). Returns
    ``(lower, upper, argmax)``; ``upper = inf`` when an interval evaluation fails (a singularity)."""
    import numpy as np
    expr, x = _parse(expr)
    f1, f2 = _float_funcs(expr, x)
    grid = np.linspace(-X, X, cells + 1)
    with np.errstate(all="ignore"):
        hv = np.abs(np.broadcast_to(f2(grid), grid.shape)) - L1 * np.abs(np.broadcast_to(f1(grid), grid.shape))
    hv = np.where(np.isnan(hv), np.inf, hv)
    k = int(np.argmax(hv))
    lower = max(0.0, float(hv[k]))
    iv, d1, d2 = _interval_funcs(expr, x)
    upper = 0.0
    for a, b in zip(grid[:-1], grid[1:]):
        cell = iv.mpf([float(a), float(b)])
        try:
            g1, g2 = d1(cell), d2(cell)
            g1, g2 = iv.mpf(g1), iv.mpf(g2)
        except (ZeroDivisionError, ValueError, OverflowError):
            return lower, math.inf, float(grid[k])
        sup2 = max(abs(float(g2.a)), abs(float(g2.b)))
        inf1 = 0.0 if (g1.a <= 0 <= g1.b) else min(abs(float(g1.a)), abs(float(g1.b)))
        if not math.isfinite(sup2):
            return lower, math.inf, float(grid[k])
        # round outward: the float conversions of the interval ends may lose an ulp
        upper = max(upper, math.nextafter(sup2, math.inf) - L1 * math.nextafter(inf1, 0.0))
    return lower, max(upper, lower), float(grid[k])


def tight_L0(expr, L1, method="auto", X=10.0, cells=20000):
    """Tight L0 for the given L1 of a univariate ``expr`` (sympy expression or string).

    method: ``"auto"`` (closed form when sympy finds one, else the certified grid), ``"closed"`` (closed
    form or an error), ``"grid"`` (the certified grid on ``[-X, X]`` with ``cells`` cells; ``L0`` is its
    upper bound). Returns a :class:`SmoothnessResult`."""
    if not (L1 >= 0 and math.isfinite(L1)):
        raise ValueError(f"parameter 'L1' must be a finite number >= 0, got {L1!r}")
    if method not in ("auto", "closed", "grid"):
        raise ValueError(f"parameter 'method' must be one of auto, closed, grid, got {method!r}")
    e, x = _parse(expr)
    s = symbolic.sp()
    if method in ("auto", "closed"):
        cf = _closed_form(e, x, L1)
        if cf is not None:
            val, arg = cf
            L0 = math.inf if val == s.oo else float(val)
            return SmoothnessResult(str(e), float(L1), L0, "closed form (sympy)", L0, L0,
                                    exact=None if val == s.oo else str(s.nsimplify(val)), argmax=arg)
        if method == "closed":
            raise ValueError(f"sympy found no closed form for the tight L0 of {e}; use method='grid'")
    lo, hi, arg = certified_grid(e, L1, X, cells)
    return SmoothnessResult(str(e), float(L1), hi, "certified grid", lo, hi, argmax=arg,
                            domain=f"|x| <= {X:g}", details={"cells": cells,
                                                              "bound": "interval arithmetic (mpmath.iv) per cell"})


def tight_curve(expr, L1s, method="auto", X=10.0, cells=20000):
    """The tight (L0, L1) curve: ``[(L1, L0), ...]`` for the given L1 values (see :func:`tight_L0`)."""
    return [(float(L1), tight_L0(expr, L1, method, X, cells).L0) for L1 in L1s]
