"""One divergence verdict on every backend: ``kernels.common.healthy`` (x, f, ||grad f|| finite, |x| < 1e150,
and f, ||grad f|| past 1e150 only while x comes back in) on the rescaled norm, the same in the Numba kernels
and in the NumPy array backend."""
import math

import numpy as np
import pytest
from numpy.polynomial import polynomial as P

import theorybench as tb
from theorybench.backends import array as arr
from theorybench.kernels.common import DIVERGENCE_BOUND, healthy, norm

import reference_federated as ref

EPS = np.finfo(np.float64).eps


def _plain_norm(xp, g):
    """The array backend's norm before the fix: ``sqrt(sum g^2)`` with no rescaling."""
    s = xp.zeros(g.shape[0])
    for j in range(g.shape[1]):
        s = s + g[:, j] * g[:, j]
    return xp.sqrt(s)


def _array_norm(G):
    with np.errstate(all="ignore"):  # as inside the backend: overflow is handled, not warned about
        return arr._norm(np, G)


def _both_norms(g):
    g = np.asarray(g, dtype=np.float64)
    return norm(g), _array_norm(g[None, :])[0]


# ---------------------------------------------------------------------------------------------- the norm

@pytest.mark.parametrize("scale", [1e155, 1e-170])
@pytest.mark.parametrize("v", [[3.0, 4.0], [1.0, -2.0, 2.0], [-7.0], [1.0, 1.0, 1.0, 1.0, 1.0]])
def test_norm_rescales_where_the_sum_of_squares_overflows_or_underflows(scale, v):
    g = scale * np.asarray(v)
    with np.errstate(over="ignore", under="ignore"):
        plain = np.sum(g * g)
    assert plain == (np.inf if scale > 1 else 0.0)  # the plain sum really does overflow / underflow here
    k, a = _both_norms(g)
    # m sqrt(sum_j (g_j/m)^2): d divisions, d products, d - 1 additions, a sqrt and a product, so at most
    # 3d + 1 roundings of relative size eps/2, plus math.hypot's own error (within 1 ulp: two more)
    exact = math.hypot(*g)
    assert abs(k - exact) <= (3 * len(v) + 3) * 0.5 * EPS * exact
    assert a == k  # the array backend computes the kernel's number, to the bit


def test_norm_special_values_agree():
    for g, want in [([0.0, 0.0], 0.0), ([np.inf, 1.0], np.inf), ([-np.inf, 1e200], np.inf), ([1.0, 2.0, 2.0], 3.0)]:
        k, a = _both_norms(g)
        assert k == want and a == want
    for g in ([np.nan, 1.0], [1e200, np.nan], [np.nan], [1e-200, np.nan, 0.0]):
        k, a = _both_norms(g)
        assert np.isnan(k) and np.isnan(a)


def test_norm_bit_identical_across_magnitudes():
    gen = np.random.default_rng(7)
    G = gen.standard_normal((400, 3)) * 10.0 ** gen.uniform(-200, 200, (400, 1))
    G[::7, 1] = 0.0
    G[::11] *= 10.0 ** gen.uniform(-40, 40, (G[::11].shape[0], 3))  # mixed magnitudes within a vector
    kernel = np.array([norm(g) for g in G])
    np.testing.assert_array_equal(_array_norm(G), kernel)
    assert np.isfinite(kernel).all() and (kernel > 0).all()


# ---------------------------------------------------------------------------------------------- the rule

def test_healthy_rule():
    B, inf, nan = DIVERGENCE_BOUND, np.inf, np.nan
    below = np.nextafter(B, 0)
    assert healthy(1.0, -2.0, 6.0, inf) and healthy(1.0, -2.0, 6.0, 0.5)  # small values: any direction
    assert healthy(below, -below, below, 0.0)
    # past the bound in f or ||g||: healthy only while max|x| is below every earlier round's (round 0: +inf)
    for loss, gn in [(B, 1.0), (-B, 1.0), (1.0, B), (1e282, 1e212)]:
        assert healthy(470.0, loss, gn, inf) and healthy(469.5, loss, gn, 470.0)
        assert not healthy(470.0, loss, gn, 470.0) and not healthy(4.7e70, loss, gn, 11.0)
    # never healthy: x beyond the bound, anything not finite
    for bad in [(B, 0.0, 0.0), (nan, 0.0, 0.0), (inf, 0.0, 0.0), (0.0, nan, 0.0), (0.0, -inf, 0.0),
                (0.0, 0.0, nan), (0.0, 0.0, inf)]:
        assert not healthy(*bad, inf), bad
    # the array backend applies the same function to arrays of rows
    xs = np.array([1.0, B, 0.0, 10.0, 10.0, nan])
    ls = np.array([1.0, 0.0, -inf, 1e149, 1e160, 0.0])
    gs = np.array([1.0, 0.0, 0.0, 1e151, 1.0, 0.0])
    before = np.array([0.0, inf, inf, 20.0, 10.0, inf])
    np.testing.assert_array_equal(healthy.py_func(xs, ls, gs, before), [True, False, False, True, False, False])


