"""Measurements: rate fits with confidence intervals over seeds, statistical comparisons and transition
detectors. scipy is imported lazily."""
import math

import numpy as np


def _t_quantile(level, dof):
    from scipy import stats
    return stats.t.ppf(0.5 + level / 2, dof) if dof > 0 else np.inf


def mean_ci(samples, level=0.95):
    """Mean and two-sided Student-t confidence interval ``(mean, lo, hi)`` of 1-D ``samples``."""
    a = np.asarray(samples, dtype=np.float64).ravel()
    m = a.mean()
    if a.size < 2:
        return m, -np.inf, np.inf
    half = _t_quantile(level, a.size - 1) * a.std(ddof=1) / math.sqrt(a.size)
    return m, m - half, m + half


def fit_power_law(x, y, level=0.95):
    """Fit ``y ~ C x^p`` by least squares in log-log.

    ``y`` is 1-D (one curve) or 2-D ``(n_seeds, len(x))``: the exponent is fitted per seed and the
    result is the mean exponent with a t-interval over seeds. Returns ``dict(slope, lo, hi, intercept,
    per_seed)``. Non-positive or non-finite points are dropped from a seed's fit.
    """
    x = np.asarray(x, dtype=np.float64)
    Y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    slopes, icepts = [], []
    for row in Y:
        ok = (x > 0) & (row > 0) & np.isfinite(row)
        if ok.sum() < 2:
            continue
        p, c = np.polyfit(np.log(x[ok]), np.log(row[ok]), 1)
        slopes.append(p)
        icepts.append(c)
    if not slopes:
        return {"slope": np.nan, "lo": np.nan, "hi": np.nan, "intercept": np.nan, "per_seed": []}
    if len(slopes) == 1:
        row = Y[0]
        ok = (x > 0) & (row > 0) & np.isfinite(row)
        lx, ly = np.log(x[ok]), np.log(row[ok])
        n = lx.size
        if n > 2:
            resid = ly - (slopes[0] * lx + icepts[0])
            se = math.sqrt(resid @ resid / (n - 2) / ((lx - lx.mean()) @ (lx - lx.mean())))
            half = _t_quantile(level, n - 2) * se
        else:
            half = np.inf
        return {"slope": slopes[0], "lo": slopes[0] - half, "hi": slopes[0] + half,
                "intercept": icepts[0], "per_seed": slopes}
    m, lo, hi = mean_ci(slopes, level)
    return {"slope": m, "lo": lo, "hi": hi, "intercept": float(np.mean(icepts)), "per_seed": slopes}


def fit_linear_rate(t, y, level=0.95):
    """Fit ``y_t ~ C q^t`` (linear convergence): returns ``dict(q, lo, hi)`` with the contraction
    factor ``q`` (per unit of ``t``), per seed when ``y`` is 2-D, as for :func:`fit_power_law`."""
    t = np.asarray(t, dtype=np.float64)
    Y = np.atleast_2d(np.asarray(y, dtype=np.float64))
    logs = []
    for row in Y:
        ok = (row > 0) & np.isfinite(row)
        if ok.sum() >= 2:
            logs.append(np.polyfit(t[ok], np.log(row[ok]), 1)[0])
    if not logs:
        return {"q": np.nan, "lo": np.nan, "hi": np.nan}
    m, lo, hi = mean_ci(logs, level) if len(logs) > 1 else (logs[0], logs[0], logs[0])
    return {"q": math.exp(m), "lo": math.exp(lo), "hi": math.exp(hi), "per_seed": [math.exp(v) for v in logs]}


def first_crossing(values, threshold, index=None, below=True):
    """The first index (or ``index[k]``) where ``values <= threshold`` (``>=`` when ``below=False``);
    ``None`` if never."""
    v = np.asarray(values)
    hit = v <= threshold if below else v >= threshold
    k = np.flatnonzero(hit)
    if k.size == 0:
        return None
    return int(k[0] if index is None else index[k[0]])


