"""The certified (L0, L1) calculator (Zhang, He, Sra, Jadbabaie, ICLR 2020: the Hessian form;
docs/conventions.md, section "(L0,L1)-smoothness").

For a univariate objective f (a sympy expression in one variable, or a string in the variable ``x``; a
separable objective is the sum of its coordinate functions, so its per-coordinate function is what to pass),
the Hessian form of (L0,L1)-smoothness ``|f''(x)| <= L0 + L1 |f'(x)|`` holds for a given L1 with the tight

    L0(L1) = sup_x h(x),   h(x) = |f''(x)| - L1 |f'(x)|   (clipped below at 0)

:func:`tight_L0` computes it in one of two ways, and says which:

* ``"closed form (sympy)"``: on each half-line (x = t and x = -t, t > 0, so that ``Abs`` simplifies) the
  candidates are the real roots of ``f''' = +-L1 f''`` (the critical points of the four sign branches of h),
  the zeros of f' and f'', and the limits at 0+ and +oo; when sympy's ``solveset`` returns a finite set for
  every equation, L0 is the exact maximum of h over the candidates (a sympy number, then its float).
* ``"certified grid"``: otherwise (or on request), on ``[-X, X]``: a lower bound ``max_k h(x_k)`` over a
  fine grid (float64, at the grid points where f' and f'' evaluate to finite numbers), and an upper bound
  from interval arithmetic on every cell ``[x_k, x_{k+1}]`` (mpmath.iv: ``sup |f''| - L1 inf |f'|`` over the
  cell, which encloses h there, rounded outward); the tight L0 on [-X, X] lies between them. Beyond X
  nothing is certified, which the result says (``domain``). An upper bound of ``inf`` from the grid only
  says that some cell could not be bounded (a singularity of f'', or cells too coarse for the growth of f),
  not that f is not (L0, L1)-smooth.

``L0 = inf`` from the closed form means f is not (L0, L1)-smooth for this L1 (e.g. ``|x|^p``, 1 < p < 2,
where f'' blows up at 0, or ``exp(a x)`` with ``L1 < |a|``). :func:`tight_curve` gives L0 over a list of L1.

What f must be (checked before anything is computed; otherwise :class:`~theorybench.errors.TheoryBenchError`):

* real-valued and defined on the whole real line: ``log(g)`` needs g > 0, ``g**p`` with a non-integer p
  needs g >= 0 (g > 0 for p < 0 or an exponent depending on x), ``1/g`` needs g != 0, ``tan(g)`` needs
  cos(g) != 0, for every real x;
* **continuously differentiable** (C^1): at every point where f may have a kink (the zeros of the argument
  of Abs, sign or Heaviside, where two arguments of Max or Min meet, the zeros of the base of a non-integer
  power), f and f' must have equal finite one-sided limits. ``Abs(x)``, ``Max(x, 0)`` or ``Abs(x)**(1/2)``
  are refused ("not differentiable at x = 0"): their f'' is a Dirac mass, and the Hessian form would report
  a meaningless L0 = 0. f'' may jump at such points (``Max(x, 0)**2``, ``x*Abs(x)``): h is then taken where
  f'' exists (its essential supremum, the constant of the a.e. Hessian bound for f' locally Lipschitz), and
  an f'' unbounded near a kink (``Abs(x)**(3/2)``) gives L0 = inf. ``Piecewise`` is refused (write the
  function with Abs, Max or Min).

A string is parsed by :func:`theorybench.symbolic.parse_expression` (a whitelist of syntax, never ``eval``;
decimal literals are read exactly: ``0.1`` is 1/10); a sympy expression may use the same functions plus
``sign`` and ``Heaviside``. Each of the three stages (these checks, the closed form, the grid) runs for at
most ``time_limit`` seconds (a SIGALRM timer, so only in the main thread; elsewhere unbounded): a closed
form that is not found in time falls back to the grid (``method="auto"``), the other stages raise
TheoryBenchError.
"""
from contextlib import contextmanager
from dataclasses import dataclass, field
import math
import numbers
import operator