# ---------------------------------------------------------------------------------------------- backends agree

def _agree(a, b):
    np.testing.assert_array_equal(b.stats["diverged_round"], a.stats["diverged_round"])
    np.testing.assert_allclose(b.x, a.x, rtol=1e-12, atol=0)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-12, atol=0)
    for k in a.stats:
        np.testing.assert_allclose(b.stats[k], a.stats[k], rtol=1e-12, atol=0, err_msg=k)


@pytest.mark.parametrize("algo", ["fedavg", "episode", "episode++"])
def test_backends_agree_across_the_blowup_boundary(algo):
    """Step sizes from safe to blowing up within a round: FedAvg's iterates pass 1e50 (||grad||^2 overflows)
    before the loss overflows, where the unrescaled norm made NumPy diverge a round early."""
    grid = {"eta": np.geomspace(0.02, 0.3, 15).tolist(), "local_steps": [1, 4, 8]}
    if algo != "fedavg":
        grid["gamma"] = [0.1, 1e3, 1e8]
    kw = dict(grid=grid, problem_grid={"H": [1.0, 4.0]}, seeds=2, rounds=120)
    a = tb.sweep("episode-quartic", algo, backend="numba", **kw)
    b = tb.sweep("episode-quartic", algo, backend="numpy", **kw)
    div = a.stats["diverged_round"] >= 0
    assert div.any() and not div.all()  # the sweep straddles the boundary
    _agree(a, b)


@pytest.mark.parametrize("algo", ["local-clip", "episode"])
def test_backends_agree_where_rescaling_decides(algo, monkeypatch):
    """Clipping thresholds so large that a clipped local step jumps to |y| ~ gamma, where
    ||grad f_i(y)|| ~ 4 gamma^3 passes sqrt(max float64) for gamma beyond ~1.5e51: the rescaled norm steps
    back by gamma, the plain one gives a zero direction and freezes y far out."""
    grid = {"eta": [0.1, 0.3], "gamma": np.geomspace(1e40, 1e60, 21).tolist(), "local_steps": [2, 3, 4]}
    kw = dict(grid=grid, problem_grid={"H": [1.0, 4.0]}, seeds=1, rounds=50)
    a = tb.sweep("episode-quartic", algo, backend="numba", **kw)
    b = tb.sweep("episode-quartic", algo, backend="numpy", **kw)
    div = a.stats["diverged_round"] >= 0
    assert div.any() and not div.all()
    _agree(a, b)
    monkeypatch.setattr(arr, "_norm", _plain_norm)
    c = tb.sweep("episode-quartic", algo, backend="numpy", **kw)
    # without rescaling the verdicts differ: the sweep exercises the overflow of ||g||^2
    assert (c.stats["diverged_round"] != a.stats["diverged_round"]).any()


# ---------------------------------------------------------------------------------------------- verdicts

FROZEN = dict(problem_settings={"H": 2.0}, eta=0.1357, gamma=1e6, local_steps=4, rounds=200)


