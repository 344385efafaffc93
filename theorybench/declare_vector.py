"""Declared pieces for iterates in R^d and instances given as named arrays (the vector template): a
:class:`VectorFamily` (an objective family, declared in ``problems/`` next to its instances), its
:class:`VectorProblem` instances, and :class:`VectorMethod` (a method, declared anywhere: the library's
``theorybench/methods/``, a user's package or a notebook). ``theorybench.compose_vector`` composes one
specialised whole-trajectory kernel per (method, family, noise model, layout) and caches it on disk.

**Instance** (:class:`VectorProblem`): ``arrays``, a dict ``name -> float or float64/int64 ndarray`` (the
instance's data: ``A``, ``b``, ``xstar``, per-client ``H`` and ``c`` ...), ``dims`` (named sizes such as
``m``, the rows of A), ``dim`` (d, the iterate's length), ``n_clients`` (n) and ``noise`` (the name of one of
its family's noise pieces; ``"none"``: exact gradients).

**Family** (:class:`VectorFamily`): ``@njit`` pieces whose *argument names* say which of the instance's
arrays they read (after the fixed leading arguments)::

    value(x, <arrays>) -> float                     f(x)
    grad(x, out, <arrays>)                          out[:] = grad f(x)
    client_grad(i, x, out, <arrays>)                out[:] = grad f_i(x)       (optional: federated instances)
    noises = {"name": noise(out, seed, stream, counter, <arrays>)}
                                                    out += one draw z of the noise model (mean 0)
    stats = (("name", stat(x, <arrays>) -> float), ...)
                                                    recorded next to f and ||grad f|| (e.g. ||x - x*||^2)
    safe_radius(problem) -> rho                     optional, plain Python: |f|, ||grad f|| < 1e150 while
                                                    max_j |x_j| < rho (then f is evaluated only where needed;
                                                    :func:`smooth_safe_radius` gives rho for an L-smooth f)

**Method** (:class:`VectorMethod`): hyperparameters ``params`` (``Param``: default, range, choices,
meaning), ``state`` (arrays the method keeps: ``(("h", ("n", "d")), ("comms", (1,)), ...)``, shapes in
``d``, ``n``, the instance's ``dims`` names or integers, zero-filled), an optional ``init`` and the ``step``,
both ``@njit`` functions that update ``x`` and the state arrays in place (no return value), and ``stats``
(``(("name", piece -> float), ...)``: recorded on the record schedule and reported at the end), and
optionally ``check(problem, settings)``, a plain Python function that returns why a combination of
hyperparameter values does not fit an instance (rand-k's ``k > d``), so that it is refused with that reason
before any work. The
pieces' argument names choose what they receive::

    x                 the iterate (float64 array of length d; the step updates it in place)
    t                 the step number, from 0 (step and stats)
    seed              the trajectory's seed (for draws of theorybench.rng: uniform01, normal01, ...)
    prob              the instance handle, for the oracle (theorybench.oracle: value, gradient,
                      client_gradient, stochastic_gradient, client_stochastic_gradient)
    n, d              the number of clients and the dimension
    target            the run's ``target`` (``run(..., target=)``; 0 when none is given)
    steps             the run's horizon T (the number of steps; normalized EF21's gamma0/sqrt(T + 1))
    <state names>     the method's state arrays
    <hyperparameters> float (``int`` and ``choice`` as integers: a choice is the index in ``choices``)
    <anything else>   the instance's array of that name (read it, do not write it): a method that reads
                      ``A`` and ``b`` runs on every instance that has them, and is refused with the list
                      of what an instance has on one that does not

The kernel, per configuration (hyperparameter vector, start x_0, seed): state zero-filled, ``init``, then
for t = 0, ..., T: observe x_t (f, ||grad f||, the family's and the method's statistics on recorded steps;
the divergence rule ``kernels.common.healthy``), stop at T, else ``step``. A step after which some |x_j|
is not below 1e150 (or is NaN) ends the run as diverged at t + 1.
"""
from dataclasses import dataclass, field
import functools
import inspect
import keyword

