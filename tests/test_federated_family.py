"""The federated-family engine pieces: client sampling, noise models, the lower-bound instances
(values, gradients, constants checked against sympy), and the sampled kernels against the reference."""
import math

import numpy as np
import pytest
import sympy as sp

import theorybench as tb
from theorybench import rng
from theorybench.sampling import CYCLIC, UNIFORM, available_clients, sample_clients, sample_clients_reference

import reference_federated as ref


# --------------------------------------------------------------------------- sampling

def test_sampling_without_replacement_is_uniform_and_matches_reference():
    n, S, draws = 7, 3, 20000
    counts = np.zeros(n)
    avail = np.empty(n, dtype=np.int64)
    out = np.empty(n, dtype=np.int64)
    for r in range(draws):
        m = available_clients(UNIFORM, n, 1, 1, r, avail)
        k = sample_clients(5, r, avail, m, S, out)
        picked = out[:k].tolist()
        assert k == S and len(set(picked)) == S
        if r < 50:
            assert picked == sample_clients_reference(5, r, range(n), S)
        counts[picked] += 1
    p = S / n
    se = math.sqrt(draws * p * (1 - p))
    assert np.all(np.abs(counts - draws * p) < 6 * se)


def test_cyclic_participation_offers_one_group_at_a_time():
    n, K, P = 6, 2, 480
    avail = np.empty(n, dtype=np.int64)
    for r in (0, 1, 239, 240, 479, 480, 720):
        m = available_clients(CYCLIC, n, K, P, r, avail)
        g = (r % P) // (P // K)
        assert sorted(avail[:m].tolist()) == [i for i in range(n) if i % K == g]


# --------------------------------------------------------------------------- noise models

def _draws(kind, sigma, n=40000, seed=3):
    return np.array([rng.noise(kind, sigma, seed, 0, k) for k in range(n)])


def test_rademacher_noise():
    z = _draws(rng.NOISE_RADEMACHER, 0.7)
    assert set(np.unique(z)) == {-0.7, 0.7}
    assert abs(z.mean()) < 6 * 0.7 / math.sqrt(z.size)


def test_truncated_gaussian_is_bounded_symmetric_unimodal():
    sigma = 2.0
    z = _draws(rng.NOISE_TRUNCGAUSS, sigma)
    assert np.abs(z).max() <= sigma
    assert abs(z.mean()) < 6 * z.std() / math.sqrt(z.size)
    # variance of N(0, (sigma/2)^2) truncated at +-2 standard deviations
    s = sigma / 2
    phi = math.exp(-2) / math.sqrt(2 * math.pi)
    var = s**2 * (1 - 2 * 2 * phi / math.erf(2 / math.sqrt(2)))
    assert z.var() == pytest.approx(var, rel=0.05)
    hist, _ = np.histogram(np.abs(z), bins=8, range=(0, sigma))
    assert np.all(np.diff(hist) < 0)  # unimodal at 0


def test_noise_on_chosen_coordinates_only():
    prob = tb.make_problem("episode-quartic")
    prob.noise_coords = ()
    assert prob.noise_mask.tolist() == [0.0]


# --------------------------------------------------------------------------- lower-bound instances

X = sp.Symbol("x", real=True)


def _fd(prob, x, h=1e-6):
    return (prob.value([x + h]) - prob.value([x - h])) / (2 * h)


@pytest.mark.parametrize("name, settings", [
    ("lower-bound-a", dict(eps=0.05, L0=100.0, c=2.0, D=0.2)),
    ("lower-bound-a", dict(eps=0.1, L0=1.0, c=1.0, D=1.0)),
    ("lower-bound-b", dict(eta=2.0, M=1.0, L1=1.0)),
    ("lower-bound-b", dict(eta=0.5, M=3.0, L1=0.5)),
    ("lower-bound-c", dict(eps=0.05, L0=1.0, Delta=1.0)),
    ("lower-bound-c", dict(eps=0.2, L0=3.0, Delta=2.0)),
])
def test_lower_bound_gradients_match_finite_differences(name, settings):
    prob = tb.make_problem(name, **settings)
    for x in np.linspace(-3, 3, 61):
        assert prob.grad([x])[0] == pytest.approx(_fd(prob, x), rel=1e-5, abs=1e-6)


def test_regime_a_is_the_stated_mixture():
    eps, L0, c = 0.05, 1.0, 1.0
    prob = tb.make_problem("lower-bound-a", eps=eps, L0=L0, c=c, D=0.5)
    s, C, w = 2 * eps, 3 * 2 * eps + 2 * c, (3 * 2 * eps + 2 * c) / L0
    psi = sp.Piecewise((X, X >= 0), (X + X**2 / (2 * w), X >= -w), (-w / 2, True))
    for x in (-2 * w, -w, -w / 2, -0.1, 0.0, 0.3, 2.0):
        assert prob.value([x]) == pytest.approx(float((s * psi).subs(X, x)), rel=1e-12, abs=1e-14)
        assert prob.client_grad(2, [x])[0] == pytest.approx(float(sp.diff(C * psi, X).subs(X, x)), abs=1e-12)
    assert prob.constant("C") == C and prob.constant("w") == w
    # |f'| <= eps exactly from x = -w/2 down
    assert abs(prob.grad([-w / 2])[0]) == pytest.approx(eps)


