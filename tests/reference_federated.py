"""Plain NumPy reference implementations of the federated methods: Local SGD / FedAvg, CELGC (Liu, Zhuang,
Lei, Liao, NeurIPS 2022), EPISODE (Crawshaw, Bao, Liu, ICLR 2023), clipped minibatch SGD and EPISODE++
(Crawshaw, Bao, Liu, NeurIPS 2023).

Written from the papers' pseudocode and docs/conventions.md, not from the Numba kernel: one Python
loop over rounds, one over clients, one over local steps, NumPy arithmetic per step. These functions
are the oracle that ``tests/test_kernels_reference.py`` holds ``theorybench.kernels.federated``
against.

Notation (the papers'): N clients, I local steps per round (``local_steps``), R rounds, stepsize
``eta``, clipping parameter ``gamma``, server iterate ``x_r`` (round 0 is ``x0``), client local iterate
``y``.

Clipping conventions (docs/conventions.md, section "Clipping conventions"):

* ``"step"``: ``y <- y - min(eta, gamma/||g||) g``; clipped iff ``||g|| > gamma/eta``; a clipped step
  has length ``gamma``.
* ``"grad"``: ``y <- y - eta min(1, gamma/||g||) g``; clipped iff ``||g|| > gamma``; a clipped step has
  length ``eta*gamma``.

A clipped step is computed as ``length * (g/||g||)`` so that exact cancellations stay exact; a zero
direction under clipping takes no step.

Noise contract (shared with the kernels, see ``theorybench.rng``): client ``i``'s ``k``-th stochastic
gradient (``k`` counts from 0 over the whole run, per client, one increment per gradient evaluation)
has noise ``theorybench.rng.noise(kind, sigma, seed, i, k*d + j)`` added to coordinate ``j`` of the
exact gradient.
"""
import numpy as np
from numpy.polynomial import polynomial as P

from theorybench import rng

ALGOS = ("fedavg", "local-clip", "episode", "clipped-minibatch", "episode++", "naive-parallel-clip")
CONVENTIONS = ("step", "grad")


# --------------------------------------------------------------------------- exact gradient oracles

def poly_client_grads(coef_rows, d=1):
    """Exact gradients of separable polynomials, independent of the kernels' Horner code.

    ``coef_rows[i]`` holds, for each coordinate ``j`` in turn, the coefficients ``c_0, ..., c_K`` of
    ``sum_k c_k x_j^k`` (lowest degree first, the layout of ``Problem.params``). Returns a list of
    callables ``grad_i(x) -> ndarray (d,)`` built with ``numpy.polynomial``.
    """
    grads = []
    for row in coef_rows:
        row = np.asarray(row, dtype=np.float64)
        kp1 = row.size // d
        ders = [P.polyder(row[j * kp1:(j + 1) * kp1]) for j in range(d)]

        def grad(x, ders=ders):
            x = np.asarray(x, dtype=np.float64)
            return np.array([P.polyval(x[j], ders[j]) for j in range(len(ders))])
        grads.append(grad)
    return grads


def two_client_quadratic_grads(gamma=1.0, a1=None, a2=None):
    """``f_i(x) = x^2/2 + a_i x`` with ``a_1 = -gamma-1``, ``a_2 = gamma+2`` (Liu, EPISODE talk, 2023)."""
    a1 = -gamma - 1.0 if a1 is None else a1
    a2 = gamma + 2.0 if a2 is None else a2
    return poly_client_grads([[0.0, a, 0.5] for a in (a1, a2)])


def episode_quartic_grads(H=1.0, h=(-1.0, 2.0)):
    """``f_i(x) = x^4 - 3x^3 - H h_i x^2 + x`` with ``h = (-1, 2)`` (EPISODE, ICLR 2023)."""
    return poly_client_grads([[0.0, 1.0, -H * hi, -3.0, 1.0] for hi in h])


# --------------------------------------------------------------------------- noise

def make_noise_fn(kind, sigma, seed):
    """``noise_fn(i, k, d)``: the noise vector of client ``i``'s ``k``-th stochastic gradient in
    dimension ``d``; coordinate ``j`` is ``rng.noise(kind, sigma, seed, i, k*d + j)``.

    ``kind``: ``rng.NOISE_NONE`` / ``NOISE_UNIFORM`` / ``NOISE_GAUSSIAN`` (or their names).
    Returns None when there is no noise.
    """
    if isinstance(kind, str):
        kind = rng.NOISE_NAMES[kind]
    if kind == rng.NOISE_NONE or sigma == 0.0:
        return None

    def noise_fn(i, k, d):
        return np.array([rng.noise(kind, float(sigma), int(seed), int(i), int(k * d + j))
                         for j in range(d)])
    return noise_fn


class StochasticOracle:
    """``oracle(i, x)`` = exact ``grad f_i(x)`` + client ``i``'s next noise vector; keeps the per-client
    draw counters ``k`` of the noise contract."""

    def __init__(self, client_grads, noise_fn=None):
        self.client_grads = list(client_grads)
        self.noise_fn = noise_fn
        self.counts = [0] * len(self.client_grads)

    def __call__(self, i, x):
        g = np.array(self.client_grads[i](x), dtype=np.float64).reshape(-1)
        if self.noise_fn is not None:
            g = g + self.noise_fn(i, self.counts[i], g.shape[0])
        self.counts[i] += 1
        return g


# --------------------------------------------------------------------------- clipping

