"""Separable logistic-regression data sets (Wu, Bartlett, Telgarsky, Yu, COLT 2024; Crawshaw, Liu,
COLT 2026; Crawshaw, Woodworth, Liu, ICML 2025; conventions: docs/conventions.md, section "Separable
logistic regression").

Every data set is given as points ``x_i`` with labels ``y_i`` and folded into ``z_i = y_i x_i``; the
objective is the **mean** logistic loss ``F(w) = (1/n) sum_i log(1 + exp(-<w, z_i>))`` (per client for
Local GD: ``F = (1/M) sum_m F_m``). Every data set takes ``normalize``: ``raw`` (the points as given) or
``unit`` (divided by ``max_i ||x_i||`` so that ``||x_i|| <= 1``, as the theorems assume); each claim says
which it uses.

Constants (``Problem.constants``):
    margin  gamma = max_{||w|| = 1} min_i <w, z_i>, exact, from the hard-margin SVM through the origin
            ``min ||v||^2 s.t. <v, z_i> >= 1`` (a QP solved with scipy's SLSQP and polished on its active
            set): ``w* = v/||v||``, ``gamma = 1/||v||`` [numerical; 2-D cross-check on an angle grid in tests]
    w_star  the unit max-margin direction
    scale   max_i ||x_i|| of the raw data (1 for ``unit``)
"""
from dataclasses import dataclass, field
from functools import lru_cache
import math
import os
import zipfile

import numpy as np

from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

NORMALIZE = Param("normalize", "raw", "raw: the points as given; unit: divided by max ||x_i|| (||x_i|| <= 1)",
                  kind="choice", choices=("raw", "unit"))


# ------------------------------------------------------------------ the margin (a QP)

