"""The NumPy driver of the steepest-descent and momentum methods of the edge of stability (Islamov, Crawshaw,
Cohen, Gower, arXiv 2603.05002; Cohen et al., ICLR 2021) for models whose gradient is NumPy code: a problem
that supplies ``loss_grad(w) -> (f(w), grad f(w))`` and the geometry ``layers`` (int64 rows ``(offset, rows,
cols)``: the matrices ``W_l`` of the spectral methods, consecutive row-major pieces of w) and ``blocks``
(offsets of greedy block CD's blocks), and is not a vector-template instance (those run the composed kernels of
``theorybench.methods.steepest_vector``): the tanh MLP of ``problems/eos_mlp.py``. No model lives here.

Why a Python loop: the MLP's step is dense linear algebra plus ``tanh`` on 512 x 64 arrays, which NumPy's BLAS
and SIMD ``tanh`` do 4x faster than the same code compiled by Numba (libm ``tanh`` per element; measured, see
benchmarks/bench_eos.py). The step is BLAS-bound, so the loop dispatches on the method by name at run time
(:data:`KIND`); the directions and the schedule are the compiled helpers of ``methods.steepest_vector``
(``sd_linf_direction``, ``sd_sign_direction``, ``sd_block_direction``, ``sd_schedule``; ``kernels.common.norm``)
that the vector template's step pieces use, so a model here and a vector instance take the same steps. The polar
factors of spectral-gd and muon-nomomentum use NumPy's SVD (Numba's LAPACK is a second OpenBLAS whose spinning
threads slow NumPy's products down several times when both run), with the same rank rule (``kernels.muon``).
The methods, schedules and notation: ``theorybench.methods.steepest_vector``.

Recorded: ``loss`` f(w_t), ``grad_norm`` ``||g_t||_2``, the iterates at the record rounds, and the running
statistics of ``kernels.common.observe_values`` (f and g are computed every step anyway)."""
import numpy as np

from .common import N_STATS, init_stats, norm, observe_values
from .muon import POLYAK, RANK_RTOL, SCHEDULES

# the packed hyperparameters (``Algorithm.pack``): slot 0 is the base step eta
SLOTS = ("eta", "schedule", "power", "beta", "f_lower", "alpha_max")
DEFAULTS = {"eta": 0.01, "schedule": 0, "power": 0.5, "beta": 0.9, "f_lower": 0.0, "alpha_max": np.inf}
H_ETA, H_SCHEDULE, H_POWER, H_BETA, H_FLOWER, H_AMAX = range(6)

# method -> (direction, normalized Polyak step?, momentum): the dispatch of the loop below
KIND = {"gd": ("l2", False, None), "linf-descent": ("linf", False, None), "sign-gd": ("sign", True, None),
        "block-cd": ("block", False, None), "spectral-gd": ("spectral", False, None),
        "muon-nomomentum": ("muon", True, None), "heavy-ball": ("l2", False, "heavy-ball"),
        "nesterov": ("l2", False, "nesterov")}


def polar_direction(g, layers, out, scaled):
    """``out = polar(G_l)`` layer by layer (NumPy's SVD; singular values ``<= RANK_RTOL s_max`` dropped), times
    ``sum_l ||G_l||_nuc`` when ``scaled``; returns that sum."""
    nuc = 0.0
    for off, m, n in layers:
        U, s, Vt = np.linalg.svd(g[off:off + m * n].reshape(m, n), full_matrices=False)
        nuc += s.sum()
        k = int(np.sum(s > RANK_RTOL * s[0])) if s.size and s[0] > 0 else 0
        out[off:off + m * n] = (U[:, :k] @ Vt[:k]).ravel()
    if scaled:
        out *= nuc
    return nuc


def _direction(kind, g, layers, blocks, out):
    """The step direction ``out`` (``w <- w - eta_t out``) and the dual norm ``||g||_*``."""
    from ..methods.steepest_vector import sd_block_direction, sd_linf_direction, sd_sign_direction
    if kind == "linf":
        return sd_linf_direction(g, out)
    if kind == "sign":
        return sd_sign_direction(g, out)
    if kind == "block":
        return sd_block_direction(g, blocks, out)
    if kind in ("spectral", "muon"):
        return polar_direction(g, layers, out, kind == "spectral")
    out[:] = g
    return norm(g)


