"""The edge-of-stability methods (``methods.steepest_vector`` on the vector template for psd-quadratic, the NumPy
driver ``kernels.steepest`` for tanh-mlp) against the NumPy references (tests/reference_steepest.py), the
problems psd-quadratic and tanh-mlp, one algorithm name on several kernels, the sharpness along a run,
and the CLI."""
import json
import subprocess
import sys

import numpy as np
import pytest

from theorybench import make_problem, run
from theorybench.errors import TheoryBenchError
from theorybench.rng import uniform01
from theorybench.sharpness import problem_sharpness, sharpness_along

import reference_steepest
import tolerances as tol
from reference_steepest import reference

ALGS = ["gd", "linf-descent", "sign-gd", "block-cd", "spectral-gd", "muon-nomomentum", "heavy-ball", "nesterov"]
SCHEDS = [dict(schedule="constant", eta=0.0731), dict(schedule="power", eta=0.213, power=0.6),
          dict(schedule="random", eta=0.1113), dict(schedule="polyak")]


def _quadratic():
    return make_problem("psd-quadratic", d=12, m=3, block=5, seed=2, cond=20.0, lam_max=2.0)


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("sched", range(len(SCHEDS)))
def test_quadratic_kernel_matches_reference(alg, sched):
    p = _quadratic()
    h = dict(SCHEDS[sched])
    if alg in ("linf-descent", "spectral-gd") and h.get("schedule") != "polyak":
        h["eta"] = h["eta"] / 20  # unnormalized in a large dual norm: keep the run bounded
    # normalized steps do not shrink near the minimum, where Numba's and NumPy's SVDs (last-bit apart) pick
    # polar factors of a tiny gradient that differ, and Polyak steps amplify last-bit differences of f
    # (summation order of w^T H w): compare those before they get there
    steps, seed = (30 if alg in ("sign-gd", "muon-nomomentum") or h["schedule"] == "polyak" else 80), 5
    res = run(p, alg, steps=steps, seed=seed, **h)
    ws, fs = reference(alg, p.value_grad, p.x0, steps, h, p.layer_shapes, p.blocks,
                       rng_u=lambda t: uniform01(seed, 0, t))
    # normalized, sign, polar and Polyak steps amplify rounding: the tolerance is the reference's measured
    # sensitivity (tests/tolerances.py), perturbing its (value, gradient) oracle and its polar factors (d = 12)
    atol_x, atol_f = tol.reference_atol(
        lambda vg: reference(alg, vg, p.x0, steps, h, p.layer_shapes, p.blocks, rng_u=lambda t: uniform01(seed, 0, t)),
        tol.local_rel(12), oracles=[p.value_grad], patch=[(reference_steepest, "_polar")])
    tol.assert_trajectory_close(res.x, ws, atol_x, what=f"{alg} iterates")
    tol.assert_trajectory_close(res.loss, fs, atol_f, what=f"{alg} loss")
    assert not res.diverged


@pytest.mark.parametrize("alg", ALGS)
def test_mlp_matches_reference(alg):
    p = make_problem("tanh-mlp", n=64, dim=8, classes=3, width=12, seed=1)
    h = {"eta": 0.05 if alg not in ("linf-descent", "spectral-gd") else 0.002}
    if alg in ("heavy-ball", "nesterov"):
        h["beta"] = 0.8
    steps = 25
    res = run(p, alg, steps=steps, **h)
    ws, fs = reference(alg, p.value_grad, p.x0, steps, h, p.layer_shapes, p.blocks)
    # as for the quadratic; the gradient sums over the n = 64 samples, inner products over up to p.dim terms
    atol_x, atol_f = tol.reference_atol(
        lambda vg: reference(alg, vg, p.x0, steps, h, p.layer_shapes, p.blocks),
        tol.local_rel(p.dim, extra=64), oracles=[p.value_grad], patch=[(reference_steepest, "_polar")])
    tol.assert_trajectory_close(res.x, ws, atol_x, what=f"{alg} iterates")
    tol.assert_trajectory_close(res.loss, fs, atol_f, what=f"{alg} loss")


