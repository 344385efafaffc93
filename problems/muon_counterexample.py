"""The Muon counterexample (Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980):
``f(W) = c |W11 + W22| + |W11 - W22|`` on m x n matrices, convex and Lipschitz, f* = 0.

Parameters: ``c`` (0 < c < 1 in the paper; c > 1 is the MU-1 control), the subgradient tie rule ``tie``
(``sgn(0)`` in the oracle; +1 default, docs/conventions.md, section "Sign ties"), the shape ``m`` x ``n``
(default 2 x 2; the start ``--x0`` is W flattened row-major). The kernel ``theorybench.kernels.muon``
evaluates f and the oracle inline; :class:`MatrixProblem` gives the same values in Python.
"""
import math

import numpy as np

from theorybench.params import Param
from theorybench.problem import Constant, Problem, register_problem

FAMILY_MUON = -6  # not a families.py code: the muon kernel evaluates this instance itself


class MatrixProblem(Problem):
    """A problem whose objective the muon kernel evaluates (``params = [[c, tie, m, n]]``)."""

    @property
    def shape(self):
        return int(self.params[0, 2]), int(self.params[0, 3])

    def value(self, x):
        from theorybench.kernels.muon import value_subgrad
        g = np.empty(self.dim)
        return float(value_subgrad(self.params[0], self._x(x), g))

    def grad(self, x):
        from theorybench.kernels.muon import value_subgrad
        g = np.empty(self.dim)
        value_subgrad(self.params[0], self._x(x), g)
        return g

    def client_value(self, i, x):
        return self.value(x)

    def client_grad(self, i, x):
        return self.grad(x)


def diag_start(w11, w22, m=2, n=2):
    W = np.zeros((m, n))
    W[0, 0], W[1, 1] = w11, w22
    return W.ravel()


@register_problem("muon-counterexample", [
    Param("c", 0.5, "weight c of |W11 + W22| (0 < c < 1: Muon with b = 0 cannot move W11 + W22)", low=0.0,
          low_open=True),
    Param("tie", 1.0, "the subgradient oracle's sgn(0) (docs/conventions.md, Sign ties: +1; 0 breaks the "
          "counterexample through rounding)", low=-1.0, high=1.0),
    Param("m", 2, "rows of W", kind="int", low=2, high=4096),
    Param("n", 2, "columns of W", kind="int", low=2, high=4096),
], reference="Parshakova, Khaled, Crawshaw, Garrigos, Gower, arXiv 2605.08980 (authors' code)")
def muon_counterexample(c, tie, m, n):
    """``f(W) = c |W11 + W22| + |W11 - W22|``; default start diag(0.75, 0.5) (setting (i))."""
    return MatrixProblem("muon-counterexample", FAMILY_MUON, np.array([[c, tie, m, n]], dtype=float), m * n,
                         diag_start(0.75, 0.5, m, n), constants={
                             "f_star": Constant(0.0, "closed form"),
                             "G": Constant(math.sqrt(2.0 * (c * c + 1.0)),
                                           "closed form: ||G||_F = sqrt((c+1)^2 + (c-1)^2) (Frobenius "
                                           "Lipschitz constant)"),
                         })
