"""The quartic federated instance of Demidovich et al. (arXiv 2412.02781).

From the authors' fourth-order script (``generate_data``, ``value``, ``gradient``, ``local_sgd_jump``) [code]:

* ``n = 1000`` points ``x_j ~ U[-10, 10]^d`` drawn by ``np.random.seed(0); np.random.uniform(-10, 10, (1000, d))``,
  sorted by Euclidean norm (``sorted(data, key=np.linalg.norm)``; an earlier 1-D version of the script sorted
  by value instead: ``order="value"``);
* ``f(x) = (1/n) sum_j ||x - x_j||^4`` (the authors' ``value`` is the mean over the points: this mean is the
  paper's "1/1000");
* M = 10 clients, client m holds the contiguous shard ``data[m n/M : (m+1) n/M]`` (heterogeneous clients:
  the shards are shells of increasing norm), client loss = the mean over its shard;
* ``x0 = 100 * ones(d)``, d in {1, 100}.

theorybench's global objective is ``f = (1/M) sum_m f_m``; the family ``POINTS4`` has
``f_m = c[0] sum_{k in shard m} ||x - p_k||^4``. Every client gets the weight ``c[0] = M/n``, so that
``(1/M) sum_m f_m = (1/n) sum_j ||x - x_j||^4`` is the paper's f exactly; with equal shards (n divisible by
M, as in the paper) ``f_m`` is the mean over the shard, the authors' client loss. Shards are contiguous
(``numpy.array_split``: sizes differ by at most one when M does not divide n; the authors' code requires
equal shards).

Constants: ``x_star`` and ``f_star`` by Newton's method on ``grad f = 0`` (f is strictly convex: its Hessian
``(4/n) sum_j (||d_j||^2 I + 2 d_j d_j^T)``, ``d_j = x - x_j``, is positive definite unless all points
coincide), converged to machine precision; for d = 1 the authors also used Newton's method (their
``optimal_value``); for d > 1 they did not compute f* (their d = 100 curves show f itself).
"""
from functools import lru_cache

import numpy as np

from theorybench.errors import TheoryBenchError
from theorybench.families import POINTS4
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

ORDERS = ("norm", "value", "none")


@lru_cache(maxsize=32)
def _points(d, n_points, seed, box, order):
    """The authors' points: ``RandomState(seed).uniform(-box, box, (n, d))`` (the same stream as their
    ``np.random.seed(seed); np.random.uniform(...)``), then ordered. Read-only array."""
    data = np.random.RandomState(seed).uniform(-box, box, (n_points, d))
    if order == "norm":
        idx = sorted(range(n_points), key=lambda k: np.linalg.norm(data[k]))  # the authors' sort key
        data = data[np.asarray(idx, dtype=np.int64)]
    elif order == "value":
        if d != 1:
            raise ValueError("order='value' (the authors' earlier 1-D script) needs d = 1")
        data = np.sort(data, axis=0)
    data = np.ascontiguousarray(data)
    data.setflags(write=False)
    return data


def points(d=1, n_points=1000, seed=0, box=10.0, order="norm"):
    """The points ``x_j`` (rows), in the order the clients' shards are cut from."""
    return _points(int(d), int(n_points), int(seed), float(box), str(order))


def shards(n_points, clients):
    """Index ranges of the contiguous shards ``[(start, stop), ...]`` (``numpy.array_split`` sizes)."""
    sizes = [len(a) for a in np.array_split(np.arange(n_points), clients)]
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    return [(int(s), int(s + z)) for s, z in zip(starts, sizes)]


def value(x, pts):
    """``f(x) = (1/n) sum_j ||x - x_j||^4`` (NumPy, for checks)."""
    diff = np.asarray(x, dtype=np.float64) - pts
    sq = np.sum(diff * diff, axis=1)
    return float(np.mean(sq * sq))


def gradient(x, pts):
    """``grad f(x) = (4/n) sum_j ||x - x_j||^2 (x - x_j)``."""
    diff = np.asarray(x, dtype=np.float64) - pts
    sq = np.sum(diff * diff, axis=1)
    return 4.0 * np.mean(sq[:, None] * diff, axis=0)


def hessian(x, pts):
    """``(4/n) sum_j (||d_j||^2 I + 2 d_j d_j^T)``, ``d_j = x - x_j``."""
    diff = np.asarray(x, dtype=np.float64) - pts
    sq = np.sum(diff * diff, axis=1)
    n, d = pts.shape
    return 4.0 * (np.mean(sq) * np.eye(d) + 2.0 * (diff.T @ diff) / n)


