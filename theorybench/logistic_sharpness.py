"""Sharpness of the logistic loss of a linear model (docs/conventions.md, section "Separable logistic regression").

``H(w) = sum_i c_i s_i z_i z_i^T`` with ``s_i = sigma(a_i) sigma(-a_i)``, ``a_i = <w, z_i>`` and the weights
``c_i = 1/(M n_m)`` of the mean loss (``X^T diag(s) X / n`` for one client: ``z_i z_i^T = x_i x_i^T``).
Since ``s_i <= ell(a_i)`` and ``||z_i|| <= 1``: ``||H(w)|| <= F(w)`` (no progressive sharpening).
``sharpness`` is exact (``numpy.linalg.eigvalsh``) for small d and Lanczos (``scipy.sparse.linalg.eigsh``
on Hessian-vector products, never forming H) for large d."""
import numpy as np

EXACT_MAX_DIM = 256


def _weights(problem, w):
    from scipy.special import expit
    Zs, cs = [], []
    M = problem.Z.shape[0]
    for m in range(M):
        Zm = problem.Z[m, :problem.counts[m]]
        a = Zm @ w
        Zs.append(Zm)
        cs.append(expit(a) * expit(-a) / (problem.counts[m] * M))
    return np.concatenate(Zs), np.concatenate(cs)


def hessian(problem, w):
    """``H(w)`` as a dense (d, d) array."""
    Z, c = _weights(problem, np.asarray(w, dtype=np.float64))
    return (Z * c[:, None]).T @ Z


def hvp(problem, w):
    """``v -> H(w) v`` (a function), O(n d) per product."""
    Z, c = _weights(problem, np.asarray(w, dtype=np.float64))
    return lambda v: Z.T @ (c * (Z @ v))


def sharpness(problem, w, method="auto", tol=1e-12):
    """``||H(w)||`` (the largest eigenvalue): ``method`` ``exact``, ``lanczos`` or ``auto`` (exact up to
    d = 256)."""
    d = problem.dim
    if method == "exact" or (method == "auto" and d <= EXACT_MAX_DIM):
        return float(np.linalg.eigvalsh(hessian(problem, w))[-1])
    from scipy.sparse.linalg import LinearOperator, eigsh
    op = LinearOperator((d, d), matvec=hvp(problem, w), dtype=np.float64)
    return float(eigsh(op, k=1, which="LA", tol=tol, return_eigenvectors=False)[0])
