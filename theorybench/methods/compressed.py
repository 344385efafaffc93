"""Unbiased compressors and compressed gradient methods: DCGD and DIANA (vector template).

**Compressors** ``Q: R^d -> R^d``, random, unbiased (``E Q(v) = v``) with variance parameter omega:
``E ||Q(v) - v||^2 <= omega ||v||^2``. Each draws one uniform per coordinate from ``theorybench.rng``:
compression number ``t`` of client ``i`` (of ``n``) uses stream ``n + i`` (streams ``0..n-1`` stay free for
gradient noise) and counters ``t d + j``, ``j = 0..d-1``.

=========== =========================================================== ==================================
name        Q(v)                                                        omega
=========== =========================================================== ==================================
``randk``   ``(d/k) v_j`` on a uniform k-subset S of coordinates, 0     ``d/k - 1`` (exact for every v)
            elsewhere (selection sampling, Knuth's Algorithm S)
``natural`` ``sign(v_j)`` times ``2^e`` or ``2^(e+1)`` (``2^e <= |v_j|     ``1/8`` (Horvath, Ho, Horvath,
            < 2^(e+1)``), the upper one with probability                Sahu, Canini, Richtarik 2019,
            ``|v_j|/2^e - 1``: natural compression                      "Natural compression ...")
``qsgd``    ``||v|| sign(v_j) xi_j / s``, ``xi_j`` = ``l`` or ``l + 1``   ``min(d/s^2, sqrt(d)/s)``
            (``l = floor(s |v_j|/||v||)``, ``l + 1`` with probability    (Alistarh, Grubic, Li, Tomioka,
            ``s |v_j|/||v|| - l``), s = ``levels``                      Vojnovic 2017, Lemma 3.1)
=========== =========================================================== ==================================

**Methods** on ``f = (1/n) sum_i f_i`` (a family with ``client_grad``; the instance's float ``L``, the
clients' common smoothness constant ``max_i L_i``, sets the default step):

- ``dcgd`` (distributed compressed gradient descent): ``x <- x - gamma (1/n) sum_i Q_i(grad f_i(x))``.
  Default step (``gamma = 0``): ``1/((1 + 2 omega/n) L)`` (Khaled, Richtarik 2019; Gorbunov, Hanzely,
  Richtarik, AISTATS 2020, the unified theory's A = (1 + 2 omega/n) L) [recalled]. With heterogeneous clients it
  converges only to a neighbourhood of x* whose squared radius is of order
  ``gamma (omega/n) (1/n) sum_i ||grad f_i(x*)||^2 / mu``.
- ``diana`` (Mishchenko, Gorbunov, Takac, Richtarik 2019, arXiv 1901.09269, Algorithm 1 without prox):
  each client keeps a shift ``h_i`` (state ``h``, shape (n, d), ``h_i^0 = 0``) and sends
  ``Delta_i = Q_i(grad f_i(x) - h_i)`` (one draw, used twice): ``g_i = h_i + Delta_i``,
  ``h_i <- h_i + alpha Delta_i``, ``x <- x - gamma (1/n) sum_i g_i``. Defaults (``0``): ``alpha = 1/(omega +
  1)`` and ``gamma = 1/((1 + 6 omega/n) L)``, for which ``E Psi_k <= (1 - min(gamma mu, alpha/2))^k Psi_0``
  with ``Psi = ||x - x*||^2 + (4 omega/(n alpha)) gamma^2 (1/n) sum_i ||h_i - h_i*||^2`` (``h_i* = grad
  f_i(x*)``): the strongly convex DIANA result in the unified form of Gorbunov, Hanzely, Richtarik, AISTATS
  2020 (A = (1 + 2 omega/n) L, B = 2 omega/n, rho = alpha, C = alpha L, M = 4 omega/(n alpha));
  iteration complexity ``max((1 + 6 omega/n) kappa, 2 (omega + 1)) log(1/eps)``, i.e. of order
  ``(kappa (1 + omega/n) + omega) log(1/eps)``. The h_i learn ``h_i*``, so the compression error vanishes at
  x* and DIANA converges linearly to x* itself. [recalled: the search tool did not reach the theorem's text;
  ``tests/test_compressed.py`` checks the contraction of Psi at this rate numerically on two instances, and
  both defaults stay hyperparameters.]

Gradients: ``grad f_i(x)`` plus the instance's noise model (``theorybench.oracle.client_stochastic_gradient``:
client i's draw t on stream i; exact gradients on an instance without noise). Both report the step and alpha
they used as the statistics ``gamma_used`` and ``alpha_used``.
Hyperparameters: ``gamma`` (0: the default above), ``alpha`` (DIANA; 0: ``1/(omega + 1)``),
``compression`` (``randk``, ``natural``, ``qsgd``), ``k`` (rand-k, ``1 <= k <= d``), ``levels`` (QSGD's s).
"""
import math

import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.errors import TheoryBenchError
from theorybench.oracle import client_stochastic_gradient
from theorybench.params import Param
from theorybench.rng import uniform01

