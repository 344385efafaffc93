"""The separable-logistic engine: kernel vs the NumPy reference, gradients, instances, margins, transition
times, the log-domain loss, data files (conventions: docs/conventions.md,
section "Separable logistic regression")."""
import json
import math

import numpy as np
import pytest

import theorybench as tb
from problems import logistic_data as L
from theorybench.errors import TheoryBenchError
from theorybench.kernels import logistic as K
from theorybench.logistic_flow import local_gradient_flow

import reference_logistic
import tolerances as tol
from reference_logistic import gd, log_F, transition_times
from paper_checks._logistic_common import runs


def clients_of(p):
    return [p.Z[m, :p.counts[m]] for m in range(p.Z.shape[0])]


CASES = [("wbty-toy", {"normalize": "raw"}, "logistic-gd", {"eta": 8.0}, "gd"),
         ("wbty-toy", {"normalize": "unit"}, "logistic-gd", {"eta": 32.0}, "gd"),
         ("logistic-random", {"d": 5, "n": 7, "data_seed": 3}, "logistic-gd", {"eta": 16.0}, "gd"),
         ("wbty-toy", {"normalize": "unit"}, "exp-gd", {"eta": 1.0}, "exp"),
         ("logistic-two-client", {"delta": 0.5}, "logistic-local-gd", {"eta": 4.0, "local_steps": 5}, "local"),
         ("cl-lemma31", {"n": 8}, "perceptron", {}, "perceptron")]


@pytest.mark.parametrize("pname,pset,alg,aset,ref", CASES, ids=[c[2] + "-" + c[0] for c in CASES])
def test_kernel_matches_reference(pname, pset, alg, aset, ref):
    p = tb.make_problem(pname, **pset)
    T = 200
    r = runs(alg, [p], [aset], T, record=np.arange(T + 1))
    W, Lr = gd(clients_of(p), aset.get("eta", 1.0), T, ref, aset.get("local_steps", 1))
    # Large steps (eta up to 32: the unstable phase before the loss turns monotone) amplify rounding: the
    # tolerance is the reference's measured sensitivity (tests/tolerances.py), perturbing its gradient
    # (a mean over all n points in d dimensions) and its per-point log-losses; log F is a logarithm, so its
    # floor scale is 1 (an absolute error in log F is a relative error in F).
    rel = tol.local_rel(p.Z.shape[-1], extra=int(np.sum(p.counts)))
    atol_w, atol_l = tol.reference_atol(
        lambda: gd(clients_of(p), aset.get("eta", 1.0), T, ref, aset.get("local_steps", 1)), rel,
        patch=[(reference_logistic, "grad_F"), (reference_logistic, "log_ell")],
        per_step=aset.get("local_steps", 1), floor=(0.0, 1.0))
    tol.assert_trajectory_close(r.w[0], W, atol_w, what=f"{alg} iterates")
    tol.assert_trajectory_close(r.log_loss[0], Lr, atol_l, what=f"{alg} log F", floor=1.0)
    eta_eff = aset.get("eta", 1.0) * aset.get("local_steps", 1)
    tm, t2, t1, t8 = transition_times(Lr, eta_eff)
    if ref != "perceptron":
        assert (r.stats["tau_mono"][0], r.stats["tau_2_eta"][0], r.stats["tau_1_eta"][0]) == (tm, t2, t1)
        if t8 >= 0:
            assert r.stats["tau_8_eta"][0] == t8


