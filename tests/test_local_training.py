"""The quadratic-clients instance and the local-training methods (Scaffnew, local GD with random
communication) against the plain NumPy reference of ``tests/reference_local_training.py``."""
import json

import numpy as np
import pytest

import theorybench as tb
from theorybench import cli
from theorybench.errors import TheoryBenchError
from theorybench.problem import make_problem

from reference_local_training import run_reference
from tolerances import EPS, local_rel


def qc(**kw):
    return make_problem("quadratic-clients", **kw)


# ------------------------------------------------------------------------------------------- instance

@pytest.mark.parametrize("kw", [{}, {"n": 2, "blocks": 2, "kappa": 1e4, "zeta": 3.0, "seed": 5},
                                {"n": 7, "blocks": 4, "kappa": 37.0, "spread": 3.0}, {"n": 1}])
def test_optimum_exact(kw):
    """grad f(x*) = 0, h_i* = grad f_i(x*), sum_i h_i* = 0 (to rounding of the sum)."""
    p = qc(**kw)
    xs, hs = p.arrays["xstar"], p.arrays["hstar"]
    n = p.n_clients
    scale = np.abs(hs).max() + p.arrays["L"] * np.abs(xs).max()
    assert np.linalg.norm(p.grad(xs)) == 0.0  # grad f(x) = Abar (x - x*): exactly 0 at x*
    for i in range(n):
        np.testing.assert_allclose(p.client_grad(i, xs), hs[i], rtol=0, atol=4 * p.dim * EPS * scale)
    assert np.abs(hs.sum(axis=0)).max() <= 8 * (n + p.dim) * EPS * n * scale
    # the gradient of f = mean_i f_i computed from the clients vanishes too
    assert np.abs(np.mean([p.client_grad(i, xs) for i in range(n)], axis=0)).max() <= 8 * (n + p.dim) * EPS * scale


@pytest.mark.parametrize("n,kappa,spread", [(2, 10.0, 2.0), (4, 100.0, 2.0), (5, 1e4, 4.0), (3, 2.0, 2.0), (1, 50.0, 2.0)])
def test_condition_numbers_as_stated(n, kappa, spread):
    p = qc(n=n, kappa=kappa, spread=spread, blocks=3)
    ev = np.linalg.eigvalsh(p.arrays["A"])
    assert ev.min() == pytest.approx(p.constant("strong_convexity"), rel=1e-12)
    assert ev.max() == pytest.approx(p.constant("smoothness"), rel=1e-12)
    assert p.constant("kappa") == pytest.approx(kappa, rel=1e-12)
    g = np.linalg.eigvalsh(p.arrays["Abar"])
    assert g[-1] / g[0] == pytest.approx(p.constant("kappa_global"), rel=1e-10)
    assert p.constant("kappa_global") == pytest.approx(kappa / spread if n >= 2 else kappa, rel=1e-12)


def test_heterogeneity_scale():
    """zeta = 0: homogeneous clients (x* = 0, h* = 0); the heterogeneity h* scales linearly with zeta."""
    p0, p1, p2 = qc(zeta=0.0), qc(zeta=1.0), qc(zeta=2.0)
    assert np.abs(p0.arrays["xstar"]).max() == 0.0 and np.abs(p0.arrays["hstar"]).max() == 0.0
    np.testing.assert_allclose(p2.arrays["hstar"], 2 * p1.arrays["hstar"], rtol=1e-12, atol=1e-12)


def test_kappa_below_spread_refused():
    with pytest.raises(TheoryBenchError, match="'kappa'"):
        qc(kappa=1.5, spread=2.0)


# ------------------------------------------------------------------------------------------- data files

def test_data_file_round_trip(tmp_path):
    p = qc(n=3, blocks=2, kappa=20.0, seed=3)
    f = tmp_path / "clients.npz"
    np.savez(f, A=p.arrays["A"], c=p.arrays["c"])
    q = qc(data=str(f))
    assert (q.n_clients, q.dim) == (3, 4)
    np.testing.assert_allclose(q.arrays["xstar"], p.arrays["xstar"], rtol=1e-10, atol=1e-12)
    assert q.constant("kappa_global") == pytest.approx(p.constant("kappa_global"), rel=1e-10)
    assert np.linalg.norm(q.grad(q.arrays["xstar"])) == 0.0


def _save(tmp_path, name="bad.npz", **arrays):
    f = tmp_path / name
    np.savez(f, **arrays)
    return str(f)


