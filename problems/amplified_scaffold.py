"""The Amplified SCAFFOLD synthetic instance (Crawshaw, Liu, NeurIPS 2024), as a vector-template family.

Paper's notation: N clients (even), iterate ``x = (x1, x2, x3, x4)`` in R^4, client objectives

    f_i(x) = mu/2 (x1 - c)^2 + H/2 (x2 - b2)^2 + H/8 (x3^2 + max(0, x3)^2) + a_i/4 x4^2 + s_i zeta x4,

``a_i = L, s_i = +1`` for even i and ``a_i = lambda, s_i = -1`` for odd i, ``b2 = sqrt(mu) c / sqrt(H)``,
``f = (1/N) sum_i f_i``; stochastic gradients add ``N(0, sigma^2)`` to coordinate x3 only. The definition,
the noise model and the logged objective are read in the authors' synthetic-experiment script ([code]);
the defaults N = 2, H = 16, lambda = 1, zeta = 16, sigma = 1, c = 1, mu = 1, L = 2 are the synthetic
experiment's (the paper's and the script's).

Family ``amplified-scaffold-synthetic`` (``theorybench.declare_vector``), instance arrays ``mu``, ``c``,
``H``, ``b2``, ``zeta``, ``extra = (L + lambda)/8``, ``sigma`` (numbers), ``a``, ``s`` (per client, length N),
``noise_mask`` (length 4: 1 on the noisy coordinate x3) and ``xstar = b* = (c, b2, 0, 0)``:

* ``value``: the authors' logged objective ``mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2)
  + (L+lambda)/4 x4^2``, computed as ``mean_i f_i(x) + extra x4^2`` (its x4 term is twice that of
  ``mean_i f_i``; the linear terms cancel for even N);
* ``grad``: ``grad (mean_i f_i)`` (the sum over clients in order from 0, then divided by N);
* ``client_grad``: ``grad f_i``;
* noise ``gaussian``: ``theorybench.rng.noise(gaussian, sigma, seed, i, k d + j)`` added to each coordinate j
  with ``noise_mask[j] != 0`` of client i's k-th draw (the counters of the engine's federated kernels).

The arithmetic is written term by term as the engine's former ``ASYNTH`` family evaluated it, so the
trajectories are bit-identical to that kernel's (``tests/test_scaffold_vector.py``).
"""
import math

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family
from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, register_problem
from theorybench.rng import NOISE_GAUSSIAN, noise

NAME = "amplified-scaffold-synthetic"
DIM = 4
NOISY_COORD = 2  # x3 (0-based 2) is the only noisy coordinate


@njit(cache=True, inline="always")
def asynth_client_value(i, x, mu, c, H, b2, a, s, zeta):
    """``f_i(x) = mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + a_i/4 x4^2 + s_i zeta x4``."""
    x3p = max(0.0, x[2])
    return (0.5 * mu * (x[0] - c) ** 2 + 0.5 * H * (x[1] - b2) ** 2
            + H / 8.0 * (x[2] * x[2] + x3p * x3p) + 0.25 * a[i] * x[3] * x[3] + s[i] * zeta * x[3])


@njit(cache=True)
def asynth_value(x, mu, c, H, b2, a, s, zeta, extra):
    """The authors' logged objective: ``(1/N) sum_i f_i(x) + extra x4^2`` with ``extra = (L + lambda)/8``."""
    n = a.shape[0]
    val = 0.0
    for i in range(n):
        val += asynth_client_value(i, x, mu, c, H, b2, a, s, zeta)
    val /= n
    val += extra * x[3] * x[3]
    return val


@njit(cache=True, inline="always")
def asynth_client_grad(i, x, out, mu, c, H, b2, a, s, zeta):
    """``grad f_i(x) = (mu (x1-c), H (x2-b2), H/4 (x3 + max(0,x3)), a_i/2 x4 + s_i zeta)``."""
    out[0] = mu * (x[0] - c)
    out[1] = H * (x[1] - b2)
    out[2] = H / 4.0 * (x[2] + max(0.0, x[2]))
    out[3] = 0.5 * a[i] * x[3] + s[i] * zeta


@njit(cache=True)
def asynth_grad(x, out, mu, c, H, b2, a, s, zeta):
    """``grad f(x) = (1/N) sum_i grad f_i(x)`` (per coordinate: the sum over i in order from 0.0, then / N)."""
    n = a.shape[0]
    for j in range(4):
        out[j] = 0.0
    for i in range(n):
        out[0] += mu * (x[0] - c)
        out[1] += H * (x[1] - b2)
        out[2] += H / 4.0 * (x[2] + max(0.0, x[2]))
        out[3] += 0.5 * a[i] * x[3] + s[i] * zeta
    for j in range(4):
        out[j] /= n


