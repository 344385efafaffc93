"""Sketch-and-project (theorybench.methods.sketch_project) on the linear-system instance
(problems/linear_systems.py): the kernel against the NumPy reference, the exact E[Z] against brute-force
enumeration, the exact theory's identities, bad data files, the CLI, and a refused instance."""
import itertools
import json
import math

import numpy as np
import pytest

import theorybench as tb
from theorybench import cli
from theorybench.declare_vector import VectorProblem
from theorybench.errors import TheoryBenchError
from theorybench.methods.sketch_project import SKETCHES, pick, psd_solve
from problems import linear_systems as LS

import reference_sketch
import tolerances as tol

GENERAL = {"kind": "general", "n": 4, "m": 9, "row_scale": 30.0}
PD = {"kind": "pd", "n": 4, "row_scale": 10.0}


@pytest.fixture(scope="module")
def general():
    return tb.make_problem("linear-system", **GENERAL)


@pytest.fixture(scope="module")
def pd():
    return tb.make_problem("linear-system", **PD)


# ------------------------------------------------------------------ kernel vs reference

@pytest.mark.parametrize("which", ["general", "pd"])
@pytest.mark.parametrize("sketch", SKETCHES)
def test_kernel_matches_reference(sketch, which, general, pd):
    prob = general if which == "general" else pd
    A, b, B = prob.arrays["A"], prob.arrays["b"], prob.arrays["Bmat"]
    m, n = A.shape
    T, k = 40, 3
    for seed in (0, 7):
        res = tb.run(prob, "sketch-project", steps=T, seed=seed, record=np.arange(T + 1), sketch=sketch, block_size=k)

        def ref():
            return reference_sketch.sketch_project(A, b, B, prob.x0, T, sketch, seed, block_size=k)
        # a step: sums of n and m terms, a k x k pseudo-inverse (relative error ~ cond(M) eps) and the update;
        # the map is a B-orthogonal projection towards x* (nonexpansive in the B-norm: sqrt(cond(B)) in max-norm)
        q = A[:k] @ np.linalg.solve(B, A[:k].T)
        rel = tol.local_rel(n, extra=m + k * np.linalg.cond(q)) * math.sqrt(np.linalg.cond(B))
        atol = tol.reference_atol(ref, rel, patch=[(reference_sketch, "_solve"), (reference_sketch, "_residual")])
        tol.assert_trajectory_close(res.x, ref(), atol, what=f"{sketch} on {which}, seed {seed}")


def test_same_seed_same_sketches_across_a_sweep(general):
    a = tb.run(general, "sketch-project", steps=30, seed=3, sketch="block", block_size=2)
    s = tb.sweep(general, "sketch-project", seeds=[1, 3, 5], steps=30, sketch="block", block_size=2)
    assert np.array_equal(s.x[1, -1], a.x[-1])


def test_block_larger_than_m_uses_every_row(general):
    """block_size > m: every row (S = I_m up to order): one step solves the full system."""
    res = tb.run(general, "sketch-project", steps=1, seed=0, sketch="block", block_size=1000)
    assert np.allclose(res.x[-1], general.arrays["xstar"], atol=1e-10)


@pytest.mark.parametrize("k, rank", [(1, 1), (4, 4), (5, 3), (6, 1), (8, 8)])
def test_psd_solve_gives_the_pseudo_inverse_step(k, rank):
    """W = L L^T (L: k x rank): a solution of W y = r whose step L^T y equals the pseudo-inverse's (the block
    step B^{-1} A_R^T y depends on y only through B^{-1/2} A_R^T y, i.e. L^T y here)."""
    rs = np.random.default_rng(k * 10 + rank)
    L = rs.standard_normal((k, rank))
    W = L @ L.T
    r = W @ rs.standard_normal(k)
    y = np.empty(k)
    psd_solve(W.copy(), r.copy(), y)
    ref = np.linalg.pinv(W) @ r
    scale = np.abs(L.T @ ref).max()
    assert np.abs(L.T @ (y - ref)).max() <= 1e3 * k * tol.EPS * np.linalg.cond(L) ** 2 * scale