def max_margin(Z, tol=1e-13):
    """Exact hard-margin direction through the origin of the folded points ``Z`` (rows ``z_i``).

    Returns ``(gamma, w_star)`` with ``gamma = max_{||w||=1} min_i <w, z_i>`` and unit ``w_star``;
    ``gamma <= 0`` (and ``w_star`` = the best direction found) when the data are not separable through
    the origin. The QP ``min ||v||^2/2 s.t. Z v >= 1`` is solved by SLSQP, then polished: on the active
    set A (constraints within 1e-7 of equality) v solves the KKT system ``v = Z_A^T alpha, Z_A v = 1``.
    Data far from unit scale is solved on ``Z 2^-e`` (exact) and gamma scaled back; when the QP still
    overflows (a margin near the float64 floor, e.g. points of sizes 1e308 and 1), the feasible direction of
    the start heuristic is returned and its margin is a lower bound on gamma.
    """
    from scipy.optimize import minimize
    Z = np.asarray(Z, dtype=np.float64)
    n, d = Z.shape
    top = float(np.max(np.abs(Z))) if Z.size else 0.0
    if top > 0 and not SAFE_LOW <= top <= SAFE_HIGH:
        # gamma is positively homogeneous and w* scale-free: solve on Z 2^-e (exact: a power of two) so that
        # the QP's squares neither overflow nor underflow, and scale gamma back
        e = math.frexp(top)[1]
        gamma, w = max_margin(np.ldexp(Z, -e), tol)
        return math.ldexp(gamma, e), w
    # separability and a feasible start: the LP-free heuristic w = mean direction, then SLSQP on the angle
    w0 = Z.mean(axis=0)
    w0 = w0 / max(np.linalg.norm(w0), 1e-300)
    g0 = float(np.min(Z @ w0))
    if g0 <= 0:
        res0 = minimize(lambda w: -np.min(Z @ w) / max(np.linalg.norm(w), 1e-300),
                        Z.mean(axis=0) + 1e-3, method="Nelder-Mead",
                        options={"xatol": 1e-12, "fatol": 1e-14, "maxiter": 20000})
        w0 = res0.x / np.linalg.norm(res0.x)
        g0 = float(np.min(Z @ w0))
    if g0 <= 0:
        # try SLSQP on max t s.t. Z w >= t, ||w|| <= 1
        cons = [{"type": "ineq", "fun": lambda x: Z @ x[:d] - x[d], "jac": lambda x: np.hstack([Z, -np.ones((n, 1))])},
                {"type": "ineq", "fun": lambda x: 1.0 - x[:d] @ x[:d], "jac": lambda x: np.hstack([-2 * x[:d], [0.0]])}]
        r = minimize(lambda x: -x[d], np.append(w0, g0), jac=lambda x: np.append(np.zeros(d), -1.0),
                     constraints=cons, method="SLSQP", options={"ftol": 1e-15, "maxiter": 1000})
        w = r.x[:d] / max(np.linalg.norm(r.x[:d]), 1e-300)
        g = float(np.min(Z @ w))
        if g <= 0:
            return g, w
        w0, g0 = w, g
    # a margin near the float64 floor (points of very different sizes) overflows ||v||^2 = 1/gamma^2:
    # then the QP's answer is not finite, and the heuristic's feasible direction is kept (its margin
    # is a lower bound on gamma)
    with np.errstate(all="ignore"):
        v0 = w0 / g0
        cons = [{"type": "ineq", "fun": lambda v: Z @ v - 1.0, "jac": lambda v: Z}]
        r = minimize(lambda v: 0.5 * v @ v, v0, jac=lambda v: v, constraints=cons, method="SLSQP",
                     options={"ftol": 1e-16, "maxiter": 2000})
        v = r.x
        # polish on the active set
        for _ in range(5):
            act = np.flatnonzero(Z @ v - 1.0 < 1e-7)
            if act.size == 0:
                break
            ZA = Z[act]
            alpha, *_ = np.linalg.lstsq(ZA @ ZA.T, np.ones(act.size), rcond=None)
            v_new = ZA.T @ alpha
            if np.min(Z @ v_new) >= 1.0 - 1e-12 and np.all(alpha >= -1e-12):
                v = v_new
            break
        gamma = 1.0 / np.linalg.norm(v)
        w = v * gamma
        g = float(min(gamma, np.min(Z @ w)))
    if not (math.isfinite(g) and np.isfinite(w).all() and g >= 0.5 * g0):
        return g0, w0
    return g, w


# data whose largest |entry| lies outside [SAFE_LOW, SAFE_HIGH] is rescaled (by a power of two, or by its
# largest entry) before squares are taken: its squared norms would overflow or underflow float64
SAFE_LOW, SAFE_HIGH = 2.0**-450, 2.0**450


def row_norms(A):
    """``||a_i||`` of the rows of ``A`` without overflow or underflow in the squares (each row divided by
    its largest |entry| first when that lies outside [SAFE_LOW, SAFE_HIGH]); ``inf`` only when the norm
    itself exceeds the float64 range."""
    A = np.asarray(A, dtype=np.float64)
    top = float(np.max(np.abs(A))) if A.size else 0.0
    if top == 0 or SAFE_LOW <= top <= SAFE_HIGH:
        return np.linalg.norm(A, axis=1)
    m = np.max(np.abs(A), axis=1)
    safe = np.where(m > 0, m, 1.0)
    with np.errstate(over="ignore"):
        return m * np.linalg.norm(A / safe[:, None], axis=1)


def margin_angle_grid(Z, points=200001):
    """2-D cross-check: ``max`` over a grid of angles of ``min_i <(cos t, sin t), z_i>``."""
    t = np.linspace(-np.pi, np.pi, points)
    W = np.stack([np.cos(t), np.sin(t)], axis=1)
    m = np.min(np.asarray(Z) @ W.T, axis=0)
    k = int(np.argmax(m))
    return float(m[k]), W[k]


# ------------------------------------------------------------------ the problem object

