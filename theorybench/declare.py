"""Declared pieces: a method and an objective family, each a few small Numba functions that the engine
composes into one specialised whole-trajectory kernel per combination (``theorybench.compose``).

**Method** (local-update template; scalar iterate, d = 1, in this version). In the papers' notation,
round ``r = 0, ..., R-1`` starts from the server iterate ``x_r``; each client ``i`` of the round's sample
``S_r`` runs ``I`` local steps from ``y = x_r``::

    for k = 0, ..., I-1:
        g = grad f_i(y) + z_{i,k}                 (the oracle: the family's gradient, the noise model's draw)
        y = step(y, g, <hyperparameters>, r, k, i)
    x_{r+1} = (1/|S_r|) sum_{i in S_r} y_i

``step`` is an ``@njit`` function whose argument names say what it reads: ``y`` (the local iterate),
``g`` (the stochastic gradient), ``r`` (the round, from 0), ``k`` (the local step, from 0), ``i`` (the
client), and any of the method's hyperparameters by name (a ``Param``; ``int`` and ``choice``
hyperparameters arrive as integers, a choice as the index of its value in ``choices``, or the engine's
code for the shared names ``convention``). It returns the new ``y``; a method declared with
``clipping=True`` returns ``(y, clipped)`` (``clipped`` a bool) and every local step counts as one clipping
decision (the statistic ``clipped_fraction``). The hyperparameters ``local_steps`` (I) and ``clients_per_round``
(S, 0: all) structure the round when the method declares them (else I = 1, all clients). ``step`` may also
read ``x`` (the round's server iterate x_r).

**Round-start pieces** (optional; EPISODE's ``G_{r,i}``, ``G_r`` and its clipping decision of the round)::

    for i in S_r (in the sample's order):
        g = grad f_i(x_r) + z_i                   (one draw from client i's stream, if client_start takes g)
        (v_1, ...)_i = client_start(x, g, r, i, <hyperparameters>)
    mean_j = (1/|S_r|) sum_{i in S_r} (v_j)_i    (left to right, from 0.0)
    (w_1, ...) = round_start(x, r, <hyperparameters>, <means by name>)

``client_values`` names the per-client values as pairs ``(name, mean_name)`` (the mean over the round's
sampled clients under ``mean_name``; ``None``: no mean); ``round_values`` names what ``round_start``
returns. ``step`` reads any of these by name (a per-client value as client i's own). A round value named
``clipped`` (a bool) is the round's clipping decision: one decision per round (statistic
``clipped_fraction``). Every piece returns one value per declared name (a tuple when more than one).

**Objective family** (``ObjectiveFamily``): ``value(c, x)`` and ``grad(c, x)`` of one client's objective
``f_i`` from its parameter row ``c`` (``@njit``, scalar x), how a problem's parameters map to those rows
(``rows(problem)``), which registered problems it serves, and optionally ``safe_radius(rows)``: a radius
``rho`` with ``|f(x)|, |f'(x)| < 1e150`` for ``|x| < rho``, which lets a kernel that records sparsely skip
f and f' on unrecorded rounds without changing the divergence rule (``kernels.common.healthy``). A family
whose pieces read a row only through ``len(c)`` and ``c[k]`` declares ``tuple_rows=True``: the kernel then
passes each client's row as a tuple, whose length is known when it compiles, so the pieces' loops unroll.

**Persistent state and round-end pieces** (optional; EPISODE++'s memories, minibatch methods' server step)::

    state        = (("name", initial), ...)     server scalars kept across rounds (read by every piece)
    client_state = (("name", initial), ...)     one scalar per client kept across rounds (client i's own)

    before round 0, if client_init is declared, for every client i = 0, ..., N-1:
        gbar = (1/I) sum_k (grad f_i(x_0) + z_{i,k})     (I draws from client i's stream, at x_0)
        (v_1, ...)_i = client_init(x, gbar, i, n, <hyperparameters>)
    (client_init_values: pairs (client_state name, state name or None): the state slot gets the mean
     over all N clients, left to right from 0.0)

    in round r, after the local steps of every sampled client (in the sample's order):
        (e_1, ...)_i = client_end(x, y, gbar, r, i, n, <hyperparameters>, <round values>, <state>)
    x_{r+1}, (s_1, ...) = round_end(x, r, n, ns, ybar, <hyperparameters>, <round values>, <means>, <state>)

``y`` is client i's final local iterate and ``gbar`` the mean of its I stochastic gradients of the round
(summed from 0.0 in step order, then divided by I); ``n`` is N, ``ns`` = |S_r| and ``ybar`` the mean of
the sampled clients' final local iterates (what the server takes without ``round_end``). ``client_end_values``
names what ``client_end`` returns: a ``state`` or ``client_state`` name (its new value: a state slot is
threaded through the sampled clients in order, a client slot is client i's own), ``clipped`` (one clipping
decision per client), or a pair ``(name, mean_name)``: a new per-client value whose mean over the sample
``round_end`` reads as ``mean_name``. ``round_end_values`` names what ``round_end`` returns: ``x`` (the next
server iterate; without it, or without ``round_end``, ``x_{r+1}`` is the mean of the clients' ``y``),
``state`` names and ``clipped`` (one decision per round). ``step=None`` declares a method without local
iterates: ``y`` stays ``x_r``, so a client's I draws are a minibatch at ``x_r`` (clipped minibatch SGD);
such a method needs ``client_end``. Client start values, round values and the state read by the step are
those of the round's start (a ``client_end`` runs after every local step of the round).

A user declares a method in a notebook or a package with :class:`Method` and :func:`register_method`; it
then runs through ``theorybench.run`` / ``sweep`` on every problem a registered family serves."""
from dataclasses import dataclass, field
import inspect
import keyword

