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

theorybench's global objective is ``f = (1/M) sum_m f_m`` with ``f_m = w_m sum_{k in shard m} ||x - p_k||^4``
(the vector-template family ``quartic-points``, below). Every client gets the weight ``w_m = M/n``, so that
``(1/M) sum_m f_m = (1/n) sum_j ||x - x_j||^4`` is the paper's f exactly; with equal shards (n divisible by
M, as in the paper) ``f_m`` is the mean over the shard, the authors' client loss. Shards are contiguous
(``numpy.array_split``: sizes differ by at most one when M does not divide n; the authors' code requires
equal shards).

Instance arrays (``theorybench.declare_vector``): ``pts`` (n x d, the points in shard order), ``start`` and
``count`` (M int64: client m holds rows ``start[m] .. start[m] + count[m] - 1``), ``weight`` (M: ``w_m``),
``x_star`` (d) and ``f_star``. Family ``quartic-points``: ``value``, ``grad``, ``client_grad`` (exact: the
instance has no noise model) and a ``safe_radius``; no trace statistic (``f - f*`` without cancellation is
:func:`excess` of the recorded iterates: a piece would cost a pass over the n points on every recorded round,
as much as f itself). The pieces add in the order of the engine's former ``POINTS4``
family (per client a left-to-right sum over its points, then over clients, divided by M), so the numbers
are those of the former generic kernel bit for bit (``tests/test_localgdj_vector.py``). The methods
``clip-localgdj`` and ``fedavg-gd`` (``theorybench.methods.localgdj_vector``) read these arrays for the
authors' minibatches.

