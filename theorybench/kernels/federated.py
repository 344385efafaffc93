"""Federated methods with local updates and clipping, as one whole-trajectory kernel (the papers are
named per algorithm below).

Notation: N clients, S sampled per round (``clients_per_round``; 0 means all), I local steps, R rounds,
server iterate ``x_r`` (round 0 is ``x0``). Hyperparameters arrive as one float vector with the slots of
``SLOTS``, so a sweep over any of them is one call. Clipped steps are ``length * g/||g||``.

Clipping conventions (``convention`` slot; docs/conventions.md, section "Clipping conventions"):
    step (0):     ``x <- x - min(eta, gamma/||g||) g``; clipped iff ``||g|| > gamma/eta``, step length gamma.
    gradient (1): ``x <- x - eta min(1, gamma/||g||) g``; clipped iff ``||g|| > gamma``, step length eta*gamma.

Algorithms (``algo`` code; every method averages over the round's sampled clients S_r):
    FEDAVG (0)            local SGD: ``y <- y - eta g`` for I steps, then average.
    LOCAL_CLIP (1)        CELGC (Liu et al. 2022): every local step clipped on the client's own g.
    EPISODE (2)           Crawshaw, Bao, Liu (ICLR 2023): fresh ``G_r^i`` at ``x_r``, ``G_r = mean_i G_r^i``
                          decides clipping for the round; local direction ``g - G_r^i + G_r``.
    CLIPPED_MINIBATCH (3) each client averages I stochastic gradients at ``x_r``; the server takes one
                          clipped step on their mean.
    EPISODE_PP (4)        EPISODE++ (Crawshaw, Bao, Liu, NeurIPS 2023): client memories ``c_i`` (mean of the
                          I local gradients of i's last participation), ``c = mean_i c_i``; direction
                          ``g - c_i + c``; the round clips iff ``||c||`` exceeds the threshold (clipping rule
                          inferred from the authors' code); after the round each sampled client refreshes
                          ``c <- c + (gbar_i - c_i)/N``, ``c_i <- gbar_i``. ``c_i`` start as the mean of I
                          gradients at x0.
    NAIVE_PARALLEL_CLIP (5) each client clips its own mean of I stochastic gradients at ``x_r``; the server
                          averages the clipped steps (our reading of "naive parallel clipping": INFERRED).
"""
import numpy as np
from numba import njit, prange

from ..sampling import available_clients, sample_clients
from .common import (S_CLIPPED_FRACTION, init_stats, is_clipped, norm, observe, step,
                     stoch_grad)

FEDAVG = 0
LOCAL_CLIP = 1
EPISODE = 2
CLIPPED_MINIBATCH = 3
EPISODE_PP = 4
NAIVE_PARALLEL_CLIP = 5

SLOTS = ("eta", "gamma", "local_steps", "convention", "clients_per_round")
DEFAULTS = {"eta": 0.01, "gamma": np.inf, "local_steps": 1, "convention": 0, "clients_per_round": 0}
H_ETA, H_GAMMA, H_LOCAL_STEPS, H_CONVENTION, H_S = range(5)
N_HYPER = len(SLOTS)


