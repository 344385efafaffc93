"""Local training with random communication: Scaffnew (ProxSkip on the consensus reformulation) and
local GD with the same random communication (no control variates), as vector-template methods.

Mishchenko, Malinovsky, Stich, Richtarik, "ProxSkip: Yes! Local gradient steps provably lead to
communication acceleration! Finally!", ICML 2022 (arXiv 2202.09357), Algorithm 2 (Scaffnew). With
``g_i`` client i's (stochastic) gradient, per step t::

    xhat_i = x_i - gamma (g_i(x_i) - h_i)                                  (every client)
    theta_t = 1 with probability p (one coin for all clients: rng stream n, counter t)
    theta_t = 1:  x_i = (1/n) sum_j (xhat_j - (gamma/p) h_j)              (communication)
    theta_t = 0:  x_i = xhat_i                                             (local step)
    h_i <- h_i + (p/gamma) (x_i - xhat_i)

``local-gd-random`` is the same without ``h`` (FedAvg with random communication: x_i = mean_j xhat_j).
Both start from ``x_i = x_0``, ``h_i = 0``; the reported iterate is ``xbar = (1/n) sum_i x_i``. Client
i's k-th gradient draw uses stream i, counter t (``theorybench.oracle.client_stochastic_gradient``; exact
gradients when the instance has no noise). Defaults from Theorem 3.6's choice: ``gamma = 0`` means
``1/L`` and ``p = 0`` means ``1/sqrt(kappa) = sqrt(mu/L)`` (the instance's ``L`` and ``mu``).

Method statistics: ``communications`` (coin flips that came up 1), ``psi`` (Scaffnew's Lyapunov function
``Psi_t = sum_i ||x_i - x*||^2 + (gamma/p)^2 sum_i ||h_i - h_i*||^2``; for local GD ``sum_i ||x_i -
x*||^2``), ``first_iter_eps`` and ``first_comm_eps``: the first step t, and the communications made up to
it, at which ``||xbar_t - x*|| <= eps`` (``eps`` a hyperparameter; -1: never or ``eps = 0``). The engine's
``target`` (family statistic ``dist``) gives the same first step as ``first_below_target``.
"""
import math

from numba import njit

from theorybench.declare import register_method
from theorybench.declare_vector import VectorMethod
from theorybench.oracle import client_stochastic_gradient
from theorybench.params import Param
from theorybench.rng import uniform01

REFERENCE = ("Mishchenko, Malinovsky, Stich, Richtarik, ProxSkip: Yes! Local gradient steps provably lead to "
             "communication acceleration! Finally!, ICML 2022, Algorithm 2 (Scaffnew), Theorem 3.6")


@njit(cache=True, inline="always")
def lt_gamma(gamma, L):
    """The stepsize: ``gamma``, or ``1/L`` when ``gamma = 0``."""
    return gamma if gamma > 0.0 else 1.0 / L


@njit(cache=True, inline="always")
def lt_prob(p, L, mu):
    """The communication probability: ``p``, or ``1/sqrt(kappa) = sqrt(mu/L)`` when ``p = 0``."""
    return p if p > 0.0 else math.sqrt(mu / L)


@njit(cache=True)
def lt_init(x, xs, tmark, eps, xstar):
    """``x_i = x_0`` for every client; the eps-crossing marks start at -1 (or 0 when x_0 is already there)."""
    n, d = xs.shape
    for i in range(n):
        for j in range(d):
            xs[i, j] = x[j]
    tmark[0] = -1.0
    tmark[1] = -1.0
    _mark(x, 0, tmark, eps, xstar)


@njit(cache=True, inline="always")
def _mark(x, t, tmark, eps, xstar):
    """Record the first ``t`` with ``||x - x*|| <= eps`` and the communications made by then."""
    if eps > 0.0 and tmark[0] < 0.0:
        s = 0.0
        for j in range(x.shape[0]):
            s += (x[j] - xstar[j]) ** 2
        if math.sqrt(s) <= eps:
            tmark[0] = t
            tmark[1] = tmark[2]


@njit(cache=True, inline="always")
def _local_steps(t, seed, prob, xs, hs, xh, gbuf, g):
    """``xhat_i = x_i - gamma (g_i(x_i) - h_i)`` for every client."""
    n, d = xs.shape
    for i in range(n):
        client_stochastic_gradient(prob, i, xs[i], gbuf, seed, i, t)
        for j in range(d):
            xh[i, j] = xs[i, j] - g * (gbuf[j] - hs[i, j])


