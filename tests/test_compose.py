"""Composed kernels (``theorybench.compose``) from declared pieces (``theorybench.declare``).

* CELGC (``local-clip``) on ``episode-quartic`` runs through its composed kernel: bit-identical to the
  generic ``federated`` kernel (trace and every statistic, diverging configurations included), equal to the
  NumPy reference of ``tests/reference_federated.py`` (tolerance 0, see ``tests/tolerances.py``), the same on
  1 and 2 threads.
* Every routed combination (``ROUTES``: ``local-clip``, ``fedavg``, ``episode`` on ``episode-quartic`` and
  ``two-client-quadratic``): bit-identical to the generic kernel over a grid with diverging runs, with client
  sampling and another noise model, the same on 1 and 2 threads, equal to the NumPy reference (tolerance 0).
  EPISODE uses the round-start pieces; a user's EPISODE declared with them gives the library's numbers.
* The on-disk cache: a second process loads the kernel without compiling; editing a piece renames the module.
* A user's method declared outside the engine (``tests/user_method_example.py``) runs through ``run`` and
  ``sweep`` on the two scalar federated problems, equal to a NumPy reference written from its pseudocode; a
  problem it does not fit, or a bad declaration, gets a clear error; the ``theorybench.methods`` entry points.
"""
import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import numba
import numpy as np
import pytest
from numba import njit

import theorybench as tb
from theorybench import algorithms, compose, declare, rng
from theorybench.errors import TheoryBenchError

import reference_federated as ref

HERE = Path(__file__).resolve().parent


@pytest.fixture
def generic(monkeypatch):
    """Within the test, ``local-clip`` runs on the generic kernel again."""
    monkeypatch.delitem(declare.ROUTED, "local-clip")


def _compare(a, b):
    for k in ("x", "loss", "grad_norm"):
        assert np.array_equal(getattr(a, k), getattr(b, k), equal_nan=True), k
    assert set(a.stats) == set(b.stats)
    for k in a.stats:
        assert np.array_equal(a.stats[k], b.stats[k], equal_nan=True), k


# ------------------------------------------------------------------------------------ routing, bit-identity

def test_local_clip_on_episode_quartic_is_routed():
    prob = tb.make_problem("episode-quartic")
    alg = tb.get_algorithm("local-clip")
    assert compose.routed(alg, [prob], "numba")
    assert not compose.routed(alg, [prob], "numpy")
    assert not compose.routed(alg, [tb.make_problem("psd-quadratic")], "numba")  # exactly the routed problems
    assert not compose.routed(tb.get_algorithm("clipped-minibatch"), [tb.make_problem("psd-quadratic")], "numba")


# gamma = 1e103, grad convention, eta = 0.5: unclipped steps blow up, then a clipped step meets an infinite
# gradient (the NaN of length * g/|g| must be kept); gamma = 1e300: never clipped, diverges
SWEEP = dict(grid={"eta": [0.005, 0.02, 0.5], "gamma": [0.05, 6.0, 1e103, 1e300], "convention": ["step", "grad"],
                   "local_steps": [1, 8]},
             problem_grid={"H": [1.0, 4.0]}, seeds=2, rounds=60)


def test_composed_bit_identical_to_generic_kernel(monkeypatch):
    """The whole sweep (dense record: every round), every statistic; eta = 0.5 unclipped diverges."""
    a = tb.sweep("episode-quartic", "local-clip", record=list(range(61)), **SWEEP)
    monkeypatch.delitem(declare.ROUTED, "local-clip")
    b = tb.sweep("episode-quartic", "local-clip", record=list(range(61)), **SWEEP)
    _compare(a, b)
    div = a.stats["diverged_round"]
    assert (div >= 0).any() and (div < 0).any(), "the grid must contain diverging and converging runs"
    frac = a.stats["clipped_fraction"]
    assert ((frac > 0) & (frac < 1)).any()


@pytest.mark.parametrize("method", ["local-clip", "fedavg", "episode", "clipped-minibatch",
                                    "naive-parallel-clip", "episode++"])
