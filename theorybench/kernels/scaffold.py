"""Amplified SCAFFOLD and its baselines under periodic (cyclic) participation, as one whole-trajectory
kernel (Crawshaw, Liu, NeurIPS 2024).

The update rules follow the authors' synthetic-experiment script ``train()`` (read through the code
search, [code]); where a rule below is ours it says INFERRED.

Notation: N clients, S sampled per round (``clients_per_round``; 0 means every available client),
I local steps (``local_steps``), R rounds, server iterate ``x_r`` (round 0 is ``x0``), learning rate
``lr``, amplification ``gamma`` (the paper's gamma; slot ``amplification``), local stepsize
``eta = lr/gamma`` for the amplified methods and ``eta = lr`` for the others (the authors run them with
``gamma = 1``), participation period P (``period``), K client groups (``groups``), FedProx's ``mu``
(``prox_mu``). Client memories (control variates) ``c_i`` and ``c = (1/N) sum_i c_i`` start at 0, as
the anchor ``x_anchor = x0``.

Participation (``theorybench.sampling``): uniform (all N clients available) or cyclic (K groups
``{i : i mod K = k}``; in round r the available group is ``floor((t mod P)/(P/K))`` with
``t = r - 1`` the authors' 0-based round index, so that a period holds every group once and ends with
the amplification); S clients are drawn from the available ones with ``sample_clients(seed, t, ...)``.

Round r (1-based) for the sampled clients ``S_r``, each starting from ``y = x_{r-1}``, I times::

    g  = grad F_i(y; xi)                      (client i's next noisy gradient, theorybench.rng)
    g += c - c_i                              (SCAFFOLD, Amplified SCAFFOLD; raw g is accumulated first)
    g += mu (y - x_{r-1})                     (when prox_mu > 0: FedProx)
    y  = y - eta g

then ``x_r = mean_{i in S_r} y_i`` (``x_r = x_{r-1}`` if no client is available, K > N), and

* SCAFFOLD: each sampled client refreshes ``c <- c - c_i/N``, ``c_i <- mean of its raw gradients of the
  round``, ``c <- c + c_i/N`` (corrections refreshed every round);
* amplified methods, at the end of a period (``r mod P == 0``):
  ``x_r <- x_anchor + gamma (x_r - x_anchor)``, ``x_anchor <- x_r``; Amplified SCAFFOLD then refreshes,
  for every client i (in order) that took local steps during the period,
  ``c <- c - c_i/N``, ``c_i <- mean of all raw gradients i drew during the period``, ``c <- c + c_i/N``
  (long-range control variates).

Algorithms (``algo`` code):
    FEDAVG (0)         FedAvg / local SGD (eta = lr).
    FEDPROX (1)        FedAvg with the proximal term ``mu (y - x_{r-1})`` (eta = lr).
    SCAFFOLD (2)       corrections refreshed every round (eta = lr).
    AMP_FEDAVG (3)     Amplified FedAvg: amplification at period ends, no corrections (eta = lr/gamma).
    AMP_SCAFFOLD (4)   Amplified SCAFFOLD: amplification and long-range corrections (eta = lr/gamma).

The proximal term is applied by any code when ``prox_mu > 0`` (as in the authors' script); only FedProx
declares it. Recording, running statistics and divergence follow ``kernels.common.observe``.
"""
import numpy as np
from numba import njit, prange

from ..sampling import available_clients, sample_clients
from .common import init_stats, observe, stoch_grad

FEDAVG = 0
FEDPROX = 1
SCAFFOLD = 2
AMP_FEDAVG = 3
AMP_SCAFFOLD = 4
ALGO_NAMES = {FEDAVG: "FedAvg", FEDPROX: "FedProx", SCAFFOLD: "SCAFFOLD", AMP_FEDAVG: "Amplified FedAvg",
              AMP_SCAFFOLD: "Amplified SCAFFOLD"}

SLOTS = ("lr", "amplification", "local_steps", "clients_per_round", "participation", "groups", "period",
         "prox_mu")