from numba.core.dispatcher import Dispatcher

from .errors import TheoryBenchError, unknown
from .params import Param

ORACLE_ARGS = ("y", "g", "r", "k", "i", "x")
CLIENT_START_ARGS = ("x", "g", "r", "i")
ROUND_START_ARGS = ("x", "r")
CLIENT_INIT_ARGS = ("x", "gbar", "i", "n")
CLIENT_END_ARGS = ("x", "y", "gbar", "r", "i", "n")
ROUND_END_ARGS = ("x", "r", "n", "ns", "ybar")
STRUCTURE = ("local_steps", "clients_per_round")


def _need_njit(fn, what):
    if not isinstance(fn, Dispatcher):
        raise TheoryBenchError(f"{what} must be an @njit function (numba.njit), got {type(fn).__name__}")
    return fn


@dataclass(frozen=True)
class Method:
    """A local-update method: ``name``, hyperparameters ``params`` (``Param``: default, range, choices,
    meaning), the local ``step`` (``@njit``, see the module docstring), ``clipping`` (``step`` returns
    ``(y, clipped)``; ``None``: no local iterate, the I draws are at x_r), a docstring and the paper it comes
    from; optionally the round-start pieces ``client_start`` / ``client_values`` and ``round_start`` /
    ``round_values``, the persistent ``state`` / ``client_state`` slots (``(name, initial)`` pairs) with
    ``client_init`` / ``client_init_values``, and the round-end pieces ``client_end`` / ``client_end_values``
    and ``round_end`` / ``round_end_values`` (module docstring)."""
    name: str
    params: tuple
    step: object
    clipping: bool = False
    doc: str = ""
    reference: str = ""
    client_start: object = None
    client_values: tuple = ()
    round_start: object = None
    round_values: tuple = ()
    state: tuple = ()
    client_state: tuple = ()
    client_init: object = None
    client_init_values: tuple = ()
    client_end: object = None
    client_end_values: tuple = ()
    round_end: object = None
    round_end_values: tuple = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise TheoryBenchError(f"a method needs a name (a non-empty string), got {self.name!r}")
        object.__setattr__(self, "params", tuple(self.params))
        for p in self.params:
            if not isinstance(p, Param):
                raise TheoryBenchError(f"method {self.name!r}: hyperparameters must be theorybench.Param, "
                                       f"got {p!r:.100}")
            if p.kind not in ("float", "int", "choice"):
                raise TheoryBenchError(f"method {self.name!r}: hyperparameter {p.name!r} has kind {p.kind!r}; "
                                       "a kernel takes float, int or choice hyperparameters")
            if not p.name.isidentifier() or keyword.iskeyword(p.name):
                raise TheoryBenchError(f"method {self.name!r}: hyperparameter name {p.name!r} must be a Python "
                                       "identifier (the step takes it as an argument)")
            if p.name in ORACLE_ARGS:
                raise TheoryBenchError(f"method {self.name!r}: hyperparameter name {p.name!r} is taken by the "
                                       f"oracle ({', '.join(ORACLE_ARGS)})")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise TheoryBenchError(f"method {self.name!r}: a hyperparameter is declared twice: {names}")
        if self.step is not None:
            _need_njit(self.step, f"method {self.name!r}: step")
        self._norm_state()
        self._check_round_pieces(names)
        self._check_end_pieces(names)
        if self.step is None and self.client_end is None:
            raise TheoryBenchError(f"method {self.name!r}: a method without a local step (step=None) needs "
                                   "client_end (what a client makes of its I draws at x_r)")
        self.step_args()

    def _check_round_pieces(self, hyper):
        cv = []
        for pair in self.client_values:
            if isinstance(pair, str):
                pair = (pair, None)
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TheoryBenchError(f"method {self.name!r}: client_values must be (name, mean_name) pairs, got "
                                       f"{pair!r:.100}")
            cv.append(pair)
        object.__setattr__(self, "client_values", tuple(cv))
        object.__setattr__(self, "round_values", tuple(self.round_values))
        new = [n for pair in cv for n in pair if n is not None] + list(self.round_values)
        for n in new:
            if not isinstance(n, str) or not n.isidentifier() or keyword.iskeyword(n):
                raise TheoryBenchError(f"method {self.name!r}: round-start value name {n!r} must be a Python "
                                       "identifier")
        taken = set(ORACLE_ARGS) | set(hyper)
        clash = sorted((set(new) & taken) | {n for n in new if new.count(n) > 1})
        if clash:
            raise TheoryBenchError(f"method {self.name!r}: round-start value name(s) {clash} are declared twice or "
                                   f"taken by the oracle ({', '.join(ORACLE_ARGS)}) or a hyperparameter")
        for piece, vals, what in ((self.client_start, cv, "client_start"), (self.round_start, self.round_values,
                                                                           "round_start")):
            if (piece is None) != (not vals):
                raise TheoryBenchError(f"method {self.name!r}: {what} and its values "
                                       f"({'client_values' if what == 'client_start' else 'round_values'}) "
                                       "come together")
            if piece is not None:
                _need_njit(piece, f"method {self.name!r}: {what}")
        self.client_start_args()
        self.round_start_args()

    def _norm_state(self):
        def slots(decl, what):
            out = []
            for pair in decl:
                if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
                    raise TheoryBenchError(f"method {self.name!r}: {what} must be (name, initial value) pairs, "
                                           f"got {pair!r:.100}")
                try:
                    out.append((pair[0], float(pair[1])))
                except (TypeError, ValueError):
                    raise TheoryBenchError(f"method {self.name!r}: {what} {pair[0]!r} needs a number as its "
                                           f"initial value, got {pair[1]!r:.100}") from None
            return tuple(out)
        object.__setattr__(self, "state", slots(self.state, "state"))
        object.__setattr__(self, "client_state", slots(self.client_state, "client_state"))

    def _check_end_pieces(self, hyper):
        cev = tuple(v if isinstance(v, str) else tuple(v) for v in self.client_end_values)
        object.__setattr__(self, "client_end_values", cev)
        object.__setattr__(self, "client_init_values", tuple(tuple(v) for v in self.client_init_values))
        object.__setattr__(self, "round_end_values", tuple(self.round_end_values))
        st, cst = [n for n, _ in self.state], [n for n, _ in self.client_state]
        new = st + cst + [v[0] for v in cev if not isinstance(v, str)] + self.end_means()
        for n in new:
            if not isinstance(n, str) or not n.isidentifier() or keyword.iskeyword(n):
                raise TheoryBenchError(f"method {self.name!r}: state or round-end value name {n!r} must be a "
                                       "Python identifier")
        taken = (set(ORACLE_ARGS) | set(hyper) | set(self.round_names()) | set(CLIENT_END_ARGS)
                 | set(ROUND_END_ARGS) | {"clipped"})
        clash = sorted((set(new) & taken) | {n for n in new if new.count(n) > 1})
        if clash:
            raise TheoryBenchError(f"method {self.name!r}: state or round-end value name(s) {clash} are declared "
                                   "twice or taken by the oracle, a hyperparameter or a round-start value")
        for v in cev:
            if isinstance(v, str) and v not in st + cst + ["clipped"]:
                raise TheoryBenchError(f"method {self.name!r}: client_end value {v!r} is neither a state slot "
                                       f"({', '.join(st + cst) or 'none'}) nor 'clipped' (a new value is a pair "
                                       "(name, mean_name))")
        for v, m in self.client_init_values:
            if v not in cst or (m is not None and m not in st):
                raise TheoryBenchError(f"method {self.name!r}: client_init values must be (client_state name, "
                                       f"state name or None) pairs, got {(v, m)!r}")
        for v in self.round_end_values:
            if v not in st + ["x", "clipped"]:
                raise TheoryBenchError(f"method {self.name!r}: round_end value {v!r} is none of x, clipped and "
                                       f"the state slots ({', '.join(st) or 'none'})")
        for piece, vals, what in ((self.client_init, self.client_init_values, "client_init"),
                                  (self.client_end, cev, "client_end"),
                                  (self.round_end, self.round_end_values, "round_end")):
            if (piece is None) != (not vals):
                raise TheoryBenchError(f"method {self.name!r}: {what} and its values ({what}_values) come together")
            if piece is not None:
                _need_njit(piece, f"method {self.name!r}: {what}")
        self.client_init_args()
        self.client_end_args()
        self.round_end_args()

    def state_names(self):
        """The server state slots' and the client state slots' names."""
        return [n for n, _ in self.state] + [n for n, _ in self.client_state]

    def end_means(self):
        """The means over the sample of ``client_end``'s new values (what ``round_end`` may read)."""
        return [v[1] for v in self.client_end_values if not isinstance(v, str) and v[1] is not None]

    def client_init_args(self):
        return self._args(self.client_init, list(CLIENT_INIT_ARGS) + list(self.slots()), "client_init")

    def client_end_args(self):
        return self._args(self.client_end, list(CLIENT_END_ARGS) + list(self.slots()) + self.round_names()
                          + self.state_names(), "client_end")

    def round_end_args(self):
        means = [m for _, m in self.client_values if m is not None]
        return self._args(self.round_end, list(ROUND_END_ARGS) + list(self.slots()) + means
                          + list(self.round_values) + self.end_means() + [n for n, _ in self.state], "round_end")

    def _args(self, fn, allowed, what):
        if fn is None:
            return []
        args = list(inspect.signature(fn.py_func).parameters)
        bad = [a for a in args if a not in allowed]
        if bad:
            raise TheoryBenchError(f"method {self.name!r}: {what} argument(s) {bad} are not among "
                                   f"{', '.join(allowed)}")
        return args

    def means(self):
        return [m for _, m in self.client_values if m is not None]

    def client_start_args(self):
        """``client_start``'s argument names (x, g, r, i and hyperparameters)."""
        return self._args(self.client_start, list(CLIENT_START_ARGS) + list(self.slots()) + self.state_names(),
                          "client_start")

    def round_start_args(self):
        """``round_start``'s argument names (x, r, hyperparameters, the client values' means)."""
        return self._args(self.round_start, list(ROUND_START_ARGS) + list(self.slots()) + self.means()
                          + [n for n, _ in self.state], "round_start")

    def round_names(self):
        """The names ``step`` may read besides the oracle and the hyperparameters."""
        return [n for pair in self.client_values for n in pair if n is not None] + list(self.round_values)

    def slots(self):
        """``{hyperparameter: slot}`` of the packed float vector (declaration order)."""
        return {p.name: k for k, p in enumerate(self.params)}

    def step_args(self):
        """The step's argument names, checked against the oracle's names and the hyperparameters."""
        if self.step is None:
            return []
        sig = inspect.signature(self.step.py_func)
        args = list(sig.parameters)
        known = set(ORACLE_ARGS) | set(self.slots()) | set(self.round_names()) | set(self.state_names())
        bad = [a for a in args if a not in known]
        if bad:
            raise TheoryBenchError(
                f"method {self.name!r}: step argument(s) {bad} are neither oracle values ({', '.join(ORACLE_ARGS)}) "
                f"nor declared hyperparameters ({', '.join(self.slots()) or 'none'})"
                + (f" nor round-start values ({', '.join(self.round_names())})" if self.round_names() else ""))
        for a in ("y", "g"):
            if a not in args:
                raise TheoryBenchError(f"method {self.name!r}: step must take {a!r} (the local iterate y and the "
                                       "stochastic gradient g)")
        return args


