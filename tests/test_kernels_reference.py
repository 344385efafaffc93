"""The Numba federated kernel against the plain NumPy reference (``tests/reference_federated.py``).

* Deterministic two-client quadratic: bit-for-bit equality, every algorithm, both conventions,
  boundary (dyadic) and generic (non-dyadic) hyperparameters.
* Stochastic EPISODE quartic (uniform noise): 1e-12 agreement, and in fact bit-for-bit equality.
* A 3-client, 2-dimensional polynomial with Gaussian noise: exercises the ``k*d + j`` counter layout,
  N != 2 and norms of vectors.
* The noise generator: an independent pure-Python SplitMix64, and the distributions' moments.
"""
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench import rng
from theorybench.families import POLY

import reference_federated as ref
import tolerances as tol

# (algorithm, convention): FedAvg has neither gamma nor convention
ALGO_CONV = [("fedavg", None)] + [(a, c) for a in ref.ALGOS[1:] for c in ref.CONVENTIONS]
ALGO_CONV_IDS = [a if c is None else f"{a}-{c}" for a, c in ALGO_CONV]


def hyper_for(algo, convention, eta, gamma, local_steps):
    h = dict(eta=eta, local_steps=local_steps)
    if algo != "fedavg":
        h.update(gamma=gamma, convention=convention)
    return h


def kernel_and_reference(problem, problem_settings, client_grads, algo, convention, eta, gamma, I,
                         rounds, seed=0, x0=None, noise=None):
    """Run the kernel (through ``theorybench.run``) and the reference; return both traces and the
    kernel's result and the reference's clip counts."""
    hyper = hyper_for(algo, convention, eta, gamma, I)
    res = tb.run(problem, algo, rounds=rounds, seed=seed, problem_settings=problem_settings, x0=x0,
                 **hyper)
    prob = tb.make_problem(problem, **(problem_settings or {}))
    start = prob.x0 if x0 is None else np.atleast_1d(np.asarray(x0, dtype=float))
    noise_fn = None if noise is None else ref.make_noise_fn(noise[0], noise[1], seed)
    counts = {}
    xs = ref.reference_run(algo, client_grads, start, rounds, eta=eta,
                           gamma=hyper.get("gamma", np.inf), local_steps=I,
                           convention=hyper.get("convention", "step"), noise_fn=noise_fn,
                           counts=counts)
    np.testing.assert_array_equal(res.rounds, np.arange(rounds + 1))
    assert not res.diverged, "test settings must not diverge"
    return res, np.array(xs), counts


def assert_clip_fraction(res, counts):
    expected = counts["clipped"] / counts["steps"] if counts["steps"] else 0.0
    assert res.stats["clipped_fraction"] == pytest.approx(expected, rel=1e-15, abs=0.0)


# --------------------------------------------------------------------------- independent oracles

def test_independent_polynomial_gradients_match_problem_gradients():
    """The reference's numpy.polynomial gradients agree with the registered problems' (Horner) ones."""
    xs = np.linspace(-3.0, 4.0, 57)
    for H in (0.0, 1.0, 4.0):
        prob = tb.make_problem("episode-quartic", H=H)
        for i, grad in enumerate(ref.episode_quartic_grads(H)):
            for x in xs:
                np.testing.assert_allclose(grad([x]), prob.client_grad(i, x), rtol=1e-14, atol=1e-13)
    for gamma, a1, a2 in [(1.0, None, None), (0.3, None, None), (1.0, -0.7, 1.9)]:
        prob = tb.make_problem("two-client-quadratic", gamma=gamma, a1=a1, a2=a2)
        for i, grad in enumerate(ref.two_client_quadratic_grads(gamma, a1, a2)):
            for x in xs:
                np.testing.assert_array_equal(grad([x]), prob.client_grad(i, x))


def test_reference_fedavg_matches_closed_form_on_quadratic():
    """Self-check of the reference: deterministic FedAvg on f_i = x^2/2 + a_i x has
    x_{r+1} = -abar + (1 - eta)^I (x_r + abar)."""
    gamma, eta, I = 1.0, 0.3, 4
    abar = ((-gamma - 1.0) + (gamma + 2.0)) / 2
    xs = ref.reference_run("fedavg", ref.two_client_quadratic_grads(gamma), [0.0], 30, eta=eta,
                           local_steps=I)
    x = 0.0
    for xr in xs:
        assert xr[0] == pytest.approx(x, rel=1e-12, abs=1e-14)
        x = -abar + (1 - eta) ** I * (x + abar)


