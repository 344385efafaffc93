"""The single-machine methods on the vector template (``theorybench.methods.single_vector``,
``methods.first_order_vector``) against the single kernel (``theorybench.kernels.single``) on the instances of
``problems/smooth_polynomials.py`` that run on the vector template: the same problem built as a legacy
``Problem`` from the engine's family code, the same seeds and hyperparameters, and the results compared **bit for
bit** (iterates, f, ||grad f||, the running statistics). Both sides run the same IEEE-754 operations in the same
order (the families' value and gradient, the noise draws, the methods' updates are transcribed operation for
operation), so no tolerance is needed; ``assert_array_equal`` treats +0 and -0 as equal (the old oracle adds
``0.0 + g`` and divides by 1 for one client, which turns a -0 gradient entry into +0 and changes nothing
else). Then the NumPy references of ``tests/reference_single.py`` against the new path, with the tolerances of
``tests/test_single.py`` (derived there)."""
import numpy as np
import pytest

import theorybench as tb
from theorybench import families as F
from theorybench.algorithms import VARIANTS
from theorybench.declare_vector import VectorProblem
from theorybench.problem import Problem
from theorybench.runner import run_batch

import reference_federated as reff
import reference_single as ref
import tolerances as tol
from problems.smooth_polynomials import quartic_clients_vector, with_noise


def legacy(prob):
    """The same instance as a legacy ``Problem`` on the engine's family code (``theorybench.families``)."""
    a, name = prob.arrays, prob.name
    code, params = {
        "extremal": lambda: (F.EXTREMAL, [[a["L0"], a["L1"]]]),
        "monomial": lambda: (F.MONOMIAL, [[a["A"], a["p"]]]),
        "abs-power": lambda: (F.ABSPOW, [[a["p"], a["radial"]]]),
        "exp": lambda: (F.EXPA, [[a["a"]]]),
        "cosh": lambda: (F.COSH, [[a["A"], a["k"]]]),
        "huber": lambda: (F.HUBER1, [[a["h_eps"], a["h_L0"]]]),
        "quartic-clients": lambda: (F.QUARTIC, a["b"]),
    }[name]()
    coords = tuple(int(j) for j in np.flatnonzero(a["noise_mask"])) if not a["noise_mask"].all() else None
    return Problem(name, code, np.array(params, dtype=float), prob.dim, prob.x0.copy(), noise=prob.noise,
                   sigma=prob.sigma, noise_coords=coords)


SCHED = [dict(schedule="power", eta=0.4, power=0.7), dict(schedule="random", eta=0.3),
         dict(schedule="polyak", alpha_max=2.0)]
METHODS = [
    ("gd", dict(eta=0.05)),
    ("l0l1-gd", dict(eta=0.7, L0=4.0, L1=3.0)),
    ("clipped-gd", dict(eta=0.3, gamma=0.2, convention="step")),
    ("clipped-gd", dict(eta=0.3, gamma=0.7, convention="grad")),
    ("normalized-gd", dict(R_hat=1.3)),
    ("polyak", dict(f_star=0.0)),
    ("adgd", dict(lambda0=1e-3)),
    ("generalized-signsgd", dict(eta=0.05, beta1=0.8, beta2=0.99, eps=1e-8)),
    ("generalized-signsgd", dict(eta=0.05, beta1=0.9, beta2=0.5, eps=0.0)),
    ("signsgd", dict(eta=0.05)),
    ("signsgd-momentum", dict(eta=0.05, beta1=0.8, eps=1e-8)),
    ("adam", dict(eta=0.05, beta1=0.9, beta2=0.999, eps=1e-8)),
    ("adagrad-norm", dict(eta=0.5, gamma=0.3)),
    ("decorrelated-adagrad-norm", dict(eta=0.5, gamma=0.3)),
    ("adagrad", dict(eta=0.5, gamma=0.3)),
    ("decorrelated-adagrad", dict(eta=0.5, gamma=0.3)),
    ("ef21", dict(eta=0.05, k=2, compressor="topk")),
    ("ef21", dict(eta=0.05, k=2, compressor="randk")),
] + [(m, dict(s)) for m in ("gd", "clipped-gd", "signsgd", "adam", "adagrad-norm", "ef21") for s in SCHED]

