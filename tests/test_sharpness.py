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


def test_preconditioned_sharpness_is_the_generalized_eigenvalue():
    import scipy.linalg
    from theorybench.errors import TheoryBenchError
    from theorybench.sharpness import preconditioned_lmax
    rng = np.random.default_rng(3)
    H = psd_quadratic(10, seed=3, cond=50.0) - 0.05 * np.eye(10)   # indefinite is fine too
    p = rng.uniform(0.2, 3.0, size=10)
    A = rng.normal(size=(10, 10))
    P = A @ A.T + np.eye(10)
    for prec, dense in ((p, np.diag(p)), (P, P)):
        exact = scipy.linalg.eigh(H, dense, eigvals_only=True)[-1]
        assert preconditioned_lmax(lambda v: H @ v, prec) == pytest.approx(exact, rel=1e-8)
    # on a PSD quadratic the step w - eta P^{-1} H w is stable iff eta < 2/S_P
    H = H + 0.05 * np.eye(10)
    S = preconditioned_lmax(lambda v: H @ v, p)
    for c, stable in ((0.99, True), (1.01, False)):
        rho = np.abs(np.linalg.eigvals(np.eye(10) - c * (2.0 / S) * (H / p[:, None]))).max()
        assert (rho < 1) == stable
    with pytest.raises(TheoryBenchError, match="'P'"):
        preconditioned_lmax(lambda v: H @ v, -p)


def test_exact_line_search_handles_an_indefinite_hessian():
    """On H = diag(1, -10) over the l_inf ball, from the vertex (1, 1), the end-point step cycles at q = -9;
    the exact line search stops half way, at (1, 0): q = 1 = the maximum."""
    from theorybench.sharpness import fw_ascent
    H = np.diag([1.0, -10.0])
    q, d = fw_ascent(lambda v: H @ v, np.array([1.0, 1.0]), lambda v: gm.lmo(v, "linf"))
    assert q == pytest.approx(1.0) and np.allclose(d, [1.0, 0.0])
