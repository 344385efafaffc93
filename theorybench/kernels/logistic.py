"""Separable logistic regression with large stepsizes, as one whole-trajectory kernel (Wu, Bartlett,
Telgarsky, Yu, COLT 2024; Wu, Braverman, Lee, NeurIPS 2023; Crawshaw, Liu, COLT 2026; Local GD: Crawshaw,
Woodworth, Liu, ICLR 2025 / ICML 2025).

Problem as data: the folded points ``z_i = y_i x_i`` of client m are ``Z[m, :counts[m], :]`` (one client
for plain GD). The global objective is ``F(w) = (1/M) sum_m F_m(w)``, ``F_m(w) = (1/n_m) sum_{i in m}
ell(<w, z_i>)`` (the **mean** loss; with equal client sizes it is the mean over all points), with
``ell(a) = log(1 + exp(-a))`` (logistic) or ``exp(-a)`` (exponential). w0 = 0 by default.

Numerics (docs/conventions.md, section "Separable logistic regression"):
    * the loss is carried as ``log F`` (a log-sum-exp of ``log ell(a_i)``; ``log ell`` from
      ``logaddexp(0, -a)`` for moderate a and ``-a - exp(-a)/2`` beyond a = 18.4), so losses like 1e-685
      are represented; traces keep ``log F`` and ``log ||grad F||`` (the gradient is formed as
      ``exp(m) v`` with ``m = max_i log phi_i``, ``phi = -ell'``, a stable sigmoid);
    * the **float64 horizon**: the first step with ``eta ||grad F|| < 10 eps ||w||``, after which GD
      freezes bit-for-bit; invariant checks stop there (statistic ``horizon_step``);
    * a loss increase counts only when ``log F_{t+1} > log F_t + log1p(rtol)`` (``rtol`` slot, 1e-12);
    * divergence (``diverged_round``) follows ``kernels.common.healthy``, transcribed to what this kernel
      carries (``||w||_2`` for max_j |x_j|, ``log F`` and ``log ||grad F||`` against ``log 1e150``): step t
      diverged iff w, log F or log ||grad F|| is not finite (a zero gradient's -inf excepted) or
      ``||w|| >= 1e150``, or F or ||grad F|| is ``>= 1e150`` while ``||w||`` is not below its largest
      earlier value (t > 0);
    * ``running = 0`` (GD and exp-GD): the loss is evaluated only on recorded steps (and at the end); the
      running statistics that need it between records (tau_mono, the tau_c, the increase counts, the
      recursion check, the WBTY average-loss bound) are NaN ("not computed"); the divergence rule is
      applied exactly as above (on the fast path below every ``|a_i| < 700``, so F < 701 and
      ``||grad F|| <= max_i ||z_i||`` are finite: only ``w`` and the gradient are tested); ``stop_below`` > 0
      needs the loss every step and turns the running statistics back on;
    * the plain-GD fast path (GD, one client, n >= 16 points; ``evaluate_d2`` for d = 2 with scalar state,
      ``evaluate_soa`` otherwise): the points' coordinates as contiguous arrays (the rows of a (d, n)
      array), the margins first into a buffer, then ``exp(-|a_i|)`` over the buffer by
      :func:`exp_neg_abs` (a range reduction and a degree-13 polynomial written so that LLVM vectorises
      it: this Numba build has no SVML; within 1 ulp of ``math.exp``, not bit-identical), the sigmoid, the
      gradient in four fixed-order partial sums per coordinate, the loss terms when needed; the steps
      between records with ``running = 0`` and ``checks = 0`` run in a compact loop (``gd2_steps``,
      ``soa_steps``). Not bit-identical to the general path (the exp, the sums' order), within rounding
      (tests/test_logistic.py); the same bits on every thread count and for ``running`` 0 and 1;
    * ``checks = 0`` skips the per-step invariant checks (recursion, WBTY bounds, perceptron inequality;
      their statistics stay 0): the transition times, horizon and divergence are always computed;
    * ``stop_below`` > 0 ends a run at the first t with ``F(w_t) <= stop_below/eta_eff`` (for transition-time
      sweeps: with ||x|| <= 1 nothing changes after tau_{2/eta} for ``stop_below = 2``); the rest of the
      trace is NaN and ``final_log_loss`` is the loss there.

Algorithms (``algo`` code); one step is one round (K local steps for the local methods):
    GD (0)          ``w <- w - eta grad F(w)`` on the logistic loss.
    GD_EXP (1)      the same on the exponential loss.
    LOCAL_GD (2)    every client runs K steps ``u <- u - eta grad F_m(u)`` from w_r; ``w_{r+1} = mean_m u_m``.
    TWO_STAGE (3)   Local GD with eta_1 (``eta``) until ``F(w_r) <= switch_c gamma^2/(eta_2 K M)``, then eta_2.
    PERCEPTRON (4)  batch perceptron ``w <- w + sum_{i: <w, z_i> <= 0} z_i`` (ties count).

Running statistics (every step, see ``STAT_NAMES``); transition thresholds use the effective stepsize
``eta_eff = eta`` (GD) or ``eta K`` (local methods; the stable-phase GD equivalent of CWL):
    tau_mono = 1 + last t with an increase; tau_{c} = first t with F(w_t) <= c for c in 2/eta_eff,
    1/eta_eff, 1/(8 eta_eff); t_all_positive = first t with min_i <w_t, z_i> > 0;
    increases_after_2_eta: increases at a t with F(w_t) <= 2/eta_eff (WBTY stability lemma: 0);
    recursion_*: for tau_{1/(8 eta)} <= t < horizon, ``1/F(w_{t+1}) - 1/F(w_t)`` against
    ``eta gamma^2/8`` (CL Thm 2.1), counted as a violation below ``(1 - 1e-9)`` of it, and its min ratio;
    perceptron_violations: steps with ``<w_{t+1} - w_t, w*> <= 0`` before the horizon (from the update);
    avg_bound_violations / norm_bound_violations: WBTY Thm 1's two bounds at every t with gamma^2 eta t > 1.
"""
import math

