"""Performance benchmark: the Muon counterexample's claims on the vector template against the former kernel.

Work: a claim's real run (Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980; paper module
``paper_checks/muon_nonconvergence.py``): MU-1 (Muon, signed momentum and sign descent under four step
schedules on 2 x 2 and 3 x 4 matrices, dense records) and MU-4 (EF / EF-Muon at T = 100 ... 10^4 or
3 10^5), at the size given.

Implementations, same process, interleaved (same load), one Numba thread (``NUMBA_NUM_THREADS=1`` is set
before Numba loads; the claims run one configuration per call):

(new) the registered instance (``MuonProblem``, family ``muon-counterexample``) on the composed vector kernels
      of ``theorybench.methods.muon_vector``;
(old) the former layout (``legacy_problem``: ``MatrixProblem``) on the former generic kernel
      ``theorybench.kernels.muon`` (one kernel that dispatches on the method and schedule codes every step).

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
    args = ap.parse_args()

    import theorybench as tb
    from theorybench.atomic_io import atomic_write_text
    import paper_checks.muon_nonconvergence as pm
    from problems.muon_counterexample import legacy_problem

    checks = {"MU-1": pm.check_mu1, "MU-2": pm.check_mu2, "MU-3": pm.check_mu3, "MU-4": pm.check_mu4}
    new_make = pm.make_problem

    def old_make(name, **ps):
        assert name == "muon-counterexample"
        return legacy_problem(**ps)

    def run(path, claim):
        pm.make_problem = new_make if path == "new" else old_make
        try:
            t0, c0 = time.perf_counter(), time.process_time()
            ev = checks[claim](size=args.size)
            return time.perf_counter() - t0, time.process_time() - c0, ev
        finally:
            pm.make_problem = new_make

    out = {"machine": machine_info(), "size": args.size, "claims": {}}
    for claim in args.claims.split(","):
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
    del tb


if __name__ == "__main__":
    main()
