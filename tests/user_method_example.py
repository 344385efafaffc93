"""A user's method, declared outside the engine (as in a notebook or a user's own package): clipped local
SGD whose clipping radius decays with the round, ``gamma_r = gamma0 / sqrt(r + 1)`` (step convention:
``y <- y - min(eta, gamma_r/|g|) g``). Importing this module registers it as ``decay-clip-sgd``; the
entry-point test loads it through the ``theorybench.methods`` group. It touches no engine file."""
import numpy as np
from numba import njit

from theorybench import Param
from theorybench.declare import Method, register_method


@njit
def decay_clip_step(y, g, r, eta, gamma0):
    """One local step of round r: clipped iff |g| > gamma_r/eta, then a step of length gamma_r."""
    gamma_r = gamma0 / np.sqrt(r + 1.0)
    n = abs(g)
    if n > gamma_r / eta:
        return y - gamma_r * (g / n), True
    return y - eta * g, False


DECAY_CLIP_SGD = Method(
    "decay-clip-sgd",
    params=(Param("eta", 0.01, "stepsize eta", low=0.0, low_open=True),
            Param("gamma0", 0.5, "initial clipping radius gamma_0 (gamma_r = gamma_0/sqrt(r+1))",
                  low=0.0, low_open=True),
            Param("local_steps", 8, "local steps I per round", kind="int", low=1, high=10**7)),
    step=decay_clip_step, clipping=True,
    doc="Clipped local SGD with a clipping radius decaying as gamma_0/sqrt(r+1).")

register_method(DECAY_CLIP_SGD, replace=True)