def test_composed_bit_identical_sampling_targets_and_noise_models(method, monkeypatch):
    """Client sampling (N = 5, S = 2), a truncated-Gaussian noise model, targets (a negative target stops
    the run at the first running-average crossing), the default sparse record."""
    # the minibatch methods take one server step per round (not I local steps): a larger, unclipped stepsize
    grid = ({"eta": [0.02, 0.05], "gamma": [1e300]} if method in ("clipped-minibatch", "naive-parallel-clip")
            else {"eta": [0.01, 0.03]})
    kw = dict(grid=dict(grid, clients_per_round=[0, 2]),
              problem_settings={"N": 5, "noise": "truncated-gaussian", "H": 2.0}, seeds=3, rounds=80)
    for target in (0.5, -1.0):
        a = tb.sweep("episode-quartic", method, target=target, **kw)
        with monkeypatch.context() as m:
            m.delitem(declare.ROUTED, method)
            b = tb.sweep("episode-quartic", method, target=target, **kw)
        _compare(a, b)
    assert (a.stats["first_average_below_target"] >= 0).any()
    r1 = tb.run("episode-quartic", method, rounds=40, seed=3, problem_settings={"sigma": 0.0})
    with monkeypatch.context() as m:
        m.delitem(declare.ROUTED, method)
        r2 = tb.run("episode-quartic", method, rounds=40, seed=3, problem_settings={"sigma": 0.0})
    _compare(r1, r2)


@pytest.mark.parametrize("method", ["local-clip", "fedavg", "episode", "clipped-minibatch",
                                    "naive-parallel-clip", "episode++"])
def test_composed_bit_identical_over_groups_of_client_counts(method, monkeypatch):
    """Several kernel calls in one sweep (one per client count, all on the looped variant), and each client
    count alone (N = 2 and 4 written out client by client, N = 6 as a loop), with and without client
    sampling."""
    kw = dict(grid={"clients_per_round": [0, 1], "eta": [0.01, 0.2]}, seeds=2, rounds=40)
    a = tb.sweep("episode-quartic", method, problem_grid={"N": [2, 4, 6]}, problem_settings={"H": 3.0}, **kw)
    alone = [tb.sweep("episode-quartic", method, problem_settings={"H": 3.0, "N": N}, **kw) for N in (2, 4, 6)]
    monkeypatch.delitem(declare.ROUTED, method)
    b = tb.sweep("episode-quartic", method, problem_grid={"N": [2, 4, 6]}, problem_settings={"H": 3.0}, **kw)
    _compare(a, b)
    for N, r in zip((2, 4, 6), alone):
        _compare(r, tb.sweep("episode-quartic", method, problem_settings={"H": 3.0, "N": N}, **kw))


def test_a_sweep_over_client_counts_compiles_one_variant():
    """EP-5 sweeps N: one looped kernel for all its client counts, not one unrolled variant per N."""
    probs = [tb.make_problem("episode-quartic", N=N) for N in (1, 2, 3, 4, 8)]
    alg = tb.get_algorithm("local-clip")
    settings = [alg.resolve({})] * len(probs)
    calls = compose.plan_batch(alg, probs, settings, [0] * len(probs), 5, np.array([0, 5]), None,
                               np.zeros(len(probs)), "all", None)
    assert len(calls) == 5 and len({id(mod) for mod, _, _ in calls}) == 1


def test_cheap_statistics_mode_keeps_divergence_and_trace():
    """Asking only for the statistics that need no f every round: f and f' only on recorded rounds (and
    beyond the family's safe radius); the divergence round, the clipped fraction, max |x| and the recorded
    trace are unchanged."""
    probs, settings, seeds = [], [], []
    for H in (1.0, 4.0):
        p = tb.make_problem("episode-quartic", H=H)
        for eta in (0.01, 0.3, 0.5):
            for gamma in (0.05, 1e300):
                for s in range(2):
                    probs.append(p)
                    settings.append(tb.get_algorithm("local-clip").resolve({"eta": eta, "gamma": gamma}))
                    seeds.append(s)
    rec = np.array([0, 7, 30, 60])
    x0s = [p.x0 for p in probs]
    alg = tb.get_algorithm("local-clip")
    full = compose.run_batch_group(alg, probs, settings, seeds, 60, rec, x0s, None, "numba", {})
    cheap = compose.run_batch_group(alg, probs, settings, seeds, 60, rec, x0s, None, "numba", {},
                                    stats=("diverged_round", "clipped_fraction", "max_abs_x"))
    for a, b in zip(full[:4], cheap[:4]):
        assert np.array_equal(a, b, equal_nan=True)
    names = list(compose.STAT_NAMES)
    for k in ("diverged_round", "clipped_fraction", "max_abs_x"):
        j = names.index(k)
        assert np.array_equal(full[4][:, j], cheap[4][:, j]), k
    assert np.isnan(cheap[4][:, names.index("min_grad_norm")]).all()
    assert (full[4][:, 0] >= 0).any()


