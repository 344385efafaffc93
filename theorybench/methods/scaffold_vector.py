"""Amplified SCAFFOLD and its baselines under periodic (cyclic) participation, as vector-template methods
(Crawshaw, Liu, NeurIPS 2024): ``fedavg-pp``, ``fedprox``, ``scaffold``, ``amplified-fedavg``,
``amplified-scaffold``. One vector step is one communication round.

The update rules follow the authors' synthetic-experiment script ``train()`` ([code]); where a rule below
is ours it says INFERRED. Notation: N clients, S sampled per round (``clients_per_round``; 0: every
available client), I local steps (``local_steps``), server iterate ``x_r`` (``x_0`` the start), learning
rate ``lr``, amplification ``gamma`` (``amplification``), local stepsize ``eta = lr/gamma`` for the amplified
methods and ``eta = lr`` for the others (the authors run them with ``gamma = 1``), period P (``period``),
K client groups (``groups``), FedProx's ``mu`` (``prox_mu``). Client memories (control variates) ``c_i``
and ``c = (1/N) sum_i c_i`` start at 0, the anchor at ``x_anchor = x_0``.

Participation (``theorybench.sampling``): uniform (all N clients available) or cyclic (K groups
``{i : i mod K = k}``; in round r the available group is ``floor((t mod P)/(P/K))``, ``t = r - 1`` the
authors' 0-based round index, which is the vector step ``t``), S clients drawn from the available ones by
``sample_clients(seed, t, ...)``.

Round r (step t = r - 1), for the sampled clients ``S_r``, each from ``y = x_{r-1}``, I times::

    g  = grad F_i(y; xi)                      (client i's next draw: stream i, counter k = its draws so far)
    g += c - c_i                              (SCAFFOLD, Amplified SCAFFOLD; the raw g is accumulated first)
    g += mu (y - x_{r-1})                     (FedProx)
    y  = y - eta g

then ``x_r = mean_{i in S_r} y_i`` (``x_r = x_{r-1}`` if no client is available, K > N), and

* SCAFFOLD: each sampled client refreshes ``c <- c - c_i/N``, ``c_i <- mean of its raw gradients of the
  round``, ``c <- c + c_i/N``;
* amplified methods, at the end of a period (``r mod P == 0``): ``x_r <- x_anchor + gamma (x_r - x_anchor)``,
  ``x_anchor <- x_r``; Amplified SCAFFOLD then refreshes, for every client i (in order) that took local
  steps during the period, ``c_i <- mean of all raw gradients i drew during the period`` (as above: long-range
  control variates).

Same draws, same order and same arithmetic as the engine's former generic kernel ``kernels/scaffold.py``,
so the trajectories are bit-identical to it (``tests/test_scaffold_vector.py``). Under cyclic participation
``period`` must be a multiple of ``groups`` (the authors' ``assert P % client_groups == 0``): refused before
any work (``check``).
"""
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.methods.scaffold import (AMPLIFICATION, GROUPS, LR, PARTICIPATION, PERIOD, PP_CLIENTS,
                                          PP_LOCAL_STEPS, PROX_MU)
from theorybench.oracle import client_stochastic_gradient
from theorybench.sampling import CYCLIC, UNIFORM, available_clients, sample_clients

REFERENCE = "Crawshaw, Liu, NeurIPS 2024 (Amplified SCAFFOLD), authors' synthetic script"

# the five methods' structure (compile-time constants of each step)
NO_CORRECTION = 0
ROUND_CORRECTION = 1   # SCAFFOLD: c_i refreshed by the round's sampled clients after every round
PERIOD_CORRECTION = 2  # Amplified SCAFFOLD: c_i refreshed at the end of every period


@njit(cache=True)
def pp_init(x, anchor):
    """``x_anchor = x_0`` (the memories and counters start at 0)."""
    for j in range(x.shape[0]):
        anchor[j] = x[j]


@njit(cache=True, inline="always")
def pp_refresh(i, n, d, ci, cbar, gsum, cnt):
    """``c <- c - c_i/N``; ``c_i <- gsum_i / cnt_i``; ``c <- c + c_i/N``; clear i's accumulator."""
    for j in range(d):
        cbar[j] -= ci[i, j] / n
        ci[i, j] = gsum[i, j] / cnt[i]
        cbar[j] += ci[i, j] / n
        gsum[i, j] = 0.0
    cnt[i] = 0.0


@njit(cache=True, inline="always")
def pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, steps, S,
             participation, K, P, prox, gamma, amplify, correction):
    """One round (module docstring). ``participation``: the choice index (0 cyclic, 1 uniform); ``gamma``:
    the amplification (1 for the plain methods); ``amplify``, ``correction``: the method's structure."""
    eta = lr / gamma
    part = CYCLIC if participation == 0 else UNIFORM
    r = t + 1
    m = available_clients(part, n, K, P, t, avail)
    ns = sample_clients(seed, t, avail, m, S, chosen)
    for j in range(d):
        acc[j] = 0.0
    for q in range(ns):
        i = int(chosen[q])
        for j in range(d):
            y[j] = x[j]
        for k in range(steps):
            client_stochastic_gradient(prob, i, y, g, seed, i, int(draws[i]))
            draws[i] += 1.0
            if correction != NO_CORRECTION:
                for j in range(d):
                    gsum[i, j] += g[j]
                    g[j] += cbar[j] - ci[i, j]
                cnt[i] += 1.0
            if prox != 0.0:
                for j in range(d):
                    g[j] += prox * (y[j] - x[j])
            for j in range(d):
                y[j] -= eta * g[j]
        for j in range(d):
            acc[j] += y[j]
    if ns > 0:  # a round whose group has no client (K > N) leaves x unchanged
        for j in range(d):
            x[j] = acc[j] / ns
    if correction == ROUND_CORRECTION:
        for q in range(ns):
            pp_refresh(int(chosen[q]), n, d, ci, cbar, gsum, cnt)
    if amplify and r % P == 0:
        for j in range(d):
            x[j] = anchor[j] + gamma * (x[j] - anchor[j])
            anchor[j] = x[j]
        if correction == PERIOD_CORRECTION:
            for i in range(n):
                if cnt[i] > 0.0:
                    pp_refresh(i, n, d, ci, cbar, gsum, cnt)


