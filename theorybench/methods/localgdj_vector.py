"""Local steps with a clipped server jump (Demidovich et al., arXiv 2412.02781) on the vector template:
``clip-localgdj`` (Clip-LocalGDJ, the authors' ``local_sgd_jump``; claim LJ-1) and ``fedavg-gd``, with the
hyperparameters of ``theorybench.methods.localgdj`` (one step of the template is one communication round).

Notation (the paper's / the authors' code): M clients (all take part in every round), tau local steps
(``local_steps``) with client stepsize alpha (``alpha``; the authors' ``client_lr``), rounds p = 0..R-1,
server iterate ``x_p`` (round 0 is ``x0``), client iterates ``x_{p,k}^m``::

    clip-localgdj  x_{p,0}^m = x_p;  x_{p,k+1}^m = x_{p,k}^m - alpha g_m(x_{p,k}^m)   (k < tau, every client)
                   g_p = (sum_m (x_p - x_{p,tau}^m)) * (1/(alpha M tau))            (the authors' arithmetic)
                   x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||)
    fedavg-gd      the same local steps, x_{p+1} = (sum_m x_{p,tau}^m)/M   (= the jump with c0 = 1/(alpha tau),
                   c1 = 0, up to rounding)

Gradients ``g_m`` (``batch_size``):
    0   the client's gradient ``grad f_m`` (``theorybench.oracle.client_stochastic_gradient``: client m's k-th
        local step over the run, k = p tau + (step in the round), is draw k of stream m; exact when the
        instance has no noise model);
    b>0 the authors' minibatch gradient on the ``quartic-points`` instance (it reads the instance's arrays
        ``pts``, ``start``, ``count``, ``weight``): b indices drawn uniformly *with* replacement from client
        m's points (the authors' ``np.random.choice(..., replace=True)``) and the unbiased estimate
        ``w_m (n_m/b) sum_{s < b} 4 ||y - p_{i_s}||^2 (y - p_{i_s})`` of ``grad f_m`` (with ``w_m = 1/n_m``
        this is the authors' ``4 * mean over the batch``). Index s of client m's k-th minibatch is
        ``floor(n_m u)``, ``u = uniform01(seed, MINIBATCH_STREAM + m, k b + s)``: counter-based, so the draws
        do not depend on the thread count and the NumPy reference (``tests/reference_localgdj.py``)
        reproduces them (the authors' ``np.random`` stream is not reproduced).

Statistic ``clipped_fraction``: the fraction of server jumps in the clipping regime ``c1 ||g_p|| > c0`` (the
jump's length is then closer to ``1/c1`` than to ``||g_p||/c0``); 0 for FedAvg. The arithmetic is the former
generic kernel's (``theorybench.kernels.localgdj``) operation for operation: the trajectories are bit-identical
(``tests/test_localgdj_vector.py``).
"""
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.kernels.common import norm
from theorybench.methods.localgdj import _LJ_ALPHA, _LJ_BATCH, _LJ_C0, _LJ_C1, _LJ_REF, _LJ_TAU
from theorybench.oracle import client_stochastic_gradient
from theorybench.rng import uniform01

MINIBATCH_STREAM = 1 << 41  # client m's minibatch indices use stream MINIBATCH_STREAM + m (noise: streams 0..M-1)


@njit(cache=True, inline="always")
def lj_minibatch_grad(i, y, out, b, seed, k, pts, start, count, weight):
    """The authors' minibatch gradient of ``f_i = w_i sum_{k in shard i} ||y - p_k||^4`` (module docstring):
    ``w_i (n_i/b) sum_{s < b} 4 ||y - p_{i_s}||^2 (y - p_{i_s})``, indices drawn with replacement."""
    d = y.shape[0]
    m = count[i]
    w = 4.0 * (weight[i] * m / b)
    for j in range(d):
        out[j] = 0.0
    for s in range(b):
        u = uniform01(seed, MINIBATCH_STREAM + i, k * b + s)
        idx = int(u * m)
        if idx >= m:
            idx = m - 1
        row = start[i] + idx
        sq = 0.0
        for j in range(d):
            t = y[j] - pts[row, j]
            sq += t * t
        for j in range(d):
            out[j] += w * sq * (y[j] - pts[row, j])