import numpy as np

from .declare import _need_njit
from .errors import TheoryBenchError
from .oracle import ORACLE_NAMES
from .params import Param
from .problem import Problem

FIXED = ("x", "t", "seed", "prob", "n", "d", "target", "steps")
RESERVED_IN_FAMILY = ("out", "i", "stream", "counter")  # the family pieces' leading names, never array names
FAMILY_LEADING = {"value": ("x",), "grad": ("x", "out"), "client_grad": ("i", "x", "out"),
                  "noise": ("out", "seed", "stream", "counter"), "stat": ("x",)}


@functools.lru_cache(maxsize=None)
def _args_of(py_func):
    return tuple(inspect.signature(py_func).parameters)


def piece_args(fn):
    """A piece's argument names (cached: the runner asks on every call)."""
    return list(_args_of(fn.py_func))


@dataclass
class VectorProblem(Problem):
    """An instance of a :class:`VectorFamily`: ``arrays`` (name -> number or array), ``dims`` (named
    sizes), ``family_name`` (the family's name); ``params`` is ``(n_clients, 0)`` (unused by this template)."""
    arrays: dict = field(default_factory=dict)
    dims: dict = field(default_factory=dict)
    family_name: str = ""

    def __post_init__(self):
        if int(self.params.shape[0]) < 1:
            raise ValueError("a vector-template instance has at least one client (params of shape (n, 0), n >= 1)")
        self.params = np.zeros((int(self.params.shape[0]), 0))
        if self.x0 is None:
            raise ValueError("a vector-template instance needs its default start x0 (d coordinates)")
        self.x0 = np.atleast_1d(np.asarray(self.x0, dtype=np.float64))
        if self.x0.shape != (self.dim,):
            raise ValueError(f"x0 must have {self.dim} coordinates, got shape {self.x0.shape}")
        arrays = {}
        for k, v in self.arrays.items():
            if not k.isidentifier() or keyword.iskeyword(k) or k in FIXED or k in RESERVED_IN_FAMILY:
                raise ValueError(f"array name {k!r} must be an identifier other than "
                                 f"{', '.join(FIXED + RESERVED_IN_FAMILY)}")
            a = np.asarray(v)
            if a.dtype.kind not in "iuf" or isinstance(v, bool):
                raise ValueError(f"array {k!r} must hold real numbers (got {a.dtype}); bools and complex numbers "
                                 "are refused")
            if a.dtype.kind == "u" and a.size and int(a.max()) > np.iinfo(np.int64).max:
                raise ValueError(f"array {k!r} has integers past int64")
            if a.ndim == 0:
                arrays[k] = float(a)
            else:
                a = np.ascontiguousarray(a, dtype=np.int64 if a.dtype.kind in "iu" else np.float64)
                a.setflags(write=False)
                arrays[k] = a
        self.arrays = arrays
        dims = {k: int(v) for k, v in self.dims.items()}
        bad = {k: v for k, v in dims.items() if v < 1}
        if bad:
            raise ValueError(f"sizes must be positive, got {bad}")
        for k, v in (("d", int(self.dim)), ("n", self.n_clients)):
            if k in dims and dims[k] != v:
                raise ValueError(f"size {k!r} is {v} for this instance; dims gives {dims[k]}")
        self.dims = {**dims, "d": int(self.dim), "n": self.n_clients}

    @property
    def family_piece(self):
        return get_vector_family(self.family_name)

    @property
    def noise_code(self):  # the runner's key; the vector template keys on the noise name itself
        return self.noise if self.sigma > 0 or self.noise != "none" else "none"

    @property
    def noise_mask(self):
        return np.ones(self.dim)

    def _call(self, fn, *lead):
        return fn(*lead, *[self.arrays[a] for a in piece_args(fn)[len(lead):]])

    def value(self, x):
        """``f(x)``."""
        return float(self._call(self.family_piece.value, self._x(x)))

    def grad(self, x):
        """``grad f(x)``."""
        out = np.empty(self.dim)
        self._call(self.family_piece.grad, self._x(x), out)
        return out

    def client_value(self, i, x):
        raise TheoryBenchError(f"problem {self.name!r} has no per-client values in this template")

    def client_grad(self, i, x):
        """``grad f_i(x)`` (a family with ``client_grad``)."""
        fam = self.family_piece
        if fam.client_grad is None:
            raise TheoryBenchError(f"family {fam.name!r} has no client_grad")
        out = np.empty(self.dim)
        self._call(fam.client_grad, int(i), self._x(x), out)
        return out


