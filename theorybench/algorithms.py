"""The algorithms the kernels implement, with their hyperparameters as named slots of one float vector.

Each :class:`Algorithm` names its kernel, its code inside that kernel, and its declared
hyperparameters (defaults are the papers' values; ``convention`` defaults to ``step``, as in the
authors' code)."""
from dataclasses import dataclass

import numpy as np

from .errors import unknown
from .kernels import federated as fk
from .params import Param, resolve

CONVENTIONS = {"step": 0, "grad": 1}


@dataclass(frozen=True)
class Algorithm:
    name: str
    kernel: str          # which kernel module runs it ("federated")
    code: int            # the algorithm code inside that kernel
    params: tuple
    doc: str
    reference: str = ""

    def resolve(self, given):
        return resolve(self.params, given, f"algorithm {self.name!r}")

    def pack(self, settings):
        """The kernel's hyperparameter vector for validated ``settings``."""
        h = np.zeros(fk.N_HYPER)
        h[fk.H_ETA] = settings.get("eta", 0.0)
        h[fk.H_GAMMA] = settings.get("gamma", np.inf)
        h[fk.H_LOCAL_STEPS] = settings.get("local_steps", 1)
        h[fk.H_CONVENTION] = CONVENTIONS[settings.get("convention", "step")]
        return h


_ETA = Param("eta", 0.01, "stepsize eta", low=0.0, low_open=True)
_GAMMA = Param("gamma", 0.05, "clipping parameter gamma (threshold gamma/eta under step clipping, "
               "gamma under gradient clipping)", low=0.0, low_open=True)
_I = Param("local_steps", 8, "local steps I per communication round", kind="int", low=1, high=10**7)
_CONV = Param("convention", "step", "clipping convention: step (x - min(eta, gamma/|g|) g, the authors' "
              "code) or grad (x - eta min(1, gamma/|g|) g)", kind="choice", choices=("step", "grad"))

ALGORITHMS = {a.name: a for a in [
    Algorithm("fedavg", "federated", fk.FEDAVG, (_ETA, _I),
              "Local SGD / FedAvg: I steps y <- y - eta g per client, then the server averages.",
              "McMahan et al. 2017"),
    Algorithm("local-clip", "federated", fk.LOCAL_CLIP, (_ETA, _GAMMA, _I, _CONV),
              "CELGC: every local step clipped on the client's own stochastic gradient; average every I steps.",
              "Liu, Zhuang, Lei, Liao, NeurIPS 2022"),
    Algorithm("episode", "federated", fk.EPISODE, (_ETA, _GAMMA, _I, _CONV),
              "EPISODE: G_r = mean_i G_r^i at x_r decides clipping for the round; local direction g - G_r^i + G_r.",
              "Crawshaw, Bao, Liu, ICLR 2023, Algorithm 1"),
    Algorithm("clipped-minibatch", "federated", fk.CLIPPED_MINIBATCH, (_ETA, _GAMMA, _I, _CONV),
              "Clipped minibatch SGD: each client averages I stochastic gradients at x_r; one clipped server step.",
              "Crawshaw, Bao, Liu, NeurIPS 2023"),
]}


def get_algorithm(name):
    if isinstance(name, Algorithm):
        return name
    if name not in ALGORITHMS:
        raise unknown("algorithm", name, ALGORITHMS)
    return ALGORITHMS[name]
