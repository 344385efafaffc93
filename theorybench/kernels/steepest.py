"""Steepest descent in a norm, and momentum GD, on the edge-of-stability instances (Islamov, Crawshaw,
Cohen, Gower, arXiv 2603.05002; Cohen et al., ICLR 2021) as one whole-trajectory kernel.

Models (the problem's ``model`` code), parameters one flat vector ``w``:
    QUADRATIC (0)  ``f(w) = 1/2 w^T H w`` (``H`` symmetric PSD, a data array)
    MLP (1)        the tanh network of ``theorybench.kernels.mlp`` (``f = 1/(2n) sum_i ||out(x_i) - y_i||^2``,
                   full batch); the layers ``W_l`` are consecutive row-major pieces of ``w`` (``layers[l] =
                   (offset, rows, cols)``).

The quadratic runs as one whole-trajectory Numba kernel (``prange`` over configurations). The MLP's step is
dense linear algebra plus ``tanh`` on 512 x 64 arrays: NumPy's BLAS and SIMD ``tanh`` do it 4x faster than
the same code compiled by Numba (libm ``tanh`` per element; measured, see benchmarks/bench_eos.py), so its
trajectory is a Python loop around the NumPy gradient that calls the same compiled pieces (direction,
schedule, observation) as the quadratic kernel.

The geometry (docs/conventions.md, section "Non-Euclidean geometry"; ``theorybench.geometry`` has the same
maps in NumPy): layers give the matrices of the spectral methods (the quadratic is one ``m x n`` layer),
``blocks`` (offsets) the blocks of greedy block CD. Algorithms (``algo`` code), step ``eta_t`` from the schedule:
    GD (0)            ``w <- w - eta_t g``
    LINF (1)          l_inf steepest descent ``w <- w - eta_t ||g||_1 sign(g)`` (unnormalized: ``g#``)
    SIGN (2)          SignGD ``w <- w - eta_t sign(g)`` (normalized: ``lmo(g)``; sign(0) = 0)
    BLOCK_CD (3)      greedy block CD, steepest descent in ``sum_b ||w_b||_2``: ``w_b* <- w_b* - eta_t g_b*``
                      on the block with the largest ``||g_b||`` (the first on ties), other blocks unchanged
    SPECTRAL (4)      layer-wise spectral GD, steepest descent in ``max_l ||W_l||_op``: ``W_l <- W_l - eta_t
                      (sum_k ||G_k||_nuc) polar(G_l)`` (unnormalized)
    MUON0 (5)         Muon without momentum ``W_l <- W_l - eta_t polar(G_l)`` (normalized)
    HEAVY_BALL (6)    PyTorch SGD momentum ``v <- b v + g; w <- w - eta_t v``
    NESTEROV (7)      PyTorch Nesterov ``v <- b v + g; w <- w - eta_t (g + b v)``
polar drops singular values <= 1e-10 s_max (``kernels.muon.svd_polar``).

Schedules (as in ``kernels.muon``): CONSTANT ``eta``; POWER ``eta/(t+1)^power``; POLYAK ``(f - f_lower)/||g||_*``
for the normalized methods, ``/||g||_*^2`` for the others (dual norms: l2 for GD and the momentum methods,
l1 for LINF and SIGN, ``max_b ||g_b||`` for BLOCK_CD, the sum of nuclear norms for SPECTRAL and MUON0), capped
at ``alpha_max``; RANDOM ``eta u_t``, ``u_t`` uniform on (0, 1] (seed, stream 0, counter t).

Recorded: ``loss`` f(w_t), ``grad_norm`` ``||g_t||_2``, the iterates at the record rounds (the sharpness
along the run is computed from them: ``theorybench.sharpness.sharpness_along``).
"""
import numpy as np
from numba import njit, prange

from .common import N_STATS, init_stats, norm, observe_values
from .muon import POLYAK, RANK_RTOL, SCHEDULES, schedule_step, svd_polar

QUADRATIC, MLP = 0, 1
GD, LINF, SIGN, BLOCK_CD, SPECTRAL, MUON0, HEAVY_BALL, NESTEROV = range(8)
NORMALIZED = (SIGN, MUON0)

# slot 0 is the base step eta (the schedules of ``kernels.muon.schedule_step``)
SLOTS = ("eta", "schedule", "power", "beta", "f_lower", "alpha_max")
DEFAULTS = {"eta": 0.01, "schedule": 0, "power": 0.5, "beta": 0.9, "f_lower": 0.0, "alpha_max": np.inf}
H_ALPHA0, H_SCHEDULE, H_POWER, H_BETA, H_FLOWER, H_AMAX = range(6)