@dataclass(frozen=True)
class ObjectiveFamily:
    """An objective family for the kernels (scalar iterate): ``value(c, x)``, ``grad(c, x)`` (``@njit``),
    ``problems`` (registered problem names whose layout it reads), ``rows(problem) -> (N, n_par)`` array,
    ``safe_radius(rows) -> float`` (optional, see the module docstring)."""
    name: str
    value: object
    grad: object
    problems: tuple
    rows: object
    safe_radius: object = None
    doc: str = ""
    dim: int = field(default=1)
    code: int | None = None   # the engine family code of the problems' parameter rows (None: not checked)
    tuple_rows: bool = False  # value/grad also take a row as a tuple (len(c), c[k]): its loops then unroll

    def __post_init__(self):
        _need_njit(self.value, f"family {self.name!r}: value")
        _need_njit(self.grad, f"family {self.name!r}: grad")
        object.__setattr__(self, "problems", tuple(self.problems))

    def misfit(self, problem):
        """Why ``problem`` does not fit this family (None when it does)."""
        if problem.name not in self.problems:
            return f"family {self.name!r} serves {', '.join(self.problems)}, not {problem.name!r}"
        if self.code is not None and problem.family != self.code:
            return f"family {self.name!r} reads family code {self.code}; this {problem.name!r} has {problem.family}"
        if problem.dim != self.dim:
            return f"family {self.name!r} is for d = {self.dim}; {problem.name!r} has d = {problem.dim}"
        return None


