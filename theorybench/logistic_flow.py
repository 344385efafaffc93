"""Local gradient flow for logistic regression with one point per client, exact (for Local GD,
Crawshaw, Woodworth, Liu, ICLR 2025 / ICML 2025) [DERIVED exact solution: docs/conventions.md, section
"Separable logistic regression (DERIVED)"]. Plain NumPy: each round is a closed form.

For client m with folded point x (``z = y x``) and ``a = <w, x>``, gradient flow on
``F_m(w) = log(1 + exp(-<w, x>))`` moves w along x with ``da/ds = ||x||^2 sigma(-a)``, so
``a + exp(a) = a0 + exp(a0) + ||x||^2 s =: c`` and ``a(s) = c - omega(c)`` (Wright omega,
``omega + log omega = c``; scipy.special.wrightomega). For ``a0 > 700`` (exp(a0) overflows) the flow is
``a(s) = a0 + log1p(||x||^2 s exp(-a0))`` to double precision. One round: every client flows for time
``s = eta K`` from w_r (the continuous limit of K local steps of size eta), the server averages."""
import math

import numpy as np


def flow_margin(a0, sq, s):
    """``a(s)`` for ``da/ds = sq * sigma(-a)`` from ``a(0) = a0`` (sq = ||x||^2, s >= 0)."""
    if a0 > 700.0:
        return a0 + math.log1p(sq * s * math.exp(-a0))
    from scipy.special import wrightomega
    c = a0 + math.exp(a0) + sq * s
    if c > 700.0:  # omega(c) ~ c - log c: use Newton on a + exp(a) = c from a = log(c)
        a = math.log(c)
        for _ in range(60):
            f = a + math.exp(a) - c
            a_new = a - f / (1.0 + math.exp(a))
            if a_new == a:
                break
            a = a_new
        return a
    return float(c - np.real(wrightomega(c)))


def local_gradient_flow(points, eta, local_steps, rounds, w0=None):
    """Local gradient flow: ``points`` is (M, d), client m's single folded point; returns the server
    iterates ``w_0..w_R`` (R+1, d) and the mean losses ``F(w_r) = (1/M) sum_m log(1 + exp(-<w_r, x_m>))``."""
    X = np.asarray(points, dtype=np.float64)
    M, d = X.shape
    w = np.zeros(d) if w0 is None else np.asarray(w0, dtype=np.float64).copy()
    s = eta * local_steps
    sq = np.sum(X * X, axis=1)
    W = np.empty((rounds + 1, d))
    W[0] = w
    for r in range(rounds):
        acc = np.zeros(d)
        for m in range(M):
            a0 = float(w @ X[m])
            a = flow_margin(a0, sq[m], s)
            acc += w + (a - a0) / sq[m] * X[m]
        w = acc / M
        W[r + 1] = w
    F = np.mean(np.logaddexp(0.0, -(W @ X.T)), axis=1)
    return W, F