import numpy as np
from numba import njit, prange

GD = 0
GD_EXP = 1
LOCAL_GD = 2
TWO_STAGE = 3
PERCEPTRON = 4

SLOTS = ("eta", "local_steps", "eta2", "switch_c", "rtol", "stop_below", "checks", "running")
DEFAULTS = {"eta": 1.0, "local_steps": 1, "eta2": 1.0, "switch_c": 1.0 / 42.0, "rtol": 1e-12, "stop_below": 0.0,
            "checks": 1, "running": 1}
H_ETA, H_K, H_ETA2, H_SWITCH, H_RTOL, H_STOP, H_CHECKS, H_RUNNING = range(8)

STAT_NAMES = ("diverged_round", "tau_mono", "tau_2_eta", "tau_1_eta", "tau_8_eta", "t_all_positive",
              "loss_increases", "increases_after_2_eta", "recursion_violations", "recursion_min_ratio",
              "horizon_step", "frozen_step", "perceptron_violations", "avg_bound_violations",
              "norm_bound_violations", "final_log_loss", "max_norm", "switch_round", "min_margin")
N_STATS = len(STAT_NAMES)
(S_DIV, S_TMONO, S_T2, S_T1, S_T8, S_TPOS, S_INC, S_INC2, S_RECV, S_RECMIN, S_HOR, S_FROZEN, S_PERC,
 S_AVGV, S_NORMV, S_FINAL, S_MAXN, S_SWITCH, S_MINMARGIN) = range(N_STATS)

DIVERGENCE_BOUND = 1e150
LOG_DIVERGENCE_BOUND = math.log(DIVERGENCE_BOUND)  # F, ||grad F|| are carried in logs
EPS = 2.220446049250313e-16
RECURSION_RTOL = 1e-9  # rounding allowance of the 1/F recursion check, fixed a priori
# statistics that need the loss at every step (NaN with running = 0)
LOSS_STATS = (S_TMONO, S_T2, S_T1, S_T8, S_INC, S_INC2, S_RECV, S_RECMIN, S_AVGV)
# exp by range reduction x = k log 2 + r, |r| <= log(2)/2 (Cody-Waite split of log 2), Taylor to r^13
FAST2_MIN_POINTS = 16  # below, the general path is as fast or faster with the loss every step (n = 2 to 12 measured)
LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01  # trailing zero bits: k LN2_HI is exact for |k| < 2^11
LN2_LO = 1.90821492927058770002e-10


@njit(cache=True, inline="always")
def log_ell(a, kind):
    """``log ell(a)``: logistic ``log(log(1 + exp(-a)))``, exact to rounding for every a; exp: ``-a``."""
    if kind == 1:
        return -a
    if a < 18.4:
        return math.log(max(0.0, -a) + math.log1p(math.exp(-abs(a))))
    u = math.exp(-a)
    return -a - 0.5 * u


@njit(cache=True, inline="always")
def log_phi(a, kind):
    """``log(-ell'(a))``: logistic ``log sigma(-a) = -logaddexp(0, a)``; exp: ``-a``."""
    if kind == 1:
        return -a
    return -(max(a, 0.0) + math.log1p(math.exp(-abs(a))))


@njit(cache=True, inline="always")
def phi(a, kind):
    """``-ell'(a)``: the stable sigmoid ``sigma(-a)`` (logistic) or ``exp(-a)`` (may overflow: divergence)."""
    if kind == 1:
        return math.exp(-a)
    if a >= 0.0:
        e = math.exp(-a)
        return e / (1.0 + e)
    return 1.0 / (1.0 + math.exp(a))


@njit(cache=True, inline="always")
def dot_row(w, R, d):
    """``<w, R>`` over d coordinates with four independent partial sums (a fixed order: deterministic,
    and the dependency chain is broken so LLVM can use SIMD lanes without fastmath)."""
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    s3 = 0.0
    j = 0
    while j + 4 <= d:
        s0 += w[j] * R[j]
        s1 += w[j + 1] * R[j + 1]
        s2 += w[j + 2] * R[j + 2]
        s3 += w[j + 3] * R[j + 3]
        j += 4
    while j < d:
        s0 += w[j] * R[j]
        j += 1
    return (s0 + s1) + (s2 + s3)


