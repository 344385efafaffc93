"""Local steps with a clipped server jump (Demidovich et al., arXiv 2412.02781) as one whole-trajectory kernel
(Clip-LocalGDJ; claim LJ-1).

Notation (the paper's / the authors' code): M clients (all take part in every round), tau local steps
(``local_steps``) with client stepsize alpha (``alpha``; the authors' ``client_lr``), rounds p = 0..R-1,
server iterate ``x_p`` (round 0 is ``x0``), client iterates ``x_{p,k}^m``.

Algorithms (``algo`` code):
    CLIP_LOCALGDJ (0)  Clip-LocalGDJ / the authors' ``local_sgd_jump``: every client runs
                       ``x_{p,k+1}^m = x_{p,k}^m - alpha g(x_{p,k}^m)`` for k < tau from ``x_{p,0}^m = x_p``; the
                       server forms ``g_p = (sum_m (x_p - x_{p,tau}^m)) * (1/(alpha M tau))`` (the authors'
                       arithmetic) and jumps ``x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||)`` [code].
    FEDAVG_GD (1)      FedAvg with the same local steps: ``x_{p+1} = mean_m x_{p,tau}^m`` (= the jump with
                       ``c0 = 1/(alpha tau)``, ``c1 = 0``, up to rounding).

Gradients ``g`` (``batch_size`` slot):
    0   the client's full gradient ``grad f_m`` (plus the problem's noise model, if it has one), as in
        the deterministic version of LJ-1's quick check (DERIVED: docs/conventions.md,
        section "Federated clipping (DERIVED)");
    b>0 the authors' minibatch gradient, for the family ``POINTS4`` only: b indices drawn uniformly *with*
        replacement from the client's points (the authors' ``np.random.choice(..., replace=True)``), and
        the unbiased estimate ``c[0] * (n_m/b) * sum_{k in batch} 4 ||y - p_k||^2 (y - p_k)`` of
        ``grad f_m`` (with ``c[0] = 1/n_m`` this is the authors' ``4 * mean over the batch``). Index
        ``s`` of client m's ``k``-th minibatch (k counts over the whole run) is
        ``floor(n_m u)`` with ``u = uniform01(seed, MINIBATCH_STREAM + m, k b + s)``: counter-based, so
        the draws do not depend on the thread count and the NumPy reference reproduces them (the
        authors' ``np.random`` stream is not reproduced).

Statistic ``clipped_fraction``: the fraction of server jumps in the clipping regime ``c1 ||g_p|| > c0``
(the jump's length is then closer to ``1/c1`` than to ``||g_p||/c0``); 0 for FedAvg.
"""
import numpy as np
from numba import njit, prange

from ..errors import TheoryBenchError
from ..families import POINTS4
from ..rng import uniform01
from .common import N_STATS, S_CLIPPED_FRACTION, init_stats, norm, observe, stoch_grad

CLIP_LOCALGDJ = 0
FEDAVG_GD = 1

SLOTS = ("alpha", "local_steps", "c0", "c1", "batch_size")
DEFAULTS = {"alpha": 1e-6, "local_steps": 10, "c0": 1e3, "c1": 1e-2, "batch_size": 0}
H_ALPHA, H_LOCAL_STEPS, H_C0, H_C1, H_BATCH = range(5)
N_HYPER = len(SLOTS)

MINIBATCH_STREAM = 1 << 41  # client m's minibatch indices use stream MINIBATCH_STREAM + m (noise: 0..M-1)


@njit(cache=True, inline="always")
def points4_minibatch_grad(c, y, out, b, seed, client, k):
    """The authors' minibatch gradient of ``f_m = c[0] sum_k ||y - p_k||^4`` (family ``POINTS4``):
    ``c[0] (n_m/b) sum_{s < b} 4 ||y - p_{i_s}||^2 (y - p_{i_s})``, indices drawn with replacement."""
    d = y.shape[0]
    m = int(c[1])
    w = 4.0 * (c[0] * m / b)
    for j in range(d):
        out[j] = 0.0
    for s in range(b):
        u = uniform01(seed, MINIBATCH_STREAM + client, k * b + s)
        idx = int(u * m)
        if idx >= m:
            idx = m - 1
        base = 2 + idx * d
        sq = 0.0
        for j in range(d):
            t = y[j] - c[base + j]
            sq += t * t
        for j in range(d):
            out[j] += w * sq * (y[j] - c[base + j])