@dataclass
class LogisticProblem(Problem):
    """A logistic data problem: ``Z[m, :counts[m]]`` are client m's folded points ``z_i = y_i x_i``.

    ``margin`` and ``wstar`` are gamma and w* of the data as run (after normalisation), used by the
    kernel's invariant checks."""
    Z: np.ndarray = None
    counts: np.ndarray = None
    margin: float = 0.0
    wstar: np.ndarray = None

    def all_points(self):
        """All folded points, shape (n, d)."""
        return np.concatenate([self.Z[m, :self.counts[m]] for m in range(self.Z.shape[0])])

    def log_value(self, w, loss="logistic"):
        """``log F(w)`` (mean over each client, then over clients), stable."""
        from scipy.special import logsumexp
        w = self._x(w)
        terms = []
        M = self.Z.shape[0]
        for m in range(M):
            a = self.Z[m, :self.counts[m]] @ w
            le = -a if loss == "exp" else np.log(np.logaddexp(0.0, -a)) if np.all(a < 18.4) else \
                np.where(a < 18.4, np.log(np.logaddexp(0.0, -np.minimum(a, 18.4))), -a - 0.5 * np.exp(-a))
            terms.append(le - math.log(self.counts[m]) - math.log(M))
        return float(logsumexp(np.concatenate(terms)))

    def value(self, x):
        return math.exp(self.log_value(x))

    def grad(self, x):
        from scipy.special import expit
        w = self._x(x)
        M = self.Z.shape[0]
        g = np.zeros(self.dim)
        for m in range(M):
            Zm = self.Z[m, :self.counts[m]]
            g -= (expit(-(Zm @ w)) @ Zm) / (self.counts[m] * M)
        return g


# the exact margin is a QP whose SLSQP solve grows faster than quadratically with the points (about 8 s
# for 1000 points, 40 s for 2000, on this project's machines): larger sets are refused (duplicate points
# are merged first, which does not change the margin) unless the caller skips the QP
QP_MAX_POINTS = 1500
QP_MAX_SIZE = 10**6       # points x dimension
QP_DEDUPLICATE = 256      # above this many points, duplicates are merged before the QP