@njit(cache=True)
def evaluate(kind, Z, counts, w, lbuf, g):
    """``(log F(w), m, vn, min_i <w, z_i>)`` with ``||grad F(w)|| = exp(m) sqrt(vn)``; fills ``g = grad F(w)``.

    lbuf: scratch of size 2 M nmax. Fast path (logistic loss, every margin below 700, so every
    ``ell(a_i)`` and ``phi(a_i)`` is a normal float64 or a harmless underflow of a term much smaller than the
    largest): the sums in the linear domain, one ``exp`` and one ``log1p`` per point. Otherwise (the
    exponential loss, or a margin beyond 700) the log domain: ``log F`` by log-sum-exp of ``log ell``, and
    the gradient as ``exp(m) v`` with ``m = max_i log phi_i + log weight_i``.
    """
    M = Z.shape[0]
    d = Z.shape[2]
    nmax = Z.shape[1]
    amin = np.inf
    amax = -np.inf
    for m in range(M):
        for i in range(counts[m]):
            a = dot_row(w, Z[m, i], d)
            lbuf[2 * (m * nmax + i)] = a
            amin = min(amin, a)
            amax = max(amax, a)
    for j in range(d):
        g[j] = 0.0
    if kind == 0 and amin > -700.0 and amax < 700.0:
        # linear domain: ell = max(0, -a) + log1p(e), phi = sigma(-a), e = exp(-|a|); every term is a
        # normal float64 (|a| < 700)
        s = 0.0
        for m in range(M):
            wt = 1.0 / (counts[m] * M)
            for i in range(counts[m]):
                a = lbuf[2 * (m * nmax + i)]
                e = math.exp(-abs(a))
                if a >= 0.0:
                    ell = math.log1p(e)
                    ph = e / (1.0 + e)
                else:
                    ell = -a + math.log1p(e)
                    ph = 1.0 / (1.0 + e)
                s += wt * ell
                c = wt * ph
                for j in range(d):
                    g[j] -= c * Z[m, i, j]
        vn = 0.0
        for j in range(d):
            vn += g[j] * g[j]
        return math.log(s), 0.0, vn, amin
    lmax = -np.inf
    pmax = -np.inf
    logM = math.log(M)
    for m in range(M):
        lw = -math.log(counts[m]) - logM
        for i in range(counts[m]):
            a = lbuf[2 * (m * nmax + i)]
            le = log_ell(a, kind) + lw
            lp = log_phi(a, kind) + lw
            lbuf[2 * (m * nmax + i)] = le
            lbuf[2 * (m * nmax + i) + 1] = lp
            lmax = max(lmax, le)
            pmax = max(pmax, lp)
    s = 0.0
    for m in range(M):
        for i in range(counts[m]):
            s += math.exp(lbuf[2 * (m * nmax + i)] - lmax)
            c = math.exp(lbuf[2 * (m * nmax + i) + 1] - pmax)
            for j in range(d):
                g[j] -= c * Z[m, i, j]
    logF = lmax + math.log(s)
    vn = 0.0
    for j in range(d):
        vn += g[j] * g[j]
    scale = math.exp(pmax)
    for j in range(d):
        g[j] *= scale
    return logF, pmax, vn, amin


@njit(cache=True, inline="always")
def exp_neg_abs(a, e, ib, fb, n):
    """``e[i] = exp(-|a_i|)`` for ``|a_i| < 700`` (normal results), within 1 ulp of ``math.exp``.

    Branch-free and call-free so that LLVM vectorises the loop (no SVML here): ``k = floor(x log2 e +
    1/2)``, ``r = (x - k ln2_hi) - k ln2_lo``, ``exp(r)`` by Horner on the Taylor series to r^13
    (truncation below 1e-17 relative for |r| <= 0.347), times ``2^k`` built from its bits (``ib``, int64,
    viewed as float64 by ``fb``). Only IEEE operations in a fixed order: the same bits on every thread
    count and CPU (no fastmath, no contraction)."""
    for i in range(n):
        x = -abs(a[i])
        kf = math.floor(x * LOG2E + 0.5)
        r = (x - kf * LN2_HI) - kf * LN2_LO
        p = 1.0 / 6227020800.0
        p = p * r + 1.0 / 479001600.0
        p = p * r + 1.0 / 39916800.0
        p = p * r + 1.0 / 3628800.0
        p = p * r + 1.0 / 362880.0
        p = p * r + 1.0 / 40320.0
        p = p * r + 1.0 / 5040.0
        p = p * r + 1.0 / 720.0
        p = p * r + 1.0 / 120.0
        p = p * r + 1.0 / 24.0
        p = p * r + 1.0 / 6.0
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        e[i] = p
        ib[i] = (np.int64(kf) + 1023) << 52
    for i in range(n):
        e[i] *= fb[i]


@njit(cache=True)
def exp_neg_abs_array(a):
    """:func:`exp_neg_abs` on a 1-D array (tests)."""
    n = a.shape[0]
    e = np.empty(n)
    ib = np.empty(n, np.int64)
    exp_neg_abs(a, e, ib, ib.view(np.float64), n)
    return e


@njit(cache=True, inline="always")
def _log_loss_from_margins(a, e, wt, n):
    """``(log F, min_i a_i)`` from the margins ``a`` and ``e_i = exp(-|a_i|)``: F = sum_i wt log(1 + exp(-a_i))
    in the stable form (``log1p(e)``, plus ``-a`` for a negative margin)."""
    amin = np.inf
    s = 0.0
    for i in range(n):
        ai = a[i]
        amin = min(amin, ai)
        ell = math.log1p(e[i]) if ai >= 0.0 else -ai + math.log1p(e[i])
        s += wt * ell
    return math.log(s), amin


