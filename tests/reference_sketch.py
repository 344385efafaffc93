"""Plain NumPy sketch-and-project, written from the paper's formula (Gower, Richtarik, SIMAX 2015, eq. (2.3)
"random update"): the oracle for ``theorybench.methods.sketch_project``.

    x_{k+1} = x_k - B^{-1} A^T S_k (S_k^T A B^{-1} A^T S_k)^+ S_k^T (A x_k - b)

S_k is built as an explicit m x q matrix from the same counter-based draws as the kernel
(``theorybench.rng``: stream 0, counter t for a single row, t k + j for a block of k rows, t m + j for the
Gaussian sketch's entries). The sampling probabilities are computed here from A and B, not taken from the
instance's arrays. ``_solve`` and ``_residual`` are module-level so that the Monte Carlo arithmetic of
``tests/tolerances.py`` can perturb them.
"""
import numpy as np

from theorybench.rng import normal01, uniform01


def _solve(M, r):
    """``M^+ r`` (the k x k sketched system)."""
    return np.linalg.pinv(M) @ r


def _residual(A, x, b):
    return A @ x - b


def probabilities(A, B, sketch):
    """Row probabilities of the single-row sketches."""
    m = A.shape[0]
    if sketch == "kaczmarz":
        w = (A * A).sum(axis=1)
    elif sketch == "kaczmarz-uniform":
        w = np.ones(m)
    else:  # coordinate: a_i^T B^{-1} a_i
        w = np.einsum("ij,ij->i", A, np.linalg.solve(B, A.T).T)
    return w / w.sum()


def draw_S(A, B, sketch, seed, t, block_size=2):
    """The sketch S_t (m x q) of step t."""
    m = A.shape[0]
    if sketch in ("kaczmarz", "kaczmarz-uniform", "coordinate"):
        u = uniform01(seed, 0, t)
        if sketch == "kaczmarz-uniform":
            i = min(int(u * m), m - 1)
        else:
            cum = np.cumsum(probabilities(A, B, sketch))
            i = min(int(np.searchsorted(cum, u, side="right")), m - 1)
        S = np.zeros((m, 1))
        S[i, 0] = 1.0
        return S
    if sketch == "block":
        k = min(block_size, m)
        perm = list(range(m))
        for j in range(k):
            r = min(j + int(uniform01(seed, 0, t * k + j) * (m - j)), m - 1)
            perm[j], perm[r] = perm[r], perm[j]
        S = np.zeros((m, k))
        S[perm[:k], np.arange(k)] = 1.0
        return S
    return np.array([[normal01(seed, 0, t * m + j)] for j in range(m)])


def sketch_project(A, b, B, x0, steps, sketch, seed, block_size=2):
    """The iterates x_0, ..., x_steps (rows)."""
    A, b, B = (np.asarray(v, dtype=float) for v in (A, b, B))
    Binv = np.linalg.inv(B)
    x = np.array(x0, dtype=float)
    out = [x.copy()]
    for t in range(steps):
        S = draw_S(A, B, sketch, seed, t, block_size)
        W = Binv @ A.T @ S
        x = x - W @ _solve(S.T @ A @ W, S.T @ _residual(A, x, b))
        out.append(x.copy())
    return np.array(out)
