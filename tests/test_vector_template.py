"""The vector template (theorybench.declare_vector, compose_vector): kernels against a plain NumPy
reference written from the update, thread-count independence, the statistics, and clear errors for a
method or family that does not fit an instance."""
import json

import numba
import numpy as np
import pytest

import theorybench as tb
from theorybench import cli
from theorybench.declare_vector import VectorMethod
from theorybench.errors import TheoryBenchError
from theorybench.rng import uniform01
from tolerances import assert_trajectory_close, local_rel, nonexpansive_atol, trajectory_atol

import vector_example  # noqa: F401  (registers the test family, instance and methods)


def normal_vector(seed, stream, counter, d):
    """``rng.add_normal``'s z, from its definition: pair p of draw k uses the uniforms at 2 (k P + p), +1."""
    P = (d + 1) // 2
    z = np.empty(2 * P)
    for p in range(P):
        c = 2 * (counter * P + p)
        r = np.sqrt(-2.0 * np.log(1.0 - uniform01(seed, stream, c)))
        th = 2.0 * np.pi * uniform01(seed, stream, c + 1)
        z[2 * p], z[2 * p + 1] = r * np.cos(th), r * np.sin(th)
    return z[:d]


def reference_sgd(prob, eta, seed, steps):
    """x_{t+1} = x_t - eta (H (x_t - c) + sigma z_t), z_t = normal_vector(seed, 0, t, d)."""
    H, c, sigma = prob.arrays["H"], prob.arrays["c"], prob.arrays["sigma"]
    d = prob.dim
    x = prob.x0.copy()
    xs = [x.copy()]
    for t in range(steps):
        g = H @ (x - c)
        if prob.noise != "none":
            g = g + sigma * normal_vector(seed, 0, t, d)
        x = x - eta * g
        xs.append(x.copy())
    return np.array(xs)


@pytest.mark.parametrize("sigma", [0.0, 0.3])
def test_sgd_matches_reference(sigma):
    prob = tb.make_problem("test-quad", d=4, kappa=10.0, sigma=sigma)
    eta, T = 0.15, 60  # eta L = 1.5 <= 2: the one-step map is nonexpansive
    res = tb.run(prob, "test-sgd", steps=T, seed=7, eta=eta, record=np.arange(T + 1))
    ref = reference_sgd(prob, eta, 7, T)
    assert_trajectory_close(res.x, ref, nonexpansive_atol(ref, local_rel(prob.dim)), "test-sgd vs reference")
    vals = np.array([prob.value(x) for x in ref])
    assert np.allclose(res.loss, vals, rtol=4 * local_rel(prob.dim ** 2), atol=0)
    dist = np.array([np.sum((x - prob.arrays["c"]) ** 2) for x in ref])
    assert np.allclose(res.traces["dist2"], dist, rtol=1e-12, atol=1e-300)
    assert res.stats["steps_run"] == T and res.stats["diverged_round"] == -1


def test_client_oracle_matches_full_gradient():
    prob = tb.make_problem("test-quad", d=3)
    a = tb.run(prob, "test-client-avg", steps=40, eta=0.1, record=np.arange(41))
    b = tb.run(prob, "test-sgd", steps=40, eta=0.1, record=np.arange(41))
    assert np.allclose(a.x, b.x, rtol=0, atol=1e-13)  # the clients' mean gradient is the gradient


def test_bit_identical_across_thread_counts():
    prob = tb.make_problem("test-quad", d=3, sigma=1.0)
    outs = []
    old = numba.get_num_threads()
    try:
        for k in (1, numba.config.NUMBA_NUM_THREADS):
            numba.set_num_threads(k)
            sw = tb.sweep(prob, "test-sgd", grid={"eta": [0.01, 0.05, 0.1]}, seeds=17, steps=50)
            outs.append((sw.x.copy(), sw.loss.copy(), sw.traces["dist2"].copy()))
    finally:
        numba.set_num_threads(old)
    for u, v in zip(outs[0], outs[1]):
        assert np.array_equal(u, v, equal_nan=True)


def test_divergence_and_target():
    prob = tb.make_problem("test-quad", d=2, kappa=10.0)
    res = tb.run(prob, "test-sgd", steps=2000, eta=0.5)  # eta L = 5: |1 - 5| = 4 per step, leaves 1e150
    assert res.diverged and 0 < res.stats["diverged_round"] < 2000
    assert np.isnan(res.loss[-1])
    ok = tb.run(prob, "test-sgd", steps=500, eta=0.1, target=1e-6)
    k = ok.stats["first_below_target"]
    full = tb.run(prob, "test-sgd", steps=500, eta=0.1, record=np.arange(501))
    first = int(np.argmax(full.traces["dist2"] <= 1e-6))
    assert k == first > 0