@njit(cache=True, inline="always")
def evaluate_d2(x0, x1, w0, w1, need_loss, a, e, cb, ib, fb):
    """GD, logistic loss, one client, d = 2 (points ``(x0[i], x1[i])``, n = ``x0.size``): ``(ok, log F,
    g0, g1, amin, all_positive)``; ``ok`` False (nothing computed) unless w is finite and every margin is in
    (-700, 700), then the caller takes :func:`evaluate`. ``log F`` and ``amin = min_i a_i`` are computed
    only if ``need_loss`` (0.0 and NaN otherwise); ``all_positive``: every ``a_i > 0``. The range test and
    the sign count are integer sums (vectorised; a float min is not, without fastmath). Buffers of size n."""
    n = x0.shape[0]
    if not (math.isfinite(w0) and math.isfinite(w1)):
        return False, 0.0, 0.0, 0.0, np.nan, False
    bad = 0
    npos = 0
    for i in range(n):
        v = w0 * x0[i] + w1 * x1[i]
        a[i] = v
        bad += 0 if abs(v) < 700.0 else 1  # NaN counts as bad
        npos += 1 if v > 0.0 else 0
    if bad != 0:
        return False, 0.0, 0.0, 0.0, np.nan, False
    exp_neg_abs(a, e, ib, fb, n)
    wt = 1.0 / n
    for i in range(n):  # stable sigmoid phi = sigma(-a) = e/(1 + e) (a >= 0) or 1/(1 + e): one division
        ei = e[i]
        cb[i] = wt * ((ei if a[i] >= 0.0 else 1.0) / (1.0 + ei))
    # four partial sums per coordinate over i mod 4 (a fixed order), then (s0 + s1) + (s2 + s3)
    r0 = 0.0
    r1 = 0.0
    r2 = 0.0
    r3 = 0.0
    q0 = 0.0
    q1 = 0.0
    q2 = 0.0
    q3 = 0.0
    i = 0
    while i + 4 <= n:
        r0 -= cb[i] * x0[i]
        q0 -= cb[i] * x1[i]
        r1 -= cb[i + 1] * x0[i + 1]
        q1 -= cb[i + 1] * x1[i + 1]
        r2 -= cb[i + 2] * x0[i + 2]
        q2 -= cb[i + 2] * x1[i + 2]
        r3 -= cb[i + 3] * x0[i + 3]
        q3 -= cb[i + 3] * x1[i + 3]
        i += 4
    while i < n:
        r0 -= cb[i] * x0[i]
        q0 -= cb[i] * x1[i]
        i += 1
    g0 = (r0 + r1) + (r2 + r3)
    g1 = (q0 + q1) + (q2 + q3)
    logF = 0.0
    amin = np.nan
    if need_loss:
        logF, amin = _log_loss_from_margins(a, e, wt, n)
    return True, logF, g0, g1, amin, npos == n


@njit(cache=True, inline="always")
def evaluate_soa(X, w, g, need_loss, a, e, cb, ib, fb):
    """:func:`evaluate_d2` for any d: the points' coordinates as the rows of ``X`` (d, n), w and g arrays.
    Returns ``(ok, log F, ||g||^2, amin, all_positive)`` and fills ``g`` when ok. The margins are summed
    over j in order (``((w_0 x_0 + w_1 x_1) + w_2 x_2) + ...``: the general path's bits for d <= 3), the
    gradient's coordinates in four fixed-order partial sums over i."""
    d = X.shape[0]
    n = X.shape[1]
    for j in range(d):
        if not math.isfinite(w[j]):
            return False, 0.0, 0.0, np.nan, False
    w0 = w[0]
    for i in range(n):
        a[i] = w0 * X[0, i]
    for j in range(1, d):
        wj = w[j]
        for i in range(n):
            a[i] += wj * X[j, i]
    bad = 0
    npos = 0
    for i in range(n):
        v = a[i]
        bad += 0 if abs(v) < 700.0 else 1  # NaN counts as bad
        npos += 1 if v > 0.0 else 0
    if bad != 0:
        return False, 0.0, 0.0, np.nan, False
    exp_neg_abs(a, e, ib, fb, n)
    wt = 1.0 / n
    for i in range(n):
        ei = e[i]
        cb[i] = wt * ((ei if a[i] >= 0.0 else 1.0) / (1.0 + ei))
    vn = 0.0
    for j in range(d):
        r0 = 0.0
        r1 = 0.0
        r2 = 0.0
        r3 = 0.0
        i = 0
        while i + 4 <= n:
            r0 -= cb[i] * X[j, i]
            r1 -= cb[i + 1] * X[j, i + 1]
            r2 -= cb[i + 2] * X[j, i + 2]
            r3 -= cb[i + 3] * X[j, i + 3]
            i += 4
        while i < n:
            r0 -= cb[i] * X[j, i]
            i += 1
        gj = (r0 + r1) + (r2 + r3)
        g[j] = gj
        vn += gj * gj
    logF = 0.0
    amin = np.nan
    if need_loss:
        logF, amin = _log_loss_from_margins(a, e, wt, n)
    return True, logF, vn, amin, npos == n


