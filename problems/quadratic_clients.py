"""Heterogeneous quadratic clients for local training and compressed communication (vector template).

n clients, ``f_i(x) = 1/2 (x - c_i)^T A_i (x - c_i)`` on R^d, ``f = (1/n) sum_i f_i``, every ``A_i``
symmetric with spectrum in ``[mu, L]`` (``kappa = L/mu``), as in ProxSkip / Scaffnew (Mishchenko,
Malinovsky, Stich, Richtarik, ICML 2022) and DIANA (Mishchenko, Gorbunov, Takac, Richtarik 2019).

Construction (``-p data=`` empty): ``d = 2 m`` (``m = blocks``), block ``b`` holds coordinates ``2b, 2b+1``.
Every client has the same block eigenvalues ``lo_b = mu (kappa/s)^(b/(m-1))`` and ``hi_b = s lo_b``
(``s = spread``: block 0 is ``(mu, s mu)``, the last ``(L/s, L)``), rotated inside the block by its own angle
``theta_ib = theta0_b + pi i / n`` (``theta0_b`` uniform from the seed). Because the angles ``2 theta_ib``
are equally spaced over the circle, ``mean_i A_i`` is exactly ``(lo_b + hi_b)/2 I_2`` on block b, so the
global objective's condition number is **kappa_global = kappa / s** for ``n >= 2`` (``kappa`` for n = 1):
it grows like kappa, while each client's slow directions differ (communication matters). Minimisers
``c_i = zeta z_i``, ``z_i ~ N(0, I_d)`` from the seed (``zeta = 0``: homogeneous clients, ``x* = 0``).

``x* = (sum_i A_i)^{-1} sum_i A_i c_i`` (block-wise closed form here, a linear solve for a data file) and
``h_i* = grad f_i(x*) = A_i (x* - c_i)`` (``sum_i h_i* = 0``) are arrays of the instance.

Instance arrays: ``A`` (n, d, d), ``c`` (n, d), ``Abar = mean_i A_i``, ``xstar``, ``hstar`` (n, d),
``fstar``, ``L = max_i L_i``, ``mu = min_i mu_i``, ``sigma`` (the Gaussian noise's scale).
Family ``quadratic-clients``: ``value``, ``grad`` (``Abar (x - x*)``), ``client_grad``, noise ``gaussian``
(``N(0, sigma^2 I_d)`` added to a gradient), stats ``err2 = ||x - x*||^2`` and ``dist = ||x - x*||`` (the
target statistic).
"""
import math
import os

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family, smooth_safe_radius
from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, register_problem
from theorybench.rng import normal01

NAME = "quadratic-clients"


@njit(cache=True)
def qc_value(x, A, c):
    """``f(x) = (1/n) sum_i 1/2 (x - c_i)^T A_i (x - c_i)``."""
    n, d = c.shape
    tot = 0.0
    for i in range(n):
        for j in range(d):
            s = 0.0
            for k in range(d):
                s += A[i, j, k] * (x[k] - c[i, k])
            tot += 0.5 * (x[j] - c[i, j]) * s
    return tot / n


@njit(cache=True)
def qc_grad(x, out, Abar, xstar):
    """``grad f(x) = Abar (x - x*)`` (``Abar x* = mean_i A_i c_i``)."""
    d = x.shape[0]
    for j in range(d):
        s = 0.0
        for k in range(d):
            s += Abar[j, k] * (x[k] - xstar[k])
        out[j] = s


@njit(cache=True, inline="always")
def qc_client_grad(i, x, out, A, c):
    """``grad f_i(x) = A_i (x - c_i)``."""
    d = x.shape[0]
    for j in range(d):
        s = 0.0
        for k in range(d):
            s += A[i, j, k] * (x[k] - c[i, k])
        out[j] = s


@njit(cache=True, inline="always")
def qc_gaussian(out, seed, stream, counter, sigma):
    """``out += z``, ``z ~ N(0, sigma^2 I_d)`` (draw ``counter`` of ``stream``: counters ``d k .. d k + d - 1``)."""
    d = out.shape[0]
    for j in range(d):
        out[j] += sigma * normal01(seed, stream, counter * d + j)


@njit(cache=True)
def qc_err2(x, xstar):
    """``||x - x*||^2``."""
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - xstar[j]) ** 2
    return s