@pytest.mark.parametrize("convention", ref.CONVENTIONS)
@pytest.mark.parametrize("eta,gamma,I", [(0.01, 0.05, 8), (0.02, 0.1, 3), (0.005, 6.0, 5)])
@pytest.mark.parametrize("H,seed", [(1.0, 0), (4.0, 7)])
def test_composed_celgc_matches_numpy_reference(convention, eta, gamma, I, H, seed):
    """Tolerance 0 (tests/tolerances.py, last paragraph): the same correctly rounded operations in the same
    order (Horner = polyval, left-to-right sums, |g| for the 1-D norm, SplitMix64 uniform noise)."""
    res = tb.run("episode-quartic", "local-clip", rounds=50, seed=seed, problem_settings={"H": H}, eta=eta,
                 gamma=gamma, local_steps=I, convention=convention)
    counts = {}
    xs = ref.reference_run("local-clip", ref.episode_quartic_grads(H), [1.0], 50, eta=eta, gamma=gamma,
                           local_steps=I, convention=convention,
                           noise_fn=ref.make_noise_fn(rng.NOISE_UNIFORM, 1.0, seed), counts=counts)
    assert not res.diverged
    np.testing.assert_allclose(res.x, np.array(xs), rtol=0, atol=0)
    assert res.stats["clipped_fraction"] == pytest.approx(counts["clipped"] / counts["steps"], rel=1e-15, abs=0)


def test_thread_count_invariance():
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        a = tb.sweep("episode-quartic", "local-clip", **SWEEP)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # 1 on a one-thread machine
        b = tb.sweep("episode-quartic", "local-clip", **SWEEP)
    finally:
        numba.set_num_threads(before)
    _compare(a, b)


# ------------------------------------------------------------------------------------ every routed combination

# a sweep per routed (method, problem) with diverging and converging runs; eta = 50 unclipped on the
# quadratic multiplies the distance to the client's minimiser by 49 per local step
_QUAD = dict(problem_grid={"x0": [0.0, 0.5], "a1": [-2.0, -1.3]}, seeds=1, rounds=60)
_CLIP_QUAD = dict(_QUAD, grid={"eta": [0.1, 0.5, 1.5, 50.0], "gamma": [0.3, 1.0, 1e300],
                               "convention": ["step", "grad"], "local_steps": [1, 3, 4]})
_FEDAVG_QUAD = dict(_QUAD, grid={"eta": [0.1, 0.5, 1.5, 50.0], "local_steps": [1, 3, 4]})
_FEDAVG_QUARTIC = dict(grid={"eta": [0.005, 0.02, 0.5], "local_steps": [1, 8], "clients_per_round": [0, 1]},
                       problem_grid={"H": [1.0, 4.0]}, seeds=2, rounds=60)
ROUTES = {
    ("local-clip", "episode-quartic"): SWEEP,
    ("local-clip", "two-client-quadratic"): _CLIP_QUAD,
    ("fedavg", "episode-quartic"): _FEDAVG_QUARTIC,
    ("fedavg", "two-client-quadratic"): _FEDAVG_QUAD,
    ("episode", "episode-quartic"): SWEEP,
    ("episode", "two-client-quadratic"): _CLIP_QUAD,
    ("clipped-minibatch", "episode-quartic"): SWEEP,
    ("clipped-minibatch", "two-client-quadratic"): _CLIP_QUAD,
    ("naive-parallel-clip", "episode-quartic"): SWEEP,
    ("naive-parallel-clip", "two-client-quadratic"): _CLIP_QUAD,
    ("episode++", "episode-quartic"): SWEEP,
    ("episode++", "two-client-quadratic"): _CLIP_QUAD,
}


def _routed_sweeps(method, problem, monkeypatch, **extra):
    kw = dict(ROUTES[(method, problem)], **extra)
    assert compose.routed(tb.get_algorithm(method), [tb.make_problem(problem)], "numba")
    a = tb.sweep(problem, method, **kw)
    with monkeypatch.context() as m:
        m.delitem(declare.ROUTED, method)
        assert not compose.routed(tb.get_algorithm(method), [tb.make_problem(problem)], "numba")
        b = tb.sweep(problem, method, **kw)
    return a, b


@pytest.mark.parametrize("method,problem", list(ROUTES))
def test_routed_bit_identical_to_generic_kernel(method, problem, monkeypatch):
    """Dense record (every round) and the default sparse one; every statistic; the grid diverges somewhere."""
    rounds = ROUTES[(method, problem)]["rounds"]
    a, b = _routed_sweeps(method, problem, monkeypatch, record=list(range(rounds + 1)))
    _compare(a, b)
    div = a.stats["diverged_round"]
    assert (div >= 0).any() and (div < 0).any(), "the grid must contain diverging and converging runs"
    _compare(*_routed_sweeps(method, problem, monkeypatch, target=0.05))