def _check_names(owner, fn, lead, what):
    args = piece_args(fn)
    if tuple(args[:len(lead)]) != tuple(lead):
        raise TheoryBenchError(f"{owner}: {what} must take ({', '.join(lead)}, <arrays>) first, got ({', '.join(args)})")
    for a in args[len(lead):]:
        if a in FIXED or a in ORACLE_NAMES or a in RESERVED_IN_FAMILY:
            raise TheoryBenchError(f"{owner}: {what} argument {a!r} is a reserved name, not an array name")
    return args[len(lead):]


@dataclass(frozen=True)
class VectorFamily:
    """An objective family for the vector template (module docstring): ``name``, ``problems`` (registered
    problem names it evaluates), pieces ``value``, ``grad``, optional ``client_grad``, ``noises``
    (``{name: piece}``; ``"none"`` is always there), ``stats`` (``(("name", piece), ...)``), ``target_stat``
    (what ``target`` / ``first_below_target`` compare: ``"grad_norm"``, ``"loss"`` or a stat's name)."""
    name: str
    problems: tuple
    value: object
    grad: object
    client_grad: object = None
    noises: dict = field(default_factory=dict)
    stats: tuple = ()
    target_stat: str = "grad_norm"
    doc: str = ""
    reference: str = ""
    safe_radius: object = None  # safe_radius(problem) -> rho: |f|, ||grad f|| < 1e150 while max_j |x_j| < rho

    def __post_init__(self):
        owner = f"family {self.name!r}"
        clash = [fn.py_func.__name__ for fn in (self.value, self.grad, self.client_grad) if fn is not None
                 and fn.py_func.__name__ in ORACLE_NAMES]
        if clash:
            raise TheoryBenchError(f"{owner}: piece {clash[0]!r} is named like an oracle function "
                                   f"({', '.join(ORACLE_NAMES)}): rename it")
        object.__setattr__(self, "problems", tuple(self.problems))
        _check_names(owner, _need_njit(self.value, f"{owner}: value"), FAMILY_LEADING["value"], "value")
        _check_names(owner, _need_njit(self.grad, f"{owner}: grad"), FAMILY_LEADING["grad"], "grad")
        if self.client_grad is not None:
            _check_names(owner, _need_njit(self.client_grad, f"{owner}: client_grad"),
                         FAMILY_LEADING["client_grad"], "client_grad")
        for k, fn in dict(self.noises).items():
            if k == "none":
                raise TheoryBenchError(f"{owner}: the noise name 'none' is reserved (exact gradients)")
            _check_names(owner, _need_njit(fn, f"{owner}: noise {k!r}"), FAMILY_LEADING["noise"], f"noise {k!r}")
        object.__setattr__(self, "stats", tuple(tuple(s) for s in self.stats))
        for s in self.stats:
            if len(s) != 2 or not isinstance(s[0], str) or not s[0].isidentifier():
                raise TheoryBenchError(f"{owner}: stats must be (name, @njit piece) pairs, got {s!r:.100}")
            _check_names(owner, _need_njit(s[1], f"{owner}: stat {s[0]!r}"), FAMILY_LEADING["stat"], f"stat {s[0]!r}")
        known = {"grad_norm", "loss"} | {s[0] for s in self.stats}
        if self.target_stat not in known:
            raise TheoryBenchError(f"{owner}: target_stat {self.target_stat!r} is none of {sorted(known)}")

    def noise_names(self):
        return ("none",) + tuple(self.noises)

    def misfit(self, problem):
        if not isinstance(problem, VectorProblem):
            return f"problem {problem.name!r} is not an instance of the vector template"
        if problem.family_name != self.name:
            return f"problem {problem.name!r} belongs to family {problem.family_name!r}, not {self.name!r}"
        if problem.noise not in self.noise_names():
            return (f"problem {problem.name!r} asks for noise {problem.noise!r}; family {self.name!r} has "
                    f"{', '.join(self.noise_names())}")
        pieces = [self.value, self.grad] + [fn for _, fn in self.stats]
        pieces += [self.client_grad] if self.client_grad is not None else []
        pieces += [self.noises[problem.noise]] if problem.noise != "none" else []
        missing = sorted({a for fn in pieces for a in piece_args(fn)} - set(problem.arrays)
                         - {"x", "out", "i", "seed", "stream", "counter"})
        if missing:
            return f"family {self.name!r} reads array(s) {missing} that problem {problem.name!r} lacks"
        return None