@njit(cache=True, inline="always")
def asynth_gaussian(out, seed, stream, counter, sigma, noise_mask):
    """``out[j] += z_j`` on the coordinates with ``noise_mask[j] != 0``, ``z_j ~ N(0, sigma^2)``:
    ``theorybench.rng.noise(gaussian, sigma, seed, stream, counter d + j)`` (0 when sigma = 0)."""
    d = out.shape[0]
    for j in range(d):
        if noise_mask[j] != 0.0:
            out[j] += noise(NOISE_GAUSSIAN, sigma, seed, stream, counter * d + j)


def safe_radius(problem):
    """``rho``: while ``max_j |x_j| < rho``, ``|f(x)|`` and ``||grad f(x)||`` stay below 1e149 (the family's
    sums included). With ``M = max(mu, H, a_i, extra)`` every quadratic coefficient is at most M, so with
    ``R = 2 (rho + max_j |b*_j|) >= ||x - b*||`` (d = 4): ``|f| <= 2 M R^2 + zeta R`` and ``||grad f|| <=
    2 (M R + zeta)`` (the clients' terms s_i zeta x4 need not cancel in floating point). R is chosen with
    each part at most a quarter of 1e149; 0 (evaluate every round) when the instance is out of range."""
    A = problem.arrays
    M = max(A["mu"], A["H"], float(np.max(A["a"])), A["extra"])
    zeta = abs(A["zeta"]) * float(np.max(np.abs(A["s"])))
    bmax = float(np.max(np.abs(A["xstar"])))
    q = 0.25e149
    if not (np.isfinite(M) and M > 0.0 and np.isfinite(zeta) and zeta < q and np.isfinite(bmax)):
        return 0.0
    R = min(math.sqrt(q / (2.0 * M)), q / (2.0 * M), q / zeta if zeta > 0.0 else math.inf)
    return max(0.0, R / 2.0 - bmax)


FAMILY = declare_vector_family(VectorFamily(
    NAME, (NAME,), asynth_value, asynth_grad, client_grad=asynth_client_grad,
    noises={"gaussian": asynth_gaussian}, target_stat="grad_norm", safe_radius=safe_radius,
    doc="f_i(x) = mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + a_i/4 x4^2 + s_i zeta x4; value: "
        "the authors' logged objective (x4 term (L+lambda)/4 x4^2)",
    reference="Crawshaw, Liu, NeurIPS 2024, synthetic experiment (authors' script)"))


class AmplifiedScaffoldProblem(VectorProblem):
    """A :class:`VectorProblem` of the family above that also gives each client's value ``f_i(x)``."""

    def client_value(self, i, x):
        """``f_i(x)`` (module docstring)."""
        A = self.arrays
        return float(asynth_client_value(int(i), self._x(x), A["mu"], A["c"], A["H"], A["b2"], A["a"], A["s"],
                                         A["zeta"]))


def asynth_arrays(mu, c, H, b2, a, s, zeta, extra, sigma, noisy=(NOISY_COORD,)):
    """The instance arrays (module docstring) from the paper's quantities; ``a``, ``s``: per client."""
    mask = np.zeros(DIM)
    mask[list(noisy)] = 1.0
    return {"mu": float(mu), "c": float(c), "H": float(H), "b2": float(b2), "a": np.asarray(a, dtype=np.float64),
            "s": np.asarray(s, dtype=np.float64), "zeta": float(zeta), "extra": float(extra),
            "sigma": float(sigma), "noise_mask": mask, "xstar": np.array([c, b2, 0.0, 0.0])}


def asynth_instance(name, arrays, x0=None, constants=None, settings=None, noise="gaussian"):
    """An :class:`AmplifiedScaffoldProblem` from :func:`asynth_arrays` (tests build variants this way)."""
    n = int(np.asarray(arrays["a"]).shape[0])
    return AmplifiedScaffoldProblem(name, -1, np.zeros((n, 0)), DIM, np.zeros(DIM) if x0 is None else x0,
                                    noise=noise, sigma=float(arrays["sigma"]), constants=dict(constants or {}),
                                    settings=dict(settings or {}), noise_coords=(NOISY_COORD,), arrays=arrays,
                                    family_name=NAME)


def asynth_rows(N, H, lam, zeta, c, mu, L):
    """The instance as the ``(N, 8)`` parameter rows ``[mu, c, H, b2, a_i, s_i, zeta, extra]`` of the engine's
    former ``ASYNTH`` family (``a_i = L, s_i = +1`` for even i, ``lambda, -1`` for odd i, ``b2 = sqrt(mu) c /
    sqrt(H)``, ``extra = (L + lambda)/8``): kept for the tests and the benchmark that compare with it."""
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    extra = (L + lam) / 8.0
    return np.array([[mu, c, H, b2, L if i % 2 == 0 else lam, 1.0 if i % 2 == 0 else -1.0, zeta, extra]
                     for i in range(N)])