@pytest.mark.parametrize("method,problem", list(ROUTES))
def test_routed_thread_count_invariance(method, problem):
    before = numba.get_num_threads()
    kw = ROUTES[(method, problem)]
    try:
        numba.set_num_threads(1)
        a = tb.sweep(problem, method, **kw)
        numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)  # 1 on a one-thread machine
        b = tb.sweep(problem, method, **kw)
    finally:
        numba.set_num_threads(before)
    _compare(a, b)


_REF_PROBLEMS = {
    "episode-quartic": lambda seed: ({"H": 4.0}, ref.episode_quartic_grads(4.0),
                                     ref.make_noise_fn(rng.NOISE_UNIFORM, 1.0, seed), [1.0]),
    "two-client-quadratic": lambda seed: ({"gamma": 1.0}, ref.two_client_quadratic_grads(1.0), None, [0.5]),
}


@pytest.mark.parametrize("convention", ref.CONVENTIONS)
@pytest.mark.parametrize("method,problem", list(ROUTES))
def test_routed_matches_numpy_reference(method, problem, convention):
    """Tolerance 0 (tests/tolerances.py, last paragraph): +, -, *, /, sqrt(g*g) = |g| in the same order."""
    compared = 0
    for eta, gamma, I, seed in [(0.01, 0.05, 8, 0), (0.02, 0.1, 3, 7), (0.005, 6.0, 5, 1), (1.5, 1.0, 3, 2)]:
        settings, grads, noise_fn, x0 = _REF_PROBLEMS[problem](seed)
        hyper = dict(eta=eta, local_steps=I)
        if method != "fedavg":
            hyper.update(gamma=gamma, convention=convention)
        res = tb.run(problem, method, rounds=40, seed=seed, problem_settings=settings, x0=x0, **hyper)
        if res.diverged:
            continue
        counts = {}
        xs = ref.reference_run(method, grads, x0, 40, eta=eta, gamma=hyper.get("gamma", np.inf), local_steps=I,
                               convention=convention, noise_fn=noise_fn, counts=counts)
        np.testing.assert_allclose(res.x, np.array(xs), rtol=0, atol=0)
        expected = counts["clipped"] / counts["steps"] if counts["steps"] else 0.0
        assert res.stats["clipped_fraction"] == pytest.approx(expected, rel=1e-15, abs=0)
        compared += 1
    assert compared >= 3


# ------------------------------------------------------------------------------------ the cache

CHILD = textwrap.dedent("""
    import json, sys
    import numpy as np
    from theorybench import compose, declare
    import theorybench as tb
    tb.make_problem("episode-quartic")  # the problem module declares the family
    mod = compose.kernel(declare.METHODS["local-clip"], declare.FAMILIES["poly1"], 1, cache_dir=sys.argv[1])
    res = tb.run("episode-quartic", "local-clip", rounds=3)  # the user cache: not the one under test
    n = 2
    out = [np.full((n, 2, 1), np.nan), np.full((n, 2), np.nan), np.full((n, 2), np.nan), np.zeros((n, 8))]
    p = tb.make_problem("episode-quartic").params
    mod.batch(np.stack([p, p]), np.array([[0.01, 0.05, 8, 0, 0]] * n, dtype=float), np.ones(n),
              np.arange(n, dtype=np.int64), np.ones(n), np.ones(n), np.zeros(n), np.zeros(n), 5,
              np.array([0, 5], dtype=np.int64), *out)
    st = mod.batch_part.stats
    print(json.dumps({"file": mod.__file__, "hits": sum(st.cache_hits.values()),
                      "misses": sum(st.cache_misses.values()), "x": out[0][:, -1, 0].tolist()}))
""")


def test_second_process_loads_the_kernel_without_compiling(tmp_path):
    env = dict(os.environ)
    runs = []
    for _ in range(2):
        p = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], env=env, capture_output=True, text=True,
                           timeout=300)
        assert p.returncode == 0, p.stderr[-3000:]
        runs.append(json.loads(p.stdout.strip().splitlines()[-1]))
    assert runs[0]["misses"] == 1 and runs[0]["hits"] == 0  # compiled, and cached next to the file
    assert runs[1]["hits"] == 1 and runs[1]["misses"] == 0  # loaded, not compiled
    assert runs[0]["file"] == runs[1]["file"] and runs[0]["x"] == runs[1]["x"]
    name = Path(runs[0]["file"]).name
    assert Path(runs[0]["file"]).parent == tmp_path and name.startswith("tbk_") and name.endswith(".py")


