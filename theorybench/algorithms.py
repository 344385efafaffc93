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
           "steepest": "theorybench.kernels.steepest"}
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


ALGORITHMS: dict = {}
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
        raise unknown("algorithm", name, ALGORITHMS)
    return ALGORITHMS[name]




def _load_methods():
    for name in METHOD_MODULES:
        importlib.import_module(name)


_load_methods()