def threshold(eta, gamma, convention):
    """Norm above which a direction is clipped: ``gamma/eta`` (step) or ``gamma`` (grad)."""
    if convention == "step":
        return gamma / eta
    if convention == "grad":
        return gamma
    raise ValueError(f"convention must be 'step' or 'grad', got {convention!r}")


def clipped_length(eta, gamma, convention):
    """Length of a clipped step: ``gamma`` (step) or ``eta*gamma`` (grad)."""
    return gamma if convention == "step" else eta * gamma


def take_step(y, g, eta, gamma, convention, clip):
    """``y - eta g`` if not ``clip``, else ``y - length * (g/||g||)`` (no step if ``g = 0``)."""
    if not clip:
        return y - eta * g
    norm = np.linalg.norm(g)
    if norm == 0.0:
        return y
    return y - clipped_length(eta, gamma, convention) * (g / norm)


def _mean(vectors):
    """``(v_1 + ... + v_n)/n`` summed left to right."""
    total = np.zeros_like(vectors[0])
    for v in vectors:
        total = total + v
    return total / len(vectors)


# --------------------------------------------------------------------------- algorithms

def reference_run(algo, client_grads, x0, rounds, *, eta, gamma=np.inf, local_steps=1,
                  convention="step", noise_fn=None, counts=None, clients_per_round=0, seed=0):
    """Server iterates ``[x_0, ..., x_R]`` of ``algo`` in plain NumPy.

    algo: ``"fedavg"`` (Local SGD), ``"local-clip"`` (CELGC), ``"episode"`` (EPISODE) or
    ``"clipped-minibatch"``; client_grads: N callables ``grad f_i(x)`` (exact); x0: start;
    rounds: R; eta, gamma, local_steps (I), convention: as in docs/conventions.md; noise_fn: see
    :func:`make_noise_fn` (None: deterministic); counts: an optional dict that receives
    ``"clipped"`` and ``"steps"``, the number of clipped updates and of updates (local steps, or
    server steps for clipped minibatch SGD). clients_per_round: S clients drawn per round with
    :func:`theorybench.sampling.sample_clients_reference` (0: all), averaged in the drawn order.
    """
    from theorybench.sampling import sample_clients_reference
    if algo not in ALGOS:
        raise ValueError(f"algo must be one of {ALGOS}, got {algo!r}")
    oracle = StochasticOracle(client_grads, noise_fn)
    N = len(oracle.client_grads)
    I = int(local_steps)
    x = np.array(x0, dtype=np.float64).reshape(-1)
    xs = [x.copy()]
    n_clipped = n_steps = 0
    if algo == "episode++":
        # memories: c_i = mean of I stochastic gradients at x0; c = mean_i c_i
        mem = [_mean([oracle(i, x) for _ in range(I)]) for i in range(N)]
        c = _mean(mem)
    for r in range(rounds):
        clients = sample_clients_reference(seed, r + 1, range(N), clients_per_round)
        if algo in ("clipped-minibatch", "naive-parallel-clip"):
            # every sampled client averages I stochastic gradients at x_r
            client_means = []
            for i in clients:
                client_means.append(_mean([oracle(i, x) for _ in range(I)]))
            if algo == "clipped-minibatch":  # one clipped server step on the mean of the averages
                gbar = _mean(client_means)
                clip = np.linalg.norm(gbar) > threshold(eta, gamma, convention)
                x = take_step(x, gbar, eta, gamma, convention, clip)
                n_clipped += bool(clip)
                n_steps += 1
            else:  # each client clips its own average; the server averages the clipped steps
                moves = []
                for gbar in client_means:
                    clip = np.linalg.norm(gbar) > threshold(eta, gamma, convention)
                    moves.append(take_step(np.zeros_like(x), gbar, eta, gamma, convention, clip))
                    n_clipped += bool(clip)
                    n_steps += 1
                x = x + _mean(moves)
        else:
            if algo == "episode":
                # G_r^i at x_r (client i's first draw of the round); G_r decides clipping for the round
                G_i = {i: oracle(i, x) for i in clients}
                G = _mean([G_i[i] for i in clients])
                clip_r = np.linalg.norm(G) > threshold(eta, gamma, convention)
            if algo == "episode++":
                clip_r = np.linalg.norm(c) > threshold(eta, gamma, convention)
                new_mem = {}
            finals = []
            for i in clients:
                y = x.copy()
                gsum = np.zeros_like(x)
                for _ in range(I):
                    g = oracle(i, y)
                    if algo == "episode++":
                        clip = clip_r
                        gsum = gsum + g
                        y = take_step(y, g - mem[i] + c, eta, gamma, convention, clip)
                    elif algo == "fedavg":
                        clip = False
                        y = y - eta * g
                    elif algo == "local-clip":
                        clip = np.linalg.norm(g) > threshold(eta, gamma, convention)
                        y = take_step(y, g, eta, gamma, convention, clip)
                    else:  # episode
                        clip = clip_r
                        direction = g - G_i[i] + G
                        y = take_step(y, direction, eta, gamma, convention, clip)
                    n_clipped += bool(clip)
                    n_steps += 1
                finals.append(y)
                if algo == "episode++":
                    new_mem[i] = gsum / I
            x = _mean(finals)
            if algo == "episode++":  # after the round: c <- c + (gbar_i - c_i)/N, c_i <- gbar_i
                for i in clients:
                    c = c + (new_mem[i] - mem[i]) / N
                    mem[i] = new_mem[i]
        xs.append(x.copy())
    if counts is not None:
        counts["clipped"] = n_clipped
        counts["steps"] = n_steps
    return xs