def test_bitwise_same_in_a_batch_and_alone():
    p = tb.make_problem("logistic-random", d=3, data_seed=1)
    one = runs("logistic-gd", [p], [{"eta": 8.0}], 300, record=[300])
    many = runs("logistic-gd", [p] * 5, [{"eta": e} for e in (1.0, 8.0, 2.0, 8.0, 64.0)], 300, record=[300])
    assert np.array_equal(one.w[0], many.w[1]) and np.array_equal(one.w[0], many.w[3])


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    for pname, pset in [("wbty-toy", {}), ("logistic-random", {"d": 4, "n": 9}), ("logistic-two-client", {})]:
        p = tb.make_problem(pname, **pset)
        for _ in range(3):
            w = rng.standard_normal(p.dim)
            g = p.grad(w)
            h = 1e-6
            fd = np.array([(p.value(w + h * e) - p.value(w - h * e)) / (2 * h) for e in np.eye(p.dim)])
            assert np.allclose(g, fd, rtol=1e-6, atol=1e-9)
            # the kernel's gradient (scaled log form) against the same
            gk = np.empty(p.dim)
            lbuf = np.empty(2 * p.Z.shape[0] * p.Z.shape[1])
            logF, gm, vn, amin = K.evaluate(0, p.Z, p.counts, w, lbuf, gk)
            loggn = gm + 0.5 * math.log(vn)
            assert np.allclose(gk, g, rtol=1e-12, atol=1e-15)
            assert math.isclose(logF, math.log(p.value(w)), rel_tol=1e-12, abs_tol=1e-14)
            assert math.isclose(loggn, math.log(np.linalg.norm(g)), rel_tol=1e-12, abs_tol=1e-13)


def test_log_domain_loss_at_huge_margins():
    p = tb.make_problem("wbty-toy", normalize="unit")
    w = 1e4 * p.wstar  # every margin ~ 995: F ~ 1e-432, below float64
    logF = log_F(clients_of(p), w)
    gk = np.empty(2)
    lk, gm, vn, _ = K.evaluate(0, p.Z, p.counts, w, np.empty(8), gk)
    assert logF < -900 and math.isfinite(lk)
    assert math.isclose(lk, logF, rel_tol=1e-14)
    a = p.all_points() @ w  # ell(a) = exp(-a)(1 - exp(-a)/2 + ...) = exp(-a) to double precision here
    assert math.isclose(lk, float(np.log(np.mean(np.exp(-(a - a.min())))) - a.min()), rel_tol=1e-14)
    # GD at eta = 2^20: the loss goes far below float64, stays finite in logs, the horizon is detected
    r = runs("logistic-gd", [p], [{"eta": 2.0**20}], 2000, record=[2000])
    assert r.stats["diverged_round"][0] < 0
    assert r.stats["final_log_loss"][0] < math.log(1e-308)  # below every float64 number
    assert r.stats["horizon_step"][0] >= 0 and r.stats["frozen_step"][0] >= 0
    assert r.stats["horizon_step"][0] <= r.stats["frozen_step"][0] + 1


def test_exponential_loss_divergence_is_reported():
    p = tb.make_problem("wbty-toy", normalize="raw")
    res = tb.run(p, "exp-gd", steps=100, eta=64.0)
    assert res.diverged and res.diverged_at >= 1
    assert np.isnan(res.loss[-1])


@pytest.mark.parametrize("seed", range(6))
def test_transition_time_ordering(seed):
    p = tb.make_problem("logistic-random", d=2 + seed % 3, data_seed=seed, normalize="unit")
    sw = tb.sweep(p, "logistic-gd", grid={"eta": [2.0, 8.0, 32.0, 128.0, 1024.0]}, steps=3000, record=[3000])
    t = [sw.stats[k].ravel() for k in ("tau_mono", "tau_2_eta", "tau_1_eta", "tau_8_eta")]
    assert all((x >= 0).all() for x in t)
    assert (t[0] <= t[1]).all() and (t[1] <= t[2]).all() and (t[2] <= t[3]).all()
    assert (sw.stats["increases_after_2_eta"] == 0).all()


def test_delta_star_guarantees():
    for g in (1 / 6, 0.1, 0.05, 0.02, 0.01, 0.001):
        for n in (2, 3, 6, 11, 40):
            for f in (1.0, 3.0, 100.0):
                eta = f * L.cl_eta1(g, n)
                dl = L.cl32_delta(g, n, eta)
                assert 4 * g * g / 3 <= dl <= 7 * g * g, (g, n, eta, dl)
                X = L.cl32_points(g, n, eta)
                w1 = eta * 0.5 * X.mean(axis=0)  # the first GD step from 0: sigma(0) = 1/2
                assert math.isclose(w1 @ X[0], L.cl32_lambda(n, eta) - 1, rel_tol=1e-9, abs_tol=1e-9)
                assert math.isclose(L.cl32_delta(g, n, eta) ** 2 - (n / math.ceil(n / 2) - 1) * math.sqrt(1 - g * g) * dl
                                    + (n / math.ceil(n / 2)) * g * g
                                    - (2 * n / (eta * math.ceil(n / 2))) * (L.cl32_lambda(n, eta) - 1), 0.0, abs_tol=1e-12)


