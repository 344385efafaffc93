"""The compressors and the compressed methods (``theorybench.methods.compressed``): kernels against the NumPy
reference (``tests/reference_compressed.py``), unbiasedness and the variance bound ``E||Q(x) - x||^2 <= omega
||x||^2`` for each compressor (exact enumeration of the law, and Monte Carlo of the kernel with a confidence
interval), and bad hyperparameters."""
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench.errors import TheoryBenchError
from theorybench.measure import mean_ci
from theorybench.methods import compressed as C

import reference_compressed as ref

PROB = {"n": 3, "blocks": 3, "kappa": 10.0, "zeta": 1.0, "seed": 2}   # d = 6


def kernel_q(name, v, seed, stream, counter0, k=1, levels=1):
    out = np.empty_like(v)
    C.cq_compress(C.COMPRESSORS.index(name), v, out, k, levels, seed, stream, counter0)
    return out


VECTORS = [np.array([3.0, -1.0, 0.0, 0.25, -7.5]), np.array([1e-3, 2.0, -2.0, 5.0, 0.7]),
           np.array([4.0 / 3.0, -8.0 / 3.0, 16.0 / 3.0, 0.0, 2.0 / 3.0])]   # the last: natural compression's worst case


@pytest.mark.parametrize("name,k,levels", [("randk", 1, 1), ("randk", 3, 1), ("natural", 1, 1), ("qsgd", 1, 1),
                                           ("qsgd", 1, 4)])
def test_compressor_kernel_matches_reference(name, k, levels):
    rng = np.random.default_rng(0)
    for trial in range(50):
        v = rng.standard_normal(7) * 10.0 ** rng.uniform(-3, 3)
        seed, stream, c0 = 11 + trial, 5, 7 * trial
        got = kernel_q(name, v, seed, stream, c0, k, levels)
        want = ref.compress(name, v, ref.draws(seed, stream, c0, v.size), k, levels)
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)
        if name == "randk":
            assert np.count_nonzero(got) == k


@pytest.mark.parametrize("name,k,levels", [("randk", 1, 1), ("randk", 2, 1), ("randk", 4, 1), ("natural", 1, 1),
                                           ("qsgd", 1, 1), ("qsgd", 1, 2), ("qsgd", 1, 5)])
def test_unbiased_and_variance_bound_exact(name, k, levels):
    """E Q(v) = v and E||Q(v) - v||^2 <= omega ||v||^2 from the exact law (every k-subset for rand-k; the two
    values of each coordinate for natural compression and QSGD); rand-k's variance is omega ||v||^2 exactly."""
    rng = np.random.default_rng(1)
    vs = VECTORS + [rng.standard_normal(5) * 10.0 ** rng.uniform(-4, 4) for _ in range(30)]
    for v in vs:
        om = C.omega(name, v.size, k, levels)
        assert om == ref.omega(name, v.size, k, levels)
        mean, var = ref.exact_moments(name, v, k, levels)
        np.testing.assert_allclose(mean, v, rtol=1e-13, atol=1e-300)
        assert var <= om * (v @ v) * (1 + 1e-12)
        if name == "randk":
            assert var == pytest.approx(om * (v @ v), rel=1e-12)
    if name == "natural":  # the bound 1/8 is attained at |v_j| = (4/3) 2^e
        _, var = ref.exact_moments(name, VECTORS[2], k, levels)
        assert var == pytest.approx(C.omega(name, 5) * (VECTORS[2] @ VECTORS[2]), rel=1e-12)


@pytest.mark.parametrize("name,k,levels", [("randk", 2, 1), ("natural", 1, 1), ("qsgd", 1, 2)])
def test_unbiased_and_variance_bound_monte_carlo(name, k, levels):
    """The kernel's draws: the mean of Q(v) over N draws is within its 99.9% confidence interval of v, and the
    confidence interval of E||Q(v) - v||^2 reaches down to omega ||v||^2 or below; it also agrees with the exact
    variance."""
    v = VECTORS[0]
    N = 20000
    qs = np.stack([kernel_q(name, v, 3, 1, v.size * t, k, levels) for t in range(N)])
    for j in range(v.size):
        _, lo, hi = mean_ci(qs[:, j], level=0.999)
        assert lo - 1e-12 <= v[j] <= hi + 1e-12, (j, lo, hi, v[j])
    err = ((qs - v) ** 2).sum(axis=1)
    _, lo, hi = mean_ci(err, level=0.999)
    om = C.omega(name, v.size, k, levels)
    assert lo <= om * (v @ v)
    _, var = ref.exact_moments(name, v, k, levels)
    assert lo <= var <= hi


