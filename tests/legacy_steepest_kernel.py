"""A frozen copy of the former steepest kernel (``theorybench.kernels.steepest`` as of commit 64b0ef6, when it
still ran ``psd-quadratic`` as one Numba kernel with runtime dispatch on the method code, and ``tanh-mlp`` as a
Python loop over the NumPy model of ``theorybench.kernels.mlp``, copied here too), kept as the reference of the
bit-identity tests ``tests/test_steepest_vector.py`` after the engine dropped it. Its shared helpers
(``kernels.common``: ``norm``, ``observe_values``, ``init_stats``; ``kernels.muon``: ``svd_polar``,
``schedule_step``) are the engine's, which other kernels still use. :func:`legacy_run` packs the
hyperparameters as the former ``Algorithm.pack`` did (slots ``SLOTS``, defaults ``DEFAULTS``) and runs one
configuration on the quadratic (``H``, ``layers``, ``blocks``) or the MLP (``X``, ``Y``, ``widths``)."""
import numpy as np
from numba import njit, prange

from theorybench.kernels.common import N_STATS, STAT_NAMES, init_stats, norm, observe_values
from theorybench.kernels.muon import POLYAK, RANK_RTOL, SCHEDULES, schedule_step, svd_polar

QUADRATIC, MLP = 0, 1
GD, LINF, SIGN, BLOCK_CD, SPECTRAL, MUON0, HEAVY_BALL, NESTEROV = range(8)
NORMALIZED = (SIGN, MUON0)

# slot 0 is the base step eta (the schedules of ``kernels.muon.schedule_step``)
SLOTS = ("eta", "schedule", "power", "beta", "f_lower", "alpha_max")
DEFAULTS = {"eta": 0.01, "schedule": 0, "power": 0.5, "beta": 0.9, "f_lower": 0.0, "alpha_max": np.inf}
H_ALPHA0, H_SCHEDULE, H_POWER, H_BETA, H_FLOWER, H_AMAX = range(6)


@njit(cache=True)
def quadratic_loss_grad(w, H, g):
    """``f(w) = 1/2 w^T H w`` with ``g = H w``."""
    d = w.shape[0]
    f = 0.0
    for i in range(d):
        acc = 0.0
        for j in range(d):
            acc += H[i, j] * w[j]
        g[i] = acc
        f += w[i] * acc
    return 0.5 * f


@njit(cache=True)
def _layer_polar(g, layers, k, out):
    """``polar(G_k)`` into ``out`` (flat, at the layer's offset); returns ``||G_k||_nuc``."""
    off, m, n = layers[k, 0], layers[k, 1], layers[k, 2]
    A = np.empty((m, n))
    for i in range(m):
        for j in range(n):
            A[i, j] = g[off + i * n + j]
    P = np.empty((m, n))
    nuc, _ = svd_polar(A, P)
    for i in range(m):
        for j in range(n):
            out[off + i * n + j] = P[i, j]
    return nuc


@njit(cache=True)
def direction(algo, g, layers, blocks, out):
    """The step direction ``out`` (``w <- w - eta_t out``) of the steepest-descent methods and the dual norm
    ``||g||_*`` of the method's geometry (GD: ``g`` and ``||g||_2``)."""
    d = g.shape[0]
    if algo == LINF or algo == SIGN:
        s = 0.0
        for j in range(d):
            s += abs(g[j])
        for j in range(d):
            v = 1.0 if g[j] > 0.0 else (-1.0 if g[j] < 0.0 else 0.0)
            out[j] = v * s if algo == LINF else v
        return s
    if algo == BLOCK_CD:
        best, bb = -1.0, 0
        for b in range(blocks.shape[0] - 1):
            nb = norm(g[blocks[b]:blocks[b + 1]])
            if nb > best:
                best, bb = nb, b
        for j in range(d):
            out[j] = 0.0
        for j in range(blocks[bb], blocks[bb + 1]):
            out[j] = g[j]
        return best
    if algo == SPECTRAL or algo == MUON0:
        nuc = 0.0
        for k in range(layers.shape[0]):
            nuc += _layer_polar(g, layers, k, out)
        if algo == SPECTRAL:
            for j in range(d):
                out[j] *= nuc
        return nuc
    for j in range(d):
        out[j] = g[j]
    return norm(g)