COMPRESSORS = ("randk", "natural", "qsgd")   # the codes 0, 1, 2 of the hyperparameter ``compression``
CQ_RANDK = 0
CQ_NATURAL = 1
CQ_QSGD = 2


@njit(cache=True)
def cq_randk(v, out, k, seed, stream, counter0):
    """rand-k: ``out = (d/k) v`` on a uniform k-subset (selection sampling: coordinate j is kept with
    probability (k - kept so far)/(d - j), uniform ``counter0 + j``), 0 elsewhere."""
    d = v.shape[0]
    need = k
    scale = d / k
    for j in range(d):
        if need > 0 and uniform01(seed, stream, counter0 + j) * (d - j) < need:
            out[j] = scale * v[j]
            need -= 1
        else:
            out[j] = 0.0


@njit(cache=True)
def cq_natural(v, out, seed, stream, counter0):
    """Natural compression: ``|v_j|`` in ``[2^e, 2^(e+1))`` goes to ``2^(e+1)`` with probability
    ``|v_j|/2^e - 1`` (uniform ``counter0 + j``), else to ``2^e``; the sign is kept; 0 stays 0."""
    d = v.shape[0]
    for j in range(d):
        a = abs(v[j])
        if a == 0.0 or not (a < np.inf):
            out[j] = v[j]
            continue
        m, e = math.frexp(a)          # a = m 2^e, m in [1/2, 1)
        lo = math.ldexp(1.0, e - 1)   # 2^(e-1) <= a < 2^e
        p = a / lo - 1.0              # exact: a/lo in [1, 2)
        q = 2.0 * lo if uniform01(seed, stream, counter0 + j) < p else lo
        out[j] = q if v[j] > 0.0 else -q


@njit(cache=True)
def cq_qsgd(v, out, levels, seed, stream, counter0):
    """QSGD with s = ``levels``: ``out_j = ||v|| sign(v_j) xi_j / s``, ``xi_j = l + 1`` with probability
    ``r - l`` (``r = s |v_j| / ||v||``, ``l = floor(r)``, uniform ``counter0 + j``), else ``l``."""
    d = v.shape[0]
    nrm = 0.0
    for j in range(d):
        nrm += v[j] * v[j]
    nrm = math.sqrt(nrm)
    if nrm == 0.0:
        for j in range(d):
            out[j] = 0.0
        return
    for j in range(d):
        r = levels * abs(v[j]) / nrm
        lv = math.floor(r)
        if uniform01(seed, stream, counter0 + j) < r - lv:
            lv += 1.0
        q = nrm * lv / levels
        out[j] = q if v[j] >= 0.0 else -q


@njit(cache=True)
def cq_compress(code, v, out, k, levels, seed, stream, counter0):
    """``out = Q(v)`` for the compressor ``code`` (0 rand-k, 1 natural, 2 QSGD)."""
    if code == 0:
        cq_randk(v, out, k, seed, stream, counter0)
    elif code == 1:
        cq_natural(v, out, seed, stream, counter0)
    else:
        cq_qsgd(v, out, levels, seed, stream, counter0)


@njit(cache=True)
def cq_omega(code, d, k, levels):
    """The variance parameter omega of compressor ``code`` in dimension d (module docstring)."""
    if code == 0:
        return d / k - 1.0
    if code == 1:
        return 0.125
    return min(d / (levels * levels), math.sqrt(d) / levels)


def omega(compression, d, k=1, levels=1):
    """omega of the compressor named ``compression`` (``randk``, ``natural``, ``qsgd``) in dimension d."""
    if compression not in COMPRESSORS:
        raise TheoryBenchError(f"parameter 'compression' must be one of {', '.join(COMPRESSORS)}, got {compression!r}")
    if compression == "randk" and not 1 <= int(k) <= int(d):
        raise TheoryBenchError(f"parameter 'k' (rand-k) must be in [1, d = {int(d)}], got {k!r}")
    if int(levels) < 1:
        raise TheoryBenchError(f"parameter 'levels' must be a positive integer, got {levels!r}")
    return float(cq_omega(COMPRESSORS.index(compression), int(d), int(k), int(levels)))


def dcgd_default_gamma(L, omega_, n):
    """DCGD's default step ``1/((1 + 2 omega/n) L)``."""
    return 1.0 / ((1.0 + 2.0 * omega_ / n) * L)


def diana_default_alpha(omega_):
    """DIANA's default ``alpha = 1/(omega + 1)``."""
    return 1.0 / (omega_ + 1.0)


def diana_default_gamma(L, omega_, n):
    """DIANA's default step ``1/((1 + 6 omega/n) L)`` (module docstring)."""
    return 1.0 / ((1.0 + 6.0 * omega_ / n) * L)


def diana_rate(L, mu, omega_, n, gamma=None, alpha=None):
    """``rho = min(gamma mu, alpha/2)``: the theorem's contraction ``E Psi_k <= (1 - rho)^k Psi_0`` (defaults
    for gamma and alpha when None)."""
    g = diana_default_gamma(L, omega_, n) if gamma is None else gamma
    a = diana_default_alpha(omega_) if alpha is None else alpha
    return min(g * mu, a / 2.0)


