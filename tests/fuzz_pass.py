"""A fuzzing pass over the CLI and the Python API with bad and edge inputs (run by hand, not collected by
pytest: ``python tests/fuzz_pass.py [--out FILE]``; about ten minutes on two cores).

Every case runs in this process (``theorybench.cli.main`` or a Python call) under a wall-clock alarm and
is classified as

- ``error``: a clear refusal (exit status 2 with a ``theorybench: error:`` line or argparse's usage error;
  in Python a :class:`~theorybench.errors.TheoryBenchError`);
- ``answer``: exit status 0 / a returned result, with no NaN passed on in the printed numbers unless the
  run says it diverged;
- ``traceback``: any other exception (the bug this pass looks for);
- ``hang``: still running after the alarm (``HANG_S`` seconds), twice (the first call of a kernel
  compiles it, which can take a minute on a busy machine).

The tests in ``tests/test_hostile_input.py``, ``tests/test_faults.py`` and
``tests/test_smoothness_hostile.py`` pin the individual behaviours; this pass counts them over a wide
input space for the record (the closing note of the hostile-input issue).
"""
import argparse
import contextlib
import io
import itertools
import json
import math
import os
import signal
import sys
import tempfile
import time
import traceback

import numpy as np

HANG_S = 90


class _Hang(BaseException):
    pass


def _alarm(signum, frame):
    raise _Hang()


def classify_cli(argv):
    from theorybench.cli import main
    out, err = io.StringIO(), io.StringIO()
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                rc = main(argv)
            except SystemExit as e:  # argparse
                rc = e.code if isinstance(e.code, int) else 2
    except _Hang:
        return "hang", ""
    except Exception:
        return "traceback", traceback.format_exc(limit=3)
    finally:
        signal.alarm(0)
    text = out.getvalue()
    if rc == 0:
        if "nan" in text.lower() and "diverged" not in (text + err.getvalue()).lower():
            return "nan-answer", text[-300:]
        return "answer", ""
    if rc == 2 and ("error" in err.getvalue()):
        return "error", err.getvalue().strip().splitlines()[-1][:200]
    return "unclear", f"rc={rc} {err.getvalue()[-200:]}"


def classify_api(fn, nan_by_design=False):
    from theorybench.errors import TheoryBenchError
    signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(HANG_S)
    try:
        out = fn()
    except _Hang:
        return "hang", ""
    except TheoryBenchError as e:
        return "error", str(e)[:200]
    except Exception:
        return "traceback", traceback.format_exc(limit=3)
    finally:
        signal.alarm(0)
    loss = getattr(out, "loss", None)
    if loss is not None:
        arr = np.asarray(loss, dtype=float)
        diverged = getattr(out, "diverged_at", None)
        if np.isnan(arr).any() and not nan_by_design and (diverged is None or diverged < 0):
            stats = getattr(out, "stats", None)
            if stats is None or not (np.asarray(stats["diverged_round"]) >= 0).any():
                return "nan-answer", ""
    return "answer", ""


BAD_NUMBERS = ["", "nan", "inf", "-inf", "-1", "0", "1e308", "-1e308", "1e-320", "abc", "1,2", "1:2:0",
               "0x10", "1e", "--1", "True", "None", "[1]", "9223372036854775808"]
SWEEP_VALUES = ["", ",", "1,", ",1", "1:2:0", "1:2:1", "2:1", "8:1", "1:2", "1:2:3", "log:0.1:1:0",
                "log:0:1:3", "log:-1:1:3", "log:1:0.1:3", "log:0.1:1:3", "1:2:x", "log:a:b:c", "1:1e9",
                "0:10000000", "1:2:3:4", "log:0.1:1", "nan,1", "inf:1:3", "1e308:1e308:2", "0.1,0.2",
                "1:1", "-1:1:3"]
SEEDS = ["0", "1", "-1", "9223372036854775807", "9223372036854775808", "1e3", "1.5", "x", "99999999999999999999"]
ROUNDS = ["0", "1", "-1", "1.5", "x", "1e3", "1000000000000", "9223372036854775808"]


