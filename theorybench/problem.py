"""Problems: an objective family plus its parameter arrays, known constants with their sources, a
default start point and a noise model. Problem *families* (builders with declared parameters) are
registered by the modules in ``problems/`` and discovered through the ``theorybench.problems``
entry-point group."""
from dataclasses import dataclass, field
from importlib import metadata

import numpy as np

from . import families
from .errors import TheoryBenchError, unknown
from .params import Param, resolve
from .rng import NOISE_NAMES, NOISE_NONE


@dataclass(frozen=True)
class Constant:
    """A known constant of an instance and how it was established
    (``"closed form"``, ``"sympy"``, ``"paper"``, ``"numerical"``)."""
    value: float
    source: str


@dataclass
class Problem:
    """A concrete instance: ``f = (1/N) sum_i f_i`` with ``f_i = family(params[i], .)``.

    name: the registered family name; params: ``(n_clients, n_par)`` float64; dim: d; x0: default
    start; noise: ``"none"``, ``"uniform"`` (``U(-sigma, sigma]``) or ``"gaussian"``; sigma: its scale;
    constants: ``{name: Constant}``; settings: the parameter values it was built from.
    """
    name: str
    family: int
    params: np.ndarray
    dim: int
    x0: np.ndarray
    noise: str = "none"
    sigma: float = 0.0
    constants: dict = field(default_factory=dict)
    settings: dict = field(default_factory=dict)
    noise_coords: tuple | None = None  # coordinates that receive noise (None: all)

    def __post_init__(self):
        self.params = np.ascontiguousarray(self.params, dtype=np.float64)
        self.x0 = np.atleast_1d(np.asarray(self.x0, dtype=np.float64))
        if self.x0.shape != (self.dim,):
            raise ValueError(f"x0 must have {self.dim} coordinates, got shape {self.x0.shape}")
        if self.noise not in NOISE_NAMES:
            raise unknown("noise model", self.noise, NOISE_NAMES)

    @property
    def n_clients(self):
        return self.params.shape[0]

    @property
    def noise_mask(self):
        m = np.ones(self.dim) if self.noise_coords is None else np.zeros(self.dim)
        if self.noise_coords is not None:
            m[list(self.noise_coords)] = 1.0
        return m

    @property
    def noise_code(self):
        return NOISE_NAMES[self.noise] if self.sigma > 0 else NOISE_NONE

    def _x(self, x):
        x = np.atleast_1d(np.asarray(x, dtype=np.float64))
        if x.shape != (self.dim,):
            raise ValueError(f"x must have {self.dim} coordinates, got shape {x.shape}")
        return x

    def client_value(self, i, x):
        """``f_i(x)`` (noise-free)."""
        return families.client_value(self.family, self.params[i], self._x(x))

    def client_grad(self, i, x):
        """``grad f_i(x)`` (noise-free)."""
        out = np.empty(self.dim)
        families.client_grad(self.family, self.params[i], self._x(x), out)
        return out

    def value(self, x):
        """``f(x) = mean_i f_i(x)``."""
        g, t = np.empty(self.dim), np.empty(self.dim)
        return families.global_value_grad(self.family, self.params, self._x(x), g, t)

    def grad(self, x):
        """``grad f(x)``."""
        g, t = np.empty(self.dim), np.empty(self.dim)
        families.global_value_grad(self.family, self.params, self._x(x), g, t)
        return g

    def constant(self, name):
        return self.constants[name].value


@dataclass
class ProblemFamily:
    """A registered builder: ``build(**settings) -> Problem`` with declared parameters."""
    name: str
    build_fn: object
    params: list
    doc: str
    reference: str = ""

    def build(self, **given):
        settings = resolve(self.params, given, f"problem {self.name!r}")
        try:
            with np.errstate(over="raise", invalid="raise"):  # an overflow while building: a clear error
                problem = self.build_fn(**settings)
        except TheoryBenchError:
            raise
        except (ArithmeticError, ValueError, np.linalg.LinAlgError) as e:  # e.g. constants past float64
            shown = ", ".join(f"{k}={v!r}" for k, v in settings.items() if k in given)
            raise TheoryBenchError(
                f"problem {self.name!r} cannot be built with {shown or 'its defaults'}: {e} (values this "
                "large or small leave float64; take them closer to the paper's)") from None
        problem.settings = settings
        return problem


_PROBLEMS: dict = {}
_DISCOVERED = False


def register_problem(name, params, reference=""):
    """Decorator: register ``fn(**settings) -> Problem`` as the problem family ``name``."""
    def deco(fn):
        _PROBLEMS[name] = ProblemFamily(name, fn, list(params), (fn.__doc__ or "").strip(), reference)
        return fn
    return deco


def _discover():
    global _DISCOVERED
    if _DISCOVERED:
        return
    _DISCOVERED = True
    for ep in metadata.entry_points(group="theorybench.problems"):
        ep.load()


def problem_families():
    _discover()
    return dict(_PROBLEMS)


def get_problem_family(name):
    _discover()
    if name not in _PROBLEMS:
        raise unknown("problem", name, _PROBLEMS)
    return _PROBLEMS[name]


def make_problem(name, **settings):
    """Build the registered problem ``name`` with ``settings`` (validated; defaults are the paper's)."""
    if isinstance(name, Problem):
        return name
    return get_problem_family(name).build(**settings)


__all__ = ["Problem", "Constant", "Param", "register_problem", "make_problem", "problem_families"]
