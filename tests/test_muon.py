"""The muon kernel against the NumPy references (tests/reference_muon.py), the runner/CLI integration,
and the counterexample's invariants."""
import json
import subprocess
import sys

import numpy as np
import pytest

from problems.muon_counterexample import diag_start
from theorybench import make_problem, run
from theorybench.errors import TheoryBenchError
from theorybench.rng import uniform01

import reference_muon
import tolerances as tol
from reference_muon import reference

ALGS = ["muon", "muon-ns", "signed-momentum", "sign-descent", "subgradient", "ef", "ef-muon", "muonmax", "momo"]
SCHEDS = [dict(schedule="constant", alpha0=0.0537), dict(schedule="power", alpha0=0.3137, power=0.51),
          dict(schedule="random", alpha0=0.2113), dict(schedule="polyak")]


@pytest.mark.parametrize("alg", ALGS)
@pytest.mark.parametrize("sched", range(len(SCHEDS)))
@pytest.mark.parametrize("shape", [(2, 2), (3, 4)])
def test_kernel_matches_reference(alg, sched, shape):
    """Generic (non-lattice) starts and steps: the SVDs of NumPy and Numba differ in the last bits, so a
    run that hits W11 = W22 exactly could take the tie on one side and not the other."""
    m, n = shape
    h = dict(SCHEDS[sched])
    if alg not in ("sign-descent", "subgradient", "ef"):
        h["beta"] = 0.6
    c, steps, seed = 0.4, 60, 3
    W0 = np.random.default_rng(m * n).normal(size=(m, n)) * 0.3
    res = run("muon-counterexample", alg, steps=steps, x0=W0.ravel(), seed=seed,
              problem_settings=dict(c=c, m=m, n=n), **h)
    ref = reference(alg, W0, c, 1.0, steps, h, rng_u=lambda t: uniform01(seed, 0, t))
    f_ref = [make_problem("muon-counterexample", c=c, m=m, n=n).value(w) for w in ref.reshape(steps + 1, -1)]

    def reference_trajectory():
        W = reference(alg, W0, c, 1.0, steps, h, rng_u=lambda t: uniform01(seed, 0, t)).reshape(steps + 1, -1)
        return W, [make_problem("muon-counterexample", c=c, m=m, n=n).value(w) for w in W]
    # Polar factors amplify rounding by 1/sigma_min(M), Polyak steps by 1/||G||: the tolerance is the
    # reference's measured sensitivity (tests/tolerances.py), perturbing its subgradient and its polar factor
    # and Newton-Schulz iteration (d = m n)
    atol_x, atol_f = tol.reference_atol(reference_trajectory, tol.local_rel(m * n), patch=[
        (reference_muon, "value_subgrad"), (reference_muon, "polar"), (reference_muon, "newton_schulz")])
    tol.assert_trajectory_close(res.x, ref.reshape(steps + 1, -1), atol_x, what=f"{alg} iterates")
    tol.assert_trajectory_close(res.loss, f_ref, atol_f, what=f"{alg} loss")


def test_muon_on_diagonal_is_signed_momentum_3x4():
    """Only the diagonal moves: exact-SVD Muon on a 3x4 matrix = signed momentum (Parshakova et al.)."""
    x0 = diag_start(1 + np.log(2), 1 - np.log(2), 3, 4)
    kw = dict(steps=3000, x0=x0, problem_settings=dict(c=0.05, m=3, n=4), beta=0.9, schedule="power", power=1.0)
    a = run("muon-counterexample", "muon", **kw)
    b = run("muon-counterexample", "signed-momentum", **kw)
    np.testing.assert_array_equal(a.x, b.x)
    off = np.ones(12, bool)
    off[[0, 5]] = False
    assert np.all(a.x[:, off] == 0.0)


def test_tie_rule_is_a_parameter():
    p1 = make_problem("muon-counterexample", c=0.5)
    p0 = make_problem("muon-counterexample", c=0.5, tie=0.0)
    w = diag_start(0.3, 0.3)
    assert p1.grad(w)[0] == 1.5 and p1.grad(w)[3] == -0.5
    assert p0.grad(w)[0] == 0.5 and p0.grad(w)[3] == 0.5


def test_schedule_choice_errors_and_x0_shape():
    with pytest.raises(TheoryBenchError, match="schedule"):
        run("muon-counterexample", "muon", steps=3, schedule="cosine")
    with pytest.raises(TheoryBenchError, match="x0"):
        run("muon-counterexample", "muon", steps=3, x0=[1.0, 2.0])


def test_cli_run_json():
    out = subprocess.run([sys.executable, "-m", "theorybench.cli", "run", "muon-counterexample", "muon", "-p", "c=0.5",
                          "--x0", "0.75,0,0,0.5", "-a", "beta=0", "-a", "schedule=polyak", "--steps", "100",
                          "--json"], capture_output=True, text=True, check=True)
    d = json.loads(out.stdout)
    assert d["final"]["loss"] > 0.875  # the Polyak 2-cycle sits above f(W0)


def test_negative_target_stops_at_the_running_average_crossing():
    """The shared observation (kernels.common.observe_values): a negative target ends the run at the first
    round whose running average of ||G|| is <= |target| (the rest of the trace NaN), as in every kernel."""
    full = run("muon-counterexample", "subgradient", steps=50, x0=diag_start(0.75, 0.5), alpha0=0.01)
    assert np.isfinite(full.loss).all()
    stop = run("muon-counterexample", "subgradient", steps=50, x0=diag_start(0.75, 0.5), alpha0=0.01, target=-10.0)
    assert stop.stats["first_average_below_target"] == 0 and np.isnan(stop.loss[1:]).all()