@njit(cache=True, inline="always")
def fedavg_pp_step(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr,
                   local_steps, clients_per_round, participation, groups, period):
    """FedAvg under periodic participation: S available clients run I steps ``y <- y - lr g``; average."""
    pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, local_steps,
             clients_per_round, participation, groups, period, 0.0, 1.0, False, NO_CORRECTION)


@njit(cache=True, inline="always")
def fedprox_step(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr,
                 local_steps, clients_per_round, participation, groups, period, prox_mu):
    """FedProx: the local gradient gets ``prox_mu (y - x_r)``, stepsize lr; average."""
    pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, local_steps,
             clients_per_round, participation, groups, period, prox_mu, 1.0, False, NO_CORRECTION)


@njit(cache=True, inline="always")
def scaffold_step(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr,
                  local_steps, clients_per_round, participation, groups, period):
    """SCAFFOLD: local direction ``g - c_i + c``, stepsize lr; sampled clients refresh c_i every round."""
    pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, local_steps,
             clients_per_round, participation, groups, period, 0.0, 1.0, False, ROUND_CORRECTION)


@njit(cache=True, inline="always")
def amplified_fedavg_step(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr,
                          local_steps, clients_per_round, participation, groups, period, amplification):
    """Amplified FedAvg: FedAvg with stepsize lr/gamma; amplification at every period end."""
    pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, local_steps,
             clients_per_round, participation, groups, period, 0.0, amplification, True, NO_CORRECTION)


@njit(cache=True, inline="always")
def amplified_scaffold_step(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen,
                            lr, local_steps, clients_per_round, participation, groups, period, amplification):
    """Amplified SCAFFOLD: direction ``g - c_i + c``, stepsize lr/gamma; at every period end amplification and
    the long-range refresh of c_i by every client that took part."""
    pp_round(x, t, seed, prob, n, d, anchor, y, g, acc, ci, cbar, gsum, cnt, draws, avail, chosen, lr, local_steps,
             clients_per_round, participation, groups, period, 0.0, amplification, True, PERIOD_CORRECTION)


def check_period(problem, settings):
    """Under cyclic participation ``period`` must be a multiple of ``groups``."""
    part = settings.get("participation")
    if part in ("cyclic", 0) and settings["period"] % settings["groups"]:
        return (f"parameter 'period' must be a multiple of 'groups' ({settings['groups']}) under cyclic "
                f"participation, got {settings['period']}")
    return None


STATE = (("anchor", ("d",)), ("y", ("d",)), ("g", ("d",)), ("acc", ("d",)), ("ci", ("n", "d")), ("cbar", ("d",)),
         ("gsum", ("n", "d")), ("cnt", ("n",)), ("draws", ("n",)), ("avail", ("n",)), ("chosen", ("n",)))
_PP = (LR, PP_LOCAL_STEPS, PP_CLIENTS, PARTICIPATION, GROUPS, PERIOD)
METHODS = {}
for _name, _params, _step, _doc, _ref in [
    ("fedavg-pp", _PP, fedavg_pp_step,
     "FedAvg under periodic participation: S available clients run I steps y <- y - lr g; the server averages.",
     REFERENCE + " (baseline FedAvg)"),
    ("fedprox", _PP + (PROX_MU,), fedprox_step,
     "FedProx: local gradient g + prox_mu (y - x_r), stepsize lr; the server averages.",
     "Li et al. 2020; " + REFERENCE + " (baseline)"),
    ("scaffold", _PP, scaffold_step,
     "SCAFFOLD: local direction g - c_i + c, stepsize lr; sampled clients refresh c_i (mean of the round's "
     "gradients) and c = mean c_i after every round.", "Karimireddy et al. 2020; " + REFERENCE + " (baseline)"),
    ("amplified-fedavg", _PP + (AMPLIFICATION,), amplified_fedavg_step,
     "Amplified FedAvg: FedAvg with stepsize lr/gamma; at each period end x <- x_anchor + gamma (x - x_anchor), "
     "x_anchor <- x.", REFERENCE),
    ("amplified-scaffold", _PP + (AMPLIFICATION,), amplified_scaffold_step,
     "Amplified SCAFFOLD: direction g - c_i + c, stepsize lr/gamma; at each period end x <- x_anchor + gamma "
     "(x - x_anchor), x_anchor <- x, and every client that took part refreshes c_i to the mean of its gradients "
     "over the period (long-range corrections).", REFERENCE),
]:
    METHODS[_name] = register_method(VectorMethod(_name, _params, _step, state=STATE, init=pp_init, doc=_doc,
                                                  reference=_ref, check=check_period), replace=True)
