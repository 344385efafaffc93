"""Steepest descent in a norm, and momentum GD, for the edge of stability (Islamov, Crawshaw, Cohen, Gower, arXiv
2603.05002; Cohen et al., ICLR 2021) on the vector template (``theorybench.declare_vector``): the names and
hyperparameters of ``theorybench.methods.steepest`` (one ``Param`` each, shared), one step piece per method (no
dispatch on a method code), run on every instance whose family gives f and grad f and, for the methods that use
the geometry, the arrays ``layers`` (rows ``(offset, rows, cols)``: the matrices ``W_l``, consecutive row-major
pieces of w) and ``blocks`` (offsets of greedy block CD's blocks): ``problems/psd_quadratic.py``. The norms:
docs/conventions.md, section "Non-Euclidean geometry".

Notation: ``g_t = grad f(w_t)`` (``theorybench.oracle.gradient``), step ``eta_t`` from the schedule::

    gd               w <- w - eta_t g                                    (l2; registered as steepest-gd, below)
    linf-descent     w <- w - eta_t ||g||_1 sign(g)                      (unnormalized: g#)
    sign-gd          w <- w - eta_t sign(g)                              (normalized: lmo(g); sign(0) = 0)
    block-cd         w_b* <- w_b* - eta_t g_b*, b* = argmax_b ||g_b||    (the first on ties; other blocks kept)
    spectral-gd      W_l <- W_l - eta_t (sum_k ||G_k||_nuc) polar(G_l)   (max_l ||W_l||_op, unnormalized)
    muon-nomomentum  W_l <- W_l - eta_t polar(G_l)                        (normalized)
    heavy-ball       v <- b v + g; w <- w - eta_t v                      (PyTorch SGD momentum, v_{-1} = 0)
    nesterov         v <- b v + g; w <- w - eta_t (g + b v)              (PyTorch Nesterov)

polar drops singular values ``<= 1e-10 s_max`` (``kernels.muon.svd_polar``). Schedules (``schedule``, a choice:
its index in ``("constant", "power", "polyak", "random")``, ``kernels.muon.schedule_step`` on stream 0):
``eta``; ``eta/(t+1)^power``; Polyak ``(f(w_t) - f_lower)/||g_t||_*`` for the normalized methods (sign-gd,
muon-nomomentum), ``/||g_t||_*^2`` for the others, capped at ``alpha_max`` (0 when ``||g_t||_* = 0``; dual
norms: l2 for gd and the momentum methods, l1 for linf-descent and sign-gd, ``max_b ||g_b||`` for block-cd,
``sum_l ||G_l||_nuc`` for spectral-gd and muon-nomomentum); random ``eta u_t``, ``u_t = 1 - uniform01(seed, 0,
t)`` in (0, 1].

The arithmetic is the former steepest kernel's, operation for operation, and the SVD the same LAPACK call: the
trajectories are bit-identical (``tests/test_steepest_vector.py``). The direction and schedule helpers
(:func:`sd_linf_direction`, :func:`sd_sign_direction`, :func:`sd_block_direction`, :func:`sd_schedule`) are also
what the NumPy driver ``theorybench.kernels.steepest`` calls for models that supply a NumPy gradient (the tanh
MLP), so the quadratic and the MLP take the same steps.

``gd``: the vector template's ``gd`` is the single-machine one (``methods.first_order_vector``: its random
schedule draws on stream 2^21). On the ``psd-quadratic`` family ``gd`` keeps this module's conventions: the
step piece is registered as ``steepest-gd``, and the variant ``gd`` whose kernel is this module
(:func:`accepts`, :func:`run_batch_group`) runs it there; the runner tries that variant first (a variant that
accepts only these families cannot take another instance from the other ``gd`` variants)."""
from dataclasses import replace

import numpy as np
from numba import njit

from theorybench.algorithms import VARIANTS, Algorithm, register_algorithm
from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod, VectorProblem
from theorybench.kernels.common import norm
from theorybench.kernels.muon import schedule_step, svd_polar
from theorybench.methods.steepest import _BETA, _COMMON, _REF, _SCHED
from theorybench.oracle import gradient, value

SD_POLYAK = 2  # the index of "polyak" in _SCHED.choices (= kernels.muon.POLYAK)
assert _SCHED.choices == ("constant", "power", "polyak", "random")


# ---------------------------------------------------------------- directions and the schedule