def cli_cases(tmp):
    q = ["two-client-quadratic", "local-clip"]
    e = ["episode-quartic", "episode"]
    cases = []
    for p, a in (q, e):  # hyperparameter values
        for name in ("eta", "gamma", "local_steps", "convention"):
            for v in BAD_NUMBERS:
                cases.append(["run", p, a, "-a", f"{name}={v}", "--rounds", "5"])
    for name in ("H",):
        for v in BAD_NUMBERS:
            cases.append(["run", *e, "-p", f"{name}={v}", "--rounds", "5"])
    for p, a in (q, e):  # sweep grammar, hyperparameter and problem axes
        for v in SWEEP_VALUES:
            cases.append(["sweep", p, a, "-a", f"eta={v}", "--rounds", "3", "--final-only"])
            cases.append(["sweep", p, a, "-a", f"local_steps={v}", "--rounds", "3", "--final-only"])
    for v in SWEEP_VALUES:
        cases.append(["sweep", *e, "-p", f"H={v}", "--rounds", "3", "--final-only"])
    for s in SEEDS:
        cases.append(["run", *q, "--seed", s, "--rounds", "3"])
        cases.append(["sweep", *q, "--seeds", s, "--rounds", "3", "--final-only"])
    for r in ROUNDS:
        for p, a in (q, e):
            cases.append(["run", p, a, "--rounds", r])
            cases.append(["run", p, a, "--steps", r])
            cases.append(["sweep", p, a, "-a", "eta=0.1,0.2", "--rounds", r, "--final-only"])
    for x0 in ("nan", "1,2", "", ",", "1e308", "inf", "a", "1e400"):
        cases.append(["run", *q, "--x0", x0, "--rounds", "3"])
    # output paths
    afile = os.path.join(tmp, "afile")
    open(afile, "w").close()
    paths = [tmp, os.path.join(tmp, "missing", "x.csv"), os.path.join(afile, "x.csv"), "", "/proc/x.csv",
             os.path.join(tmp, "ok.csv"), os.path.join(tmp, "noext"), os.path.join(tmp, "x.bogus"),
             "/dev/null", os.path.join(tmp, "sub/")]
    for path in paths:
        cases.append(["sweep", *q, "-a", "eta=0.1,0.2", "--rounds", "3", "--final-only", "--out", path])
        cases.append(["run", *q, "--rounds", "3", "--plot", path])
        cases.append(["check", "EP-1", "--report", path, "--no-figures"])
        cases.append(["figures", "ZZZ-none", "--out", path])
    # logistic data files
    files = {"ragged.csv": "1,2,1\n3,1\n", "strings.csv": "a,b,c\n1,2,1\n", "empty.csv": "",
             "onecol.csv": "1\n2\n", "labels.csv": "1,2,3\n2,1,5\n", "nan.csv": "nan,1,1\n1,2,-1\n",
             "huge.csv": "1e308,1,1\n-1,-1,-1\n", "inf.csv": "inf,1,1\n-1,-1,-1\n",
             "zero.csv": "0,0,1\n0,0,-1\n", "nonsep.csv": "1,1,1\n1,1,-1\n", "big.csv": "1e200,1e200,1\n-1,-1,-1\n",
             "binary.npy": "\x93NUMPY garbage", "bad.npz": "PK garbage", "dup.csv": "1,1,1\n1,1,1\n-1,-1,-1\n"}
    for name, content in files.items():
        path = os.path.join(tmp, name)
        with open(path, "w") as fh:
            fh.write(content)
    np.savez(os.path.join(tmp, "noX.npz"), Y=np.ones(3))
    np.savez(os.path.join(tmp, "goodX.npz"), X=np.array([[1.0, 2.0], [-1.0, -2.0]]), y=np.array([1.0, -1.0]))
    for name in [*files, "noX.npz", "goodX.npz", "missing.csv", ""]:
        path = os.path.join(tmp, name) if name else tmp
        cases.append(["run", "logistic-data", "logistic-gd", "-p", f"data={path}", "--steps", "20"])
    # smoothness
    exprs = ["x**4", "__import__('os').system('true') or x**4", "Abs(x)", "Max(x,0)", "exp(x)", "log(x)",
             "1/x", "x**x", "sqrt(x)", "x**0.5", "", "x +", "lambda: 1", "x.__class__", "[x]", "x**4; 1",
             "exp(exp(exp(x)))", "x**100000", "sin(x)**2", "cosh(x)", "y**2", "x**4 + 2*x", "pi*x**2",
             "E**x", "(x", "x**-2", "tanh(x)", "Min(x**2, 1)", "x*" * 200 + "x", "9" * 5000]
    for ex in exprs:
        cases.append(["smoothness", ex])
        cases.append(["smoothness", ex, "--L1", "3"])
    for extra in (["--method", "grid", "--cells", "0"], ["--method", "grid", "--X", "nan"],
                  ["--method", "grid", "--X", "1e308"], ["--method", "grid", "--X", "-1"],
                  ["--method", "grid", "--cells", "1e9"], ["--L1", "-1"], ["--L1", "nan"],
                  ["--time-limit", "0"], ["--time-limit", "-1"], ["--method", "nope"]):
        cases.append(["smoothness", "x**4", *extra])
    # search
    for bound in ("L1=-1:1", "L1=1:0", "L1=a:b", "L1=1", "L1=nan:1", "nope=1:2", "x0=0.1:10", "x0=0:10",
                  "x0=1e308:inf", "x0=1:1"):
        cases.append(["search", "cosh", "gd", "-a", "eta=0.5", "--bound", bound, "--steps", "20",
                      "--maxiter", "2", "--popsize", "3"])
    for extra in (["--maxiter", "0"], ["--popsize", "0"], ["--seed", "-1"], ["--seed", "4294967296"],
                  ["--steps", "-1"], ["--log", "x0"], ["--log", "nope"]):
        cases.append(["search", "cosh", "gd", "-a", "eta=0.5", "--bound", "x0=0.1:10", "--steps", "20",
                      "--maxiter", "2", "--popsize", "3", *extra])
    # delays
    for s in ("0", "-1", "1", "8", "1.5", "x", "1000", "3000", "100000"):
        cases.append(["delays", "--stages", s])
    for m in ("0", "-1", "x", "1000000000"):
        cases.append(["delays", "--stages", "4", "--microbatches", m])
    # names and selectors
    for argv in (["run", "nope", "gd"], ["run", "cosh", "nope"], ["run", "cosh", "local-clip"],
                 ["list", "nope"], ["check", "nope"], ["check", "E"], ["figures", "nope"],
                 ["run", *q, "-a", "nope=1"], ["run", *q, "-p", "nope=1"], ["run", *q, "-a", "eta"],
                 ["run", *q, "-a", "=1"], ["run", *q, "--backend", "numpy", "--rounds", "3"],
                 ["run", "cosh", "gd", "--backend", "numpy", "--steps", "3"], ["run", *q]):
        cases.append(argv)
    # a sample of every algorithm on its default problem with hostile values of every float hyperparameter
    from theorybench.algorithms import ALGORITHMS, get_algorithm
    from theorybench.problem import problem_families
    PROBLEMS = list(problem_families())
    for name in list(ALGORITHMS)[:40]:
        alg = get_algorithm(name)
        prob = next((p for p in PROBLEMS if _fits(alg, p)), None)
        if prob is None:
            continue
        for par in alg.params[:4]:
            for v in ("nan", "-1", "1e308", "x"):
                cases.append(["run", prob, name, "-a", f"{par.name}={v}", "--steps", "4"])
    # the vector-template instances and their methods: every problem parameter and every hyperparameter of
    # every vector method with hostile values, steps, seeds, starts and a sweep
    from theorybench.algorithms import VARIANTS
    from theorybench.declare_vector import VectorProblem
    from theorybench.problem import get_problem_family, make_problem
    vec = {}
    for p in PROBLEMS:
        try:
            if isinstance(make_problem(p), VectorProblem):
                vec[p] = [a for a in ALGORITHMS if any(v.kernel == "vector" for v in VARIANTS.get(a, []))
                          and _fits(a, p)]
        except Exception:  # a problem whose defaults need a data file
            continue
    bad = ("nan", "-1", "0", "1e308", "inf", "x", "1e-320", "3.5")
    for p, methods in vec.items():
        for par in get_problem_family(p).params:
            for v in bad:
                cases.append(["run", p, methods[0], "-p", f"{par.name}={v}", "--steps", "5"])
        for m in methods:
            alg = next(a for a in VARIANTS[m] if a.kernel == "vector")
            for par in alg.params:
                for v in bad:
                    cases.append(["run", p, m, "-a", f"{par.name}={v}", "--steps", "5"])
            for extra in (["--steps", "0"], ["--steps", "-1"], ["--steps", "5", "--seeds", "0"],
                          ["--steps", "5", "--seeds", "3", "--json"], ["--steps", "5", "--x0", "nan"],
                          ["--steps", "5", "--x0", "1"]):
                cases.append(["run", p, m, *extra])
            cases.append(["sweep", p, m, "--steps", "5", "--seeds", "2"])
    return cases


