"""Symbolic helpers (sympy is imported on first use only: it costs ~0.25 s)."""


def sp():
    import sympy
    return sympy


def is_identity(lhs, rhs, assumptions=None):
    """True when ``lhs - rhs`` simplifies to exactly 0 (a proof, not a numerical check)."""
    s = sp()
    return s.simplify(s.expand(lhs - rhs)) == 0


def gradient(expr, variables):
    """The gradient of a sympy expression as a list of expressions."""
    return [sp().diff(expr, v) for v in variables]


def lambdify(expr, variables):
    """A NumPy function of ``variables`` evaluating ``expr``."""
    return sp().lambdify(variables, expr, "numpy")


def poly_from_coefficients(coeffs, x):
    """``sum_k coeffs[k] x^k`` as a sympy expression (exact for floats that are dyadic rationals)."""
    s = sp()
    return sum(s.nsimplify(c, rational=True) * x**k for k, c in enumerate(coeffs))