from . import symbolic
from .errors import TheoryBenchError

MAX_X = 1e6                 # the grid's half-width X must satisfy 0 < X <= MAX_X
MAX_CELLS = 10**6           # 1 <= cells <= MAX_CELLS
MAX_CURVE = 100             # at most this many L1 values in one curve
MAX_KINKS = 32              # at most this many points where f may fail to be differentiable
DEFAULT_TIME_LIMIT = 30.0   # seconds per stage
MAX_TIME_LIMIT = 3600.0
METHODS = ("auto", "closed", "grid")
_EXP_ARG_MAX = 1e4          # interval exp refuses larger arguments (exp(exp(exp(x))) would not finish)
_TRIG_ARG_MAX = 1e6         # interval sin/cos of larger arguments: [-1, 1]


@dataclass
class SmoothnessResult:
    """``L0`` (float; ``inf`` when not (L0,L1)-smooth for this L1, or, from the grid, when no finite upper
    bound was found), ``L1``, ``method`` (how it was established), ``exact`` (the sympy expression when
    closed form), ``lower``/``upper`` (a certified bracket; equal to L0 for a closed form), ``argmax``
    (where h attains it, when known), ``domain``."""
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


# --- parameter checks (each names the parameter and its allowed range) ----------------------------------

def _real(value, name):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TheoryBenchError(f"{name} must be a real number, got {value!r}")
    return float(value)


def check_L1(L1, name="L1"):
    """L1 as a float: a finite number >= 0."""
    v = _real(L1, name)
    if not (math.isfinite(v) and v >= 0):
        raise TheoryBenchError(f"{name} must be a finite number >= 0, got {L1!r}")
    return v


def check_method(method, name="method"):
    if not isinstance(method, str) or method not in METHODS:
        raise TheoryBenchError(f"{name} must be one of {', '.join(METHODS)}, got {method!r}")
    return method


def check_X(X, name="X"):
    """The grid's half-width: a finite number with 0 < X <= MAX_X."""
    v = _real(X, name)
    if not (math.isfinite(v) and 0 < v <= MAX_X):
        raise TheoryBenchError(f"{name} (the grid's half-width) must be a finite number with "
                               f"0 < {name} <= {MAX_X:g}, got {X!r}")
    return v


def check_cells(cells, name="cells"):
    """The grid's number of cells: an integer with 1 <= cells <= MAX_CELLS."""
    try:
        if isinstance(cells, bool):
            raise TypeError
        v = operator.index(cells)
    except TypeError:
        raise TheoryBenchError(f"{name} (the grid's number of cells) must be an integer with "
                               f"1 <= {name} <= {MAX_CELLS}, got {cells!r}") from None
    if not 1 <= v <= MAX_CELLS:
        raise TheoryBenchError(f"{name} (the grid's number of cells) must be an integer with "
                               f"1 <= {name} <= {MAX_CELLS}, got {cells!r}")
    return v


def check_time_limit(time_limit, name="time_limit"):
    v = _real(time_limit, name)
    if not (math.isfinite(v) and 0 < v <= MAX_TIME_LIMIT):
        raise TheoryBenchError(f"{name} must be a number of seconds with 0 < {name} <= {MAX_TIME_LIMIT:g}, "
                               f"got {time_limit!r}")
    return v


def check_L1s(L1s, name="L1s"):
    """A non-empty list of at most MAX_CURVE values of L1, each finite and >= 0."""
    if isinstance(L1s, (str, bytes)) or not hasattr(L1s, "__iter__"):
        raise TheoryBenchError(f"{name} must be a list of L1 values, got {L1s!r}")
    vals = []
    for v in L1s:
        vals.append(check_L1(v, f"each value of {name}"))
        if len(vals) > MAX_CURVE:
            raise TheoryBenchError(f"{name} must have at most {MAX_CURVE} values")
    if not vals:
        raise TheoryBenchError(f"{name} must have at least one value")
    return vals


# --- a time budget per stage -------------------------------------------------------------------------