def test_margin_qp_against_angle_grid_and_kkt():
    for seed in range(5):
        p = tb.make_problem("logistic-random", d=2, n=6, data_seed=seed, normalize="unit")
        Z = p.all_points()
        gq = p.margin
        gg, _ = L.margin_angle_grid(Z)
        assert gg <= gq + 1e-12 and gq - gg <= 1e-4
        assert abs(np.min(Z @ p.wstar) - gq) <= 1e-10 and abs(np.linalg.norm(p.wstar) - 1) <= 1e-12
    p = tb.make_problem("wbty-toy")
    assert abs(p.margin - 0.2) <= 1e-12 and np.allclose(p.wstar, [0, 1], atol=1e-9)
    for d in (3, 8):  # the construction's margin is a lower bound; the QP is at least as large
        p = tb.make_problem("logistic-random", d=d, data_seed=2)
        assert p.margin >= 0.1 - 1e-12
    g, _ = L.max_margin(np.array([[1.0, 0.0], [-1.0, 0.0]]))
    assert g <= 0


def test_instances_match_the_papers():
    Z = L.wbty_toy_points()
    assert np.allclose(Z, [[1, 0.2], [-2, 0.2], [1, 0.2], [-2, 0.2]])
    p = tb.make_problem("wbty-toy", normalize="unit")
    assert np.max(np.linalg.norm(p.all_points(), axis=1)) == pytest.approx(1.0, abs=1e-15)
    X = L.cl31_points(0.1, 6)
    assert np.allclose(X[0], [0.1, -0.1]) and np.allclose(X[1:], [0.1, math.sqrt(0.99)])
    q = tb.make_problem("cl-lemma31", gamma=0.1, n=6)
    assert abs(q.margin - 0.1) <= 1e-12 and np.allclose(q.wstar, [1, 0], atol=1e-9)
    X = L.wbty_lower_points(0.05)
    assert np.allclose(np.linalg.norm(X[0]), 1.0)
    X = L.random_points(5, 50, 0.1, 0)
    assert np.allclose(X[:, 0], 0.1) and np.all(np.linalg.norm(X, axis=1) <= 1 + 1e-12)
    c1, c2 = L.two_client_points(0.1, 0.5)
    assert np.allclose(c2, [[0.1, -0.5]])
    ns = tb.make_problem("logistic-two-client", separable="no")
    assert ns.margin == 0.0