@njit(inline="always")
def celgc_step(y, g, eta, gamma, convention):
    """A different CELGC step (no special case for a finite g): the same name, another code."""
    n = abs(g)
    thr = gamma / eta if convention == 0 else gamma
    length = gamma if convention == 0 else eta * gamma
    if n > thr:
        return y - length * (g / n), True
    return y - eta * g, False


def test_module_name_is_the_hash_of_its_pieces():
    from theorybench.methods.federated import CELGC
    tb.make_problem("episode-quartic")
    fam = declare.FAMILIES["poly1"]
    name, text = compose.module_text(CELGC, fam, rng.NOISE_UNIFORM)
    assert compose.module_text(CELGC, fam, rng.NOISE_UNIFORM)[0] == name  # deterministic
    edited = declare.Method("local-clip", CELGC.params, celgc_step, clipping=True)
    assert compose.module_text(edited, fam, rng.NOISE_UNIFORM)[0] != name  # a piece changed: a new module
    assert compose.module_text(CELGC, fam, rng.NOISE_NONE)[0] != name      # another combination
    assert compose.module_text(CELGC, fam, rng.NOISE_UNIFORM, stats=["diverged_round"])[0] != name
    assert "def celgc_step" in text and "def poly1_grad" in text and "def healthy" in text
    assert "import theorybench" not in text  # the module stands alone: only its own pieces key its cache


# ------------------------------------------------------------------------------------ a user's method

import user_method_example as user  # noqa: E402  (registers decay-clip-sgd; no engine file touched)


def decay_clip_reference(client_grads, x0, rounds, eta, gamma0, local_steps, noise_fn=None):
    """The pseudocode: round r from x_r, each client i runs I steps from y = x_r with g = grad f_i(y) + z,
    gamma_r = gamma0/sqrt(r+1), y <- y - min(eta, gamma_r/|g|) g (a clipped step of length gamma_r along
    g/|g|); x_{r+1} = the mean of the clients' y. Returns x_0..x_R and the clipped fraction."""
    oracle = ref.StochasticOracle(client_grads, noise_fn)
    x = np.asarray(x0, dtype=np.float64)
    xs, clipped, steps = [x.copy()], 0, 0
    for r in range(rounds):
        gamma_r = gamma0 / np.sqrt(r + 1.0)
        ys = []
        for i in range(len(client_grads)):
            y = x.copy()
            for _ in range(local_steps):
                g = oracle(i, y)
                steps += 1
                if np.abs(g[0]) > gamma_r / eta:
                    clipped += 1
                    y = y - gamma_r * (g / np.abs(g[0]))
                else:
                    y = y - eta * g
            ys.append(y)
        x = ref._mean(ys)
        xs.append(x.copy())
    return np.array(xs), clipped / steps


@pytest.mark.parametrize("problem,settings,grads,noise", [
    ("two-client-quadratic", {"gamma": 1.0}, ref.two_client_quadratic_grads(1.0), None),
    ("episode-quartic", {"H": 4.0}, ref.episode_quartic_grads(4.0), (rng.NOISE_UNIFORM, 1.0)),
])
def test_user_method_matches_its_numpy_reference(problem, settings, grads, noise):
    for eta, gamma0, I, seed in [(0.01, 0.5, 8, 0), (0.05, 2.0, 3, 5), (0.3, 1.0, 4, 1)]:
        res = tb.run(problem, "decay-clip-sgd", rounds=40, seed=seed, problem_settings=settings, eta=eta,
                     gamma0=gamma0, local_steps=I)
        nf = None if noise is None else ref.make_noise_fn(noise[0], noise[1], seed)
        xs, frac = decay_clip_reference(grads, res.x[0], 40, eta, gamma0, I, nf)
        assert not res.diverged
        # tolerance 0 (tests/tolerances.py, last paragraph): +, -, *, /, sqrt in the same order on both sides
        np.testing.assert_allclose(res.x, xs, rtol=0, atol=0)
        assert res.stats["clipped_fraction"] == pytest.approx(frac, rel=1e-15, abs=0)


