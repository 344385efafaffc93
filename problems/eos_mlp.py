"""Instances for the edge of stability (CLAIMS.md section 4): PSD quadratics for the stability thresholds
(ES-3). DERIVED construction (random spectra with a chosen condition number; the papers' quadratics were not
readable). These are plain builders used by ``paper_checks/edge_of_stability.py``; the tanh MLP of ES-1/ES-2 is
not implemented yet (see the issue's note)."""
import numpy as np


def psd_quadratic(d, seed=0, cond=10.0, lam_max=1.0):
    """``H = Q diag(lam) Q^T`` with eigenvalues log-spaced in ``[lam_max/cond, lam_max]``, Q Haar-random
    (seeded); f(w) = 1/2 w^T H w, f* = 0."""
    rng = np.random.default_rng(seed)
    Q, R = np.linalg.qr(rng.normal(size=(d, d)))
    Q = Q * np.sign(np.diag(R))
    lam = np.logspace(np.log10(lam_max / cond), np.log10(lam_max), d)
    return (Q * lam) @ Q.T


def mlp_data(n=512, dim=32, classes=10, noise=0.5, seed=0):
    """CLAIMS.md's data: x ~ N(0, I_dim), classes = argmax(x A + noise N(0, 1)) with A ~ N(0, 1) (seeded;
    the scale of A is DERIVED: not given), one-hot targets."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dim))
    A = rng.normal(size=(dim, classes))
    lab = np.argmax(X @ A + noise * rng.normal(size=(n, classes)), axis=1)
    return X, np.eye(classes)[lab]


def mlp_init(widths=(32, 64, 64, 10), seed=0):
    """Weights U(-1/sqrt(fan_in), 1/sqrt(fan_in)), flattened (W1, W2, W3 row-major)."""
    rng = np.random.default_rng(seed + 1000)
    return np.concatenate([rng.uniform(-1, 1, size=(a, b)).ravel() / np.sqrt(a)
                           for a, b in zip(widths[:-1], widths[1:])])
