"""The single-machine methods on the vector template against the single kernel (``kernels/single.py``, runtime
dispatch on the method and family codes), on two claims' real runs, one thread (``NUMBA_NUM_THREADS=1`` is set
here before Numba loads), compile time excluded (each side runs once before it is timed; best of 3):

* AG-1 (``paper_checks.adaptive_methods``), the eps axis at quick size: decorrelated AdaGrad-Norm on ``huber``
  (Rademacher noise on x_2), 4 x 3 configurations stopped at the running-average crossing (``targets < 0``:
  ||grad f|| at every step on both sides).
* GS-2 at quick size: SGD and Generalized SignSGD on ``extremal`` (d = 10, x0 = 30, Gaussian noise), 4 seeds,
  1200 steps, ``min_grad_norm`` requested.

The results agree bit for bit (checked here too). Run: ``python benchmarks/bench_single_vector.py``.

Results (this project's 2-core machine, shared, one thread, best of 3, one run):

    AG-1 eps axis (huber, decorrelated-adagrad-norm): single kernel 538.7 ms, vector template 323.4 ms (0.60x)
    GS-2 (extremal d=10, generalized-signsgd):         single kernel  35.8 ms, vector template  29.1 ms (0.81x)
    GS-2 (extremal d=10, gd; diverges at step 1):      single kernel   0.4 ms, vector template   0.3 ms (call overhead)
"""
import os

os.environ["NUMBA_NUM_THREADS"] = "1"

import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import theorybench as tb  # noqa: E402
from theorybench import families as F  # noqa: E402
from theorybench.algorithms import VARIANTS  # noqa: E402
from theorybench.problem import Problem  # noqa: E402
from theorybench.runner import run_batch  # noqa: E402

from paper_checks import adaptive_methods as am  # noqa: E402
from problems.smooth_polynomials import steps_to_eps_formula, with_noise  # noqa: E402


def _legacy(p):
    a = p.arrays
    code, row = {"huber": lambda: (F.HUBER1, [a["h_eps"], a["h_L0"]]),
                 "extremal": lambda: (F.EXTREMAL, [a["L0"], a["L1"]])}[p.name]()
    coords = tuple(int(j) for j in np.flatnonzero(a["noise_mask"])) if not a["noise_mask"].all() else None
    return Problem(p.name, code, np.array([row]), p.dim, p.x0, noise=p.noise, sigma=p.sigma, noise_coords=coords)


def _alg(name, kernel):
    return next(a for a in VARIANTS[name] if a.kernel == kernel)


def ag1_batch():
    values = am.AG1_GRID["quick"]["eps"]
    seeds = list(range(am.AG1_SEEDS["quick"]))
    budget = int(am.AG1_BUDGET_FACTOR * max(steps_to_eps_formula(**dict(am.AG1_BASE, eps=v)) for v in values))
    probs, hs, tg, ss = [], [], [], []
    for v in values:
        cfg = dict(am.AG1_BASE, eps=v)
        p = tb.make_problem("huber", eps=v, L0=1.0, Delta=cfg["Delta"], sigma=cfg["sigma"])
        for s in seeds:
            probs.append(p)
            hs.append(dict(eta=cfg["eta"], gamma=math.sqrt(cfg["sigma"] ** 2 + 4 * v ** 2)))
            tg.append(-v)
            ss.append(s)
    return "decorrelated-adagrad-norm", probs, hs, ss, budget, dict(targets=tg, record=[])


def gs2_batch(algo):
    base = tb.make_problem("extremal", L0=1.0, L1=1.0, d=10, x0=am.GS2_X0)
    prob = with_noise(base, "gaussian", 0.5)
    h = dict(eta=am.GS2_ETA) if algo == "gd" else dict(eta=am.GS2_ETA, beta1=0.9, beta2=am.GS2_B2, eps=1e-8)
    seeds = list(range(4))
    return algo, [prob] * 4, [h] * 4, seeds, am.GS2_STEPS["quick"], dict(stats=["min_grad_norm"])


def _time(kernel, algo, probs, hs, seeds, T, kw):
    alg = _alg(algo, kernel)
    ps = probs if kernel == "vector" else [_legacy(p) for p in probs]
    sets = [alg.resolve(h) for h in hs]
    kw = dict(kw)
    if kernel == "single":
        kw.pop("stats", None)
    out = run_batch(alg, ps, sets, seeds, T, **kw)  # compile
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        out = run_batch(alg, ps, sets, seeds, T, **kw)
        best = min(best, time.perf_counter() - t0)
    return best, out


def main():
    for label, batch in (("AG-1 eps axis (huber, decorrelated-adagrad-norm)", ag1_batch()),
                         ("GS-2 (extremal d=10, gd)", gs2_batch("gd")),
                         ("GS-2 (extremal d=10, generalized-signsgd)", gs2_batch("generalized-signsgd"))):
        t_old, old = _time("single", *batch)
        t_new, new = _time("vector", *batch)
        same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(old[1:4], new[1:4]))
        for k in ("diverged_round", "first_below_target", "max_abs_x"):
            same &= np.array_equal(old[4][k], new[4][k], equal_nan=True)
        print(f"{label}: single kernel {t_old * 1e3:.1f} ms, vector template {t_new * 1e3:.1f} ms "
              f"(new/old {t_new / t_old:.2f}); bit-identical: {same}")


if __name__ == "__main__":
    main()