def make_logistic(name, clients, normalize="raw", constants=None, w0=None, known_margin=None, skip_qp_hint=""):
    """Build a :class:`LogisticProblem` from ``clients``: a list of arrays of folded points (one per client).

    Normalisation divides by the largest ``||x_i||`` over all clients (overflow-safe: points of norm up
    to the float64 range and beyond are divided by their largest entry first). The margin and w* are
    computed on the normalised data (all clients pooled). known_margin: ``(gamma, w*)`` known from the
    construction (the QP is skipped), or ``"heuristic"``: the mean direction's margin, a lower bound.
    A QP too large to solve in seconds is refused; skip_qp_hint: how the caller skips it (named in the
    error)."""
    clients = [np.atleast_2d(np.asarray(c, dtype=np.float64)) for c in clients]
    d = clients[0].shape[1]
    if any(c.shape[1] != d for c in clients):
        raise TheoryBenchError("every client's points must have the same dimension")
    if any(c.shape[0] == 0 for c in clients):
        raise TheoryBenchError("every client needs at least one point")
    allz = np.concatenate(clients)
    if not np.isfinite(allz).all():
        raise TheoryBenchError("data points must be finite")
    scale = float(np.max(row_norms(allz)))
    if normalize == "unit":
        if scale == 0:
            raise TheoryBenchError("cannot normalise: every point is 0")
        if SAFE_LOW <= scale <= SAFE_HIGH:
            clients = [c / scale for c in clients]
            allz = allz / scale
        else:  # divide by the largest |entry| first: x / max||x|| neither overflows nor underflows
            top = float(np.max(np.abs(allz)))
            s1 = float(np.max(np.linalg.norm(allz / top, axis=1)))
            clients = [(c / top) / s1 for c in clients]
            allz = (allz / top) / s1
    elif not math.isfinite(scale):
        raise TheoryBenchError(f"data points with norms beyond the float64 range (max ||x_i|| > {np.finfo(float).max:.3g}) "
                               "cannot be used raw: take normalize=unit (divides by max ||x_i||)")
    nmax = max(c.shape[0] for c in clients)
    Z = np.zeros((len(clients), nmax, d))
    for m, c in enumerate(clients):
        Z[m, :c.shape[0]] = c
    if known_margin is None:
        pts = np.unique(allz, axis=0) if allz.shape[0] > QP_DEDUPLICATE else allz
        if pts.shape[0] > QP_MAX_POINTS or pts.size > QP_MAX_SIZE:
            raise TheoryBenchError(
                f"problem {name!r}: the exact margin is a QP over {pts.shape[0]} distinct points in {d} dimensions, "
                f"more than this package solves (at most {QP_MAX_POINTS} points and {QP_MAX_SIZE:.0e} "
                f"points x dimensions; about 8 s at 1000 points, growing faster than quadratically): "
                + (skip_qp_hint or "take fewer points"))
        gamma, wstar = max_margin(pts)
        src = "numerical: hard-margin SVM QP (scipy SLSQP, active-set polish)"
    elif isinstance(known_margin, str) and known_margin == "heuristic":
        wstar = allz.mean(axis=0)
        nrm = float(np.linalg.norm(wstar))
        wstar = wstar / nrm if nrm > 0 else wstar
        gamma = float(np.min(allz @ wstar)) if nrm > 0 else 0.0
        src = "heuristic: the margin of the mean direction, a lower bound (the QP was skipped)"
    else:  # (lower bound, direction) known from the construction: skips the QP (large sweeps)
        gamma, wstar = known_margin
        gamma = gamma / (scale if normalize == "unit" else 1.0)
        src = "construction: a lower bound on the margin (the QP was skipped)"
    consts = {"margin": Constant(gamma, src),
              "scale": Constant(scale if normalize == "raw" else 1.0, "max ||x_i|| of the data as run"),
              "raw_scale": Constant(scale, "max ||x_i|| of the raw data"),
              "n": Constant(float(allz.shape[0]), "count")}
    consts.update(constants or {})
    p = LogisticProblem(name, -1, np.zeros((len(clients), 1)), d, np.zeros(d) if w0 is None else w0,
                        constants=consts, Z=Z, counts=np.array([c.shape[0] for c in clients], dtype=np.int64),
                        margin=max(gamma, 0.0), wstar=wstar if gamma > 0 else None)
    p.constants["w_star"] = Constant(wstar, "numerical: hard-margin SVM QP")
    return p


# ------------------------------------------------------------------ the instances

WBTY_TOY_X = np.array([[1.0, 0.2], [-2.0, 0.2], [-1.0, -0.2], [2.0, -0.2]])
WBTY_TOY_Y = np.array([1.0, 1.0, -1.0, -1.0])


def wbty_toy_points():
    """WBTY's toy data [text]: (1, 0.2) +1, (-2, 0.2) +1, (-1, -0.2) -1, (2, -0.2) -1, folded."""
    return WBTY_TOY_X * WBTY_TOY_Y[:, None]


@register_problem("wbty-toy", [NORMALIZE], reference="Wu, Bartlett, Telgarsky, Yu, COLT 2024, Fig. 1")
def wbty_toy(normalize):
    """WBTY toy: four points, w* = (0, 1), gamma = 0.2 on the raw data (max ||x|| = sqrt(4.04) > 1)."""
    return make_logistic("wbty-toy", [wbty_toy_points()], normalize)


def wbty_lower_points(gamma):
    """WBTY lower-bound set [text]: ``x_1 = (gamma, sqrt(1-gamma^2))``, ``x_2 = (gamma, -sqrt(1-gamma^2)/2)``, y = +1."""
    s = math.sqrt(1 - gamma * gamma)
    return np.array([[gamma, s], [gamma, -s / 2]])


@register_problem("wbty-lower", [Param("gamma", 0.05, "margin parameter (0 < gamma < 0.1)", low=0.0, high=0.1,
                                       low_open=True, high_open=True), NORMALIZE],
                  reference="Wu, Bartlett, Telgarsky, Yu, COLT 2024, lower bound")
