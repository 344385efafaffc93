"""The single-machine methods of ``theorybench.methods.single`` (Polyak, AdGD, the sign and adaptive methods,
EF21) on the vector template (``theorybench.declare_vector``): the same names and hyperparameters, as variants
that run on every vector-template instance whose family declares ``client_grad`` (the instances of
``problems/smooth_polynomials.py``, ``quadratic-clients``, a user's). The runner picks the variant whose kernel
takes the problem. The arithmetic is the single kernel's, operation for operation, so the trajectories are the
same numbers. Every division has a denominator that cannot be 0 or is guarded (``fo_eta`` spells out IEEE's
m/0), so no step raises under Numba's default error model.

Oracle (the single kernel's): ``g_t = (1/n) sum_i (grad f_i(x_t) + z_i)``, client i's draw on stream i at
counter t (``theorybench.oracle.client_stochastic_gradient``; for one client, ``grad f(x_t) + z``). EF21 draws
at counter 0 in its ``init`` and at counter t + 1 in step t. ``||.||``: ``kernels.common.norm``.

Step schedules (the methods with a step ``eta``): ``schedule`` = constant (``eta``), power (``eta/(t+1)^power``),
random (``eta u_t``, ``u_t = 1 - uniform01(seed, 2^21, t)``) or polyak (``(f(x_t) - f_lower)/||g||^2``;
``/||g||_1`` for SignSGD), capped at ``alpha_max`` (``methods.first_order_vector.fo_eta``)::

    polyak                      x <- x - (f(x) - f_star)/||g||^2 g                (no step when g = 0)
    adgd                        Malitsky, Mishchenko 2020, Alg. 1 (state lam_{t-1}, theta_{t-1}, x_{t-1}, g_{t-1})
    generalized-signsgd         m = b1 m + (1-b1) g; v = b2 v + (1-b2) m^2; x <- x - eta m/(sqrt(v) + eps)
    signsgd                     x <- x - eta sign(g)
    signsgd-momentum            generalized-signsgd with b2 = 0
    adam                        bias-corrected Adam
    adagrad-norm                x <- x - eta g/sqrt(gamma^2 + sum_{s<=t} ||g_s||^2)   (decorrelated: s < t)
    adagrad                     per coordinate, sums of g_{s,j}^2                       (decorrelated: s < t)
    ef21                        x <- x - eta g; c_i = C(grad f_i(x) - g_i); g_i += c_i; g = mean_i g_i
                                (g_i^0 = grad f_i(x_0); C: Top-k, ties to the lower index, or unscaled Rand-k
                                on stream 2^20 + i, counter t)

normalized-ef21 (``x <- x - gamma0/sqrt(T + 1) g/||g||`` (no step when g = 0), then EF21's update) needs the run's
horizon T, which the vector template does not hand to a method's pieces yet: it is declared here against the
fixed argument name ``steps`` and registered only when ``declare_vector.FIXED`` has that name (until then it runs
on the single kernel)."""
import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import FIXED, VectorMethod
from theorybench.kernels.common import norm
from theorybench.methods.first_order_vector import fo_eta
from theorybench.methods.single import (BETA1, BETA2, COMPRESSOR, EPS, ETA, ETA_EF, F_STAR, GAMMA0, GAMMA_ADA, K, LAMBDA0,
                                        SCHEDULE)
from theorybench.oracle import client_stochastic_gradient, value
from theorybench.rng import uniform01

SV_RANDK_STREAM = 1 << 20     # Rand-k of client i: stream 2^20 + i (kernels.single.RANDK_STREAM)


@njit(cache=True, inline="always")
def sv_oracle(prob, x, g, gtmp, seed, n, counter):
    """``g = (1/n) sum_i (grad f_i(x) + z_i)``, client i's draw ``counter`` on stream i."""
    d = x.shape[0]
    for j in range(d):
        g[j] = 0.0
    for i in range(n):
        client_stochastic_gradient(prob, i, x, gtmp, seed, i, counter)
        for j in range(d):
            g[j] += gtmp[j]
    for j in range(d):
        g[j] /= n


