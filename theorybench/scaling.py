"""Scaling-law measurements: rounds (or iterations) to reach a target over a grid of a parameter, with a
fitted exponent and a confidence interval over seeds, and one-sided verdicts on the exponent.

Reusable by every family: the configurations are (problem, validated settings) pairs run through the
batched kernels, and the crossing round is a running statistic computed inside the kernel every round
(``first_below_target``: ``||grad f(x_r)|| <= eps``; ``first_average_below_target``:
``(1/(r+1)) sum_{s <= r} ||grad f(x_s)|| <= eps``, the metric of the nonconvex rate theorems)."""
import numpy as np

from .algorithms import get_algorithm
from .measure import fit_power_law
from .runner import run_batch


def crossing_rounds(algorithm, configs, seeds, rounds, target, statistic="first_average_below_target"):
    """Rounds at which each configuration first meets ``target``, shape ``(len(configs), len(seeds))``;
    NaN where it never does within ``rounds``.

    configs: ``[(problem, settings_dict), ...]`` (settings are validated against the algorithm);
    target: a number or one per configuration. For the running-average statistic each run stops at its
    crossing (a negative target tells the kernel so), which makes long horizons cheap.
    """
    alg = get_algorithm(algorithm)
    if configs:
        from .runner import algorithm_for
        alg = algorithm_for(alg, configs[0][0])
    seeds = list(seeds)
    probs, sets, sds, tg = [], [], [], []
    targets = np.broadcast_to(np.asarray(target, dtype=float), (len(configs),))
    for (p, s), t in zip(configs, targets):
        st = alg.resolve(s)
        for sd in seeds:
            probs.append(p)
            sets.append(st)
            sds.append(sd)
            tg.append(-t if statistic == "first_average_below_target" else t)
    rec, x, loss, g, stats = run_batch(alg, probs, sets, sds, rounds, record=[rounds], targets=tg)
    r = stats[statistic].reshape(len(configs), len(seeds))
    return np.where(r >= 0, r, np.nan)


def scaling_exponent(xs, values, level=0.95):
    """Fit ``values ~ C xs^p`` per seed (``values``: ``(len(xs), n_seeds)``) and return the mean exponent
    with a t-interval over seeds (see :func:`theorybench.measure.fit_power_law`). Seeds with a NaN
    (never reached) are dropped and counted in ``censored``."""
    V = np.asarray(values, dtype=float).T  # (n_seeds, len(xs))
    ok = np.isfinite(V).all(axis=1)
    fit = fit_power_law(xs, V[ok], level) if ok.any() else {"slope": np.nan, "lo": np.nan, "hi": np.nan,
                                                             "per_seed": []}
    fit["censored"] = int((~ok).sum())
    return fit


def no_worse_than(fit, predicted, tol, worse="above"):
    """One-sided verdict for an upper-bound rate: the fitted exponent is *no worse* than ``predicted``
    unless its confidence interval lies entirely beyond ``predicted + tol`` (``worse="above"``, e.g.
    iterations vs N with predicted -1: linear speedup or better) or below ``predicted - tol``
    (``worse="below"``, e.g. rounds vs eps with predicted -3: rounds may grow at most like eps^-3).
    A fit with censored seeds (a run that never reached the target) is not "no worse"."""
    if not np.isfinite(fit["slope"]) or fit.get("censored", 0) > 0:
        return False
    if worse == "above":
        return not bool(fit["lo"] > predicted + tol)
    if worse == "below":
        return not bool(fit["hi"] < predicted - tol)
    raise ValueError(f"worse must be 'above' or 'below', got {worse!r}")