def wbty_lower(gamma, normalize):
    """WBTY lower-bound set (two points, ||x_i|| <= 1)."""
    return make_logistic("wbty-lower", [wbty_lower_points(gamma)], normalize)


def cl31_points(gamma, n):
    """CL Lemma 3.1 set [text]: ``x_1 = (gamma, -gamma)``, ``x_i = (gamma, sqrt(1-gamma^2))`` (i >= 2); w* = e1."""
    X = np.tile([gamma, math.sqrt(1 - gamma * gamma)], (n, 1))
    X[0] = [gamma, -gamma]
    return X


@register_problem("cl-lemma31", [Param("gamma", 0.1, "margin (<= 1/6)", low=0.0, high=1 / 6, low_open=True),
                                 Param("n", 6, "points (>= 6)", kind="int", low=6, high=10**6), NORMALIZE],
                  reference="Crawshaw, Liu, COLT 2026, Lemma 3.1 (time until classification)")
def cl_lemma31(gamma, n, normalize):
    """CL Lemma 3.1 ("time until classification"); w* = e1, margin gamma."""
    return make_logistic("cl-lemma31", [cl31_points(gamma, n)], normalize)


def cl32_lambda(n, eta):
    """``lambda = log(1/(exp(2n/(k eta)) - 1))`` with ``k = ceil(n/2)`` (stable: ``-log(expm1(.))``)."""
    k = math.ceil(n / 2)
    return -math.log(math.expm1(2 * n / (k * eta)))


def cl32_delta(gamma, n, eta):
    """delta* of CL Lemma 3.2: the smaller root of ``delta^2 + b' delta + c = 0`` with
    ``b' = -(n/k - 1) sqrt(1-gamma^2)`` and ``c = (n/k) gamma^2 - (2n/(eta k)) (lambda - 1)``, computed as
    ``2c/(b + sqrt(b^2 - 4c))`` with ``b = -b'`` (no cancellation). Raises if there is no real root."""
    k = math.ceil(n / 2)
    lam = cl32_lambda(n, eta)
    b = (n / k - 1) * math.sqrt(1 - gamma * gamma)
    c = (n / k) * gamma * gamma - (2 * n / (eta * k)) * (lam - 1)
    disc = b * b - 4 * c
    if disc < 0:
        raise TheoryBenchError(f"CL Lemma 3.2 set: no real delta* for gamma={gamma}, n={n}, eta={eta} "
                               "(eta too small: take eta >= eta_1 = max(n, (32/gamma^2) log(3/gamma)))")
    if c == 0:
        return 0.0
    return 2 * c / (b + math.sqrt(disc))


def cl32_points(gamma, n, eta):
    """CL Lemma 3.2 set [text]: k = ceil(n/2) copies of ``v_1 = (gamma, -delta*)``, n - k of ``v_2 = (gamma, sqrt(1-gamma^2))``."""
    k = math.ceil(n / 2)
    dl = cl32_delta(gamma, n, eta)
    X = np.tile([gamma, math.sqrt(1 - gamma * gamma)], (n, 1))
    X[:k] = [gamma, -dl]
    return X


def cl_eta1(gamma, n):
    """``eta_1 = max(n, (32/gamma^2) log(3/gamma))`` (CL lower bounds)."""
    return max(n, 32 / gamma**2 * math.log(3 / gamma))


def cl_eta0(gamma, n):
    """``eta_0 = max(n, (32/gamma^2) log(256/gamma^2))`` (CL Thm 2.1)."""
    return max(n, 32 / gamma**2 * math.log(256 / gamma**2))


@register_problem("cl-lemma32", [Param("gamma", 0.1, "margin (<= 1/6)", low=0.0, high=1 / 6, low_open=True),
                                 Param("n", 2, "points (>= 2)", kind="int", low=2, high=10**6),
                                 Param("eta", None, "the stepsize the set is built for (auto: eta_1)"),
                                 NORMALIZE],
                  reference="Crawshaw, Liu, COLT 2026, Lemma 3.2 (time until stability)")