@dataclass(frozen=True)
class VectorMethod:
    """A method for the vector template (module docstring): ``name``, ``params`` (``Param``), ``step``,
    optional ``init``, ``state`` (``(("name", shape), ...)``), ``stats`` (``(("name", piece), ...)``), a
    docstring and the paper it comes from."""
    name: str
    params: tuple
    step: object
    state: tuple = ()
    init: object = None
    stats: tuple = ()
    doc: str = ""
    reference: str = ""
    check: object = None  # check(problem, settings) -> None or why these hyperparameters do not fit the instance

    def __post_init__(self):
        owner = f"method {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise TheoryBenchError(f"a method needs a name (a non-empty string), got {self.name!r}")
        object.__setattr__(self, "params", tuple(self.params))
        for p in self.params:
            if not isinstance(p, Param) or p.kind not in ("float", "int", "choice"):
                raise TheoryBenchError(f"{owner}: hyperparameters must be theorybench.Param of kind float, int or "
                                       f"choice, got {p!r:.100}")
            if not p.name.isidentifier() or keyword.iskeyword(p.name) or p.name in FIXED or p.name in ORACLE_NAMES:
                raise TheoryBenchError(f"{owner}: hyperparameter name {p.name!r} must be an identifier and not one "
                                       f"of the reserved names {', '.join(FIXED + ORACLE_NAMES)}")
        names = [p.name for p in self.params]
        state = []
        for s in self.state:
            if not (isinstance(s, tuple) and len(s) == 2 and isinstance(s[0], str) and s[0].isidentifier()):
                raise TheoryBenchError(f"{owner}: state must be (name, shape) pairs, got {s!r:.100}")
            shape = (s[1],) if isinstance(s[1], (str, int)) else tuple(s[1])
            for e in shape:
                if not ((isinstance(e, int) and e >= 1) or (isinstance(e, str) and e.isidentifier())):
                    raise TheoryBenchError(f"{owner}: state {s[0]!r} has shape entry {e!r}: a dimension name (d, n, "
                                           "or one of the instance's dims) or a positive integer")
            state.append((s[0], shape))
        object.__setattr__(self, "state", tuple(state))
        object.__setattr__(self, "stats", tuple(tuple(s) for s in self.stats))
        taken = names + [s for s, _ in state] + [s for s, _ in self.stats]
        clash = sorted({n for n in taken if taken.count(n) > 1} | (set(taken) & set(FIXED + ORACLE_NAMES)))
        if clash:
            raise TheoryBenchError(f"{owner}: name(s) {clash} are declared twice or reserved ({', '.join(FIXED)})")
        from .compose_vector import BASE_STATS
        shadow = sorted({n for n, _ in self.stats} & set(BASE_STATS))
        if shadow:
            raise TheoryBenchError(f"{owner}: statistic name(s) {shadow} are the engine's own ({', '.join(BASE_STATS)})")
        _need_njit(self.step, f"{owner}: step")
        if "x" not in piece_args(self.step):
            raise TheoryBenchError(f"{owner}: step must take 'x' (the iterate, updated in place)")
        if self.init is not None:
            _need_njit(self.init, f"{owner}: init")
        for s in self.stats:
            if len(s) != 2 or not isinstance(s[0], str) or not s[0].isidentifier():
                raise TheoryBenchError(f"{owner}: stats must be (name, @njit piece) pairs, got {s!r:.100}")
            _need_njit(s[1], f"{owner}: stat {s[0]!r}")

    def slots(self):
        return {p.name: k for k, p in enumerate(self.params)}

    def check_values(self, problem, combos):
        """Refuse, before any work, hyperparameters that do not fit ``problem`` (rand-k's ``k > d``): the
        method's ``check(problem, settings)`` (a plain Python function; returns None or the reason) on each
        distinct combination of hyperparameter values in ``combos`` (dicts)."""
        if self.check is None:
            return
        for st in combos:
            why = self.check(problem, st)
            if why:
                shown = ", ".join(f"{k}={v!r}" for k, v in st.items())
                raise TheoryBenchError(f"method {self.name!r} with {shown} does not fit problem {problem.name!r}: "
                                       f"{why}")

    def pieces(self):
        """``[(what, piece)]``: step, init and the stats."""
        out = [("step", self.step)] + ([("init", self.init)] if self.init is not None else [])
        return out + [(f"stat {n}", fn) for n, fn in self.stats]

    def arrays_read(self):
        """The instance arrays the pieces read (every argument that is not fixed, state or a hyperparameter)."""
        own = set(FIXED) | set(self.slots()) | {s for s, _ in self.state}
        return sorted({a for _, fn in self.pieces() for a in piece_args(fn)} - own)

    def misfit(self, problem):
        if not isinstance(problem, VectorProblem):
            return f"method {self.name!r} runs on vector-template instances; {problem.name!r} is not one"
        missing = [a for a in self.arrays_read() if a not in problem.arrays]
        if missing:
            return (f"method {self.name!r} reads array(s) {missing} that problem {problem.name!r} does not have "
                    f"(it has {', '.join(sorted(problem.arrays)) or 'no arrays'})")
        for s, shape in self.state:
            bad = [e for e in shape if isinstance(e, str) and e not in problem.dims]
            if bad:
                return (f"method {self.name!r}: state {s!r} has shape {shape}; problem {problem.name!r} has no "
                        f"size named {bad[0]!r} (it has {', '.join(sorted(problem.dims))})")
        return None