@njit(cache=True)
def quadratic_loss_grad(w, H, g):
    """``f(w) = 1/2 w^T H w`` with ``g = H w``."""
    d = w.shape[0]
    f = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += H[i, j] * w[j]
        g[i] = acc
        f += w[i] * acc
    return 0.5 * f


@njit(cache=True)
def _layer_polar(g, layers, k, out):
    """``polar(G_k)`` into ``out`` (flat, at the layer's offset); returns ``||G_k||_nuc``."""
    off, m, n = layers[k, 0], layers[k, 1], layers[k, 2]
    A = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            A[i, j] = g[off + i * n + j]
    P = np.empty((m, n))
    nuc, _ = svd_polar(A, P)
    for i in range(m):
        for j in range(n):
            out[off + i * n + j] = P[i, j]
    return nuc


@njit(cache=True)
def direction(algo, g, layers, blocks, out):
    """The step direction ``out`` (``w <- w - eta_t out``) of the steepest-descent methods and the dual norm
    ``||g||_*`` of the method's geometry (GD: ``g`` and ``||g||_2``)."""
    d = g.shape[0]
    if algo == LINF or algo == SIGN:
        s = 0.0
        for j in range(d):
            s += abs(g[j])
        for j in range(d):
            v = 1.0 if g[j] > 0.0 else (-1.0 if g[j] < 0.0 else 0.0)
            out[j] = v * s if algo == LINF else v
        return s
    if algo == BLOCK_CD:
        best, bb = -1.0, 0
        for b in range(blocks.shape[0] - 1):
            nb = norm(g[blocks[b]:blocks[b + 1]])
            if nb > best:
                best, bb = nb, b
        for j in range(d):
            out[j] = 0.0
        for j in range(blocks[bb], blocks[bb + 1]):
            out[j] = g[j]
        return best
    if algo == SPECTRAL or algo == MUON0:
        nuc = 0.0
        for k in range(layers.shape[0]):
            nuc += _layer_polar(g, layers, k, out)
        if algo == SPECTRAL:
            for j in range(d):
                out[j] *= nuc
        return nuc
    for j in range(d):
        out[j] = g[j]
    return norm(g)


@njit(cache=True)
def step_size(hyper, t, seed, gap, dual, normalized):
    return schedule_step(int(hyper[H_SCHEDULE]), hyper[H_ALPHA0], hyper[H_POWER], hyper[H_AMAX], t, seed, 0,
                         gap, dual, normalized)


@njit(cache=True)
def _observe(x, f, g, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st):
    return observe_values(x, f, norm(g), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True)
