"""Federated methods with clipping (kernel ``theorybench.kernels.federated``): FedAvg, CELGC, EPISODE,
clipped minibatch SGD, EPISODE++, naive parallel clipping. Shared hyperparameters are defined here."""
import numpy as np
from numba import njit

from ..algorithms import Algorithm, register_algorithm
from ..declare import Method, declare_method
from ..params import Param

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


# ------------------------------------------------------------------ declared pieces (theorybench.declare)
# The six methods as declared methods: the composed kernel (theorybench.compose) runs them on the problems
# in ``route`` (the scalar problems with a declared family: problems/federated_polynomials.py and
# problems/lower_bounds.py); elsewhere the hand-written kernel above runs them. Every piece performs the
# operations of the hand-written kernel in the same order (d = 1, ||g|| = |g|), so both give the same numbers.
_SCALAR_PROBLEMS = ("episode-quartic", "two-client-quadratic", "lower-bound-a", "lower-bound-b", "lower-bound-c")


@njit(cache=True, inline="always")
def fedavg_step(y, g, eta):
    """FedAvg / local SGD local step: ``y - eta g``."""
    return y - eta * g


FEDAVG = declare_method(Method("fedavg", _FED, fedavg_step,
                               doc="Local SGD / FedAvg: I steps y <- y - eta g per client, then the server averages.",
                               reference="McMahan et al. 2017"),
                        route=_SCALAR_PROBLEMS)


@njit(cache=True, inline="always")
def celgc_step(y, g, eta, gamma, convention):
    """CELGC local step (d = 1; ``convention``: 0 step, 1 grad), the operations of
    ``kernels.common.is_clipped`` and ``step`` with ``||g|| = |g|``: clipped iff ``|g| > gamma/eta`` (step) or
    ``|g| > gamma`` (grad); a clipped step is ``length g/|g|`` (length gamma, or eta gamma), which for a finite
    g is exactly ``-+length``; otherwise ``y - eta g``. Returns ``(y, clipped)``. Written with branches (not
    selects): when a clipped step is predicted, the next iterate does not wait for the gradient (1.2x)."""
    n = abs(g)
    if convention == 0:
        clip = n > gamma / eta
        length = gamma
    else:
        clip = n > gamma
        length = eta * gamma
    if clip:
        if n < np.inf:
            if g > 0.0:
                y -= length
            else:
                y += length
        else:
            y -= length * (g / n)
        return y, True
    y -= eta * g
    return y, False


CELGC = declare_method(Method("local-clip", _CLIP, celgc_step, clipping=True,
                              doc="CELGC: every local step clipped on the client's own stochastic gradient.",
                              reference="Liu, Zhuang, Lei, Liao, NeurIPS 2022"),
                       route=_SCALAR_PROBLEMS)


@njit(cache=True, inline="always")
def episode_client_start(g):
    """EPISODE, start of round r: client i's ``G_{r,i} = grad f_i(x_r) + noise`` (one fresh draw at x_r)."""
    return g


@njit(cache=True, inline="always")
def episode_round_start(G, eta, gamma, convention):
    """EPISODE, start of round r: the round clips iff ``||G_r|| > gamma/eta`` (step) or ``> gamma`` (grad),
    ``G_r = mean_{i in S_r} G_{r,i}`` (d = 1: ``||G_r|| = |G_r|``)."""
    n = abs(G)
    if convention == 0:
        return n > gamma / eta
    return n > gamma


@njit(cache=True, inline="always")
def episode_step(y, g, G_i, G, clipped, eta, gamma, convention):
    """EPISODE local step on the direction ``d = g - G_{r,i} + G_r``: the round's decision ``clipped``;
    a clipped step is ``length d/|d|`` (length gamma, or eta gamma; none when d = 0), exactly ``-+length``
    for a finite d; otherwise ``y - eta d`` (the operations of ``kernels.common.step`` for d = 1)."""
    return clip_step1(y, g - G_i + G, clipped, eta, gamma, convention)


EPISODE_METHOD = declare_method(Method(
    "episode", _CLIP, episode_step, client_start=episode_client_start, client_values=(("G_i", "G"),),
    round_start=episode_round_start, round_values=("clipped",),
    doc="EPISODE: G_r = mean_i G_r^i at x_r decides clipping for the round; local direction g - G_r^i + G_r.",
    reference="Crawshaw, Bao, Liu, ICLR 2023, Algorithm 1"), route=_SCALAR_PROBLEMS)


