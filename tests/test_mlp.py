"""The tanh MLP model (problems/eos_mlp.py): gradients and HVPs against finite differences."""
import numpy as np

import problems.eos_mlp as K
from problems.eos_mlp import mlp_data, mlp_init

W = (5, 7, 6, 3)


def _setup():
    X, Y = mlp_data(n=20, dim=5, classes=3, seed=2)
    return X, Y, mlp_init(W, seed=2)


def test_gradient_finite_differences():
    X, Y, w = _setup()
    L, g = K.loss_grad(w, X, Y, W)
    assert L == K.loss(w, X, Y, W)
    e = 1e-6
    fd = np.array([(K.loss(w + e * u, X, Y, W) - K.loss(w - e * u, X, Y, W)) / (2 * e) for u in np.eye(w.size)])
    np.testing.assert_allclose(g, fd, rtol=1e-6, atol=1e-9)


def test_hvp_finite_differences_and_symmetry():
    X, Y, w = _setup()
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=w.size), rng.normal(size=w.size)
    e = 1e-5
    fd = (K.loss_grad(w + e * v, X, Y, W)[1] - K.loss_grad(w - e * v, X, Y, W)[1]) / (2 * e)
    hv = K.hvp(w, v, X, Y, W)
    np.testing.assert_allclose(hv, fd, rtol=1e-6, atol=1e-8)
    assert u @ hv == np.float64(u @ hv)
    np.testing.assert_allclose(u @ hv, v @ K.hvp(w, u, X, Y, W), rtol=1e-10)
