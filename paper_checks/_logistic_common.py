"""Helpers shared by the separable-logistic paper modules (not a paper): batched runs that keep the
log-domain traces and the kernel's running statistics."""
import numpy as np

from theorybench import run_batch
from theorybench.algorithms import get_algorithm


class Runs:
    """The result of :func:`runs`: ``rec`` (recorded steps), ``w`` (C, n_rec, d), ``log_loss``
    (C, n_rec), ``log_grad_norm``, ``stats[name]`` (C,)."""

    def __init__(self, rec, w, log_loss, log_gn, stats):
        self.rec, self.w, self.log_loss, self.log_grad_norm, self.stats = rec, w, log_loss, log_gn, stats


def runs(algorithm, problems, settings, steps, record=None):
    """Run configuration c = (``problems[c]``, ``settings[c]``) for ``steps`` steps (rounds) through the
    logistic kernel (one ``prange`` call per data shape)."""
    alg = get_algorithm(algorithm)
    sets = [alg.resolve(s) for s in settings]
    extra = {}
    rec, x, loss, g, st = run_batch(alg, problems, sets, [0] * len(problems), int(steps), record=record,
                                    extra=extra)
    return Runs(rec, x, extra["traces"]["log_loss"], extra["traces"]["log_grad_norm"],
                {k: st[k] for k in st.names})


def horizon_note(stats):
    """A sentence on the float64 horizon for the evidence."""
    h = stats["horizon_step"]
    hit = h >= 0
    if not hit.any():
        return "float64 horizon not reached in any run"
    return (f"float64 horizon (eta ||grad F|| < 10 eps ||w||) reached in {int(hit.sum())}/{h.size} runs "
            f"(earliest step {int(h[hit].min())}); invariant checks stop there")


def log2_dense(T, per_octave=8):
    """Record steps: 0..min(T, 64) densely, then ``per_octave`` log-spaced points per octave up to T."""
    pts = np.unique(np.round(2.0 ** np.arange(0, np.log2(max(T, 2)) + 1e-9, 1.0 / per_octave)).astype(np.int64))
    return np.unique(np.concatenate([np.arange(min(T, 64) + 1), pts[pts <= T], [T]]))
