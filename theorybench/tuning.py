"""Tuning protocols as sweeps: a grid of hyperparameters x seeds, a selection metric on each run's
recorded losses, the selected configuration (recorded in a claim's evidence)."""
import numpy as np

from .runner import sweep


def tail_percentile(values, fraction=0.1, q=0.9):
    """A tuning metric along the last axis of ``values`` (recorded losses in round order): sort the last
    ``max(1, round(fraction k))`` values and take element ``min(round(q n), n - 1)`` (the Amplified
    SCAFFOLD authors' "90th percentile of the last 10%"); a non-finite value there (divergence) is +inf."""
    v = np.asarray(values, dtype=np.float64)
    n = max(1, int(round(fraction * v.shape[-1])))
    tail = np.where(np.isfinite(v[..., -n:]), v[..., -n:], np.inf)
    return np.sort(tail, axis=-1)[..., min(int(round(q * n)), n - 1)]


def tune(problem, algorithm, grid, *, seeds, rounds, record, metric=tail_percentile, problem_settings=None,
         **fixed):
    """Run ``grid`` (``{hyperparameter: values}``) x ``seeds`` and select the configuration with the smallest
    mean over seeds of ``metric(losses at the rounds in record)``.

    Returns ``dict(best, score, scores, configs, sweep)``: ``best`` the selected hyperparameters, ``scores``
    the mean-over-seeds metric of every configuration in grid order, ``configs`` the configurations.
    """
    record = np.asarray(record, dtype=np.int64)
    sw = sweep(problem, algorithm, grid=grid, seeds=seeds, rounds=rounds, record=record,
               problem_settings=problem_settings, **fixed)
    keep = np.isin(sw.rounds, record)
    scores = metric(sw.loss[..., keep]).mean(axis=-1)
    names = [d for d in sw.dims if d != "seed"]
    configs = [{k: sw.coords[k][i] for k, i in zip(names, idx)} for idx in np.ndindex(*scores.shape)]
    flat = scores.ravel()
    k = int(np.argmin(np.where(np.isfinite(flat), flat, np.inf)))
    return {"best": configs[k], "score": float(flat[k]), "scores": flat.tolist(), "configs": configs, "sweep": sw}
