"""The ``theorybench`` command line: list, run, sweep, check, figures.

The contract (used by researchers' scripts; keep it stable)::

    theorybench list [NAME] | theorybench list [PAPER ...] --markdown [--out FILE]
    theorybench run PROBLEM ALGORITHM [-p k=v ...] [-a k=v ...] (--rounds R | --steps T) [--x0 X]
                    [--seed S] [--json] [--plot FILE]
    theorybench sweep PROBLEM ALGORITHM [-p k=v1,v2 ...] [-a k=lo:hi ...] --rounds R [--seeds N] [--out CSV]
    theorybench check [SELECTOR ...] [--full] [--control] [--json] [--report DIR [--overwrite]]
    theorybench figures [SELECTOR ...] [--full] [--out DIR]   (only --full rewrites the committed figures/)
"""
import argparse
import logging
import math
import os
import sys

from .errors import TheoryBenchError


def _pairs(items, flag):
    out = {}
    for it in items or []:
        if "=" not in it:
            raise TheoryBenchError(f"{flag} expects name=value, got {it!r}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


MAX_AXIS_VALUES = 10**6  # values one sweep axis may list (the work limit bounds the whole grid)
GRAMMAR = ("a,b,c | lo:hi (integers, lo <= hi) | lo:hi:n (n >= 2 evenly spaced reals, lo < hi) | "
           "log:lo:hi:n (n >= 2 log-spaced reals, 0 < lo < hi)")


def _values(text, name):
    """The values of one sweep axis, never empty: ``a,b,c`` | ``lo:hi`` (integers, inclusive) |
    ``lo:hi:n`` (n linear) | ``log:lo:hi:n`` (n log-spaced). Anything else is refused with the grammar."""
    import numpy as np

    def bad(why):
        return TheoryBenchError(f"cannot read the values of {name!r}: {text!r}: {why} (use {GRAMMAR})")

    def real(v):
        try:
            x = float(v)
        except ValueError:
            raise bad(f"{v!r} is not a number") from None
        if not math.isfinite(x):
            raise bad(f"{v!r} is not finite")
        return x

    def count(v):
        try:
            n = int(v)
        except ValueError:
            raise bad(f"the count n must be an integer, got {v!r}") from None
        if not 2 <= n <= MAX_AXIS_VALUES:
            raise bad(f"the count n must be in [2, {MAX_AXIS_VALUES}], got {n}")
        return n

    text = text.strip()
    if not text:
        raise bad("no values")
    if text.startswith("log:") or ":" in text:
        log = text.startswith("log:")
        parts = (text[4:] if log else text).split(":")
        if log and len(parts) != 3 or not log and len(parts) not in (2, 3):
            raise bad(f"{len(parts)} fields")
        if len(parts) == 2:
            try:
                lo, hi = int(parts[0]), int(parts[1])
            except ValueError:
                raise bad("lo:hi takes integers (reals: lo:hi:n)") from None
            if lo > hi:
                raise bad(f"empty range: lo = {lo} > hi = {hi}")
            if hi - lo + 1 > MAX_AXIS_VALUES:
                raise bad(f"{hi - lo + 1} values, more than {MAX_AXIS_VALUES}")
            return list(range(lo, hi + 1))
        lo, hi, n = real(parts[0]), real(parts[1]), count(parts[2])
        if not lo < hi:
            raise bad(f"lo = {lo:g} must be below hi = {hi:g}")
        if log and not lo > 0:
            raise bad(f"a log-spaced range needs lo > 0, got lo = {lo:g}")
        return [float(v) for v in (np.geomspace(lo, hi, n) if log else np.linspace(lo, hi, n))]
    items = [v.strip() for v in text.split(",")]
    if any(not v for v in items):
        raise bad("an empty item between commas")
    if len(items) > MAX_AXIS_VALUES:
        raise bad(f"{len(items)} values, more than {MAX_AXIS_VALUES}")
    return items


def _typed(param, values, owner):
    return [param.validate(v, owner) for v in values]


def cmd_list(args):
    if args.markdown or args.out:  # the claims as Markdown (docs/claims.md): theorybench.claims_doc
        if not args.markdown:
            raise TheoryBenchError("--out FILE writes the Markdown document: add --markdown")
        from .claims_doc import cmd_markdown
        return cmd_markdown(args.name, args.out)
    if len(args.name) > 1:
        raise TheoryBenchError(f"list shows one NAME, got {len(args.name)}; several papers only with --markdown")
    args.name = args.name[0] if args.name else None
    from .algorithms import ALGORITHMS
    from .claims import papers
    from .problem import problem_families
    probs = problem_families()
    if args.name:
        name = args.name
        found = False
        for kind, table, what in (("problem", probs, "parameters (-p)"),
                                  ("algorithm", ALGORITHMS, "hyperparameters (-a)")):
            if name in table:
                found = True
                from .algorithms import VARIANTS
                for item in (VARIANTS.get(name, [table[name]]) if kind == "algorithm" else [table[name]]):
                    on = f" (kernel {item.kernel})" if kind == "algorithm" and len(VARIANTS[name]) > 1 else ""
                    print(f"{kind} {name}{on}: {item.reference}\n\n{item.doc}\n\n{what}:")
                    for p in item.params:
                        print(f"  {p.name:<12} default {str(p.default):<8} {p.range_text():<28} {p.doc}")
        from .claims import select
        from .errors import UnknownNameError
        try:
            claims = select([name])
        except UnknownNameError:
            if found:
                return 0
            raise UnknownNameError("problem, algorithm, claim or paper", name,
                                   list(probs) + list(ALGORITHMS) + list(papers())) from None
        if found:
            print(f"\nclaims selected by {name!r}:")
        for c in claims:
            print(f"{c.id} ({c.paper}, {c.reference}; expected {c.expected})\n  {c.statement}\n"
                  f"  negative control: {c.control}")
        return 0
    print("problems:")
    for n, pf in sorted(probs.items()):
        print(f"  {n:<24} {pf.reference}")
    print("algorithms:")
    for n, a in ALGORITHMS.items():
        print(f"  {n:<24} {a.reference}")
    print("claims:")
    for p in papers().values():
        for c in p.claims:
            print(f"  {c.id:<8} {p.key:<18} {c.reference}")
    print("figures (theorybench figures PAPER):")
    for p in papers().values():
        print(f"  {p.key:<24} {p.citation} (aliases: {', '.join(p.aliases) or '-'})")
    print("\n`theorybench list NAME` shows a problem's or algorithm's parameters, or a paper's claims.")
    return 0


def _build_run_inputs(args):
    from .algorithms import get_algorithm
    from .problem import get_problem_family
    from .algorithms import VARIANTS
    from .runner import algorithm_for
    pf = get_problem_family(args.problem)
    alg = get_algorithm(args.algorithm)
    pset = _pairs(args.p, "-p")
    if len(VARIANTS.get(alg.name, ())) > 1:  # one name on several kernels: the one that runs this problem
        def first(k, v):
            try:
                return _values(v, k)[0] if args.cmd == "sweep" else v
            except TheoryBenchError:
                return v
        try:
            prob = pf.build(**{k: first(k, v) for k, v in pset.items()})
        except TheoryBenchError as probe_error:
            try:  # the problem's defaults, when only the sweep grammar tripped the probe
                prob = pf.build()
            except TheoryBenchError:
                raise probe_error from None  # the real error (e.g. a bad data file), not the defaults'
        alg = algorithm_for(alg, prob)
    return pf, alg, pset, _pairs(args.a, "-a")


def _run_seeds(args, pf, alg, pset, aset, x0):
    """``run --seeds S``: the seeds SEED..SEED+S-1 as one sweep, recording only the start and the end."""
    import numpy as np
    from .report import dumps
    from .runner import sweep
    if args.seeds < 1:
        raise TheoryBenchError(f"--seeds must be a positive number of seeds, got {args.seeds}")
    if args.plot or args.sharpness is not None:
        raise TheoryBenchError("--seeds reports final values only; --plot and --sharpness take one seed")
    from .params import check_seed
    check_seed(args.seed + args.seeds - 1, "--seed + --seeds - 1")
    I = alg.resolve(aset).get("local_steps", 1)
    R = args.rounds if args.rounds is not None else (args.steps // I if args.steps is not None and args.steps > 0
                                                      and args.steps % I == 0 else None)
    seeds = list(range(args.seed, args.seed + args.seeds))
    sw = sweep(pf.name, alg.name, seeds=seeds, rounds=args.rounds, steps=args.steps, x0=x0, problem_settings=pset,
               backend=args.backend, record=None if R is None else [0, R],
               max_work=math.inf if args.allow_long else None, **aset)
    xf = sw.x[..., -1, :]
    finite = np.isfinite(xf).all(axis=-1)

    def clean(a):
        return [None if not np.isfinite(v) else float(v) for v in np.ravel(a)]
    out = {"problem": pf.name, "problem_settings": pset, "algorithm": alg.name, "settings": alg.resolve(aset),
           "seeds": seeds, "step": int(sw.steps.reshape(-1, sw.steps.shape[-1])[0, -1]),
           "final": {"x": [clean(v) for v in xf], "loss": clean(sw.loss[..., -1]),
                     "grad_norm": clean(sw.grad_norm[..., -1]),
                     **{k: clean(v[..., -1]) for k, v in sw.traces.items()}},
           "mean_final_x": clean(xf[finite].mean(axis=0)) if finite.any() else None,
           "diverged": [bool(v) for v in np.ravel(sw.stats["diverged_round"] >= 0)],
           "stats": {k: clean(v) for k, v in sw.stats.items()}}
    if args.json:
        print(dumps(out))
        return 0
    print(f"{pf.name} / {alg.name}  settings {out['settings']}  problem {pset}  seeds {seeds[0]}..{seeds[-1]}  "
          f"step {out['step']}")
    for s, v, f in list(zip(seeds, xf, out["final"]["loss"]))[:20]:
        print(f"{s:>8} {np.array2string(v, precision=6):>30} {f if f is not None else float('nan'):>14.6g}")
    if len(seeds) > 20:
        print(f"     ... ({len(seeds) - 20} more seeds: --json gives all)")
    print(f"mean final x over {int(finite.sum())} finite runs: {out['mean_final_x']}")
    return 0


def cmd_run(args):
    import numpy as np
    from .report import dumps
    from .runner import run
    pf, alg, pset, aset = _build_run_inputs(args)
    x0 = None
    if args.x0 is not None:
        try:
            x0 = [float(v) for v in args.x0.split(",")]
        except ValueError:
            raise TheoryBenchError(f"--x0 expects comma-separated numbers, got {args.x0!r}") from None
    from .params import check_seed
    check_seed(args.seed, "--seed")
    plot_path = None
    if args.plot:  # checked before any work: a bad path must not cost the run
        stem, ext = os.path.splitext(args.plot)
        plot_path = args.plot if ext or os.path.isdir(args.plot) else stem + ".png"
        from .params import check_output_file
        check_output_file(plot_path, "--plot", _figure_formats())
    _log_long_jobs()
    if args.seeds != 1:
        return _run_seeds(args, pf, alg, pset, aset, x0)
    record, prob = None, None
    if args.sharpness is not None:
        from .problem import make_problem
        prob = make_problem(pf.name, **pset)
        if not hasattr(prob, "hvp"):
            raise TheoryBenchError(f"--sharpness needs a problem with Hessian-vector products (psd-quadratic, "
                                   f"tanh-mlp), got {pf.name!r}")
        T = args.steps if args.steps is not None else args.rounds
        if args.sharpness < 1:
            raise TheoryBenchError(f"--sharpness must be a positive number of steps, got {args.sharpness}")
        evaluations = max(T or 0, 0) // args.sharpness + 1
        if evaluations > MAX_SHARPNESS_EVALUATIONS and not args.allow_long:
            raise TheoryBenchError(
                f"--sharpness {args.sharpness} over {T} steps is {evaluations} sharpness evaluations, more than "
                f"{MAX_SHARPNESS_EVALUATIONS}: take K >= {-(-max(T, 1) // (MAX_SHARPNESS_EVALUATIONS - 1))}, or "
                "add --allow-long")
        record = np.arange(0, max(T or 0, 0) + 1, args.sharpness)
    res = run(prob or pf.name, alg.name, rounds=args.rounds, steps=args.steps, x0=x0, seed=args.seed,
              problem_settings=None if prob is not None else pset, backend=args.backend, record=record,
              max_work=math.inf if args.allow_long else None, **aset)
    sharp = None
    if prob is not None:
        from .sharpness import sharpness_along
        sharp = sharpness_along(prob, res)
    if args.plot:
        from .atomic_io import atomic_savefig
        from .plotting import new_figure, offscreen
        with offscreen():  # a bare Figure in the paper style: no backend, no window
            fig, axs = new_figure(ncols=2, width=8.0)
            res.plot(axs[0][0], y="x")
            res.plot(axs[0][1], y="grad_norm")
            fig.suptitle(f"{pf.name} / {alg.name}")
            atomic_savefig(fig, plot_path)
    if args.json:
        d = res.to_dict()
        if sharp is not None:
            d["sharpness"] = {"round": sharp["rounds"].tolist(), "S": sharp["S"].tolist(),
                              "threshold_2_over_eta": sharp["threshold"]}
        print(dumps(d))
        return 0
    if sharp is not None:
        print(f"{'round':>8} {'loss':>14} {'sharpness S':>14} {'S eta/2':>10}")
        for t, f, S in zip(sharp["rounds"], res.loss, sharp["S"]):
            print(f"{t:>8} {f:>14.6g} {S:>14.6g} {S / sharp['threshold'] if np.isfinite(sharp['threshold']) else np.nan:>10.4f}")
    fin = res.to_dict()["final"]
    print(f"{pf.name} / {alg.name}  settings {res.settings}  problem {res.problem_settings}  seed {res.seed}")
    k = np.unique(np.linspace(0, res.rounds.size - 1, min(8, res.rounds.size)).astype(int))
    print(f"{'round':>8} {'x':>24} {'loss':>14} {'|grad f|':>12}")
    for i in k:
        print(f"{res.rounds[i]:>8} {np.array2string(res.x[i], precision=6):>24} {res.loss[i]:>14.6g} {res.grad_norm[i]:>12.4g}")
    if res.diverged:
        print(f"DIVERGED at round {res.diverged_at} (iterate, loss or gradient norm not finite, iterate at 1e150, or "
              "loss / gradient norm past 1e150 while the iterate was not coming back)")
    xs = fin["x"] if res.x.shape[1] <= 8 else f"({res.x.shape[1]} coordinates; --json gives them)"
    print(f"final: x = {xs}, loss = {fin['loss']}, |grad f| = {fin['grad_norm']}")
    return 0


def cmd_sweep(args):
    from .runner import sweep
    pf, alg, pset, aset = _build_run_inputs(args)
    pparams = {p.name: p for p in pf.params}
    aparams = {p.name: p for p in alg.params}
    from .errors import unknown
    pgrid, agrid, pfixed, afixed = {}, {}, {}, {}
    for k, v in pset.items():
        if k not in pparams:
            raise unknown(f"parameter of problem {pf.name!r}", k, pparams)
        text_value = pparams[k].kind == "str"  # a file name may hold ':' or ',': taken whole, one value
        vals = _typed(pparams[k], [v] if text_value else _values(v, k), f"problem {pf.name!r}")
        (pgrid if len(vals) > 1 else pfixed)[k] = vals if len(vals) > 1 else vals[0]
    for k, v in aset.items():
        if k not in aparams:
            raise unknown(f"parameter of algorithm {alg.name!r}", k, aparams)
        vals = _typed(aparams[k], _values(v, k), f"algorithm {alg.name!r}")
        (agrid if len(vals) > 1 else afixed)[k] = vals if len(vals) > 1 else vals[0]
    if args.seeds < 1:
        raise TheoryBenchError(f"--seeds must be >= 1, got {args.seeds}")
    if args.out:  # checked before any work: a bad path must not cost the sweep
        from .params import check_output_file
        check_output_file(args.out, "--out")
    _log_long_jobs()
    n = math.prod(len(v) for v in list(pgrid.values()) + list(agrid.values())) * args.seeds
    print(f"sweep: {n} configurations ...", file=sys.stderr)
    sw = sweep(pf.name, alg.name, agrid, pgrid, seeds=args.seeds, rounds=args.rounds, steps=args.steps,
               problem_settings=pfixed, backend=args.backend, max_work=math.inf if args.allow_long else None,
               record=[] if args.final_only else None, progress=None, **afixed)  # --final-only: the ends
    df = _with_setup(sw.to_dataframe(every_record=not args.final_only), pf, alg, afixed, agrid)
    if args.out:
        from .atomic_io import atomic_to_csv
        atomic_to_csv(df, args.out, index=False)  # a killed sweep leaves the old file, never a partial one
        print(f"wrote {len(df)} rows to {args.out}", file=sys.stderr)
    else:
        df.to_csv(sys.stdout, index=False)
    return 0


def _with_setup(df, pf, alg, afixed, agrid):
    """The sweep's table with what it was run on in its first columns: ``problem``, ``method``, then
    every problem parameter and hyperparameter held fixed (given or default) that is not a column yet,
    so a CSV read back alone says what produced it. A problem parameter named like a hyperparameter
    or ``seed`` is ``problem_<name>``, as in the sweep's axes."""
    import pandas as pd
    hyper = alg.resolve({**afixed, **{k: v[0] for k, v in agrid.items()}})
    taken = {p.name for p in alg.params} | {"seed"}
    setup = {"problem": pf.name, "method": alg.name}
    for p in pf.params:
        name = f"problem_{p.name}" if p.name in taken else p.name
        if name not in df.columns:
            setup[name] = p.default
    for k, v in hyper.items():
        if k not in df.columns and k not in agrid:
            setup[k] = v
    return pd.concat([pd.DataFrame({k: [v] * len(df) for k, v in setup.items()}, index=df.index), df], axis=1)


MAX_SHARPNESS_EVALUATIONS = 10**5


def _figure_formats():
    """The file extensions matplotlib can write (png, pdf, svg, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase
    return sorted(FigureCanvasBase.get_supported_filetypes(), key=lambda e: (e != "png", e))


class _StderrHandler(logging.StreamHandler):
    """Writes to the current ``sys.stderr`` (not the one at creation: tests and callers redirect it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def _log_long_jobs():
    """Print the work estimate of a long job (``theorybench.runner.check_work`` logs it) on stderr."""
    log = logging.getLogger("theorybench")
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        h = _StderrHandler()
        h.setFormatter(logging.Formatter("theorybench: %(message)s"))
        log.addHandler(h)
    log.setLevel(logging.INFO)


def _run_claims(selectors, full, control, quiet, done=None, reuse=False, keep=True, jobs=1):
    """Run the selected claims; ``done``: a list that receives each result as it finishes (what is kept
    when Ctrl-C stops the run). Each result gets ``compile_seconds``: the part of its time Numba spent
    compiling kernels (the first claim to need a kernel pays for it; later runs load it from the cache),
    and ``stored``: whether it came from the store (:mod:`theorybench.store`). reuse: take a result made
    by the present code from the store instead of running the claim; keep: store what runs; jobs: processes
    (:mod:`theorybench.parallel_claims`; the results are listed in the selection's order all the same)."""
    from .claims import select
    from .report import Progress
    from .store import ClaimStore
    claims = select(selectors)
    results = [] if done is None else done
    store = ClaimStore.default() if (reuse or keep) else None
    size = "full" if full else "quick"
    if jobs > 1 and len(claims) > 1:
        return _run_claims_parallel(claims, size, control, quiet, results, store, reuse, keep, jobs, full)
    with Progress(len(claims), enabled=not quiet, desc="check" if not full else "check --full") as prog:
        for c in claims:
            prog.start(c.id)
            r = store.load(c, size, control) if store is not None and reuse else None
            if r is not None:
                r.stored, r.compile_seconds = True, 0.0
                prog.finish(c.id, r.evidence.verdict + " (stored)")
            else:
                r = c.run(size, control=control)
                prog.finish(c.id, r.evidence.verdict)
                r.stored, r.compile_seconds = False, prog.compile_seconds(c.id)
                if store is not None and keep:
                    store.save(r)
            results.append(r)
    return results


def _run_claims_parallel(claims, size, control, quiet, results, store, reuse, keep, jobs, full):
    from .parallel_claims import run_parallel
    from .report import Progress
    order = {c.id: k for k, c in enumerate(claims)}
    with Progress(len(claims), enabled=not quiet, desc="check" if not full else "check --full") as prog:
        todo = []
        for c in claims:
            r = store.load(c, size, control) if store is not None and reuse else None
            if r is None:
                todo.append(c)
                continue
            r.stored, r.compile_seconds = True, 0.0
            prog.finish(c.id, r.evidence.verdict + " (stored)")
            results.append(r)
        prog.bar.label(f"{len(todo)} claims on {min(jobs, len(todo))} processes")

        def done(c, r, compile_seconds):
            prog.finish(c.id, r.evidence.verdict, compile_seconds=compile_seconds)
            r.stored, r.compile_seconds = False, compile_seconds
            if store is not None and keep:
                store.save(r)
            results.append(r)
        try:
            if todo:
                run_parallel(todo, size, control, jobs, done)
        finally:  # what finished, in the selection's order (also when Ctrl-C stops the rest)
            results.sort(key=lambda r: order[r.claim.id])
    return results


def _report_dir(args):
    """The folder this ``check`` writes to, made before the claims run (a bad folder must not cost them).
    ``--report DIR``: DIR, refused when it already holds a report unless ``--overwrite``; default: a new
    folder ``theorybench-report/<UTC time>-<selectors>/``, so no report ever replaces another."""
    from .params import check_output_dir
    from .report import DEFAULT_REPORT_ROOT, holds_report, new_report_dir, report_label
    if args.report:
        if os.path.isdir(args.report) and holds_report(args.report) and not args.overwrite:
            raise TheoryBenchError(
                f"--report {args.report!r} already holds a report (report.md / report.json): give another "
                "folder, leave out --report (each report then gets its own folder under "
                f"./{DEFAULT_REPORT_ROOT}/), or add --overwrite to replace it")
        return check_output_dir(args.report, "--report"), False
    check_output_dir(DEFAULT_REPORT_ROOT, "--report")
    return new_report_dir(DEFAULT_REPORT_ROOT, report_label(args.selectors, args.full, args.control)), True


def _drop_if_empty(folder):
    try:
        os.rmdir(folder)  # only an empty folder: one we made and wrote nothing to
    except OSError:
        pass


def _jobs(args):
    from .parallel_claims import resolve_jobs
    return resolve_jobs(args.jobs)


def cmd_check(args):
    from .claims import select
    from .report import as_json, dumps, provenance, table, write_report
    total, results = len(select(args.selectors)), []
    outdir, made = _report_dir(args)
    try:
        _run_claims(args.selectors, args.full, args.control, quiet=False,
                    done=results, jobs=_jobs(args))
    except KeyboardInterrupt:  # keep what finished: a report of those claims (no figures: stop fast)
        done = f"{len(results)} of {total} claims finished"
        if not results:
            if made:
                _drop_if_empty(outdir)
            raise _Stopped(f"{done}; no report written") from None
        prov = provenance()
        prov["interrupted"] = f"{done} (figures not drawn)"
        path = write_report(results, outdir, prov, with_figures=False)
        raise _Stopped(f"{done}; their report: {path}") from None
    except BaseException:
        if made:
            _drop_if_empty(outdir)
        raise
    prov = provenance()
    path = write_report(results, outdir, prov, with_figures=not args.no_figures)
    if args.json:
        print(dumps(as_json(results, prov)))
        print(f"theorybench: report written to {os.path.dirname(path) or '.'}{os.sep}", file=sys.stderr)
    else:
        print(table(results))
        print(f"\nreport: {path}")
        unexpected = [r.claim.id for r in results if not r.as_expected]
        print("all verdicts as expected" if not unexpected else f"UNEXPECTED verdicts: {', '.join(unexpected)}")
    return 0 if all(r.as_expected for r in results) else 1


def default_figures_dir():
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    repo = os.path.join(here, "figures")
    return repo if os.path.isdir(repo) else os.path.join(os.getcwd(), "figures")


QUICK_FIGURES_DIR = os.path.join("theorybench-report", "figures-quick")


def _inside(path, folder):
    """Whether ``path`` is ``folder`` or lies under it (after resolving links)."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    return p == f or p.startswith(f.rstrip(os.sep) + os.sep)


def _figures_dir(args):
    """Where ``figures`` writes. The committed figures/ are paper size: only ``--full`` rewrites them; a
    quick run goes to ./theorybench-report/figures-quick/ (or its ``--out``, which may not be figures/)."""
    committed = default_figures_dir()
    if args.out:
        if not args.full and _inside(args.out, committed):
            raise TheoryBenchError(
                f"--out {args.out!r} is the committed paper-size figures folder: quick-size figures never replace "
                "them. Add --full to regenerate them at paper size, or give another --out")
        return args.out
    return committed if args.full else QUICK_FIGURES_DIR


def cmd_figures(args):
    from .report import save_plots
    results = []
    from .params import check_output_dir
    out = check_output_dir(_figures_dir(args), "--out")  # before the claims run
    if not args.full and not args.out:
        print(f"theorybench: quick-size figures go to {out}{os.sep} (the committed figures/ are paper size; "
              "`theorybench figures --full` rewrites them)", file=sys.stderr)
    try:
        _run_claims(args.selectors, args.full, False, quiet=False, done=results, reuse=not args.rerun,
                    jobs=_jobs(args))
    except KeyboardInterrupt:
        raise _Stopped(f"{len(results)} claims finished; no figures written") from None
    stored = [r.claim.id for r in results if getattr(r, "stored", False)]
    if stored:
        print(f"theorybench: {len(stored)} of {len(results)} claims redrawn from stored results made by this code "
              f"({', '.join(stored)}); --rerun runs them again", file=sys.stderr)
    written = save_plots(results, out)
    for cid, paths in written.items():
        for p in paths:
            print(f"{cid}: {p} (+ .pdf)")
    return 0


def _version():
    """The installed distribution's version (without importing the engine: ``--version`` stays fast)."""
    from importlib import metadata
    try:
        return metadata.version("theorybench")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _add_jobs(p):
    p.add_argument("--jobs", "-j", type=int, default=1, metavar="N",
                   help="run the claims on N processes (0: one per CPU); the same verdicts and numbers, listed in "
                        "the same order; a first run compiles N kernels at a time")


def build_parser():
    ap = argparse.ArgumentParser(prog="theorybench", description="Verify optimization papers' claims numerically.")
    ap.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("list", help="problems, algorithms, claims, figures; or one of them in detail")
    p.add_argument("name", nargs="*", help="a problem, algorithm, paper or claim (several papers with --markdown)")
    p.add_argument("--markdown", action="store_true",
                   help="the selected papers' claims as Markdown (none selected: this project's, docs/claims.md)")
    p.add_argument("--out", metavar="FILE", help="with --markdown: write the document to FILE (atomically)")
    p.set_defaults(fn=cmd_list)
    for name, fn, hlp in (("run", cmd_run, "one trajectory"), ("sweep", cmd_sweep, "a grid of runs to a tidy CSV")):
        p = sub.add_parser(name, help=hlp)
        p.add_argument("problem")
        p.add_argument("algorithm")
        p.add_argument("-p", action="append", metavar="NAME=VALUE", help="problem parameter")
        p.add_argument("-a", action="append", metavar="NAME=VALUE", help="algorithm hyperparameter")
        g = p.add_mutually_exclusive_group(required=True)
        g.add_argument("--rounds", type=int, help="communication rounds (of local_steps steps each)")
        g.add_argument("--steps", type=int, help="total steps (single-machine methods)")
        p.add_argument("--backend", default="numba", choices=("numba", "numpy", "cupy"),
                       help="numba kernels (default) or the array program on NumPy / CuPy (federated methods)")
        p.add_argument("--allow-long", action="store_true",
                       help="run a job above the work limit (1e10 client steps) instead of refusing it")
        if name == "run":
            p.add_argument("--x0", help="start point, comma-separated")
            p.add_argument("--seed", type=int, default=0)
            p.add_argument("--seeds", type=int, default=1, metavar="S",
                           help="run the seeds SEED, ..., SEED+S-1 and report every seed's final x and statistics "
                                "and their mean (one kernel call)")
            p.add_argument("--json", action="store_true", help="print the result as JSON")
            p.add_argument("--plot", metavar="FILE", help="save a plot of x_r and |grad f(x_r)|")
            p.add_argument("--sharpness", type=int, metavar="K",
                           help="edge-of-stability problems: the sharpness in the method's own norm (S/||g||_* "
                                "for normalized methods) every K steps, against 2/eta")
        else:
            p.add_argument("--seeds", type=int, default=1, help="seeds 0..N-1")
            p.add_argument("--out", metavar="CSV")
            p.add_argument("--final-only", action="store_true", help="one row per configuration")
        p.set_defaults(fn=fn)
    p = sub.add_parser("check", help="run claims and report verdicts")
    p.add_argument("selectors", nargs="*", help="claim ids (EP-1) or papers (episode); default all")
    p.add_argument("--full", action="store_true", help="the paper's sizes")
    p.add_argument("--control", action="store_true", help="run the negative controls (each must FAIL)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--report", metavar="DIR",
                   help="report folder (default: a new folder ./theorybench-report/<UTC time>-<selectors>/); "
                        "refused when DIR already holds a report, unless --overwrite")
    p.add_argument("--overwrite", action="store_true", help="let --report DIR replace the report it holds")
    p.add_argument("--no-figures", action="store_true", help="skip drawing the report's figures")
    _add_jobs(p)
    p.set_defaults(fn=cmd_check)
    p = sub.add_parser("figures", help="draw the selected papers' figures (--full: rewrite the committed figures/)")
    p.add_argument("selectors", nargs="*")
    p.add_argument("--full", action="store_true",
                   help="the paper's sizes; rewrites the repository's figures/ (a quick run never does)")
    p.add_argument("--out", metavar="DIR", help=f"default: figures/ with --full, else ./{QUICK_FIGURES_DIR}/")
    p.add_argument("--rerun", action="store_true",
                   help="run every claim again instead of redrawing from the results stored by check/figures "
                        "(a stored result is used only when made by the same code, size and settings)")
    _add_jobs(p)
    p.set_defaults(fn=cmd_figures)
    # further subcommands come from the ``theorybench.commands`` entry-point group: each entry is a
    # function ``add(subparsers)`` that adds its parser and sets ``fn`` (see ``theorybench.commands``)
    from importlib import metadata
    for ep in metadata.entry_points(group="theorybench.commands"):
        ep.load()(sub)
    return ap


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args)
    except TheoryBenchError as e:
        print(f"theorybench: error: {e}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `theorybench list | head`
        sys.stderr.close()
        return 0
    except KeyboardInterrupt as e:  # Ctrl-C: one line, no traceback, exit status 130 (128 + SIGINT)
        return _interrupted(e.args[0] if isinstance(e, _Stopped) else "")


class _Stopped(KeyboardInterrupt):
    """Ctrl-C, with what was kept (the message printed)."""


def _interrupted(detail):
    """Say that Ctrl-C stopped the command; return 130. A compiled kernel left computing in a background
    thread (``theorybench.interrupt``) is not waited for: the process ends at once (``os._exit``)."""
    from .interrupt import background_running
    lead = "\n" if sys.stderr.isatty() else ""  # past a progress line
    try:
        print(f"{lead}theorybench: interrupted" + (f": {detail}" if detail else ""), file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    if background_running():
        os._exit(130)
    return 130


if __name__ == "__main__":
    sys.exit(main())
