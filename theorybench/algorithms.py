"""The algorithms the kernels implement, with their hyperparameters as named slots of one float vector.

Each :class:`Algorithm` names its kernel module, its code inside that kernel, and its declared
hyperparameters (defaults are the papers' values; ``convention`` defaults to ``step``, as in the
authors' code). Kernel modules are listed in ``KERNELS``: each has ``batch``, ``SLOTS``, ``DEFAULTS``."""
from dataclasses import dataclass
import importlib

import numpy as np

from .errors import unknown
from .params import Param, resolve

# kernel name -> module; loaded on first use
KERNELS = {"federated": "theorybench.kernels.federated",
           "scaffold": "theorybench.kernels.scaffold",
           "localgdj": "theorybench.kernels.localgdj"}
CHOICE_CODES = {"convention": {"step": 0, "grad": 1}, "participation": {"uniform": 0, "cyclic": 1}}


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


def register_algorithm(alg):
    """Add an :class:`Algorithm` to the registry (kernels of other families use this too)."""
    ALGORITHMS[alg.name] = alg
    return alg


def get_algorithm(name):
    if isinstance(name, Algorithm):
        return name
    if name not in ALGORITHMS:
        raise unknown("algorithm", name, ALGORITHMS)
    return ALGORITHMS[name]


ETA = Param("eta", 0.01, "stepsize eta", low=0.0, low_open=True)
GAMMA = Param("gamma", 0.05, "clipping parameter gamma (threshold gamma/eta under step clipping, "
              "gamma under gradient clipping)", low=0.0, low_open=True)
LOCAL_STEPS = Param("local_steps", 8, "local steps I per communication round", kind="int", low=1, high=10**7)
CONVENTION = Param("convention", "step", "clipping convention: step (x - min(eta, gamma/|g|) g, the authors' "
                   "code) or grad (x - eta min(1, gamma/|g|) g)", kind="choice", choices=("step", "grad"))
CLIENTS_PER_ROUND = Param("clients_per_round", 0, "S: clients sampled uniformly without replacement each "
                          "round (0: all N)", kind="int", low=0, high=10**6)

_FED = (ETA, LOCAL_STEPS, CLIENTS_PER_ROUND)
_CLIP = (ETA, GAMMA, LOCAL_STEPS, CONVENTION, CLIENTS_PER_ROUND)

for _a in [
    Algorithm("fedavg", "federated", 0, _FED,
              "Local SGD / FedAvg: I steps y <- y - eta g per client, then the server averages.",
              "McMahan et al. 2017"),
    Algorithm("local-clip", "federated", 1, _CLIP,
              "CELGC: every local step clipped on the client's own stochastic gradient; average every I steps.",
              "Liu, Zhuang, Lei, Liao, NeurIPS 2022"),
    Algorithm("episode", "federated", 2, _CLIP,
              "EPISODE: G_r = mean_i G_r^i at x_r decides clipping for the round; local direction g - G_r^i + G_r.",
              "Crawshaw, Bao, Liu, ICLR 2023, Algorithm 1"),
    Algorithm("clipped-minibatch", "federated", 3, _CLIP,
              "Clipped minibatch SGD: each sampled client averages I stochastic gradients at x_r; one clipped "
              "server step on their mean.", "Crawshaw, Bao, Liu, NeurIPS 2023"),
    Algorithm("episode++", "federated", 4, _CLIP,
              "EPISODE++: client memories c_i and c = mean c_i; direction g - c_i + c; clip iff ||c|| exceeds "
              "the threshold (inferred); sampled clients refresh their memories after the round.",
              "Crawshaw, Bao, Liu, NeurIPS 2023"),
    Algorithm("naive-parallel-clip", "federated", 5, _CLIP,
              "Naive parallel clipping (INFERRED reading): each sampled client clips its own mean of I "
              "stochastic gradients at x_r; the server averages the clipped steps.",
              "Crawshaw, Bao, Liu, NeurIPS 2023 (baseline)"),
]:
    register_algorithm(_a)


# ======================================================================================================
# Amplified SCAFFOLD and its baselines (Crawshaw, Liu, NeurIPS 2024), kernel ``theorybench.kernels.scaffold``.
# Defaults: the authors' synthetic script (lr 1e-4, amplification 1.5) and the synthetic experiment of
# CLAIMS.md (I = 10, S = 1, cyclic participation with K = 2 groups and period P = 480).
# Names: "fedavg-pp" is FedAvg under periodic participation (the same update as "fedavg", run by the
# scaffold kernel so that participation can be cyclic); "fedprox", "scaffold", "amplified-fedavg",
# "amplified-scaffold" are the paper's methods.
# ======================================================================================================
from dataclasses import dataclass as _dataclass  # noqa: E402

from .errors import TheoryBenchError as _TheoryBenchError  # noqa: E402

LR = Param("lr", 1e-4, "learning rate lr (local stepsize eta = lr/amplification for the amplified methods, "
           "eta = lr otherwise)", low=0.0, low_open=True)
AMPLIFICATION = Param("amplification", 1.5, "amplification gamma: x <- x_anchor + gamma (x - x_anchor) at the "
                      "end of every participation period", low=1.0)
PP_LOCAL_STEPS = Param("local_steps", 10, "local steps I per communication round", kind="int", low=1, high=10**7)
PP_CLIENTS = Param("clients_per_round", 1, "S: clients sampled without replacement from the available ones each "
                   "round (0: all available)", kind="int", low=0, high=10**6)