# instances (problem, settings, start, noise, start of the NumPy reference test): exact and noisy; starts where
# the steps differ across coordinates (some runs diverge: the divergence is compared too); the reference test
# starts where every method converges
INSTANCES = {
    "extremal": [("extremal", dict(L0=1.0, L1=2.0, d=3), [0.9, -1.7, 0.4], None, [0.3, -0.25, 0.1]),
                 ("extremal", dict(L0=1.0, L1=1.0, d=2), [3.0, -1e-4], ("uniform", 0.3), [1.0, -1e-4])],
    "monomial": [("monomial", dict(p=4, d=3), [0.9, -1.7, 0.4], None, [0.5, -0.4, 0.2]),
                 ("monomial", dict(p=6, d=2), [1.5, -1e-3], ("gaussian", 0.2), [0.6, -1e-3])],
    "abs-power": [("abs-power", dict(p=3.0, d=3, radial=1), [0.9, -1.7, 0.4], None, [0.9, -1.7, 0.4]),
                  ("abs-power", dict(p=3.5, d=3, radial=0), [0.9, -1.7, 0.0], ("gaussian", 0.1), [0.9, -1.7, 0.4])],
    "exp": [("exp", dict(a=1.0, d=3), [0.9, -1.7, 0.4], None, [0.9, -1.7, 0.4]),
            ("exp", dict(a=-1.3, d=2), [2.5, -3.0], ("truncated-gaussian", 0.2), [0.5, -0.3])],
    "cosh": [("cosh", dict(L0=1.0, L1=1.0, d=3), [0.9, -1.7, 0.4], None, [0.5, -0.4, 0.2]),
             ("cosh", dict(L0=2.0, L1=0.5, d=2), [4.0, -1e-3], ("rademacher", 0.3), [0.7, -1e-3])],
    "huber": [("huber", dict(eps=0.05, L0=1.0, Delta=1.0, sigma=1.0), None, "keep", None),
              ("huber", dict(eps=0.2, L0=2.0, Delta=0.5, sigma=0.5, noise="uniform"), None, "keep", None),
              ("huber", dict(eps=0.05, L0=1.0, Delta=1.0, sigma=0.0), None, "keep", None)],
    # not yet the registered problem (normalized EF21 needs the horizon T): quartic_clients_vector
    "quartic-clients": [("quartic-clients", dict(n=3, d=6, data_seed=1, x0=0.3), None, "keep", None),
                        ("quartic-clients", dict(n=3, d=8, data_seed=2), [3.0] * 8, ("gaussian", 1.0),
                         [0.3] * 8)],
}
CASES = [(p, k) for p in INSTANCES for k in range(len(INSTANCES[p]))]
# every method on the noisy instances (a kernel per method, family and noise model: compiling dominates the
# cost); on the exact ones (the noise-free kernels) a method of each kind
EXACT_METHODS = ("gd", "polyak", "adam", "decorrelated-adagrad-norm", "ef21")
# the gd family of methods.first_order_vector draws one noise vector per step on f (the instance's stochastic
# gradient, stream 0), the single kernel one per client: on a noisy instance with several clients (quartic-clients
# with noise, where no claim runs them) they are different methods
GD_FAMILY = ("gd", "l0l1-gd", "clipped-gd", "normalized-gd")
BIT_CASES = [(p, k, m, h) for p, k in CASES for m, h in METHODS
             if (INSTANCES[p][k][3] is not None or (m in EXACT_METHODS and "schedule" not in h))
             and not (p == "quartic-clients" and INSTANCES[p][k][3] not in (None, "keep") and m in GD_FAMILY)]
BIT_IDS = [f"{p}-{k}-{m}-{METHODS.index((m, h))}" for p, k, m, h in BIT_CASES]


def _instance(name, k, for_reference=False):
    pname, settings, x0, noise, ref_x0 = INSTANCES[name][k]
    x0 = ref_x0 if for_reference else x0
    prob = quartic_clients_vector(**settings) if pname == "quartic-clients" else tb.make_problem(pname, **settings)
    if noise == "keep":  # the instance's own noise model (huber: noise on the flat x_2 only)
        return prob
    prob = with_noise(prob, *noise, x0=x0) if noise else with_noise(prob, "none", 0.0, x0=x0)
    assert isinstance(prob, VectorProblem)
    return prob