class _OutOfTime(BaseException):
    """Raised by the timer (a BaseException, so that sympy's ``except Exception`` cannot swallow it)."""


def _in_finalizer(frame, depth=8):
    """Whether ``frame`` runs in a gc callback or a ``__del__`` (where an exception is only printed and
    dropped): the alarm then waits for its next tick."""
    import gc
    codes = {getattr(cb, "__code__", None) for cb in gc.callbacks}
    while frame is not None and depth > 0:
        if frame.f_code in codes or frame.f_code.co_name == "__del__":
            return True
        frame, depth = frame.f_back, depth - 1
    return False


@contextmanager
def _time_budget(seconds):
    import signal
    import threading
    if (not hasattr(signal, "setitimer") or threading.current_thread() is not threading.main_thread()
            or signal.getitimer(signal.ITIMER_REAL)[0] > 0):  # no timer here, or someone else's is running
        yield
        return

    def on_alarm(signum, frame):
        if not _in_finalizer(frame):
            raise _OutOfTime()

    old = signal.signal(signal.SIGALRM, on_alarm)
    # then again every 50 ms: an exception raised while the interpreter runs a gc callback or a __del__ is
    # dropped ("Exception ignored in ..."), the next alarm lands elsewhere
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.05)
    try:
        yield
    finally:
        try:
            signal.setitimer(signal.ITIMER_REAL, 0)
        finally:
            signal.signal(signal.SIGALRM, old)


# --- the objective: parsed, and checked to be a C^1 function on the real line --------------------------

@dataclass
class _Objective:
    expr: object       # sympy expression in the real symbol x
    x: object
    kinks: list        # sympy numbers: where f may fail to be twice differentiable (f is C^1 there)


_ALLOWED_FUNCS = ("exp", "log", "sin", "cos", "tan", "sinh", "cosh", "tanh", "Abs", "Max", "Min", "sign",
                  "Heaviside")


def _to_sympy(expr):
    s = symbolic.sp()
    if isinstance(expr, str):
        return symbolic.parse_expression(expr, ("x",))
    if not isinstance(expr, s.Expr):
        raise TheoryBenchError(f"the expression must be a string or a sympy expression, got "
                               f"{type(expr).__name__}")
    return expr


def _check_structure(e):
    """Only numbers, pi, E, + * **, and the allowed functions (for sympy expressions given directly)."""
    s = symbolic.sp()
    funcs = tuple(getattr(s, n) for n in _ALLOWED_FUNCS)
    for node in s.preorder_traversal(e):
        if isinstance(node, s.Piecewise):
            raise TheoryBenchError(f"Piecewise is not supported (in {e}): write the function with Abs, Max "
                                   f"or Min, whose kinks are checked")
        if isinstance(node, s.DiracDelta):
            raise TheoryBenchError(f"{e} contains DiracDelta, which is not a function")
        if node is s.I or node.is_Number and not node.is_finite or node in (s.zoo, s.nan):
            raise TheoryBenchError(f"{e} is not a finite real expression (contains {node})")
        if isinstance(node, (s.Symbol, s.Add, s.Mul, s.Pow, s.Number)) or node in (s.pi, s.E):
            continue
        if isinstance(node, funcs):
            continue
        name = getattr(node, "func", type(node)).__name__
        raise TheoryBenchError(f"{e} contains {name}, which is not supported (allowed: numbers, pi, E, "
                               f"+ - * / **, {', '.join(_ALLOWED_FUNCS)})")


def _parse(expr):
    """``(expression in a real symbol, that symbol)``; the variable may have any name for sympy input."""
    s = symbolic.sp()
    e = _to_sympy(expr)
    free = sorted(e.free_symbols, key=lambda v: v.name)
    if len(free) != 1:
        raise TheoryBenchError(f"the expression must be a function of exactly one variable (x), got "
                               f"{', '.join(v.name for v in free) or 'none'}: {e}")
    xr = s.Symbol(free[0].name, real=True)  # so that d|x|/dx = sign(x)
    e = e.subs(free[0], xr)
    _check_structure(e)
    return e, xr