def last_increase(values, rtol=1e-12):
    """``1 + `` the last index ``t`` with ``values[t+1] > values[t] (1 + rtol)`` (0 if monotone):
    after it the sequence is non-increasing."""
    v = np.asarray(values, dtype=np.float64)
    inc = np.flatnonzero(v[1:] > v[:-1] * (1 + rtol) + 0.0)
    return 0 if inc.size == 0 else int(inc[-1] + 1)


def clopper_pearson(k, n, level=0.95):
    """Exact binomial confidence interval for ``k`` successes in ``n`` trials."""
    from scipy import stats
    a = (1 - level) / 2
    lo = 0.0 if k == 0 else stats.beta.ppf(a, k, n - k + 1)
    hi = 1.0 if k == n else stats.beta.ppf(1 - a, k + 1, n - k)
    return lo, hi


def probability_at_most(hits, runs, bound, level=0.95):
    """Verdict for "P(event) <= bound" from ``hits`` of ``runs`` seeded runs: FAIL only if the lower
    Clopper-Pearson bound exceeds ``bound``. Returns ``dict(ok, fraction, lo, hi, resolvable)``;
    ``resolvable`` is False when even 0 hits could not push the upper bound below ``bound`` (too few runs
    to confirm so small a probability)."""
    lo, hi = clopper_pearson(hits, runs, level)
    return {"ok": bool(lo <= bound), "fraction": hits / runs, "lo": lo, "hi": hi,
            "resolvable": bool(clopper_pearson(0, runs, level)[1] < bound)}


def phase_change(steps, grad_norm, gap, level, level_tail=0.5):
    """Two-phase detector: where ``||grad f||`` first drops below ``level`` (e.g. ``L0/L1`` for
    (L0,L1)-GD, Lobanov et al.), and the fitted behaviour of ``gap = f - f*`` on each side.

    steps, grad_norm, gap: 1-D traces on the same (increasing) steps. Returns a dict:
    ``crossing`` (the first step with ``grad_norm < level``, None if never), ``index`` (its position),
    ``ratios_before`` / ``ratios_after`` (per-step contraction factors ``gap[k+1]/gap[k]`` on consecutive
    recorded steps, normalised to one step), ``rate_before`` (the linear rate fitted to the gap before
    the crossing, :func:`fit_linear_rate`), ``power_after`` (the power law ``gap ~ C (t - t_c)^p`` fitted on
    the last ``level_tail`` fraction of the steps after the crossing, :func:`fit_power_law`), and
    ``q_after_end`` (the mean per-step contraction over that tail: close to 1 for a sublinear phase)."""
    t = np.asarray(steps, dtype=np.float64)
    gn = np.asarray(grad_norm, dtype=np.float64)
    gp = np.asarray(gap, dtype=np.float64)
    below = np.flatnonzero(gn < level)
    out = {"crossing": None, "index": None, "ratios_before": np.array([]), "ratios_after": np.array([]),
           "rate_before": None, "power_after": None, "q_after_end": None}
    dt = np.diff(t)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = (gp[1:] / gp[:-1]) ** (1.0 / dt)
    if below.size == 0:
        out["ratios_before"] = ratios
        if gp.size >= 2:
            out["rate_before"] = fit_linear_rate(t, gp)
        return out
    k = int(below[0])
    out.update(crossing=float(t[k]), index=k, ratios_before=ratios[:max(k - 1, 0)], ratios_after=ratios[k:])
    if k >= 2:
        out["rate_before"] = fit_linear_rate(t[:k], gp[:k])
    ta, ga = t[k:] - t[k], gp[k:]
    m = ta.size
    if m >= 4:
        s = int(m * (1.0 - level_tail))
        ok = slice(max(s, 1), m)
        out["power_after"] = fit_power_law(ta[ok], ga[ok])
        r = ratios[k:][max(s, 1) - 1:]
        r = r[np.isfinite(r)]
        out["q_after_end"] = float(np.exp(np.mean(np.log(r)))) if r.size else None
    return out