def cl_lemma32(gamma, n, eta, normalize):
    """CL Lemma 3.2 ("time until stability"), built for the stepsize ``eta`` (delta* depends on it)."""
    eta = cl_eta1(gamma, n) if eta is None else eta
    return make_logistic("cl-lemma32", [cl32_points(gamma, n, eta)], normalize,
                         {"delta_star": Constant(cl32_delta(gamma, n, eta), "closed form (stable root)"),
                          "eta_built_for": Constant(eta, "parameter")})


def random_points(d, n, gamma, seed):
    """Random set [text]: ``<x_i, e1> = gamma``, orthogonal part uniform in the (d-1)-ball of radius
    ``sqrt(1-gamma^2)`` (direction Gaussian normalised, radius ``r u^(1/(d-1))``), labels +1; NumPy
    ``default_rng(seed)``. For d = 1 every point is ``(gamma,)``."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, d))
    X[:, 0] = gamma
    if d > 1:
        g = rng.standard_normal((n, d - 1))
        g /= np.linalg.norm(g, axis=1, keepdims=True)
        r = math.sqrt(1 - gamma * gamma) * rng.random(n) ** (1.0 / (d - 1))
        X[:, 1:] = g * r[:, None]
    return X


@register_problem("logistic-random", [
    Param("d", 2, "dimension", kind="int", low=1, high=10**4),
    Param("n", 0, "points (0: n = d, as in CL Fig. 2)", kind="int", low=0, high=10**6),
    Param("gamma", 0.1, "margin along e1 (unstated in CL; 0.1 reproduces its figure)", low=0.0, high=1.0,
          low_open=True),
    Param("data_seed", 0, "data seed (numpy default_rng)", kind="int", low=0, high=2**62), NORMALIZE,
    Param("exact_margin", "yes", "yes: gamma and w* from the QP; no: the construction's (gamma, e1), a lower "
          "bound on the margin (for large sweeps that do not use it)", kind="choice", choices=("yes", "no"))],
    reference="Crawshaw, Liu, COLT 2026, Fig. 2")
def logistic_random(d, n, gamma, data_seed, normalize, exact_margin):
    """Seeded random d-dimensional separable set (the exact margin is >= gamma, from the QP)."""
    return _random_cached(d, n, gamma, data_seed, normalize, exact_margin)


@lru_cache(maxsize=8192)
def _random_cached(d, n, gamma, seed, normalize, exact_margin):
    if (n or d) * d > MAX_POINT_VALUES:
        raise TheoryBenchError(f"problem 'logistic-random' with d = {d} and n = {n or d} would hold "
                               f"{(n or d) * d:.3g} numbers ({8 * (n or d) * d / 2**30:.3g} GiB), more than "
                               f"{MAX_POINT_VALUES:.0e}: take fewer points or dimensions")
    X = random_points(d, n or d, gamma, seed)
    e1 = np.zeros(d)
    e1[0] = 1.0
    return make_logistic("logistic-random", [X], normalize,
                         known_margin=None if exact_margin == "yes" else (gamma, e1),
                         skip_qp_hint="pass exact_margin=no (the construction's margin gamma along e1, a lower bound)")


MAX_POINT_VALUES = 10**8  # a generated data set holds at most this many numbers (0.75 GiB)


def two_client_points(gamma, delta):
    """Two-client Local GD instance [derived]: client 1 ``(gamma, sqrt(1-gamma^2))``, client 2 ``(gamma, -delta)``."""
    return [np.array([[gamma, math.sqrt(1 - gamma * gamma)]]), np.array([[gamma, -delta]])]


@register_problem("logistic-two-client", [
    Param("gamma", 0.1, "margin component along e1", low=0.0, high=1.0, low_open=True),
    Param("delta", 0.5, "client 2's orthogonal component (0.5 or 0.1)", low=-1.0, high=1.0),
    Param("separable", "yes", "no: client 2's label flipped onto client 1's point (non-separable control)",
          kind="choice", choices=("yes", "no")), NORMALIZE],
    reference="Crawshaw, Woodworth, Liu, ICML 2025 (DERIVED instance)")
def logistic_two_client(gamma, delta, separable, normalize):
    """Two clients with one point each (DERIVED; the symmetric choice is degenerate). ``separable=no``
    adds to client 2 the point ``-x_1`` (client 1's point with the opposite label): not separable."""
    c1, c2 = two_client_points(gamma, delta)
    if separable == "no":
        c2 = np.vstack([c2, -c1])
        c1 = np.vstack([c1, c1])
    return make_logistic("logistic-two-client", [c1, c2], normalize)


# ------------------------------------------------------------------ user data

def load_points(path):
    """Load points and labels from a CSV (rows ``x_1, ..., x_d, y``; a first line with no number in it is a
    header and is skipped; blank lines are skipped) or a ``.npy`` array of the same layout (or ``.npz``
    with arrays ``X`` (n x d) and ``y`` (n)). Labels must be +-1 (0/1 labels are mapped to -1/+1).
    Returns folded points ``z_i = y_i x_i``. Every malformed file is refused with a
    :class:`TheoryBenchError` that names the file and what is wrong (line and column for a CSV)."""
    where = f"parameter 'data' ({path!r})"
    if os.path.isdir(path):
        raise TheoryBenchError(f"{where} is a folder; give a CSV, .npy or .npz file of points and labels")
    if not os.path.exists(path):
        raise TheoryBenchError(f"parameter 'data': no such file {path!r}")
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npz":
            with np.load(path, allow_pickle=False) as f:
                missing = [k for k in ("X", "y") if k not in f.files]
                if missing:
                    raise TheoryBenchError(
                        f"{where}: the archive has no array {' or '.join(map(repr, missing))} (it has "
                        f"{', '.join(map(repr, f.files)) or 'none'}); save it with np.savez(path, X=points, y=labels)")
                X, y = _real(f["X"], where, "X"), _real(f["y"], where, "y")
            if X.ndim != 2 or X.shape[1] < 1:
                raise TheoryBenchError(f"{where}: X must be 2-D (n points x d coordinates), got shape {X.shape}"
                                       + ("; for d = 1 save X.reshape(-1, 1)" if X.ndim == 1 else ""))
            if y.ndim != 1 or y.shape[0] != X.shape[0]:
                raise TheoryBenchError(f"{where}: y must hold one label per point ({X.shape[0]}), got shape "
                                       f"{y.shape}")
        elif ext == ".npy":
            A = _real(np.load(path, allow_pickle=False), where, "the array")
            if A.ndim != 2 or A.shape[1] < 2:
                raise TheoryBenchError(f"{where}: the array must be 2-D with rows (x_1, ..., x_d, y), d >= 1, "
                                       f"got shape {A.shape}")
            X, y = A[:, :-1], A[:, -1]
        else:
            A = _read_csv(path, where)
            X, y = A[:, :-1], A[:, -1]
    except TheoryBenchError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile) as e:  # not what its name says
        raise TheoryBenchError(f"{where}: cannot read it as {_KIND.get(ext, 'a CSV file')} ({_why(e)})") from None
    if X.shape[0] == 0:
        raise TheoryBenchError(f"{where}: no points in it")
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1) | ~np.isfinite(y))
    if bad.size:
        raise TheoryBenchError(f"{where}: point {bad[0] + 1} (of {X.shape[0]}) has a value that is not finite "
                               f"(nan or inf); {bad.size} such points")
    labels = set(np.unique(y).tolist())
    if labels <= {0.0, 1.0}:
        y = 2 * y - 1
    elif not labels <= {-1.0, 1.0}:
        wrong = sorted(labels - {-1.0, 1.0, 0.0})[:5]
        row = int(np.flatnonzero(np.isin(y, wrong))[0]) + 1
        raise TheoryBenchError(f"{where}: labels (the last column) must be +-1 or 0/1, got "
                               f"{', '.join(f'{v:g}' for v in sorted(labels)[:6])} (e.g. point {row}: {y[row - 1]:g})")
    return X * y[:, None]