class _Analysis:
    """The domain and differentiability checks of f (see the module docstring)."""

    def __init__(self, f, x):
        self.s = symbolic.sp()
        self.f, self.x = f, x
        self._zeros = {}
        self.kinks = []

    def refuse(self, why):
        raise TheoryBenchError(f"f = {self.f}: {why}")

    def zeros(self, g, what):
        """The real zeros of g (a sorted list of sympy numbers), or a refusal if sympy cannot list them."""
        s, x = self.s, self.x
        if g in self._zeros:
            return self._zeros[g]
        if g.is_positive or g.is_negative:
            z = []
        else:
            try:
                sol = s.solveset(g, x, s.S.Reals)
            except Exception:
                sol = None
            if sol == s.S.EmptySet:
                z = []
            elif isinstance(sol, s.FiniteSet):
                z = list(sol)
                if len(z) > MAX_KINKS:
                    self.refuse(f"{what}: {g} = 0 at more than {MAX_KINKS} points")
                if not all(r.is_real for r in z):
                    self.refuse(f"{what}: cannot decide where {g} = 0")
                z.sort(key=lambda r: float(r.evalf(30)))
            elif sol is not None and isinstance(sol, (s.ImageSet, s.Union)):
                self.refuse(f"{what}: {g} = 0 at infinitely many points, which cannot all be checked")
            else:
                self.refuse(f"{what}: cannot decide where {g} = 0")
        self._zeros[g] = z
        return z

    def sample_signs(self, g, z):
        """The signs of g between and beyond its sorted zeros z (g continuous)."""
        s, x = self.s, self.x
        zf = [float(r.evalf(30)) for r in z]
        pts = [0.0] if not zf else [zf[0] - 1] + [(a + b) / 2 for a, b in zip(zf, zf[1:])] + [zf[-1] + 1]
        out = []
        for p in pts:
            v = g.subs(x, s.Rational(p)).evalf(30)
            if not (v.is_real and v.is_finite) or v == 0:
                self.refuse(f"cannot decide the sign of {g} at x = {p:g}")
            out.append(1 if v > 0 else -1)
        return out, zf

    def need_nonzero(self, g, what):
        z = self.zeros(g, what)
        if z:
            self.refuse(f"{what} is undefined at x = {z[0]} (where {g} = 0)")

    def need_positive(self, g, what):
        if g.is_positive:
            return
        z = self.zeros(g, what)
        if z:
            self.refuse(f"{what} is undefined at x = {z[0]} (where {g} = 0; it needs {g} > 0)")
        signs, pts = self.sample_signs(g, z)
        if signs[0] < 0:
            self.refuse(f"{what} is undefined for real x: it needs {g} > 0, which fails at x = 0")

    def need_nonnegative(self, g, what):
        if g.is_nonnegative:
            if not g.is_positive:
                self.kinks.extend(self.zeros(g, what))
            return
        z = self.zeros(g, what)
        signs, zf = self.sample_signs(g, z)
        if min(signs) < 0:
            self.refuse(f"{what} is undefined where {g} < 0 (it is negative somewhere; it needs {g} >= 0 "
                        f"for every real x)")
        self.kinks.extend(z)

    def run(self):
        s, x, f = self.s, self.x, self.f
        for node in s.postorder_traversal(f):  # inner parts first: g is known continuous when checked
            if not node.has(x):
                continue
            if node.is_Pow:
                b, p = node.base, node.exp
                what = f"the power {node}"
                if p.is_Integer:
                    if p < 0:
                        self.need_nonzero(b, what)
                elif p.has(x) or not p.is_positive:
                    self.need_positive(b, what)
                else:
                    self.need_nonnegative(b, what)
            elif isinstance(node, s.log):
                self.need_positive(node.args[0], f"{node}")
            elif isinstance(node, s.tan):
                self.need_nonzero(s.cos(node.args[0]), f"{node}")
            elif isinstance(node, (s.Abs, s.sign, s.Heaviside)):
                self.kinks.extend(self.zeros(node.args[0], f"the kinks of {node}"))
            elif isinstance(node, (s.Max, s.Min)):
                a = node.args
                for i in range(len(a)):
                    for j in range(i + 1, len(a)):
                        self.kinks.extend(self.zeros(a[i] - a[j], f"the kinks of {node}"))
        uniq = []
        for r in self.kinks:
            if not any((r - q).equals(0) for q in uniq):
                uniq.append(r)
        if len(uniq) > MAX_KINKS:
            self.refuse(f"it may have a kink at more than {MAX_KINKS} points")
        # one-sided limits at the kinks, of f with Max/Min written with Abs (sympy's limit handles Abs)
        fa = _max_min_as_abs(f)
        d1 = _derivatives(fa, x)[0]
        for r in uniq:
            self.continuous_at(fa, r, "f is not continuous", "f")
            self.continuous_at(d1, r, "f is not differentiable", "f'")
        self.kinks = uniq
        return self.kinks

    def continuous_at(self, g, r, what, name):
        s, x = self.s, self.x
        t = s.Symbol("t", positive=True)
        lims = []
        for d in (-1, 1):
            try:
                v = s.limit(g.subs(x, r + d * t), t, 0, "+")
            except Exception:
                self.refuse(f"cannot decide whether {name} is continuous at x = {r}, so whether f is "
                            f"continuously differentiable there")
            if v in (s.oo, -s.oo, s.zoo):
                self.refuse(f"{what} at x = {r} ({name} is unbounded near it); (L0,L1)-smoothness needs f "
                            f"continuously differentiable on the real line")
            if v.has(s.nan, s.AccumBounds, s.oo, s.zoo) or not v.is_real:
                self.refuse(f"cannot decide whether {name} is continuous at x = {r}")
            lims.append(v)
        same = (lims[1] - lims[0]).equals(0)
        if same is None:
            self.refuse(f"cannot decide whether {name} is continuous at x = {r}")
        if not same:
            self.refuse(f"{what} at x = {r} ({name} jumps from {lims[0]} to {lims[1]}); (L0,L1)-smoothness "
                        f"needs f continuously differentiable on the real line")


