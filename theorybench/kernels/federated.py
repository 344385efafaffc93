"""Federated local-update methods as one whole-trajectory kernel (CLAIMS.md section 1).

Notation: N clients, I local steps per round, R communication rounds, server iterate ``x_r``
(round 0 is ``x0``). Hyperparameters arrive as one float vector with the slots below, so a sweep over
any of them is one call. Clipped steps are computed as ``length * g / ||g||`` so that exact
cancellations stay exact (CLAIMS.md section 0).

Clipping conventions (``convention`` slot):
    step (0):     ``x <- x - min(eta, gamma/||g||) g``; clipped iff ``||g|| > gamma/eta``, step length gamma.
    gradient (1): ``x <- x - eta min(1, gamma/||g||) g``; clipped iff ``||g|| > gamma``, step length eta*gamma.

Algorithms (``algo`` code):
    FEDAVG (0)            local SGD: ``y <- y - eta g`` for I steps, then average.
    LOCAL_CLIP (1)        CELGC (Liu et al. 2022): every local step clipped on the client's own g.
    EPISODE (2)           Crawshaw, Bao, Liu (ICLR 2023): fresh ``G_r^i`` at ``x_r``, ``G_r = mean_i G_r^i``
                          decides clipping for the round; local direction ``g - G_r^i + G_r``.
    CLIPPED_MINIBATCH (3) every client averages I stochastic gradients at ``x_r``; server takes one clipped
                          step on their mean.
"""
import numpy as np
from numba import njit, prange

from ..families import client_grad, global_value_grad
from ..rng import noise

FEDAVG = 0
LOCAL_CLIP = 1
EPISODE = 2
CLIPPED_MINIBATCH = 3

# hyperparameter slots
H_ETA = 0
H_GAMMA = 1
H_LOCAL_STEPS = 2
H_CONVENTION = 3
N_HYPER = 4

# per-trajectory running statistics (computed every round, not from the sparse trace)
S_DIVERGED_ROUND = 0   # first round whose iterate or loss is not finite (-1: never)
S_MIN_GRAD_NORM = 1    # min_r ||grad f(x_r)||
S_ARGMIN_ROUND = 2     # the round attaining it
S_CLIPPED_FRACTION = 3  # fraction of local steps (or server steps) that were clipped
S_MAX_ABS_X = 4        # max_r ||x_r||_inf
N_STATS = 5

DIVERGENCE_BOUND = 1e150


@njit(cache=True, inline="always")
def _norm(g):
    s = 0.0
    for j in range(g.shape[0]):
        s += g[j] * g[j]
    return np.sqrt(s)


@njit(cache=True, inline="always")
def _step(y, g, eta, gamma, convention, clip):
    """``y <- y - step``; a clipped step is ``length * g/||g||`` (exact cancellations stay exact)."""
    if clip:
        n = _norm(g)
        if n == 0.0:  # a zero direction takes no step (its clipped step is undefined)
            return
        length = gamma if convention == 0 else eta * gamma
        for j in range(y.shape[0]):
            y[j] -= length * (g[j] / n)
    else:
        for j in range(y.shape[0]):
            y[j] -= eta * g[j]


@njit(cache=True, inline="always")
def _is_clipped(gnorm, eta, gamma, convention):
    if convention == 0:
        return gnorm > gamma / eta
    return gnorm > gamma


@njit(cache=True, inline="always")
def _stoch_grad(family, c, y, out, nkind, nscale, seed, client, counter):
    client_grad(family, c, y, out)
    d = y.shape[0]
    for j in range(d):
        out[j] += noise(nkind, nscale, seed, client, counter * d + j)