@njit(cache=True, error_model="numpy")
def soa_steps(X, w, wp, t, t_next, eta, st):
    """:func:`gd2_steps` for any d (``X`` (d, n), w and wp arrays), with :func:`evaluate_soa`."""
    d = X.shape[0]
    n = X.shape[1]
    abuf = np.empty(n)
    ebuf = np.empty(n)
    cbuf = np.empty(n)
    ibuf = np.empty(n, np.int64)
    fbuf = ibuf.view(np.float64)
    g = np.empty(d)
    maxn = st[S_MAXN]
    tpos = st[S_TPOS]
    hor = st[S_HOR]
    frozen = st[S_FROZEN]
    lim = 100.0 * EPS * EPS
    while t < t_next:
        ok, _, vn, _, allpos = evaluate_soa(X, w, g, False, abuf, ebuf, cbuf, ibuf, fbuf)
        if not ok:
            break
        wn2 = 0.0
        for j in range(d):
            wn2 += w[j] * w[j]
        if not (vn >= 0.0 and vn < 1e298 and wn2 < DIVERGENCE_BOUND * DIVERGENCE_BOUND):
            break
        if wn2 > maxn * maxn:
            maxn = math.sqrt(wn2)
        if tpos < 0 and allpos:
            tpos = t
        if hor < 0 and vn * eta * eta < lim * wn2:
            hor = t
        same = True
        for j in range(d):
            nj = w[j] - eta * g[j]
            if nj != w[j]:
                same = False
            wp[j] = w[j]
            w[j] = nj
        if same and frozen < 0:
            frozen = t
        t += 1
    st[S_MAXN] = maxn
    st[S_TPOS] = tpos
    st[S_HOR] = hor
    st[S_FROZEN] = frozen
    return t


@njit(cache=True, error_model="numpy")
def gd2_steps(x0, x1, w, wp, t, t_next, eta, st):
    """Plain GD, d = 2, from ``w = w_t`` (``wp = w_{t-1}``) through the steps before ``t_next`` that need
    no loss (no record, running statistics off, checks off): :func:`logistic_trajectory`'s loop body in
    scalars (max norm, t_all_positive, horizon, frozen step, the same update), leaving at the first step
    off the fast path or near a divergence bound (the general body decides there). Returns the step
    reached; ``w``, ``wp`` and ``st`` are updated. ``error_model="numpy"`` (as in a ``prange`` body): with
    Python's model every float division carries a zero test and raise, which stops LLVM from vectorising
    the per-point loops of :func:`evaluate_d2` (measured 1.4x slower). No division here can be by zero
    (``1 + e >= 1``, n >= 1)."""
    n = x0.shape[0]
    abuf = np.empty(n)
    ebuf = np.empty(n)
    cbuf = np.empty(n)
    ibuf = np.empty(n, np.int64)
    fbuf = ibuf.view(np.float64)
    v0 = w[0]
    v1 = w[1]
    p0 = wp[0]
    p1 = wp[1]
    maxn = st[S_MAXN]
    tpos = st[S_TPOS]
    hor = st[S_HOR]
    frozen = st[S_FROZEN]
    lim = 100.0 * EPS * EPS
    while t < t_next:
        ok, _, g0, g1, _, allpos = evaluate_d2(x0, x1, v0, v1, False, abuf, ebuf, cbuf, ibuf, fbuf)
        if not ok:
            break
        vn = 0.0 + g0 * g0 + g1 * g1
        wn2 = 0.0 + v0 * v0 + v1 * v1
        if not (vn >= 0.0 and vn < 1e298 and wn2 < DIVERGENCE_BOUND * DIVERGENCE_BOUND):
            break
        if wn2 > maxn * maxn:
            maxn = math.sqrt(wn2)
        if tpos < 0 and allpos:
            tpos = t
        if hor < 0 and vn * eta * eta < lim * wn2:
            hor = t
        n0 = v0 - eta * g0
        n1 = v1 - eta * g1
        if n0 == v0 and n1 == v1 and frozen < 0:
            frozen = t
        p0 = v0
        p1 = v1
        v0 = n0
        v1 = n1
        t += 1
    w[0] = v0
    w[1] = v1
    wp[0] = p0
    wp[1] = p1
    st[S_MAXN] = maxn
    st[S_TPOS] = tpos
    st[S_HOR] = hor
    st[S_FROZEN] = frozen
    return t


@njit(cache=True)
def client_grad(kind, Zm, nm, u, out):
    """``grad F_m(u) = -(1/n_m) sum_i phi(<u, z_i>) z_i``."""
    d = Zm.shape[1]
    for j in range(d):
        out[j] = 0.0
    for i in range(nm):
        a = dot_row(u, Zm[i], d)
        c = phi(a, kind) / nm
        for j in range(d):
            out[j] -= c * Zm[i, j]


@njit(cache=True, inline="always")
def eta_eff_of(algo, hyper):
    """The effective stepsize of the transition thresholds: eta (GD) or eta K (local methods)."""
    if algo == LOCAL_GD or algo == TWO_STAGE:
        return hyper[H_ETA] * int(hyper[H_K])
    return hyper[H_ETA]