@njit(cache=True, inline="always")
def _random_communication_step(x, t, seed, prob, xs, hs, xh, gbuf, tmark, gamma, p, eps, L, mu, xstar, control):
    """One step (module docstring); ``control``: Scaffnew's control variates h_i (else they stay 0: local GD
    with random communication); ``tmark[2]`` counts the communications."""
    n, d = xs.shape
    g = lt_gamma(gamma, L)
    q = lt_prob(p, L, mu)
    _local_steps(t, seed, prob, xs, hs, xh, gbuf, g)
    if uniform01(seed, n, t) < q:  # theta_t = 1: communicate
        tmark[2] += 1.0
        for j in range(d):
            s = 0.0
            for i in range(n):
                s += xh[i, j] - (g / q) * hs[i, j] if control else xh[i, j]
            s /= n
            for i in range(n):
                xs[i, j] = s
                if control:
                    hs[i, j] += (q / g) * (s - xh[i, j])
    else:
        for i in range(n):
            for j in range(d):
                xs[i, j] = xh[i, j]
    for j in range(d):
        s = 0.0
        for i in range(n):
            s += xs[i, j]
        x[j] = s / n
    _mark(x, t + 1, tmark, eps, xstar)


@njit(cache=True, inline="always")
def scaffnew_step(x, t, seed, prob, xs, hs, xh, gbuf, tmark, gamma, p, eps, L, mu, xstar):
    """One step of Scaffnew (module docstring)."""
    _random_communication_step(x, t, seed, prob, xs, hs, xh, gbuf, tmark, gamma, p, eps, L, mu, xstar, True)


@njit(cache=True, inline="always")
def local_gd_random_step(x, t, seed, prob, xs, hs, xh, gbuf, tmark, gamma, p, eps, L, mu, xstar):
    """One step of local GD with random communication (Scaffnew without h: ``hs`` stays 0)."""
    _random_communication_step(x, t, seed, prob, xs, hs, xh, gbuf, tmark, gamma, p, eps, L, mu, xstar, False)


@njit(cache=True)
def lt_psi(xs, hs, gamma, p, L, mu, xstar, hstar):
    """``Psi_t = sum_i ||x_i - x*||^2 + (gamma/p)^2 sum_i ||h_i - h_i*||^2`` (Theorem 3.6)."""
    n, d = xs.shape
    g = lt_gamma(gamma, L)
    q = lt_prob(p, L, mu)
    a = 0.0
    b = 0.0
    for i in range(n):
        for j in range(d):
            a += (xs[i, j] - xstar[j]) ** 2
            b += (hs[i, j] - hstar[i, j]) ** 2
    return a + (g / q) ** 2 * b


@njit(cache=True)
def lt_client_err2(xs, xstar):
    """``sum_i ||x_i - x*||^2``."""
    n, d = xs.shape
    a = 0.0
    for i in range(n):
        for j in range(d):
            a += (xs[i, j] - xstar[j]) ** 2
    return a


@njit(cache=True)
def lt_communications(tmark):
    """Coin flips that came up 1 so far."""
    return tmark[2]


@njit(cache=True)
def lt_first_iter(tmark):
    """First step with ``||xbar - x*|| <= eps`` (-1: not yet)."""
    return tmark[0]


@njit(cache=True)
def lt_first_comm(tmark):
    """Communications made by the first step with ``||xbar - x*|| <= eps`` (-1: not yet)."""
    return tmark[1]


PARAMS = (
    Param("gamma", 0.0, "stepsize gamma (0: 1/L, the largest Theorem 3.6 allows)", low=0.0),
    Param("p", 0.0, "communication probability p (0: 1/sqrt(kappa), Theorem 3.6's choice)", low=0.0, high=1.0),
    Param("eps", 0.0, "accuracy: report the first step and communication with ||xbar - x*|| <= eps (0: off)",
          low=0.0),
)
STATE = (("xs", ("n", "d")), ("hs", ("n", "d")), ("xh", ("n", "d")), ("gbuf", ("d",)), ("tmark", (3,)))
COMMON_STATS = (("communications", lt_communications), ("first_iter_eps", lt_first_iter),
                ("first_comm_eps", lt_first_comm))

SCAFFNEW = register_method(VectorMethod(
    "scaffnew", PARAMS, scaffnew_step, state=STATE, init=lt_init,
    stats=(("psi", lt_psi),) + COMMON_STATS,
    doc="Scaffnew (ProxSkip on the consensus reformulation): local steps with control variates h_i, one "
        "communication coin with probability p per step", reference=REFERENCE), replace=True)

LOCAL_GD_RANDOM = register_method(VectorMethod(
    "local-gd-random", PARAMS, local_gd_random_step, state=STATE, init=lt_init,
    stats=(("psi", lt_client_err2),) + COMMON_STATS,
    doc="Local GD with random communication (FedAvg with a communication coin of probability p; Scaffnew "
        "without control variates)", reference=REFERENCE), replace=True)