def test_method_reading_missing_array_is_refused():
    with pytest.raises(TheoryBenchError, match=r"reads array\(s\) \['A'\].*does not have"):
        tb.run(tb.make_problem("test-quad"), "test-reads-a", steps=3)


def test_family_without_client_gradients_is_refused():
    with pytest.raises(TheoryBenchError, match="client_gradient.*does not provide"):
        tb.run(tb.make_problem("test-quad", single=1), "test-client-avg", steps=3)


def test_declaration_errors_name_the_piece():
    with pytest.raises(TheoryBenchError, match="step"):
        VectorMethod("bad", (), lambda x: None)
    with pytest.raises(TheoryBenchError, match="reserved"):
        VectorMethod("bad", (tb.Param("seed", 0.1, "clash"),), vector_example.tsgd_step)
    with pytest.raises(TheoryBenchError, match="shape entry"):
        VectorMethod("bad", (), vector_example.tsgd_step, state=(("g", (0,)),))


def test_cli_run_seeds_json(capsys):
    assert cli.main(["run", "test-quad", "test-sgd", "-p", "sigma=0.5", "--steps", "30", "--seeds", "5",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["seeds"] == [0, 1, 2, 3, 4] and len(out["final"]["x"]) == 5 and out["step"] == 30
    prob = tb.make_problem("test-quad", sigma=0.5)
    for s in (0, 4):
        ref = reference_sgd(prob, 0.05, s, 30)[-1]
        assert np.allclose(out["final"]["x"][s], ref, rtol=0, atol=1e-12)
    assert np.allclose(out["mean_final_x"], np.mean(out["final"]["x"], axis=0))
    assert len(out["final"]["dist2"]) == 5


def test_readme_vector_method(tmp_path):
    """The README's user-defined vector method, run from its text, against a NumPy reference."""
    import pathlib
    import re
    import importlib.util
    text = (pathlib.Path(__file__).resolve().parents[1] / "README.md").read_text()
    block = next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "my-clipped-sgd" in b)
    mod_path = tmp_path / "readme_vector_method.py"  # a file, so the pieces' source can be read
    mod_path.write_text(block.replace('register_method(VectorMethod("my-clipped-sgd",',
                                      'register_method(replace=True, method=VectorMethod("my-clipped-sgd",'))
    spec = importlib.util.spec_from_file_location("readme_vector_method", mod_path)
    spec.loader.exec_module(importlib.util.module_from_spec(spec))
    prob = tb.make_problem("test-quad", d=3, sigma=2.0)
    T, gamma, lam = 40, 0.1, 0.5
    res = tb.run(prob, "my-clipped-sgd", steps=T, seed=3, gamma=gamma, lam=lam, record=np.arange(T + 1))
    H, c, sigma, d = prob.arrays["H"], prob.arrays["c"], prob.arrays["sigma"], prob.dim
    x, ref, gmin = prob.x0.copy(), [prob.x0.copy()], np.inf
    for t in range(T):
        g = H @ (x - c) + sigma * normal_vector(3, 0, t, d)
        gmin = min(gmin, np.linalg.norm(g))
        x = x - gamma * min(1.0, lam / np.linalg.norm(g)) * g
        ref.append(x.copy())
    ref = np.array(ref)
    # per-step Lipschitz factor of x -> x - gamma min(1, lam/|g|) g with g = H (x - c) + z: at most
    # max(1, gamma ||H||) for the unclipped branch, 1 + gamma lam ||H|| / |g| for the clipped one (the
    # derivative of g/|g| is (I - u u^T)/|g|); |g| >= gmin along the reference
    K = max(1.0, gamma * np.linalg.norm(H, 2)) + gamma * lam * np.linalg.norm(H, 2) / gmin
    atol = [trajectory_atol(t + 1, local_rel(d), K, np.abs(ref[:t + 1]).max()) for t in range(T + 1)]
    assert_trajectory_close(res.x, ref, atol, "README method", min_horizon=10)  # K > 1: the a-priori bound
    assert np.all(np.isfinite(res.x)) and res.stats["diverged_round"] == -1  # is meaningful on the first steps


def test_choice_is_its_index_even_under_an_engine_name():
    """A vector method's choice arrives as the index in its own ``choices``, whatever its name (here
    ``compressor``, whose engine codes belong to other kernels)."""
    from numba import njit

    @njit
    def pick(x, compressor):
        x[0] = float(compressor)

    tb.declare.register_method(VectorMethod("test-choice", (tb.Param("compressor", "b", "which", kind="choice",
                                                                     choices=("a", "b", "natural")),), pick),
                               replace=True)
    for j, v in enumerate(("a", "b", "natural")):
        assert tb.run(tb.make_problem("test-quad"), "test-choice", steps=1, compressor=v).x[-1, 0] == j


def test_gradient_norm_statistics_on_request():
    prob = tb.make_problem("test-quad", d=3)
    T = 80
    full = tb.run(prob, "test-sgd", steps=T, eta=0.1, record=np.arange(T + 1))
    cheap = tb.run(prob, "test-sgd", steps=T, eta=0.1)
    assert np.isnan(cheap.stats["min_grad_norm"])
    st = tb.run(prob, "test-sgd", steps=T, eta=0.1, target=0.5,
                stats=("min_grad_norm", "argmin_round", "grad_norm_sum", "first_average_below_target")).stats
    gn = full.grad_norm
    assert st["min_grad_norm"] == gn.min() and st["argmin_round"] == int(np.argmin(gn))
    assert st["grad_norm_sum"] == pytest.approx(gn.sum(), rel=1e-14 * T)
    avg = np.cumsum(gn) / np.arange(1, T + 2)
    assert st["first_average_below_target"] == int(np.argmax(avg <= 0.5))
    with pytest.raises(TheoryBenchError, match="unknown statistic"):
        tb.run(prob, "test-sgd", steps=3, stats=("min_grad",))
    assert tb.run(prob, "test-sgd", steps=5, stats=("steps_run",)).stats["steps_run"] == 5


def test_executor_and_progress_keep_traces_and_statistics():
    """A sweep cut into chunks (an executor, or the progress bar's in-process chunks) gives the same named
    traces and statistics as one call; the tidy table carries the traces."""
    from concurrent.futures import ThreadPoolExecutor
    kw = dict(grid={"eta": [0.01, 0.1]}, seeds=5, steps=40, problem_settings={"sigma": 0.2})
    one = tb.sweep("test-quad", "test-sgd", **kw)
    with ThreadPoolExecutor(2) as ex:
        chunked = tb.sweep("test-quad", "test-sgd", executor=ex, **kw)
    bar = tb.sweep("test-quad", "test-sgd", progress=True, **kw)
    for other in (chunked, bar):
        assert np.array_equal(other.x, one.x)
        assert other.traces.keys() == one.traces.keys()
        assert np.array_equal(other.traces["dist2"], one.traces["dist2"])
        assert list(other.stats) == list(one.stats) and np.array_equal(other.stats["steps_run"], one.stats["steps_run"])
    df = one.to_dataframe()
    assert "dist2" in df.columns and np.array_equal(df["dist2"].to_numpy(), one.traces["dist2"].reshape(-1))
    assert "final_dist2" in one.to_dataframe(every_record=False).columns


def test_pieces_read_the_runs_target():
    from numba import njit

    @njit
    def to_target(x, target):
        x[0] = target

    tb.declare.register_method(VectorMethod("test-target", (), to_target), replace=True)
    assert tb.run(tb.make_problem("test-quad"), "test-target", steps=1, target=0.25).x[-1, 0] == 0.25
    with pytest.raises(TheoryBenchError, match="reserved"):
        VectorMethod("bad", (tb.Param("target", 0.1, "clash"),), to_target)


def test_method_check_refuses_a_value_that_does_not_fit_before_work(capsys):
    from numba import njit

    @njit
    def take_k(x, k):
        x[k - 1] = 1.0  # out of bounds (a crash deep in the kernel) unless k <= d

    def k_fits(problem, settings):
        if settings["k"] > problem.dim:
            return f"k must be at most d = {problem.dim}"

    tb.declare.register_method(VectorMethod("test-k", (tb.Param("k", 1, "entries", kind="int", low=1),), take_k,
                                            check=k_fits), replace=True)
    prob = tb.make_problem("test-quad", d=3)
    assert tb.run(prob, "test-k", steps=1, k=3).x[-1, 2] == 1.0
    with pytest.raises(TheoryBenchError, match=r"method 'test-k' with k=4 does not fit.*at most d = 3"):
        tb.sweep(prob, "test-k", grid={"k": [1, 4]}, steps=1)
    rc = cli.main(["run", "test-quad", "test-k", "-a", "k=5", "--steps", "1"])
    err = capsys.readouterr().err
    assert rc == 2 and "at most d = 3" in err and "Traceback" not in err


def _first_order_reference(prob, name, T, seed, **h):
    """The four library first-order methods from their definitions (theorybench.methods.first_order_vector)."""
    H, c, sigma, d = prob.arrays["H"], prob.arrays["c"], prob.arrays["sigma"], prob.dim
    x, xs, clipped, K = prob.x0.copy(), [prob.x0.copy()], 0, 1.0
    h_max = np.linalg.norm(H, 2)
    for t in range(T):
        g = H @ (x - c) + (sigma * normal_vector(seed, 0, t, d) if prob.noise != "none" else 0.0)
        n = np.linalg.norm(g)
        # K: a bound on this step's Lipschitz factor (x -> x - s(g) with g affine in x, ||dg/dx|| = ||H||;
        # the derivative of g/||g|| is (I - u u^T)/||g||, of eta g/(L0 + L1 ||g||) at most eta/L0 + ...)
        if name == "gd":
            x = x - h["eta"] * g
            K = max(K, 1.0 + h["eta"] * h_max)
        elif name == "l0l1-gd":
            x = x - h["eta"] / (h["L0"] + h["L1"] * n) * g
            K = max(K, 1.0 + 2.0 * h["eta"] / h["L0"] * h_max)
        elif name == "clipped-gd":
            step_conv = h["convention"] == "step"
            clip = n > (h["gamma"] / h["eta"] if step_conv else h["gamma"])
            clipped += clip
            length = h["gamma"] if step_conv else h["eta"] * h["gamma"]
            x = x - (length * g / n if clip else h["eta"] * g)
            K = max(K, 1.0 + (length / n if clip else h["eta"]) * h_max)
        else:
            beta = h["R_hat"] / np.sqrt(t + 1.0)
            x = x - beta * g / n if n > 0 else x
            K = max(K, 1.0 + beta / n * h_max)
        xs.append(x.copy())
    return np.array(xs), clipped / T, K


@pytest.mark.parametrize("name,h", [("gd", dict(eta=0.1)), ("l0l1-gd", dict(eta=0.5, L0=4.0, L1=3.0)),
                                    ("clipped-gd", dict(eta=0.15, gamma=0.3, convention="step")),
                                    ("clipped-gd", dict(eta=0.15, gamma=2.0, convention="grad")),
                                    ("normalized-gd", dict(R_hat=0.5))])
def test_library_first_order_methods_on_vector_instances(name, h):
    """gd, l0l1-gd, clipped-gd and normalized-gd have vector-template variants: on a vector instance the
    runner takes them; on the engine's own instances the single-machine kernel stays the default."""
    prob = tb.make_problem("test-quad", d=3, sigma=0.5)
    T = 40
    res = tb.run(prob, name, steps=T, seed=2, record=np.arange(T + 1), **h)
    ref, frac, K = _first_order_reference(prob, name, T, 2, **h)
    atol = [trajectory_atol(t + 1, local_rel(prob.dim), K, np.abs(ref[:t + 1]).max()) for t in range(T + 1)]
    assert_trajectory_close(res.x, ref, atol, name, min_horizon=5)
    if name == "clipped-gd":
        assert res.stats["clipped_fraction"] == pytest.approx(frac)
    from theorybench.runner import algorithm_for
    assert algorithm_for(name, prob).kernel == "vector"
    from theorybench import families
    from theorybench.problem import Problem
    engine_own = Problem("abs-power", families.ABSPOW, np.array([[4.0, 0.0]]), 1, [1.0])
    assert algorithm_for(name, engine_own).kernel == "single"


@pytest.mark.parametrize("mode", [0, 1, 2])
def test_divergence_round_is_the_first_bad_step_between_records(mode):
    """A step that leaves a NaN, an inf or a coordinate past 1e150 ends the run there, recorded or not."""
    from numba import njit

    @njit
    def break_at_3(x, t, mode):
        if t == 3:
            x[1] = np.nan if mode == 0 else (np.inf if mode == 1 else 1e200)

    tb.declare.register_method(VectorMethod("test-break", (tb.Param("mode", 0, "0 nan, 1 inf, 2 1e200",
                                                                    kind="int", low=0, high=2),), break_at_3),
                               replace=True)
    res = tb.run(tb.make_problem("test-quad"), "test-break", steps=50, mode=mode, record=[0, 50])
    assert res.stats["diverged_round"] == 4 and res.diverged


def test_divergence_round_does_not_depend_on_the_record_schedule():
    """A loss past 1e150 between records ends the run at that step whatever the record schedule (the rule is
    applied wherever the iterate leaves the family's safe radius, and at every step without one)."""
    from numba import njit

    @njit
    def blow_at_2(x, t):
        if t == 2:
            for j in range(x.shape[0]):
                x[j] = 1e149   # below the bound on x, but f ~ 1e298

    tb.declare.register_method(VectorMethod("test-blow", (), blow_at_2), replace=True)
    for single in (0, 1):  # with the family's safe radius, and without one
        prob = tb.make_problem("test-quad", single=single)
        a = tb.run(prob, "test-blow", steps=6)
        b = tb.run(prob, "test-blow", steps=6, record=[0, 6])
        assert a.stats["diverged_round"] == b.stats["diverged_round"] == 3
        assert a.stats["max_abs_x"] == b.stats["max_abs_x"] < 1e149  # only healthy steps count


def test_review_misuse_gets_clear_errors():
    from numba import njit
    from theorybench.declare_vector import VectorFamily, VectorProblem

    @njit
    def s1(x, t, h):
        x[0] = 1.0

    @njit
    def init_t(x, t, h):
        h[0] = t + 5.0

    @njit
    def h0(h):
        return h[0]

    m = tb.declare.register_method(VectorMethod("test-init-t", (), s1, state=(("h", (1,)),), init=init_t,
                                                stats=(("h0", h0),)), replace=True)
    assert tb.run(tb.make_problem("test-quad"), m.name, steps=2).stats["h0"] == 5.0   # init sees t = 0
    with pytest.raises(TheoryBenchError, match="engine's own"):
        VectorMethod("bad", (), s1, stats=(("max_abs_x", h0),))

    @njit
    def bad_value(x, out, c):
        return 0.0
    with pytest.raises(TheoryBenchError, match="'out' is a reserved name"):
        VectorFamily("bad", ("x",), bad_value, vector_example.tq_grad)
    with pytest.raises(ValueError, match="sizes must be positive"):
        VectorProblem("p", -1, np.zeros((1, 0)), 2, np.zeros(2), arrays={}, dims={"m": -1})
    with pytest.raises(ValueError, match="real numbers"):
        VectorProblem("p", -1, np.zeros((1, 0)), 2, np.zeros(2), arrays={"c": np.ones(2) * 1j})
    with pytest.raises(ValueError, match="at least one client"):
        VectorProblem("p", -1, np.zeros((0, 0)), 2, np.zeros(2))


def test_a_piece_that_does_not_type_check_is_reported_with_the_layout():
    from numba import njit

    @njit
    def index_sigma(x, sigma):
        x[0] = sigma[0]   # sigma is a number on test-quad

    tb.declare.register_method(VectorMethod("test-index", (), index_sigma), replace=True)
    with pytest.raises(TheoryBenchError, match=r"does not compile for this instance's arrays \[.*sigma \(f\)"):
        tb.run(tb.make_problem("test-quad"), "test-index", steps=1)


def test_smooth_safe_radius_bounds_f_and_its_gradient():
    from theorybench.declare_vector import smooth_safe_radius
    L, xs = 10.0, np.array([1.0, -2.0, 0.5])
    rho = smooth_safe_radius(L, xs)
    x = np.full(3, rho)          # the worst corner of the box max_j |x_j| < rho
    r = np.linalg.norm(x - (-np.sign(xs) * np.abs(xs)))
    assert L * r * r / 2 < 1e150 and L * r < 1e150 and rho > 1e70
    assert smooth_safe_radius(0.0, xs) == 0.0 and smooth_safe_radius(L, [np.nan]) == 0.0


def test_negative_target_stops_at_the_first_running_average_crossing():
    """As in the other kernels: target < 0 uses |target| and ends the run at the first step where the running
    average of ||grad f(x_t)|| is below it (the records after it are NaN)."""
    prob = tb.make_problem("test-quad", d=3)
    T = 200
    full = tb.run(prob, "test-sgd", steps=T, eta=0.1, record=np.arange(T + 1))
    avg = np.cumsum(full.grad_norm) / np.arange(1, T + 2)
    k = int(np.argmax(avg <= 0.5))
    assert 0 < k < T
    res = tb.run(prob, "test-sgd", steps=T, eta=0.1, target=-0.5, record=np.arange(T + 1))
    assert res.stats["first_average_below_target"] == k and res.stats["diverged_round"] == -1
    assert np.isfinite(res.loss[:k + 1]).all() and np.isnan(res.loss[k + 1:]).all()
    assert np.array_equal(res.x[:k + 1], full.x[:k + 1])