def _reference_first_bad_round():
    """The first round that is not healthy (x, f or f' not finite, |x| >= 1e150, or |f| or |f'| >= 1e150 with
    |x| not below every earlier |x|), from the plain NumPy reference of EPISODE (seed 0, uniform noise
    sigma = 1 as in the problem's defaults) and f, f' from numpy.polynomial; also that round's x and f."""
    H = FROZEN["problem_settings"]["H"]
    grads = ref.episode_quartic_grads(H=H)
    noise = ref.make_noise_fn("uniform", 1.0, 0)
    with np.errstate(all="ignore"):
        xs = ref.reference_run("episode", grads, [1.0], FROZEN["rounds"], eta=FROZEN["eta"], gamma=FROZEN["gamma"],
                               local_steps=FROZEN["local_steps"], convention="step", noise_fn=noise)
        f = np.array([0.0, 1.0, -H * 0.5, -3.0, 1.0])  # mean_i f_i: mean h = 1/2
        before = np.inf
        for r, x in enumerate(xs):
            x = float(x[0])
            fx, gx = P.polyval(x, f), abs(P.polyval(x, P.polyder(f)))
            if not (np.isfinite([x, fx, gx]).all() and abs(x) < DIVERGENCE_BOUND):
                return r, x, fx
            if max(abs(fx), gx) >= DIVERGENCE_BOUND and not abs(x) < before:
                return r, x, fx
            before = abs(x) if r == 0 else max(before, abs(x))
    return -1, None, None


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_frozen_overflowed_run_is_diverged(backend):
    """The run that froze at x = 4.7e70 with loss 4.8e282 (a clipped step of length 1e6 is absorbed by x)
    and was reported as not diverged: its |x| is within the iterate bound, its loss is not."""
    r_ref, x_ref, f_ref = _reference_first_bad_round()
    assert r_ref > 0 and abs(x_ref) < DIVERGENCE_BOUND and math.isfinite(f_ref)  # an |x|-only rule misses it
    res = tb.run("episode-quartic", "episode", backend=backend, **FROZEN)
    assert res.diverged and res.diverged_at == r_ref
    before = res.rounds < r_ref
    assert np.isfinite(res.loss[before]).all() and np.isnan(res.loss[~before]).all()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_far_out_start_walking_back_is_healthy_and_frozen_one_is_not(backend):
    """From x0 = 1e38 (f ~ 1e152, |f'| ~ 4e114): clipped steps of length 1e37 walk x back in (healthy); steps
    of length 0.05 are absorbed by x, which stays put: diverged at round 1 (round 0 is the start). From
    x0 = 1e37 (f ~ 1e148, within the bound) the frozen run is not flagged."""
    kw = dict(problem_settings={"sigma": 0.0}, local_steps=1, rounds=4, backend=backend)
    back = tb.run("episode-quartic", "local-clip", x0=1e38, gamma=1e37, **kw)
    assert not back.diverged and (np.diff(back.x[:, 0]) < 0).all() and back.loss[0] >= DIVERGENCE_BOUND
    stuck = tb.run("episode-quartic", "local-clip", x0=1e38, gamma=0.05, **kw)
    assert stuck.diverged_at == 1
    inside = tb.run("episode-quartic", "local-clip", x0=1e37, gamma=0.05, **kw)
    assert not inside.diverged and (inside.x[:, 0] == 1e37).all()


@pytest.mark.parametrize("backend", ["numba", "numpy"])
def test_converging_run_is_not_flagged(backend):
    res = tb.run("episode-quartic", "episode", rounds=300, backend=backend)  # the paper's hyperparameters
    assert not res.diverged and res.diverged_at is None
    assert np.isfinite(res.loss).all() and np.isfinite(res.grad_norm).all()


def test_single_machine_kernel_uses_the_same_rule():
    """The single-machine kernel observes through the same function: steps of ~4e-9 leave x put; at
    x0 = 1e38 (f past the bound) that is divergence at round 1, at 1e37 it is not."""
    kw = dict(steps=3, eta=1e-120, problem_settings={"sigma": 0.0})
    ok = tb.run("episode-quartic", "gd", x0=1e37, **kw)
    bad = tb.run("episode-quartic", "gd", x0=1e38, **kw)
    assert not ok.diverged and bad.diverged_at == 1


def test_clipped_run_from_a_huge_gradient_is_not_diverged():
    """cosh at x = 470 (f, ||grad f|| ~ 6.6e203): clipped steps of length gamma walk back in, every round
    healthy (the case ``norm`` rescales for)."""
    prob = tb.Problem("cosh2", 2, np.array([[1.0, 1.0]]), 2, [470.0, 1.0])
    r = tb.run(prob, "clipped-minibatch", eta=0.1, gamma=0.5, local_steps=1, rounds=20)
    assert not r.diverged and r.grad_norm[0] >= DIVERGENCE_BOUND
    np.testing.assert_allclose(np.diff(r.x[:, 0]), -0.5, rtol=1e-12)


def test_array_backend_refuses_a_method_it_does_not_cover():
    """Never a silent fallback to FedAvg for a code the array backend does not implement."""
    from theorybench.backends import array as ab
    from theorybench.errors import TheoryBenchError
    prob = tb.make_problem("episode-quartic")
    alg = tb.algorithms.get_algorithm("fedavg")
    hyper = alg.pack(alg.resolve({}))[None, :]
    with pytest.raises(TheoryBenchError, match="does not cover"):
        ab.federated_batch(np, 99, prob.family, prob.params[None], hyper, prob.x0[None], np.zeros(1, np.int64),
                           prob.noise_code, np.array([prob.sigma]), prob.noise_mask[None], np.zeros(1), 3,
                           np.arange(4))
