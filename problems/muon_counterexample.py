"""The Muon counterexample (Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980):
``f(W) = c |W11 + W22| + |W11 - W22|`` on m x n matrices, convex and Lipschitz, f* = 0.

Parameters: ``c`` (0 < c < 1 in the paper; c > 1 is the MU-1 control), the subgradient tie rule ``tie``
(``sgn(0)`` in the oracle; +1 default, docs/conventions.md, section "Sign ties"), the shape ``m`` x ``n``
(default 2 x 2; the start ``--x0`` is W flattened row-major, ``W11 = x[0]``, ``W22 = x[n + 1]``).

Vector template (``theorybench.declare_vector``): the family ``muon-counterexample`` evaluates f and the
subgradient oracle (pieces :func:`muon_value`, :func:`muon_subgrad`); its instance
:class:`MuonProblem` holds the arrays ``c``, ``tie`` and ``mn = (m, n)`` (int64: the family finds W22 at
``x[mn[1] + 1]``) and the sizes ``rows = m``, ``cols = n`` (``dims``: the shapes of a method's matrix state,
``(("A", ("rows", "cols")),)``; the template reserves ``n`` for the number of clients). The oracle, as the
authors' code: ``G11 = c s1 + s2``, ``G22 = c s1 - s2``, every other entry 0, ``s1 = sgn(W11 + W22)``,
``s2 = sgn(W11 - W22)``, ``sgn(0) = tie``; ``grad`` is this subgradient, ``||grad f||`` its Frobenius norm.
The methods: ``theorybench.methods.muon_vector`` (bit-identical to the former Muon kernel, which evaluated
this objective inside the engine: ``tests/test_muon_vector.py``).
"""
import math

import numpy as np
from numba import njit

from theorybench.declare_vector import VectorFamily, VectorProblem, declare_vector_family
from theorybench.params import Param
from theorybench.problem import Constant, register_problem

REFERENCE = "Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980 (authors' code)"
SAFE_MARGIN = 1e149  # a decade under the divergence rule's 1e150


# ---------------------------------------------------------------- the family (vector template)

@njit(cache=True, inline="always")
def muon_sgn(v, tie):
    """``sgn(v)`` with ``sgn(0) = tie`` (the oracle's tie rule; NaN gives ``tie`` too, as in the former kernel)."""
    if v > 0.0:
        return 1.0
    if v < 0.0:
        return -1.0
    return tie


@njit(cache=True)
def muon_value(x, c, mn):
    """``f(W) = c |W11 + W22| + |W11 - W22|`` at ``W = x`` (row-major, ``mn = (m, n)``)."""
    n = mn[1]
    a = x[0]
    b = x[n + 1]
    return c * abs(a + b) + abs(a - b)


@njit(cache=True)
def muon_subgrad(x, out, c, tie, mn):
    """The oracle's subgradient G (row-major): ``G11 = c s1 + s2``, ``G22 = c s1 - s2``, 0 elsewhere."""
    n = mn[1]
    a = x[0]
    b = x[n + 1]
    s1 = muon_sgn(a + b, tie)
    s2 = muon_sgn(a - b, tie)
    for j in range(out.shape[0]):
        out[j] = 0.0
    out[0] = c * s1 + s2
    out[n + 1] = c * s1 - s2


def safe_radius(problem):
    """``rho`` with |f(W)|, ||G||_F < 1e149 while max_j |W_j| < rho: ``f <= (c + 1) 2 max_j |W_j|`` and
    ``||G||_F^2 = 2 c^2 s1^2 + 2 s2^2 <= 2 (c^2 + 1)`` (|tie| <= 1); 0 (evaluate every step) when
    ``sqrt(2 (c^2 + 1))`` is not below 1e149 or c is not finite."""
    c = float(problem.arrays["c"])
    if not (np.isfinite(c) and c >= 0.0) or math.sqrt(2.0) * math.hypot(c, 1.0) >= SAFE_MARGIN:
        return 0.0
    return SAFE_MARGIN / (2.0 * (c + 1.0))


FAMILY = declare_vector_family(VectorFamily(
    "muon-counterexample", ("muon-counterexample",), muon_value, muon_subgrad, safe_radius=safe_radius,
    doc="f(W) = c|W11 + W22| + |W11 - W22| on m x n matrices (row-major), subgradient oracle with sgn(0) = tie",
    reference=REFERENCE))


class MuonProblem(VectorProblem):
    """An instance of the family ``muon-counterexample`` (module docstring): arrays ``c``, ``tie``, ``mn``;
    ``value`` / ``grad`` are f and the oracle's subgradient (the family's pieces), ``shape`` is (m, n)."""

    @property
    def shape(self):
        return int(self.arrays["mn"][0]), int(self.arrays["mn"][1])

    def client_value(self, i, x):
        return self.value(x)

    def client_grad(self, i, x):
        return self.grad(x)


# ---------------------------------------------------------------- the instance

def diag_start(w11, w22, m=2, n=2):
    W = np.zeros((m, n))
    W[0, 0], W[1, 1] = w11, w22
    return W.ravel()


def _constants(c):
    return {"f_star": Constant(0.0, "closed form"),
            "G": Constant(math.sqrt(2.0 * (c * c + 1.0)),
                          "closed form: ||G||_F = sqrt((c+1)^2 + (c-1)^2) (Frobenius Lipschitz constant)")}


@register_problem("muon-counterexample", [
    Param("c", 0.5, "weight c of |W11 + W22| (0 < c < 1: Muon with b = 0 cannot move W11 + W22)", low=0.0,
          low_open=True),
    Param("tie", 1.0, "the subgradient oracle's sgn(0) (docs/conventions.md, Sign ties: +1; 0 breaks the "
          "counterexample through rounding)", low=-1.0, high=1.0),
    Param("m", 2, "rows of W", kind="int", low=2, high=4096),
    Param("n", 2, "columns of W", kind="int", low=2, high=4096),
], reference=REFERENCE)
def muon_counterexample(c, tie, m, n):
    """``f(W) = c |W11 + W22| + |W11 - W22|``; default start diag(0.75, 0.5) (setting (i))."""
    return MuonProblem("muon-counterexample", -1, np.zeros((1, 0)), m * n, diag_start(0.75, 0.5, m, n),
                       constants=_constants(c), arrays={"c": float(c), "tie": float(tie),
                                                        "mn": np.array([m, n], dtype=np.int64)},
                       dims={"rows": m, "cols": n}, family_name="muon-counterexample")