def test_data_file_loading_and_cli(tmp_path, capsys):
    rng = np.random.default_rng(5)
    X = rng.standard_normal((30, 3))
    y = np.where(X @ np.array([1.0, -0.5, 0.2]) >= 0, 1.0, -1.0)
    csv = tmp_path / "pts.csv"
    np.savetxt(csv, np.column_stack([X, y]), delimiter=",", header="x1,x2,x3,y")
    npy = tmp_path / "pts.npy"
    np.save(npy, np.column_stack([X, (y + 1) / 2]))  # 0/1 labels
    a = tb.make_problem("logistic-data", data=str(csv))
    b = tb.make_problem("logistic-data", data=str(npy), normalize="unit")
    assert np.allclose(a.all_points(), b.all_points())
    scale = np.max(np.linalg.norm(X, axis=1))
    assert np.allclose(a.all_points(), X * y[:, None] / scale)
    assert a.margin > 0
    from theorybench.cli import main
    assert main(["run", "logistic-data", "logistic-gd", "-p", f"data={csv}", "-a", "eta=4", "--steps", "50",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["stats"]["tau_2_eta"] >= 0
    with pytest.raises(TheoryBenchError, match="data"):
        tb.make_problem("logistic-data", data=str(tmp_path / "missing.csv"))


def test_runner_integration_and_errors():
    res = tb.run("wbty-toy", "logistic-gd", steps=500, eta=8.0)
    assert {"tau_mono", "tau_2_eta", "horizon_step"} <= set(res.stats)
    assert res.traces["log_loss"].shape == res.loss.shape
    assert np.allclose(np.exp(res.traces["log_loss"]), res.loss)
    sw = tb.sweep("logistic-random", "logistic-local-gd", grid={"local_steps": [1, 4]}, problem_grid={"data_seed": [0, 1]},
                  steps=None, rounds=100, eta=2.0)
    assert sw.stats["tau_2_eta"].shape == (2, 2, 1)
    assert sw.sel("log_loss", data_seed=1, local_steps=4).shape[-1] == sw.rounds.size
    with pytest.raises(TheoryBenchError, match="logistic"):
        tb.run("two-client-quadratic", "logistic-gd", steps=10)
    with pytest.raises(TheoryBenchError, match="eta"):
        tb.run("wbty-toy", "logistic-gd", steps=10, eta=-1.0)
    # the federated kernels are untouched by the hook
    r = tb.run("two-client-quadratic", "fedavg", rounds=5, local_steps=2, eta=0.1)
    assert "clipped_fraction" in r.stats


def test_local_gradient_flow_is_the_small_step_limit():
    p = tb.make_problem("logistic-two-client", delta=0.5)
    X = p.all_points()
    W, F = local_gradient_flow(X, 1.0, 4, 6)
    r = runs("logistic-local-gd", [p], [{"eta": 1e-4, "local_steps": 40000}], 6, record=np.arange(7))
    assert np.allclose(r.w[0], W, atol=1e-4)
    assert np.allclose(np.log(F), r.log_loss[0], atol=1e-4)
    # huge margins: the a0 > 700 branch
    W2, _ = local_gradient_flow(X, 1e6, 1, 50)
    assert np.isfinite(W2).all()


def test_perceptron_leaves_zero_and_separates():
    p = tb.make_problem("cl-lemma31", n=6)
    r = runs("perceptron", [p], [{}], 2000, record=[2000])
    assert r.stats["t_all_positive"][0] >= 1
    assert np.min(p.all_points() @ r.w[0, -1]) > 0


def test_sharpness_exact_lanczos_and_bounded_by_the_loss():
    from theorybench.logistic_sharpness import hessian, sharpness
    p = tb.make_problem("logistic-random", d=300, n=40, data_seed=1, exact_margin="no")
    w = np.random.default_rng(0).standard_normal(300) * 0.1
    assert math.isclose(sharpness(p, w, "exact"), sharpness(p, w, "lanczos"), rel_tol=1e-9)
    q = tb.make_problem("wbty-toy", normalize="unit")
    w = np.array([0.3, -0.2])
    H = hessian(q, w)
    h = 1e-5
    fd = np.array([(q.grad(w + h * e) - q.grad(w - h * e)) / (2 * h) for e in np.eye(2)])
    assert np.allclose(H, fd, atol=1e-8)
    r = runs("logistic-gd", [q], [{"eta": 16.0}], 300, record=np.arange(301))
    for t in range(0, 301, 7):
        assert sharpness(q, r.w[0, t]) <= math.exp(r.log_loss[0, t]) * (1 + 1e-12)


def test_checks_off_and_early_stop_keep_the_transition_times():
    p = tb.make_problem("logistic-random", d=3, data_seed=4, normalize="unit")
    base = runs("logistic-gd", [p] * 3, [{"eta": e} for e in (4.0, 64.0, 512.0)], 1500, record=[1500])
    lean = runs("logistic-gd", [p] * 3, [{"eta": e, "checks": 0} for e in (4.0, 64.0, 512.0)], 1500, record=[1500])
    stop = runs("logistic-gd", [p] * 3, [{"eta": e, "stop_below": 2.0} for e in (4.0, 64.0, 512.0)], 1500,
                record=[1500])
    assert np.array_equal(base.w, lean.w)
    for k in ("tau_mono", "tau_2_eta", "tau_1_eta", "tau_8_eta", "horizon_step"):
        assert np.array_equal(base.stats[k], lean.stats[k])
    assert (lean.stats["avg_bound_violations"] == 0).all()
    assert np.array_equal(base.stats["tau_2_eta"], stop.stats["tau_2_eta"])
    assert np.isnan(stop.w[:, -1]).all()  # stopped: the rest of the trace is NaN


def test_vectorisable_exp_within_one_ulp():
    """The d = 2 path's exp(-|a|) (range reduction + polynomial, vectorised by LLVM) against math.exp."""
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.uniform(-700.0, 700.0, 20000), rng.uniform(-1.0, 1.0, 5000),
                        [0.0, -0.0, 1e-300, 0.5 * math.log(2.0), -0.5 * math.log(2.0), 699.999, -699.999, 1.0, 2.0]])
    e = K.exp_neg_abs_array(a)
    ref = np.array([math.exp(-abs(v)) for v in a])
    assert e[-9] == 1.0 and e[-8] == 1.0
    assert np.all(np.abs(e - ref) <= np.spacing(ref))  # within one ulp everywhere
    assert np.mean(e == ref) > 0.5  # mostly the same bits


