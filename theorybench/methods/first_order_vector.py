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

clipped-gd reports ``clipped_fraction`` (the fraction of steps that clipped)."""
import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.kernels.common import norm
from theorybench.methods.single import CONVENTION, ETA, GAMMA_CLIP, L0, L1, R_HAT
from theorybench.oracle import stochastic_gradient


@njit(cache=True, inline="always")
def fo_gd_step(x, t, seed, prob, g, eta):
    stochastic_gradient(prob, x, g, seed, 0, t)
    for j in range(x.shape[0]):
        x[j] -= eta * g[j]


@njit(cache=True, inline="always")
def fo_l0l1_step(x, t, seed, prob, g, eta, L0, L1):
    stochastic_gradient(prob, x, g, seed, 0, t)
    s = eta / (L0 + L1 * norm(g))
    for j in range(x.shape[0]):
        x[j] -= s * g[j]


@njit(cache=True, inline="always")
def fo_clipped_step(x, t, seed, prob, g, count, eta, gamma, convention):
    stochastic_gradient(prob, x, g, seed, 0, t)
    n = norm(g)
    clip = n > gamma / eta if convention == 0 else n > gamma
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
GD = register_method(VectorMethod("gd", (ETA,), fo_gd_step, state=_G, doc="Gradient descent x <- x - eta g.",
                                  reference="textbook"))
L0L1_GD = register_method(VectorMethod(
    "l0l1-gd", (ETA, L0, L1), fo_l0l1_step, state=_G,
    doc="(L0,L1)-GD / smoothed clipping x <- x - eta/(L0 + L1 ||g||) g.",
    reference="Gorbunov et al. arXiv 2409.14989; Vankov et al. arXiv 2410.10800"))
CLIPPED_GD = register_method(VectorMethod(
    "clipped-gd", (ETA, GAMMA_CLIP, CONVENTION), fo_clipped_step, state=_G + (("count", (2,)),),
    stats=(("clipped_fraction", fo_clipped_fraction),),
    doc="Clipped GD: step convention x - min(eta, gamma/||g||) g; grad convention x - eta min(1, gamma/||g||) g.",
    reference="Zhang, He, Sra, Jadbabaie, ICLR 2020"))
NORMALIZED_GD = register_method(VectorMethod(
    "normalized-gd", (R_HAT,), fo_normalized_step, state=_G,
    doc="Normalized GD x <- x - beta_k g/||g|| with beta_k = R_hat/sqrt(k+1).", reference="Vankov et al. arXiv 2410.10800"))