@njit(cache=True)
def sv_compress(v, k, kind, seed, stream, counter, out, idx):
    """``out = C(v)``: Top-k (kind 0; ties: lower index) or unscaled Rand-k (kind 1, partial Fisher-Yates on
    the uniforms at ``counter d + q``); ``idx`` is scratch of length d (indices held as floats)."""
    d = v.shape[0]
    for j in range(d):
        out[j] = 0.0
        idx[j] = j
    k = min(k, d)
    if kind == 0:
        for q in range(k):  # selection: the largest remaining |v_j| (ties: lower index)
            best = q
            for r in range(q + 1, d):
                a, b = int(idx[r]), int(idx[best])
                if abs(v[a]) > abs(v[b]) or (abs(v[a]) == abs(v[b]) and a < b):
                    best = r
            t = idx[q]
            idx[q] = idx[best]
            idx[best] = t
            out[int(idx[q])] = v[int(idx[q])]
    else:
        for q in range(k):
            r = q + int(uniform01(seed, stream, counter * d + q) * (d - q))
            t = idx[q]
            idx[q] = idx[r]
            idx[r] = t
            out[int(idx[q])] = v[int(idx[q])]


# ------------------------------------------------------------------ Polyak, AdGD

@njit(cache=True, inline="always")
def sv_polyak_step(x, t, seed, prob, n, g, gtmp, f_star):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    gn = norm(g)
    if gn > 0.0:
        fx = value(prob, x)
        if gn * gn > 0.0:
            s = (fx - f_star) / (gn * gn)
            for j in range(x.shape[0]):
                x[j] -= s * g[j]


@njit(cache=True, inline="always")
def sv_adgd_init(lt, lambda0):
    lt[0] = lambda0  # lambda_{t-1}
    lt[1] = np.inf   # theta_{t-1}


@njit(cache=True, inline="always")
def sv_adgd_step(x, t, seed, prob, n, g, gtmp, xprev, gprev, lt):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    lam_prev = lt[0]
    if t == 0:
        lam = lam_prev
    else:
        dx = 0.0
        dg = 0.0
        for j in range(x.shape[0]):
            dx += (x[j] - xprev[j]) ** 2
            dg += (g[j] - gprev[j]) ** 2
        a = np.sqrt(1.0 + lt[1]) * lam_prev
        b = np.sqrt(dx) / (2.0 * np.sqrt(dg)) if dg > 0.0 else np.inf
        lam = min(a, b)
        if not np.isfinite(lam):
            lam = lam_prev
        lt[1] = lam / lam_prev if lam_prev > 0.0 else np.inf
    for j in range(x.shape[0]):
        xprev[j] = x[j]
        gprev[j] = g[j]
        x[j] -= lam * g[j]
    lt[0] = lam


# ------------------------------------------------------------------ sign methods and Adam

@njit(cache=True, inline="always")
def sv_momentum_sign(x, g, m, v, eta, b1, b2, eps):
    for j in range(x.shape[0]):
        m[j] = b1 * m[j] + (1.0 - b1) * g[j]
        v[j] = b2 * v[j] + (1.0 - b2) * m[j] * m[j]
        den = np.sqrt(v[j]) + eps
        if den > 0.0:
            x[j] -= eta * m[j] / den


