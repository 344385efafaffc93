"""Counterexample search: the instance parameters on which an algorithm does worst at a fixed budget.

:func:`worst_instance` runs scipy's differential evolution over box-bounded parameters of a registered problem
family (a start coordinate ``x0`` counts as a parameter when the family declares one), with the algorithm's
hyperparameters held fixed. Each generation's whole population is one call of the batched kernel
(``vectorized=True``). The score of an instance is ``log10(f(x_T) - f*)`` (``f*`` the problem's constant
``f_star``, 0 when it has none); a run that overflows scores ``DIVERGED_SCORE`` (worse than any finite gap).
scipy is imported on first use."""
import math
import numbers

import numpy as np

from .algorithms import get_algorithm
from .errors import TheoryBenchError
from .problem import get_problem_family, make_problem
from .runner import run_batch

DIVERGED_SCORE = 400.0   # log10 of "infinitely bad": above any finite float64 gap (<= 308)
FLOOR = -300.0           # log10 of a gap that is exactly 0


def _score(problem, loss, diverged):
    if diverged or not math.isfinite(loss):
        return DIVERGED_SCORE
    fstar = problem.constants["f_star"].value if "f_star" in problem.constants else 0.0
    gap = loss - fstar
    return FLOOR if gap <= 0 else max(FLOOR, math.log10(gap))


class _Stop(Exception):
    """Carries a TheoryBenchError out of scipy (which turns a ValueError raised in the objective into a
    RuntimeError about its map-like callable)."""


def worst_instance(problem, algorithm, bounds, steps, hyper=None, fixed=None, maxiter=30, popsize=10, seed=0,
                   log_scale=(), max_work=None):
    """Search ``bounds`` (``{parameter: (low, high)}``, parameters of the problem family ``problem``) for the
    instance where ``algorithm`` (hyperparameters ``hyper``) ends worst after ``steps`` steps.

    fixed: problem parameters held fixed; log_scale: parameters searched on a log scale; max_work: the
    most client steps the search may take (see :func:`theorybench.runner.check_work`; ``math.inf``: no
    limit). Bad input (a bound outside the parameter's declared range, ...) is refused before the search
    starts. Returns a dict
    with ``params`` (the worst instance found), ``score`` (its log10 gap; ``DIVERGED_SCORE`` if it
    overflowed), ``diverged``, ``evaluations`` and ``history`` (best score per generation)."""
    fam = get_problem_family(problem)
    params = {p.name: p for p in fam.params}
    declared = set(params)
    fixed = dict(fixed or {})
    log_scale = tuple(log_scale or ())
    if not bounds:
        raise TheoryBenchError("give at least one bound {parameter: (low, high)} to search")
    for k, b in bounds.items():
        if k not in declared:
            raise TheoryBenchError(f"parameter {k!r} is not a parameter of problem {problem!r} "
                                   f"(it has {', '.join(sorted(declared))})")
        if params[k].kind != "float":
            raise TheoryBenchError(f"parameter {k!r} of problem {problem!r} is {params[k].range_text()}: only real "
                                   "parameters can be searched; hold it fixed instead")
        try:
            lo, hi = (float(v) for v in b)
        except (TypeError, ValueError):
            raise TheoryBenchError(f"bounds of {k!r} must be a pair (low, high) of numbers, got {b!r}") from None
        if not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi or (k in log_scale and lo <= 0):
            raise TheoryBenchError(f"bounds of {k!r} must be finite with low < high (and low > 0 on a log scale), "
                                   f"got ({lo}, {hi})")
        for v in (lo, hi):  # the box must lie in the parameter's declared range (or every instance fails)
            try:
                params[k].validate(v, f"problem {problem!r}")
            except TheoryBenchError:
                raise TheoryBenchError(f"bounds of {k!r} ({lo:g}, {hi:g}) leave its declared range "
                                       f"({params[k].range_text()}); search inside it") from None
        if k in fixed:
            raise TheoryBenchError(f"parameter {k!r} is both searched (a bound) and held fixed: give it once")
    bounds = {k: (float(b[0]), float(b[1])) for k, b in bounds.items()}
    for k in log_scale:
        if k not in bounds:
            raise TheoryBenchError(f"log scale for {k!r}, which has no bound (searched: {', '.join(bounds)})")
    from .runner import _check_rounds, check_work, work_estimate
    steps = _check_rounds(steps, "steps")
    for name, v, lo in (("maxiter", maxiter, 1), ("popsize", popsize, 1)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < lo:
            raise TheoryBenchError(f"parameter {name!r} must be an integer >= {lo}, got {v!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed < 2**32:
        raise TheoryBenchError(f"parameter 'seed' must be an integer in [0, 2**32 - 1] (scipy's differential "
                               f"evolution), got {seed!r}")
    probe = make_problem(problem, **fixed, **{k: lo for k, (lo, hi) in bounds.items()})
    alg = get_algorithm(algorithm)
    from .algorithms import VARIANTS
    if len(VARIANTS.get(alg.name, ())) > 1:  # one name on several kernels: the one that runs this problem
        from .runner import algorithm_for
        alg = algorithm_for(alg, probe)
    settings = alg.resolve(hyper or {})
    evaluations = (maxiter + 1) * popsize * len(bounds)  # differential evolution's population per generation
    check_work(work_estimate([probe], [settings], steps) * evaluations, max_work,
               f"{evaluations} instances (maxiter + 1 generations x popsize x {len(bounds)} parameters) x "
               f"{steps} steps")
    from scipy.optimize import differential_evolution
    names = list(bounds)
    box = [(math.log10(bounds[k][0]), math.log10(bounds[k][1])) if k in log_scale else bounds[k] for k in names]
    evals = [0]
    history = []
    cache = {}

    def params_of(z):
        return {k: (10.0 ** v if k in log_scale else float(v)) for k, v in zip(names, z)}

    def objective(Z):
        try:
            return _objective(Z)
        except TheoryBenchError as e:
            raise _Stop(e) from None

    def _objective(Z):
        Z = np.atleast_2d(Z.T).T if Z.ndim == 1 else Z
        pop = Z.T  # (S, n_params)
        probs = [make_problem(problem, **fixed, **params_of(z)) for z in pop]
        rec, x, loss, gn, st = run_batch(alg, probs, [settings] * len(probs), [seed] * len(probs), steps,
                                         record=[])
        scores = np.array([_score(p, loss[i, -1], st[i, 0] >= 0) for i, p in enumerate(probs)])
        evals[0] += len(probs)
        for z, s in zip(pop, scores):
            cache[tuple(z)] = s
        history.append(float(scores.max()))
        return -scores  # differential_evolution minimises

    try:
        res = differential_evolution(objective, box, maxiter=maxiter, popsize=popsize, seed=seed, vectorized=True,
                                     updating="deferred", polish=False, tol=0.0)
    except _Stop as stop:  # an instance inside the box could not be built or run: say which and why
        raise stop.args[0] from None
    best = params_of(res.x)
    score = float(-res.fun)
    return {"params": best, "score": score, "diverged": score >= DIVERGED_SCORE, "evaluations": evals[0],
            "history": history, "problem": problem, "algorithm": alg.name, "hyper": settings, "steps": steps}