def test_reference_reproduces_ep1_and_ep2():
    """Self-check of the reference on the claims' mechanism (claims EP-1, EP-2): gradient-clipped
    CELGC is stuck at x = 0 exactly iff (I-1) eta gamma <= 1; EPISODE reaches x* = -1/2."""
    grads = ref.two_client_quadratic_grads(1.0)
    stuck = ref.reference_run("local-clip", grads, [0.0], 20, eta=0.5, gamma=1.0, local_steps=3,
                              convention="grad")
    assert all(x[0] == 0.0 for x in stuck)
    moving = ref.reference_run("local-clip", grads, [0.0], 20, eta=0.5, gamma=1.0, local_steps=4,
                               convention="grad")
    assert moving[-1][0] != 0.0
    ep = ref.reference_run("episode", grads, [0.0], 200, eta=0.5, gamma=1.0, local_steps=3,
                           convention="grad")
    assert abs(ep[-1][0] + 0.5) <= 1e-12


# --------------------------------------------------------------------------- deterministic quadratic

# (gamma, eta, I, problem overrides, x0)
QUAD_CASES = [
    (1.0, 0.5, 3, {}, 0.0),      # grad clipping boundary (I-1) eta gamma = 1: CELGC stuck
    (1.0, 0.5, 4, {}, 0.0),      # just outside it
    (1.0, 0.5, 1, {}, 0.0),      # step clipping boundary, I=1: eta = gamma/(gamma+1)
    (0.5, 0.5, 2, {}, 0.0),      # step clipping boundary, I=2: eta = gamma
    (0.5, 1.0, 3, {}, 0.0),      # step clipping boundary, I=3: gamma (I - 2 + 1/eta) = 1
    (0.25, 0.5, 5, {}, 0.0),
    (1.0, 0.3, 3, {}, 0.0),      # non-dyadic
    (0.7, 0.3, 5, {}, 0.0),
    (2.0, 0.1, 4, {}, 0.0),
    (1.5, 1.5, 2, {}, 0.0),      # 1 < eta < 2, even I (EPISODE's clipped rounds may cancel)
    (3.0, 0.75, 6, {}, 0.0),
    (1.0, 1.5, 3, {}, 0.5),      # EPISODE (step): second local direction is exactly 0 -> no step
    (1.0, 0.3, 3, {"a1": -0.7, "a2": 1.9}, 0.3),   # general a_i and x0
    (0.4, 0.25, 7, {"a1": -5.0, "a2": 4.0}, -1.0),
]


@pytest.mark.parametrize("algo,convention", ALGO_CONV, ids=ALGO_CONV_IDS)
@pytest.mark.parametrize("gamma,eta,I,extra,x0", QUAD_CASES)
def test_two_client_quadratic_bitwise(algo, convention, gamma, eta, I, extra, x0):
    settings = {"gamma": gamma, "x0": x0, **extra}
    grads = ref.two_client_quadratic_grads(gamma, extra.get("a1"), extra.get("a2"))
    res, xs, counts = kernel_and_reference("two-client-quadratic", settings, grads, algo, convention,
                                           eta, gamma, I, rounds=40)
    assert np.array_equal(res.x, xs), (
        f"first mismatch at round {int(np.argmax(res.x[:, 0] != xs[:, 0]))}: "
        f"kernel {res.x[:, 0].tolist()} vs reference {xs[:, 0].tolist()}")
    assert_clip_fraction(res, counts)


def test_episode_zero_direction_case_is_exercised():
    """The case (gamma=1, eta=1.5, I=3, x0=0.5, step) does hit a zero EPISODE direction under
    clipping: G_0 = f'(0.5) = 1 > gamma/eta, first step lands on -0.5 = x*, next d = 0 exactly."""
    xs = ref.reference_run("episode", ref.two_client_quadratic_grads(1.0), [0.5], 3, eta=1.5,
                           gamma=1.0, local_steps=3, convention="step")
    assert xs[1][0] == -0.5 and xs[3][0] == -0.5


# --------------------------------------------------------------------------- stochastic quartic

QUARTIC_SETTINGS = [
    (0.01, 0.05, 8),   # the paper's (step threshold gamma/eta = 5)
    (0.02, 0.1, 3),
    (0.005, 6.0, 5),   # gradient threshold 6: clipping on and off under the grad convention
]


