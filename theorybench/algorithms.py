"""The algorithms the kernels implement, with their hyperparameters as named slots of one float vector.

Each :class:`Algorithm` names its kernel module, its code inside that kernel, and its declared
hyperparameters (defaults are the papers' values; ``convention`` defaults to ``step``, as in the
authors' code). A kernel module (:func:`kernel_module`) has ``batch``, ``SLOTS``, ``DEFAULTS``. The library's
method modules and a user's package register their algorithms alike, through the ``theorybench.methods``
entry-point group (:func:`load_method_entry_points`): no list of them lives in the engine."""
from dataclasses import dataclass
import importlib
import types as pytypes

import numpy as np

from .errors import unknown
from .params import resolve

# the engine's two composers; any other kernel name ``k`` is the module ``theorybench.kernels.<k>``, and a
# dotted name (``mypkg.kernels.mine``) is imported as it is: adding a kernel edits no list here
COMPOSERS = {"composed": "theorybench.compose",        # declared methods (theorybench.declare)
             "vector": "theorybench.compose_vector"}   # vector-template methods (theorybench.declare_vector)
CHOICE_CODES = {"convention": {"step": 0, "grad": 1}, "participation": {"uniform": 0, "cyclic": 1},
                "compressor": {"topk": 0, "randk": 1}}


def kernel_module(name):
    """The module that runs the kernel ``name`` (see ``COMPOSERS``)."""
    path = COMPOSERS.get(name) or (name if "." in name else f"theorybench.kernels.{name}")
    return importlib.import_module(path)


@dataclass(frozen=True)
class Algorithm:
    name: str
    kernel: str          # which kernel module runs it (kernel_module(kernel))
    code: int            # the algorithm code inside that kernel
    params: tuple
    doc: str
    reference: str = ""

    def resolve(self, given):
        return resolve(self.params, given, f"algorithm {self.name!r}")

    def pack(self, settings):
        """The kernel's hyperparameter vector for validated ``settings`` (slots the algorithm does not
        declare take the kernel's defaults)."""
        mod = kernel_module(self.kernel)
        h = np.empty(len(mod.SLOTS))
        for k, name in enumerate(mod.SLOTS):
            v = settings.get(name, mod.DEFAULTS[name])
            if name in CHOICE_CODES and isinstance(v, str):
                v = CHOICE_CODES[name][v]
            h[k] = v
        return h


class _Registry(dict):
    """``name -> Algorithm``. Listing it (``in``, iteration, ``keys``, ``items``, ``values``, ``len``) first
    imports the modules of the ``theorybench.methods`` entry-point group (:func:`load_method_entry_points`),
    so a method from a user's package is listed (``theorybench list``) without being looked up by name."""

    def _load(self):
        _ensure_loaded()
        if _LOAD["state"] == 2 and not _ENTRY_POINTS_LOADED:
            load_method_entry_points()

    def __getitem__(self, name):
        self._load()
        return super().__getitem__(name)

    def get(self, name, default=None):
        self._load()
        return super().get(name, default)

    def __contains__(self, name):
        self._load()
        return super().__contains__(name)

    def __iter__(self):
        self._load()
        return super().__iter__()

    def __len__(self):
        self._load()
        return super().__len__()

    def keys(self):
        self._load()
        return super().keys()

    def items(self):
        self._load()
        return super().items()

    def values(self):
        self._load()
        return super().values()


_LOAD = {"state": 0}  # the method modules: 0 not imported yet, 1 importing, 2 imported
ALGORITHMS: dict = _Registry()
# name -> every Algorithm of that name: one method implemented by several kernels (``gd`` on the
# (L0,L1) polynomials and on the MLP); the runner picks the one whose kernel accepts the problem
VARIANTS: dict = {}


def register_algorithm(alg):
    """Add an :class:`Algorithm` to the registry (kernels of other families use this too). A second
    algorithm of the same name on another kernel becomes a variant (the first stays the default)."""
    _ensure_loaded()  # the library's own first: a user's method never takes a library name's default
    others = [a for a in VARIANTS.get(alg.name, []) if a.kernel != alg.kernel]
    VARIANTS[alg.name] = others + [alg]
    ALGORITHMS.setdefault(alg.name, alg)
    if ALGORITHMS[alg.name].kernel == alg.kernel:
        ALGORITHMS[alg.name] = alg
    return alg


def get_algorithm(name):
    if isinstance(name, Algorithm):
        return name
    if name not in ALGORITHMS:
        load_method_entry_points()
    if name not in ALGORITHMS:
        raise unknown("algorithm", name, ALGORITHMS)
    return ALGORITHMS[name]




def _library_entry_points():
    from importlib import metadata
    return [ep for ep in metadata.entry_points(group="theorybench.methods") if ep.value.startswith("theorybench.")]


def _load_methods():
    """The library's own method modules (this package's ``theorybench.methods`` entry points), in the
    order ``pyproject.toml`` lists them (the first kernel to register a name is its default variant)."""
    eps = _library_entry_points()
    if not eps:  # a source tree that was never installed: its own folder
        import pkgutil
        from . import methods
        eps = [pytypes.SimpleNamespace(value=f"theorybench.methods.{m.name}")
               for m in sorted(pkgutil.iter_modules(methods.__path__), key=lambda m: m.name)]
    for ep in eps:
        importlib.import_module(ep.value)


_ENTRY_POINTS_LOADED = False


def load_method_entry_points():
    """Import the modules of the ``theorybench.methods`` entry-point group (a user's package declares its
    methods there; each module calls ``theorybench.declare.register_method`` on import). Once per process;
    a module that fails to import is reported with a warning, not a crash."""
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    from importlib import metadata
    import warnings
    for ep in metadata.entry_points(group="theorybench.methods"):
        if ep.value.startswith("theorybench."):  # the library's own: imported by _load_methods
            continue
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001  (a broken third-party method must not break the engine)
            warnings.warn(f"theorybench.methods entry point {ep.name!r} ({ep.value}) failed to load: {e}")


def _ensure_loaded():
    """Import the method modules (the library's, then a package's entry points) on the first use of the
    registry, not at ``import theorybench``: a method module may itself ``import theorybench``."""
    if _LOAD["state"]:
        return
    _LOAD["state"] = 1
    try:
        _load_methods()
        load_method_entry_points()
    finally:
        _LOAD["state"] = 2