def _variant(name, kernel):
    return next(a for a in VARIANTS[name] if a.kernel == kernel)


def _both(prob, algo, h, T, seeds=(3, 11), stats="all", targets=None):
    out = []
    for p, kernel in ((prob, "vector"), (legacy(prob), "single")):
        alg = _variant(algo, kernel)
        n = len(seeds)
        ex = {}
        res = run_batch(alg, [p] * n, [alg.resolve(h)] * n, list(seeds), T, record=np.arange(T + 1), extra=ex,
                        stats=stats, targets=targets)
        out.append(res)
    return out


def _assert_same(new, old, names=("diverged_round", "first_below_target", "max_abs_x")):
    (_, x1, l1, g1, s1), (_, x0, l0, g0, s0) = new, old
    np.testing.assert_array_equal(x1, x0)
    np.testing.assert_array_equal(l1, l0)
    np.testing.assert_array_equal(g1, g0)
    for k in names:
        np.testing.assert_array_equal(s1[k], s0[k], err_msg=k)


@pytest.mark.parametrize("name,k,algo,h", BIT_CASES, ids=BIT_IDS)
def test_vector_matches_single_kernel_bit_for_bit(name, k, algo, h):
    prob = _instance(name, k)
    try:
        new, old = _both(prob, algo, h, 60)
    except SystemError as e:
        # the single kernel raises ZeroDivisionError in clipped GD's threshold gamma/eta when a Polyak step
        # is 0 (f(x_t) = f_lower): its pieces compile with Numba's Python error model. The vector pieces use
        # IEEE division (gamma/0 = inf: no clipping, a step of 0), so only the new path has an answer here.
        assert algo == "clipped-gd" and h.get("schedule") == "polyak" and "ZeroDivision" in repr(e.__cause__)
        alg = _variant(algo, "vector")
        res = run_batch(alg, [prob], [alg.resolve(h)], [3], 60, record=np.arange(61))
        assert np.isfinite(res[1]).all()
        return
    _assert_same(new, old)
    if algo == "clipped-gd":
        np.testing.assert_array_equal(new[4]["clipped_fraction"], old[4]["clipped_fraction"])


@pytest.mark.parametrize("case", CASES, ids=[f"{p}-{k}" for p, k in CASES])
def test_gradient_norm_statistics_and_targets_match(case):
    """min_grad_norm, argmin_round, the sums and the target crossings (also the early stop of a negative
    target) are the single kernel's numbers."""
    prob = _instance(*case)
    names = ("diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round", "grad_norm_sum",
             "first_average_below_target")
    noisy_clients = case[0] == "quartic-clients" and INSTANCES[case[0]][case[1]][3] not in (None, "keep")
    for algo, h in (("decorrelated-adagrad-norm", dict(eta=0.5, gamma=0.3)), ("gd", dict(eta=0.05))):
        if noisy_clients and algo in GD_FAMILY:  # see GD_FAMILY
            continue
        for tg in (0.5, -0.5):
            new, old = _both(prob, algo, h, 200, stats=list(names[3:]), targets=[tg, tg])
            _assert_same(new, old, names)


def test_divergence_round_matches():
    """Overflow of the extremal function: the same diverged_round and max_abs_x (the family's safe radius
    leaves f unevaluated between records only where it cannot overflow)."""
    prob = with_noise(tb.make_problem("extremal", L0=1.0, L1=1.0, d=10, x0=30.0), "gaussian", 0.5)
    for algo, h in (("gd", dict(eta=0.1)), ("decorrelated-adagrad-norm", dict(eta=10.0, gamma=1.0))):
        for rec in (np.arange(51), np.array([0, 50])):
            res = []
            for p, kernel in ((prob, "vector"), (legacy(prob), "single")):
                alg = _variant(algo, kernel)
                res.append(run_batch(alg, [p] * 2, [alg.resolve(h)] * 2, [0, 1], 50, record=rec))
            assert (res[0][4]["diverged_round"] >= 0).all()
            for k in ("diverged_round", "max_abs_x"):
                np.testing.assert_array_equal(res[0][4][k], res[1][4][k])