def test_data_file_errors(tmp_path):
    A = np.stack([np.eye(2), 2 * np.eye(2)])
    c = np.ones((2, 2))
    cases = [
        (str(tmp_path / "missing.npz"), "no file"),
        (str(tmp_path / "x.txt"), "not an .npz"),
        (_save(tmp_path, "noc.npz", A=A), "lacks"),
        (_save(tmp_path, "shape.npz", A=A[:, :, :1], c=c), "shape"),
        (_save(tmp_path, "cshape.npz", A=A, c=np.ones((3, 2))), "c must have shape"),
        (_save(tmp_path, "asym.npz", A=A + np.array([[0, 1.0], [0, 0]]), c=c), "symmetric"),
        (_save(tmp_path, "indef.npz", A=A * np.array([1.0, -1.0])[None, :, None], c=c), "positive definite"),
        (_save(tmp_path, "nan.npz", A=A, c=np.full((2, 2), np.nan)), "finite"),
    ]
    (tmp_path / "x.txt").write_text("not data")
    (tmp_path / "junk.npz").write_bytes(b"not a zip file")
    cases.append((str(tmp_path / "junk.npz"), "cannot read"))
    for path, words in cases:
        with pytest.raises(TheoryBenchError, match="'data'") as e:
            qc(data=path)
        assert words in str(e.value), (path, str(e.value))


# ------------------------------------------------------------------------------------------- kernels vs reference

def _jacobians(A, gamma, q):
    """The one-step maps of Scaffnew on (X, H) (affine; their linear parts) without and with communication."""
    n, d, _ = A.shape
    N = n * d
    I = np.eye(N)
    Ab = np.zeros((N, N))
    for i in range(n):
        Ab[i * d:(i + 1) * d, i * d:(i + 1) * d] = A[i]
    M = np.kron(np.ones((n, n)) / n, np.eye(d))
    out = []
    for theta in (0, 1):
        XX, XH = I - gamma * Ab, gamma * I
        if theta:
            NX, NH = M @ XX, M @ XH - (gamma / q) * M
        else:
            NX, NH = XX, XH
        out.append(np.block([[NX, NH], [(q / gamma) * (NX - XX), I + (q / gamma) * (NH - XH)]]))
    return out


def _atol(A, gamma, q, coins, scale, rel):
    """Forward error bound of the trajectory (``tests/tolerances.py``): the map is affine, so the local
    errors r_k (at most rel * scale_k per entry, sqrt(2 n d) in 2-norm) reach step t through the exact
    products Phi(t, k+1) of the realised maps; both implementations err, hence the 2."""
    J = _jacobians(A, gamma, q)
    N = J[0].shape[0]
    T = len(coins)
    atol = np.zeros(T + 1)
    for t in range(1, T + 1):
        P = np.eye(N)
        s = 0.0
        for k in range(t - 1, -1, -1):
            s += np.linalg.norm(P, 2) * scale[k]
            P = P @ J[int(coins[k])]
        atol[t] = 2.0 * rel * np.sqrt(N) * s
    return atol


@pytest.mark.parametrize("method,gamma_L,p,sigma", [("scaffnew", 1.0, 0.3, 0.0), ("scaffnew", 0.5, 0.1, 0.2),
                                                    ("scaffnew", 1.0, 1.0, 0.0), ("local-gd-random", 1.0, 0.3, 0.0),
                                                    ("local-gd-random", 0.7, 0.5, 0.3)])
def test_kernel_matches_reference(method, gamma_L, p, sigma):
    prob = qc(n=3, blocks=2, kappa=20.0, zeta=1.0, sigma=sigma, seed=2)
    A, c = prob.arrays["A"], prob.arrays["c"]
    gamma, T, seed = gamma_L / prob.arrays["L"], 60, 11
    r = tb.run(prob, method, steps=T, seed=seed, gamma=gamma, p=p, record=np.arange(T + 1))
    cv = method == "scaffnew"
    states = []
    xbar, psi, comms = run_reference(A, c, prob.x0, gamma, p, T, seed=seed, sigma=sigma, control_variates=cv,
                                     xstar=prob.arrays["xstar"], hstar=prob.arrays["hstar"], states=states)
    np.testing.assert_array_equal(r.traces["communications"], comms)  # the same coins, bit for bit
    # local error of step k: rel times the largest term it rounds (X, Xhat, gamma G, gamma H, (gamma/p) H,
    # (p/gamma)(X - Xhat), the new H), the same bound for every entry of the state (X, H)
    scale = np.array([max(np.abs(X).max(), gamma * np.abs(G).max(), max(gamma, gamma / p, 1.0) * np.abs(H).max(),
                          np.abs(states[k + 1][0]).max() * max(1.0, p / gamma), np.abs(states[k + 1][1]).max())
                      for k, (X, H, G) in enumerate(states[:-1])])
    rel = local_rel(prob.dim, extra=prob.n_clients + 4)
    atol = _atol(A, gamma, p, np.diff(comms), np.maximum.accumulate(scale), rel)
    err = np.abs(r.x - xbar).max(axis=1)
    assert np.all(err <= atol + 0.0), (err.max(), atol[np.argmax(err)])
    assert err.max() < 1e-8 * np.abs(xbar).max()  # and far below anything algorithmic
    if cv:
        np.testing.assert_allclose(r.traces["psi"], psi, rtol=1e-8, atol=1e-12 * psi[0])


