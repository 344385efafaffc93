"""A small vector-template instance and two methods, declared the way a user would (tests only).

``test-quad``: ``f(x) = 1/2 (x - c)^T H (x - c)`` with ``H = diag(1, ..., kappa)`` (d coordinates), two
clients ``f_i = 1/2 (x - c_i)^T H (x - c_i)`` with ``c_0 = c + delta``, ``c_1 = c - delta`` (so f is their
mean up to a constant), Gaussian noise of scale sigma. Methods: ``test-sgd`` (x <- x - eta g, g the
stochastic gradient; state: a gradient buffer; stat: the step count) and ``test-client-avg`` (reads the
client gradients through the oracle)."""
import numpy as np
from numba import njit

from theorybench import Param, register_problem
from theorybench.declare import register_method
from theorybench.declare_vector import (VectorFamily, VectorMethod, VectorProblem, declare_vector_family,
                                        smooth_safe_radius)
from theorybench.oracle import client_gradient, stochastic_gradient
from theorybench.rng import add_normal


@njit
def tq_value(x, H, c):
    v = 0.0
    for i in range(x.shape[0]):
        for j in range(x.shape[0]):
            v += 0.5 * (x[i] - c[i]) * H[i, j] * (x[j] - c[j])
    return v


@njit
def tq_grad(x, out, H, c):
    for i in range(x.shape[0]):
        s = 0.0
        for j in range(x.shape[0]):
            s += H[i, j] * (x[j] - c[j])
        out[i] = s


@njit
def tq_client_grad(i, x, out, H, cs):
    for a in range(x.shape[0]):
        s = 0.0
        for j in range(x.shape[0]):
            s += H[a, j] * (x[j] - cs[i, j])
        out[a] = s


@njit
def tq_gauss(out, seed, stream, counter, sigma):
    add_normal(out, sigma, seed, stream, counter)


@njit
def tq_dist2(x, c):
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - c[j]) ** 2
    return s


FAMILY = declare_vector_family(VectorFamily(
    "test-quad", ("test-quad",), tq_value, tq_grad, client_grad=tq_client_grad, noises={"gaussian": tq_gauss},
    stats=(("dist2", tq_dist2),), target_stat="dist2",
    safe_radius=lambda p: smooth_safe_radius(np.abs(p.arrays["H"]).sum(axis=1).max(), p.arrays["c"])))
# (test-quad-single declares no safe_radius: its kernels apply the divergence rule at every step)
FAMILY_NO_CLIENTS = declare_vector_family(VectorFamily("test-quad-single", ("test-quad",), tq_value, tq_grad))


@register_problem("test-quad", [Param("d", 3, "dimension", kind="int", low=1, high=50),
                                Param("kappa", 10.0, "condition number", low=1.0),
                                Param("sigma", 0.0, "noise scale", low=0.0),
                                Param("single", 0, "1: the family without client gradients", kind="int", low=0,
                                      high=1)])
def test_quad(d, kappa, sigma, single):
    """Tests only: a diagonal quadratic with two shifted clients."""
    H = np.diag(np.linspace(1.0, kappa, d))
    c = np.linspace(-1.0, 1.0, d)
    delta = 0.5 * np.ones(d)
    return VectorProblem("test-quad", -1, np.zeros((2, 0)), d, np.zeros(d),
                         noise="gaussian" if sigma > 0 else "none", sigma=sigma,
                         arrays={"H": H, "c": c, "cs": np.stack([c + delta, c - delta]), "sigma": sigma},
                         family_name="test-quad-single" if single else "test-quad")


@njit
def tsgd_step(x, t, seed, prob, gbuf, eta):
    stochastic_gradient(prob, x, gbuf, seed, 0, t)
    for j in range(x.shape[0]):
        x[j] -= eta * gbuf[j]


@njit
def tsgd_steps(t):
    return float(t)


SGD = register_method(VectorMethod("test-sgd", (Param("eta", 0.05, "step size", low=0.0),), tsgd_step,
                                   state=(("gbuf", ("d",)),), stats=(("steps_run", tsgd_steps),)), replace=True)


@njit
def tavg_step(x, n, prob, gbuf, acc, eta):
    for j in range(x.shape[0]):
        acc[j] = 0.0
    for i in range(n):
        client_gradient(prob, i, x, gbuf)
        for j in range(x.shape[0]):
            acc[j] += gbuf[j]
    for j in range(x.shape[0]):
        x[j] -= eta * acc[j] / n


AVG = register_method(VectorMethod("test-client-avg", (Param("eta", 0.05, "step size", low=0.0),), tavg_step,
                                   state=(("gbuf", ("d",)), ("acc", "d"))), replace=True)


@njit
def treads_step(x, A, eta):
    x[0] -= eta * A[0, 0]


READS_A = register_method(VectorMethod("test-reads-a", (Param("eta", 0.05, "step size", low=0.0),), treads_step),
                          replace=True)