@njit(cache=True, inline="always")
def sv_gen_signsgd_step(x, t, seed, prob, n, g, gtmp, m, v, eta, beta1, beta2, eps, schedule, power, f_lower,
                        alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    sv_momentum_sign(x, g, m, v, e, beta1, beta2, eps)


@njit(cache=True, inline="always")
def sv_signsgd_momentum_step(x, t, seed, prob, n, g, gtmp, m, v, eta, beta1, eps, schedule, power, f_lower,
                             alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    sv_momentum_sign(x, g, m, v, e, beta1, 0.0, eps)


@njit(cache=True, inline="always")
def sv_signsgd_step(x, t, seed, prob, n, g, gtmp, eta, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, True)
    for j in range(x.shape[0]):
        if g[j] > 0.0:
            x[j] -= e
        elif g[j] < 0.0:
            x[j] += e


@njit(cache=True, inline="always")
def sv_adam_step(x, t, seed, prob, n, g, gtmp, m, v, eta, beta1, beta2, eps, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    c1 = 1.0 - beta1 ** (t + 1)
    c2 = 1.0 - beta2 ** (t + 1)
    for j in range(x.shape[0]):
        m[j] = beta1 * m[j] + (1.0 - beta1) * g[j]
        v[j] = beta2 * v[j] + (1.0 - beta2) * g[j] * g[j]
        den = np.sqrt(v[j] / c2) + eps
        if den > 0.0:
            x[j] -= e * (m[j] / c1) / den


# ------------------------------------------------------------------ AdaGrad

@njit(cache=True, inline="always")
def sv_adagrad_norm_init(acc, gamma):
    acc[0] = gamma * gamma


@njit(cache=True, inline="always")
def sv_adagrad_norm_step(x, t, seed, prob, n, g, gtmp, acc, eta, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    gn = norm(g)
    acc[0] += gn * gn
    den = np.sqrt(acc[0])
    if den > 0.0:
        for j in range(x.shape[0]):
            x[j] -= e * g[j] / den


@njit(cache=True, inline="always")
def sv_dec_adagrad_norm_step(x, t, seed, prob, n, g, gtmp, acc, eta, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    gn = norm(g)
    den = np.sqrt(acc[0])
    if den > 0.0:
        for j in range(x.shape[0]):
            x[j] -= e * g[j] / den
    acc[0] += gn * gn


@njit(cache=True, inline="always")
def sv_adagrad_step(x, t, seed, prob, n, g, gtmp, v, eta, gamma, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    for j in range(x.shape[0]):
        v[j] += g[j] * g[j]
        den = np.sqrt(gamma * gamma + v[j])
        if den > 0.0:
            x[j] -= e * g[j] / den


@njit(cache=True, inline="always")
def sv_dec_adagrad_step(x, t, seed, prob, n, g, gtmp, v, eta, gamma, schedule, power, f_lower, alpha_max):
    sv_oracle(prob, x, g, gtmp, seed, n, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    for j in range(x.shape[0]):
        den = np.sqrt(gamma * gamma + v[j])
        if den > 0.0:
            x[j] -= e * g[j] / den
        v[j] += g[j] * g[j]


# ------------------------------------------------------------------ EF21

@njit(cache=True, inline="always")
def sv_mean_rows(gi, acc, n):
    for j in range(acc.shape[0]):
        acc[j] = 0.0
        for i in range(n):
            acc[j] += gi[i, j]
        acc[j] /= n


@njit(cache=True, inline="always")
def sv_ef21_init(x, seed, prob, n, gi, acc, gtmp):
    for i in range(n):
        client_stochastic_gradient(prob, i, x, gtmp, seed, i, 0)
        for j in range(x.shape[0]):
            gi[i, j] = gtmp[j]
    sv_mean_rows(gi, acc, n)


@njit(cache=True, inline="always")
def sv_ef21_update(x, t, seed, prob, n, gi, acc, gtmp, cvec, idx, k, compressor):
    """Every client sends ``c_i = C(grad f_i(x) + z_i - g_i)`` (draw t + 1), ``g_i += c_i``, ``acc = mean_i g_i``."""
    d = x.shape[0]
    for i in range(n):
        client_stochastic_gradient(prob, i, x, gtmp, seed, i, t + 1)
        for j in range(d):
            gtmp[j] -= gi[i, j]
        sv_compress(gtmp, k, compressor, seed, SV_RANDK_STREAM + i, t, cvec, idx)
        for j in range(d):
            gi[i, j] += cvec[j]
    sv_mean_rows(gi, acc, n)


@njit(cache=True, inline="always")
def sv_nef21_step(x, t, seed, prob, n, steps, gi, acc, gtmp, cvec, idx, gamma0, k, compressor):
    gn = norm(acc)
    if gn > 0.0:
        s = gamma0 / np.sqrt(steps + 1.0)
        for j in range(x.shape[0]):
            x[j] -= s * (acc[j] / gn)
    sv_ef21_update(x, t, seed, prob, n, gi, acc, gtmp, cvec, idx, k, compressor)


@njit(cache=True, inline="always")
def sv_ef21_step(x, t, seed, prob, n, gi, acc, gtmp, cvec, idx, eta, k, compressor, schedule, power, f_lower,
                 alpha_max):
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, acc, False)
    for j in range(x.shape[0]):
        x[j] -= e * acc[j]
    sv_ef21_update(x, t, seed, prob, n, gi, acc, gtmp, cvec, idx, k, compressor)


_G = (("g", ("d",)), ("gtmp", ("d",)))
_MV = _G + (("m", ("d",)), ("v", ("d",)))
_REG = []


def _method(name, params, step, state, init=None, doc="", reference=""):
    _REG.append(register_method(VectorMethod(name, tuple(params), step, state=state, init=init, doc=doc,
                                             reference=reference)))


_method("polyak", (F_STAR,), sv_polyak_step, _G, doc="Polyak stepsize eta_k = (f(x_k) - f*)/||g_k||^2.",
        reference="Polyak 1987; Gorbunov et al. arXiv 2409.14989")
_method("adgd", (LAMBDA0,), sv_adgd_step, _G + (("xprev", ("d",)), ("gprev", ("d",)), ("lt", (2,))), sv_adgd_init,
        doc="AdGD: lambda_k = min(sqrt(1 + theta_{k-1}) lambda_{k-1}, ||x_k - x_{k-1}||/(2||g_k - g_{k-1}||)).",
        reference="Malitsky, Mishchenko, ICML 2020")
_method("generalized-signsgd", (ETA, BETA1, BETA2, EPS) + SCHEDULE, sv_gen_signsgd_step, _MV,
        doc="Generalized SignSGD: m = b1 m + (1-b1) g; v = b2 v + (1-b2) m^2; x <- x - eta m/(sqrt(v) + eps).",
        reference="Crawshaw, Liu, Orabona, Zhang, Zhuang, NeurIPS 2022 (authors' code)")
_method("signsgd", (ETA,) + SCHEDULE, sv_signsgd_step, _G, doc="SignSGD x <- x - eta sign(g) (sign(0) = 0).",
        reference="Bernstein et al. 2018")
_method("signsgd-momentum", (ETA, BETA1, EPS) + SCHEDULE, sv_signsgd_momentum_step, _MV,
        doc="SignSGD with momentum: generalized SignSGD with b2 = 0, x <- x - eta m/(|m| + eps).",
        reference="Crawshaw et al., NeurIPS 2022")
_method("adam", (ETA, BETA1, BETA2, EPS) + SCHEDULE, sv_adam_step, _MV, doc="Adam with bias correction.",
        reference="Kingma, Ba 2015")
_method("adagrad-norm", (ETA, GAMMA_ADA) + SCHEDULE, sv_adagrad_norm_step, _G + (("acc", (1,)),),
        sv_adagrad_norm_init, doc="AdaGrad-Norm x <- x - eta g_t/sqrt(gamma^2 + sum_{s<=t} ||g_s||^2).",
        reference="Ward, Wu, Bottou 2019")
_method("decorrelated-adagrad-norm", (ETA, GAMMA_ADA) + SCHEDULE, sv_dec_adagrad_norm_step, _G + (("acc", (1,)),),
        sv_adagrad_norm_init, doc="Decorrelated AdaGrad-Norm: the sum runs over s < t.",
        reference="Crawshaw, Liu, ICLR 2025")
_method("adagrad", (ETA, GAMMA_ADA) + SCHEDULE, sv_adagrad_step, _G + (("v", ("d",)),),
        doc="Coordinate AdaGrad x_j <- x_j - eta g_j/sqrt(gamma^2 + sum_{s<=t} g_{s,j}^2).",
        reference="Duchi et al. 2011")
_method("decorrelated-adagrad", (ETA, GAMMA_ADA) + SCHEDULE, sv_dec_adagrad_step, _G + (("v", ("d",)),),
        doc="Decorrelated coordinate AdaGrad: the sums run over s < t.", reference="Crawshaw, Liu, ICLR 2025")
_EF_STATE = (("gi", ("n", "d")), ("acc", ("d",)), ("gtmp", ("d",)), ("cvec", ("d",)), ("idx", ("d",)))
_method("ef21", (ETA_EF, K, COMPRESSOR) + SCHEDULE, sv_ef21_step, _EF_STATE, sv_ef21_init,
        doc="EF21: x <- x - eta g; clients send C(grad f_i(x) - g_i); g_i += c_i; g = mean g_i (g_i^0 = grad f_i(x0)).",
        reference="Richtarik, Sokolov, Fatkhullin, NeurIPS 2021")
HORIZON = "steps" in FIXED  # the template hands the run's horizon T to the pieces (module docstring)
if HORIZON:
    _method("normalized-ef21", (GAMMA0, K, COMPRESSOR), sv_nef21_step, _EF_STATE, sv_ef21_init,
            doc="Normalized EF21 (DERIVED indexing): x <- x - gamma0/sqrt(T+1) g/||g||, then EF21's compressed "
                "update.", reference="Khirirat et al. arXiv 2410.16871")
METHODS = tuple(_REG)