_KIND = {".npz": "a NumPy .npz archive", ".npy": "a NumPy .npy array"}


def _why(e):
    text = str(e).splitlines()[0] if str(e) else type(e).__name__
    if "pickle" in text:
        return "not a plain numeric array: object arrays and pickles are not loaded"
    return text[:200]


def _real(A, where, name):
    A = np.asarray(A)
    if A.dtype.kind not in "biuf":
        raise TheoryBenchError(f"{where}: {name} must hold real numbers, got dtype {A.dtype}")
    return A.astype(np.float64)


def _read_csv(path, where):
    """Rows of numbers separated by commas, all of the same length (>= 2): checked line by line, so that
    an error names the line and the column; a first line without any number is a header."""
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError:
        raise TheoryBenchError(f"{where}: not a text (UTF-8) CSV file; a NumPy array needs the .npy or "
                               ".npz extension") from None
    rows, width, seen, header = [], None, False, None
    for i, line in enumerate(lines, 1):
        text = line.split("#", 1)[0].strip()
        if not text:
            continue
        cells = [c.strip() for c in text.split(",")]
        if not seen and not any(_is_number(c) for c in cells):
            seen, header = True, (i, text)  # the first line, a header
            continue
        seen = True
        if width is None:
            width = len(cells)
            if width < 2:
                raise TheoryBenchError(f"{where}: line {i} has {width} field; rows must be x_1, ..., x_d, y "
                                       "(d >= 1), separated by commas")
            first_row = i
        elif len(cells) != width:
            raise TheoryBenchError(f"{where}: line {i} has {len(cells)} fields, line {first_row} has {width}; "
                                   "every row must be x_1, ..., x_d, y")
        for j, c in enumerate(cells, 1):
            if not _is_number(c):
                raise TheoryBenchError(f"{where}: line {i}, column {j}: {c!r} is not a number")
        rows.append([float(c) for c in cells])
    if not rows:
        skipped = f"; line {header[0]} ({header[1][:40]!r}) has no number and was read as a header" if header else ""
        raise TheoryBenchError(f"{where}: no data rows (rows x_1, ..., x_d, y separated by commas){skipped}")
    return np.array(rows, dtype=np.float64)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