def test_mlp_gradient_and_hvp_against_finite_differences():
    p = make_problem("tanh-mlp", n=32, dim=5, classes=3, width=7, hidden=3, seed=4)
    rng = np.random.default_rng(0)
    w, v = p.x0 + 0.1 * rng.normal(size=p.dim), rng.normal(size=p.dim)
    f, g = p.value_grad(w)
    eps = 1e-6
    fd = (p.value(w + eps * v) - p.value(w - eps * v)) / (2 * eps)
    assert fd == pytest.approx(g @ v, rel=1e-6)
    hfd = (p.grad(w + eps * v) - p.grad(w - eps * v)) / (2 * eps)
    np.testing.assert_allclose(p.hvp(w, v), hfd, rtol=1e-5, atol=1e-8)


def test_problems_geometry_and_constants():
    p = _quadratic()
    assert p.layer_shapes == [(3, 4)] and p.block_sizes == [5, 5, 2]
    H = p.H
    assert np.allclose(H, H.T) and np.linalg.eigvalsh(H)[-1] == pytest.approx(2.0)
    exact = max(np.linalg.eigvalsh(H[a:b, a:b])[-1] for a, b in [(0, 5), (5, 10), (10, 12)])
    assert p.constant("S_block") == pytest.approx(exact)
    assert problem_sharpness(p, p.x0, "block", starts=8) == pytest.approx(exact, rel=1e-3)
    assert problem_sharpness(p, p.x0, "l2") == pytest.approx(2.0, rel=1e-6)
    m = make_problem("tanh-mlp")
    assert m.dim == 32 * 64 + 64 * 64 + 64 * 10 and m.layer_shapes == [(32, 64), (64, 64), (64, 10)]
    with pytest.raises(TheoryBenchError, match="'m'"):
        make_problem("psd-quadratic", d=6, m=4)


def test_one_name_two_kernels():
    """``gd`` runs the single-machine gd on a polynomial and steepest-gd on the quadratic, through
    run, sweep, run_batch, search and crossing_rounds."""
    from theorybench.runner import run_batch, sweep
    from theorybench.scaling import crossing_rounds
    from theorybench.search import worst_instance
    mono = make_problem("monomial")
    a = run(mono, "gd", steps=3, eta=0.01)
    x = mono.x0.copy()
    for _ in range(3):
        x = x - 0.01 * mono.grad(x)
    np.testing.assert_allclose(a.x[-1], x, rtol=1e-14)          # the scalar kernel's plain GD
    q = _quadratic()
    b = run(q, "gd", steps=3, eta=0.1)
    assert a.algorithm == b.algorithm == "gd"
    np.testing.assert_allclose(b.x[-1], np.linalg.matrix_power(np.eye(12) - 0.1 * q.H, 3) @ q.x0, rtol=1e-12)
    sw = sweep("psd-quadratic", "gd", {"eta": [0.1, 0.2]}, steps=3)
    assert sw.x.shape[-1] == 6
    rec, xs, *_ = run_batch("gd", [q], [{"eta": 0.1}], [0], 3)
    np.testing.assert_array_equal(xs[0, -1], b.x[-1])
    r = crossing_rounds("gd", [(q, {"eta": 0.5})], [0], 500, 1e-3, statistic="first_below_target")
    assert np.isfinite(r).all()
    found = worst_instance("psd-quadratic", "gd", {"lam_max": (0.5, 3.0)}, steps=20, hyper={"eta": 0.9},
                           maxiter=2, popsize=3, seed=0)
    assert found["params"]["lam_max"] > 0
    with pytest.raises(TheoryBenchError, match="cannot run problem"):
        run("tanh-mlp", "muon", steps=1)
    with pytest.raises(TheoryBenchError, match="no values"):
        sweep("psd-quadratic", "gd", problem_grid={"d": []}, steps=2)