def _embed(p, extra_dims=1):
    """The same data with zero extra coordinates: runs the general-dimension path on identical margins."""
    from types import SimpleNamespace
    Z = np.concatenate([p.Z, np.zeros(p.Z.shape[:2] + (extra_dims,))], axis=2)
    return SimpleNamespace(Z=Z, counts=p.counts, dim=Z.shape[2], margin=p.margin,
                           wstar=None if p.wstar is None else np.concatenate([p.wstar, np.zeros(extra_dims)]),
                           name=p.name)


def _kernel(algo, P, hyper, T, rec):
    """Call the kernel's batch on problems of one shape (the runner's packing, without its checks)."""
    n, d = len(P), P[0].Z.shape[2]
    ow, ol, og = np.empty((n, rec.size, d)), np.empty((n, rec.size)), np.empty((n, rec.size))
    os_ = np.empty((n, K.N_STATS))
    K.batch(algo, np.stack([p.Z for p in P]), np.stack([p.counts for p in P]).astype(np.int64), np.stack(hyper),
            np.zeros((n, d)), np.array([p.margin for p in P]),
            np.stack([p.wstar if p.wstar is not None else np.zeros(d) for p in P]).astype(np.float64), T, rec,
            ow, ol, og, os_)
    return ow, ol, og, os_


def _hyper(**kw):
    h = np.array([K.DEFAULTS[s] for s in K.SLOTS], dtype=np.float64)
    for k, v in kw.items():
        h[K.SLOTS.index(k)] = v
    return h


@pytest.mark.parametrize("d", [3, 5])
@pytest.mark.parametrize("eta", [0.5, 64.0])
def test_coordinate_rows_path_matches_reference(d, eta):
    """d != 2, one client, n >= 16 (the coordinates as the rows of X, the vectorisable exp) against the
    NumPy reference, tolerance derived as in test_kernel_matches_reference."""
    p = tb.make_problem("logistic-random", d=d, n=32, gamma=0.1, data_seed=2, normalize="unit", exact_margin="no")
    T = 200
    W, Lr = gd(clients_of(p), eta, T, "gd")
    rel = tol.local_rel(d, extra=32)
    atol_w, atol_l = tol.reference_atol(lambda: gd(clients_of(p), eta, T, "gd"), rel,
                                        patch=[(reference_logistic, "grad_F"), (reference_logistic, "log_ell")],
                                        floor=(0.0, 1.0))
    r = runs("logistic-gd", [p], [{"eta": eta}], T, record=np.arange(T + 1))
    tol.assert_trajectory_close(r.w[0], W, atol_w, what=f"d = {d} rows path iterates")
    tol.assert_trajectory_close(r.log_loss[0], Lr, atol_l, what=f"d = {d} rows path log F", floor=1.0)
    tm, t2, t1, _ = transition_times(Lr, eta)
    assert (r.stats["tau_mono"][0], r.stats["tau_2_eta"][0], r.stats["tau_1_eta"][0]) == (tm, t2, t1)