def test_user_method_sweeps_over_its_hyperparameters():
    sw = tb.sweep("episode-quartic", "decay-clip-sgd", grid={"gamma0": [0.1, 1.0, 10.0], "local_steps": [2, 8]},
                  seeds=4, rounds=100)
    assert sw.dims == ("gamma0", "local_steps", "seed")
    assert sw.x.shape[:3] == (3, 2, 4)
    frac = sw.stats["clipped_fraction"]
    assert (frac[0] > frac[2]).all()  # a smaller radius clips more often
    sw2 = tb.sweep("two-client-quadratic", "decay-clip-sgd", problem_grid={"gamma": [0.5, 1.0]},
                   grid={"gamma0": [0.5, 1.0]}, rounds=30)
    assert np.isfinite(sw2.loss).all()


def test_user_method_refuses_what_does_not_fit():
    with pytest.raises(TheoryBenchError, match="cannot run problem"):
        tb.run("quartic-points", "decay-clip-sgd", rounds=5)
    with pytest.raises(TheoryBenchError, match="backend 'numpy' does not cover"):
        tb.run("episode-quartic", "decay-clip-sgd", rounds=5, backend="numpy")
    with pytest.raises(TheoryBenchError, match="gamma0"):
        tb.run("episode-quartic", "decay-clip-sgd", rounds=5, gamma0=-1.0)
    with pytest.raises(TheoryBenchError, match="taken"):
        declare.register_method(declare.Method("local-clip", user.DECAY_CLIP_SGD.params, user.decay_clip_step))


def test_bad_declarations_are_refused():
    P = user.DECAY_CLIP_SGD.params

    @njit
    def step_with_unknown(y, g, rho):
        return y - rho * g

    with pytest.raises(TheoryBenchError, match="rho"):
        declare.Method("bad", P, step_with_unknown)
    with pytest.raises(TheoryBenchError, match="@njit"):
        declare.Method("bad", P, lambda y, g, eta: y - eta * g)
    with pytest.raises(TheoryBenchError, match="Param"):
        declare.Method("bad", (("eta", 0.1),), user.decay_clip_step)
    with pytest.raises(TheoryBenchError, match="identifier"):
        declare.Method("bad", (tb.Param("a-b", 1.0, "not a name"),), user.decay_clip_step)
    with pytest.raises(TheoryBenchError, match="taken by the oracle"):
        declare.Method("bad", (tb.Param("g", 1.0, "clash"),), user.decay_clip_step)


@njit
def my_client_start(g):
    return g


@njit
def my_round_start(Gbar, eta, gamma):
    return abs(Gbar) > gamma / eta


@njit
def my_episode_step(y, g, Gown, Gbar, clipped, eta, gamma):
    d = g - Gown + Gbar
    if clipped:
        n = abs(d)
        return y if n == 0.0 else y - gamma * (d / n)
    return y - eta * d


def test_user_method_with_round_start_pieces():
    """A user's EPISODE (step convention) declared with round-start pieces outside the engine: the same
    numbers as the library's ``episode``."""
    P = tuple(p for p in tb.get_algorithm("episode").params if p.name != "convention")
    m = declare.Method("user-episode", P, my_episode_step, client_start=my_client_start,
                       client_values=(("Gown", "Gbar"),), round_start=my_round_start, round_values=("clipped",))
    declare.register_method(m, replace=True)
    try:
        for problem, kw in [("episode-quartic", {"H": 4.0}), ("two-client-quadratic", {})]:
            for eta, gamma in [(0.01, 0.05), (0.005, 6.0), (1.5, 1.0)]:
                a = tb.run(problem, "user-episode", rounds=50, seed=3, problem_settings=kw, eta=eta, gamma=gamma,
                           local_steps=4, x0=[0.5])
                b = tb.run(problem, "episode", rounds=50, seed=3, problem_settings=kw, eta=eta, gamma=gamma,
                           local_steps=4, x0=[0.5])
                _compare(a, b)
    finally:
        algorithms.ALGORITHMS.pop("user-episode", None)
        algorithms.VARIANTS.pop("user-episode", None)
        declare.METHODS.pop("user-episode", None)


@njit
def decay_radius(r, gamma0):
    return gamma0 / np.sqrt(r + 1.0)


@njit
def decay_step_per_round(y, g, gamma_r, eta):
    n = abs(g)
    if n > gamma_r / eta:
        return y - gamma_r * (g / n), True
    return y - eta * g, False