@njit(cache=True)
def federated_trajectory(algo, family, params, hyper, x0, seed, nkind, nscale, nmask, target, rounds,
                         rec_rounds, out_x, out_loss, out_gnorm, st):
    """Run one configuration for ``rounds`` rounds; record at ``rec_rounds`` (sorted, with 0 and R)."""
    n = params.shape[0]
    d = x0.shape[0]
    eta = hyper[H_ETA]
    gamma = hyper[H_GAMMA]
    steps = int(hyper[H_LOCAL_STEPS])
    conv = int(hyper[H_CONVENTION])
    S = int(hyper[H_S])

    x = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    acc = np.empty(d)
    Gi = np.zeros((n, d))   # EPISODE: G_r^i; EPISODE++: memories c_i
    G = np.zeros(d)         # EPISODE: G_r; EPISODE++: c
    gbar = np.empty(d)
    newmem = np.empty((n, d))  # EPISODE++: this round's gbar_i of the sampled clients
    counters = np.zeros(n, dtype=np.int64)
    avail = np.empty(n, dtype=np.int64)
    chosen = np.empty(n, dtype=np.int64)
    clipped = 0
    decisions = 0
    clip_r = False
    init_stats(st)

    if algo == EPISODE_PP:  # c_i = mean of I stochastic gradients at x0, c = mean_i c_i
        for i in range(n):
            for k in range(steps):
                stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
                counters[i] += 1
                for j in range(d):
                    Gi[i, j] += gtmp[j]
            for j in range(d):
                Gi[i, j] /= steps
                G[j] += Gi[i, j]
        for j in range(d):
            G[j] /= n

    p = observe(family, params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        m = available_clients(0, n, 1, 1, r, avail)
        ns = sample_clients(seed, r, avail, m, S, chosen)

        if algo == EPISODE:
            for j in range(d):
                G[j] = 0.0
            for q in range(ns):
                i = chosen[q]
                stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
                counters[i] += 1
                for j in range(d):
                    Gi[i, j] = gtmp[j]
                    G[j] += gtmp[j]
            for j in range(d):
                G[j] /= ns
            clip_r = is_clipped(norm(G), eta, gamma, conv)
            clipped += clip_r
            decisions += 1
        elif algo == EPISODE_PP:
            clip_r = is_clipped(norm(G), eta, gamma, conv)
            clipped += clip_r
            decisions += 1

        if algo == CLIPPED_MINIBATCH or algo == NAIVE_PARALLEL_CLIP:
            for j in range(d):
                acc[j] = 0.0
            for q in range(ns):
                i = chosen[q]
                for j in range(d):
                    gbar[j] = 0.0
                for k in range(steps):
                    stoch_grad(family, params[i], x, gtmp, nkind, nscale, nmask, seed, i, counters[i])
                    counters[i] += 1
                    for j in range(d):
                        gbar[j] += gtmp[j]
                for j in range(d):
                    gbar[j] /= steps
                if algo == NAIVE_PARALLEL_CLIP:
                    c = is_clipped(norm(gbar), eta, gamma, conv)
                    clipped += c
                    decisions += 1
                    for j in range(d):
                        y[j] = 0.0
                    step(y, gbar, eta, gamma, conv, c)  # y = -(client i's clipped step)
                    for j in range(d):
                        acc[j] += y[j]
                else:
                    for j in range(d):
                        acc[j] += gbar[j]
            if algo == NAIVE_PARALLEL_CLIP:
                for j in range(d):
                    x[j] += acc[j] / ns
            else:
                for j in range(d):
                    acc[j] /= ns
                c = is_clipped(norm(acc), eta, gamma, conv)
                clipped += c
                decisions += 1
                step(x, acc, eta, gamma, conv, c)
        else:
            for j in range(d):
                acc[j] = 0.0  # the sum of the sampled clients' final local iterates
            for q in range(ns):
                i = chosen[q]
                for j in range(d):
                    y[j] = x[j]
                    gbar[j] = 0.0
                for k in range(steps):
                    stoch_grad(family, params[i], y, g, nkind, nscale, nmask, seed, i, counters[i])
                    counters[i] += 1
                    if algo == EPISODE or algo == EPISODE_PP:
                        for j in range(d):
                            gbar[j] += g[j]
                            g[j] = g[j] - Gi[i, j] + G[j]
                        c = clip_r
                    elif algo == LOCAL_CLIP:
                        c = is_clipped(norm(g), eta, gamma, conv)
                        clipped += c
                        decisions += 1
                    else:
                        c = False
                    step(y, g, eta, gamma, conv, c)
                for j in range(d):
                    acc[j] += y[j]
                if algo == EPISODE_PP:
                    for j in range(d):
                        newmem[q, j] = gbar[j] / steps
            if algo == EPISODE_PP:  # the round used the old memories; refresh them now
                for q in range(ns):
                    i = chosen[q]
                    for j in range(d):
                        G[j] += (newmem[q, j] - Gi[i, j]) / n
                        Gi[i, j] = newmem[q, j]
            for j in range(d):
                x[j] = acc[j] / ns

        p = observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)
    st[S_CLIPPED_FRACTION] = clipped / decisions if decisions > 0 else 0.0


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over configurations c: ``params[c]``, ``hyper[c]``, ``x0[c]``, ``seeds[c]``,
    ``nscale[c]``, ``nmask[c]``, ``target[c]``. Each configuration runs on one thread, so results do not
    depend on the thread count."""
    for c in prange(hyper.shape[0]):
        federated_trajectory(algo, family, params[c], hyper[c], x0[c], seeds[c], nkind, nscale[c], nmask[c],
                             target[c], rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])
