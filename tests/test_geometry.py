"""The geometry table (theorybench.geometry): dual norms, LMOs, sharp operators, polar factors."""
import numpy as np
import pytest

from theorybench import geometry as gm

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("kind", ["l2", "linf", "l1", "block"])
def test_lmo_attains_dual_norm_vectors(kind):
    g = RNG.normal(size=7)
    blocks = [3, 2, 2]
    d = gm.lmo(g, kind, blocks)
    assert gm.norm(d, kind, blocks) == pytest.approx(1.0)
    assert g @ d == pytest.approx(gm.dual_norm(g, kind, blocks))
    # no unit vector does better (random directions normalized in the primal norm)
    for _ in range(200):
        v = RNG.normal(size=7)
        v /= gm.norm(v, kind, blocks)
        assert g @ v <= gm.dual_norm(g, kind, blocks) + 1e-12
    np.testing.assert_allclose(gm.sharp(g, kind, blocks), gm.dual_norm(g, kind, blocks) * d)


def test_spectral_and_layerwise():
    G = RNG.normal(size=(4, 3))
    P = gm.lmo(G, "spectral")
    assert gm.norm(P, "spectral") == pytest.approx(1.0)
    assert np.sum(G * P) == pytest.approx(gm.dual_norm(G, "spectral"))
    for _ in range(100):
        V = RNG.normal(size=(4, 3))
        V /= gm.norm(V, "spectral")
        assert np.sum(G * V) <= gm.dual_norm(G, "spectral") + 1e-12
    layers = [G, RNG.normal(size=(2, 5))]
    L = gm.lmo(layers, "layerwise")
    assert gm.norm(L, "layerwise") == pytest.approx(1.0)
    assert sum(np.sum(a * b) for a, b in zip(layers, L)) == pytest.approx(gm.dual_norm(layers, "layerwise"))
    S = gm.sharp(layers, "layerwise")
    np.testing.assert_allclose(S[1], gm.dual_norm(layers, "layerwise") * gm.polar(layers[1]))


def test_degenerate_sign_zero_and_zero_singular_values():
    g = np.array([0.0, 2.0, -1.0, 0.0])
    np.testing.assert_array_equal(gm.lmo(g, "linf"), [0.0, 1.0, -1.0, 0.0])
    for kind in ("l2", "linf", "l1", "block"):
        np.testing.assert_array_equal(gm.lmo(np.zeros(4), kind, [2, 2]), np.zeros(4))
    np.testing.assert_array_equal(gm.polar(np.zeros((3, 2))), np.zeros((3, 2)))
    # rank 1: the zero singular value is dropped, polar = u v^T
    u, v = np.array([1.0, 2.0, 2.0]) / 3, np.array([0.6, 0.8])
    G = 5.0 * np.outer(u, v)
    np.testing.assert_allclose(gm.polar(G), np.outer(u, v), atol=1e-14)
    assert gm.rank(G) == 1
    # diagonal with a zero: polar = sign of the diagonal, sign(0) = 0
    np.testing.assert_allclose(gm.polar(np.diag([3.0, 0.0, -2.0])), np.diag([1.0, 0.0, -1.0]), atol=1e-15)


def test_newton_schulz_against_svd():
    G = RNG.normal(size=(5, 3))
    # the classical cubic converges to the polar factor (singular values in (0, sqrt 3) after scaling)
    X = gm.newton_schulz(G, steps=60, coeffs=gm.CUBIC_COEFFS)
    np.testing.assert_allclose(X, gm.polar(G), atol=1e-10)
    # the Muon quintic: same singular vectors, singular values in about [0.6, 1.25]
    Q = gm.newton_schulz(G, steps=5)
    s = np.linalg.svd(Q, compute_uv=False)
    assert s.min() > 0.5 and s.max() < 1.3
    np.testing.assert_allclose(gm.polar(Q), gm.polar(G), atol=1e-8)
    # zero singular values stay zero
    R = gm.newton_schulz(np.outer([1.0, 2.0, 0.5], [1.0, -1.0]), steps=5)
    assert np.linalg.svd(R, compute_uv=False)[1] < 1e-12


def test_kernel_polar_matches_geometry():
    from theorybench.kernels.muon import ns_polar, svd_polar
    for shape in [(2, 2), (3, 4), (4, 3)]:
        G = RNG.normal(size=shape)
        out = np.empty(shape)
        nuc, k = svd_polar(G, out)
        np.testing.assert_allclose(out, gm.polar(G), atol=1e-12)
        assert nuc == pytest.approx(gm.dual_norm(G, "spectral")) and k == min(shape)
        ns_polar(G, 5, out)
        np.testing.assert_allclose(out, gm.newton_schulz(G, steps=5), atol=1e-12)


def test_unknown_norm():
    from theorybench.errors import TheoryBenchError
    with pytest.raises(TheoryBenchError, match="unknown norm"):
        gm.lmo(np.ones(2), "l3")