@pytest.mark.parametrize("d", [2, 3, 5])
def test_fast_evaluations_match_the_general_evaluation(d):
    """At points of a trajectory: the fast paths' gradient and log F against the general path's
    (math.exp, a sub-array per point), within the rounding bound of two evaluations of an n-term sum whose
    terms err by (ORACLE_EPS + d A) eps relative (A = max_i sum_j |w_j z_ij|: the margins' own rounding,
    passed on by exp; tests/tolerances.py sum_rtol)."""
    n = 64
    p = tb.make_problem("logistic-random", d=d, n=n, gamma=0.1, data_seed=1, normalize="unit", exact_margin="no")
    Z = np.ascontiguousarray(p.Z)
    W, _ = gd(clients_of(p), 64.0, 300, "gd")
    X = np.ascontiguousarray(Z[0].T)
    bufs = [np.empty(n) for _ in range(3)]
    ib = np.empty(n, np.int64)
    for w in W[::10]:
        g = np.empty(d)
        lf, gml, vn, amin = K.evaluate(0, Z, p.counts.astype(np.int64), w, np.empty(2 * n), g)
        assert gml == 0.0  # the linear domain (every margin below 700)
        if d == 2:
            ok, lf2, g0, g1, amin2, allpos = K.evaluate_d2(X[0].copy(), X[1].copy(), w[0], w[1], True, *bufs, ib,
                                                           ib.view(np.float64))
            g2 = np.array([g0, g1])
        else:
            g2 = np.empty(d)
            ok, lf2, vn2, amin2, allpos = K.evaluate_soa(X, w, g2, True, *bufs, ib, ib.view(np.float64))
        assert ok and allpos == (amin > 0)
        A = np.max(np.abs(Z[0] * w).sum(axis=1))
        rt = tol.sum_rtol(n, tol.ORACLE_EPS + d * A)
        a = Z[0] @ w
        phi = 1.0 / (1.0 + np.exp(a))
        assert np.all(np.abs(g2 - g) <= 2 * rt * (np.abs(phi[:, None] * Z[0]).sum(axis=0) / n)), (w, g, g2)
        assert abs(lf2 - lf) <= 2 * rt + 4 * tol.EPS * max(1.0, abs(lf))
        assert amin2 == amin or d > 3  # the margins' bits are the general path's for d <= 3


@pytest.mark.parametrize("eta", [0.5, 8.0, 64.0, 512.0])
def test_d2_fast_path_matches_reference_and_general_path(eta):
    """d = 2, one client (the coordinates-as-arrays path with the vectorisable exp) against the NumPy
    reference (tolerance derived as in test_kernel_matches_reference) and against the rows path (the same
    data with a zero third coordinate: identical margins), with every running statistic."""
    p = tb.make_problem("logistic-random", d=2, n=64, gamma=0.1, data_seed=0, normalize="unit", exact_margin="no")
    T = 200
    rec = np.arange(T + 1)
    W, Lr = gd(clients_of(p), eta, T, "gd")
    rel = tol.local_rel(2, extra=64)
    atol_w, atol_l = tol.reference_atol(lambda: gd(clients_of(p), eta, T, "gd"), rel,
                                        patch=[(reference_logistic, "grad_F"), (reference_logistic, "log_ell")],
                                        floor=(0.0, 1.0))
    fw, fl, _, fs = _kernel(K.GD, [p], [_hyper(eta=eta)], T, rec)
    gw, gl, _, gs = _kernel(K.GD, [_embed(p)], [_hyper(eta=eta)], T, rec)
    assert np.all(gw[0, :, 2] == 0.0)  # (d = 3 runs the rows path: its margins' bits are d = 2's)
    tol.assert_trajectory_close(fw[0], W, atol_w, what="d = 2 path iterates")
    tol.assert_trajectory_close(fl[0], Lr, atol_l, what="d = 2 path log F", floor=1.0)
    tol.assert_trajectory_close(fw[0], gw[0, :, :2], atol_w, what="d = 2 path vs general path")
    tol.assert_trajectory_close(fl[0], gl[0], atol_l, what="d = 2 path vs general path log F", floor=1.0)
    tm, t2, t1, t8 = transition_times(Lr, eta)
    S = K.STAT_NAMES
    assert (fs[0, S.index("tau_mono")], fs[0, S.index("tau_2_eta")], fs[0, S.index("tau_1_eta")]) == (tm, t2, t1)


