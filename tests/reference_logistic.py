"""Plain NumPy references for the logistic kernel, straight from the papers' pseudocode (Wu, Bartlett,
Telgarsky, Yu, COLT 2024; Crawshaw, Woodworth, Liu, ICLR 2025; Tyurin 2025).

GD: ``w_{t+1} = w_t - eta grad F(w_t)``, ``F(w) = (1/n) sum_i log(1 + exp(-<w, z_i>))``;
Local GD: every client K steps ``u <- u - eta grad F_m(u)`` from w_r, then the mean;
batch perceptron: ``w <- w + sum_{i: <w, z_i> <= 0} z_i``; exponential loss ``exp(-a)``.
The loss is returned as ``log F`` (scipy's logsumexp over ``log ell``), the times from the full sequence."""
import math

import numpy as np
from scipy.special import expit, logsumexp


def log_ell(a, loss="logistic"):
    a = np.asarray(a, dtype=np.float64)
    if loss == "exp":
        return -a
    small = a < 18.4
    out = np.empty_like(a)
    out[small] = np.log(np.logaddexp(0.0, -a[small]))
    out[~small] = -a[~small] - 0.5 * np.exp(-a[~small])
    return out


def log_F(clients, w, loss="logistic"):
    M = len(clients)
    terms = [log_ell(Z @ w, loss) - math.log(Z.shape[0]) - math.log(M) for Z in clients]
    return float(logsumexp(np.concatenate(terms)))


def grad_F(Z, w, loss="logistic"):
    a = Z @ w
    phi = np.exp(-a) if loss == "exp" else expit(-a)
    return -(phi @ Z) / Z.shape[0]


def gd(clients, eta, T, algo="gd", K=1):
    """Iterates w_0..w_T (T+1, d) and log F(w_t). algo: gd, exp, local, perceptron."""
    d = clients[0].shape[1]
    w = np.zeros(d)
    W = [w.copy()]
    loss = "exp" if algo == "exp" else "logistic"
    allZ = np.concatenate(clients)
    for t in range(T):
        if algo in ("gd", "exp"):
            g = np.zeros(d)
            for Z in clients:
                g += grad_F(Z, w, loss) / len(clients)
            w = w - eta * g
        elif algo == "perceptron":
            a = allZ @ w
            w = w + allZ[a <= 0].sum(axis=0)
        else:
            acc = np.zeros(d)
            for Z in clients:
                u = w.copy()
                for _ in range(K):
                    u = u - eta * grad_F(Z, u)
                acc += u
            w = acc / len(clients)
        W.append(w.copy())
    W = np.array(W)
    L = np.array([log_F(clients, v, loss) for v in W])
    return W, L


def transition_times(L, eta_eff, rtol=1e-12):
    """tau_mono, tau_{2/eta}, tau_{1/eta}, tau_{1/(8 eta)} from the whole sequence log F(w_t) (-1: never)."""
    inc = np.flatnonzero(L[1:] > L[:-1] + math.log1p(rtol))
    tmono = 0 if inc.size == 0 else int(inc[-1] + 1)

    def first(c):
        k = np.flatnonzero(L <= math.log(c))
        return int(k[0]) if k.size else -1
    return tmono, first(2 / eta_eff), first(1 / eta_eff), first(1 / (8 * eta_eff))