def smooth_safe_radius(L, xstar, f_star=0.0):
    """A ``safe_radius`` for an L-smooth f with minimiser x* and f(x*) = f*: with ``r = ||x - x*|| <=
    sqrt(d) (max_j |x_j| + max_j |x*_j|)``, |f(x) - f*| <= L r^2/2 and ||grad f(x)|| <= L r, both below 1e149
    (a decade under the divergence rule's 1e150) while ``max_j |x_j| < rho``."""
    xstar = np.atleast_1d(np.asarray(xstar, dtype=np.float64))
    L = float(L)
    if not (L > 0.0 and np.isfinite(L)) or not np.isfinite(xstar).all():
        return 0.0
    room = 1e149 - abs(float(f_star))
    if room <= 0.0:
        return 0.0
    r = min(np.sqrt(2.0 * room / L), 1e149 / L)
    return max(0.0, float(r / np.sqrt(xstar.size) - np.abs(xstar).max()))


VECTOR_FAMILIES: dict = {}


def declare_vector_family(family):
    """Register a :class:`VectorFamily` (problem modules call this next to their instances)."""
    if not isinstance(family, VectorFamily):
        raise TheoryBenchError(f"declare_vector_family takes a VectorFamily, got {type(family).__name__}")
    VECTOR_FAMILIES[family.name] = family
    return family


def get_vector_family(name):
    if name not in VECTOR_FAMILIES:
        from .problem import problem_families
        problem_families()  # the problem modules declare their families on import
    if name not in VECTOR_FAMILIES:
        raise TheoryBenchError(f"no vector family named {name!r} is declared (declared: "
                               f"{', '.join(sorted(VECTOR_FAMILIES)) or 'none'})")
    return VECTOR_FAMILIES[name]
