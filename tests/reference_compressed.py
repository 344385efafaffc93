"""Plain NumPy reference of the unbiased compressors (rand-k, natural compression, QSGD) and of DCGD and
DIANA (Mishchenko, Gorbunov, Takac, Richtarik 2019), written from the papers' definitions, not from the
kernels of ``theorybench.methods.compressed``: the oracle the tests hold those kernels against.

Draw contract (shared with the kernels): compression number ``t`` of client ``i`` (of ``n``) reads the
uniforms ``theorybench.rng.uniform01(seed, n + i, t d + j)``, one per coordinate ``j``; rand-k keeps
coordinate j when ``u_j (d - j) < k - (coordinates kept before j)`` (selection sampling).

Every function works on a batch: ``v`` has shape ``(..., d)`` and ``seed`` broadcasts against ``v``'s leading
axes, so one call runs several seeds at once (the benchmark's NumPy peer uses that).
"""
import itertools
import math

import numpy as np

from theorybench.backends.array import uniform01


def draws(seed, stream, counter0, d):
    """The d uniforms ``uniform01(seed, stream, counter0 + j)``, shape ``(..., d)`` (seed's shape + (d,))."""
    seed = np.asarray(seed, dtype=np.uint64)[..., None]
    return uniform01(np, seed, np.uint64(stream), np.uint64(counter0) + np.arange(d, dtype=np.uint64))


def randk(v, k, u):
    """``(d/k) v`` on the coordinates chosen by selection sampling from the uniforms ``u``, 0 elsewhere."""
    d = v.shape[-1]
    out = np.zeros_like(v)
    kept = np.zeros(v.shape[:-1])
    for j in range(d):
        take = u[..., j] * (d - j) < (k - kept)
        out[..., j] = np.where(take, (d / k) * v[..., j], 0.0)
        kept = kept + take
    return out


def natural(v, u):
    """Natural compression: ``|v_j| in [2^e, 2^(e+1))`` becomes ``2^(e+1)`` with probability ``|v_j|/2^e - 1``."""
    a = np.abs(v)
    safe = np.where(a > 0, a, 1.0)
    lo = np.ldexp(1.0, np.frexp(safe)[1] - 1)  # the largest power of two <= |v_j|
    q = np.where(u < safe / lo - 1.0, 2 * lo, lo)
    return np.where(a > 0, np.sign(v) * q, 0.0)


def qsgd(v, s, u):
    """QSGD with s levels: ``||v|| sign(v_j) xi_j / s``, ``xi_j`` the stochastic rounding of ``s |v_j|/||v||``."""
    nrm = np.sqrt((v * v).sum(axis=-1, keepdims=True))
    r = s * np.abs(v) / np.where(nrm > 0, nrm, 1.0)
    lv = np.floor(r)
    lv = lv + (u < r - lv)
    return np.where(nrm > 0, np.where(v >= 0, 1.0, -1.0) * nrm * lv / s, 0.0)


def compress(name, v, u, k=1, levels=1):
    if name == "randk":
        return randk(v, k, u)
    if name == "natural":
        return natural(v, u)
    if name == "qsgd":
        return qsgd(v, levels, u)
    raise ValueError(name)


def omega(name, d, k=1, levels=1):
    """The papers' variance parameters: rand-k ``d/k - 1``; natural ``1/8``; QSGD ``min(d/s^2, sqrt(d)/s)``."""
    return {"randk": d / k - 1.0, "natural": 1.0 / 8.0, "qsgd": min(d / levels**2, math.sqrt(d) / levels)}[name]


# ------------------------------------------------------------------ exact laws (enumeration)

def randk_law(v, k):
    """``[(probability, Q(v))]`` over the C(d, k) subsets (each with probability 1/C(d, k))."""
    d = v.size
    subsets = list(itertools.combinations(range(d), k))
    out = []
    for S in subsets:
        q = np.zeros(d)
        q[list(S)] = (d / k) * v[list(S)]
        out.append((1.0 / len(subsets), q))
    return out


def coordinate_law(name, v, levels=1):
    """Natural compression and QSGD round each coordinate independently between two values: ``(lo, hi, p)``
    (arrays), ``Q(v)_j = hi_j`` with probability ``p_j``, else ``lo_j``."""
    a = np.abs(v)
    sg = np.where(v >= 0, 1.0, -1.0)
    if name == "natural":
        safe = np.where(a > 0, a, 1.0)
        m, e = np.frexp(safe)
        lo = np.ldexp(1.0, e - 1)
        p = np.where(a > 0, safe / lo - 1.0, 0.0)
        return np.where(a > 0, sg * lo, 0.0), np.where(a > 0, sg * 2 * lo, 0.0), p
    nrm = np.sqrt((v * v).sum())
    r = levels * a / nrm
    lv = np.floor(r)
    return sg * nrm * lv / levels, sg * nrm * (lv + 1) / levels, r - lv