@pytest.mark.parametrize("algo,convention", ALGO_CONV, ids=ALGO_CONV_IDS)
@pytest.mark.parametrize("eta,gamma,I", QUARTIC_SETTINGS)
@pytest.mark.parametrize("H", [1.0, 4.0])
@pytest.mark.parametrize("seed", [0, 7])
def test_episode_quartic_stochastic(algo, convention, eta, gamma, I, H, seed):
    res, xs, counts = kernel_and_reference(
        "episode-quartic", {"H": H}, ref.episode_quartic_grads(H), algo, convention, eta, gamma, I,
        rounds=50, seed=seed, noise=(rng.NOISE_UNIFORM, 1.0))
    # Tolerance 0 (tests/tolerances.py, last paragraph): the same correctly rounded operations in the same
    # order (Horner = numpy polyval, left-to-right sums, sqrt(g*g) = |g| in 1-D, SplitMix64 uniform noise
    # without transcendental functions), so no CPU may round them differently; assert_allclose reports
    # how far apart the traces are if a reordering in the kernel breaks that.
    np.testing.assert_allclose(res.x, xs, rtol=0, atol=0)
    assert np.array_equal(res.x, xs)
    assert_clip_fraction(res, counts)


@pytest.mark.parametrize("convention", ref.CONVENTIONS)
@pytest.mark.parametrize("algo", ref.ALGOS[1:])
def test_quartic_settings_exercise_both_branches(algo, convention):
    """At least one stochastic setting clips some but not all updates (both code paths are compared)."""
    fractions = []
    for eta, gamma, I in QUARTIC_SETTINGS:
        for H in (1.0, 4.0):
            counts = {}
            ref.reference_run(algo, ref.episode_quartic_grads(H), [1.0], 50, eta=eta, gamma=gamma,
                              local_steps=I, convention=convention,
                              noise_fn=ref.make_noise_fn("uniform", 1.0, 0), counts=counts)
            fractions.append(counts["clipped"] / counts["steps"])
    assert any(0.0 < f < 1.0 for f in fractions), fractions


# --------------------------------------------------------------------------- 2-D, 3 clients, Gaussian

def _poly2d_problem(sigma):
    """3 clients, d = 2: coordinate 0 quadratic x^2/2 + a_i x, coordinate 1 the EPISODE quartic with
    H h_i; stored as degree-4 rows (zeros padded) in the POLY layout."""
    rows = []
    for a, hh in [(-1.5, -1.0), (2.0, 2.0), (0.25, 0.5)]:
        rows.append([0.0, a, 0.5, 0.0, 0.0] + [0.0, 1.0, -hh, -3.0, 1.0])
    params = np.array(rows)
    prob = tb.Problem("poly-2d-test", POLY, params, 2, [0.5, 1.0], noise="gaussian", sigma=sigma)
    return prob, ref.poly_client_grads(rows, d=2)


@pytest.mark.parametrize("algo,convention", ALGO_CONV, ids=ALGO_CONV_IDS)
@pytest.mark.parametrize("eta,gamma,I", [(0.01, 0.05, 4), (0.02, 1.0, 3)])
def test_two_dimensional_gaussian(algo, convention, eta, gamma, I):
    prob, grads = _poly2d_problem(0.5)
    res, xs, counts = kernel_and_reference(prob, None, grads, algo, convention, eta, gamma, I,
                                           rounds=30, seed=3, noise=(rng.NOISE_GAUSSIAN, 0.5))
    # Norms of 2-vectors: numpy's norm goes through BLAS dot, which may round differently from the kernel's
    # loop on another machine; clipped steps g/|g| amplify that.
    # The tolerance is the reference's measured sensitivity to rounding (tests/tolerances.py): d = 2, one
    # oracle call per local step (I of them per round).
    atol = tol.reference_atol(
        lambda g: ref.reference_run(algo, g, prob.x0, 30, eta=eta, gamma=gamma if algo != "fedavg" else np.inf,
                                    local_steps=I, convention=convention or "step",
                                    noise_fn=ref.make_noise_fn(rng.NOISE_GAUSSIAN, 0.5, 3)),
        tol.local_rel(2), oracles=[grads], per_step=I)
    tol.assert_trajectory_close(res.x, xs, atol, what=f"{algo} iterates")
    assert_clip_fraction(res, counts)


# --------------------------------------------------------------------------- the noise generator

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def _splitmix_mix(z):
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _hash3(seed, stream, counter):
    h = _splitmix_mix((seed + _GOLDEN) & _MASK)
    h = _splitmix_mix((h + stream * _GOLDEN + _GOLDEN) & _MASK)
    return _splitmix_mix((h + counter * _GOLDEN + _GOLDEN) & _MASK)