@njit(cache=True)
def cq_check_k(compression, k, d):
    if compression == 0 and k > d:
        raise ValueError("hyperparameter 'k' (rand-k) must be at most the dimension d of the problem")


@njit(cache=True)
def dcgd_init(n, d, L, par, gamma, compression, k, levels):
    """Check k; ``par = (gamma, 0)`` with gamma's default ``1/((1 + 2 omega/n) L)`` when ``gamma = 0``."""
    cq_check_k(compression, k, d)
    om = cq_omega(compression, d, k, levels)
    par[0] = gamma if gamma > 0.0 else 1.0 / ((1.0 + 2.0 * om / n) * L)
    par[1] = 0.0


@njit(cache=True)
def dcgd_step(x, t, seed, prob, n, d, gi, qi, acc, par, compression, k, levels):
    """``x <- x - gamma (1/n) sum_i Q_i(g_i)``, ``g_i`` = grad f_i(x) (+ the instance's noise, stream i, draw t);
    compression t of client i: stream n + i."""
    for j in range(d):
        acc[j] = 0.0
    for i in range(n):
        client_stochastic_gradient(prob, i, x, gi, seed, i, t)
        cq_compress(compression, gi, qi, k, levels, seed, n + i, t * d)
        for j in range(d):
            acc[j] += qi[j]
    g = par[0]
    for j in range(d):
        x[j] -= g * (acc[j] / n)


@njit(cache=True)
def diana_init(n, d, L, par, gamma, alpha, compression, k, levels):
    """Check k; ``par = (gamma, alpha)`` with the defaults ``1/((1 + 6 omega/n) L)`` and ``1/(omega + 1)``."""
    cq_check_k(compression, k, d)
    om = cq_omega(compression, d, k, levels)
    par[0] = gamma if gamma > 0.0 else 1.0 / ((1.0 + 6.0 * om / n) * L)
    par[1] = alpha if alpha > 0.0 else 1.0 / (om + 1.0)


@njit(cache=True)
def diana_step(x, t, seed, prob, n, d, h, gi, qi, acc, par, compression, k, levels):
    """``Delta_i = Q_i(grad f_i(x) - h_i)``; ``g_i = h_i + Delta_i``; ``h_i += alpha Delta_i``;
    ``x <- x - gamma (1/n) sum_i g_i``."""
    for j in range(d):
        acc[j] = 0.0
    a = par[1]
    for i in range(n):
        client_stochastic_gradient(prob, i, x, gi, seed, i, t)
        for j in range(d):
            gi[j] -= h[i, j]
        cq_compress(compression, gi, qi, k, levels, seed, n + i, t * d)
        for j in range(d):
            acc[j] += h[i, j] + qi[j]
            h[i, j] += a * qi[j]
    g = par[0]
    for j in range(d):
        x[j] -= g * (acc[j] / n)


@njit(cache=True)
def cq_gamma_used(par):
    return par[0]


@njit(cache=True)
def cq_alpha_used(par):
    return par[1]


def _params(with_alpha):
    ps = [Param("gamma", 0.0, "step size gamma (0: the theorem's default, see the method's doc)", low=0.0)]
    if with_alpha:
        ps.append(Param("alpha", 0.0, "learning rate alpha of the shifts h_i (0: 1/(omega + 1))", low=0.0, high=1.0))
    return tuple(ps + [
        Param("compression", "randk", "unbiased compressor Q", kind="choice", choices=COMPRESSORS),
        Param("k", 1, "rand-k: coordinates kept (1 <= k <= d)", kind="int", low=1),
        Param("levels", 1, "QSGD: number of levels s", kind="int", low=1),
    ])


def cq_fits(problem, settings):
    """Refused before any work (``VectorMethod.check``): rand-k's ``k`` above the instance's dimension."""
    if settings["compression"] == "randk" and settings["k"] > problem.dim:
        return f"parameter 'k' (rand-k coordinates kept) must be at most the dimension d = {problem.dim}"
    return None


_STATE = (("gi", ("d",)), ("qi", ("d",)), ("acc", ("d",)), ("par", (2,)))
_STATS = (("gamma_used", cq_gamma_used), ("alpha_used", cq_alpha_used))

DCGD = register_method(VectorMethod(
    "dcgd", _params(False), dcgd_step, state=_STATE, init=dcgd_init, stats=_STATS, check=cq_fits,
    doc="distributed compressed GD: x <- x - gamma mean_i Q(grad f_i(x)) (unbiased Q: rand-k, natural, QSGD)",
    reference="Khaled, Richtarik 2019; Gorbunov, Hanzely, Richtarik, AISTATS 2020"))

DIANA = register_method(VectorMethod(
    "diana", _params(True), diana_step, state=(("h", ("n", "d")),) + _STATE, init=diana_init, stats=_STATS, check=cq_fits,
    doc="DIANA: compressed gradient differences Delta_i = Q(grad f_i(x) - h_i), h_i += alpha Delta_i",
    reference="Mishchenko, Gorbunov, Takac, Richtarik, arXiv 1901.09269 (2019)"))
