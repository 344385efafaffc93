"""Plain NumPy reference implementations of Amplified SCAFFOLD and its baselines (Crawshaw, Liu,
NeurIPS 2024).

Written from the pseudocode (the paper's and the authors' synthetic script as described in the docstring
of ``theorybench.methods.scaffold_vector``), not from the Numba kernel: a Python loop over rounds, one over
the sampled clients, one over local steps, NumPy arithmetic per step. These functions are the oracle that
``tests/test_scaffold.py`` holds the vector-template methods of ``theorybench.methods.scaffold_vector``
against (and ``tests/test_scaffold_vector.py`` the former generic kernel ``theorybench.kernels.scaffold``
while it exists).

Notation: N clients, S sampled per round, I local steps, R rounds, ``lr``, amplification ``gamma``
(local stepsize ``eta = lr/gamma`` for the amplified methods, ``lr`` otherwise), period P, K groups,
FedProx ``mu``; client memories ``c_i`` and ``c = mean_i c_i`` start at 0, as ``x_anchor = x0``.

Participation: in the 0-based round ``t`` the available clients are all N (uniform) or the group
``{i : i mod K = floor((t mod P)/(P/K))}`` (cyclic); S of them are drawn with
``theorybench.sampling.sample_clients_reference(seed, t, available, S)``.

Noise contract (``theorybench.rng``): client i's k-th stochastic gradient (k counts from 0 over the run)
adds ``rng.noise(kind, sigma, seed, i, k*d + j)`` to coordinate j for the noisy coordinates j.
"""
import math

import numpy as np

from theorybench import rng
from theorybench.sampling import sample_clients_reference

ALGOS = ("fedavg", "fedprox", "scaffold", "amplified-fedavg", "amplified-scaffold")


# --------------------------------------------------------------------------- the synthetic instance

def asynth_client_grads(N=2, H=16.0, lam=1.0, zeta=16.0, c=1.0, mu=1.0, L=2.0):
    """Exact gradients of ``f_i(x) = mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2) + a_i/4 x4^2
    + s_i zeta x4`` (``a_i, s_i = L, +1`` for even i, ``lambda, -1`` for odd i, ``b2 = sqrt(mu) c/sqrt(H)``),
    differentiated by hand."""
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    grads = []
    for i in range(N):
        a, s = (L, 1.0) if i % 2 == 0 else (lam, -1.0)

        def grad(x, a=a, s=s):
            x1, x2, x3, x4 = (float(v) for v in x)
            return np.array([mu * (x1 - c), H * (x2 - b2), H / 4.0 * (x3 + max(0.0, x3)), 0.5 * a * x4 + s * zeta])
        grads.append(grad)
    return grads


def asynth_client_values(N=2, H=16.0, lam=1.0, zeta=16.0, c=1.0, mu=1.0, L=2.0):
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    vals = []
    for i in range(N):
        a, s = (L, 1.0) if i % 2 == 0 else (lam, -1.0)

        def f(x, a=a, s=s):
            x1, x2, x3, x4 = (float(v) for v in x)
            return (mu / 2 * (x1 - c) ** 2 + H / 2 * (x2 - b2) ** 2 + H / 8 * (x3 ** 2 + max(0.0, x3) ** 2)
                    + a / 4 * x4 ** 2 + s * zeta * x4)
        vals.append(f)
    return vals


def authors_logged_objective(x, H=16.0, lam=1.0, c=1.0, mu=1.0, L=2.0):
    """The objective the authors log: ``mu/2 (x1-c)^2 + H/2 (x2-b2)^2 + H/8 (x3^2 + max(0,x3)^2)
    + (L+lambda)/4 x4^2``."""
    b2 = math.sqrt(mu) * c / math.sqrt(H)
    x1, x2, x3, x4 = (float(v) for v in x)
    return (0.5 * mu * (x1 - c) ** 2 + 0.5 * H * (x2 - b2) ** 2 + 0.125 * H * (x3 ** 2 + max(0.0, x3) ** 2)
            + 0.25 * (L + lam) * x4 ** 2)


