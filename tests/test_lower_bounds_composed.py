"""The lower-bound instances of clipped minibatch SGD (``problems/lower_bounds.py``: ``lower-bound-a`` RAMP,
``lower-bound-b`` COSH, ``lower-bound-c`` HUBER; d = 1) run every federated method through composed kernels
(``theorybench.compose``, families ``ramp1``, ``cosh1``, ``huber1``).

* Bit-identity with the generic federated kernel (``theorybench.kernels.federated``, reached by removing the
  method from ``declare.ROUTED``): trace (x, f, |f'|) and every statistic, for every federated method, both
  clipping conventions, several seeds, clipped and unclipped steps, I = 1 and 3, client sampling (regime A's
  N = 3, S = 1), noise off (as the instances are) and on (uniform on regime A, Gaussian on regime C for the
  claims' methods: the draw is the template's, the same for every family), dense and sparse records,
  positive and negative targets, diverging runs (regime B's escaping orbit overflows). Tolerance 0: the
  composed pieces perform the generic kernel's floating-point operations in the same order (the value's sum
  over coordinates from 0.0, ``sqrt(g*g) = |g|`` for the 1-D norm, the same cosh/sinh calls).
* The claims' own batches (LB-A, LB-B, LB-C at reduced size): the same numbers on both kernels.
* The same numbers on 1 thread and on every Numba thread.
* Each family's ``safe_radius`` is sound: inside it |f_i| and |f_i'| stay below 1e149 (checked on the generic
  ``families`` functions at points up to the radius), and the cheap-statistics mode keeps the divergence round.
"""
import dataclasses

import numba
import numpy as np
import pytest

import theorybench as tb
from theorybench import compose, declare, families
from theorybench.errors import TheoryBenchError

METHODS = ("fedavg", "local-clip", "episode", "clipped-minibatch", "episode++", "naive-parallel-clip")
CLIPPING = METHODS[1:]

# instances: the claims' settings and a second one each
INSTANCES = {
    "lower-bound-a": [dict(eps=0.05, L0=100.0, c=2.0, D=0.2), dict(eps=0.1, L0=1.0, c=1.0, D=0.5)],
    "lower-bound-b": [dict(eta=2.0, M=1.0, L1=1.0, p=1e-9), dict(eta=2.0, M=1.0, L1=1.0, p=-1e-9),
                      dict(eta=1.0, M=2.0, L1=0.5, p=1e-6)],
    "lower-bound-c": [dict(eps=0.05, L0=1.0, Delta=1.0), dict(eps=0.2, L0=3.0, Delta=2.0)],
}
# (eta, gamma): clipped at every step, clipped sometimes, never clipped (regime B's eta = 2 unclipped escapes
# and overflows within the horizon)
HYPER = {
    "lower-bound-a": [(0.1, 0.1), (0.5, 0.05), (0.1, 1e300)],
    "lower-bound-b": [(2.0, 4.0), (1.0, 1.5), (2.0, 1e300), (0.3, 0.2)],
    "lower-bound-c": [(0.1, 0.01), (0.5, 0.3), (0.2, 1e300)],
}
SEEDS = (0, 1, 5)
ROUNDS = 60


def _compare(a, b):
    """``run_batch`` tuples (rec, x, loss, grad_norm, NamedStats): equal bit for bit (NaN where NaN)."""
    for u, v, what in zip(a[:4], b[:4], ("rec", "x", "loss", "grad_norm")):
        assert np.array_equal(u, v, equal_nan=True), what
    assert list(a[4].names) == list(b[4].names)
    for k in a[4].names:
        assert np.array_equal(a[4][k], b[4][k], equal_nan=True), k