DEFAULTS = {"lr": 1e-4, "amplification": 1.0, "local_steps": 10, "clients_per_round": 1, "participation": 1,
            "groups": 2, "period": 480, "prox_mu": 0.0}
H_LR, H_GAMMA, H_LOCAL_STEPS, H_S, H_PART, H_GROUPS, H_PERIOD, H_PROX = range(8)
N_HYPER = len(SLOTS)


@njit(cache=True, inline="always")
def _refresh(i, n, d, ci, c, gsum, cnt):
    """``c <- c - c_i/N``; ``c_i <- gsum_i / cnt_i``; ``c <- c + c_i/N``; clear i's accumulator."""
    for j in range(d):
        c[j] -= ci[i, j] / n
        ci[i, j] = gsum[i, j] / cnt[i]
        c[j] += ci[i, j] / n
        gsum[i, j] = 0.0
    cnt[i] = 0


@njit(cache=True)
def scaffold_trajectory(algo, family, params, hyper, x0, seed, nkind, nscale, nmask, target, rounds,
                        rec_rounds, out_x, out_loss, out_gnorm, st):
    """Run one configuration for ``rounds`` rounds; record at ``rec_rounds`` (sorted, with 0 and R)."""
    n = params.shape[0]
    d = x0.shape[0]
    lr = hyper[H_LR]
    steps = int(hyper[H_LOCAL_STEPS])
    S = int(hyper[H_S])
    part = int(hyper[H_PART])
    K = int(hyper[H_GROUPS])
    P = int(hyper[H_PERIOD])
    prox = hyper[H_PROX]
    amplify = algo == AMP_FEDAVG or algo == AMP_SCAFFOLD
    correct = algo == SCAFFOLD or algo == AMP_SCAFFOLD
    gamma = hyper[H_GAMMA] if amplify else 1.0
    eta = lr / gamma

    x = x0.copy()
    anchor = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    acc = np.empty(d)
    ci = np.zeros((n, d))      # client memories c_i
    c = np.zeros(d)            # c = mean_i c_i
    gsum = np.zeros((n, d))    # raw gradients accumulated since i's memory was last refreshed
    cnt = np.zeros(n, dtype=np.int64)
    counters = np.zeros(n, dtype=np.int64)
    avail = np.empty(n, dtype=np.int64)
    chosen = np.empty(n, dtype=np.int64)
    init_stats(st)

    p = observe(family, params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        t = r - 1  # the authors' 0-based round index
        m = available_clients(part, n, K, P, t, avail)
        ns = sample_clients(seed, t, avail, m, S, chosen)
        for j in range(d):
            acc[j] = 0.0
        for q in range(ns):
            i = chosen[q]
            row = params[i]
            for j in range(d):
                y[j] = x[j]
            for k in range(steps):
                stoch_grad(family, row, y, g, nkind, nscale, nmask, seed, i, counters[i])
                counters[i] += 1
                if correct:
                    for j in range(d):
                        gsum[i, j] += g[j]
                        g[j] += c[j] - ci[i, j]
                    cnt[i] += 1
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
        if algo == SCAFFOLD:
            for q in range(ns):
                _refresh(chosen[q], n, d, ci, c, gsum, cnt)
        if amplify and r % P == 0:
            for j in range(d):
                x[j] = anchor[j] + gamma * (x[j] - anchor[j])
                anchor[j] = x[j]
            if algo == AMP_SCAFFOLD:
                for i in range(n):
                    if cnt[i] > 0:
                        _refresh(i, n, d, ci, c, gsum, cnt)
        p = observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over configurations c: ``params[c]``, ``hyper[c]``, ``x0[c]``, ``seeds[c]``,
    ``nscale[c]``, ``nmask[c]``, ``target[c]``. Each configuration runs on one thread, so results do not
    depend on the thread count."""
    for cfg in prange(hyper.shape[0]):
        scaffold_trajectory(algo, family, params[cfg], hyper[cfg], x0[cfg], seeds[cfg], nkind, nscale[cfg],
                            nmask[cfg], target[cfg], rounds, rec_rounds, out_x[cfg], out_loss[cfg],
                            out_gnorm[cfg], out_stats[cfg])
