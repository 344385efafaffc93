"""theorybench: optimization papers' synthetic instances, run fast, held against the papers' claims.

Quick start::

    import theorybench as tb
    res = tb.run("episode-quartic", "episode", problem_settings={"H": 4}, rounds=500, seed=0)
    res.plot()
    sw = tb.sweep("two-client-quadratic", "local-clip", grid={"eta": [0.25, 0.5, 1.0]}, rounds=50)
    sw.to_dataframe()
    tb.explore("two-client-quadratic", "local-clip", rounds=30)  # in a notebook: sliders, re-runs
"""
from . import _numba_cache  # noqa: F401  (first: kernels are cached against all engine sources)
from .algorithms import ALGORITHMS, get_algorithm
from .errors import TheoryBenchError
from .params import Param
from .problem import Constant, Problem, make_problem, problem_families, register_problem
from .runner import record_schedule, run, run_batch, sweep
from .explore import explore  # noqa: E402  (ipywidgets is imported only when it is called)

try:  # the installed distribution's version (pyproject.toml), never a second copy typed here
    from importlib.metadata import PackageNotFoundError as _NotFound, version as _version
    __version__ = _version("theorybench")
except _NotFound:  # a source tree that was never installed
    __version__ = "0+unknown"

from .algorithms import _ensure_loaded  # noqa: E402
_ensure_loaded()  # the method modules, last: they may use every name above (import theorybench as tb)

__all__ = ["run", "sweep", "run_batch", "record_schedule", "make_problem", "problem_families",
           "register_problem", "Problem", "Constant", "Param", "ALGORITHMS", "get_algorithm",
           "TheoryBenchError", "explore", "__version__"]