@njit(cache=True)
def federated_trajectory(algo, family, params, hyper, x0, seed, nkind, nscale, rounds,
                         rec_rounds, out_x, out_loss, out_gnorm, out_stats):
    """Run one configuration for ``rounds`` rounds; record at ``rec_rounds`` (sorted, with 0 and R)."""
    n = params.shape[0]
    d = x0.shape[0]
    eta = hyper[H_ETA]
    gamma = hyper[H_GAMMA]
    steps = int(hyper[H_LOCAL_STEPS])
    conv = int(hyper[H_CONVENTION])

    x = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    Gi = np.empty((n, d))
    G = np.empty(d)
    counters = np.zeros(n, dtype=np.int64)
    nrec = rec_rounds.shape[0]
    p = 0
    clipped = 0
    total = 0
    clip_r = False
    out_stats[S_DIVERGED_ROUND] = -1.0
    out_stats[S_MIN_GRAD_NORM] = np.inf
    out_stats[S_ARGMIN_ROUND] = 0.0
    out_stats[S_MAX_ABS_X] = 0.0

    for r in range(rounds + 1):
        if r > 0:
            if algo == EPISODE:
                for j in range(d):
                    G[j] = 0.0
                for i in range(n):
                    _stoch_grad(family, params[i], x, gtmp, nkind, nscale, seed, i, counters[i])
                    counters[i] += 1
                    for j in range(d):
                        Gi[i, j] = gtmp[j]
                        G[j] += gtmp[j]
                for j in range(d):
                    G[j] /= n
                clip_r = _is_clipped(_norm(G), eta, gamma, conv)
            if algo == CLIPPED_MINIBATCH:
                for j in range(d):
                    G[j] = 0.0
                for i in range(n):
                    for k in range(steps):
                        _stoch_grad(family, params[i], x, gtmp, nkind, nscale, seed, i, counters[i])
                        counters[i] += 1
                        for j in range(d):
                            G[j] += gtmp[j]
                for j in range(d):
                    G[j] /= n * steps
                c = _is_clipped(_norm(G), eta, gamma, conv)
                clipped += c
                total += 1
                _step(x, G, eta, gamma, conv, c)
            else:
                for j in range(d):
                    gf[j] = 0.0  # accumulates the sum of the clients' final local iterates
                for i in range(n):
                    for j in range(d):
                        y[j] = x[j]
                    for k in range(steps):
                        _stoch_grad(family, params[i], y, g, nkind, nscale, seed, i, counters[i])
                        counters[i] += 1
                        if algo == EPISODE:
                            for j in range(d):
                                g[j] = g[j] - Gi[i, j] + G[j]
                            c = clip_r
                        elif algo == LOCAL_CLIP:
                            c = _is_clipped(_norm(g), eta, gamma, conv)
                        else:
                            c = False
                        clipped += c
                        total += 1
                        _step(y, g, eta, gamma, conv, c)
                    for j in range(d):
                        gf[j] += y[j]
                for j in range(d):
                    x[j] = gf[j] / n

        loss = global_value_grad(family, params, x, gf, gtmp)
        gn = _norm(gf)
        xmax = 0.0
        for j in range(d):
            xmax = max(xmax, abs(x[j]))
        if not (np.isfinite(loss) and np.isfinite(gn) and xmax < DIVERGENCE_BOUND):
            out_stats[S_DIVERGED_ROUND] = r
            while p < nrec:
                out_loss[p] = np.nan
                out_gnorm[p] = np.nan
                for j in range(d):
                    out_x[p, j] = np.nan
                p += 1
            break
        out_stats[S_MAX_ABS_X] = max(out_stats[S_MAX_ABS_X], xmax)
        if gn < out_stats[S_MIN_GRAD_NORM]:
            out_stats[S_MIN_GRAD_NORM] = gn
            out_stats[S_ARGMIN_ROUND] = r
        if p < nrec and rec_rounds[p] == r:
            out_loss[p] = loss
            out_gnorm[p] = gn
            for j in range(d):
                out_x[p, j] = x[j]
            p += 1
    out_stats[S_CLIPPED_FRACTION] = clipped / total if total > 0 else 0.0


@njit(cache=True, parallel=True)
def federated_batch(algo, family, params, hyper, x0, seeds, nkind, nscale, rounds, rec_rounds,
                    out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over configurations: ``params[c]``, ``hyper[c]``, ``x0[c]``, ``seeds[c]``, ``nscale[c]``.
    Each configuration runs on one thread, so results do not depend on the thread count."""
    for c in prange(hyper.shape[0]):
        federated_trajectory(algo, family, params[c], hyper[c], x0[c], seeds[c], nkind, nscale[c],
                             rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])