def excess(X, pts, x_star):
    """``f(x) - f(x*)`` without cancellation, for rows ``X`` (shape ``(..., d)``): with ``D_j = x* - x_j`` and
    ``h = x - x*``, ``||D_j + h||^4 - ||D_j||^4 = a_j (2 ||D_j||^2 + a_j)``, ``a_j = 2 D_j.h + ||h||^2``, averaged
    over j. (Subtracting the recorded ``f(x_r)`` and ``f*`` loses ~1e-13 f* to rounding; the residuals of
    the deterministic runs at small alpha are far below that.) NaN rows stay NaN."""
    X = np.asarray(X, dtype=np.float64)
    shape = X.shape[:-1]
    xs = np.atleast_1d(np.asarray(x_star, dtype=np.float64))
    H = X.reshape(-1, X.shape[-1]) - xs
    D = xs - pts
    DD = 2.0 * np.sum(D * D, axis=1)[:, None]
    out = np.empty(H.shape[0])
    chunk = max(1, 2**22 // max(1, pts.shape[0]))  # bounded memory for long lists of iterates
    with np.errstate(over="ignore", invalid="ignore"):
        for s in range(0, H.shape[0], chunk):
            h = H[s:s + chunk]
            a = 2.0 * (D @ h.T) + np.sum(h * h, axis=1)[None, :]
            out[s:s + chunk] = np.mean(a * (DD + a), axis=0)
    return out.reshape(shape)


def points_of(problem):
    """The points of a built ``quartic-points`` problem (from its settings)."""
    st = problem.settings
    return points(st["d"], st["n_points"], st["seed"], st["box"], st["order"])


@lru_cache(maxsize=32)
def _minimiser(d, n_points, seed, box, order):
    pts = points(d, n_points, seed, box, order)
    x = pts.mean(axis=0)
    steps = 0
    for steps in range(1, 201):
        step = np.linalg.solve(hessian(x, pts), gradient(x, pts))
        x = x - step
        if np.linalg.norm(step) <= 4 * np.finfo(float).eps * max(1.0, np.linalg.norm(x)):
            break
    g = gradient(x, pts)
    lam = np.linalg.eigvalsh(hessian(x, pts))
    return x, value(x, pts), float(np.linalg.norm(g)), float(lam[0]), float(lam[-1]), steps


@register_problem("quartic-points", [
    Param("d", 1, "dimension d (the paper: 1 and 100)", kind="int", low=1, high=10**4),
    Param("n_points", 1000, "number of points x_j (the authors': 1000)", kind="int", low=1, high=10**7),
    Param("clients", 10, "M: clients, each holding a contiguous shard of the ordered points", kind="int",
          low=1, high=10**6),
    Param("seed", 0, "seed of the points (np.random.seed(seed); the authors': 0)", kind="int", low=0,
          high=2**32 - 1),
    Param("box", 10.0, "points ~ U[-box, box]^d (the authors': 10)", low=0.0, low_open=True),
    Param("order", "norm", "order the shards are cut from: norm (the authors' script), value (their earlier "
          "1-D script, d = 1 only), none", kind="choice", choices=ORDERS),
    Param("x0", 100.0, "start point x0 = x0 * ones(d) (the authors': 100)"),
], reference="Demidovich et al., arXiv 2412.02781, fourth-order experiment (authors' script)")
def quartic_points(d, n_points, seed, box, order, clients, x0):
    """``f(x) = (1/n) sum_j ||x - x_j||^4``, ``x_j ~ U[-10, 10]^d`` (seed 0) sorted by norm, M = 10 contiguous
    shards, ``x0 = 100 * ones(d)``; client weights ``M/n`` so that ``mean_m f_m`` is the paper's f.

    Deterministic (family ``POINTS4``); the authors' minibatches of 8 points per local step are the
    algorithms' ``batch_size = 8``.
    """
    if clients > n_points:
        raise TheoryBenchError(f"parameter 'clients' ({clients}) must not exceed 'n_points' ({n_points})")
    if order == "value" and d != 1:
        raise TheoryBenchError("parameter 'order' = 'value' (the authors' earlier 1-D script) needs d = 1")
    pts = points(d, n_points, seed, box, order)
    sh = shards(n_points, clients)
    width = max(stop - start for start, stop in sh)
    params = np.zeros((clients, 2 + width * d))
    for m, (start, stop) in enumerate(sh):
        params[m, 0] = clients / n_points
        params[m, 1] = stop - start
        params[m, 2:2 + (stop - start) * d] = pts[start:stop].ravel()
    xs, fs, gres, lmin, lmax, its = _minimiser(d, n_points, seed, box, order)
    start = np.full(d, float(x0))
    consts = {
        "x_star": Constant(xs.tolist() if d > 1 else float(xs[0]),
                           f"numerical: Newton's method on grad f = 0 from the points' mean ({its} steps, "
                           f"|grad f(x*)| = {gres:.1e})"),
        "f_star": Constant(fs, "numerical: f(x_star), mean of ||x* - x_j||^4"),
        "hessian_eigs_at_x_star": Constant([lmin, lmax], "numerical: extreme eigenvalues of the Hessian at "
                                           "x_star (the server step 1/c0 is stable near x* iff c0 > lmax/2)"),
        "f_x0": Constant(value(start, pts), "numerical: f(x0)"),
        "grad_norm_x0": Constant(float(np.linalg.norm(gradient(start, pts))), "numerical: ||grad f(x0)||"),
        "shard_sizes": Constant([stop - s for s, stop in sh], "construction: contiguous shards"),
        "client_weight": Constant(clients / n_points, "construction: c[0] = M/n, so mean_m f_m = (1/n) sum_j "
                                  "||x - x_j||^4"),
    }
    return Problem("quartic-points", POINTS4, params, d, start, constants=consts)


__all__ = ["quartic_points", "points", "points_of", "shards", "value", "gradient", "hessian", "excess"]