@njit(cache=True)
def localgdj_trajectory(algo, family, params, hyper, x0, seed, nkind, nscale, nmask, target, rounds,
                        rec_rounds, out_x, out_loss, out_gnorm, st):
    """Run one configuration for ``rounds`` rounds; record at ``rec_rounds`` (sorted, with 0 and R)."""
    M = params.shape[0]
    d = x0.shape[0]
    alpha = hyper[H_ALPHA]
    tau = int(hyper[H_LOCAL_STEPS])
    c0 = hyper[H_C0]
    c1 = hyper[H_C1]
    b = int(hyper[H_BATCH])

    x = x0.copy()
    y = np.empty(d)
    g = np.empty(d)
    gf = np.empty(d)
    gtmp = np.empty(d)
    acc = np.empty(d)
    counters = np.zeros(M, dtype=np.int64)
    clipped = 0
    jumps = 0
    inv = 1.0 / (alpha * M * tau)  # the authors' g_p *= 1 / (client_lr * n_clients * n_local_steps)
    init_stats(st)

    p = observe(family, params, x, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st, gf, gtmp)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        for j in range(d):
            acc[j] = 0.0
        for m in range(M):
            for j in range(d):
                y[j] = x[j]
            for k in range(tau):
                if b > 0:
                    points4_minibatch_grad(params[m], y, g, b, seed, m, counters[m])
                else:
                    stoch_grad(family, params[m], y, g, nkind, nscale, nmask, seed, m, counters[m])
                counters[m] += 1
                for j in range(d):
                    y[j] -= alpha * g[j]
            if algo == CLIP_LOCALGDJ:
                for j in range(d):
                    acc[j] += x[j] - y[j]      # the authors' g_p += x_p - x_p_m
            else:
                for j in range(d):
                    acc[j] += y[j]             # sum of the final local iterates
        if algo == CLIP_LOCALGDJ:
            for j in range(d):
                acc[j] *= inv                  # g_p
            gn = norm(acc)
            lr = 1.0 / (c0 + c1 * gn)          # the authors' calculate_clipped_lr
            clipped += c1 * gn > c0
            jumps += 1
            for j in range(d):
                x[j] -= lr * acc[j]
        else:
            for j in range(d):
                x[j] = acc[j] / M
        p = observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp)
    st[S_CLIPPED_FRACTION] = clipped / jumps if jumps > 0 else 0.0


@njit(cache=True, parallel=True, nogil=True)
def _batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
           out_x, out_loss, out_gnorm, out_stats):
    for c in prange(hyper.shape[0]):
        localgdj_trajectory(algo, family, params[c], hyper[c], x0[c], seeds[c], nkind, nscale[c], nmask[c],
                            target[c], rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])


def batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over configurations c: ``params[c]``, ``hyper[c]``, ``x0[c]``, ``seeds[c]``,
    ``nscale[c]``, ``nmask[c]``, ``target[c]``. Each configuration runs on one thread, so results do not
    depend on the thread count. Minibatches (``batch_size > 0``) need the family ``POINTS4`` (checked here,
    before the compiled loop, so that the error names the parameter)."""
    if family != POINTS4 and np.any(hyper[:, H_BATCH] > 0):
        raise TheoryBenchError("parameter 'batch_size' > 0 (minibatches of points) needs the POINTS4 family "
                               "(problem 'quartic-points'); use batch_size = 0 for this problem")
    _batch(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
           out_x, out_loss, out_gnorm, out_stats)


__all__ = ["SLOTS", "DEFAULTS", "N_STATS", "batch", "CLIP_LOCALGDJ", "FEDAVG_GD", "MINIBATCH_STREAM"]
