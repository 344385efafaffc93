"""Generalized sharpness estimators (theorybench.sharpness) against exact oracles."""
import numpy as np
import pytest

from problems.eos_mlp import psd_quadratic
from theorybench import geometry as gm
from theorybench.sharpness import frank_wolfe_sharpness, lanczos_lmax, vertex_sharpness_linf


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lanczos_matches_eigvalsh(seed):
    H = psd_quadratic(30, seed=seed, cond=50.0)
    assert lanczos_lmax(lambda v: H @ v, 30) == pytest.approx(np.linalg.eigvalsh(H)[-1], rel=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_frank_wolfe_linf_matches_vertex_enumeration(seed):
    H = psd_quadratic(8, seed=seed, cond=10.0)
    exact, v = vertex_sharpness_linf(H)
    fw = frank_wolfe_sharpness(lambda x: H @ x, (8,), "linf", starts=32, seed=seed)
    assert fw <= exact * (1 + 1e-12)
    assert fw == pytest.approx(exact, rel=1e-12)
    # the maximizing vertex is a fixed point of the FW step: sign(H v) = v
    np.testing.assert_array_equal(gm.lmo(H @ v, "linf"), v)


def test_frank_wolfe_spectral_is_a_valid_lower_bound():
    """Spectral norm on 3x3 matrices: S >= lambda_max (the Frobenius ball of radius 1 lies in the spectral
    ball) and S <= 3 lambda_max (||D||_F^2 <= 3 on the spectral ball)."""
    H = psd_quadratic(9, seed=5, cond=10.0)
    S, D = frank_wolfe_sharpness(lambda x: H @ x, (3, 3), "spectral", starts=16, return_argmax=True)
    lmax = np.linalg.eigvalsh(H)[-1]
    assert lmax * (1 - 1e-12) <= S <= 3 * lmax
    assert gm.norm(D, "spectral") == pytest.approx(1.0)
    assert np.ravel(D) @ H @ np.ravel(D) == pytest.approx(S)