@njit(cache=True)
def sd_schedule(schedule, eta, power, alpha_max, t, seed, gap, dual, normalized):
    """``eta_t`` (module docstring) from the Polyak step's ``gap = f(w_t) - f_lower`` and ``dual = ||g_t||_*``."""
    return schedule_step(schedule, eta, power, alpha_max, t, seed, 0, gap, dual, normalized)


@njit(cache=True)
def sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, normalized):
    """:func:`sd_schedule` with the Polyak gap ``f(w_t) - f_lower`` from the oracle (evaluated for Polyak only)."""
    if schedule == SD_POLYAK:
        return sd_schedule(schedule, eta, power, alpha_max, t, seed, value(prob, x) - f_lower, dual, normalized)
    return sd_schedule(schedule, eta, power, alpha_max, t, seed, 0.0, 0.0, True)


@njit(cache=True)
def sd_linf_direction(g, out):
    """``out = ||g||_1 sign(g)`` (l_inf steepest descent, g#); returns ``||g||_1``."""
    d = g.shape[0]
    s = 0.0
    for j in range(d):
        s += abs(g[j])
    for j in range(d):
        v = 1.0 if g[j] > 0.0 else (-1.0 if g[j] < 0.0 else 0.0)
        out[j] = v * s
    return s


@njit(cache=True)
def sd_sign_direction(g, out):
    """``out = sign(g)`` (sign(0) = 0); returns ``||g||_1``."""
    d = g.shape[0]
    s = 0.0
    for j in range(d):
        s += abs(g[j])
    for j in range(d):
        out[j] = 1.0 if g[j] > 0.0 else (-1.0 if g[j] < 0.0 else 0.0)
    return s


@njit(cache=True)
def sd_block_direction(g, blocks, out):
    """``out = g`` on the block ``b*`` with the largest ``||g_b||`` (the first on ties), 0 elsewhere; returns
    ``max_b ||g_b||``."""
    best, bb = -1.0, 0
    for b in range(blocks.shape[0] - 1):
        nb = norm(g[blocks[b]:blocks[b + 1]])
        if nb > best:
            best, bb = nb, b
    for j in range(g.shape[0]):
        out[j] = 0.0
    for j in range(blocks[bb], blocks[bb + 1]):
        out[j] = g[j]
    return best


@njit(cache=True)
def sd_layer_polar(g, layers, k, out):
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
def sd_polar_direction(g, layers, out, scaled):
    """``out = polar(G_l)`` layer by layer, times ``sum_l ||G_l||_nuc`` when ``scaled`` (spectral GD); returns
    that sum."""
    nuc = 0.0
    for k in range(layers.shape[0]):
        nuc += sd_layer_polar(g, layers, k, out)
    if scaled:
        for j in range(g.shape[0]):
            out[j] *= nuc
    return nuc


@njit(cache=True)
def sd_apply(x, D, e):
    for j in range(x.shape[0]):
        x[j] -= e * D[j]


# ---------------------------------------------------------------- the steps

@njit(cache=True)
def sd_gd_step(x, t, seed, prob, G, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    e = sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x,
               norm(G) if schedule == SD_POLYAK else 0.0, False)
    sd_apply(x, G, e)


@njit(cache=True)
def sd_linf_step(x, t, seed, prob, G, D, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    dual = sd_linf_direction(G, D)
    sd_apply(x, D, sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, False))


@njit(cache=True)
def sd_sign_step(x, t, seed, prob, G, D, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    dual = sd_sign_direction(G, D)
    sd_apply(x, D, sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, True))


@njit(cache=True)
def sd_block_step(x, t, seed, prob, G, D, blocks, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    dual = sd_block_direction(G, blocks, D)
    sd_apply(x, D, sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, False))


@njit(cache=True)
def sd_spectral_step(x, t, seed, prob, G, D, layers, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    dual = sd_polar_direction(G, layers, D, True)
    sd_apply(x, D, sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, False))


@njit(cache=True)
def sd_muon0_step(x, t, seed, prob, G, D, layers, eta, schedule, power, f_lower, alpha_max):
    gradient(prob, x, G)
    dual = sd_polar_direction(G, layers, D, False)
    sd_apply(x, D, sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, dual, True))


@njit(cache=True)
def sd_heavy_ball_step(x, t, seed, prob, G, V, eta, schedule, power, f_lower, alpha_max, beta):
    gradient(prob, x, G)
    e = sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x,
               norm(G) if schedule == SD_POLYAK else 0.0, False)
    for j in range(x.shape[0]):
        V[j] = beta * V[j] + G[j]
        x[j] -= e * V[j]