def test_round_start_alone_computes_a_round_value():
    """A round-start piece without client values: the decaying radius of ``decay-clip-sgd`` computed once per
    round gives that method's numbers."""
    m = declare.Method("decay-per-round", user.DECAY_CLIP_SGD.params, decay_step_per_round, clipping=True,
                       round_start=decay_radius, round_values=("gamma_r",))
    declare.register_method(m, replace=True)
    try:
        for problem in ("episode-quartic", "two-client-quadratic"):
            kw = dict(grid={"eta": [0.01, 0.3], "gamma0": [0.5, 2.0]}, seeds=2, rounds=40)
            _compare(tb.sweep(problem, "decay-per-round", **kw), tb.sweep(problem, "decay-clip-sgd", **kw))
    finally:
        algorithms.ALGORITHMS.pop("decay-per-round", None)
        algorithms.VARIANTS.pop("decay-per-round", None)
        declare.METHODS.pop("decay-per-round", None)


def test_bad_round_start_declarations_are_refused():
    P = tuple(p for p in tb.get_algorithm("episode").params if p.name != "convention")
    base = dict(client_start=my_client_start, client_values=(("Gown", "Gbar"),), round_start=my_round_start,
                round_values=("clipped",))
    declare.Method("ok", P, my_episode_step, **base)
    with pytest.raises(TheoryBenchError, match="come together"):
        declare.Method("bad", P, my_episode_step, **dict(base, client_values=()))
    with pytest.raises(TheoryBenchError, match="taken"):
        declare.Method("bad", P, my_episode_step, **dict(base, round_values=("eta",)))
    with pytest.raises(TheoryBenchError, match="round_start argument"):
        declare.Method("bad", P, my_episode_step, **dict(base, client_values=(("Gown", "Gmean"),)))
    with pytest.raises(TheoryBenchError, match="Gbar"):
        declare.Method("bad", P, my_episode_step, **dict(base, client_values=(("Gown", None),), round_start=None,
                                                          round_values=()))


def test_methods_entry_point_group(monkeypatch, tmp_path, capsys):
    """A package lists its method module in the ``theorybench.methods`` group; the engine imports it when
    the algorithms are listed (``theorybench list``) or an unknown algorithm name is asked for."""
    mod = tmp_path / "my_tb_methods.py"
    mod.write_text((HERE / "user_method_example.py").read_text().replace('"decay-clip-sgd"', '"ep-decay-clip"'))
    monkeypatch.syspath_prepend(str(tmp_path))
    ep = metadata.EntryPoint(name="mine", value="my_tb_methods", group="theorybench.methods")
    real = metadata.entry_points

    def fake(**kw):
        return [ep] if kw.get("group") == "theorybench.methods" else real(**kw)
    monkeypatch.setattr(metadata, "entry_points", fake)
    monkeypatch.setattr(algorithms, "_ENTRY_POINTS_LOADED", False)
    try:
        from theorybench.cli import main
        assert main(["list"]) in (0, None)
        assert "ep-decay-clip" in capsys.readouterr().out  # listed before any lookup by name
        res = tb.run("two-client-quadratic", "ep-decay-clip", rounds=10)
        assert res.algorithm == "ep-decay-clip" and np.isfinite(res.x).all()
    finally:
        algorithms.ALGORITHMS.pop("ep-decay-clip", None)
        algorithms.VARIANTS.pop("ep-decay-clip", None)
        declare.METHODS.pop("ep-decay-clip", None)
        sys.modules.pop("my_tb_methods", None)


# ------------------------------------------------------------------------------------ state and round-end pieces

@njit
def fedavgm_round_end(x, ybar, m, beta):
    """Server momentum (FedAvgM, Hsu, Qi, Brown 2019): ``m <- beta m + (x_r - ybar)``, ``x_{r+1} = x_r - m``."""
    m_new = beta * m + (x - ybar)
    return x - m_new, m_new


def _fedavgm_reference(grads, x0, rounds, eta, beta, I, noise_fn):
    """NumPy reference written from the pseudocode: local SGD, then the server's momentum step."""
    oracle = ref.StochasticOracle(grads, noise_fn)
    x, m, xs = np.array(x0, dtype=np.float64), np.zeros(1), [float(x0[0])]
    for _ in range(rounds):
        ys = []
        for i in range(len(grads)):
            y = x.copy()
            for _ in range(I):
                y = y - eta * oracle(i, y)
            ys.append(y)
        ybar = ref._mean(ys)
        m = beta * m + (x - ybar)
        x = x - m
        xs.append(float(x[0]))
    return xs


def _register(m):
    declare.register_method(m, replace=True)
    return m


def _unregister(name):
    algorithms.ALGORITHMS.pop(name, None)
    algorithms.VARIANTS.pop(name, None)
    declare.METHODS.pop(name, None)


