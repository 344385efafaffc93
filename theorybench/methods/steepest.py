"""Steepest descent in a norm and momentum GD for the edge of stability (Islamov, Crawshaw, Cohen, Gower, arXiv
2603.05002; the norms: docs/conventions.md, section "Non-Euclidean geometry"): the hyperparameters (one
``Param`` each, shared with ``theorybench.methods.steepest_vector``) and the names on the NumPy driver
``theorybench.kernels.steepest``, which runs them on models that supply a NumPy gradient (the tanh MLP). On
vector-template instances (``psd-quadratic``) the same names run the step pieces of
``theorybench.methods.steepest_vector``; the runner picks the variant whose kernel takes the problem. Every
method takes a step schedule by name: ``constant`` (eta), ``power`` (eta/(t+1)^power), ``polyak`` ((f -
f_lower)/||g||_* for the normalized methods, /||g||_*^2 for the others, capped at alpha_max), ``random`` (eta u_t,
u_t uniform on (0, 1], counter-based). ``gd`` here is the same method as the single-machine ``gd``, on these
instances."""
from ..algorithms import CHOICE_CODES, Algorithm, register_algorithm
from ..kernels.muon import SCHEDULES
from ..params import Param

CHOICE_CODES.setdefault("schedule", dict(SCHEDULES))

_ETA = Param("eta", 0.01, "step size eta (the constant schedule's value; numerator of power; scale of random)",
             low=0.0, low_open=True)
_SCHED = Param("schedule", "constant", "step schedule: constant, power, polyak or random", kind="choice",
               choices=tuple(SCHEDULES))
_POWER = Param("power", 0.5, "exponent of the power schedule eta/(t+1)^power", low=0.0)
_FLOW = Param("f_lower", 0.0, "f* (or a lower bound) used by the Polyak step")
_AMAX = Param("alpha_max", 1e300, "cap on the Polyak step", low=0.0, low_open=True)
_BETA = Param("beta", 0.9, "momentum b (PyTorch parametrisation: v <- b v + g)", low=0.0, high=1.0,
              high_open=True)
_COMMON = (_ETA, _SCHED, _POWER, _FLOW, _AMAX)
_REF = "Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002"

for _a in [
    Algorithm("gd", "steepest", 0, _COMMON, "Gradient descent w <- w - eta g (steepest descent in l2).",
              "Cohen et al., ICLR 2021"),
    Algorithm("linf-descent", "steepest", 1, _COMMON,
              "l_inf steepest descent w <- w - eta ||g||_1 sign(g) (unnormalized: the sharp operator g#).", _REF),
    Algorithm("sign-gd", "steepest", 2, _COMMON, "SignGD w <- w - eta sign(g) (normalized l_inf; sign(0) = 0).",
              _REF),
    Algorithm("block-cd", "steepest", 3, _COMMON,
              "Greedy block CD w_b* <- w_b* - eta g_b*, b* = argmax_b ||g_b|| (steepest descent in sum_b ||w_b||; "
              "blocks: the problem's, the layers of the MLP).", _REF),
    Algorithm("spectral-gd", "steepest", 4, _COMMON,
              "Layer-wise spectral GD W_l <- W_l - eta (sum_k ||G_k||_nuc) polar(G_l) (steepest descent in "
              "max_l ||W_l||_op, unnormalized).", _REF),
    Algorithm("muon-nomomentum", "steepest", 5, _COMMON,
              "Muon without momentum W_l <- W_l - eta polar(G_l) (normalized layer-wise spectral).", _REF),
    Algorithm("heavy-ball", "steepest", 6, _COMMON + (_BETA,),
              "Heavy ball, PyTorch SGD momentum: v <- b v + g; w <- w - eta v.", "Polyak 1964; PyTorch SGD"),
    Algorithm("nesterov", "steepest", 7, _COMMON + (_BETA,),
              "Nesterov, PyTorch parametrisation: v <- b v + g; w <- w - eta (g + b v).",
              "Nesterov 1983; PyTorch SGD(nesterov=True)"),
]:
    register_algorithm(_a)