# ------------------------------------------------------------------ sampling and exact E[Z]

def test_pick_is_the_cumulative_distribution():
    p = np.array([0.1, 0.25, 0.05, 0.6])
    cum = LS.cumulative(p)
    us = (np.arange(200_000) + 0.5) / 200_000
    freq = np.bincount([pick(cum, u) for u in us], minlength=4) / us.size
    assert np.allclose(freq, p, atol=1e-5)


def _Z(A, Binv, S):
    return A.T @ S @ np.linalg.pinv(S.T @ A @ Binv @ A.T @ S) @ S.T @ A


@pytest.mark.parametrize("sketch", ["kaczmarz", "kaczmarz-uniform", "coordinate"])
def test_expected_Z_single_rows_brute_force(sketch, general, pd):
    for prob in (general, pd):
        A, B = prob.arrays["A"], prob.arrays["Bmat"]
        m = A.shape[0]
        p = reference_sketch.probabilities(A, B, sketch)
        brute = sum(p[i] * _Z(A, np.linalg.inv(B), np.eye(m)[:, [i]]) for i in range(m))
        assert np.allclose(LS.expected_Z(prob, sketch), brute, rtol=1e-12, atol=1e-12 * np.abs(brute).max())


def test_expected_Z_block_brute_force_over_ordered_draws(general):
    """Every ordered k-tuple of distinct rows (what the partial Fisher-Yates shuffle draws) with probability
    1 / (m (m-1) ... (m-k+1)), against the sum over the C(m, k) blocks."""
    A, Binv = general.arrays["A"], general.arrays["Binv"]
    m = A.shape[0]
    for k in (1, 2, 3):
        tuples = list(itertools.permutations(range(m), k))
        brute = sum(_Z(A, Binv, np.eye(m)[:, list(r)]) for r in tuples) / len(tuples)
        assert np.allclose(LS.expected_Z(general, "block", k), brute, rtol=1e-11, atol=1e-12 * np.abs(brute).max())


def test_block_draws_are_uniform_subsets(general):
    """The kernel's block draws (the reference reproduces them bit for bit) hit each of the C(m, 2) subsets
    with frequency 1 / C(m, 2) (a chi-square test)."""
    A, B = general.arrays["A"], general.arrays["Bmat"]
    m, T = A.shape[0], 20_000
    counts = {}
    for t in range(T):
        rows = tuple(sorted(np.flatnonzero(reference_sketch.draw_S(A, B, "block", 5, t, 2).sum(axis=1))))
        counts[rows] = counts.get(rows, 0) + 1
    C = math.comb(m, 2)
    assert len(counts) == C
    from scipy.stats import chisquare
    assert chisquare(list(counts.values())).pvalue > 1e-4


def test_gaussian_expected_Z():
    W, err = LS.gaussian_W(np.eye(5) * 3.0)
    assert np.allclose(W, np.eye(5) / 5, atol=1e-13) and err < 1e-12
    rs = np.random.default_rng(1)
    L = rs.standard_normal((4, 4))
    Sigma = L @ L.T + 0.1 * np.eye(4)
    W, err = LS.gaussian_W(Sigma)
    assert abs(np.trace(W) - 1.0) < 1e-12
    eta = rs.standard_normal((400_000, 4)) @ np.linalg.cholesky(Sigma).T
    V = eta[:, :, None] * eta[:, None, :] / (eta * eta).sum(axis=1)[:, None, None]
    mc, se = V.mean(axis=0), V.std(axis=0) / math.sqrt(eta.shape[0])
    assert np.all(np.abs(mc - W) <= 5 * se + 1e-12)