# --------------------------------------------------------------------------- noise and participation

class NoisyOracle:
    """``oracle(i, y)``: exact ``grad f_i(y)`` plus client i's next noise vector on ``noise_coords``."""

    def __init__(self, client_grads, kind="none", sigma=0.0, seed=0, noise_coords=None):
        self.client_grads = list(client_grads)
        self.kind = rng.NOISE_NAMES[kind] if isinstance(kind, str) else kind
        self.sigma, self.seed = float(sigma), int(seed)
        self.noise_coords = noise_coords
        self.counts = [0] * len(self.client_grads)

    def __call__(self, i, y):
        g = np.array(self.client_grads[i](y), dtype=np.float64)
        d = g.shape[0]
        k = self.counts[i]
        self.counts[i] += 1
        if self.kind != rng.NOISE_NONE and self.sigma != 0.0:
            coords = range(d) if self.noise_coords is None else self.noise_coords
            for j in coords:
                g[j] = g[j] + rng.noise(self.kind, self.sigma, self.seed, i, k * d + j)
        return g


def available(participation, N, groups, period, t):
    """Clients available in 0-based round ``t``."""
    if participation == "cyclic" and groups > 1:
        per = period // groups
        g = min((t % period) // per if per > 0 else 0, groups - 1)
        return [i for i in range(N) if i % groups == g]
    return list(range(N))


# --------------------------------------------------------------------------- the algorithms

def reference_run(algo, client_grads, x0, rounds, *, lr, amplification=1.0, local_steps=10,
                  clients_per_round=1, participation="cyclic", groups=2, period=480, prox_mu=0.0,
                  noise="none", sigma=0.0, seed=0, noise_coords=None, chosen_log=None):
    """Server iterates ``[x_0, ..., x_R]`` of ``algo`` (one of ``ALGOS``) in plain NumPy.

    ``chosen_log``: an optional list that receives the sampled clients of every round.
    """
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    oracle = NoisyOracle(client_grads, noise, sigma, seed, noise_coords)
    N = len(client_grads)
    amplify = algo.startswith("amplified")
    correction = {"scaffold": "round", "amplified-scaffold": "period"}.get(algo)
    gamma = amplification if amplify else 1.0
    eta = lr / gamma
    x = np.array(x0, dtype=np.float64)
    anchor = x.copy()
    c_i = [np.zeros_like(x) for _ in range(N)]
    c = np.zeros_like(x)
    g_sum = [np.zeros_like(x) for _ in range(N)]
    g_count = [0] * N
    xs = [x.copy()]
    for t in range(rounds):  # t: the authors' 0-based round index; this round produces x_{t+1}
        sampled = sample_clients_reference(seed, t, available(participation, N, groups, period, t),
                                           clients_per_round)
        if chosen_log is not None:
            chosen_log.append(list(sampled))
        finals = []
        for i in sampled:
            y = x.copy()
            for _ in range(local_steps):
                g = oracle(i, y)
                if correction is not None:
                    g_sum[i] = g_sum[i] + g
                    g_count[i] += 1
                    g = g + (c - c_i[i])
                if prox_mu != 0.0:
                    g = g + prox_mu * (y - x)
                y = y - eta * g
            finals.append(y)
        if finals:  # no available client (K > N): the server keeps x
            total = np.zeros_like(x)
            for y in finals:
                total = total + y
            x = total / len(finals)

        def refresh(i):
            nonlocal c
            c = c - c_i[i] / N
            c_i[i] = g_sum[i] / g_count[i]
            c = c + c_i[i] / N
            g_sum[i] = np.zeros_like(x)
            g_count[i] = 0

        if correction == "round":
            for i in sampled:
                refresh(i)
        if amplify and (t + 1) % period == 0:
            x = anchor + gamma * (x - anchor)
            anchor = x.copy()
            if correction == "period":
                for i in range(N):
                    if g_count[i] > 0:
                        refresh(i)
        xs.append(x.copy())
    return xs