def _batch(name, method, noise=None):
    """Every (instance, eta, gamma, convention, I, S, seed) of ``name`` for ``method``."""
    alg = tb.get_algorithm(method)
    problems, settings, seeds = [], [], []
    for kw in INSTANCES[name]:
        prob = tb.make_problem(name, **kw)
        if noise is not None:
            prob = dataclasses.replace(prob, noise=noise[0], sigma=noise[1])
        for eta, gamma in HYPER[name]:
            for conv in ("step", "grad"):
                for I in (1, 3):
                    for S in ((0, 1) if prob.n_clients > 1 else (0,)):
                        h = dict(eta=eta, local_steps=I, clients_per_round=S)
                        if method != "fedavg":
                            h.update(gamma=gamma, convention=conv)
                        elif conv == "grad":
                            continue
                        for s in SEEDS:
                            problems.append(prob)
                            settings.append(alg.resolve(h))
                            seeds.append(s)
    return alg, problems, settings, seeds


def _both(alg, problems, settings, seeds, monkeypatch, rounds=ROUNDS, **kw):
    """The batch on its composed kernel, then on the generic federated kernel."""
    assert compose.routed(alg, problems, "numba")
    a = tb.run_batch(alg, problems, settings, seeds, rounds, **kw)
    with monkeypatch.context() as m:
        m.delitem(declare.ROUTED, alg.name)
        assert not compose.routed(alg, problems, "numba")
        b = tb.run_batch(alg, problems, settings, seeds, rounds, **kw)
    return a, b


# ------------------------------------------------------------------------------------ routing

@pytest.mark.parametrize("name,family", [("lower-bound-a", "ramp1"), ("lower-bound-b", "cosh1"),
                                         ("lower-bound-c", "huber1")])
def test_every_federated_method_is_routed(name, family):
    prob = tb.make_problem(name)
    assert compose.accepts(prob) and declare.family_for(prob).name == family
    for m in METHODS:
        alg = tb.get_algorithm(m)
        assert compose.routed(alg, [prob], "numba"), m
        assert not compose.routed(alg, [prob], "numpy"), m


def test_a_family_refuses_another_layout():
    with pytest.raises(TheoryBenchError, match="ramp"):
        declare.FAMILIES["ramp1"].rows(tb.make_problem("lower-bound-b"))


# ------------------------------------------------------------------------------------ bit-identity

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(INSTANCES))
def test_composed_bit_identical_to_generic_noise_free(name, method, monkeypatch):
    """The instances as they are (noise-free): dense record, every statistic; then the default sparse record
    with a positive target and a negative one (the run stops at the first running-average crossing)."""
    alg, problems, settings, seeds = _batch(name, method)
    a, b = _both(alg, problems, settings, seeds, monkeypatch, record=list(range(ROUNDS + 1)))
    _compare(a, b)
    if name == "lower-bound-b":
        div = a[4]["diverged_round"]
        assert (div >= 0).any() and (div < 0).any(), "the batch must contain diverging and converging runs"
    if method in CLIPPING:
        frac = a[4]["clipped_fraction"]
        assert (frac > 0).any() and (frac == 0).any(), "the batch must clip somewhere, and somewhere not"
    n = len(problems)
    for target in (0.05, -0.3):
        _compare(*_both(alg, problems, settings, seeds, monkeypatch, targets=[target] * n))


@pytest.mark.parametrize("method", METHODS)
def test_composed_bit_identical_to_generic_with_noise(method, monkeypatch):
    """Uniform noise U(-sigma, sigma] on every stochastic gradient (client i's k-th draw: stream i, counter k,
    on both kernels), on regime A (three clients, with and without sampling). The noise draw is the
    template's, the same for every family, so one instance covers it (each combination is one more compiled
    kernel)."""
    alg, problems, settings, seeds = _batch("lower-bound-a", method, noise=("uniform", 0.3))
    a, b = _both(alg, problems, settings, seeds, monkeypatch, record=list(range(ROUNDS + 1)),
                 targets=[0.05] * len(problems))
    _compare(a, b)


@pytest.mark.parametrize("method", ["clipped-minibatch", "episode++"])
def test_composed_bit_identical_to_generic_gaussian_noise(method, monkeypatch):
    """Another noise model (rng.noise, not the uniform shortcut), for the claims' two methods."""
    alg, problems, settings, seeds = _batch("lower-bound-c", method, noise=("gaussian", 0.5))
    _compare(*_both(alg, problems, settings, seeds, monkeypatch))