@njit(cache=True, inline="always")
def clip_step1(y, d, clip, eta, gamma, convention):
    """``kernels.common.step`` for d = 1: a clipped step is ``length d/|d|`` (length gamma, or eta gamma; none
    when d = 0), exactly ``-+length`` for a finite d; otherwise ``y - eta d``."""
    if clip:
        n = abs(d)
        if n == 0.0:
            return y
        length = gamma if convention == 0 else eta * gamma
        if n < np.inf:
            if d > 0.0:
                return y - length
            return y + length
        return y - length * (d / n)
    return y - eta * d


@njit(cache=True, inline="always")
def clips1(d, eta, gamma, convention):
    """``kernels.common.is_clipped(|d|, ...)``: ``|d| > gamma/eta`` (step) or ``|d| > gamma`` (grad)."""
    if convention == 0:
        return abs(d) > gamma / eta
    return abs(d) > gamma


@njit(cache=True, inline="always")
def minibatch_client_end(gbar):
    """Clipped minibatch SGD: client i's mean of its I stochastic gradients at ``x_r``."""
    return gbar


@njit(cache=True, inline="always")
def clipped_minibatch_round_end(x, gmean, eta, gamma, convention):
    """Clipped minibatch SGD: one clipped server step on ``gmean = mean_{i in S_r} gbar_i``; returns
    ``(x_{r+1}, clipped)``."""
    clip = clips1(gmean, eta, gamma, convention)
    return clip_step1(x, gmean, clip, eta, gamma, convention), clip


CLIPPED_MINIBATCH_METHOD = declare_method(Method(
    "clipped-minibatch", _CLIP, None, client_end=minibatch_client_end, client_end_values=(("gbar_i", "gmean"),),
    round_end=clipped_minibatch_round_end, round_end_values=("x", "clipped"),
    doc="Clipped minibatch SGD: each sampled client averages I stochastic gradients at x_r; one clipped "
        "server step on their mean.", reference="Crawshaw, Bao, Liu, NeurIPS 2023"), route=_SCALAR_PROBLEMS)


@njit(cache=True, inline="always")
def naive_parallel_client_end(gbar, eta, gamma, convention):
    """Naive parallel clipping: client i's clipped step on its own mean of I stochastic gradients at
    ``x_r``, as the displacement ``u_i = 0 - step`` (the generic kernel's ``y = 0; step(y, gbar)``); returns
    ``(u_i, clipped)``."""
    clip = clips1(gbar, eta, gamma, convention)
    return clip_step1(0.0, gbar, clip, eta, gamma, convention), clip


@njit(cache=True, inline="always")
def naive_parallel_round_end(x, umean):
    """Naive parallel clipping: ``x_{r+1} = x_r + mean_{i in S_r} u_i``."""
    return x + umean


NAIVE_PARALLEL_METHOD = declare_method(Method(
    "naive-parallel-clip", _CLIP, None, client_end=naive_parallel_client_end,
    client_end_values=(("u_i", "umean"), "clipped"), round_end=naive_parallel_round_end, round_end_values=("x",),
    doc="Naive parallel clipping (INFERRED reading): each sampled client clips its own mean of I stochastic "
        "gradients at x_r; the server averages the clipped steps.",
    reference="Crawshaw, Bao, Liu, NeurIPS 2023 (baseline)"), route=_SCALAR_PROBLEMS)


@njit(cache=True, inline="always")
def episode_pp_client_init(gbar):
    """EPISODE++, before round 0: client i's memory ``c_i`` = the mean of I stochastic gradients at x_0 (the
    state ``c`` = mean_i c_i over all N clients)."""
    return gbar


@njit(cache=True, inline="always")
def episode_pp_client_end(gbar, G_i, G, n):
    """EPISODE++, after the round (sampled clients in order): ``c <- c + (gbar_i - c_i)/N``, ``c_i <- gbar_i``
    (``G_i`` = c_i, ``G`` = c); returns ``(c_i, c)``."""
    return gbar, G + (gbar - G_i) / n


EPISODE_PP_METHOD = declare_method(Method(
    "episode++", _CLIP, episode_step, state=(("G", 0.0),), client_state=(("G_i", 0.0),),
    client_init=episode_pp_client_init, client_init_values=(("G_i", "G"),),
    round_start=episode_round_start, round_values=("clipped",),
    client_end=episode_pp_client_end, client_end_values=("G_i", "G"),
    doc="EPISODE++: client memories c_i and c = mean c_i; direction g - c_i + c; clip iff ||c|| exceeds "
        "the threshold (inferred); sampled clients refresh their memories after the round.",
    reference="Crawshaw, Bao, Liu, NeurIPS 2023"), route=_SCALAR_PROBLEMS)