Constants: ``x_star`` and ``f_star`` by Newton's method on ``grad f = 0`` (f is strictly convex: its Hessian
``(4/n) sum_j (||d_j||^2 I + 2 d_j d_j^T)``, ``d_j = x - x_j``, is positive definite unless all points
coincide), converged to machine precision; for d = 1 the authors also used Newton's method (their
``optimal_value``); for d > 1 they did not compute f* (their d = 100 curves show f itself).
"""
from functools import lru_cache
import math

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family
from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, register_problem

NAME = "quartic-points"
REFERENCE = "Demidovich et al., arXiv 2412.02781, fourth-order experiment (authors' script)"

ORDERS = ("norm", "value", "none")


# ------------------------------------------------------------------------------------------ the family

@njit(cache=True, inline="always")
def qp_client_value(i, x, pts, start, count, weight):
    """``f_i(x) = w_i sum_{k in shard i} ||x - p_k||^4`` (left-to-right sums, as the former ``POINTS4``)."""
    d = x.shape[0]
    v = 0.0
    for k in range(start[i], start[i] + count[i]):
        s = 0.0
        for j in range(d):
            t = x[j] - pts[k, j]
            s += t * t
        v += s * s
    return weight[i] * v


@njit(cache=True)
def qp_value(x, pts, start, count, weight):
    """``f(x) = (1/M) sum_i f_i(x)``."""
    M = start.shape[0]
    val = 0.0
    for i in range(M):
        val += qp_client_value(i, x, pts, start, count, weight)
    return val / M


@njit(cache=True, inline="always")
def qp_client_grad(i, x, out, pts, start, count, weight):
    """``grad f_i(x) = 4 w_i sum_{k in shard i} ||x - p_k||^2 (x - p_k)``."""
    d = x.shape[0]
    for j in range(d):
        out[j] = 0.0
    for k in range(start[i], start[i] + count[i]):
        s = 0.0
        for j in range(d):
            t = x[j] - pts[k, j]
            s += t * t
        for j in range(d):
            out[j] += 4.0 * weight[i] * s * (x[j] - pts[k, j])


@njit(cache=True)
def qp_grad(x, out, pts, start, count, weight):
    """``grad f(x) = (1/M) sum_i grad f_i(x)`` (each client's gradient summed first, as the former
    ``POINTS4``'s global gradient)."""
    M = start.shape[0]
    d = x.shape[0]
    tmp = np.empty(d)
    for j in range(d):
        out[j] = 0.0
    for i in range(M):
        qp_client_grad(i, x, tmp, pts, start, count, weight)
        for j in range(d):
            out[j] += tmp[j]
    for j in range(d):
        out[j] /= M


def safe_radius(problem):
    """``rho``: with ``max_j |x_j| < rho`` and ``B = max |p_kj|``, ``||x - p_k|| <= r = sqrt(d) (rho + B)``, so
    every client sum ``v_i <= n_i r^4``, ``|f| <= K r^4`` and ``||grad f|| <= 4 K r^3`` with ``K = max_i n_i
    max(w_i, 1)``; rho makes both (and every intermediate sum) at most 1e149, a decade under the divergence
    rule's 1e150."""
    a = problem.arrays
    K = float(np.max(a["count"] * np.maximum(a["weight"], 1.0)))
    B = float(np.abs(a["pts"]).max()) if a["pts"].size else 0.0
    r = min((1e149 / K) ** 0.25, (1e149 / (4.0 * K)) ** (1.0 / 3.0))
    return max(0.0, r / math.sqrt(problem.dim) - B)


FAMILY = declare_vector_family(VectorFamily(
    NAME, (NAME,), qp_value, qp_grad, client_grad=qp_client_grad, safe_radius=safe_radius,
    doc="f_i(x) = w_i sum_{k in shard i} ||x - p_k||^4, f = mean_i f_i (the paper's f with w_i = M/n)",
    reference=REFERENCE))


class QuarticPointsProblem(VectorProblem):
    """A ``quartic-points`` instance: the vector template's problem, plus each client's value ``f_i``."""

    def client_value(self, i, x):
        """``f_i(x) = w_i sum_{k in shard i} ||x - p_k||^4`` (noise-free)."""
        if not 0 <= int(i) < self.n_clients:
            raise TheoryBenchError(f"client index i must be in [0, {self.n_clients}), got {i}")
        a = self.arrays
        return float(qp_client_value(int(i), self._x(x), a["pts"], a["start"], a["count"], a["weight"]))


def points_arrays(pts, sizes, weights):
    """The instance arrays ``pts``, ``start``, ``count``, ``weight`` for contiguous shards of ``sizes`` rows."""
    sizes = np.asarray(sizes, dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    return {"pts": np.ascontiguousarray(pts, dtype=np.float64), "start": start, "count": sizes,
            "weight": np.broadcast_to(np.asarray(weights, dtype=np.float64), sizes.shape).copy()}


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
    """The points of a built ``quartic-points`` problem, in shard order (its array ``pts``; for an object
    without it, from its settings)."""
    arrays = getattr(problem, "arrays", None)
    if arrays and "pts" in arrays:
        return arrays["pts"]
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
], reference=REFERENCE)
def quartic_points(d, n_points, seed, box, order, clients, x0):
    """``f(x) = (1/n) sum_j ||x - x_j||^4``, ``x_j ~ U[-10, 10]^d`` (seed 0) sorted by norm, M = 10 contiguous
    shards, ``x0 = 100 * ones(d)``; client weights ``M/n`` so that ``mean_m f_m`` is the paper's f.

    Deterministic (family ``quartic-points``, exact gradients); the authors' minibatches of 8 points per local
    step are the algorithms' ``batch_size = 8``.
    """
    if clients > n_points:
        raise TheoryBenchError(f"parameter 'clients' ({clients}) must not exceed 'n_points' ({n_points})")
    if order == "value" and d != 1:
        raise TheoryBenchError("parameter 'order' = 'value' (the authors' earlier 1-D script) needs d = 1")
    pts = points(d, n_points, seed, box, order)
    sh = shards(n_points, clients)
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
        "client_weight": Constant(clients / n_points, "construction: w_m = M/n, so mean_m f_m = (1/n) sum_j "
                                  "||x - x_j||^4"),
    }
    arrays = points_arrays(pts, [stop - s for s, stop in sh], clients / n_points)
    arrays["x_star"] = np.atleast_1d(xs).astype(np.float64)
    arrays["f_star"] = float(fs)
    return QuarticPointsProblem(NAME, -1, np.zeros((clients, 0)), d, start, constants=consts, arrays=arrays,
                                family_name=NAME)


__all__ = ["quartic_points", "points", "points_of", "shards", "value", "gradient", "hessian", "excess", "FAMILY",
           "QuarticPointsProblem", "points_arrays", "safe_radius"]