@njit(cache=True)
def step_size(hyper, t, seed, gap, dual, normalized):
    return schedule_step(int(hyper[H_SCHEDULE]), hyper[H_ALPHA0], hyper[H_POWER], hyper[H_AMAX], t, seed, 0,
                         gap, dual, normalized)


@njit(cache=True)
def _observe(x, f, g, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st):
    return observe_values(x, f, norm(g), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True)
def steepest_trajectory(algo, H, layers, blocks, hyper, x0, seed, target, rounds, rec_rounds,
                        out_x, out_loss, out_gnorm, st):
    """One configuration for ``rounds`` steps; record at ``rec_rounds`` (sorted, with 0 and the last)."""
    d = x0.shape[0]
    b = hyper[H_BETA]
    flow = hyper[H_FLOWER]
    x = x0.copy()
    g = np.empty(d)
    D = np.empty(d)
    v = np.zeros(d)
    init_stats(st)
    f = quadratic_loss_grad(x, H, g)
    p = _observe(x, f, g, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st)
    for t in range(rounds):
        if p < 0:
            break
        dual = direction(algo, g, layers, blocks, D)
        if int(hyper[H_SCHEDULE]) == POLYAK:
            eta = step_size(hyper, t, seed, f - flow, dual, algo == SIGN or algo == MUON0)
        else:
            eta = step_size(hyper, t, seed, 0.0, 0.0, True)
        if algo == HEAVY_BALL or algo == NESTEROV:
            for j in range(d):
                v[j] = b * v[j] + g[j]
                x[j] -= eta * (v[j] if algo == HEAVY_BALL else g[j] + b * v[j])
        else:
            for j in range(d):
                x[j] -= eta * D[j]
        f = quadratic_loss_grad(x, H, g)
        p = _observe(x, f, g, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, H, layers, blocks, hyper, x0, seeds, target, rounds, rec_rounds,
          out_x, out_loss, out_gnorm, out_stats):
    """``prange`` over quadratic configurations that share one instance (``H``, ``layers``, ``blocks``)."""
    for c in prange(hyper.shape[0]):
        steepest_trajectory(algo, H, layers, blocks, hyper[c], x0[c], seeds[c], target[c],
                            rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])


def _polar_direction(algo, g, layers, out):
    """:func:`direction` for SPECTRAL and MUON0 with NumPy's SVD (on the MLP path: Numba's LAPACK is a second
    OpenBLAS whose spinning threads slow NumPy's matrix products down several times when both run)."""
    nuc = 0.0
    for off, m, n in layers:
        U, s, Vt = np.linalg.svd(g[off:off + m * n].reshape(m, n), full_matrices=False)
        nuc += s.sum()
        k = int(np.sum(s > RANK_RTOL * s[0])) if s.size and s[0] > 0 else 0
        out[off:off + m * n] = (U[:, :k] @ Vt[:k]).ravel()
    if algo == SPECTRAL:
        out *= nuc
    return nuc


