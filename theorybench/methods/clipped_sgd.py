"""SGD and clipped SGD for the vector template (instances with a noise model, e.g. ``problems/heavy_tailed.py``).

``sgd``:          ``x_{t+1} = x_t - gamma_t g_t``
``clipped-sgd``:  ``x_{t+1} = x_t - gamma_t clip(g_t, lambda)``, ``clip(g, lambda) = min(1, lambda / ||g||) g``
                  (Gorbunov, Danilova, Gasnikov, NeurIPS 2020, arXiv 2005.10785; Sadiev et al., ICML 2023,
                  arXiv 2302.00999: clipped-SGD with a constant step gamma and clipping level lambda)

``g_t = grad f(x_t) + z_t`` is ``theorybench.oracle.stochastic_gradient`` with stream 0 and counter t (the draw
number t of the instance's noise model). Step schedule (``schedule``): ``constant`` (``gamma_t = gamma``) or
``harmonic`` (``gamma_t = gamma / (t + 1)``). Code names: ``gamma`` = gamma, ``lam`` = lambda. Method statistic
of clipped-sgd: ``clip_fraction`` (the fraction of the steps taken whose stochastic gradient was clipped).
"""
import numpy as np
from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.oracle import stochastic_gradient
from theorybench.params import Param

SCHEDULES = ("constant", "harmonic")
REFERENCE = "Gorbunov, Danilova, Gasnikov, NeurIPS 2020; Sadiev et al., ICML 2023"


@njit(inline="always")
def step_size(gamma, schedule, t):
    """``gamma_t``: gamma (schedule 0, constant) or gamma / (t + 1) (schedule 1, harmonic)."""
    return gamma if schedule == 0 else gamma / (t + 1.0)


@njit(inline="always")
def sgd_step(x, t, seed, prob, g, gamma, schedule):
    stochastic_gradient(prob, x, g, seed, 0, t)
    s = step_size(gamma, schedule, t)
    for j in range(x.shape[0]):
        x[j] -= s * g[j]


@njit(inline="always")
def clipped_sgd_step(x, t, seed, prob, g, nclip, gamma, lam, schedule):
    stochastic_gradient(prob, x, g, seed, 0, t)
    nrm = 0.0
    for j in range(x.shape[0]):
        nrm += g[j] * g[j]
    nrm = np.sqrt(nrm)
    s = step_size(gamma, schedule, t)
    if nrm > lam:
        s *= lam / nrm
        nclip[0] += 1.0
    for j in range(x.shape[0]):
        x[j] -= s * g[j]


@njit
def clip_fraction(t, nclip):
    return nclip[0] / t if t > 0 else 0.0


_GAMMA = Param("gamma", 0.1, "step size gamma (gamma_0 of the harmonic schedule)", low=0.0, high=1e100)
_SCHEDULE = Param("schedule", "constant", "step schedule: constant gamma, or harmonic gamma/(t+1)", kind="choice",
                  choices=SCHEDULES)

SGD = register_method(VectorMethod(
    "sgd", (_GAMMA, _SCHEDULE), sgd_step, state=(("g", ("d",)),),
    doc="SGD: x <- x - gamma_t (grad f(x) + z)", reference="Robbins, Monro 1951"))

CLIPPED_SGD = register_method(VectorMethod(
    "clipped-sgd", (_GAMMA, Param("lam", 1.0, "clipping level lambda", low=0.0, low_open=True, high=1e300),
                    _SCHEDULE),
    clipped_sgd_step, state=(("g", ("d",)), ("nclip", (1,))), stats=(("clip_fraction", clip_fraction),),
    doc="clipped SGD: x <- x - gamma_t min(1, lambda/||g||) g", reference=REFERENCE))
