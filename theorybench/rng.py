"""Counter-based random numbers: the same draws on any thread count and on any backend.

A draw is a pure function of ``(seed, stream, counter)``: three SplitMix64 finalisations chained
(Steele, Lea, Flood 2014). No generator state is carried between threads, so a sweep computed by
``prange`` gives bit-identical numbers whatever the scheduling, and the NumPy reference code in
``tests/`` reproduces them exactly.

Convention used by every kernel: the k-th stochastic gradient drawn by client ``i`` (k counts from 0
over the whole run), coordinate ``j`` of a ``d``-dimensional problem, uses
``stream = i`` and ``counter = k * d + j``.
"""
import numpy as np
from numba import njit

_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30 = np.uint64(30)
_S27 = np.uint64(27)
_S31 = np.uint64(31)
_S11 = np.uint64(11)
_TWO_M53 = 1.0 / 9007199254740992.0  # 2**-53

NOISE_NONE = 0
NOISE_UNIFORM = 1   # z ~ U(-sigma, sigma]
NOISE_GAUSSIAN = 2  # z ~ N(0, sigma^2)
NOISE_RADEMACHER = 3  # z = +-sigma with probability 1/2 each
NOISE_TRUNCGAUSS = 4  # N(0, (sigma/2)^2) conditioned on |z| <= sigma: bounded, symmetric, unimodal
NOISE_NAMES = {"none": NOISE_NONE, "uniform": NOISE_UNIFORM, "gaussian": NOISE_GAUSSIAN,
               "rademacher": NOISE_RADEMACHER, "truncated-gaussian": NOISE_TRUNCGAUSS}


@njit(cache=True, inline="always")
def _mix(z):
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


@njit(cache=True, inline="always")
def hash3(seed, stream, counter):
    """64-bit hash of three non-negative integers (SplitMix64 chained)."""
    h = _mix(np.uint64(seed) + _GOLDEN)
    h = _mix(h + np.uint64(stream) * _GOLDEN + _GOLDEN)
    return _mix(h + np.uint64(counter) * _GOLDEN + _GOLDEN)


@njit(cache=True, inline="always")
def uniform01(seed, stream, counter):
    """A float64 uniform on [0, 1) with 53 random bits."""
    return np.float64(hash3(seed, stream, counter) >> _S11) * _TWO_M53


@njit(cache=True, inline="always")
def normal01(seed, stream, counter):
    """A standard normal draw: Box-Muller on the uniforms at ``2 counter`` and ``2 counter + 1`` (the same
    numbers as ``noise(NOISE_GAUSSIAN, 1.0, ...)``)."""
    u1 = 1.0 - uniform01(seed, stream, 2 * counter)  # in (0, 1]
    u2 = uniform01(seed, stream, 2 * counter + 1)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)


@njit(cache=True, inline="always")
def add_normal(out, scale, seed, stream, counter):
    """``out += scale z``, ``z`` a standard normal vector (draw ``counter`` of ``stream``), both outputs of each
    Box-Muller pair used: with ``P = ceil(d/2)``, pair ``p`` takes the uniforms at ``2 (counter P + p)`` and
    ``+1`` and gives ``z[2p] = r cos(theta)``, ``z[2p+1] = r sin(theta)`` (half the transcendental work of
    ``normal01`` per coordinate; other numbers)."""
    d = out.shape[0]
    P = (d + 1) // 2
    for p in range(P):
        c = 2 * (counter * P + p)
        r = np.sqrt(-2.0 * np.log(1.0 - uniform01(seed, stream, c)))
        th = 2.0 * np.pi * uniform01(seed, stream, c + 1)
        out[2 * p] += scale * (r * np.cos(th))
        if 2 * p + 1 < d:
            out[2 * p + 1] += scale * (r * np.sin(th))


@njit(cache=True)
def noise(kind, scale, seed, stream, counter):
    """One noise value of the model ``kind`` with scale ``sigma = scale``.

    uniform: ``sigma * (1 - 2u)`` in (-sigma, sigma]; gaussian: Box-Muller on the draws at
    ``2 counter`` and ``2 counter + 1`` of ``stream``; rademacher: the sign of ``u - 1/2``;
    truncated-gaussian: Box-Muller with standard deviation sigma/2, attempt ``t`` using the draws at
    ``2 (64 counter + t)`` and ``+1``, accepted when ``|z| <= sigma`` (64 attempts; the chance that all
    are rejected is 0.0455^64, far below 2^-53).
    """
    if kind == NOISE_NONE or scale == 0.0:
        return 0.0
    if kind == NOISE_UNIFORM:
        return scale * (1.0 - 2.0 * uniform01(seed, stream, counter))
    if kind == NOISE_RADEMACHER:
        return scale if uniform01(seed, stream, counter) < 0.5 else -scale
    if kind == NOISE_TRUNCGAUSS:
        for t in range(64):
            c2 = 2 * (64 * counter + t)
            u1 = 1.0 - uniform01(seed, stream, c2)
            u2 = uniform01(seed, stream, c2 + 1)
            z = 0.5 * scale * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
            if abs(z) <= scale:
                return z
        return 0.0
    u1 = 1.0 - uniform01(seed, stream, 2 * counter)  # in (0, 1]
    u2 = uniform01(seed, stream, 2 * counter + 1)
    return scale * np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