def test_first_step_and_communication_at_eps():
    prob = qc(kappa=10.0, seed=1)
    T, seed = 400, 3
    xbar, _, comms = run_reference(prob.arrays["A"], prob.arrays["c"], prob.x0, 1.0 / prob.arrays["L"],
                                   np.sqrt(1 / 10.0), T, seed=seed)
    dist = np.linalg.norm(xbar - prob.arrays["xstar"], axis=1)
    runmin = np.minimum.accumulate(dist)
    # a step whose distance falls clearly below every earlier one, past 1e-3 of the start
    k = int(np.flatnonzero((dist[1:] < 0.9 * runmin[:-1]) & (dist[1:] < 1e-3 * dist[0]))[0])
    eps = float(np.sqrt(runmin[k] * dist[k + 1]))  # between the two, far from both (no rounding tie)
    t_ref = int(np.argmax(dist <= eps))
    r = tb.run(prob, "scaffnew", steps=T, seed=seed, eps=eps, target=eps)
    assert r.stats["first_iter_eps"] == t_ref == r.stats["first_below_target"]
    assert r.stats["first_comm_eps"] == comms[t_ref]
    assert r.stats["communications"] == comms[-1]
    r0 = tb.run(prob, "scaffnew", steps=10, seed=seed)
    assert r0.stats["first_iter_eps"] == -1.0 and r0.stats["first_comm_eps"] == -1.0


def test_defaults_are_the_theorems_choice():
    """gamma = 0 means 1/L, p = 0 means 1/sqrt(kappa): the same numbers as passing them."""
    prob = qc(kappa=25.0)
    a = tb.run(prob, "scaffnew", steps=50, seed=4)
    b = tb.run(prob, "scaffnew", steps=50, seed=4, gamma=1.0 / prob.arrays["L"], p=0.2)
    np.testing.assert_array_equal(a.x, b.x)


def test_bad_hyperparameters_refused():
    with pytest.raises(TheoryBenchError, match="'p'"):
        tb.run(qc(), "scaffnew", steps=5, p=1.5)
    with pytest.raises(TheoryBenchError, match="'gamma'"):
        tb.run(qc(), "local-gd-random", steps=5, gamma=-1.0)


def test_cli_run_json(capsys):
    rc = cli.main(["run", "quadratic-clients", "scaffnew", "-p", "kappa=10", "-a", "eps=1e-6", "--steps", "300",
                   "--seed", "2", "--json"])
    out = capsys.readouterr().out
    assert rc == 0
    d = json.loads(out)
    st = d["stats"]
    assert st["communications"] >= 1 and st["first_iter_eps"] > 0 and 0 < st["first_comm_eps"] <= st["communications"]
    assert "psi" in st and d["algorithm"] == "scaffnew"


def test_sweep_over_p_and_kappa():
    """sweep: a grid over p and the instance's kappa, with seeds; each cell is the run of its settings."""
    s = tb.sweep("quadratic-clients", "scaffnew", grid={"p": [0.2, 1.0]}, problem_grid={"kappa": [10.0, 40.0]},
                 seeds=3, steps=200, eps=1e-3)
    comms = np.asarray(s.stats["communications"])
    assert comms.shape == (2, 2, 3)
    assert np.all(comms[:, 1, :] == 200)  # p = 1: a communication every step
    r = tb.run("quadratic-clients", "scaffnew", steps=200, seed=2, p=0.2, eps=1e-3, problem_settings={"kappa": 40.0})
    assert comms[1, 0, 2] == r.stats["communications"]
    assert np.asarray(s.stats["first_comm_eps"])[1, 0, 2] == r.stats["first_comm_eps"]