def mlp_trajectory(algo, problem, hyper, x0, seed, target, rounds, rec_rounds, out_x, out_loss, out_gnorm, st):
    """The MLP's trajectory: :func:`steepest_trajectory` step for step, with the NumPy gradient."""
    X, Y, widths, layers, blocks = problem.X, problem.Y, problem.widths, problem.layers, problem.blocks
    d = x0.shape[0]
    b = hyper[H_BETA]
    x = x0.copy()
    D = np.empty(d)
    v = np.zeros(d)
    init_stats(st)
    with np.errstate(over="ignore", invalid="ignore"):
        f, g = mlp_loss_grad(x, X, Y, widths)
        p = _observe(x, f, g, 0, target, rec_rounds, 0, out_x, out_loss, out_gnorm, st)
        for t in range(rounds):
            if p < 0:
                break
            dual = _polar_direction(algo, g, layers, D) if algo in (SPECTRAL, MUON0) else \
                direction(algo, g, layers, blocks, D)
            if int(hyper[H_SCHEDULE]) == POLYAK:
                eta = step_size(hyper, t, seed, f - hyper[H_FLOWER], dual, algo == SIGN or algo == MUON0)
            else:
                eta = step_size(hyper, t, seed, 0.0, 0.0, True)
            if algo == HEAVY_BALL or algo == NESTEROV:
                v *= b
                v += g
                x -= eta * (v if algo == HEAVY_BALL else g + b * v)
            else:
                x -= eta * D
            f, g = mlp_loss_grad(x, X, Y, widths)
            p = _observe(x, f, g, t + 1, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


# ---------------------------------------------------------------- the former MLP model (theorybench.kernels.mlp)

def shapes(widths):
    return [(widths[i], widths[i + 1]) for i in range(len(widths) - 1)]


def unflatten(w, widths):
    out, p = [], 0
    for (a, b) in shapes(widths):
        out.append(w[p:p + a * b].reshape(a, b))
        p += a * b
    return out


def n_params(widths):
    return sum(a * b for a, b in shapes(widths))


def _forward(Ws, X):
    acts = [X]
    h = X
    for W in Ws[:-1]:
        h = np.tanh(h @ W)
        acts.append(h)
    return acts, h @ Ws[-1]


def mlp_loss(w, X, Y, widths):
    Ws = unflatten(w, widths)
    _, O = _forward(Ws, X)
    R = O - Y
    return 0.5 * float(np.sum(R * R)) / X.shape[0]


def mlp_loss_grad(w, X, Y, widths):
    """``(L(w), grad L(w))``."""
    Ws = unflatten(w, widths)
    acts, O = _forward(Ws, X)
    n = X.shape[0]
    R = O - Y
    dO = R / n
    grads = [None] * len(Ws)
    grads[-1] = acts[-1].T @ dO
    d = dO @ Ws[-1].T
    for i in range(len(Ws) - 2, -1, -1):
        dH = d * (1.0 - acts[i + 1] ** 2)
        grads[i] = acts[i].T @ dH
        if i > 0:
            d = dH @ Ws[i].T
    return 0.5 * float(np.sum(R * R)) / n, np.concatenate([g.ravel() for g in grads])




def one_blas_thread():
    from threadpoolctl import threadpool_limits
    return threadpool_limits(limits=1, user_api="blas")


CODES = {"gd": GD, "linf-descent": LINF, "sign-gd": SIGN, "block-cd": BLOCK_CD, "spectral-gd": SPECTRAL,
         "muon-nomomentum": MUON0, "heavy-ball": HEAVY_BALL, "nesterov": NESTEROV}


def pack(hyper):
    """The former ``Algorithm.pack``: slot values from the validated settings, the kernel's defaults
    elsewhere, the schedule as its code."""
    h = np.empty(len(SLOTS))
    for k, name in enumerate(SLOTS):
        v = hyper.get(name, DEFAULTS[name])
        h[k] = SCHEDULES[v] if name == "schedule" else v
    return h


def legacy_run(alg, hyper, x0, seed, steps, record, target=0.0, H=None, layers=None, blocks=None, mlp=None):
    """One configuration of ``alg`` (a name): on the quadratic ``H`` with ``layers`` and ``blocks``, or on the
    MLP ``mlp = SimpleNamespace(X, Y, widths, layers, blocks)``. Returns ``(x, loss, grad_norm, stats)`` (x and
    the traces on ``record``; stats by name, ``kernels.common.STAT_NAMES``). ``hyper``: the method's
    validated settings (``theorybench.algorithms.get_algorithm(alg).resolve``)."""
    h = pack(hyper)
    rec = np.ascontiguousarray(record, dtype=np.int64)
    x0 = np.ascontiguousarray(x0, dtype=np.float64)
    d = x0.shape[0]
    out_x = np.full((rec.size, d), np.nan)
    out_loss = np.full(rec.size, np.nan)
    out_gn = np.full(rec.size, np.nan)
    st = np.zeros(N_STATS)
    if mlp is not None:
        with one_blas_thread():
            mlp_trajectory(CODES[alg], mlp, h, x0, int(seed), float(target), int(steps), rec, out_x, out_loss,
                           out_gn, st)
    else:
        steepest_trajectory(CODES[alg], np.ascontiguousarray(H, dtype=np.float64),
                            np.ascontiguousarray(layers, dtype=np.int64), np.ascontiguousarray(blocks, dtype=np.int64),
                            h, x0, np.int64(seed), float(target), int(steps), rec, out_x, out_loss, out_gn, st)
    return out_x, out_loss, out_gn, dict(zip(STAT_NAMES, st))
