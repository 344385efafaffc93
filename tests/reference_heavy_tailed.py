"""Plain NumPy reference for ``sgd`` and ``clipped-sgd`` on the heavy-tailed instances (problems/heavy_tailed.py),
vectorised over runs (one row per seed), with the same counter-based draws as the kernels: written from the
module docstrings (SplitMix64 of theorybench.rng, the noise laws' inverse-CDF / polar forms), not from the
kernels' code. Also the NumPy peer of benchmarks/bench_heavy_tailed.py.

    g_t = grad f(x_t) + z_t,  z_t = draw t of stream 0 (coordinate j: counter t d + j)
    sgd:          x_{t+1} = x_t - gamma_t g_t
    clipped-sgd:  x_{t+1} = x_t - gamma_t min(1, lam / ||g_t||) g_t
    gamma_t = gamma (constant) or gamma / (t + 1) (harmonic)
"""
import numpy as np

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z):
    z = (z ^ (z >> np.uint64(30))) * _M1
    z = (z ^ (z >> np.uint64(27))) * _M2
    return z ^ (z >> np.uint64(31))


def uniform01(seed, stream, counter):
    """SplitMix64 chained over (seed, stream, counter) (uint64 arithmetic wraps), top 53 bits in [0, 1)."""
    seed, counter = np.broadcast_arrays(np.asarray(seed, dtype=np.uint64), np.asarray(counter, dtype=np.uint64))
    with np.errstate(over="ignore"):
        h = _mix(seed + _GOLDEN)
        h = _mix(h + np.uint64(stream) * _GOLDEN + _GOLDEN)
        h = _mix(h + counter * _GOLDEN + _GOLDEN)
    return (h >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def pareto(seed, stream, counter, alpha):
    """Standard symmetric Lomax: inverse CDF on v = 1 - u in (0, 1]."""
    v = 1.0 - uniform01(seed, stream, counter)
    pos = v > 0.5
    p = np.where(pos, 2.0 * v - 1.0, 2.0 * v)
    mag = p ** (-1.0 / alpha) - 1.0
    return np.where(pos, mag, -mag)


def student(seed, stream, counter, nu, attempts=64):
    """Student-t with nu degrees of freedom, Bailey's polar method, attempt r on counters 2(64 c + r), +1."""
    counter = np.asarray(counter, dtype=np.int64)
    seed, counter = np.broadcast_arrays(np.asarray(seed), counter)
    z = np.zeros(counter.shape)
    done = np.zeros(counter.shape, dtype=bool)
    for r in range(attempts):
        c2 = 2 * (attempts * counter + r)
        u = 2.0 * uniform01(seed, stream, c2) - 1.0
        v = 2.0 * uniform01(seed, stream, c2 + 1) - 1.0
        w = u * u + v * v
        take = ~done & (w > 0.0) & (w <= 1.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            zt = u * np.sqrt(nu * (w ** (-2.0 / nu) - 1.0) / w)
        z = np.where(take, zt, z)
        done |= take
        if done.all():
            break
    return z


def gaussian(seed, stream, counter):
    u1 = 1.0 - uniform01(seed, stream, 2 * np.asarray(counter))
    u2 = uniform01(seed, stream, 2 * np.asarray(counter) + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


def noise(kind, seeds, t, d, sigma, alpha):
    """``(runs, d)``: draw t of stream 0 for each seed (coordinate j at counter t d + j)."""
    seeds = np.asarray(seeds, dtype=np.uint64)[:, None]
    c = t * d + np.arange(d, dtype=np.int64)[None, :]
    if kind == "none":
        return np.zeros((seeds.shape[0], d))
    if kind == "pareto":
        return sigma * pareto(seeds, 0, c, alpha)
    if kind == "student":
        return sigma * student(seeds, 0, c, alpha)
    if kind == "gaussian":
        return sigma * gaussian(seeds, 0, c)
    raise ValueError(kind)


def grad_quadratic(h, xstar):
    return lambda x: h * (x - xstar)


def grad_logcosh(w, xstar, s):
    return lambda x: w * s * np.tanh((x - xstar) / s)


def reference_run(method, grad, x0, steps, seeds, noise_kind, sigma=1.0, alpha=1.5, gamma=0.1, lam=1.0,
                  schedule="constant"):
    """Final iterates ``(runs, d)`` and the running max of ``max_j |x_j|`` per run after ``steps`` steps."""
    seeds = np.asarray(seeds)
    d = np.asarray(x0).size
    x = np.tile(np.asarray(x0, dtype=np.float64), (seeds.size, 1))
    big = np.abs(x).max(axis=1)
    for t in range(steps):
        g = grad(x) + noise(noise_kind, seeds, t, d, sigma, alpha)
        s = gamma if schedule == "constant" else gamma / (t + 1.0)
        if method == "clipped-sgd":
            nrm = np.sqrt((g * g).sum(axis=1))
            with np.errstate(divide="ignore"):
                scale = np.where(nrm > lam, lam / nrm, 1.0)
            x = x - (s * scale)[:, None] * g
        else:
            x = x - s * g
        big = np.maximum(big, np.abs(x).max(axis=1))
    return x, big