@njit(cache=True)
def qc_dist(x, xstar):
    """``||x - x*||``."""
    s = 0.0
    for j in range(x.shape[0]):
        s += (x[j] - xstar[j]) ** 2
    return math.sqrt(s)


FAMILY = declare_vector_family(VectorFamily(
    NAME, (NAME,), qc_value, qc_grad, client_grad=qc_client_grad, noises={"gaussian": qc_gaussian},
    stats=(("err2", qc_err2), ("dist", qc_dist)), target_stat="dist",
    safe_radius=lambda p: smooth_safe_radius(p.arrays["L"], p.arrays["xstar"], p.arrays["fstar"]),
    doc="f_i(x) = 1/2 (x - c_i)^T A_i (x - c_i), f = mean_i f_i",
    reference="Mishchenko, Malinovsky, Stich, Richtarik, ICML 2022 (ProxSkip); Mishchenko, Gorbunov, Takac, "
              "Richtarik 2019 (DIANA)"))


def block_instance(n, blocks, kappa, mu, spread, zeta, seed):
    """``(A, c, kappa_global)`` of the construction in the module docstring (NumPy)."""
    rng = np.random.default_rng(seed)
    m, d = blocks, 2 * blocks
    lo = mu * (kappa / spread) ** (np.arange(m) / (m - 1))
    hi = spread * lo
    theta0 = rng.uniform(0.0, np.pi, size=m)
    A = np.zeros((n, d, d))
    for i in range(n):
        for b in range(m):
            th = theta0[b] + np.pi * i / n
            R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
            A[i, 2 * b:2 * b + 2, 2 * b:2 * b + 2] = R @ np.diag([lo[b], hi[b]]) @ R.T
    A = 0.5 * (A + np.transpose(A, (0, 2, 1)))
    c = zeta * rng.standard_normal((n, d))
    return A, c, (kappa / spread if n >= 2 else kappa), lo, hi


def read_data(path):
    """``(A, c)`` from an ``.npz`` file with ``A`` (n x d x d, symmetric positive definite) and ``c`` (n x d)."""
    where = f"parameter 'data' of problem {NAME!r}"
    if not path.lower().endswith(".npz"):
        raise TheoryBenchError(f"{where}: {path!r} is not an .npz file (np.savez(FILE, A=..., c=...))")
    if not os.path.isfile(path):
        raise TheoryBenchError(f"{where}: no file {path!r}")
    try:
        with np.load(path, allow_pickle=False) as z:
            missing = [k for k in ("A", "c") if k not in z.files]
            if missing:
                raise TheoryBenchError(f"{where}: {path!r} lacks array(s) {missing} (it has {sorted(z.files)})")
            A, c = np.asarray(z["A"]), np.asarray(z["c"])
    except TheoryBenchError:
        raise
    except Exception as e:  # a truncated or foreign file
        raise TheoryBenchError(f"{where}: cannot read {path!r} as .npz ({type(e).__name__}: {e})") from None
    if A.dtype.kind not in "fiu" or c.dtype.kind not in "fiu":
        raise TheoryBenchError(f"{where}: A and c must be real arrays, got dtypes {A.dtype} and {c.dtype}")
    A, c = A.astype(np.float64), c.astype(np.float64)
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] < 1 or A.shape[1] < 1:
        raise TheoryBenchError(f"{where}: A must have shape (n, d, d) with n, d >= 1, got {A.shape}")
    if c.shape != A.shape[:2]:
        raise TheoryBenchError(f"{where}: c must have shape (n, d) = {A.shape[:2]}, got {c.shape}")
    if not (np.isfinite(A).all() and np.isfinite(c).all()):
        raise TheoryBenchError(f"{where}: A and c must be finite")
    asym = np.abs(A - np.transpose(A, (0, 2, 1))).max()
    if asym > 1e-12 * max(1.0, np.abs(A).max()):
        raise TheoryBenchError(f"{where}: A[i] must be symmetric (max |A_i - A_i^T| = {asym:.3g})")
    A = 0.5 * (A + np.transpose(A, (0, 2, 1)))
    ev = np.linalg.eigvalsh(A)
    if not ev.min() > 0:
        i = int(np.argmin(ev.min(axis=1)))
        raise TheoryBenchError(f"{where}: A[{i}] must be positive definite (smallest eigenvalue {ev.min():.3g})")
    return A, c


