"""Plain NumPy reference of Clip-LocalGDJ and FedAvg with local steps on the quartic instance
(Demidovich et al., arXiv 2412.02781).

Written from the pseudocode (the paper's and the authors' ``local_sgd_jump``), not from the Numba kernel:
one Python loop over rounds, one over clients, one over local steps, NumPy arithmetic per step. It is the
oracle ``tests/test_localgdj.py`` holds ``theorybench.methods.localgdj_vector`` against.

Notation: M clients with shards ``P_m`` (rows are points), client loss ``f_m(x) = w sum_{p in P_m} ||x - p||^4``
(``w = M/n``, so that ``mean_m f_m = (1/n) sum_j ||x - x_j||^4``), tau local steps with stepsize alpha, server
step ``1/(c0 + c1 ||g_p||)``.

    Clip-LocalGDJ:  x_{p,0}^m = x_p;  x_{p,k+1}^m = x_{p,k}^m - alpha g_m(x_{p,k}^m)  (k < tau)
                    g_p = (sum_m (x_p - x_{p,tau}^m)) * (1/(alpha M tau))
                    x_{p+1} = x_p - g_p/(c0 + c1 ||g_p||)
    FedAvg:         x_{p+1} = (sum_m x_{p,tau}^m)/M

Sums are taken left to right (``np.cumsum(...)[-1]``), the order the kernel adds in, so that traces can be
compared bit for bit; ``g_m`` is the full gradient ``4 w sum_p ||x - p||^2 (x - p)`` or, with a batch size
b > 0, the minibatch estimate ``4 (w n_m / b) sum_{s < b} ||x - p_{i_s}||^2 (x - p_{i_s})`` with indices drawn
with replacement. Minibatch contract (shared with the kernel): index s of client m's k-th minibatch (k counts
local steps over the whole run) is ``floor(n_m u)``, ``u = rng.uniform01(seed, 2**41 + m, k b + s)``.
"""
import numpy as np

from theorybench import rng

MINIBATCH_STREAM = 2**41


def authors_points(d=1, n=1000, seed=0, box=10.0):
    """The authors' ``generate_data``: ``np.random.seed(seed); np.random.uniform(-10, 10, (n, d))``, sorted with
    ``key=np.linalg.norm`` (a private RandomState gives the same stream)."""
    data = np.random.RandomState(seed).uniform(-box, box, (n, d))
    return np.array(sorted(data, key=np.linalg.norm))


def authors_shards(data, M):
    """The authors' contiguous equal shards ``data[i n/M : (i+1) n/M]``."""
    per = len(data) // M
    return [data[i * per:(i + 1) * per] for i in range(M)]


def authors_value(x, batch):
    """The authors' ``value``: mean over the rows of ``||x - x_j||^4``."""
    diff = np.asarray(x, dtype=float) - batch
    sq = np.sum(diff ** 2, axis=1)
    return np.mean(sq ** 2)


def authors_gradient(x, batch):
    """The authors' ``gradient``: ``4 mean_j ||x - x_j||^2 (x - x_j)``."""
    diff = np.asarray(x, dtype=float) - batch
    sq = np.sum(diff ** 2, axis=1).reshape(-1, 1)
    return 4 * np.mean(sq * diff, axis=0)


def _seq_sum(a, axis=0):
    """Left-to-right sum along ``axis`` (starting from 0.0)."""
    a = np.asarray(a, dtype=float)
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis))
    return np.cumsum(a, axis=axis).take(-1, axis=axis)


def seq_norm(g):
    return float(np.sqrt(_seq_sum(g * g)))


def client_grad(x, shard, w):
    """``grad f_m(x) = 4 w sum_p ||x - p||^2 (x - p)``."""
    diff = x - shard
    sq = _seq_sum(diff * diff, axis=1)
    return _seq_sum(((4.0 * w) * sq)[:, None] * diff, axis=0)


def minibatch_indices(seed, m, k, b, n_m):
    u = np.array([rng.uniform01(seed, MINIBATCH_STREAM + m, k * b + s) for s in range(b)])
    return np.minimum((u * n_m).astype(np.int64), n_m - 1)


def minibatch_grad(x, shard, w, idx):
    """``4 (w n_m/b) sum_s ||x - p_{i_s}||^2 (x - p_{i_s})``."""
    b = len(idx)
    diff = x - shard[idx]
    sq = _seq_sum(diff * diff, axis=1)
    return _seq_sum(((4.0 * (w * len(shard) / b)) * sq)[:, None] * diff, axis=0)


def reference_run(algo, shards, w, x0, rounds, *, alpha, tau, c0=np.inf, c1=0.0, batch_size=0, seed=0,
                  counts=None):
    """Server iterates ``[x_0, ..., x_R]`` of ``algo`` (``"clip-localgdj"`` or ``"fedavg-gd"``).

    counts: optional dict receiving ``"clipped"`` (jumps with ``c1 ||g_p|| > c0``) and ``"jumps"``.
    """
    if algo not in ("clip-localgdj", "fedavg-gd"):
        raise ValueError(f"algo must be 'clip-localgdj' or 'fedavg-gd', got {algo!r}")
    M = len(shards)
    x = np.array(x0, dtype=float).reshape(-1)
    xs = [x.copy()]
    k_of = [0] * M
    clipped = jumps = 0
    for _ in range(rounds):
        finals = []
        for m in range(M):
            y = x.copy()
            for _ in range(tau):
                if batch_size > 0:
                    idx = minibatch_indices(seed, m, k_of[m], batch_size, len(shards[m]))
                    g = minibatch_grad(y, shards[m], w, idx)
                else:
                    g = client_grad(y, shards[m], w)
                k_of[m] += 1
                y = y - alpha * g
            finals.append(y)
        if algo == "clip-localgdj":
            g_p = _seq_sum(np.array([x - y for y in finals]), axis=0)
            g_p = g_p * (1.0 / (alpha * M * tau))
            gn = seq_norm(g_p)
            x = x - (1.0 / (c0 + c1 * gn)) * g_p
            clipped += bool(c1 * gn > c0)
            jumps += 1
        else:
            x = _seq_sum(np.array(finals), axis=0) / M
        xs.append(x.copy())
    if counts is not None:
        counts["clipped"], counts["jumps"] = clipped, jumps
    return np.array(xs)
