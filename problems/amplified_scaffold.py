"""The Amplified SCAFFOLD synthetic instance (Crawshaw, Liu, NeurIPS 2024).

d = 4, N clients (even), family ``ASYNTH``: client i's row is ``[mu, c, H, b2, a_i, s_i, zeta, extra]``.
The definition, the noise model and the logged objective are read in the authors' synthetic-experiment
script ([code]); the defaults N = 2, H = 16, lambda = 1, zeta = 16, sigma = 1, c = 1, mu = 1, L = 2 are the
synthetic experiment's (the paper's and the script's).
"""
import math

import numpy as np

from theorybench.errors import TheoryBenchError
from theorybench.families import ASYNTH
from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

DIM = 4
NOISY_COORD = 2  # x3 (0-based 2) is the only noisy coordinate


def asynth_rows(N, H, lam, zeta, c, mu, L):
    """The ``(N, 8)`` parameter array: ``a_i = L, s_i = +1`` for even i, ``a_i = lambda, s_i = -1`` for odd
    i, ``b2 = sqrt(mu) c / sqrt(H)``, ``extra = (L + lambda)/8``."""
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


@register_problem("amplified-scaffold-synthetic", [
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
    even N). ``loss`` is this logged form (row entry ``extra = (L+lambda)/8`` adds the difference);
    ``grad_norm`` is ``||grad (mean_i f_i)||``. Both vanish at ``b* = (c, b2, 0, 0)``.
    The authors' script asserts ``lambda <= mu <= H/16`` (true for the defaults); other values are
    allowed here.
    """
    N, H, lam, zeta, sigma, c, mu, L = (s[k] for k in ("N", "H", "lambda", "zeta", "sigma", "c", "mu", "L"))
    if N % 2:
        raise TheoryBenchError(f"parameter 'N' of problem 'amplified-scaffold-synthetic' must be even "
                               f"(half the clients of each kind), got {N}")
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
    return Problem("amplified-scaffold-synthetic", ASYNTH, asynth_rows(N, H, lam, zeta, c, mu, L), DIM,
                   np.zeros(DIM), noise="gaussian", sigma=sigma, constants=consts, noise_coords=(NOISY_COORD,))
