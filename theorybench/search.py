"""Counterexample search: the instance parameters on which an algorithm does worst at a fixed budget.

:func:`worst_instance` runs scipy's differential evolution over box-bounded parameters of a registered problem
family (a start coordinate ``x0`` counts as a parameter when the family declares one), with the algorithm's
hyperparameters held fixed. Each generation's whole population is one call of the batched kernel
(``vectorized=True``). The score of an instance is ``log10(f(x_T) - f*)`` (``f*`` the problem's constant
``f_star``, 0 when it has none); a run that overflows scores ``DIVERGED_SCORE`` (worse than any finite gap).
scipy is imported on first use."""
import math

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


def worst_instance(problem, algorithm, bounds, steps, hyper=None, fixed=None, maxiter=30, popsize=10, seed=0,
                   log_scale=()):
    """Search ``bounds`` (``{parameter: (low, high)}``, parameters of the problem family ``problem``) for the
    instance where ``algorithm`` (hyperparameters ``hyper``) ends worst after ``steps`` steps.

    fixed: problem parameters held fixed; log_scale: parameters searched on a log scale. Returns a dict
    with ``params`` (the worst instance found), ``score`` (its log10 gap; ``DIVERGED_SCORE`` if it
    overflowed), ``diverged``, ``evaluations`` and ``history`` (best score per generation)."""
    from scipy.optimize import differential_evolution
    fam = get_problem_family(problem)
    declared = {p.name for p in fam.params}
    for k, (lo, hi) in bounds.items():
        if k not in declared:
            raise TheoryBenchError(f"parameter {k!r} is not a parameter of problem {problem!r} "
                                   f"(it has {', '.join(sorted(declared))})")
        if not lo < hi or (k in log_scale and lo <= 0):
            raise TheoryBenchError(f"bounds of {k!r} must satisfy low < high (and low > 0 on a log scale), "
                                   f"got ({lo}, {hi})")
    alg = get_algorithm(algorithm)
    from .algorithms import VARIANTS
    if len(VARIANTS.get(alg.name, ())) > 1:  # one name on several kernels: the one that runs this problem
        from .runner import algorithm_for
        alg = algorithm_for(alg, fam.build())
    settings = alg.resolve(hyper or {})
    names = list(bounds)
    box = [(math.log10(bounds[k][0]), math.log10(bounds[k][1])) if k in log_scale else bounds[k] for k in names]
    evals = [0]
    history = []
    cache = {}

    def params_of(z):
        return {k: (10.0 ** v if k in log_scale else float(v)) for k, v in zip(names, z)}

    def objective(Z):
        Z = np.atleast_2d(Z.T).T if Z.ndim == 1 else Z
        pop = Z.T  # (S, n_params)
        probs = [make_problem(problem, **dict(fixed or {}), **params_of(z)) for z in pop]
        rec, x, loss, gn, st = run_batch(alg, probs, [settings] * len(probs), [seed] * len(probs), steps,
                                         record=[])
        scores = np.array([_score(p, loss[i, -1], st[i, 0] >= 0) for i, p in enumerate(probs)])
        evals[0] += len(probs)
        for z, s in zip(pop, scores):
            cache[tuple(z)] = s
        history.append(float(scores.max()))
        return -scores  # differential_evolution minimises

    res = differential_evolution(objective, box, maxiter=maxiter, popsize=popsize, seed=seed, vectorized=True,
                                 updating="deferred", polish=False, tol=0.0)
    best = params_of(res.x)
    score = float(-res.fun)
    return {"params": best, "score": score, "diverged": score >= DIVERGED_SCORE, "evaluations": evals[0],
            "history": history, "problem": problem, "algorithm": alg.name, "hyper": settings, "steps": steps}