def _max_min_as_abs(e):
    """e with Max(a, b) = (a + b + |a - b|)/2 and Min(a, b) = (a + b - |a - b|)/2 (exact for real a, b)."""
    s = symbolic.sp()

    def fold(sgn):
        def g(*a):
            out = a[0]
            for b in a[1:]:
                out = (out + b + sgn * s.Abs(out - b)) / 2
            return out
        return g
    return e.replace(s.Max, fold(1)).replace(s.Min, fold(-1))


def _prepare(expr, time_limit):
    """Parse and check f (see the module docstring); an :class:`_Objective`."""
    e, x = _parse(expr)
    try:
        with _time_budget(time_limit):
            kinks = _Analysis(e, x).run()
    except _OutOfTime:
        raise TheoryBenchError(f"f = {e}: the domain and differentiability checks did not finish within "
                               f"{time_limit:g} s (time_limit); simplify the expression") from None
    except TheoryBenchError:
        raise
    except Exception as err:  # sympy failing on an exotic (but legal) expression
        raise TheoryBenchError(f"f = {e}: sympy could not check its domain and differentiability "
                               f"({type(err).__name__}); simplify the expression") from None
    return _Objective(e, x, kinks)


# --- the closed form ---------------------------------------------------------------------------------

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


def _closed(obj, L1, time_limit):
    """``(L0 float, exact str or None, argmax)`` from the closed form, or None (not found, or out of time).
    The closed form splits the line at 0 only, so it is tried only when every kink of f is at x = 0."""
    s = symbolic.sp()
    if any(not r.is_zero for r in obj.kinks):
        return None
    try:
        with _time_budget(time_limit):
            cf = _closed_form(obj.expr, obj.x, L1)
            if cf is None:
                return None
            val, arg = cf
            if val == s.oo:
                return math.inf, None, arg
            L0 = float(val)
            if not (math.isfinite(L0) and L0 >= 0):
                return None
            return L0, str(s.nsimplify(val)), arg
    except _OutOfTime:
        return None
    except Exception:  # sympy failing on an exotic expression: no closed form
        return None