# ------------------------------------------------------------------------------------ the claims' batches

def test_lb_a_batch_bit_identical(monkeypatch):
    """LB-A's sweeps (clipped minibatch SGD, I = 1, S = 1 of 3 and the control's S = 3), fewer runs."""
    from paper_checks import episode_pp_neurips23 as pp
    eta, gamma = pp.LB_A["eta"], pp.LB_A["gamma"]
    alg = tb.get_algorithm("clipped-minibatch")
    for S in (1, 3):
        problems, settings, seeds = [], [], []
        for k in (1, 2, 3, 4):
            prob = tb.make_problem("lower-bound-a", eps=pp.LB_A["eps"], L0=pp.LB_A["L0"], c=2 * gamma / eta,
                                   D=k * gamma)
            for s in range(64):
                problems.append(prob)
                settings.append(alg.resolve(dict(eta=eta, gamma=gamma, local_steps=1, clients_per_round=S)))
                seeds.append(s)
        a, b = _both(alg, problems, settings, seeds, monkeypatch, rounds=400, record=[400],
                     targets=[pp.LB_A["eps"]] * len(problems))
        _compare(a, b)
        reached = a[4]["first_below_target"] >= 0
        if S == 1:
            assert reached.any() and not reached.all()


def test_lb_b_batch_bit_identical(monkeypatch):
    """LB-B's quick grid from just outside (p = 1e-9) and just inside (the control) the 2-cycle."""
    from paper_checks import episode_pp_neurips23 as pp
    etas, Ms, L1s = pp.lb_b_grid("quick")
    alg = tb.get_algorithm("clipped-minibatch")
    for p in (1e-9, -1e-9):
        problems, settings = [], []
        for e in etas:
            for M in Ms:
                for L1 in L1s:
                    problems.append(tb.make_problem("lower-bound-b", eta=e, M=M, L1=L1, p=p))
                    settings.append(alg.resolve(dict(eta=e, gamma=2 * e * M, local_steps=1)))
        _compare(*_both(alg, problems, settings, [0] * len(problems), monkeypatch, rounds=200))


@pytest.mark.parametrize("method", ["clipped-minibatch", "episode++"])
def test_lb_c_batch_bit_identical(method, monkeypatch):
    """LB-C's quick grid (its stepsize rules; rounds to eps on a shorter horizon, where most runs arrive)."""
    from paper_checks import episode_pp_neurips23 as pp
    rule = pp._clipped_minibatch_rule if method == "clipped-minibatch" else pp._episode_pp_rule
    alg = tb.get_algorithm(method)
    problems, settings, targets = [], [], []
    for M in (10.0, 20.0, 40.0, 80.0):
        for eps in (0.2, 0.1, 0.05):
            eta, gamma = rule(M)
            problems.append(tb.make_problem("lower-bound-c", eps=eps, L0=pp.LB_C["L0"], Delta=pp.LB_C["Delta"]))
            settings.append(alg.resolve(dict(eta=eta, gamma=gamma, local_steps=1)))
            targets.append(eps)
    a, b = _both(alg, problems, settings, [0] * len(problems), monkeypatch, rounds=3000, record=[3000],
                 targets=targets)
    _compare(a, b)
    assert (a[4]["first_below_target"] >= 0).any()


# ------------------------------------------------------------------------------------ threads

@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", list(INSTANCES))
def test_thread_count_invariance(name, method):
    """1 thread and every Numba thread (1 on a one-thread machine): the same numbers (regime A with noise)."""
    noise = ("uniform", 0.3) if name == "lower-bound-a" else None
    alg, problems, settings, seeds = _batch(name, method, noise=noise)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = tb.run_batch(alg, problems, settings, seeds, ROUNDS)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)
        b = tb.run_batch(alg, problems, settings, seeds, ROUNDS)
    finally:
        numba.set_num_threads(before)
    _compare(a, b)


# ------------------------------------------------------------------------------------ safe radius

