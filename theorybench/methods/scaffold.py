"""Hyperparameters of Amplified SCAFFOLD and its baselines under periodic participation (Crawshaw, Liu,
NeurIPS 2024): one source for their defaults, ranges and meanings. The methods themselves (``fedavg-pp``,
``fedprox``, ``scaffold``, ``amplified-fedavg``, ``amplified-scaffold``) are vector-template methods declared
in ``theorybench.methods.scaffold_vector``.

Defaults: the authors' synthetic script (lr 1e-4, amplification 1.5) and the synthetic experiment of the
paper (I = 10, S = 1, cyclic participation with K = 2 groups and period P = 480). Names: ``fedavg-pp`` is
FedAvg under periodic participation (the same update as ``fedavg``, with participation that can be cyclic).
"""
from ..params import Param

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