@njit(cache=True)
def sd_nesterov_step(x, t, seed, prob, G, V, eta, schedule, power, f_lower, alpha_max, beta):
    gradient(prob, x, G)
    e = sd_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x,
               norm(G) if schedule == SD_POLYAK else 0.0, False)
    for j in range(x.shape[0]):
        V[j] = beta * V[j] + G[j]
        x[j] -= e * (G[j] + beta * V[j])


# ---------------------------------------------------------------- the methods

_G, _D, _V = ("G", ("d",)), ("D", ("d",)), ("V", ("d",))


def _method(name, params, step, state, doc, ref=_REF):
    return register_method(VectorMethod(name, params, step, state=state, doc=doc, reference=ref))


STEEPEST_GD = _method("steepest-gd", _COMMON, sd_gd_step, (_G,),
                      "Gradient descent w <- w - eta g (steepest descent in l2) with the edge-of-stability "
                      "methods' schedules (random on stream 0); `gd` on psd-quadratic runs it.",
                      "Cohen et al., ICLR 2021")
LINF = _method("linf-descent", _COMMON, sd_linf_step, (_G, _D),
               "l_inf steepest descent w <- w - eta ||g||_1 sign(g) (unnormalized: the sharp operator g#).")
SIGN = _method("sign-gd", _COMMON, sd_sign_step, (_G, _D),
               "SignGD w <- w - eta sign(g) (normalized l_inf; sign(0) = 0).")
BLOCK_CD = _method("block-cd", _COMMON, sd_block_step, (_G, _D),
                   "Greedy block CD w_b* <- w_b* - eta g_b*, b* = argmax_b ||g_b|| (steepest descent in sum_b "
                   "||w_b||; blocks: the instance's array blocks).")
SPECTRAL = _method("spectral-gd", _COMMON, sd_spectral_step, (_G, _D),
                   "Layer-wise spectral GD W_l <- W_l - eta (sum_k ||G_k||_nuc) polar(G_l) (steepest descent in "
                   "max_l ||W_l||_op, unnormalized; layers: the instance's array layers).")
MUON0 = _method("muon-nomomentum", _COMMON, sd_muon0_step, (_G, _D),
                "Muon without momentum W_l <- W_l - eta polar(G_l) (normalized layer-wise spectral).")
HEAVY_BALL = _method("heavy-ball", _COMMON + (_BETA,), sd_heavy_ball_step, (_G, _V),
                     "Heavy ball, PyTorch SGD momentum: v <- b v + g; w <- w - eta v.", "Polyak 1964; PyTorch SGD")
NESTEROV = _method("nesterov", _COMMON + (_BETA,), sd_nesterov_step, (_G, _V),
                   "Nesterov, PyTorch parametrisation: v <- b v + g; w <- w - eta (g + b v).",
                   "Nesterov 1983; PyTorch SGD(nesterov=True)")

# the vector method behind each name of methods/steepest.py on the vector template
METHODS = {"gd": STEEPEST_GD, "linf-descent": LINF, "sign-gd": SIGN, "block-cd": BLOCK_CD, "spectral-gd": SPECTRAL,
           "muon-nomomentum": MUON0, "heavy-ball": HEAVY_BALL, "nesterov": NESTEROV}


# ---------------------------------------------------------------- `gd` on these families (a kernel hook)

GD_FAMILIES = ("psd-quadratic",)  # families where `gd` means steepest-gd (this module's conventions)
TAKES_GRIDS = True
SLOTS = ()
DEFAULTS = {}


def accepts(problem):
    """The ``gd`` variant of this module runs the instances of :data:`GD_FAMILIES`."""
    return isinstance(problem, VectorProblem) and problem.family_name in GD_FAMILIES


def stat_names_for(alg):
    from theorybench.compose_vector import stat_names
    return stat_names(STEEPEST_GD)


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra, stats="all"):
    """The runner's hook for ``gd`` on :data:`GD_FAMILIES`: the composed kernel of ``steepest-gd``."""
    from theorybench import compose_vector
    return compose_vector.run_batch_group(replace(alg, name=STEEPEST_GD.name, kernel="vector"), problems, settings,
                                          seeds, rounds, rec, x0s, targets, backend, extra, stats=stats)


GD_VARIANT = register_algorithm(Algorithm("gd", __name__, -1, _COMMON,
                                          "Gradient descent w <- w - eta g (steepest descent in l2).",
                                          "Cohen et al., ICLR 2021"))
VARIANTS["gd"] = [GD_VARIANT] + [a for a in VARIANTS["gd"] if a is not GD_VARIANT]