@njit(cache=True)
def logistic_trajectory(algo, Z, counts, hyper, w0, margin, wstar, rounds, rec_rounds, out_w, out_logF,
                        out_loggn, st):
    """Run one configuration for ``rounds`` steps/rounds; record ``w``, ``log F``, ``log ||grad F||`` at
    ``rec_rounds`` (sorted, with 0 and the last); fill the running statistics ``st``."""
    M = Z.shape[0]
    d = Z.shape[2]
    eta = hyper[H_ETA]
    K = int(hyper[H_K])
    eta2 = hyper[H_ETA2]
    rtol = hyper[H_RTOL]
    stop = hyper[H_STOP]
    checks = hyper[H_CHECKS] != 0.0
    running = hyper[H_RUNNING] != 0.0 or stop > 0 or algo == TWO_STAGE  # the loss at every step
    log_10eps = math.log(10.0 * EPS)
    log_stop = math.log(stop / eta_eff_of(algo, hyper)) if stop > 0 else -np.inf
    kind = 1 if algo == GD_EXP else 0
    local = algo == LOCAL_GD or algo == TWO_STAGE
    eta_eff = eta * K if local else eta
    l2 = math.log(2.0 / eta_eff)
    l1 = math.log(1.0 / eta_eff)
    l8 = math.log(1.0 / (8.0 * eta_eff))
    linc = math.log1p(rtol)
    gam = margin
    rec_c = eta * gam * gam / 8.0
    log_rec_c = math.log(rec_c) if rec_c > 0 else -np.inf
    switch_level = hyper[H_SWITCH] * gam * gam / (eta2 * K * M) if algo == TWO_STAGE else 0.0
    log_switch = math.log(switch_level) if switch_level > 0 else -np.inf
    has_wstar = False
    for j in range(d):
        if wstar[j] != 0.0:
            has_wstar = True

    w = w0.copy()
    wn = np.empty(d)
    g = np.empty(d)
    gm = np.empty(d)
    u = np.empty(d)
    acc = np.empty(d)
    lbuf = np.empty(2 * M * Z.shape[1])
    # the d = 2 plain-GD path: coordinates as contiguous arrays, scalar gradient
    n0 = counts[0]
    fast2 = algo == GD and M == 1 and d == 2 and n0 >= FAST2_MIN_POINTS
    x0 = np.empty(n0)
    x1 = np.empty(n0)
    if fast2:
        for i in range(n0):
            x0[i] = Z[0, i, 0]
            x1[i] = Z[0, i, 1]
    # the same for d != 2: the coordinates as the rows of X (d, n)
    fastd = algo == GD and M == 1 and d != 2 and n0 >= FAST2_MIN_POINTS
    X = np.empty((d if fastd else 1, n0))
    if fastd:
        for j in range(d):
            for i in range(n0):
                X[j, i] = Z[0, i, j]
    abuf = np.empty(n0)
    ebuf = np.empty(n0)
    cbuf = np.empty(n0)
    ibuf = np.empty(n0, np.int64)
    fbuf = ibuf.view(np.float64)
    wp = w0.copy()  # w_{t-1}: the last healthy loss when it was not evaluated
    lite = (fast2 or fastd) and not running and not checks
    for k in range(N_STATS):
        st[k] = -1.0
    st[S_TMONO] = 0.0
    st[S_INC] = 0.0
    st[S_INC2] = 0.0
    st[S_RECV] = 0.0
    st[S_RECMIN] = np.inf
    st[S_PERC] = 0.0
    st[S_AVGV] = 0.0
    st[S_NORMV] = 0.0
    st[S_MAXN] = 0.0
    st[S_MINMARGIN] = np.inf

    cur_eta = eta
    logS = -np.inf  # log sum_{k < t} F(w_k)
    prev_logF = 0.0
    p = 0
    nrec = rec_rounds.shape[0]
    final_t = -1
    have_loss = True
    ok = False
    if fast2:
        ok, logF, g0, g1, amin, allpos = evaluate_d2(x0, x1, w[0], w[1], True, abuf, ebuf, cbuf, ibuf, fbuf)
        g[0] = g0
        g[1] = g1
        vn = 0.0 + g0 * g0 + g1 * g1
    elif fastd:
        ok, logF, vn, amin, allpos = evaluate_soa(X, w, g, True, abuf, ebuf, cbuf, ibuf, fbuf)
    if ok:
        gm_log = 0.0
    else:
        logF, gm_log, vn, amin = evaluate(kind, Z, counts, w, lbuf, g)
        allpos = amin > 0.0
    t = 0
    while True:
        wn2 = 0.0
        for j in range(d):
            wn2 += w[j] * w[j]
        # kernels.common.healthy in this kernel's terms; log ||grad F(w_t)||: -inf for a zero gradient
        # (linear domain with ||grad F||^2 < 1e298: 0.5 log vn < 343.2 < log 1e150, no log needed)
        if gm_log == 0.0 and vn >= 0.0 and vn < 1e298:
            g_fin = True
            g_below = True
        else:
            lgn = gm_log + 0.5 * math.log(vn) if vn > 0.0 else (-np.inf if vn == 0.0 else np.nan)
            g_fin = lgn < np.inf
            g_below = lgn < LOG_DIVERGENCE_BOUND
        # without the loss (fast path only): F < 701, finite
        lf_ok = not have_loss or (math.isfinite(logF) and logF < LOG_DIVERGENCE_BOUND)
        if not ((not have_loss or math.isfinite(logF)) and g_fin
                and wn2 < DIVERGENCE_BOUND * DIVERGENCE_BOUND
                and ((lf_ok and g_below) or (t > 0 and math.sqrt(wn2) < st[S_MAXN]))):
            st[S_DIV] = t
            if final_t != t - 1 and t > 0:  # log F and min margin at the last healthy step w_{t-1}
                lf_prev, _, _, am_prev = evaluate(kind, Z, counts, wp, lbuf, acc)
                st[S_FINAL] = lf_prev
                st[S_MINMARGIN] = am_prev
            while p < rec_rounds.shape[0]:
                out_logF[p] = np.nan
                out_loggn[p] = np.nan
                for j in range(d):
                    out_w[p, j] = np.nan
                p += 1
            break
        # ---- observe w_t
        if wn2 > st[S_MAXN] * st[S_MAXN]:
            st[S_MAXN] = math.sqrt(wn2)
        if have_loss:
            st[S_MINMARGIN] = amin
        if running and t > 0:
            if logF > prev_logF + linc:
                st[S_INC] += 1
                st[S_TMONO] = t  # 1 + (t - 1)
                if prev_logF <= l2:
                    st[S_INC2] += 1
            if checks and st[S_T8] >= 0 and st[S_T8] <= t - 1 and st[S_HOR] < 0:
                # 1/F_t - 1/F_{t-1} = exp(-prev) expm1(prev - logF), in logs
                dl = prev_logF - logF
                if dl > 0:
                    lr = -prev_logF + math.log(math.expm1(dl)) - log_rec_c
                    ratio = math.exp(min(lr, 700.0))
                else:
                    ratio = -1.0
                st[S_RECMIN] = min(st[S_RECMIN], ratio)
                if ratio < 1.0 - RECURSION_RTOL:
                    st[S_RECV] += 1
        if checks and gam > 0 and t > 0:
            q = gam * gam * eta * t
            if q > 1.0:
                lq = math.log(q)
                if running and logS - math.log(t) > math.log((1.0 + lq * lq + eta * eta / 4.0) / q):
                    st[S_AVGV] += 1
                if math.sqrt(wn2) > (math.sqrt(2.0) + 2.0 * lq + eta) / gam:
                    st[S_NORMV] += 1
        if running:
            if st[S_T2] < 0 and logF <= l2:
                st[S_T2] = t
            if st[S_T1] < 0 and logF <= l1:
                st[S_T1] = t
            if st[S_T8] < 0 and logF <= l8:
                st[S_T8] = t
        if st[S_TPOS] < 0 and allpos:
            st[S_TPOS] = t
        if st[S_HOR] < 0 and t > 0 and algo != PERCEPTRON:
            # eta ||grad F|| < 10 eps ||w||, squared (linear domain) or in logs
            if gm_log == 0.0:
                hit = vn * cur_eta * cur_eta < 100.0 * EPS * EPS * wn2
            else:
                hit = vn == 0.0 or gm_log + 0.5 * math.log(vn) < log_10eps + 0.5 * math.log(wn2) - math.log(cur_eta)
            if hit:
                st[S_HOR] = t
        if p < rec_rounds.shape[0] and rec_rounds[p] == t:
            out_logF[p] = logF
            out_loggn[p] = gm_log + 0.5 * math.log(vn) if vn > 0.0 else -np.inf
            for j in range(d):
                out_w[p, j] = w[j]
            p += 1
        if have_loss:
            st[S_FINAL] = logF
            final_t = t
        if t >= rounds:
            break
        if logF <= log_stop:  # early stop asked for (the rest of the trace is NaN)
            while p < rec_rounds.shape[0]:
                out_logF[p] = np.nan
                out_loggn[p] = np.nan
                for j in range(d):
                    out_w[p, j] = np.nan
                p += 1
            break
        if checks and running:
            logS = np.logaddexp(logS, logF)
        prev_logF = logF
        # ---- step t -> t + 1
        if algo == TWO_STAGE and st[S_SWITCH] < 0 and logF <= log_switch:
            st[S_SWITCH] = t
            cur_eta = eta2
        if algo == GD or algo == GD_EXP:
            for j in range(d):
                wn[j] = w[j] - cur_eta * g[j]
        elif algo == PERCEPTRON:
            for j in range(d):
                wn[j] = w[j]
            for m in range(M):
                for i in range(counts[m]):
                    a = 0.0
                    for j in range(d):
                        a += w[j] * Z[m, i, j]
                    if a <= 0.0:
                        for j in range(d):
                            wn[j] += Z[m, i, j]
        else:
            for j in range(d):
                acc[j] = 0.0
            for m in range(M):
                for j in range(d):
                    u[j] = w[j]
                for k in range(K):
                    client_grad(kind, Z[m], counts[m], u, gm)
                    for j in range(d):
                        u[j] -= cur_eta * gm[j]
                for j in range(d):
                    acc[j] += u[j]
            for j in range(d):
                wn[j] = acc[j] / M
        same = True
        inc = 0.0
        for j in range(d):
            if wn[j] != w[j]:
                same = False
            inc += (wn[j] - w[j]) * wstar[j]
        if same and st[S_FROZEN] < 0:
            st[S_FROZEN] = t
        if checks and has_wstar and st[S_HOR] < 0 and not inc > 0.0:
            st[S_PERC] += 1
        for j in range(d):
            wp[j] = w[j]
            w[j] = wn[j]
        t += 1
        if lite:
            # the steps up to the next record with what they need (nothing of the loss): the general
            # loop body above for GD on the fast path, healthy, checks off, in scalars; anything else
            # (a margin past 700, a gradient or iterate near the divergence bounds) leaves to it
            if fast2:
                t = gd2_steps(x0, x1, w, wp, t, rec_rounds[p] if p < nrec else rounds, cur_eta, st)
            else:
                t = soa_steps(X, w, wp, t, rec_rounds[p] if p < nrec else rounds, cur_eta, st)
        need = running or (p < nrec and rec_rounds[p] == t)
        ok = False
        if fast2:
            ok, logF, g0, g1, amin, allpos = evaluate_d2(x0, x1, w[0], w[1], need, abuf, ebuf, cbuf, ibuf, fbuf)
            g[0] = g0
            g[1] = g1
            vn = 0.0 + g0 * g0 + g1 * g1
        elif fastd:
            ok, logF, vn, amin, allpos = evaluate_soa(X, w, g, need, abuf, ebuf, cbuf, ibuf, fbuf)
        if ok:
            gm_log = 0.0
            have_loss = need
        else:
            logF, gm_log, vn, amin = evaluate(kind, Z, counts, w, lbuf, g)
            allpos = amin > 0.0
            have_loss = True
    if not running:
        for k in LOSS_STATS:
            st[k] = np.nan