PARTICIPATION = Param("participation", "cyclic", "client availability: cyclic (K groups {i : i mod K = k}, "
                      "group floor((t mod P)/(P/K)) available in round t) or uniform (all clients)",
                      kind="choice", choices=("cyclic", "uniform"))
GROUPS = Param("groups", 2, "K: number of client groups under cyclic participation", kind="int", low=1, high=10**6)
PERIOD = Param("period", 480, "P: participation period in rounds (amplification at the end of each period; "
               "a multiple of groups under cyclic participation)", kind="int", low=1, high=10**9)
PROX_MU = Param("prox_mu", 0.1, "FedProx's mu: the local gradient gets mu (y - x_r)", low=0.0)


@_dataclass(frozen=True)
class PeriodicAlgorithm(Algorithm):
    """An :class:`Algorithm` whose resolved settings must have ``period`` a multiple of ``groups`` under
    cyclic participation (the authors' ``assert P % client_groups == 0``)."""

    def resolve(self, given):
        s = super().resolve(given)
        if s.get("participation") == "cyclic" and s["period"] % s["groups"]:
            raise _TheoryBenchError(
                f"parameter 'period' of algorithm {self.name!r} must be a multiple of 'groups' "
                f"({s['groups']}) under cyclic participation, got {s['period']}")
        return s


_PP = (LR, PP_LOCAL_STEPS, PP_CLIENTS, PARTICIPATION, GROUPS, PERIOD)
_AS_REF = "Crawshaw, Liu, NeurIPS 2024 (Amplified SCAFFOLD), authors' synthetic script"

for _a in [
    PeriodicAlgorithm("fedavg-pp", "scaffold", 0, _PP,
                      "FedAvg under periodic participation: S available clients run I steps y <- y - lr g; "
                      "the server averages.", _AS_REF + " (baseline FedAvg)"),
    PeriodicAlgorithm("fedprox", "scaffold", 1, _PP + (PROX_MU,),
                      "FedProx: local gradient g + prox_mu (y - x_r), stepsize lr; the server averages.",
                      "Li et al. 2020; " + _AS_REF + " (baseline)"),
    PeriodicAlgorithm("scaffold", "scaffold", 2, _PP,
                      "SCAFFOLD: local direction g - c_i + c, stepsize lr; sampled clients refresh c_i (mean of "
                      "the round's gradients) and c = mean c_i after every round.",
                      "Karimireddy et al. 2020; " + _AS_REF + " (baseline)"),
    PeriodicAlgorithm("amplified-fedavg", "scaffold", 3, _PP + (AMPLIFICATION,),
                      "Amplified FedAvg: FedAvg with stepsize lr/gamma; at each period end "
                      "x <- x_anchor + gamma (x - x_anchor), x_anchor <- x.", _AS_REF),
    PeriodicAlgorithm("amplified-scaffold", "scaffold", 4, _PP + (AMPLIFICATION,),
                      "Amplified SCAFFOLD: direction g - c_i + c, stepsize lr/gamma; at each period end "
                      "x <- x_anchor + gamma (x - x_anchor), x_anchor <- x, and every client that took part "
                      "refreshes c_i to the mean of its gradients over the period (long-range corrections).",
                      _AS_REF),
]:
    register_algorithm(_a)


# ======================================================================================================
# Local steps with a clipped server jump (Demidovich et al., arXiv 2412.02781), kernel
# ``theorybench.kernels.localgdj``. Defaults: tau = 10 local steps (the authors' script), alpha = 1e-6
# (the middle of CLAIMS.md's grid), c0 = 1e3, c1 = 1e-2, full local gradients (batch_size = 0; the
# authors' minibatches are batch_size = 8, for the quartic-points problem).
# ======================================================================================================
_LJ_ALPHA = Param("alpha", 1e-6, "client stepsize alpha (the authors' client_lr)", low=0.0, low_open=True)
_LJ_TAU = Param("local_steps", 10, "local steps tau per communication round", kind="int", low=1, high=10**7)
_LJ_C0 = Param("c0", 1e3, "c0 of the server step 1/(c0 + c1 ||g_p||)", low=0.0, low_open=True)
_LJ_C1 = Param("c1", 1e-2, "c1 of the server step 1/(c0 + c1 ||g_p||) (0: no clipping)", low=0.0)
_LJ_BATCH = Param("batch_size", 0, "points per local gradient, drawn with replacement from the client's "
                  "shard (0: the full local gradient; > 0 needs the quartic-points problem)",
                  kind="int", low=0, high=10**7)
_LJ_REF = "Demidovich et al., arXiv 2412.02781 (authors' fourth-order script)"

for _a in [
    Algorithm("clip-localgdj", "localgdj", 0, (_LJ_ALPHA, _LJ_TAU, _LJ_C0, _LJ_C1, _LJ_BATCH),
              "Clip-LocalGDJ: every client runs tau steps x <- x - alpha g from x_p; "
              "g_p = sum_m (x_p - x_{p,tau}^m)/(alpha M tau); server jump x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||).",
              _LJ_REF),
    Algorithm("fedavg-gd", "localgdj", 1, (_LJ_ALPHA, _LJ_TAU, _LJ_BATCH),
              "FedAvg with local (full or minibatch) gradient steps: tau steps x <- x - alpha g per client, "
              "x_{p+1} = mean_m x_{p,tau}^m.", "McMahan et al. 2017; " + _LJ_REF + " (baseline)"),
]:
    register_algorithm(_a)