def test_divergence_reported_above_threshold():
    p = make_problem("psd-quadratic", d=4, cond=3.0)
    lam, vec = np.linalg.eigh(p.H)
    r = run(p, "gd", steps=5000, x0=vec[:, -1], eta=2.2 / lam[-1])
    assert r.diverged and np.isnan(r.loss[-1])
    r = run(p, "gd", steps=5000, x0=vec[:, -1], eta=1.8 / lam[-1])
    assert not r.diverged and r.loss[-1] < 1e-100


def test_sharpness_along_normalized_divides_by_dual_norm():
    p = _quadratic()
    r = run(p, "sign-gd", steps=4, eta=0.01, record=[0, 2, 4])
    sa = sharpness_along(p, r)
    S = problem_sharpness(p, r.x[1], "linf", seed=2)
    assert sa["S"][1] == pytest.approx(S / np.abs(p.grad(r.x[1])).sum())
    assert sa["threshold"] == pytest.approx(200.0)


def test_zero_gradient_sharpness_is_nan_not_a_crash():
    p = make_problem("psd-quadratic", d=4)
    r = run(p, "sign-gd", steps=2, x0=np.zeros(4), eta=0.1, record=[0, 1, 2])
    assert np.all(r.x == 0) and np.isnan(sharpness_along(p, r)["S"]).all()


def test_thread_count_invariance():
    code = ("import numpy as np; from theorybench import sweep, run, make_problem; "
            "from theorybench.sharpness import sharpness_along; "
            "s = sweep('psd-quadratic', 'nesterov', {'eta': [0.1, 0.5, 1.0, 1.5]}, seeds=2, steps=300, "
            "problem_settings={'d': 8}); print(repr(s.loss.tolist())); "
            "p = make_problem('tanh-mlp', n=128, width=32); "
            "[print(repr(run(p, a, steps=60, eta=e, record=[0, 30, 60]).x.tolist())) "
            "for a, e in (('gd', 0.5), ('sign-gd', 0.003), ('muon-nomomentum', 0.05))]; "
            "print(repr(sharpness_along(p, run(p, 'spectral-gd', steps=20, eta=0.01, record=[0, 20]))['S'].tolist()))")
    outs = []
    for threads in ("1", "2"):
        env = {**__import__("os").environ, "NUMBA_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        outs.append(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                                   check=True).stdout)
    assert outs[0] == outs[1]


def test_cli_run_with_schedule_json():
    out = subprocess.run([sys.executable, "-m", "theorybench.cli", "run", "psd-quadratic", "sign-gd", "-p", "d=4",
                          "-a", "schedule=power", "-a", "eta=0.5", "-a", "power=0.6", "--steps", "50", "--json"],
                         capture_output=True, text=True, check=True).stdout
    d = json.loads(out)
    assert d["algorithm"] == "sign-gd" and d["settings"]["schedule"] == "power"
    bad = subprocess.run([sys.executable, "-m", "theorybench.cli", "run", "tanh-mlp", "gd", "-a", "schedule=cosine",
                          "--steps", "5"], capture_output=True, text=True)
    assert bad.returncode != 0 and "schedule" in bad.stderr


def test_cli_sharpness_table_and_json(capsys):
    from theorybench import cli
    rc = cli.main(["run", "psd-quadratic", "gd", "-p", "d=5", "-a", "eta=0.5", "--steps", "20", "--sharpness", "10",
                   "--json"])
    d = json.loads(capsys.readouterr().out)
    assert rc == 0 and d["sharpness"]["round"] == [0, 10, 20]
    assert d["sharpness"]["S"] == pytest.approx([1.0] * 3, rel=1e-6)   # lambda_max of the quadratic
    assert d["sharpness"]["threshold_2_over_eta"] == pytest.approx(4.0)
    rc = cli.main(["run", "psd-quadratic", "gd", "-a", "eta=0.5", "--steps", "4", "--sharpness", "2"])
    assert "S eta/2" in capsys.readouterr().out
    assert cli.main(["run", "monomial", "gd", "--steps", "4", "--sharpness", "2"]) == 2
    assert "--sharpness needs" in capsys.readouterr().err
