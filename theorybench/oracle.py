"""The objective oracle a vector method's pieces call (``theorybench.declare_vector``).

A method written against these names runs on every instance whose family declares the pieces behind
them; ``theorybench.compose_vector`` replaces each stub by a generated function that calls the family's
piece with the instance's arrays. ``prob`` is the instance handle the kernel passes to the method's
pieces (take it as the argument ``prob``). Outside a composed kernel the stubs raise.

======================================================= ==============================================
``value(prob, x)``                                      ``f(x)``
``gradient(prob, x, out)``                              ``out[:] = grad f(x)``
``client_gradient(prob, i, x, out)``                    ``out[:] = grad f_i(x)`` (clients i = 0..n-1)
``stochastic_gradient(prob, x, out, seed, s, k)``       ``grad f(x) + z``, z the instance's noise model's
                                                        draw number ``k`` of stream ``s``
``client_stochastic_gradient(prob, i, x, out, seed, s, k)`` the same for ``f_i``
======================================================= ==============================================

Random streams: a draw is a pure function of ``(seed, stream, counter)`` (``theorybench.rng``); a method
chooses its own streams (say, the client index, or ``n + i`` for a second source such as a compressor) and
counters (say, the step ``t``), and the noise piece uses the counters ``d k ... d k + d - 1`` of its stream
for one d-dimensional draw ``k``.
"""
from numba import njit

ORACLE_NAMES = ("value", "gradient", "client_gradient", "stochastic_gradient", "client_stochastic_gradient")


@njit
def value(prob, x):
    """``f(x)`` (see the module docstring)."""
    raise RuntimeError("theorybench.oracle.value runs only inside a composed kernel")


@njit
def gradient(prob, x, out):
    """``out[:] = grad f(x)``."""
    raise RuntimeError("theorybench.oracle.gradient runs only inside a composed kernel")


@njit
def client_gradient(prob, i, x, out):
    """``out[:] = grad f_i(x)``."""
    raise RuntimeError("theorybench.oracle.client_gradient runs only inside a composed kernel")


@njit
def stochastic_gradient(prob, x, out, seed, stream, counter):
    """``out[:] = grad f(x) + z`` (z: the instance's noise model, draw ``counter`` of ``stream``)."""
    raise RuntimeError("theorybench.oracle.stochastic_gradient runs only inside a composed kernel")


@njit
def client_stochastic_gradient(prob, i, x, out, seed, stream, counter):
    """``out[:] = grad f_i(x) + z``."""
    raise RuntimeError("theorybench.oracle.client_stochastic_gradient runs only inside a composed kernel")