CASES_RUNNING = [("logistic-random", {"d": 2, "n": 64, "gamma": 0.01, "exact_margin": "no"}, "logistic-gd", 0),
                 ("logistic-random", {"d": 2, "n": 64, "exact_margin": "no"}, "logistic-gd", 1),
                 ("wbty-toy", {"normalize": "raw"}, "logistic-gd", 1),
                 ("logistic-random", {"d": 5, "n": 7, "data_seed": 3}, "logistic-gd", 0),
                 ("logistic-random", {"d": 5, "n": 64, "gamma": 0.01, "exact_margin": "no"}, "logistic-gd", 0),
                 ("logistic-random", {"d": 3, "n": 16, "exact_margin": "no"}, "logistic-gd", 1),
                 ("wbty-toy", {"normalize": "raw"}, "exp-gd", 1)]


@pytest.mark.parametrize("pname,pset,alg,checks", CASES_RUNNING,
                         ids=[f"{c[2]}-{c[0]}-d{c[1].get('d', 2)}-checks{c[3]}" for c in CASES_RUNNING])
def test_running_off_evaluates_the_loss_only_where_needed(pname, pset, alg, checks):
    """running = 0: the recorded iterates and losses and every statistic that does not need the loss between
    records are bit-identical to running = 1 (divergence, horizon, frozen step, norms, final loss, min margin,
    positivity, perceptron and norm-bound checks); the loss statistics are NaN (not computed)."""
    p = tb.make_problem(pname, **pset)
    etas = (0.5, 8.0, 64.0, 512.0, 4096.0, 1e5) if alg == "logistic-gd" else (1.0, 64.0)
    T = 3000
    rec = [0, 7, 100, 1234, T]
    on = runs(alg, [p] * len(etas), [{"eta": e, "checks": checks} for e in etas], T, record=rec)
    off = runs(alg, [p] * len(etas), [{"eta": e, "checks": checks, "running": 0} for e in etas], T, record=rec)
    assert np.array_equal(on.w, off.w, equal_nan=True)
    assert np.array_equal(on.log_loss, off.log_loss, equal_nan=True)
    assert np.array_equal(on.log_grad_norm, off.log_grad_norm, equal_nan=True)
    loss_stats = {K.STAT_NAMES[k] for k in K.LOSS_STATS}
    for k in K.STAT_NAMES:
        if k in loss_stats:
            assert np.isnan(off.stats[k]).all(), k
        else:
            assert np.array_equal(on.stats[k], off.stats[k], equal_nan=True), k
    if alg == "exp-gd":
        assert (off.stats["diverged_round"] >= 1).any()  # the divergence branch (final loss recomputed)
    elif pset.get("gamma") == 0.01:  # the steps between records reach the positivity, horizon and freeze
        assert (off.stats["horizon_step"] > 100).any() and (off.stats["frozen_step"] > 100).any()
        assert (off.stats["t_all_positive"] > 100).any()


@pytest.mark.parametrize("d", [2, 5])
def test_fast_paths_same_bits_on_every_thread_count(d):
    import numba
    p = tb.make_problem("logistic-random", d=d, n=64, gamma=0.1, data_seed=0, normalize="unit", exact_margin="no")
    etas = 2.0 ** np.linspace(-2.0, 10.0, 16)
    before = numba.get_num_threads()
    try:
        out = []
        for nt in sorted({1, min(2, numba.config.NUMBA_NUM_THREADS)}):
            numba.set_num_threads(nt)
            for running in (0, 1):
                r = runs("logistic-gd", [p] * etas.size, [{"eta": e, "running": running} for e in etas], 2000,
                         record=[0, 500, 2000])
                out.append((running, r.w, r.log_loss))
    finally:
        numba.set_num_threads(before)
    for running, w, lf in out[2:]:
        ref = out[running]
        assert np.array_equal(w, ref[1]) and np.array_equal(lf, ref[2])


def test_running_is_validated():
    with pytest.raises(TheoryBenchError, match="running"):
        tb.get_algorithm("logistic-gd").resolve({"running": 2})