@pytest.mark.parametrize("which", ["general", "pd"])
def test_gaussian_expected_Z_against_sampled_sketches(which, general, pd):
    """E[Z] of the Gaussian sketch (B = I and B = A) against the mean of Z = A^T s s^T A / (s^T A B^-1 A^T s)
    over 2 10^5 draws s ~ N(0, I_m), within 5 standard errors per entry."""
    prob = general if which == "general" else pd
    A, Binv = prob.arrays["A"], prob.arrays["Binv"]
    s = np.random.default_rng(3).standard_normal((200_000, A.shape[0]))
    xi = s @ A                                            # rows: (A^T s)^T
    Z = xi[:, :, None] * xi[:, None, :] / np.einsum("ci,ij,cj->c", xi, Binv, xi)[:, None, None]
    mc, se = Z.mean(axis=0), Z.std(axis=0) / math.sqrt(s.shape[0])
    assert np.all(np.abs(mc - LS.expected_Z(prob, "gaussian")) <= 5 * se + 1e-12)


def test_rho_closed_forms(general, pd):
    """Strohmer-Vershynin for Kaczmarz (B = I) and 1 - lambda_min(A)/tr A for coordinate descent (B = A)."""
    A = general.arrays["A"]
    sv = 1 - np.linalg.eigvalsh(A.T @ A)[0] / (A * A).sum()
    assert abs(LS.rho(general, LS.expected_Z(general, "kaczmarz")) - sv) < 1e-12
    Ap = pd.arrays["A"]
    cd = 1 - np.linalg.eigvalsh(Ap)[0] / np.trace(Ap)
    assert abs(LS.rho(pd, LS.expected_Z(pd, "coordinate")) - cd) < 1e-12


def test_expected_err_B2_by_enumeration(general):
    """Exact E ||x_2 - x*||^2 of uniform Kaczmarz: the mean over all m^2 row sequences."""
    A, xs = general.arrays["A"], general.arrays["xstar"]
    m = A.shape[0]
    P = [np.eye(4) - np.outer(a, a) / (a @ a) for a in A]
    e0 = general.x0 - xs
    brute = np.mean([np.sum((P[j] @ P[i] @ e0) ** 2) for i in range(m) for j in range(m)])
    assert math.isclose(LS.expected_err_B2(general, "kaczmarz-uniform", [2])[0], brute, rel_tol=1e-12)
    lam = LS.second_moment_rate(general, "kaczmarz-uniform")
    r = LS.rho(general, LS.expected_Z(general, "kaczmarz-uniform"))
    assert r ** 2 - 1e-12 <= lam <= r + 1e-12


# ------------------------------------------------------------------ data files

def _system(m=6, n=3, seed=0):
    rs = np.random.default_rng(seed)
    A = rs.standard_normal((m, n))
    return A, A @ rs.standard_normal(n)


def test_data_file_formats_agree(tmp_path):
    A, b = _system()
    np.savez(tmp_path / "s.npz", A=A, b=b)
    np.save(tmp_path / "s.npy", np.column_stack([A, b]))
    np.savetxt(tmp_path / "s.csv", np.column_stack([A, b]), delimiter=",", fmt="%.17g", header="a1,a2,a3,b")
    xs = [tb.make_problem("linear-system", data=str(tmp_path / f)).arrays["xstar"] for f in ("s.npz", "s.npy", "s.csv")]
    assert np.allclose(xs[0], np.linalg.lstsq(A, b, rcond=None)[0], atol=1e-12)
    assert np.allclose(xs[0], xs[1], atol=0) and np.allclose(xs[0], xs[2], atol=1e-12)


def test_bad_data_files(tmp_path):
    A, b = _system()
    (tmp_path / "ragged.csv").write_text("1,2,3\n4,5\n")
    (tmp_path / "nan.csv").write_text("1,2,3\n4,nan,6\n7,8,9\n")
    np.savez(tmp_path / "rank.npz", A=np.column_stack([A[:, 0], A[:, 0], A[:, 1]]), b=A[:, 0])
    np.save(tmp_path / "incons.npy", np.column_stack([A, b + 1.0]))
    np.savez(tmp_path / "noarr.npz", M=A)
    np.savez(tmp_path / "short.npz", A=A, b=b[:-1])
    np.savez(tmp_path / "wide.npz", A=A.T, b=b[:3])
    cases = {"ragged.csv": "ragged", "nan.csv": "not finite", "rank.npz": "full column rank",
             "incons.npy": "inconsistent", "noarr.npz": "no array 'A' or 'b'", "short.npz": "one entry per row",
             "wide.npz": "fewer rows than columns", "missing.npz": "no such file"}
    for f, words in cases.items():
        with pytest.raises(TheoryBenchError, match="data") as e:
            tb.make_problem("linear-system", data=str(tmp_path / f))
        assert words in str(e.value), (f, str(e.value))


