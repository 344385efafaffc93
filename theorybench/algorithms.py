"""The algorithms the kernels implement, with their hyperparameters as named slots of one float vector.

Each :class:`Algorithm` names its kernel module, its code inside that kernel, and its declared
hyperparameters (defaults are the papers' values; ``convention`` defaults to ``step``, as in the
authors' code). Kernel modules are listed in ``KERNELS``: each has ``batch``, ``SLOTS``, ``DEFAULTS``."""
from dataclasses import dataclass
import importlib

import numpy as np

from .errors import unknown
from .params import resolve

# kernel name -> module; loaded on first use
KERNELS = {"federated": "theorybench.kernels.federated",
           "scaffold": "theorybench.kernels.scaffold",
           "localgdj": "theorybench.kernels.localgdj",
           "muon": "theorybench.kernels.muon",
           "single": "theorybench.kernels.single",
           "logistic": "theorybench.kernels.logistic",
           "steepest": "theorybench.kernels.steepest",
           "composed": "theorybench.compose",  # declared methods (theorybench.declare), composed per combination
           "vector": "theorybench.compose_vector"}  # vector-template methods (theorybench.declare_vector)
# modules that declare algorithms (each calls register_algorithm on import); one per kernel family
METHOD_MODULES = ("theorybench.methods.federated", "theorybench.methods.scaffold",
                  "theorybench.methods.localgdj",
                  "theorybench.methods.muon",
                  "theorybench.methods.single",
                  "theorybench.methods.logistic",
                  "theorybench.methods.steepest")
CHOICE_CODES = {"convention": {"step": 0, "grad": 1}, "participation": {"uniform": 0, "cyclic": 1},
                "compressor": {"topk": 0, "randk": 1}}


def kernel_module(name):
    return importlib.import_module(KERNELS[name])


@dataclass(frozen=True)
class Algorithm:
    name: str
    kernel: str          # which kernel module runs it (a key of KERNELS)
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
        if _READY and not _ENTRY_POINTS_LOADED:
            load_method_entry_points()

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


_READY = False  # the library's method modules are imported (entry points load only after that)
ALGORITHMS: dict = _Registry()
# name -> every Algorithm of that name: one method implemented by several kernels (``gd`` on the
# (L0,L1) polynomials and on the MLP); the runner picks the one whose kernel accepts the problem
VARIANTS: dict = {}


def register_algorithm(alg):
    """Add an :class:`Algorithm` to the registry (kernels of other families use this too). A second
    algorithm of the same name on another kernel becomes a variant (the first stays the default)."""
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




def _load_methods():
    for name in METHOD_MODULES:
        importlib.import_module(name)


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
        try:
            ep.load()
        except Exception as e:  # noqa: BLE001  (a broken third-party method must not break the engine)
            warnings.warn(f"theorybench.methods entry point {ep.name!r} ({ep.value}) failed to load: {e}")


_load_methods()
_READY = True
