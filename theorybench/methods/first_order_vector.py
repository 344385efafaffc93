"""GD, (L0,L1)-GD, clipped GD and normalized GD on the vector template (``theorybench.declare_vector``): the
same names and hyperparameters as the single-machine kernel's (``theorybench.methods.single``), as variants
that run on every vector-template instance (``linear-system``, ``ht-quadratic``, ``quadratic-clients``, a
user's). The runner picks the variant whose kernel takes the problem. With ``g_t`` the instance's stochastic
gradient at ``x_t`` (``theorybench.oracle.stochastic_gradient``: draw t of stream 0; the exact gradient when
the instance has no noise) and ``||.||`` the overflow-safe norm ``kernels.common.norm``::

    gd              x <- x - eta g
    l0l1-gd         x <- x - eta/(L0 + L1 ||g||) g                    (Gorbunov et al.; Vankov et al.)
    clipped-gd      step convention: x <- x - min(eta, gamma/||g||) g; gradient convention (Zhang et al.
                    2020): x <- x - eta min(1, gamma/||g||) g; a clipped step is length * g/||g||
    normalized-gd   x <- x - R_hat/sqrt(t+1) g/||g||                 (no step when g = 0)

clipped-gd reports ``clipped_fraction`` (the fraction of steps that clipped). gd, l0l1-gd and clipped-gd take
the step schedules of the single kernel (``SCHEDULE``: constant, power ``eta/(t+1)^power``, random ``eta u_t`` with
``u_t = 1 - uniform01(seed, 2^21, t)``, polyak ``(f(x_t) - f_lower)/||g||^2``; capped at ``alpha_max``;
``kernels.muon.schedule_step``): ``eta`` above is that ``eta_t``. A division whose denominator can be 0 (a
Polyak step of 0 in gamma/eta, an underflowing ||g||^2) gives IEEE's inf or NaN, as in the single kernel, spelled
out (Numba's default error model would raise)."""
import math

import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.kernels.common import norm
from theorybench.methods.single import CONVENTION, ETA, GAMMA_CLIP, L0, L1, R_HAT, SCHEDULE
from theorybench.oracle import stochastic_gradient, value
from theorybench.rng import uniform01

FO_SCHEDULE_STREAM = 1 << 21  # the random schedule's stream (as in the single kernel)
FO_CONSTANT = 0               # the schedule choices' indices: constant, power, polyak, random
FO_POWER = 1
FO_RANDOM = 3


@njit(cache=True, inline="always")
def fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, normalized):
    """The schedule's step ``eta_t`` (module docstring; ``normalized``: Polyak over ||g||_1, SignSGD's): the
    arithmetic of ``kernels.muon.schedule_step``; the Polyak gap uses the noise-free f. Inlined into the steps,
    where a zero denominator gives IEEE's inf or NaN as in the single kernel."""
    if schedule == FO_CONSTANT:
        return eta
    if schedule == FO_POWER:
        return eta / (t + 1.0) ** power
    if schedule == FO_RANDOM:
        return eta * (1.0 - uniform01(seed, FO_SCHEDULE_STREAM, t))
    gap = value(prob, x) - f_lower
    dual = 0.0
    if normalized:
        for j in range(g.shape[0]):
            dual += abs(g[j])
    else:
        dual = norm(g)
    if dual <= 0.0:
        return 0.0
    m = max(gap, 0.0)
    if normalized:
        a = m / dual
    else:
        dd = dual * dual
        # IEEE m/0 where dual^2 underflows (inf, or NaN for 0/0), spelled out: Numba's default error model
        # raises on a zero denominator
        a = m / dd if dd != 0.0 else (np.inf if m > 0.0 else np.nan)
    return min(a, alpha_max)


@njit(cache=True, inline="always")
def fo_gd_step(x, t, seed, prob, g, eta, schedule, power, f_lower, alpha_max):
    stochastic_gradient(prob, x, g, seed, 0, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    for j in range(x.shape[0]):
        x[j] -= e * g[j]


@njit(cache=True, inline="always")
def fo_l0l1_step(x, t, seed, prob, g, eta, L0, L1, schedule, power, f_lower, alpha_max):
    stochastic_gradient(prob, x, g, seed, 0, t)
    e = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    s = e / (L0 + L1 * norm(g))
    for j in range(x.shape[0]):
        x[j] -= s * g[j]


@njit(cache=True, inline="always")
def fo_clipped_step(x, t, seed, prob, g, count, eta, gamma, convention, schedule, power, f_lower, alpha_max):
    stochastic_gradient(prob, x, g, seed, 0, t)
    eta = fo_eta(schedule, eta, power, f_lower, alpha_max, t, seed, prob, x, g, False)
    n = norm(g)
    if convention == 0:  # gamma/eta, with IEEE's gamma/(+-0) = +-inf spelled out (a Polyak step of 0; gamma > 0)
        clip = n > (gamma / eta if eta != 0.0 else math.copysign(np.inf, eta))
    else:
        clip = n > gamma
    count[1] += 1.0
    if clip:
        count[0] += 1.0
        if n == 0.0:
            return
        length = gamma if convention == 0 else eta * gamma
        for j in range(x.shape[0]):
            x[j] -= length * (g[j] / n)
    else:
        for j in range(x.shape[0]):
            x[j] -= eta * g[j]


@njit(cache=True)
def fo_clipped_fraction(count):
    return count[0] / count[1] if count[1] > 0.0 else 0.0


@njit(cache=True, inline="always")
def fo_normalized_step(x, t, seed, prob, g, R_hat):
    stochastic_gradient(prob, x, g, seed, 0, t)
    gn = norm(g)
    if gn > 0.0:
        beta = R_hat / np.sqrt(t + 1.0)
        for j in range(x.shape[0]):
            x[j] -= beta * (g[j] / gn)


_G = (("g", ("d",)),)
GD = register_method(VectorMethod("gd", (ETA,) + SCHEDULE, fo_gd_step, state=_G, doc="Gradient descent x <- x - eta g.",
                                  reference="textbook"))
L0L1_GD = register_method(VectorMethod(
    "l0l1-gd", (ETA, L0, L1) + SCHEDULE, fo_l0l1_step, state=_G,
    doc="(L0,L1)-GD / smoothed clipping x <- x - eta/(L0 + L1 ||g||) g.",
    reference="Gorbunov et al. arXiv 2409.14989; Vankov et al. arXiv 2410.10800"))
CLIPPED_GD = register_method(VectorMethod(
    "clipped-gd", (ETA, GAMMA_CLIP, CONVENTION) + SCHEDULE, fo_clipped_step, state=_G + (("count", (2,)),),
    stats=(("clipped_fraction", fo_clipped_fraction),),
    doc="Clipped GD: step convention x - min(eta, gamma/||g||) g; grad convention x - eta min(1, gamma/||g||) g.",
    reference="Zhang, He, Sra, Jadbabaie, ICLR 2020"))
NORMALIZED_GD = register_method(VectorMethod(
    "normalized-gd", (R_HAT,), fo_normalized_step, state=_G,
    doc="Normalized GD x <- x - beta_k g/||g|| with beta_k = R_hat/sqrt(k+1).", reference="Vankov et al. arXiv 2410.10800"))