@njit(cache=True, parallel=True, nogil=True)
def batch(algo, Z, counts, hyper, w0, margin, wstar, rounds, rec_rounds, out_w, out_logF, out_loggn,
          out_stats):
    """``prange`` over configurations c: ``Z[c]`` (M, nmax, d), ``counts[c]`` (M,), ``hyper[c]``, ``w0[c]``,
    ``margin[c]`` (gamma of the data as run, used by the invariant checks), ``wstar[c]`` (unit, or 0)."""
    for c in prange(hyper.shape[0]):
        logistic_trajectory(algo, Z[c], counts[c], hyper[c], w0[c], margin[c], wstar[c], rounds, rec_rounds,
                            out_w[c], out_logF[c], out_loggn[c], out_stats[c])


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra=None):
    """The runner's hook (``theorybench.runner.run_batch``): pack the logistic problems (any mix of
    shapes: padded to the largest), run :func:`batch`, return ``(rec, w, loss, grad_norm, stats)``;
    ``extra`` (a dict) receives ``traces`` (``log_loss``, ``log_grad_norm``) and ``stat_names``."""
    from ..errors import TheoryBenchError
    if backend != "numba":
        raise TheoryBenchError(f"algorithm {alg.name!r} runs on backend='numba' only, got {backend!r}")
    n = len(problems)
    for p in problems:
        if not hasattr(p, "Z"):
            raise TheoryBenchError(f"algorithm {alg.name!r} needs a logistic data problem (with folded data "
                                   f"z_i = y_i x_i), got {p.name!r}")
    M = max(p.Z.shape[0] for p in problems)
    nmax = max(p.Z.shape[1] for p in problems)
    d = max(p.dim for p in problems)
    out_x = np.full((n, rec.size, d), np.nan)
    out_l = np.full((n, rec.size), np.nan)
    out_g = np.full((n, rec.size), np.nan)
    out_s = np.zeros((n, N_STATS))
    groups = {}
    for c, p in enumerate(problems):
        groups.setdefault((p.Z.shape, alg.code), []).append(c)
    for (shape, code), idx in groups.items():
        idx = np.asarray(idx)
        Zs = np.ascontiguousarray(np.stack([problems[c].Z for c in idx]))
        cnt = np.ascontiguousarray(np.stack([problems[c].counts for c in idx]).astype(np.int64))
        hyper = np.ascontiguousarray(np.stack([alg.pack(settings[c]) for c in idx]))
        dim = shape[2]
        w0 = np.ascontiguousarray(np.stack([np.asarray(x0s[c], dtype=np.float64).reshape(dim) for c in idx]))
        mg = np.asarray([problems[c].margin for c in idx], dtype=np.float64)
        ws = np.ascontiguousarray(np.stack([problems[c].wstar if problems[c].wstar is not None else np.zeros(dim)
                                            for c in idx]).astype(np.float64))
        ow = np.empty((idx.size, rec.size, dim))
        ol = np.empty((idx.size, rec.size))
        og = np.empty((idx.size, rec.size))
        os_ = np.empty((idx.size, N_STATS))
        batch(code, Zs, cnt, hyper, w0, mg, ws, int(rounds), rec, ow, ol, og, os_)
        out_x[idx, :, :dim] = ow
        out_l[idx] = ol
        out_g[idx] = og
        out_s[idx] = os_
    if extra is not None:
        extra["traces"] = {"log_loss": out_l.copy(), "log_grad_norm": out_g.copy()}
        extra["stat_names"] = STAT_NAMES
    with np.errstate(over="ignore", under="ignore"):
        return rec, out_x, np.exp(out_l), np.exp(out_g), out_s


def accepts(problem):
    """The runner's compatibility test: logistic data problems (folded data ``Z``)."""
    return hasattr(problem, "Z")