def test_B_equal_A_needs_symmetric_positive_definite(tmp_path):
    A, b = _system(4, 4)
    np.savez(tmp_path / "ns.npz", A=A, b=b)
    with pytest.raises(TheoryBenchError, match="parameter 'B'.*symmetric"):
        tb.make_problem("linear-system", data=str(tmp_path / "ns.npz"), B="A")
    S = A + A.T - 10 * np.eye(4)
    np.savez(tmp_path / "indef.npz", A=S, b=S @ np.ones(4))
    with pytest.raises(TheoryBenchError, match="positive definite"):
        tb.make_problem("linear-system", data=str(tmp_path / "indef.npz"), B="A")
    with pytest.raises(TheoryBenchError, match="parameter 'm'"):
        tb.make_problem("linear-system", kind="pd", n=4, m=6)
    with pytest.raises(TheoryBenchError, match="parameter 'm' must be at least n"):
        tb.make_problem("linear-system", n=5, m=3)
    with pytest.raises(TheoryBenchError, match="at most"):
        tb.make_problem("linear-system", n=2000, m=100_000)


# ------------------------------------------------------------------ CLI and refusals

def _cli(capsys, *args):
    rc = cli.main(list(args))
    return rc, capsys.readouterr().out


def test_cli_run_with_a_data_file(tmp_path, capsys):
    A, b = _system()
    np.savez(tmp_path / "s.npz", A=A, b=b)
    rc, out = _cli(capsys, "run", "linear-system", "sketch-project", "-p", f"data={tmp_path / 's.npz'}", "-a",
                   "sketch=kaczmarz", "--steps", "30", "--json")
    assert rc in (0, None)
    d = json.loads(out)
    ref = reference_sketch.sketch_project(A, b, np.eye(3), np.zeros(3), 30, "kaczmarz", 0)
    assert np.allclose(d["trace"]["x"][-1] if "x" in d["trace"] else d["final"]["x"], ref[-1], atol=1e-10)


def test_cli_run_seeds_gives_every_final_x(tmp_path, capsys):
    A, b = _system()
    np.savez(tmp_path / "s.npz", A=A, b=b)
    rc, out = _cli(capsys, "run", "linear-system", "sketch-project", "-p", f"data={tmp_path / 's.npz'}", "-a",
                   "sketch=block", "-a", "block_size=2", "--steps", "20", "--seeds", "3", "--json")
    d = json.loads(out)
    assert d["seeds"] == [0, 1, 2] and len(d["final"]["x"]) == 3
    for s, x in zip(d["seeds"], d["final"]["x"]):
        ref = reference_sketch.sketch_project(A, b, np.eye(3), np.zeros(3), 20, "block", s, block_size=2)
        assert np.allclose(x, ref[-1], atol=1e-10)


def test_instance_lacking_an_array_is_refused(general):
    arrays = {k: v for k, v in general.arrays.items() if k != "cum_conv"}
    prob = VectorProblem("linear-system", -1, np.zeros((1, 0)), general.dim, general.x0, arrays=arrays,
                         dims={"m": general.dims["m"]}, family_name="linear-system")
    with pytest.raises(TheoryBenchError, match=r"reads array\(s\) \['cum_conv'\]"):
        tb.run(prob, "sketch-project", steps=5)


def test_bad_hyperparameters_are_refused(general):
    with pytest.raises(TheoryBenchError, match="sketch"):
        tb.run(general, "sketch-project", steps=5, sketch="rows")
    with pytest.raises(TheoryBenchError, match="block_size"):
        tb.run(general, "sketch-project", steps=5, sketch="block", block_size=0)