METHODS: dict = {}    # name -> Method (declared pieces; also the library's methods that have them)
FAMILIES: dict = {}   # name -> ObjectiveFamily
ROUTED: dict = {}     # method name -> problem names whose runs go through the composed kernel


def declare_family(family):
    """Register an :class:`ObjectiveFamily` (problem modules call this next to their instances)."""
    if not isinstance(family, ObjectiveFamily):
        raise TheoryBenchError(f"declare_family takes an ObjectiveFamily, got {type(family).__name__}")
    FAMILIES[family.name] = family
    return family


def family_for(problem):
    """The declared family that serves ``problem``, or raise a TheoryBenchError that says what fits."""
    for fam in FAMILIES.values():
        if fam.misfit(problem) is None:
            return fam
    from .problem import problem_families
    problem_families()  # the registered problem modules declare their families on import
    reasons = []
    for fam in FAMILIES.values():
        why = fam.misfit(problem)
        if why is None:
            return fam
        reasons.append(why)
    served = sorted({p for f in FAMILIES.values() for p in f.problems})
    raise TheoryBenchError(f"no declared objective family fits problem {problem.name!r} (d = {problem.dim}): "
                           f"declared methods run on {', '.join(served) or 'no problem yet'}"
                           + (f" ({'; '.join(reasons)})" if reasons else ""))