def _rows_cases():
    rng_ = np.random.default_rng(0)
    cases = {"ramp1": [], "cosh1": [], "huber1": []}
    for _ in range(40):
        K = 10.0 ** rng_.uniform(-5, 100)
        cases["ramp1"].append(np.array([[rng_.choice([-1, 1]) * K, 10.0 ** rng_.uniform(-5, 40)],
                                        [K / 3, 10.0 ** rng_.uniform(-5, 40)]]))
        cases["cosh1"].append(np.array([[10.0 ** rng_.uniform(-100, 140), rng_.choice([-1, 1]) *
                                         10.0 ** rng_.uniform(-5, 5)]]))
        cases["huber1"].append(np.array([[10.0 ** rng_.uniform(-50, 60), 10.0 ** rng_.uniform(-60, 60)]]))
    for name in ("lower-bound-a", "lower-bound-b", "lower-bound-c"):
        for kw in INSTANCES[name]:
            p = tb.make_problem(name, **kw)
            cases[declare.family_for(p).name].append(p.params)
    return cases


@pytest.mark.parametrize("fam", ["ramp1", "cosh1", "huber1"])
def test_safe_radius_is_sound(fam):
    """Inside the radius every client's f_i and f_i' (the generic ``families`` code) stay below 1e149 in
    magnitude; the radius is at most 1e150 and 0 for rows outside its derivation."""
    tb.make_problem("lower-bound-a")
    family = declare.FAMILIES[fam]
    code = family.code
    tested = 0
    for rows in _rows_cases()[fam]:
        rho = family.safe_radius(rows)
        assert 0.0 <= rho <= 1e150
        if rho == 0.0:
            continue
        tested += 1
        xs = np.concatenate([rho * np.array([0.0, 1e-12, 0.5, 0.999999, np.nextafter(1.0, 0.0)]),
                             rows[:, 1].ravel(), -rows[:, 1].ravel() / 2])
        xs = xs[np.abs(xs) < rho]
        for x in np.concatenate([xs, -xs]):
            for c in rows:
                out = np.empty(1)
                v = families.client_value(code, c, np.array([x]))
                families.client_grad(code, c, np.array([x]), out)
                # the composed pieces are the same arithmetic
                assert v == family.value(c, x)
                assert out[0] == family.grad(c, x)
                assert abs(v) < 1e149 and abs(out[0]) < 1e149, (rows, x, v, out[0])
    assert tested >= 10
    for bad in (np.array([[np.inf, 1.0]]), np.array([[np.nan, 1.0]]), np.array([[1.0, 1.0, 1.0]])):
        assert family.safe_radius(bad) == 0.0
    if fam != "cosh1":
        assert family.safe_radius(np.array([[1.0, 0.0]])) == 0.0
        assert family.safe_radius(np.array([[1.0, -1.0]])) == 0.0


@pytest.mark.parametrize("method", ["clipped-minibatch", "local-clip"])
def test_cheap_statistics_keep_divergence_and_trace(method):
    """Asking only for diverged_round, clipped_fraction, max_abs_x: f and f' off the record schedule only
    beyond the safe radius; regime B's overflow round, the clipped fraction, max |x| and the recorded trace
    are those of the full statistics."""
    alg, problems, settings, seeds = _batch("lower-bound-b", method)
    rec = np.array([0, 3, 17, ROUNDS])
    x0s = [p.x0 for p in problems]
    full = compose.run_batch_group(alg, problems, settings, seeds, ROUNDS, rec, x0s, None, "numba", {})
    cheap = compose.run_batch_group(alg, problems, settings, seeds, ROUNDS, rec, x0s, None, "numba", {},
                                    stats=("diverged_round", "clipped_fraction", "max_abs_x"))
    for u, v in zip(full[:4], cheap[:4]):
        assert np.array_equal(u, v, equal_nan=True)
    names = list(compose.STAT_NAMES)
    for k in ("diverged_round", "clipped_fraction", "max_abs_x"):
        j = names.index(k)
        assert np.array_equal(full[4][:, j], cheap[4][:, j]), k
    assert (full[4][:, names.index("diverged_round")] >= 0).any()