@pytest.mark.parametrize("problem", ["episode-quartic", "two-client-quadratic"])
def test_user_method_with_state_and_round_end(problem):
    """A user's FedAvg with server momentum: a state slot ``m`` and a ``round_end`` reading ``ybar``; equal
    to its NumPy reference (tolerance 0: the same operations in the same order)."""
    P = tuple(tb.get_algorithm("fedavg").params) + (tb.Param("beta", 0.5, "server momentum beta", low=0.0),)
    _register(declare.Method("user-fedavgm", P, algorithms_fedavg_step(), state=(("m", 0.0),),
                             round_end=fedavgm_round_end, round_end_values=("x", "m")))
    try:
        for eta, beta, I, seed in [(0.01, 0.5, 4, 0), (0.002, 0.9, 8, 3)]:
            if problem == "episode-quartic":
                settings, grads = {"H": 4.0}, ref.episode_quartic_grads(4.0)
                noise_fn = ref.make_noise_fn(rng.NOISE_UNIFORM, 1.0, seed)
            else:
                settings, grads, noise_fn = {}, ref.two_client_quadratic_grads(1.0), None
            res = tb.run(problem, "user-fedavgm", rounds=30, seed=seed, problem_settings=settings, eta=eta,
                         beta=beta, local_steps=I, x0=[0.5])
            xs = _fedavgm_reference(grads, [0.5], 30, eta, beta, I, noise_fn)
            assert not res.diverged
            np.testing.assert_allclose(res.x[:, 0], np.array(xs), rtol=0, atol=0)
    finally:
        _unregister("user-fedavgm")


def algorithms_fedavg_step():
    from theorybench.methods.federated import fedavg_step
    return fedavg_step


@njit
def _ce_keep(gbar):
    return gbar


def test_bad_state_declarations_are_refused():
    P = tuple(tb.get_algorithm("episode").params)
    from theorybench.methods import federated as fed
    ok = dict(state=(("G", 0.0),), client_state=(("G_i", 0.0),), client_init=fed.episode_pp_client_init,
              client_init_values=(("G_i", "G"),), round_start=fed.episode_round_start, round_values=("clipped",),
              client_end=fed.episode_pp_client_end, client_end_values=("G_i", "G"))
    declare.Method("ok", P, fed.episode_step, **ok)
    with pytest.raises(TheoryBenchError, match="initial value"):
        declare.Method("bad", P, fed.episode_step, **dict(ok, state=(("G", "zero"),)))
    with pytest.raises(TheoryBenchError, match="come together"):
        declare.Method("bad", P, fed.episode_step, **dict(ok, client_end_values=()))
    with pytest.raises(TheoryBenchError, match="neither a state slot"):
        declare.Method("bad", P, fed.episode_step, **dict(ok, client_end_values=("G_i", "H")))
    with pytest.raises(TheoryBenchError, match="client_init values"):
        declare.Method("bad", P, fed.episode_step, **dict(ok, client_init_values=(("G", "G_i"),)))
    with pytest.raises(TheoryBenchError, match="taken"):
        declare.Method("bad", P, fed.fedavg_step, state=(("eta", 0.0),))
    with pytest.raises(TheoryBenchError, match="round_end value"):
        declare.Method("bad", P, None, client_end=_ce_keep, client_end_values=(("gb", "gm"),),
                       round_end=fedavgm_round_end, round_end_values=("x", "m"))
    with pytest.raises(TheoryBenchError, match="needs client_end"):
        declare.Method("bad", P, None)
    with pytest.raises(TheoryBenchError, match="client_end argument"):
        declare.Method("bad", P, None, client_end=fed.episode_pp_client_end, client_end_values=(("gb", "gm"),))


def test_stats_option_selects_the_cheap_kernel():
    """``stats=`` naming only cheap statistics: the same trajectory and divergence round, the others NaN."""
    full = tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.1, 3.0]}, seeds=3, rounds=200)
    cheap = tb.sweep("episode-quartic", "local-clip", grid={"eta": [0.01, 0.1, 3.0]}, seeds=3, rounds=200,
                     stats=("diverged_round", "clipped_fraction"))
    assert np.array_equal(full.x, cheap.x, equal_nan=True)
    for k in ("diverged_round", "clipped_fraction", "max_abs_x"):
        assert np.array_equal(full.stats[k], cheap.stats[k], equal_nan=True)
    assert np.isnan(cheap.stats["min_grad_norm"]).all() and np.isfinite(full.stats["min_grad_norm"]).any()
    with pytest.raises(TheoryBenchError, match="unknown statistic"):
        tb.run("episode-quartic", "local-clip", rounds=3, stats=("min_gradnorm",))