# --- the certified grid ------------------------------------------------------------------------------

def _derivatives(expr, x):
    """f' and f'' with the DiracDelta terms dropped: f is checked to be C^1, so f' has no jump and the
    DiracDelta terms of f'' (from the jumps of f'' at kinks) vanish where f'' exists."""
    s = symbolic.sp()
    d1 = s.diff(expr, x).replace(s.DiracDelta, lambda *a: 0)
    d2 = s.diff(d1, x).replace(s.DiracDelta, lambda *a: 0)
    return d1, d2


def _iv_namespace():
    import mpmath
    iv = mpmath.iv

    def sign(z):
        z = iv.mpf(z)
        if z.a > 0:
            return iv.mpf(1)
        if z.b < 0:
            return iv.mpf(-1)
        if z.a == 0 and z.b == 0:
            return iv.mpf(0)
        return iv.mpf([-1, 1])

    def heaviside(z, *h0):
        return (sign(z) + 1) / 2  # Heaviside(0) = 1/2 is in [0, 1]

    def exp(z):
        z = iv.mpf(z)
        if not z.b <= _EXP_ARG_MAX:
            raise OverflowError("interval exp of a too large argument")
        return iv.exp(z)

    def trig(fn):
        def g(z):
            z = iv.mpf(z)
            if not (abs(z.a) <= _TRIG_ARG_MAX and abs(z.b) <= _TRIG_ARG_MAX) or z.b - z.a >= 7:
                return iv.mpf([-1, 1])
            return fn(z)
        return g

    def tan(z):
        z = iv.mpf(z)
        if not (abs(z.a) <= _TRIG_ARG_MAX and abs(z.b) <= _TRIG_ARG_MAX):
            raise OverflowError("interval tan of a too large argument")
        return iv.tan(z)

    def tanh_point(v):
        v = iv.mpf(v)
        if v.a >= 0:
            u = iv.exp(-2 * v)
            return (1 - u) / (1 + u)
        u = iv.exp(2 * v)
        return (u - 1) / (u + 1)

    def tanh(z):  # increasing: [tanh(a), tanh(b)], each end enclosed
        z = iv.mpf(z)
        return iv.mpf([tanh_point(z.a).a, tanh_point(z.b).b])

    def vmax(*a):
        a = [iv.mpf(v) for v in a]
        return iv.mpf([max(v.a for v in a), max(v.b for v in a)])

    def vmin(*a):
        a = [iv.mpf(v) for v in a]
        return iv.mpf([min(v.a for v in a), min(v.b for v in a)])

    def power(b, p):
        """b**p for a non-integer p, with b >= 0 (checked for f): the enclosure of b is clipped at 0."""
        b, p = iv.mpf(b), iv.mpf(p)
        if b.b < 0:
            raise ValueError("negative base")
        if b.a < 0:
            b = iv.mpf([0, b.b])
        if b.a == 0 and p.a <= 0:
            raise ZeroDivisionError("0 to a negative power")
        return b ** p

    def rat(p, q):
        return iv.mpf(p) / iv.mpf(q)

    return {"ivsign": sign, "ivheav": heaviside, "ivexp": exp, "ivsin": trig(iv.sin), "ivcos": trig(iv.cos),
            "ivtan": tan, "ivsinh": lambda z: (exp(z) - exp(-z)) / 2, "ivcosh": lambda z: (exp(z) + exp(-z)) / 2,
            "ivtanh": tanh, "ivlog": iv.log, "ivmax": vmax, "ivmin": vmin, "ivpow": power, "ivrat": rat,
            "Abs": abs}


