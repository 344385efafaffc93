"""Client participation: which clients take part in round r, drawn from counter-based streams.

Draws are a pure function of (seed, round, position), on a stream no client's noise uses, so a run
is reproducible at any thread count and the NumPy references reproduce it.

- uniform: S of the N clients, uniformly without replacement (a partial Fisher-Yates shuffle).
- cyclic (Amplified SCAFFOLD): K groups ``{i : i mod K = k}``; with period P, the group available in
  round r is ``floor((r mod P) / (P / K))``; S clients are drawn uniformly without replacement from it.
"""
from numba import njit

from .rng import uniform01

SAMPLING_STREAM = 1 << 40  # client noise uses streams 0..N-1
UNIFORM = 0
CYCLIC = 1
PARTICIPATION = {"uniform": UNIFORM, "cyclic": CYCLIC}


@njit(cache=True)
def available_clients(mode, n, groups, period, r, out):
    """Write the clients available in round ``r`` into ``out``; return their number."""
    if mode == CYCLIC and groups > 1:
        per = period // groups
        g = (r % period) // per if per > 0 else 0
        if g >= groups:
            g = groups - 1
        m = 0
        for i in range(n):
            if i % groups == g:
                out[m] = i
                m += 1
        return m
    for i in range(n):
        out[i] = i
    return n


@njit(cache=True)
def sample_clients(seed, r, avail, m, S, out):
    """Draw ``min(S, m)`` of the ``m`` clients in ``avail[:m]`` without replacement into ``out``
    (``avail`` is permuted in place); ``S <= 0`` means all of them. Returns the number drawn."""
    if S <= 0 or S >= m:
        for k in range(m):
            out[k] = avail[k]
        return m
    for k in range(S):
        u = uniform01(seed, SAMPLING_STREAM, r * 1048576 + k)
        j = k + int(u * (m - k))
        if j >= m:
            j = m - 1
        t = avail[k]
        avail[k] = avail[j]
        avail[j] = t
        out[k] = avail[k]
    return S


def sample_clients_reference(seed, r, avail, S):
    """Plain-Python twin of :func:`sample_clients` (for references and tests)."""
    avail = list(avail)
    m = len(avail)
    if S <= 0 or S >= m:
        return avail
    for k in range(S):
        u = float(uniform01(seed, SAMPLING_STREAM, r * 1048576 + k))
        j = min(k + int(u * (m - k)), m - 1)
        avail[k], avail[j] = avail[j], avail[k]
    return avail[:S]