def logged_objective(x, H, lam, c, mu, L):
    """The authors' logged objective (their ``obj``), vectorised over leading axes of ``x (..., 4)``:
    ``mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + (L+lambda)/4 x4^2``."""
    x = np.asarray(x, dtype=np.float64)
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    x3p = np.maximum(0.0, x[..., 2])
    return (0.5 * mu * (x[..., 0] - c) ** 2 + 0.5 * H * (x[..., 1] - b2) ** 2
            + 0.125 * H * (x[..., 2] ** 2 + x3p ** 2) + 0.25 * (L + lam) * x[..., 3] ** 2)


@register_problem(NAME, [
    Param("N", 2, "number of clients (even: half of them are of each kind)", kind="int", low=2, high=10**6),
    Param("H", 16.0, "curvature of coordinates 2 and 3", low=0.0, low_open=True),
    Param("lambda", 1.0, "coefficient a_i of the odd clients' x4^2/4 term", low=0.0, low_open=True),
    Param("zeta", 16.0, "heterogeneity: the linear term s_i zeta x4 (s_i = +1 even, -1 odd clients)", low=0.0),
    Param("sigma", 1.0, "noise: N(0, sigma^2) added to the gradient's coordinate 3 only", low=0.0),
    Param("c", 1.0, "x1's minimiser"),
    Param("mu", 1.0, "curvature of coordinate 1", low=0.0, low_open=True),
    Param("L", 2.0, "coefficient a_i of the even clients' x4^2/4 term", low=0.0, low_open=True),
], reference="Crawshaw, Liu, NeurIPS 2024, synthetic experiment (authors' script)")
def amplified_scaffold_synthetic(**s):
    """Amplified SCAFFOLD's synthetic instance in d = 4 (Crawshaw, Liu, NeurIPS 2024, [code]):

    ``f_i(x) = mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + a_i/4 x4^2 + s_i zeta x4``,
    ``a_i = L, s_i = +1`` for even i, ``a_i = lambda, s_i = -1`` for odd i, ``b2 = sqrt(mu) c/sqrt(H)``;
    stochastic gradients add ``N(0, sigma^2)`` to coordinate 3 only. Start ``x0 = 0``.

    Logged objective: the authors log ``mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2)
    + (L+lambda)/4 x4^2``, whose x4 term is twice that of ``mean_i f_i`` (the linear terms cancel for
    even N). ``loss`` is this logged form (the array ``extra = (L+lambda)/8`` adds the difference);
    ``grad_norm`` is ``||grad (mean_i f_i)||``. Both vanish at ``b* = (c, b2, 0, 0)``.
    The authors' script asserts ``lambda <= mu <= H/16`` (true for the defaults); other values are
    allowed here.
    """
    N, H, lam, zeta, sigma, c, mu, L = (s[k] for k in ("N", "H", "lambda", "zeta", "sigma", "c", "mu", "L"))
    if N % 2:
        raise TheoryBenchError(f"parameter 'N' of problem {NAME!r} must be even (half the clients of each kind), "
                               f"got {N}")
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    consts = {
        "x_star": Constant([c, b2, 0.0, 0.0], "closed form: grad (mean f_i) = (mu(x1-c), H(x2-b2), "
                           "H/4 (x3 + max(0,x3)), (L+lambda)/4 x4) vanishes only there; the authors' 'best'"),
        "f_star": Constant(0.0, "closed form: the logged objective is a sum of squares, 0 at x_star"),
        "f_x0": Constant(float(logged_objective(np.zeros(DIM), H, lam, c, mu, L)),
                         "closed form: mu c^2/2 + H b2^2/2 = mu c^2 at x0 = 0"),
        "b2": Constant(b2, "paper/code: b2 = sqrt(mu) c / sqrt(H)"),
        "smoothness": Constant(max(mu, H, L / 2, lam / 2),
                               "closed form: Hess f_i = diag(mu, H, H/4 or H/2, a_i/2)"),
        "strong_convexity": Constant(min(mu, H / 4, (L + lam) / 4),
                                     "closed form: smallest curvature of mean_i f_i (x3 < 0 side: H/4)"),
        "heterogeneity_at_optimum": Constant(zeta, "closed form: ||grad f_i(x_star)|| = zeta for every i"),
        "sigma": Constant(sigma, "paper: noise standard deviation (coordinate 3)"),
    }
    a = [L if i % 2 == 0 else lam for i in range(N)]
    sgn = [1.0 if i % 2 == 0 else -1.0 for i in range(N)]
    arrays = asynth_arrays(mu, c, H, b2, a, sgn, zeta, (L + lam) / 8.0, sigma)
    return asynth_instance(NAME, arrays, constants=consts)
