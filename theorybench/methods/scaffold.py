"""Amplified SCAFFOLD and its baselines (kernel ``theorybench.kernels.scaffold``)."""
from ..algorithms import Algorithm, register_algorithm
from ..params import Param

# ======================================================================================================
# Amplified SCAFFOLD and its baselines (Crawshaw, Liu, NeurIPS 2024), kernel ``theorybench.kernels.scaffold``.
# Defaults: the authors' synthetic script (lr 1e-4, amplification 1.5) and the synthetic experiment of
# the paper (I = 10, S = 1, cyclic participation with K = 2 groups and period P = 480).
# Names: "fedavg-pp" is FedAvg under periodic participation (the same update as "fedavg", run by the
# scaffold kernel so that participation can be cyclic); "fedprox", "scaffold", "amplified-fedavg",
# "amplified-scaffold" are the paper's methods.
# ======================================================================================================
from dataclasses import dataclass as _dataclass  # noqa: E402

from ..errors import TheoryBenchError as _TheoryBenchError  # noqa: E402

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