def _observe(x, f, g, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st):
    return observe_values(x, f, norm(g), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


def trajectory(name, problem, hyper, x0, seed, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, st):
    """One configuration of method ``name`` on ``problem`` (``loss_grad``, ``layers``, ``blocks``) for
    ``rounds`` steps; record at ``rec_rounds`` (sorted, with 0 and the last)."""
    from ..methods.steepest_vector import sd_schedule
    kind, normalized, momentum = KIND[name]
    layers, blocks = problem.layers, problem.blocks
    sched = int(hyper[H_SCHEDULE])
    eta0, power, amax, b, flow = hyper[H_ETA], hyper[H_POWER], hyper[H_AMAX], hyper[H_BETA], hyper[H_FLOWER]
    d = x0.shape[0]
    x = x0.copy()
    D = np.empty(d)
    v = np.zeros(d)
    init_stats(st)
    with np.errstate(over="ignore", invalid="ignore"):
        f, g = problem.loss_grad(x)
        p = _observe(x, f, g, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st)
        for t in range(rounds):
            if p < 0:
                break
            dual = _direction(kind, g, layers, blocks, D)
            if sched == POLYAK:
                eta = sd_schedule(sched, eta0, power, amax, t, seed, f - flow, dual, normalized)
            else:
                eta = sd_schedule(sched, eta0, power, amax, t, seed, 0.0, 0.0, True)
            if momentum is not None:
                v *= b
                v += g
                x -= eta * (v if momentum == "heavy-ball" else g + b * v)
            else:
                x -= eta * D
            f, g = problem.loss_grad(x)
            p = _observe(x, f, g, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


def one_blas_thread():
    """BLAS on one thread for the MLP's small products (512 x 64): on a 2-core machine a second OpenBLAS
    thread spin-waits against Numba's OpenMP threads and other processes, and one step then takes tens of
    milliseconds instead of a fraction of one (measured: benchmarks/README.md, bench_eos.py)."""
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


def accepts(problem):
    """The runner's compatibility test: a NumPy model (``loss_grad``) with the geometry ``layers`` and
    ``blocks`` that is not a vector-template instance (``problems/eos_mlp.py``'s tanh MLP)."""
    from ..declare_vector import VectorProblem
    return (not isinstance(problem, VectorProblem) and callable(getattr(problem, "loss_grad", None))
            and hasattr(problem, "layers") and hasattr(problem, "blocks"))


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra=None):
    """The runner's hook: one :func:`trajectory` per configuration (BLAS on one thread)."""
    from ..errors import TheoryBenchError
    if backend != "numba":
        raise TheoryBenchError(f"algorithm {alg.name!r} runs on backend='numba' only, got {backend!r}")
    if alg.name not in KIND:
        raise TheoryBenchError(f"the steepest-descent driver has no method {alg.name!r} (it has {', '.join(KIND)})")
    n = len(problems)
    d = max(p.dim for p in problems)
    out_x = np.full((n, rec.size, d), np.nan)
    out_l = np.full((n, rec.size), np.nan)
    out_g = np.full((n, rec.size), np.nan)
    out_s = np.zeros((n, N_STATS))
    targets = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=np.float64), (n,))
    sd = np.asarray(seeds, dtype=np.int64)
    if (sd < 0).any():
        raise TheoryBenchError("parameter 'seed' must be a non-negative integer")
    with one_blas_thread():
        for c, p in enumerate(problems):
            hyper = alg.pack(settings[c])
            x0 = np.ascontiguousarray(np.asarray(x0s[c], dtype=np.float64).reshape(p.dim))
            ox = np.empty((rec.size, p.dim))
            trajectory(alg.name, p, hyper, x0, int(sd[c]), float(targets[c]), int(rounds), rec, ox, out_l[c],
                       out_g[c], out_s[c])
            out_x[c, :, :p.dim] = ox
    return rec, out_x, out_l, out_g, out_s


__all__ = ["SLOTS", "DEFAULTS", "SCHEDULES", "KIND", "trajectory", "polar_direction", "accepts", "run_batch_group",
           "one_blas_thread"]
