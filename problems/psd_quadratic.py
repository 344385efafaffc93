"""The PSD quadratic of the edge-of-stability thresholds (claim ES-3; Islamov, Crawshaw, Cohen, Gower, arXiv
2603.05002; Cohen et al., ICLR 2021): ``f(w) = 1/2 w^T H w`` with a seeded random spectrum (DERIVED
construction: the papers' quadratics were not readable), f* = 0.

Vector template (``theorybench.declare_vector``): the family ``psd-quadratic`` evaluates f and ``grad f = H w``
(pieces :func:`psdq_value`, :func:`psdq_grad`: the former steepest kernel's ``quadratic_loss_grad`` split in
two, the same operations in the same order). Its instance :class:`PSDQuadratic` holds the arrays

- ``H`` (d x d, symmetric PSD),
- ``layers`` (int64 rows ``(offset, rows, cols)``: the matrices ``W_l`` of the spectral methods, consecutive
  row-major pieces of w; here one ``m x d/m`` layer),
- ``blocks`` (int64 offsets ``0 = b_0 < ... < b_B = d``: the blocks of greedy block CD),

and the sizes ``rows = m``, ``cols = d/m`` (the matrix view). The methods that use the geometry
(``theorybench.methods.steepest_vector``) read ``layers`` and ``blocks`` by name, so they run on every
instance that has them (docs/conventions.md, section "Non-Euclidean geometry"). The instance also gives the
exact Hessian-vector products (``H v``) for the sharpness (``theorybench.sharpness``).
"""
import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family
from theorybench.errors import TheoryBenchError
from theorybench.params import Param
from theorybench.problem import Constant, register_problem

REFERENCE = "DERIVED (Islamov, Crawshaw, Cohen, Gower, arXiv 2603.05002: quadratic stability theory)"
SAFE_MARGIN = 1e149  # a decade under the divergence rule's 1e150


# ---------------------------------------------------------------- the family (vector template)

@njit(cache=True)
def psdq_value(x, H):
    """``f(w) = 1/2 w^T H w``: ``(1/2) sum_i w_i (sum_j H_ij w_j)``, in this order."""
    d = x.shape[0]
    f = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += H[i, j] * x[j]
        f += x[i] * acc
    return 0.5 * f


@njit(cache=True)
def psdq_grad(x, out, H):
    """``grad f(w) = H w`` (row sums in the order of :func:`psdq_value`)."""
    d = x.shape[0]
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += H[i, j] * x[j]
        out[i] = acc


def safe_radius(problem):
    """``rho`` with |f|, ||grad f|| < 1e149 while ``max_j |w_j| < rho``: with ``M = max_i sum_j |H_ij|``,
    ``|(H w)_i| <= M max_j |w_j|``, so ``||H w|| <= sqrt(d) M max|w_j|`` and ``|f| <= d M max|w_j|^2 / 2``
    (no eigensolver: O(d^2)); 0 (evaluate every step) when M is not finite."""
    H = problem.arrays["H"]
    M = float(np.abs(H).sum(axis=1).max())
    d = H.shape[0]
    if not np.isfinite(M):
        return 0.0
    if M == 0.0:
        return 1e150
    return float(min(SAFE_MARGIN / (np.sqrt(d) * M), np.sqrt(2.0 * SAFE_MARGIN / (d * M))))


FAMILY = declare_vector_family(VectorFamily(
    "psd-quadratic", ("psd-quadratic",), psdq_value, psdq_grad, safe_radius=safe_radius,
    doc="f(w) = 1/2 w^T H w (H symmetric PSD), with the geometry arrays layers (spectral methods) and blocks "
        "(greedy block CD)", reference=REFERENCE))