def _uniform01(seed, stream, counter):
    return (_hash3(seed, stream, counter) >> 11) * 2.0 ** -53


def test_generator_matches_independent_splitmix():
    """``rng.hash3``/``uniform01``/``noise`` equal a pure-Python SplitMix64 (Python integers mod 2^64)."""
    for seed, stream, counter in [(0, 0, 0), (1, 0, 5), (7, 3, 123456), (2**40, 1, 2**33), (5, 2, 999)]:
        assert int(rng.hash3(seed, stream, counter)) == _hash3(seed, stream, counter)
        u = _uniform01(seed, stream, counter)
        assert rng.uniform01(seed, stream, counter) == u
        assert rng.noise(rng.NOISE_UNIFORM, 1.5, seed, stream, counter) == 1.5 * (1.0 - 2.0 * u)
        u1 = 1.0 - _uniform01(seed, stream, 2 * counter)
        u2 = _uniform01(seed, stream, 2 * counter + 1)
        z = 1.5 * math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        assert rng.noise(rng.NOISE_GAUSSIAN, 1.5, seed, stream, counter) == pytest.approx(z, rel=1e-14, abs=1e-15)
        assert rng.noise(rng.NOISE_NONE, 1.5, seed, stream, counter) == 0.0
        assert rng.noise(rng.NOISE_UNIFORM, 0.0, seed, stream, counter) == 0.0


N_DRAWS = 60_000


def _draws(kind, sigma, seed):
    """N_DRAWS values over 3 streams (clients) with the kernels' counter layout."""
    per = N_DRAWS // 3
    return np.array([rng.noise(kind, sigma, seed, i, c) for i in range(3) for c in range(per)])


@pytest.mark.parametrize("sigma,seed", [(1.0, 0), (2.5, 11)])
def test_uniform_noise_distribution(sigma, seed):
    """z ~ U(-sigma, sigma]: support, mean 0, E z^2 = sigma^2/3, within 6 standard errors."""
    z = _draws(rng.NOISE_UNIFORM, sigma, seed)
    n = z.size
    assert z.min() > -sigma and z.max() <= sigma
    assert abs(z.mean()) <= 6 * sigma / math.sqrt(3 * n)
    # Var(z^2) = E z^4 - (E z^2)^2 = sigma^4/5 - sigma^4/9 = 4 sigma^4/45
    assert abs(np.mean(z**2) - sigma**2 / 3) <= 6 * math.sqrt(4 * sigma**4 / 45 / n)
    # the histogram is flat: each of 10 bins holds n/10 +- 6 binomial standard errors
    counts, _ = np.histogram(z, bins=10, range=(-sigma, sigma))
    assert np.all(np.abs(counts - n / 10) <= 6 * math.sqrt(n * 0.1 * 0.9))


@pytest.mark.parametrize("sigma,seed", [(1.0, 0), (0.5, 11)])
def test_gaussian_noise_distribution(sigma, seed):
    """z ~ N(0, sigma^2): mean 0 and variance sigma^2 within 6 standard errors; P(|z| <= sigma) ~ 0.6827."""
    z = _draws(rng.NOISE_GAUSSIAN, sigma, seed)
    n = z.size
    assert abs(z.mean()) <= 6 * sigma / math.sqrt(n)
    # Var(z^2) = 3 sigma^4 - sigma^4 = 2 sigma^4
    assert abs(np.mean(z**2) - sigma**2) <= 6 * math.sqrt(2 * sigma**4 / n)
    p = math.erf(1 / math.sqrt(2))
    assert abs(np.mean(np.abs(z) <= sigma) - p) <= 6 * math.sqrt(p * (1 - p) / n)


def test_noise_streams_uncorrelated():
    """Different clients (streams) and neighbouring counters give uncorrelated draws."""
    per = 20_000
    a = np.array([rng.noise(rng.NOISE_UNIFORM, 1.0, 4, 0, c) for c in range(per)])
    b = np.array([rng.noise(rng.NOISE_UNIFORM, 1.0, 4, 1, c) for c in range(per)])
    assert abs(np.corrcoef(a, b)[0, 1]) <= 6 / math.sqrt(per)
    assert abs(np.corrcoef(a[:-1], a[1:])[0, 1]) <= 6 / math.sqrt(per)
