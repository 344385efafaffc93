"""Pieces every trajectory kernel shares: norms, clipped steps, stochastic gradients, and the per-round
observation (running statistics, recording on the schedule, divergence)."""
import numpy as np
from numba import njit

from ..families import client_grad, global_value_grad
from ..rng import noise

# per-trajectory running statistics (computed every round, not from the sparse trace)
S_DIVERGED_ROUND = 0    # first round that is not healthy (see healthy; -1: never)
S_MIN_GRAD_NORM = 1     # min_r ||grad f(x_r)||
S_ARGMIN_ROUND = 2      # the round attaining it
S_CLIPPED_FRACTION = 3  # fraction of clipping decisions that clipped
S_MAX_ABS_X = 4         # max_r ||x_r||_inf
S_FIRST_BELOW = 5       # first round with ||grad f(x_r)|| <= target (-1: never)
S_GRAD_SUM = 6          # sum_{s <= r} ||grad f(x_s)|| over the rounds run
S_FIRST_AVG_BELOW = 7   # first round r with (1/(r+1)) sum_{s <= r} ||grad f(x_s)|| <= target (-1: never)
N_STATS = 8
STAT_NAMES = ("diverged_round", "min_grad_norm", "argmin_round", "clipped_fraction", "max_abs_x",
              "first_below_target", "grad_norm_sum", "first_average_below_target")

DIVERGENCE_BOUND = 1e150  # below sqrt(max float64) ~ 1.34e154: the square of a quantity within it is finite


@njit(cache=True, inline="always")
def healthy(xmax, loss, gn, xmax_before):
    """The divergence rule, one definition for every backend: is round r healthy? A run diverges at its
    first round that is not. With ``xmax = max_j |x_j|`` at x_r, ``loss = f(x_r)``, ``gn = ||grad f(x_r)||``
    (the rescaled :func:`norm`) and ``xmax_before`` the largest ``xmax`` of the earlier rounds (+inf at
    round 0, which has none), round r is healthy iff

    1. ``x_r``, ``f(x_r)`` and ``||grad f(x_r)||`` are finite (not inf, not NaN) and ``xmax < 1e150``; and
    2. if ``|f(x_r)|`` or ``||grad f(x_r)||`` is ``>= 1e150``, the iterate is coming back in:
       ``xmax < xmax_before``.

    1e150 sits just below sqrt(max float64) ~ 1.34e154: past it a quantity's square overflows (a plain
    ``||g||^2`` is inf) and an unclipped step overflows within a step or two. A run out there that is still
    moving out, or no longer moves, has left float64's working range: EPISODE with gamma = 1e6 jumps to
    x = 4.7e70 (f = 4.8e282) and freezes, since its clipped step of length 1e6 is absorbed by |x|. A run
    that walks back in is left alone (clipped steps from a gradient of 1e204, which :func:`norm` keeps
    at length gamma). Scalars (the kernels) or arrays of rows (the array backend calls ``healthy.py_func``:
    ``<``, ``abs``, ``&`` and ``|`` act elementwise; NaN fails every comparison)."""
    big = DIVERGENCE_BOUND
    return ((xmax < big) & (abs(loss) < np.inf) & (gn < np.inf)
            & (((abs(loss) < big) & (gn < big)) | (xmax < xmax_before)))


@njit(cache=True, inline="always")
def norm(g):
    """``||g||_2``, rescaled when the plain sum of squares overflows or underflows (a gradient of 1e200
    must still give a finite clipped step, and one of 1e-170 a nonzero norm): then
    ``m sqrt(sum_j (g_j/m)^2)`` with ``m = max_j |g_j|``; NaN if a coordinate is NaN, inf if one is
    infinite. The array backend's ``_norm`` computes the same numbers (same branches, same order)."""
    s = 0.0
    for j in range(g.shape[0]):
        s += g[j] * g[j]
    if s < 1e300 and s > 1e-300:
        return np.sqrt(s)
    if np.isnan(s):  # (s == 0 goes on: squares of 1e-170 underflow to 0 and must not give a zero norm)
        return s
    m = 0.0
    for j in range(g.shape[0]):
        m = max(m, abs(g[j]))
    if m == 0.0 or not np.isfinite(m):
        return m
    s = 0.0
    for j in range(g.shape[0]):
        t = g[j] / m
        s += t * t
    return m * np.sqrt(s)


@njit(cache=True, inline="always")
def is_clipped(gnorm, eta, gamma, convention):
    """step convention (0): ``||g|| > gamma/eta``; gradient convention (1): ``||g|| > gamma``."""
    if convention == 0:
        return gnorm > gamma / eta
    return gnorm > gamma