def declare_method(method, route=()):
    """Record the declared pieces of a library method that also has a hand-written kernel; the problems
    named in ``route`` run through the composed kernel instead."""
    if not isinstance(method, Method):
        raise TheoryBenchError(f"declare_method takes a Method, got {type(method).__name__}")
    METHODS[method.name] = method
    if route:
        ROUTED[method.name] = frozenset(route)
    return method


def register_method(method, replace=False):
    """Register a user's :class:`Method` as an algorithm: ``theorybench.run(problem, method.name, ...)``
    and ``sweep`` then run it on every problem a declared family serves. A name already taken by another
    algorithm is refused unless ``replace=True`` (which may replace only a declared method)."""
    from .algorithms import ALGORITHMS, VARIANTS, Algorithm, register_algorithm
    from .declare_vector import VectorMethod
    if isinstance(method, VectorMethod):
        return _register_vector_method(method, replace)
    if not isinstance(method, Method):
        raise TheoryBenchError(f"register_method takes a theorybench.declare.Method or "
                               f"theorybench.declare_vector.VectorMethod, got {type(method).__name__}")
    old = ALGORITHMS.get(method.name)
    if old is not None and not (replace and old.kernel == "composed"):
        raise TheoryBenchError(f"algorithm name {method.name!r} is taken ({old.kernel} kernel); choose another name"
                               + (" or pass replace=True" if old.kernel == "composed" else ""))
    if old is not None:
        VARIANTS.pop(method.name, None)
        ALGORITHMS.pop(method.name, None)
    METHODS[method.name] = method
    register_algorithm(Algorithm(method.name, "composed", -1, method.params, method.doc or method.name,
                                 method.reference))
    return method


VECTOR_METHODS: dict = {}  # name -> VectorMethod


def _register_vector_method(method, replace):
    """A vector-template method: the algorithm ``method.name`` on kernel ``vector``. A name another kernel
    already runs (``gd``) gets this as a variant for the vector instances; a vector method of the same name
    is replaced only with ``replace=True``."""
    from .algorithms import VARIANTS, Algorithm, register_algorithm
    old = [a for a in VARIANTS.get(method.name, []) if a.kernel == "vector"]
    if old and VECTOR_METHODS.get(method.name) is not method and not replace:
        raise TheoryBenchError(f"vector method name {method.name!r} is taken; choose another name or pass replace=True")
    VECTOR_METHODS[method.name] = method
    register_algorithm(Algorithm(method.name, "vector", -1, method.params, method.doc or method.name,
                                 method.reference))
    return method


def get_vector_method(name):
    if name not in VECTOR_METHODS:
        raise unknown("vector method", name, VECTOR_METHODS)
    return VECTOR_METHODS[name]


def get_method(name):
    if name not in METHODS:
        raise unknown("declared method", name, METHODS)
    return METHODS[name]