# ------------------------------------------------------------------ the NumPy references on the new path

REF_METHODS = [(m, h) for m, h in METHODS if h.get("eps", 1.0) != 0.0]
# quartic-clients is not switched (its references run in tests/test_single.py on the single kernel, which the
# vector path equals bit for bit); AdGD on huber: on the linear part of the Huber function g is constant, so its
# step ||x_t - x_{t-1}||/(2 ||g_t - g_{t-1}||) is a ratio of rounding errors (the measured tolerance is 1e13)
REF_CASES = [(p, k, m, h) for p, k in CASES for m, h in REF_METHODS
             if p != "quartic-clients" and not (p == "huber" and m == "adgd")]


@pytest.mark.parametrize("name,k,algo,h", REF_CASES,
                         ids=[f"{p}-{k}-{m}-{METHODS.index((m, h))}" for p, k, m, h in REF_CASES])
def test_vector_path_matches_numpy_reference(name, k, algo, h):
    """tests/reference_single.py against the vector path; the tolerance is the reference's measured
    sensitivity to rounding (tests/tolerances.py, as in tests/test_single.py)."""
    T = 40
    prob = _instance(name, k, for_reference=True)
    res = tb.run(prob, algo, steps=T, seed=3, **h)
    draw = None if prob.noise == "none" else reff.make_noise_fn(prob.noise, prob.sigma, 3)
    mask = prob.arrays["noise_mask"]
    noise_fn = None if draw is None else (lambda i, k, d: draw(i, k, d) * mask)  # huber: x_2 only

    def run(grads, value):
        return ref.reference_run(algo, grads, value, prob.x0, T, noise_fn=noise_fn, seed=3, **h)
    grads = [(lambda i: (lambda x: prob.client_grad(i, x)))(i) for i in range(prob.n_clients)]
    oracle = [grads, prob.value]
    xs = run(*oracle)
    n = prob.n_clients
    atol = tol.reference_atol(run, tol.local_rel(prob.dim, extra=n if n > 1 else 0), oracles=oracle)
    # sign, clipped and normalized steps do not shrink with the gradient: near the minimiser they oscillate at
    # the step's scale, where last-bit differences are amplified (tests/tolerances.py); the comparison covers
    # the steps before the tolerance reaches HORIZON_REL of the scale: at least half the run for those, three
    # quarters for the others (adaptive steps amplify too, less)
    shrinking = algo not in ("signsgd", "signsgd-momentum", "generalized-signsgd", "clipped-gd", "normalized-gd")
    tol.assert_trajectory_close(res.x, np.array(xs), atol, what=f"{algo} iterates",
                                min_horizon=3 * T // 4 if shrinking else T // 2)


# ------------------------------------------------------------------ normalized EF21 and the horizon T

def test_normalized_ef21_and_quartic_clients_follow_the_horizon():
    """normalized EF21's step gamma0/sqrt(T + 1) needs the run's horizon T: until the vector template hands it to
    the pieces (``steps`` in ``declare_vector.FIXED``) normalized EF21 has no vector variant and
    ``quartic-clients`` stays on the single kernel; once it does, both switch and the numbers are the single
    kernel's bit for bit."""
    from theorybench.declare_vector import FIXED
    from theorybench.methods import single_vector
    horizon = "steps" in FIXED
    assert single_vector.HORIZON == horizon
    kernels = {a.kernel for a in VARIANTS["normalized-ef21"]}
    assert ("vector" in kernels) == horizon
    assert isinstance(tb.make_problem("quartic-clients", n=2, d=3), VectorProblem) == horizon
    if not horizon:
        return
    for prob in (quartic_clients_vector(3, 6, 1, 0.3), with_noise(quartic_clients_vector(3, 8, 2), "gaussian", 1.0)):
        for h in (dict(gamma0=1.0, k=2, compressor="topk"), dict(gamma0=1.0, k=3, compressor="randk")):
            new, old = _both(prob, "normalized-ef21", h, 80)
            _assert_same(new, old)