def _to_interval_form(e):
    """e with every function replaced by its interval version (see :func:`_iv_namespace`), every
    non-integer power by ivpow and every non-integer rational by ivrat (exact enclosures)."""
    s = symbolic.sp()
    F = s.Function
    for cls, name in ((s.sign, "ivsign"), (s.Heaviside, "ivheav"), (s.exp, "ivexp"), (s.sin, "ivsin"),
                      (s.cos, "ivcos"), (s.tan, "ivtan"), (s.sinh, "ivsinh"), (s.cosh, "ivcosh"),
                      (s.tanh, "ivtanh"), (s.log, "ivlog"), (s.Max, "ivmax"), (s.Min, "ivmin")):
        e = e.replace(cls, F(name))
    e = e.replace(lambda n: n.is_Pow and not n.exp.is_Integer, lambda n: F("ivpow")(n.base, n.exp))
    e = e.replace(lambda n: n.is_Rational and not n.is_Integer, lambda n: F("ivrat")(n.p, n.q))
    return e


def _interval_funcs(expr, x):
    import mpmath
    s = symbolic.sp()
    iv = mpmath.iv
    mods = [_iv_namespace(), iv]
    e1, e2 = (_to_interval_form(e) for e in _derivatives(expr, x))
    return iv, s.lambdify(x, e1, modules=mods), s.lambdify(x, e2, modules=mods)


def _float_funcs(expr, x):
    s = symbolic.sp()
    e1, e2 = _derivatives(expr, x)
    return s.lambdify(x, e1, "numpy"), s.lambdify(x, e2, "numpy")


def _grid(obj, L1, X, cells, time_limit):
    """``(lower, upper, argmax)`` of the certified grid for a checked objective."""
    try:
        with _time_budget(time_limit):
            return _grid_bounds(obj.expr, obj.x, L1, X, cells)
    except _OutOfTime:
        raise TheoryBenchError(f"the certified grid did not finish within {time_limit:g} s (time_limit) for "
                               f"f = {obj.expr} with {cells} cells; use fewer cells") from None
    except TheoryBenchError:
        raise
    except Exception as err:  # lambdify or the interval functions failing on an exotic expression
        raise TheoryBenchError(f"the certified grid cannot evaluate f' and f'' of f = {obj.expr} "
                               f"({type(err).__name__})") from None


def _grid_bounds(expr, x, L1, X, cells):
    import numpy as np
    f1, f2 = _float_funcs(expr, x)
    grid = np.linspace(-X, X, cells + 1)
    with np.errstate(all="ignore"):
        try:
            g1 = np.broadcast_to(np.asarray(f1(grid), dtype=float), grid.shape)
            g2 = np.broadcast_to(np.asarray(f2(grid), dtype=float), grid.shape)
            hv = np.abs(g2) - L1 * np.abs(g1)
        except (ValueError, TypeError, ArithmeticError):
            hv = np.full(grid.shape, np.nan)
    # a lower bound from the points where f', f'' are finite floats (overflow or 0/0 elsewhere: skipped)
    ok = np.isfinite(hv)
    if ok.any():
        k = int(np.flatnonzero(ok)[np.argmax(hv[ok])])
        lower, arg = max(0.0, float(hv[k])), float(grid[k])
    else:
        lower, arg = 0.0, None
    iv, d1, d2 = _interval_funcs(expr, x)
    import mpmath
    upper = mpmath.mpf(0)
    L1i = iv.mpf(L1)
    for a, b in zip(grid[:-1], grid[1:]):
        cell = iv.mpf([float(a), float(b)])
        try:
            g1, g2 = iv.mpf(d1(cell)), iv.mpf(d2(cell))
            sup2 = max(abs(g2.a), abs(g2.b))
            inf1 = 0 if (g1.a <= 0 <= g1.b) else min(abs(g1.a), abs(g1.b))
            if not (mpmath.isfinite(sup2) and mpmath.isfinite(inf1)):
                return lower, math.inf, arg
            bound = (iv.mpf(sup2) - L1i * iv.mpf(inf1)).b  # outward rounded
        except (ArithmeticError, ValueError, TypeError):  # a singularity, or a cell the intervals cannot bound
            return lower, math.inf, arg
        if bound > upper:
            upper = bound
    up = float(upper)
    if up < upper:
        up = math.nextafter(up, math.inf)
    return lower, max(up, lower), arg


