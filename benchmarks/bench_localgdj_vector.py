"""Clip-LocalGDJ and FedAvg (LJ-1) on the vector template (``theorybench.methods.localgdj_vector``, family
``quartic-points``) against the former generic kernel (``kernels/localgdj.py`` on the engine family ``POINTS4``;
its frozen copy ``tests/legacy_localgdj_kernel.py``, without the family dispatch), one thread
(``NUMBA_NUM_THREADS=1`` is set here before Numba loads), compile time excluded (each side runs once before it is timed; best of 5, the two sides alternating).

Sweeps (every round recorded, the claim's schedule, unless said otherwise; with ``record = [0, R]`` the vector
kernel evaluates f and grad f only at the two recorded rounds, the former kernel at every round): LJ-1's quick
grid (d = 1: 3 alphas x 12 (c0, c1) pairs, tau = 10, R = 100, full local gradients), the same at d = 100
(alphas of the full size), and the authors' minibatch protocol (b = 8, 10 seeds, d = 1). Cost is
reported as ns per local step (one client gradient: 100 points x d for a full gradient, 8 for a minibatch) per
configuration. The trajectories agree bit for bit (checked here too). Run:
``python benchmarks/bench_localgdj_vector.py``."""
import os
import sys

os.environ["NUMBA_NUM_THREADS"] = "1"
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests"))

import time  # noqa: E402

import numpy as np  # noqa: E402

import theorybench as tb  # noqa: E402
from theorybench.algorithms import VARIANTS  # noqa: E402
from theorybench.runner import run_batch  # noqa: E402

from paper_checks import clip_localgdj as lj  # noqa: E402
from legacy_localgdj_kernel import legacy_batch, legacy_params  # noqa: E402


def _alg(name):
    return next(a for a in VARIANTS[name] if a.kernel == "vector")


def _best_pair(f, g, reps=5):
    """Best time of each of ``f`` and ``g``, run alternately (a shared machine's load hits both alike)."""
    out = [f(), g()]
    best = [np.inf, np.inf]
    for _ in range(reps):
        for k, fn in enumerate((f, g)):
            t = time.perf_counter()
            out[k] = fn()
            best[k] = min(best[k], time.perf_counter() - t)
    return best, out


def case(label, d, batch, seeds, record=None):
    prob = tb.make_problem("quartic-points", d=d)
    params = legacy_params(prob)
    c0s, c1s = lj.GRIDS["quick"]
    sets = [dict(alpha=a, local_steps=lj.TAU, c0=c0, c1=c1, batch_size=batch) for a in lj.ALPHAS[d]
            for c0 in c0s for c1 in c1s for _ in seeds]
    sds = [s for _ in range(len(sets) // len(seeds)) for s in seeds]
    rec_old = np.arange(lj.ROUNDS + 1) if record is None else np.asarray(record)
    rows = []
    for name in ("clip-localgdj", "fedavg-gd"):
        new = _alg(name)
        sn = [new.resolve({k: v for k, v in s.items() if k in [p.name for p in new.params]}) for s in sets]
        (t_old, t_new), (a, b) = _best_pair(
            lambda: legacy_batch(name, params, sn, sds, lj.ROUNDS, rec_old, [prob.x0] * len(sn)),
            lambda: run_batch(new, [prob] * len(sn), sn, sds, lj.ROUNDS, record=record))
        same = all(np.array_equal(u, v, equal_nan=True) for u, v in zip(a[:3], b[1:4]))
        steps = len(sn) * lj.ROUNDS * prob.n_clients * lj.TAU
        rows.append((label, name, len(sn), 1e9 * t_old / steps, 1e9 * t_new / steps, t_old / t_new, same))
    return rows


def main():
    print("| sweep | method | configurations | former kernel, ns/local step | vector, ns/local step | speed-up | "
          "bit-identical |")
    print("|---|---|---|---|---|---|---|")
    ends = [0, lj.ROUNDS]
    for label, d, batch, seeds, rec in (("LJ-1 quick, d = 1", 1, 0, [0], None),
                                        ("LJ-1 grid, d = 100", 100, 0, [0], None),
                                        ("minibatch b = 8, 10 seeds, d = 1", 1, 8, list(range(10)), None),
                                        ("the same, record = [0, R]", 1, 8, list(range(10)), ends),
                                        ("LJ-1 quick, d = 1, record = [0, R]", 1, 0, [0], ends)):
        for r in case(label, d, batch, seeds, rec):
            print(f"| {r[0]} | {r[1]} | {r[2]} | {r[3]:.1f} | {r[4]:.1f} | {r[5]:.2f}x | {r[6]} |")


if __name__ == "__main__":
    main()