def test_randk_subsets_uniform():
    """rand-k's selection sampling draws every k-subset with probability 1/C(d, k) (binomial 99.9% intervals)."""
    d, k, N = 5, 2, 30000
    v = np.arange(1.0, d + 1.0)
    counts = {}
    for t in range(N):
        S = tuple(np.flatnonzero(kernel_q("randk", v, 9, 0, d * t, k)))
        assert len(S) == k
        counts[S] = counts.get(S, 0) + 1
    m = math.comb(d, k)
    assert len(counts) == m
    p = 1.0 / m
    half = 3.3 * math.sqrt(p * (1 - p) / N)
    for S, c in counts.items():
        assert abs(c / N - p) <= half, (S, c / N, p)


@pytest.mark.parametrize("method", ["dcgd", "diana"])
@pytest.mark.parametrize("name,k,levels", [("randk", 2, 1), ("natural", 1, 1), ("qsgd", 1, 3)])
def test_methods_match_reference(method, name, k, levels):
    prob = tb.make_problem("quadratic-clients", **PROB)
    A, c = prob.arrays["A"], prob.arrays["c"]
    steps, seed = 120, 5
    hyper = dict(compression=name, k=k, levels=levels)
    r = tb.run(prob, method, steps=steps, seed=seed, record=list(range(steps + 1)), **hyper)
    om = C.omega(name, prob.dim, k, levels)
    n = prob.n_clients
    if method == "dcgd":
        gamma = C.dcgd_default_gamma(prob.arrays["L"], om, n)
        xs = ref.dcgd(A, c, prob.x0, steps, gamma, seed, name, k, levels)
    else:
        gamma = C.diana_default_gamma(prob.arrays["L"], om, n)
        xs = ref.diana(A, c, prob.x0, steps, gamma, C.diana_default_alpha(om), seed, name, k, levels)
        assert r.stats["alpha_used"] == pytest.approx(C.diana_default_alpha(om), rel=1e-15)
    assert r.stats["gamma_used"] == pytest.approx(gamma, rel=1e-15)
    np.testing.assert_allclose(r.x, xs, rtol=1e-9, atol=1e-12)


def test_explicit_hyperparameters_and_seed_batch():
    """Given gamma and alpha are used as given; the reference run over a batch of seeds equals one run per seed."""
    prob = tb.make_problem("quadratic-clients", **PROB)
    A, c = prob.arrays["A"], prob.arrays["c"]
    seeds = np.array([0, 1, 7])
    xs = ref.diana(A, c, prob.x0, 60, 0.02, 0.3, seeds, "randk", 3)
    for b, s in enumerate(seeds):
        r = tb.run(prob, "diana", steps=60, seed=int(s), record=list(range(61)), gamma=0.02, alpha=0.3,
                   compression="randk", k=3)
        assert r.stats["gamma_used"] == 0.02 and r.stats["alpha_used"] == 0.3
        np.testing.assert_allclose(r.x, xs[b], rtol=1e-9, atol=1e-12)


def test_diana_learns_the_optimal_shifts():
    """The reference's shifts h_i tend to h_i* = grad f_i(x*) and DIANA's iterate to x* (heterogeneous clients)."""
    prob = tb.make_problem("quadratic-clients", **PROB)
    om = C.omega("randk", prob.dim, 2)
    g = C.diana_default_gamma(prob.arrays["L"], om, prob.n_clients)
    xs, h = ref.diana(prob.arrays["A"], prob.arrays["c"], prob.x0, 3000, g, C.diana_default_alpha(om), 4, "randk", 2,
                      return_h=True)
    assert np.abs(h - prob.arrays["hstar"]).max() < 1e-8
    assert np.linalg.norm(xs[-1] - prob.arrays["xstar"]) < 1e-8


