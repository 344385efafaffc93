"""Performance benchmark: the Muon counterexample's claims on the vector template against the former kernel.

Work: a claim's real run (Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980; paper module
``paper_checks/muon_nonconvergence.py``): MU-1 (Muon, signed momentum and sign descent under four step
schedules on 2 x 2 and 3 x 4 matrices, dense records) and MU-4 (EF / EF-Muon at T = 100 ... 10^4 or
3 10^5), at the size given.

Implementations, same process, interleaved (same load), one Numba thread (``NUMBA_NUM_THREADS=1`` is set
before Numba loads; the claims run one configuration per call):

(new) the registered instance (``MuonProblem``, family ``muon-counterexample``) on the composed vector kernels
      of ``theorybench.methods.muon_vector``;
(old) the former generic kernel (one loop that dispatches on the method and schedule codes every step and
      evaluates its own objective): its frozen copy ``tests/legacy_muon_kernel.py`` (the engine dropped it),
      called once per configuration in place of ``theorybench.run_batch`` (the claims run one configuration
      per call; the runner's own overhead, validation and planning, counts against the new path only).

Per method (``--kernel-steps`` steps, power schedule, b as in the claims; best of ``--repeats``, process CPU
time), one configuration: ``theorybench.run_batch`` with the records of a claim (every step) and with the first
and last step only, against the frozen former kernel with every step recorded (it evaluated f and G every step
whatever the records). With every step recorded the new kernel evaluates f and G twice per step (the
template's observation, then the step's oracle call: a step cannot read the observation's gradient), and the
runner's record check (``np.unique`` on 10^5 rounds) costs tens of ms per call.

Each claim is run once on each path as warm-up (compilation), then timed ``--repeats`` times each (median,
wall clock and process CPU time). The two paths' evidence (verdict, measured text, numbers) must be equal:
the trajectories are bit-identical (``tests/test_muon_vector.py``).

Run: ``python benchmarks/bench_muon_vector.py [--size quick|full] [--claims MU-1,MU-4] [--repeats 3]``. Writes
``benchmarks/results/muon_vector_<size>.json``.
"""
import os

os.environ["NUMBA_NUM_THREADS"] = "1"

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from _common import machine_info  # noqa: E402  (scripts run from benchmarks/)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="quick", choices=("quick", "full"))
    ap.add_argument("--claims", default="MU-1,MU-4")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--kernel-steps", type=int, default=100000)
    args = ap.parse_args()

    import numpy as np
    from theorybench.atomic_io import atomic_write_text
    from theorybench.runner import record_schedule
    import paper_checks.muon_nonconvergence as pm
    sys.path.insert(0, str(HERE.parent / "tests"))
    from legacy_muon_kernel import legacy_run

    checks = {"MU-1": pm.check_mu1, "MU-2": pm.check_mu2, "MU-3": pm.check_mu3, "MU-4": pm.check_mu4}
    new_run_batch = pm.run_batch

    def old_run_batch(alg, probs, sets, seeds, steps, x0s=None, record=None):
        """``run_batch``'s tuple from the former kernel, one configuration at a time."""
        rec = record_schedule(steps) if record is None else np.asarray(record, dtype=np.int64)
        outs = []
        for p, h, seed, x0 in zip(probs, sets, seeds, x0s if x0s is not None else [None] * len(probs)):
            m, n = p.shape
            outs.append(legacy_run(alg.name, p.arrays["c"], p.arrays["tie"], m, n, h, p.x0 if x0 is None else x0,
                                   seed, steps, rec))
        st = np.array([list(o[3].values()) for o in outs])  # column 0: diverged_round, as the runner's
        return (rec, np.stack([o[0] for o in outs]), np.stack([o[1] for o in outs]),
                np.stack([o[2] for o in outs]), st)

    def run(path, claim):
        pm.run_batch = new_run_batch if path == "new" else old_run_batch
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            ev = checks[claim](size=args.size)
            return time.perf_counter() - t0, time.process_time() - c0, ev
        finally:
            pm.run_batch = new_run_batch

    out = {"machine": machine_info(), "size": args.size, "claims": {}, "kernels": {}}
    from theorybench import make_problem
    from theorybench.algorithms import get_algorithm
    from problems.muon_counterexample import diag_start
    T = args.kernel_steps
    p = make_problem("muon-counterexample")
    x0 = diag_start(0.75, 0.5)
    for name, hp in (("muon", dict(beta=0.0)), ("muon-ns", dict(beta=0.0)), ("signed-momentum", dict(beta=0.9)),
                     ("sign-descent", {}), ("subgradient", {}), ("ef", {}), ("ef-muon", {}), ("muonmax", {}),
                     ("momo", {})):
        alg = get_algorithm(name)
        h = alg.resolve(dict(schedule="power", **hp))
        dense, ends = np.arange(T + 1), np.array([0, T])
        jobs = {"new_dense": lambda: new_run_batch(alg, [p], [h], [0], T, [x0], record=dense),
                "new_first_last": lambda: new_run_batch(alg, [p], [h], [0], T, [x0], record=ends),
                "old_dense": lambda: legacy_run(name, 0.5, 1.0, 2, 2, h, x0, 0, T, dense)}
        row = {}
        for k, fn in jobs.items():
            fn()
            best = np.inf
            for _ in range(args.repeats):
                c0 = time.process_time()
                fn()
                best = min(best, time.process_time() - c0)
            row[k + "_ns_per_step"] = 1e9 * best / T
        out["kernels"][name] = row
        print(f"{name}: ns/step new (every step recorded) {row['new_dense_ns_per_step']:.0f}, new (first/last) "
              f"{row['new_first_last_ns_per_step']:.0f}, old {row['old_dense_ns_per_step']:.0f}")
    for claim in filter(None, args.claims.split(",")):
        evs = {p: run(p, claim)[2] for p in ("new", "old")}  # warm-up (compiles)
        same = (evs["new"].verdict == evs["old"].verdict and evs["new"].measured == evs["old"].measured
                and json.dumps(evs["new"].numbers, default=str) == json.dumps(evs["old"].numbers, default=str))
        ts = {"new": [], "old": []}
        for _ in range(args.repeats):
            for p in ("new", "old"):
                wall, cpu, _ = run(p, claim)
                ts[p].append((wall, cpu))
        row = {p: {"wall_s": statistics.median(w for w, _ in v), "cpu_s": statistics.median(c for _, c in v),
                   "runs": v} for p, v in ts.items()}
        row["new_over_old_wall"] = row["new"]["wall_s"] / row["old"]["wall_s"]
        row["evidence_identical"] = bool(same)
        row["verdict"] = evs["new"].verdict
        out["claims"][claim] = row
        print(f"{claim} ({args.size}): new {row['new']['wall_s']:.3f} s (cpu {row['new']['cpu_s']:.3f}), old "
              f"{row['old']['wall_s']:.3f} s (cpu {row['old']['cpu_s']:.3f}), new/old {row['new_over_old_wall']:.2f}; "
              f"verdict {row['verdict']}, evidence identical: {same}")
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"muon_vector_{args.size}.json", json.dumps(out, indent=1, default=str))


if __name__ == "__main__":
    main()
