"""Plain NumPy reference implementations of Scaffnew and local GD with random communication (Mishchenko,
Malinovsky, Stich, Richtarik, ICML 2022, Algorithm 2), written from the paper's pseudocode, not from the
Numba kernel: a Python loop over steps, NumPy arithmetic over the clients. The oracle that
``tests/test_local_training.py`` holds ``theorybench.methods.local_training`` against.

Per step t (clients i = 0..n-1, ``X`` the (n, d) array of the x_i, ``H`` that of the h_i, both from
``x_i = x_0``, ``h_i = 0``)::

    g_i    = A_i (x_i - c_i) + sigma z_{i,t}          z_{i,t}[j] = normal01(seed, i, t d + j)
    Xhat   = X - gamma (G - H)
    theta  = uniform01(seed, n, t) < p                 (one coin for all clients)
    X      = mean_j (Xhat_j - gamma/p H_j) for all i   if theta, else Xhat
    H      = H + p/gamma (X - Xhat)                    (Scaffnew only)

The reported iterate is ``xbar = mean_i x_i``.
"""
import numpy as np

from theorybench import rng


def client_grads(A, c, X, sigma, seed, t):
    """``G[i] = A_i (X[i] - c_i)`` plus ``N(0, sigma^2 I)`` from the counter-based generator."""
    n, d = X.shape
    G = np.einsum("ijk,ik->ij", A, X - c)
    if sigma > 0:
        for i in range(n):
            G[i] += sigma * np.array([rng.normal01(seed, i, t * d + j) for j in range(d)])
    return G


def run_reference(A, c, x0, gamma, p, steps, seed=0, sigma=0.0, control_variates=True, xstar=None, hstar=None,
                  states=None):
    """``(xbar, psi, comms)``: the iterates ``xbar_t`` (steps + 1, d), ``Psi_t`` (when ``xstar``, ``hstar`` are
    given; else None) and the communication count after each step (steps + 1,). ``states``: a list that
    receives ``(X_t, H_t, G_t)`` for every step (G: the gradients drawn at step t; None at the end)."""
    n, d = c.shape
    X = np.tile(np.asarray(x0, dtype=np.float64), (n, 1))
    H = np.zeros((n, d))
    xbar = [X.mean(axis=0)]
    comms = [0]
    psi = None if xstar is None else []

    def lyap():
        return float(((X - xstar) ** 2).sum() + (gamma / p) ** 2 * ((H - hstar) ** 2).sum())
    if psi is not None:
        psi.append(lyap())
    for t in range(steps):
        G = client_grads(A, c, X, sigma, seed, t)
        if states is not None:
            states.append((X, H, G))
        Xhat = X - gamma * (G - (H if control_variates else 0.0))
        if rng.uniform01(seed, n, t) < p:
            avg = (Xhat - ((gamma / p) * H if control_variates else 0.0)).mean(axis=0)
            X = np.tile(avg, (n, 1))
            comms.append(comms[-1] + 1)
        else:
            X = Xhat
            comms.append(comms[-1])
        if control_variates:
            H = H + (p / gamma) * (X - Xhat)
        xbar.append(X.mean(axis=0))
        if psi is not None:
            psi.append(lyap())
    if states is not None:
        states.append((X, H, None))
    return np.array(xbar), (None if psi is None else np.array(psi)), np.array(comms)