def test_bad_hyperparameters_named():
    prob = tb.make_problem("quadratic-clients", **PROB)
    for method in ("dcgd", "diana"):  # refused before any work (VectorMethod.check), the CLI without a traceback
        with pytest.raises(TheoryBenchError, match="'k'.*at most the dimension d = 6"):
            tb.run(prob, method, steps=5, compression="randk", k=prob.dim + 1)
        with pytest.raises(TheoryBenchError, match="'k'.*at most the dimension"):
            tb.sweep(prob, method, grid={"k": [1, prob.dim + 1]}, steps=5)
    for method in ("dcgd", "diana"):
        with pytest.raises(TheoryBenchError, match="'k'"):
            tb.run(prob, method, steps=5, k=0)
        with pytest.raises(TheoryBenchError, match="'levels'"):
            tb.run(prob, method, steps=5, compression="qsgd", levels=0)
        with pytest.raises(TheoryBenchError, match="'compression'"):
            tb.run(prob, method, steps=5, compression="topk")
        with pytest.raises(TheoryBenchError, match="'gamma'"):
            tb.run(prob, method, steps=5, gamma=-0.1)
    with pytest.raises(TheoryBenchError, match="'alpha'"):
        tb.run(prob, "diana", steps=5, alpha=1.5)
    r = tb.run(prob, "diana", steps=5, compression="natural", k=prob.dim + 5)  # k unused by natural compression
    assert not r.diverged
    with pytest.raises(TheoryBenchError, match="'compression'"):
        C.omega("topk", 5)


@pytest.mark.parametrize("kappa,k", [(4.0, 1), (16.0, 3)])
def test_diana_lyapunov_contracts_at_the_theorem_rate(kappa, k):
    """The recalled theorem on this instance (a sanity check of its constants, not a proof): with alpha =
    1/(omega + 1) and gamma = 1/((1 + 6 omega/n) L), the mean over 400 seeds of Psi_t = ||x_t - x*||^2 + (4 omega/(n
    alpha)) gamma^2 (1/n) sum_i ||h_i,t - h_i*||^2 stays below (1 - min(gamma mu, alpha/2))^t Psi_0."""
    prob = tb.make_problem("quadratic-clients", n=3, blocks=3, kappa=kappa, zeta=1.0, seed=1)
    L, mu, n = prob.arrays["L"], prob.arrays["mu"], prob.n_clients
    om = C.omega("randk", prob.dim, k)
    g, a = C.diana_default_gamma(L, om, n), C.diana_default_alpha(om)
    rho = C.diana_rate(L, mu, om, n)
    steps = int(3.0 / rho)
    xs, hs = ref.diana(prob.arrays["A"], prob.arrays["c"], prob.x0, steps, g, a, np.arange(400), "randk", k,
                       return_h="all")
    psi = ((xs - prob.arrays["xstar"]) ** 2).sum(axis=-1)
    psi = psi + 4.0 * om / (n * a) * g * g * ((hs - prob.arrays["hstar"]) ** 2).sum(axis=(-2, -1)) / n
    mean = psi.mean(axis=0)
    bound = (1.0 - rho) ** np.arange(steps + 1) * mean[0]
    assert np.all(mean[1:] <= bound[1:])


@pytest.mark.parametrize("method", ["dcgd", "diana"])
def test_methods_with_gradient_noise_match_reference(method):
    """On an instance with Gaussian gradient noise (sigma > 0) the methods add client i's draw t (stream i) before
    compressing (stream n + i): the same numbers as the reference."""
    prob = tb.make_problem("quadratic-clients", **PROB, sigma=0.3)
    A, c = prob.arrays["A"], prob.arrays["c"]
    steps, seeds = 80, np.array([3, 4])
    hyper = {"gamma": 0.02, "compression": "natural", **({"alpha": 0.25} if method == "diana" else {})}
    for s in seeds:
        r = tb.run(prob, method, steps=steps, seed=int(s), record=list(range(steps + 1)), **hyper)
        if method == "diana":
            xs = ref.diana(A, c, prob.x0, steps, 0.02, 0.25, s, "natural", sigma=0.3)
        else:
            xs = ref.dcgd(A, c, prob.x0, steps, 0.02, s, "natural", sigma=0.3)
        np.testing.assert_allclose(r.x, xs, rtol=1e-9, atol=1e-12)
    exact = tb.run(tb.make_problem("quadratic-clients", **PROB), method, steps=steps, seed=int(seeds[-1]), **hyper)
    assert not np.allclose(exact.x[-1], r.x[-1])  # the noise changed the run