@register_problem(NAME, [
    Param("n", 4, "number of clients", kind="int", low=1, high=10**5),
    Param("blocks", 3, "number of 2x2 eigenvalue blocks (d = 2 blocks)", kind="int", low=2, high=5000),
    Param("kappa", 100.0, "condition number L/mu of every client (L = max_i L_i, mu = min_i mu_i)", low=1.0),
    Param("mu", 1.0, "smallest eigenvalue of the clients' Hessians", low=0.0, low_open=True),
    Param("spread", 2.0, "ratio s of the two eigenvalues inside a block (kappa_global = kappa/s)", low=1.0),
    Param("zeta", 1.0, "heterogeneity: c_i = zeta z_i, z_i ~ N(0, I) (0: homogeneous clients)", low=0.0),
    Param("sigma", 0.0, "noise: N(0, sigma^2 I_d) added to each stochastic gradient", low=0.0),
    Param("seed", 0, "seed of the rotations and the c_i", kind="int", low=0, high=2**63 - 1),
    Param("data", "", "an .npz file with A (n x d x d, symmetric positive definite) and c (n x d) instead of "
          "the construction (empty: the construction; with a file, n, blocks, kappa, mu, spread, zeta and seed are "
          "unused)", kind="str"),
], reference="Mishchenko, Malinovsky, Stich, Richtarik, ICML 2022 (ProxSkip), Section 5 / Appendix (quadratics)")
def quadratic_clients(n, blocks, kappa, mu, spread, zeta, sigma, seed, data):
    """n heterogeneous quadratic clients ``f_i(x) = 1/2 (x - c_i)^T A_i (x - c_i)`` (module docstring):
    the block construction with ``kappa_global = kappa / spread`` (n >= 2), or ``A``, ``c`` from ``data``."""
    if data:
        A, c = read_data(data)
        n, d = c.shape
        src = f"data file {os.path.basename(data)}"
    else:
        if kappa < spread:
            raise TheoryBenchError(f"parameter 'kappa' of problem {NAME!r} must be >= spread = {spread:g} (the "
                                   f"blocks' lower eigenvalues run from mu to L/spread), got {kappa:g}")
        A, c, kg, lo, hi = block_instance(n, blocks, kappa, mu, spread, zeta, seed)
        d = 2 * blocks
        src = "closed form"
    ev = np.linalg.eigvalsh(A)
    Abar = A.mean(axis=0)
    rhs = np.einsum("ijk,ik->j", A, c) / n
    if data:
        xstar = np.linalg.solve(Abar, rhs)
        evg = np.linalg.eigvalsh(Abar)
        kg = float(evg[-1] / evg[0])
        L_, mu_ = float(ev.max()), float(ev.min())
        kg_src = "numerical: eigenvalues of mean_i A_i"
    else:
        g = np.repeat(0.5 * (lo + hi), 2)  # mean_i A_i = diag(g) exactly (n >= 2)
        xstar = rhs / g if n >= 2 else np.linalg.solve(Abar, rhs)
        L_, mu_ = float(kappa * mu), float(mu)
        kg_src = ("closed form: mean_i A_i = (lo_b + hi_b)/2 I on block b (equally spaced angles 2 theta_ib), "
                  "so its condition number is (L/s)(1+s)/2 / (mu (1+s)/2) = kappa/s" if n >= 2 else
                  "closed form: one client, kappa")
    hstar = np.einsum("ijk,ik->ij", A, xstar[None, :] - c)
    fstar = float(qc_value(xstar, A, c))
    consts = {
        "x_star": Constant(xstar.tolist(), f"{src}: (sum_i A_i)^-1 sum_i A_i c_i"),
        "f_star": Constant(fstar, "f(x_star)"),
        "smoothness": Constant(L_, "L = max_i L_i (largest eigenvalue of the A_i)"),
        "strong_convexity": Constant(mu_, "mu = min_i mu_i (smallest eigenvalue of the A_i)"),
        "kappa": Constant(L_ / mu_, "L / mu"),
        "kappa_global": Constant(float(kg), kg_src),
        "sigma": Constant(sigma, "noise standard deviation per coordinate"),
    }
    arrays = {"A": A, "c": c, "Abar": Abar, "xstar": xstar, "hstar": hstar, "fstar": fstar, "L": L_, "mu": mu_,
              "sigma": float(sigma)}
    return VectorProblem(NAME, -1, np.zeros((n, 0)), d, np.ones(d), noise="gaussian" if sigma > 0 else "none",
                         sigma=sigma, constants=consts, arrays=arrays, family_name=NAME)