def _fits(alg, prob_name):
    from theorybench.problem import make_problem
    from theorybench.runner import algorithm_for
    try:
        algorithm_for(alg, make_problem(prob_name))
        return True
    except Exception:
        return False


def api_cases():
    import theorybench as tb
    Q = ("two-client-quadratic", "local-clip")
    cases = []
    for seed in (0, -1, 1.5, 3.0, "3", 2**63, 2**63 - 1, True, None, float("nan"), [1], np.int64(2)):
        cases.append(lambda seed=seed: tb.run(*Q, rounds=3, seed=seed))
    for seeds in (0, 1, 3, "3", -1, [], [0, 1], [0.5], [2**63], range(3), None, True, np.arange(2)):
        cases.append(lambda seeds=seeds: tb.sweep(*Q, {"eta": [0.1, 0.2]}, seeds=seeds, rounds=3))
    for record in ([0.5, 2.7], [-1], [100], [[1, 2]], "abc", [float("nan")], [], [0, 3], range(4), None):
        cases.append(lambda record=record: tb.run(*Q, rounds=3, record=record))
    for rounds in (0, -1, 1.5, "3", None, float("inf"), 10**13, True, np.int64(3)):
        cases.append(lambda rounds=rounds: tb.run(*Q, rounds=rounds))
    for x0 in ("1", [1, 2], [float("nan")], [True], None, 1.0, [1e308], np.array([[1.0]])):
        cases.append(lambda x0=x0: tb.run(*Q, rounds=3, x0=x0))
    for target in (0, -1, float("nan"), "a", None, 1e308):
        # a negative target stops the run at its running-average crossing: NaN after it by design
        case = (lambda target=target: tb.run(*Q, rounds=3, target=target))
        case.nan_by_design = isinstance(target, (int, float)) and target < 0
        cases.append(case)
    prob = tb.make_problem("episode-quartic")
    cases.append(lambda: tb.run(prob, "local-clip", rounds=3, problem_settings={"H": 2}))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", {"eta": [0.01, 0.02]}, rounds=3, eta=0.1))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", {"eta": 0.01}, rounds=3))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", {"eta": []}, rounds=3))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", {"eta": "0.1"}, rounds=3))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", problem_grid={"H": [1, 2]},
                                  problem_settings={"H": 3}, rounds=3))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", problem_grid={"seed": [1, 2]}, rounds=3))
    cases.append(lambda: tb.run("episode-quartic", "local-clip", rounds=3, problem_settings="H=2"))
    cases.append(lambda: tb.run("episode-quartic", "local-clip", rounds=3, max_work=0))
    cases.append(lambda: tb.run("episode-quartic", "local-clip", rounds=3, max_work=float("nan")))
    cases.append(lambda: tb.sweep("episode-quartic", "local-clip", {"eta": [0.1]}, rounds=3, max_memory=-1))
    for v in (float("nan"), -1.0, 0.0, 1e308, "x", None, True, [1]):
        for name in ("eta", "gamma", "local_steps"):
            cases.append(lambda v=v, name=name: tb.run(*Q, rounds=3, **{name: v}))
    from theorybench.smoothness import tight_L0  # noqa: F401  (imported: exists)
    return cases


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="write the cases and their classes as JSON here")
    args = ap.parse_args()
    t0 = time.time()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.getcwd()
        os.chdir(tmp)  # reports and figures of the cases land here
        try:
            for argv in cli_cases(tmp):
                kind, detail = classify_cli(argv)
                if kind == "hang":  # the first call of a kernel compiles it (a minute on a busy machine)
                    kind, detail = classify_cli(argv)
                rows.append({"kind": kind, "case": "theorybench " + " ".join(map(str, argv))[:300],
                             "detail": detail})
            for i, fn in enumerate(api_cases()):
                kind, detail = classify_api(fn, getattr(fn, "nan_by_design", False))
                rows.append({"kind": kind, "case": f"api case {i}", "detail": detail})
        finally:
            os.chdir(cwd)
    counts = {}
    for r in rows:
        counts[r["kind"]] = counts.get(r["kind"], 0) + 1
    print(json.dumps({"cases": len(rows), "counts": counts, "seconds": round(time.time() - t0)}, indent=1))
    for r in rows:
        if r["kind"] not in ("error", "answer"):
            print(r["kind"], r["case"], r["detail"][-400:], sep=" | ")
    if args.out:
        from theorybench.atomic_io import atomic_write_text
        atomic_write_text(args.out, json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