def exact_moments(name, v, k=1, levels=1):
    """``(E Q(v), E ||Q(v) - v||^2)`` computed exactly from the law."""
    if name == "randk":
        law = randk_law(v, k)
        mean = sum(p * q for p, q in law)
        var = sum(p * ((q - v) ** 2).sum() for p, q in law)
        return mean, var
    lo, hi, p = coordinate_law(name, v, levels)
    mean = lo + p * (hi - lo)
    var = ((1 - p) * (lo - v) ** 2 + p * (hi - v) ** 2).sum()
    return mean, var


# ------------------------------------------------------------------ methods

def quadratic_client_grads(A, c, x, sigma=0.0, seed=None, t=0):
    """``grad f_i(x) = A_i (x - c_i)`` for every client: shape ``(..., n, d)`` for x of shape ``(..., d)``; with
    ``sigma > 0`` plus client i's Gaussian draw t (stream i, coordinate j: the normal of counter ``t d + j``,
    Box-Muller on the uniforms at twice that counter and the next)."""
    g = np.einsum("ijk,...ik->...ij", A, x[..., None, :] - c)
    if sigma > 0:
        n, d = c.shape
        sd = np.asarray(seed, dtype=np.uint64)[..., None, None]
        st = np.arange(n, dtype=np.uint64)[:, None]
        cnt = np.uint64(t * d) + np.arange(d, dtype=np.uint64)[None, :]
        u1 = 1.0 - uniform01(np, sd, st, np.uint64(2) * cnt)
        u2 = uniform01(np, sd, st, np.uint64(2) * cnt + np.uint64(1))
        g = g + sigma * (np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2))
    return g


def dcgd(A, c, x0, steps, gamma, seed, name="randk", k=1, levels=1, sigma=0.0):
    """DCGD: ``x <- x - gamma (1/n) sum_i Q_i(grad f_i(x))``. Returns every iterate, shape ``(..., steps+1, d)``
    (seed's shape first)."""
    n, d = c.shape
    seed = np.asarray(seed)
    x = np.broadcast_to(np.asarray(x0, dtype=np.float64), seed.shape + (d,)).copy()
    xs = [x.copy()]
    for t in range(steps):
        g = quadratic_client_grads(A, c, x, sigma, seed, t)
        acc = np.zeros_like(x)
        for i in range(n):
            acc = acc + compress(name, g[..., i, :], draws(seed, n + i, t * d, d), k, levels)
        x = x - gamma * (acc / n)
        xs.append(x.copy())
    return np.stack(xs, axis=-2)


def diana(A, c, x0, steps, gamma, alpha, seed, name="randk", k=1, levels=1, return_h=False, sigma=0.0):
    """DIANA (h_i^0 = 0): ``Delta_i = Q_i(grad f_i(x) - h_i)``, ``g_i = h_i + Delta_i``, ``h_i += alpha Delta_i``,
    ``x <- x - gamma (1/n) sum_i g_i``. Returns every iterate (and the final shifts h if ``return_h``; every
    step's shifts, shape ``(..., steps+1, n, d)``, if ``return_h == "all"``)."""
    n, d = c.shape
    seed = np.asarray(seed)
    x = np.broadcast_to(np.asarray(x0, dtype=np.float64), seed.shape + (d,)).copy()
    h = np.zeros(seed.shape + (n, d))
    xs, hs = [x.copy()], [h.copy()]
    for t in range(steps):
        g = quadratic_client_grads(A, c, x, sigma, seed, t)
        acc = np.zeros_like(x)
        for i in range(n):
            delta = compress(name, g[..., i, :] - h[..., i, :], draws(seed, n + i, t * d, d), k, levels)
            acc = acc + (h[..., i, :] + delta)
            h[..., i, :] = h[..., i, :] + alpha * delta
        x = x - gamma * (acc / n)
        xs.append(x.copy())
        if return_h == "all":
            hs.append(h.copy())
    out = np.stack(xs, axis=-2)
    if return_h == "all":
        return out, np.stack(hs, axis=-3)
    return (out, h) if return_h else out