def steepest_trajectory(algo, H, layers, blocks, hyper, x0, seed, target, rounds, rec_rounds,
                        out_x, out_loss, out_gnorm, st):
    """One configuration for ``rounds`` steps; record at ``rec_rounds`` (sorted, with 0 and the last)."""
    d = x0.shape[0]
    b = hyper[H_BETA]
    flow = hyper[H_FLOWER]
    x = x0.copy()
    g = np.empty(d)
    D = np.empty(d)
    v = np.zeros(d)
    init_stats(st)
    f = quadratic_loss_grad(x, H, g)
    p = _observe(x, f, g, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st)
    for t in range(rounds):
        if p < 0:
            break
        dual = direction(algo, g, layers, blocks, D)
        if int(hyper[H_SCHEDULE]) == POLYAK:
            eta = step_size(hyper, t, seed, f - flow, dual, algo == SIGN or algo == MUON0)
        else:
            eta = step_size(hyper, t, seed, 0.0, 0.0, True)
        if algo == HEAVY_BALL or algo == NESTEROV:
            for j in range(d):
                v[j] = b * v[j] + g[j]
                x[j] -= eta * (v[j] if algo == HEAVY_BALL else g[j] + b * v[j])
        else:
            for j in range(d):
                x[j] -= eta * D[j]
        f = quadratic_loss_grad(x, H, g)
        p = _observe(x, f, g, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, H, layers, blocks, hyper, x0, seeds, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over quadratic configurations that share one instance (``H``, ``layers``, ``blocks``)."""
    for c in prange(hyper.shape[0]):
        steepest_trajectory(algo, H, layers, blocks, hyper[c], x0[c], seeds[c], target[c],
                            rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])


def _polar_direction(algo, g, layers, out):
    """:func:`direction` for SPECTRAL and MUON0 with NumPy's SVD (on the MLP path: Numba's LAPACK is a second
    OpenBLAS whose spinning threads slow NumPy's matrix products down several times when both run)."""
    nuc = 0.0
    for off, m, n in layers:
        U, s, Vt = np.linalg.svd(g[off:off + m * n].reshape(m, n), full_matrices=False)
        nuc += s.sum()
        k = int(np.sum(s > RANK_RTOL * s[0])) if s.size and s[0] > 0 else 0
        out[off:off + m * n] = (U[:, :k] @ Vt[:k]).ravel()
    if algo == SPECTRAL:
        out *= nuc
    return nuc


def mlp_trajectory(algo, problem, hyper, x0, seed, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, st):
    """The MLP's trajectory: :func:`steepest_trajectory` step for step, with the NumPy gradient."""
    from .mlp import loss_grad as mlp_loss_grad
    X, Y, widths, layers, blocks = problem.X, problem.Y, problem.widths, problem.layers, problem.blocks
    d = x0.shape[0]
    b = hyper[H_BETA]
    x = x0.copy()
    D = np.empty(d)
    v = np.zeros(d)
    init_stats(st)
    with np.errstate(over="ignore", invalid="ignore"):
        f, g = mlp_loss_grad(x, X, Y, widths)
        p = _observe(x, f, g, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st)
        for t in range(rounds):
            if p < 0:
                break
            dual = _polar_direction(algo, g, layers, D) if algo in (SPECTRAL, MUON0) else \
                direction(algo, g, layers, blocks, D)
            if int(hyper[H_SCHEDULE]) == POLYAK:
                eta = step_size(hyper, t, seed, f - hyper[H_FLOWER], dual, algo == SIGN or algo == MUON0)
            else:
                eta = step_size(hyper, t, seed, 0.0, 0.0, True)
            if algo == HEAVY_BALL or algo == NESTEROV:
                v *= b
                v += g
                x -= eta * (v if algo == HEAVY_BALL else g + b * v)
            else:
                x -= eta * D
            f, g = mlp_loss_grad(x, X, Y, widths)
            p = _observe(x, f, g, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


def one_blas_thread():
    """BLAS on one thread for the MLP's small products (512 x 64): on a 2-core machine a second OpenBLAS
    thread spin-waits against Numba's OpenMP threads and other processes, and one step then takes tens of
    milliseconds instead of a fraction of one (measured: benchmarks/README.md, bench_eos.py)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def accepts(problem):
    """The runner's compatibility test: the edge-of-stability instances (``problems/eos_mlp.py``)."""
    return hasattr(problem, "model") and hasattr(problem, "layers")


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra=None):
    """The runner's hook: group the configurations by instance, run :func:`batch` on each group."""
    from ..errors import TheoryBenchError
    if backend != "numba":
        raise TheoryBenchError(f"algorithm {alg.name!r} runs on backend='numba' only, got {backend!r}")
    n = len(problems)
    d = max(p.dim for p in problems)
    out_x = np.full((n, rec.size, d), np.nan)
    out_l = np.full((n, rec.size), np.nan)
    out_g = np.full((n, rec.size), np.nan)
    out_s = np.zeros((n, N_STATS))
    targets = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=np.float64), (n,))
    groups = {}
    for c, p in enumerate(problems):
        groups.setdefault(id(p), []).append(c)
    for idx in groups.values():
        idx = np.asarray(idx)
        p = problems[idx[0]]
        hyper = np.ascontiguousarray(np.stack([alg.pack(settings[c]) for c in idx]))
        x0 = np.ascontiguousarray(np.stack([np.asarray(x0s[c], dtype=np.float64).reshape(p.dim) for c in idx]))
        sd = np.asarray([seeds[c] for c in idx], dtype=np.int64)
        if (sd < 0).any():
            raise TheoryBenchError("parameter 'seed' must be a non-negative integer")
        ox = np.empty((idx.size, rec.size, p.dim))
        ol = np.empty((idx.size, rec.size))
        og = np.empty((idx.size, rec.size))
        os_ = np.empty((idx.size, N_STATS))
        tg = np.ascontiguousarray(targets[idx])
        if p.model == MLP:
            with one_blas_thread():
                for k in range(idx.size):
                        mlp_trajectory(alg.code, p, hyper[k], x0[k], int(sd[k]), float(tg[k]), int(rounds), rec,
                                   ox[k], ol[k], og[k], os_[k])
        else:
            batch(alg.code, p.H, p.layers, p.blocks, hyper, x0, sd, tg, int(rounds), rec, ox, ol, og, os_)
        out_x[idx, :, :p.dim] = ox
        out_l[idx] = ol
        out_g[idx] = og
        out_s[idx] = os_
    return rec, out_x, out_l, out_g, out_s


__all__ = ["SLOTS", "DEFAULTS", "SCHEDULES", "batch", "quadratic_loss_grad", "mlp_trajectory", "direction", "accepts", "run_batch_group"]