@register_problem("logistic-data", [
    Param("data", "", "a CSV (x_1..x_d, y per row) or .npy/.npz file of points and labels", kind="str"),
    Param("clients", 1, "split the points into this many contiguous clients", kind="int", low=1, high=10**6),
    Param("normalize", "unit", "raw or unit (divide by max ||x_i||)", kind="choice", choices=("raw", "unit")),
    Param("exact_margin", "yes", "yes: gamma and w* from the QP (at most 1500 distinct points); no: the mean "
          "direction's margin, a lower bound (any size)", kind="choice", choices=("yes", "no"))],
    reference="a user's data set")
def logistic_data(data, clients, normalize, exact_margin):
    """A user's data set from a file (``-p data=path.csv``); normalised to ``||x|| <= 1`` by default."""
    if not data:
        raise TheoryBenchError("parameter 'data' must name a CSV or .npy file of points and labels")
    Z = load_points(data)
    if clients > Z.shape[0]:
        raise TheoryBenchError(f"parameter 'clients' must be in [1, {Z.shape[0]}] (the number of points)")
    return make_logistic("logistic-data", np.array_split(Z, clients), normalize,
                         known_margin=None if exact_margin == "yes" else "heuristic",
                         skip_qp_hint="pass -p exact_margin=no (the mean direction's margin, a lower bound)")