def certified_grid(expr, L1, X=10.0, cells=20000, time_limit=DEFAULT_TIME_LIMIT):
    """Lower and upper bounds on ``sup_{|x| <= X} h(x)`` (see the module docstring). Returns
    ``(lower, upper, argmax)``; ``upper = inf`` when some cell cannot be bounded (a singularity, or cells
    too coarse). ``X``: ``0 < X <= MAX_X``; ``cells``: an integer in ``[1, MAX_CELLS]``."""
    L1 = check_L1(L1)
    X, cells = check_X(X), check_cells(cells)
    time_limit = check_time_limit(time_limit)
    return _grid(_prepare(expr, time_limit), L1, X, cells, time_limit)


# --- the API -----------------------------------------------------------------------------------------

def _tight(obj, L1, method, X, cells, time_limit):
    if method in ("auto", "closed"):
        cf = _closed(obj, L1, time_limit)
        if cf is not None:
            L0, exact, arg = cf
            return SmoothnessResult(str(obj.expr), L1, L0, "closed form (sympy)", L0, L0, exact=exact,
                                    argmax=arg)
        if method == "closed":
            where = ("" if all(r.is_zero for r in obj.kinks) else
                     f" (f has kinks at x = {', '.join(str(r) for r in obj.kinks)}; the closed form handles "
                     f"kinks at 0 only)")
            raise TheoryBenchError(f"sympy found no closed form for the tight L0 of {obj.expr} within "
                                   f"{time_limit:g} s{where}; use method='grid'")
    lo, hi, arg = _grid(obj, L1, X, cells, time_limit)
    details = {"cells": cells, "bound": "interval arithmetic (mpmath.iv) per cell"}
    if math.isinf(hi):
        details["upper"] = ("no finite upper bound: some cell could not be bounded (f'' unbounded there, "
                            "or the cells are too coarse for the growth of f)")
    return SmoothnessResult(str(obj.expr), L1, hi, "certified grid", lo, hi, argmax=arg,
                            domain=f"|x| <= {X:g}", details=details)


def tight_L0(expr, L1, method="auto", X=10.0, cells=20000, time_limit=DEFAULT_TIME_LIMIT):
    """Tight L0 for the given L1 of a univariate ``expr`` (sympy expression, or a string in ``x`` parsed by
    :func:`theorybench.symbolic.parse_expression`); f must be C^1 on the real line (module docstring).

    method: ``"auto"`` (closed form when sympy finds one within ``time_limit`` seconds, else the certified
    grid), ``"closed"`` (closed form or an error), ``"grid"`` (the certified grid on ``[-X, X]`` with
    ``cells`` cells; ``L0`` is its upper bound). ``L1``: finite, >= 0; ``X``: ``0 < X <= MAX_X``;
    ``cells``: an integer in ``[1, MAX_CELLS]``; ``time_limit``: seconds per stage, in
    ``(0, MAX_TIME_LIMIT]``. Bad input raises :class:`~theorybench.errors.TheoryBenchError` (a ValueError).
    Returns a :class:`SmoothnessResult`."""
    L1 = check_L1(L1)
    method = check_method(method)
    X, cells = check_X(X), check_cells(cells)
    time_limit = check_time_limit(time_limit)
    return _tight(_prepare(expr, time_limit), L1, method, X, cells, time_limit)


def tight_curve(expr, L1s, method="auto", X=10.0, cells=20000, time_limit=DEFAULT_TIME_LIMIT):
    """The tight (L0, L1) curve: ``[(L1, L0), ...]`` for the given L1 values (at most ``MAX_CURVE``; see
    :func:`tight_L0`)."""
    L1s = check_L1s(L1s)
    method = check_method(method)
    X, cells = check_X(X), check_cells(cells)
    time_limit = check_time_limit(time_limit)
    obj = _prepare(expr, time_limit)
    return [(L1, _tight(obj, L1, method, X, cells, time_limit).L0) for L1 in L1s]