@njit(cache=True, inline="always")
def lj_local_steps(i, x, y, g, t, seed, prob, alpha, tau, b, pts, start, count, weight):
    """Client i's tau local steps from ``x``: ``y <- y - alpha g_i(y)``, its k-th gradient of the run being
    draw ``k = t tau + (step)``."""
    d = x.shape[0]
    for j in range(d):
        y[j] = x[j]
    for k in range(tau):
        kk = t * tau + k
        if b > 0:
            lj_minibatch_grad(i, y, g, b, seed, kk, pts, start, count, weight)
        else:
            client_stochastic_gradient(prob, i, y, g, seed, i, kk)
        for j in range(d):
            y[j] -= alpha * g[j]


@njit(cache=True)
def clip_localgdj_step(x, t, seed, prob, n, acc, y, g, jumps, pts, start, count, weight, alpha, local_steps, c0,
                       c1, batch_size):
    """One round of Clip-LocalGDJ (module docstring); ``jumps`` = (clipped jumps, jumps)."""
    d = x.shape[0]
    for j in range(d):
        acc[j] = 0.0
    for i in range(n):
        lj_local_steps(i, x, y, g, t, seed, prob, alpha, local_steps, batch_size, pts, start, count, weight)
        for j in range(d):
            acc[j] += x[j] - y[j]      # the authors' g_p += x_p - x_p_m
    inv = 1.0 / (alpha * n * local_steps)  # the authors' g_p *= 1 / (client_lr * n_clients * n_local_steps)
    for j in range(d):
        acc[j] *= inv
    gn = norm(acc)
    lr = 1.0 / (c0 + c1 * gn)          # the authors' calculate_clipped_lr
    if c1 * gn > c0:
        jumps[0] += 1.0
    jumps[1] += 1.0
    for j in range(d):
        x[j] -= lr * acc[j]


@njit(cache=True)
def fedavg_gd_step(x, t, seed, prob, n, acc, y, g, pts, start, count, weight, alpha, local_steps, batch_size):
    """One round of FedAvg with tau local steps: the mean of the clients' final local iterates."""
    d = x.shape[0]
    for j in range(d):
        acc[j] = 0.0
    for i in range(n):
        lj_local_steps(i, x, y, g, t, seed, prob, alpha, local_steps, batch_size, pts, start, count, weight)
        for j in range(d):
            acc[j] += y[j]             # sum of the final local iterates
    for j in range(d):
        x[j] = acc[j] / n


@njit(cache=True)
def lj_clipped_fraction(jumps):
    """Clipped jumps / jumps (0 before the first jump)."""
    return jumps[0] / jumps[1] if jumps[1] > 0.0 else 0.0


@njit(cache=True)
def lj_no_clipping():
    """FedAvg never clips."""
    return 0.0


_BUFFERS = (("acc", ("d",)), ("y", ("d",)), ("g", ("d",)))

CLIP_LOCALGDJ = register_method(VectorMethod(
    "clip-localgdj", (_LJ_ALPHA, _LJ_TAU, _LJ_C0, _LJ_C1, _LJ_BATCH), clip_localgdj_step,
    state=_BUFFERS + (("jumps", (2,)),), stats=(("clipped_fraction", lj_clipped_fraction),),
    doc="Clip-LocalGDJ: every client runs tau steps x <- x - alpha g from x_p; "
        "g_p = sum_m (x_p - x_{p,tau}^m)/(alpha M tau); server jump x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||).",
    reference=_LJ_REF), replace=True)

FEDAVG_GD = register_method(VectorMethod(
    "fedavg-gd", (_LJ_ALPHA, _LJ_TAU, _LJ_BATCH), fedavg_gd_step, state=_BUFFERS,
    stats=(("clipped_fraction", lj_no_clipping),),
    doc="FedAvg with local (full or minibatch) gradient steps: tau steps x <- x - alpha g per client, "
        "x_{p+1} = mean_m x_{p,tau}^m.", reference="McMahan et al. 2017; " + _LJ_REF + " (baseline)"), replace=True)

__all__ = ["CLIP_LOCALGDJ", "FEDAVG_GD", "MINIBATCH_STREAM"]