class PSDQuadratic(VectorProblem):
    """An instance of the family ``psd-quadratic`` (module docstring): arrays ``H``, ``layers``, ``blocks``;
    ``value`` / ``grad`` are the family's pieces, ``hvp`` is ``H v``."""

    @property
    def H(self):
        return self.arrays["H"]

    @property
    def layers(self):
        return self.arrays["layers"]

    @property
    def blocks(self):
        return self.arrays["blocks"]

    @property
    def layer_shapes(self):
        return [(int(a), int(b)) for _, a, b in self.layers]

    @property
    def block_sizes(self):
        return np.diff(self.blocks).tolist()

    def layer_list(self, x):
        """The layer matrices of ``x`` (views)."""
        x = np.asarray(x)
        return [x[o:o + a * b].reshape(a, b) for o, a, b in self.layers]

    def value_grad(self, x):
        """``(f(x), grad f(x))``."""
        return self.value(x), self.grad(x)

    def client_value(self, i, x):
        return self.value(x)

    def client_grad(self, i, x):
        return self.grad(x)

    def hvp(self, x, v):
        """``H v`` (the Hessian is constant)."""
        return self.H @ np.asarray(v, dtype=np.float64)

    def hvp_at(self, x):
        """``v -> H v``."""
        H = self.H
        return lambda v: H @ np.asarray(v, dtype=np.float64)


# ---------------------------------------------------------------- the instance

def psd_quadratic(d, seed=0, cond=10.0, lam_max=1.0):
    """``H = Q diag(lam) Q^T`` with eigenvalues log-spaced in ``[lam_max/cond, lam_max]`` (d = 1: ``lam_max``),
    Q Haar-random (seeded); f(w) = 1/2 w^T H w, f* = 0. DERIVED."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = np.logspace(np.log10(lam_max / cond), np.log10(lam_max), d) if d > 1 else np.array([lam_max])
    return (Q * lam) @ Q.T


def layer_table(shapes):
    """``layers`` rows ``(offset, rows, cols)`` of consecutive row-major matrices of the given shapes."""
    out, off = [], 0
    for (a, b) in shapes:
        out.append((off, a, b))
        off += a * b
    return np.asarray(out, dtype=np.int64)


@register_problem("psd-quadratic", [
    Param("d", 6, "dimension", kind="int", low=1, high=4096),
    Param("cond", 10.0, "condition number lambda_max/lambda_min of H", low=1.0),
    Param("lam_max", 1.0, "largest eigenvalue of H", low=0.0, low_open=True),
    Param("seed", 0, "seed of the eigenvectors (Haar) and of the default start", kind="int", low=0),
    Param("m", 0, "rows of the matrix view of w for the spectral methods (m x d/m; 0: the column d x 1)",
          kind="int", low=0, high=4096),
    Param("block", 1, "block size of greedy block CD (contiguous blocks; the last may be shorter)",
          kind="int", low=1, high=4096),
], reference=REFERENCE)
def psd_quadratic_problem(d, cond, lam_max, seed, m, block):
    """``f(w) = 1/2 w^T H w``, ``H = Q diag(lam) Q^T`` with eigenvalues log-spaced in ``[lam_max/cond,
    lam_max]``; default start a seeded random unit vector (all eigendirections present). DERIVED."""
    rows = d if m == 0 else m
    if d % rows:
        raise TheoryBenchError(f"parameter 'm' must divide d = {d} (the matrix view is m x d/m), got {m}")
    H = psd_quadratic(d, seed=seed, cond=cond, lam_max=lam_max)
    rng = np.random.default_rng(seed + 7)
    w0 = rng.normal(size=d)
    w0 /= np.linalg.norm(w0)
    blocks = np.unique(np.r_[np.arange(0, d, block), d]).astype(np.int64)
    S_block = max(np.linalg.eigvalsh(H[a:b, a:b])[-1] for a, b in zip(blocks[:-1], blocks[1:]))
    return PSDQuadratic(
        "psd-quadratic", -1, np.zeros((1, 0)), d, w0, constants={
            "f_star": Constant(0.0, "closed form"),
            "lambda_max": Constant(float(lam_max), "closed form (the construction)"),
            "S_block": Constant(float(S_block), "closed form: the block l1,2 ball's extreme points are unit vectors "
                                "inside one block, so S = max_b lambda_max(H_bb)"),
        }, arrays={"H": H, "layers": layer_table([(rows, d // rows)]), "blocks": blocks},
        dims={"rows": rows, "cols": d // rows}, family_name="psd-quadratic")