@njit(cache=True, inline="always")
def step(y, g, eta, gamma, convention, clip):
    """``y <- y - step``; a clipped step is ``length * g/||g||`` (exact cancellations stay exact);
    a zero direction takes no clipped step."""
    if clip:
        n = norm(g)
        if n == 0.0:
            return
        length = gamma if convention == 0 else eta * gamma
        for j in range(y.shape[0]):
            y[j] -= length * (g[j] / n)
    else:
        for j in range(y.shape[0]):
            y[j] -= eta * g[j]


@njit(cache=True, inline="always")
def stoch_grad(family, c, y, out, nkind, nscale, nmask, seed, client, counter):
    """``grad f_i(y) + z``: coordinate j of client i's k-th draw uses stream i, counter ``k d + j``;
    coordinates with ``nmask[j] == 0`` are noise-free."""
    client_grad(family, c, y, out)
    d = y.shape[0]
    for j in range(d):
        if nmask[j] != 0.0:
            out[j] += noise(nkind, nscale, seed, client, counter * d + j)


@njit(cache=True, inline="always")
def init_stats(st):
    st[S_DIVERGED_ROUND] = -1.0
    st[S_MIN_GRAD_NORM] = np.inf
    st[S_ARGMIN_ROUND] = 0.0
    st[S_CLIPPED_FRACTION] = 0.0
    st[S_MAX_ABS_X] = 0.0
    st[S_FIRST_BELOW] = -1.0
    st[S_GRAD_SUM] = 0.0
    st[S_FIRST_AVG_BELOW] = -1.0


@njit(cache=True, inline="always")
def _fill_nan(p, out_x, out_loss, out_gnorm):
    while p < out_loss.shape[0]:
        out_loss[p] = np.nan
        out_gnorm[p] = np.nan
        for j in range(out_x.shape[1]):
            out_x[p, j] = np.nan
        p += 1


@njit(cache=True, inline="always")
def observe(family, params, x, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st, gf, gtmp):
    """Evaluate f and ||grad f|| at ``x_r``, then :func:`observe_values`."""
    loss = global_value_grad(family, params, x, gf, gtmp)
    return observe_values(x, loss, norm(gf), r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st)


@njit(cache=True, inline="always")
def observe_values(x, loss, gn, r, target, rec_rounds, p, out_x, out_loss, out_gnorm, st):
    """The observation of ``x_r`` with its ``loss`` and gradient norm ``gn``: update the running statistics,
    record if ``r`` is the next scheduled round. Returns the next record position, or -1 when the run ends
    here: it diverged (the rest of the trace is NaN and ``st[S_DIVERGED_ROUND] = r``), or ``target < 0``
    asked to stop at the first round whose running average of ``||grad f||`` is ``<= |target|`` (the rest
    of the trace is NaN; used by scaling-law sweeps, which only need the crossing round).

    Divergence is decided here, by :func:`healthy`, for every kernel that observes through this function
    (federated, single, scaffold, localgdj, steepest, muon); the array backend applies the same
    :func:`healthy` to the same numbers, and the logistic kernel its log-domain transcription."""
    d = x.shape[0]
    xmax = 0.0
    for j in range(d):
        a = abs(x[j])
        if a > xmax or a != a:  # NaN-propagating max (the builtin max would drop a NaN coordinate)
            xmax = a
    if not healthy(xmax, loss, gn, st[S_MAX_ABS_X] if r > 0 else np.inf):
        st[S_DIVERGED_ROUND] = r
        _fill_nan(p, out_x, out_loss, out_gnorm)
        return -1
    level = abs(target)
    st[S_MAX_ABS_X] = max(st[S_MAX_ABS_X], xmax)
    if gn < st[S_MIN_GRAD_NORM]:
        st[S_MIN_GRAD_NORM] = gn
        st[S_ARGMIN_ROUND] = r
    if st[S_FIRST_BELOW] < 0 and gn <= level:
        st[S_FIRST_BELOW] = r
    st[S_GRAD_SUM] += gn
    if st[S_FIRST_AVG_BELOW] < 0 and st[S_GRAD_SUM] <= level * (r + 1):
        st[S_FIRST_AVG_BELOW] = r
    if p < rec_rounds.shape[0] and rec_rounds[p] == r:
        out_loss[p] = loss
        out_gnorm[p] = gn
        for j in range(d):
            out_x[p, j] = x[j]
        p += 1
    if target < 0.0 and st[S_FIRST_AVG_BELOW] >= 0:
        _fill_nan(p, out_x, out_loss, out_gnorm)
        return -1
    return p