def test_regime_b_cycle_and_class_membership():
    eta, M, L1 = 2.0, 1.0, 1.0
    prob = tb.make_problem("lower-bound-b", eta=eta, M=M, L1=L1, p=0.0)
    a, L0 = prob.constant("a"), prob.constant("L0")
    assert prob.grad([a])[0] == pytest.approx(M, rel=1e-14)
    assert a - eta * prob.grad([a])[0] == pytest.approx(-a, rel=1e-14)
    xs = np.linspace(-5, 5, 2001)
    A = prob.constant("A")
    fpp = A * L1**2 * np.cosh(L1 * xs)
    assert np.all(fpp <= L0 + L1 * np.abs([prob.grad([v])[0] for v in xs]) + 1e-12)
    # in the class with a given L0 iff eta >= (2/(L1 M)) arcsinh(M L1/L0): at the boundary, L0 matches
    eta_min = 2 / (L1 * M) * math.asinh(M * L1 / L0)
    assert eta_min == pytest.approx(eta, rel=1e-12)


def test_regime_c_start_has_gap_delta():
    prob = tb.make_problem("lower-bound-c", eps=0.05, L0=2.0, Delta=3.0)
    assert prob.value(prob.x0) == pytest.approx(3.0, rel=1e-14)
    assert abs(prob.grad([0.05 / 2.0])[0]) == pytest.approx(0.05)


# --------------------------------------------------------------------------- sampled kernels vs reference

@pytest.mark.parametrize("algo", ["fedavg", "local-clip", "episode", "clipped-minibatch", "episode++",
                                  "naive-parallel-clip"])
@pytest.mark.parametrize("S", [1, 2])
@pytest.mark.parametrize("seed", [0, 4])
def test_sampled_kernels_match_reference_on_three_clients(algo, S, seed):
    # three heterogeneous clients: regime A's ramp mixture is not a polynomial, so use polynomials here
    coefs = np.array([[0.0, -1.0, 0.5, 0.0, 0.1], [0.0, 2.0, 0.25, -0.2, 0.1], [0.0, 0.5, 1.0, 0.1, 0.1]])
    prob = tb.Problem("poly3", 0, coefs, 1, [1.5], noise="uniform", sigma=0.5)
    h = dict(eta=0.05, local_steps=3, clients_per_round=S)
    if algo != "fedavg":
        h.update(gamma=0.02, convention="step")
    res = tb.run(prob, algo, rounds=30, seed=seed, **h)
    xs = ref.reference_run(algo, ref.poly_client_grads(coefs), prob.x0, 30, eta=0.05, gamma=h.get("gamma", np.inf),
                           local_steps=3, convention="step", noise_fn=ref.make_noise_fn(rng.NOISE_UNIFORM, 0.5, seed),
                           clients_per_round=S, seed=seed)
    np.testing.assert_array_equal(res.x[:, 0], np.array(xs)[:, 0])


def test_regimes_a_and_c_are_L0_smooth_by_sympy():
    # regime A: every client's second derivative is at most L0 (= C/w for the largest client)
    eps, L0, c = 0.05, 100.0, 2.0
    prob = tb.make_problem("lower-bound-a", eps=eps, L0=L0, c=c, D=0.2)
    w, C = prob.constant("w"), prob.constant("C")
    psi = sp.Piecewise((X, X >= 0), (X + X**2 / (2 * w), X >= -w), (-w / 2, True))
    for coef in (-c, -c, C):
        second = sp.piecewise_fold(sp.diff(coef * psi, X, 2))
        pieces = [float(abs(expr)) for expr, _ in second.args]
        assert max(pieces) <= L0 * (1 + 1e-12)
    assert prob.constant("M") == C
    # regime C: f'' = L0 inside |x| < 2 eps/L0 and 0 outside; Delta = f(x0)
    eps, L0, Delta = 0.05, 2.0, 3.0
    a = 2 * eps / L0
    h = sp.Piecewise((2 * eps * X - 2 * eps**2 / L0, X >= a), (-2 * eps * X - 2 * eps**2 / L0, X <= -a),
                     (L0 / 2 * X**2, True))
    assert max(float(abs(e)) for e, _ in sp.piecewise_fold(sp.diff(h, X, 2)).args) == pytest.approx(L0)
    x0 = tb.make_problem("lower-bound-c", eps=eps, L0=L0, Delta=Delta).x0[0]
    assert float(h.subs(X, x0)) == pytest.approx(Delta, rel=1e-12)


def test_clipped_step_from_a_huge_gradient_has_length_gamma():
    # ||g||^2 overflows float64 here (|g| ~ 1e204): the clipped step must still be gamma long, not zero
    prob = tb.Problem("cosh2", 2, np.array([[1.0, 1.0]]), 2, [470.0, 1.0])
    with np.errstate(over="ignore"):
        assert np.isinf(np.sum(prob.grad(prob.x0) ** 2))
    r = tb.run(prob, "clipped-minibatch", eta=0.1, gamma=0.5, local_steps=1, rounds=1)
    assert np.linalg.norm(r.x[1] - r.x[0]) == pytest.approx(0.5, rel=1e-12)
