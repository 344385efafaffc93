"""Assertions for a researcher's own CI: a claim holds as declared, a fitted rate lies in an interval, a
transition happens where predicted, two methods are ordered.

Each assertion takes what :func:`theorybench.run` / :func:`theorybench.sweep` return (a
:class:`~theorybench.results.RunResult`, a :class:`~theorybench.results.SweepResult`, a list of run
results, one per seed), so a user-defined method that produces those objects is checked the same way;
:func:`assert_rate` and :func:`assert_contraction` also take a plain ``(x, y)`` pair. On success an
assertion returns what it measured; on failure it raises :class:`AssertionError` whose message gives the
measured value, the prediction, the confidence interval and the data behind them, in a few lines.
Bad arguments raise :class:`~theorybench.errors.TheoryBenchError` naming the parameter.

Statistics (scipy.stats):

- rate ``y ~ C x^p`` (:func:`assert_rate`): ``p`` by least squares on ``(log x, log y)``
  (:func:`theorybench.measure.fit_power_law`, per seed). One curve: the interval is
  ``stats.t.interval`` with the slope's standard error from ``stats.linregress`` (n - 2 degrees of
  freedom); several seeds: ``stats.t.interval`` over the per-seed exponents (mean, standard error of the
  mean, n_seeds - 1 degrees of freedom).
- contraction ``y_t ~ C q^t`` (:func:`assert_contraction`): ``log q`` by least squares on
  ``(t, log y)`` (:func:`theorybench.measure.fit_linear_rate`), interval as above, mapped by ``exp``.
- ordering by proportion (:func:`assert_ordered`, ``how="proportion"``): the exact one-sided binomial
  interval ``stats.binomtest(k, n, p, alternative="greater").proportion_ci(level)``; by mean: a paired
  one-sided ``stats.t.interval`` on the differences.

A one-sided prediction (``interval=(None, hi)`` or ``(lo, None)``) is judged with the one-sided bound at
``level`` (the end of the two-sided interval at ``2 level - 1``).

Example (a test in a user's repository)::

    import theorybench as tb
    from theorybench.testing import assert_rate

    def test_gd_on_x4_converges_like_t_minus_2():
        res = tb.run("monomial", "gd", steps=2000, eta=0.1, problem_settings={"p": 4})
        assert_rate(res, interval=(-2.1, -1.9), y="loss", window=(100, None))   # f(x_t) ~ t^(-p/(p-2))
"""
from dataclasses import dataclass, field
import math
import numbers

import numpy as np

from .errors import TheoryBenchError

__all__ = ["assert_claim", "assert_rate", "assert_contraction", "assert_transition", "assert_ordered",
           "Measurement"]

REQUIRE = ("ci", "estimate", "overlap")


# ------------------------------------------------------------------ what an assertion measured

@dataclass
class Measurement:
    """What an assertion measured: ``estimate`` with its confidence interval ``(lo, hi)`` at ``level``
    (``sided``: ``"two-sided"``, ``"upper"``, ``"lower"``; ``"range"``: lo, hi are the min and max over
    seeds), one value per seed in ``per_seed`` (labelled by ``labels``), and a one-line description of
    the data (``data``)."""
    what: str
    estimate: float
    lo: float
    hi: float
    level: float
    sided: str
    per_seed: list = field(default_factory=list)
    labels: list = field(default_factory=list)
    data: str = ""
    method: str = ""

    def __str__(self):
        if self.sided == "range":
            return f"{self.what} = {_g(self.estimate)} (over seeds: [{_g(self.lo)}, {_g(self.hi)}])"
        ci = (f"{self.level:.0%} CI [{_g(self.lo)}, {_g(self.hi)}]" if self.sided == "two-sided" else
              f"{self.level:.0%} one-sided bound {'<=' if self.sided == 'upper' else '>='} "
              f"{_g(self.hi if self.sided == 'upper' else self.lo)}")
        return f"{self.what} = {_g(self.estimate)}, {ci}"


def _g(v, nan="nan"):
    if v is None:
        return "None"
    try:
        v = float(v)
    except (TypeError, ValueError):
        return str(v)
    if math.isnan(v):
        return nan
    return str(int(v)) if v.is_integer() and abs(v) < 1e9 else f"{v:.4g}"


def _short(values, n=4, nan="nan"):
    """A compact text of a sequence: all of it when short, else its ends."""
    v = [_g(a, nan) for a in np.ravel(np.asarray(values, dtype=object))]
    return "[" + ", ".join(v if len(v) <= 2 * n else v[:n] + ["..."] + v[-n:]) + "]"


def _fail(title, lines):
    raise AssertionError(title + "\n" + "\n".join(f"  {k + ':':<11}{v}" for k, v in lines if v != ""))


# ------------------------------------------------------------------ argument checks

def _level(level):
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0 < level < 1:
        raise TheoryBenchError(f"parameter 'level' must be a confidence level in (0, 1), got {level!r}")
    return float(level)


def _bounds(value, name, allow_none=False):
    """A pair (lo, hi) of numbers or None (an open end), lo <= hi, not both None."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, (tuple, list)) and len(value) == 2
    if ok:
        for v in value:
            if v is not None and (isinstance(v, bool) or not isinstance(v, numbers.Real) or math.isnan(v)):
                ok = False
    if not ok or value[0] is None and value[1] is None:
        hint = " (or None: the event must never happen)" if allow_none else ""
        raise TheoryBenchError(f"parameter {name!r} must be a pair (lo, hi) of numbers, one end may be None "
                               f"for a one-sided bound{hint}; got {value!r:.200}")
    lo, hi = value
    if lo is not None and hi is not None and lo > hi:
        raise TheoryBenchError(f"parameter {name!r} must have lo <= hi, got {value!r}")
    return (None if lo is None else float(lo), None if hi is None else float(hi))


def _choice(value, name, choices):
    if value not in choices:
        raise TheoryBenchError(f"parameter {name!r} must be one of {', '.join(map(repr, choices))}, "
                               f"got {value!r:.200}")
    return value


def _sided(interval):
    lo, hi = interval
    return "two-sided" if lo is not None and hi is not None else "upper" if lo is None else "lower"


def _text_interval(interval):
    lo, hi = interval
    if lo is None:
        return f"<= {_g(hi)}"
    if hi is None:
        return f">= {_g(lo)}"
    return f"in [{_g(lo)}, {_g(hi)}]"


def _inside(v, interval):
    lo, hi = interval
    return (lo is None or v >= lo) and (hi is None or v <= hi)


# ------------------------------------------------------------------ data from results

def _is_sweep(r):
    return hasattr(r, "dims") and hasattr(r, "coords") and hasattr(r, "loss")


def _is_run(r):
    return hasattr(r, "loss") and hasattr(r, "rounds") and not hasattr(r, "dims")


def _describe(r):
    return f"{getattr(r, 'algorithm', '?')} on {getattr(r, 'problem', '?')}"


def _quantity(r, y, name="y"):
    """The per-record array ``y`` of a run or a sweep: ``loss``, ``grad_norm``, ``x_norm`` or a trace."""
    if y in ("loss", "grad_norm"):
        return np.asarray(getattr(r, y), dtype=np.float64)
    if y == "x_norm":
        return np.linalg.norm(np.asarray(r.x, dtype=np.float64), axis=-1)
    traces = getattr(r, "traces", {}) or {}
    if y in traces:
        return np.asarray(traces[y], dtype=np.float64)
    from .errors import unknown
    raise unknown(f"quantity (parameter {name!r})", y, ["loss", "grad_norm", "x_norm", *traces])


def _check_sel(r, sel, free):
    """Validate ``sel`` against a sweep's axes; every axis but those in ``free`` must be fixed."""
    sel = {} if sel is None else sel
    if not hasattr(sel, "items"):
        raise TheoryBenchError(f"parameter 'sel' must be a dict {{axis: value}}, got {sel!r:.200}")
    for k, v in sel.items():
        if k not in r.dims:
            from .errors import unknown
            raise unknown("sweep axis (parameter 'sel')", k, r.dims)
        if v not in list(r.coords[k]):
            raise TheoryBenchError(f"parameter 'sel': {k}={v!r} is not on the axis (values: "
                                   f"{list(r.coords[k])})")
    left = [d for d in r.dims if d not in sel and d not in free]
    if left:
        raise TheoryBenchError(f"parameter 'sel' must fix the sweep axes {left} (e.g. sel={{{left[0]!r}: "
                               f"{list(r.coords[left[0]])[0]!r}}}); the axes left free are {list(free)}")
    return dict(sel)


def _sweep_array(r, arr, sel, free):
    """``arr`` (leading axes r.dims) at ``sel``, its remaining axes in the order ``free`` (present ones)."""
    idx = r.index(**sel)
    out = np.asarray(arr)[idx]
    rest = [d for d in r.dims if d not in sel]
    order = [rest.index(d) for d in free if d in rest]
    order += list(range(len(rest), out.ndim))
    return np.transpose(out, order), [d for d in free if d in rest]


def _curves(result, y, time, sel, param="result"):
    """Trajectories of ``result`` as ``(t, Y, labels, description)``: ``t`` the record times (rounds or
    steps), ``Y`` one row per seed."""
    _choice(time, "time", ("round", "step"))
    if _is_run(result):
        t = result.rounds if time == "round" else result.steps
        return (np.asarray(t, dtype=np.float64), _quantity(result, y)[None, :],
                [f"seed {getattr(result, 'seed', '?')}"], _describe(result))
    if _is_sweep(result):
        sel = _check_sel(result, sel, ("seed",))
        Y, rest = _sweep_array(result, _quantity(result, y), sel, ("seed",))
        steps, _ = _sweep_array(result, result.steps, sel, ("seed",))
        Y = Y.reshape(-1, Y.shape[-1])
        t = result.rounds if time == "round" else steps.reshape(-1, steps.shape[-1])[0]
        seeds = list(result.coords["seed"]) if rest else []
        where = ", ".join(f"{k}={v}" for k, v in sel.items())
        return (np.asarray(t, dtype=np.float64), Y, [f"seed {s}" for s in seeds] or ["-"],
                _describe(result) + (f" ({where})" if where else ""))
    if isinstance(result, (list, tuple)) and result and all(_is_run(r) for r in result):
        t0 = result[0].rounds if time == "round" else result[0].steps
        for r in result[1:]:
            t1 = r.rounds if time == "round" else r.steps
            if np.shape(t1) != np.shape(t0) or not np.array_equal(t1, t0):
                raise TheoryBenchError(f"parameter {param!r}: the runs must share one record schedule")
        Y = np.stack([_quantity(r, y) for r in result])
        return (np.asarray(t0, dtype=np.float64), Y, [f"seed {getattr(r, 'seed', '?')}" for r in result],
                _describe(result[0]))
    raise TheoryBenchError(f"parameter {param!r} must be a RunResult, a SweepResult or a list of RunResults"
                           f" (one per seed), got {type(result).__name__}")


def _xy(data, y, x, time, sel, window):
    """``(x, Y, labels, description, xname, yname)`` for a rate fit: a plain ``(x, y)`` pair, trajectories
    against time, or (``x`` an axis of a sweep) a final value or running statistic against that axis."""
    if isinstance(data, tuple) and len(data) == 2 and not any(_is_run(d) for d in data):
        try:
            X = np.asarray(data[0], dtype=np.float64)
            Y = np.atleast_2d(np.asarray(data[1], dtype=np.float64))
        except (TypeError, ValueError):
            raise TheoryBenchError("parameter 'result': an (x, y) pair must hold numbers") from None
        if X.ndim != 1 or Y.ndim != 2 or Y.shape[1] != X.size:
            raise TheoryBenchError(f"parameter 'result': an (x, y) pair needs x 1-D and y of shape (len(x),) or "
                                   f"(n_seeds, len(x)); got x {X.shape}, y {np.shape(data[1])}")
        labels = [f"seed {k}" for k in range(Y.shape[0])] if Y.shape[0] > 1 else ["the curve"]
        return X, Y, labels, "the given (x, y)", "x", "y"
    if x is not None:
        if not _is_sweep(data):
            raise TheoryBenchError(f"parameter 'x' ({x!r}) names an axis of a sweep; for a single run the "
                                   "rate is against time (leave x=None)")
        if x not in data.dims or x == "seed":
            from .errors import unknown
            raise unknown("sweep axis (parameter 'x')", x, [d for d in data.dims if d != "seed"])
        sel = _check_sel(data, sel, (x, "seed"))
        stats = getattr(data, "stats", {}) or {}
        if y in stats:
            arr = np.asarray(stats[y], dtype=np.float64)
            arr = np.where(arr < 0, np.nan, arr) if y.endswith(("_round", "_target")) else arr
        else:
            arr = _quantity(data, y)[..., -1]
        Yt, rest = _sweep_array(data, arr, sel, (x, "seed"))
        Y = Yt.reshape(Yt.shape[0], -1).T          # (seeds, len(x))
        seeds = list(data.coords["seed"]) if "seed" in rest else []
        where = ", ".join(f"{k}={v}" for k, v in sel.items())
        try:
            X = np.asarray(list(data.coords[x]), dtype=np.float64)
        except (TypeError, ValueError):
            raise TheoryBenchError(f"parameter 'x': the axis {x!r} must hold numbers") from None
        return (X, Y, [f"seed {s}" for s in seeds] or ["-"],
                _describe(data) + (f" ({where})" if where else ""), x, y)
    t, Y, labels, desc = _curves(data, y, time, sel)
    return t, Y, labels, desc, time, y


def _window(x, window):
    if window is None:
        return np.ones(x.shape, dtype=bool)
    lo, hi = _bounds(window, "window")
    return (x >= (-np.inf if lo is None else lo)) & (x <= (np.inf if hi is None else hi))


def _conf(level, sided):
    return level if sided == "two-sided" else 2 * level - 1


def _seed_interval(values, level, sided):
    """Mean and Student-t interval over seeds (``stats.t.interval``); zero spread gives the mean."""
    from scipy import stats
    v = np.asarray(values, dtype=np.float64)
    m = float(v.mean())
    sem = float(stats.sem(v)) if v.size > 1 else math.inf
    if sem == 0.0:
        return m, m, m
    if not math.isfinite(sem):
        return m, -math.inf, math.inf
    lo, hi = stats.t.interval(_conf(level, sided), v.size - 1, loc=m, scale=sem)
    return m, float(lo), float(hi)


def _fit_rows(x, Y, keep, labels, transform, fit_one, what, data_text):
    """Fit each row of ``Y`` on the points ``keep`` & usable (``transform``: positive for a log); a row
    with a non-finite value in the window, or fewer than 2 usable points, fails."""
    rows = []
    for lab, row in zip(labels, Y):
        bad = np.flatnonzero(keep & ~np.isfinite(row))
        if bad.size:  # a diverged run, or a statistic never reached (NaN): censored, not left out
            _fail(f"{what}: {lab} is not finite at {_g(x[bad[0]])} ({bad.size} point(s) in the window: "
                  "diverged, or never reached)", [("data", data_text(row))])
        with np.errstate(invalid="ignore"):
            ok = keep & transform(x, row)
        if ok.sum() < 2:
            _fail(f"{what}: {lab} has {int(ok.sum())} usable point(s) in the window (a fit needs 2)",
                  [("data", data_text(row))])
        rows.append((lab, ok, fit_one(x[ok], row[ok])))
    return rows


def _judge(m, interval, require):
    """True when the measurement ``m`` meets ``interval`` under ``require`` (see :func:`assert_rate`)."""
    lo, hi = interval
    if require == "estimate":
        return _inside(m.estimate, interval)
    if require == "ci":
        return (lo is None or m.lo >= lo) and (hi is None or m.hi <= hi)
    return (lo is None or m.hi >= lo) and (hi is None or m.lo <= hi)   # overlap: not confidently outside


_REQUIRE_TEXT = {"ci": "the confidence interval must lie inside the prediction",
                 "estimate": "the estimate must lie inside the prediction",
                 "overlap": "the confidence interval must reach the prediction"}


# ------------------------------------------------------------------ claims

def assert_claim(claim_id, size="quick", control=False):
    """Assert that claim ``claim_id`` (e.g. ``"EP-3"``; a :class:`~theorybench.claims.Claim` also works)
    holds as declared: its verdict at ``size`` (``"quick"`` or ``"full"``) is the declared one (PASS, or
    FAIL for a claim that declares FAIL); with ``control=True`` its negative control must report FAIL.
    Returns the :class:`~theorybench.claims.ClaimResult`."""
    _choice(size, "size", ("quick", "full"))
    if not isinstance(control, bool):
        raise TheoryBenchError(f"parameter 'control' must be True or False, got {control!r:.200}")
    claim = _find_claim(claim_id)
    res = claim.run(size, control=control)
    if not res.as_expected:
        raise AssertionError(claim_message(res, res.expected))
    return res


def _find_claim(claim_id):
    from . import claims
    if isinstance(claim_id, claims.Claim):
        return claim_id
    if not isinstance(claim_id, str):
        raise TheoryBenchError(f"parameter 'claim_id' must be a claim id such as 'EP-3', got {claim_id!r:.200}")
    every = claims.all_claims()
    for c in every:
        if c.id.lower() == claim_id.lower():
            return c
    from .errors import unknown
    raise unknown("claim (parameter 'claim_id')", claim_id, [c.id for c in every])


def claim_message(res, wanted):
    """The failure text of a claim result whose verdict is not ``wanted``."""
    c, ev = res.claim, res.evidence
    tag = f"{c.id}[control]" if res.control else c.id
    head = (f"{tag} ({c.reference}) at {res.size} size: verdict {ev.verdict}, expected {wanted}"
            + (f" (declared FAIL: {c.expected_reason})" if c.expected != "PASS" and not res.control else ""))
    return head + "\n" + "\n".join(f"  {k + ':':<11}{v}" for k, v in [
        ("statement", c.statement), ("setting", c.control if res.control else ""),
        ("measured", ev.measured), ("predicted", ev.predicted), ("tolerance", ev.tolerance),
        ("numbers", _numbers_text(getattr(ev, "numbers", {}))),
        ("why", ev.why), ("seeds", _short(ev.seeds) if len(ev.seeds) else "")] if v)


def _numbers_text(numbers, n=6):
    """``Evidence.numbers`` in a line: ``name = measured (rule predicted[, tol t]) [fails]``, the quantities
    whose rule fails first, at most ``n``."""
    from .claims import RULES, rule_holds
    ops = {"abs": "~", "le": "<=", "lt": "<", "ge": ">=", "gt": ">", "in": "in", "eq": "==",
           "ci_not_above": "CI not above", "ci_not_below": "CI not below"}
    items = sorted(numbers.items(), key=lambda kv: rule_holds(kv[1]) is not False)
    parts = []
    for name, q in items[:n]:
        m = q["measured"]
        text = f"{name} = {_short(m) if isinstance(m, list) else _g(m)}"
        if q.get("rule") in RULES:
            p = q.get("predicted")
            text += f" ({ops[q['rule']]} {_short(p) if isinstance(p, list) else _g(p)}"
            text += f", tol {_g(q['tolerance'])})" if q.get("tolerance") is not None else ")"
            text += " [fails]" if rule_holds(q) is False else ""
        parts.append(text)
    return "; ".join(parts) + ("; ..." if len(items) > n else "")


# ------------------------------------------------------------------ rates

def assert_rate(result, interval, *, y="loss", x=None, time="round", sel=None, window=None, offset=0.0,
                level=0.95, require="ci"):
    """Assert that the power-law exponent ``p`` of ``y ~ C x^p`` lies in ``interval``.

    result: a RunResult (``y`` against time), a SweepResult (``y`` against time per seed, the other axes
    fixed by ``sel``; or, with ``x`` naming a swept axis, the final value of ``y`` or the running statistic
    ``y`` (``stats``) against that axis, per seed: a scaling law), a list of RunResults (one per seed), or a
    plain ``(x, y)`` pair with ``y`` of shape ``(len(x),)`` or ``(n_seeds, len(x))``.
    interval: ``(lo, hi)`` predicted for ``p``; ``(None, hi)`` or ``(lo, None)`` is one-sided.
    y: ``"loss"`` (default), ``"grad_norm"``, ``"x_norm"`` (``||x||``) or a trace name; ``offset`` is
    subtracted first (``f - f*``). time: ``"round"`` or ``"step"`` (record times). window: ``(lo, hi)`` on
    x (the asymptotic part of a curve); points with x <= 0 or y <= 0 are left out of the log-log fit.
    level: confidence level. require: ``"ci"`` (default: the confidence interval lies inside ``interval``,
    the data establish the rate), ``"estimate"`` (the point estimate does), or ``"overlap"`` (the interval
    reaches ``interval``: fail only when the data exclude the prediction, as the claims' one-sided
    "no worse than" verdicts do). Returns the :class:`Measurement`.
    """
    from scipy import stats
    from .measure import fit_power_law
    interval = _bounds(interval, "interval")
    level = _level(level)
    _choice(require, "require", REQUIRE)
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real) or not math.isfinite(offset):
        raise TheoryBenchError(f"parameter 'offset' must be a finite number, got {offset!r:.200}")
    X, Y, labels, desc, xname, yname = _xy(result, y, x, time, sel, window)
    Y = Y - offset
    keep = _window(X, window)
    yname = yname if offset == 0 else f"{yname} - {_g(offset)}"
    what = f"exponent p of {yname} ~ C {xname}^p"

    def data_text(row):
        k = keep & (X > 0)
        return f"{xname} {_short(X[k])}, {yname} {_short(row[k])}"

    rows = _fit_rows(X, Y, keep, labels, lambda t, r: (t > 0) & (r > 0),
                     lambda t, r: fit_power_law(t, r)["slope"], f"assert_rate: {what}", data_text)
    sided = _sided(interval)
    slopes = [s for _, _, s in rows]
    if len(rows) == 1:
        ok = rows[0][1]
        n = int(ok.sum())
        p = float(slopes[0])
        if n > 2:
            se = float(stats.linregress(np.log(X[ok]), np.log(Y[0][ok])).stderr)
            lo, hi = ((p, p) if se == 0 else
                      tuple(float(v) for v in stats.t.interval(_conf(level, sided), n - 2, loc=p, scale=se)))
        else:
            lo, hi = -math.inf, math.inf
        method = f"log-log least squares on {n} points, t interval from the fit's standard error"
    else:
        p, lo, hi = _seed_interval(slopes, level, sided)
        method = f"log-log least squares per seed, t interval over {len(rows)} seeds"
    m = Measurement(what, p, lo, hi, level, sided, [float(s) for s in slopes], labels,
                    f"{desc}: {data_text(Y[0])}" + (f" (seed 1 of {len(rows)})" if len(rows) > 1 else ""),
                    method)
    if not _judge(m, interval, require):
        _fail(f"assert_rate: {what} is not {_text_interval(interval)}",
              [("measured", str(m)), ("predicted", f"p {_text_interval(interval)} ({_REQUIRE_TEXT[require]})"),
               ("per seed", _short(m.per_seed) if len(rows) > 1 else ""), ("fit", method), ("data", m.data)])
    return m


def assert_contraction(result, interval, *, y="loss", time="round", sel=None, window=None, offset=0.0,
                       level=0.95, require="ci"):
    """Assert that the linear (geometric) rate ``q`` of ``y_t ~ C q^t`` lies in ``interval``, e.g.
    ``(None, 0.9)``: ``y`` contracts at least by 0.9 per unit of time. ``log q`` is the least-squares slope
    of ``log y`` against ``t`` (:func:`theorybench.measure.fit_linear_rate`), with the same confidence
    intervals, inputs and ``require`` as :func:`assert_rate`. Returns the :class:`Measurement`."""
    from scipy import stats
    from .measure import fit_linear_rate
    interval = _bounds(interval, "interval")
    level = _level(level)
    _choice(require, "require", REQUIRE)
    if isinstance(offset, bool) or not isinstance(offset, numbers.Real) or not math.isfinite(offset):
        raise TheoryBenchError(f"parameter 'offset' must be a finite number, got {offset!r:.200}")
    T, Y, labels, desc, tname, yname = _xy(result, y, None, time, sel, window)
    Y = Y - offset
    keep = _window(T, window)
    yname = yname if offset == 0 else f"{yname} - {_g(offset)}"
    what = f"contraction q of {yname} ~ C q^{tname}"

    def data_text(row):
        return f"{tname} {_short(T[keep])}, {yname} {_short(row[keep])}"

    rows = _fit_rows(T, Y, keep, labels, lambda t, r: r > 0,
                     lambda t, r: math.log(fit_linear_rate(t, r)["q"]), f"assert_contraction: {what}", data_text)
    sided = _sided(interval)
    logs = [v for _, _, v in rows]
    if len(rows) == 1:
        ok = rows[0][1]
        n = int(ok.sum())
        lq = logs[0]
        if n > 2:
            se = float(stats.linregress(T[ok], np.log(Y[0][ok])).stderr)
            llo, lhi = ((lq, lq) if se == 0 else
                        tuple(float(v) for v in stats.t.interval(_conf(level, sided), n - 2, loc=lq, scale=se)))
        else:
            llo, lhi = -math.inf, math.inf
        method = f"least squares of log {yname} on {tname}, {n} points, t interval from the fit's standard error"
    else:
        lq, llo, lhi = _seed_interval(logs, level, sided)
        method = f"least squares of log {yname} on {tname} per seed, t interval over {len(rows)} seeds"
    m = Measurement(what, math.exp(lq), math.exp(llo), math.exp(lhi), level, sided,
                    [math.exp(v) for v in logs], labels, f"{desc}: {data_text(Y[0])}", method)
    if not _judge(m, interval, require):
        _fail(f"assert_contraction: {what} is not {_text_interval(interval)}",
              [("measured", str(m)), ("predicted", f"q {_text_interval(interval)} ({_REQUIRE_TEXT[require]})"),
               ("per seed", _short(m.per_seed) if len(rows) > 1 else ""), ("fit", method), ("data", m.data)])
    return m


# ------------------------------------------------------------------ transitions

TRANSITIONS = ("crossing", "divergence", "plateau", "statistic")


def _stat_values(result, name, sel):
    """One running statistic per seed: a run's ``stats[name]`` or a sweep's ``stats[name]`` at ``sel``."""
    if _is_run(result):
        st = getattr(result, "stats", {}) or {}
        if name not in st:
            from .errors import unknown
            raise unknown("statistic (parameter 'y')", name, list(st))
        return np.array([float(st[name])]), [f"seed {getattr(result, 'seed', '?')}"]
    if _is_sweep(result):
        sel = _check_sel(result, sel, ("seed",))
        if name not in result.stats:
            from .errors import unknown
            raise unknown("statistic (parameter 'y')", name, list(result.stats))
        v, rest = _sweep_array(result, result.stats[name], sel, ("seed",))
        return np.ravel(v).astype(np.float64), [f"seed {s}" for s in result.coords["seed"]] if rest else ["-"]
    if isinstance(result, (list, tuple)) and result and all(_is_run(r) for r in result):
        vals = [_stat_values(r, name, None) for r in result]
        return np.concatenate([v for v, _ in vals]), [lab for _, labs in vals for lab in labs]
    raise TheoryBenchError("parameter 'result' must be a RunResult, a SweepResult or a list of RunResults "
                           f"(one per seed), got {type(result).__name__}")


def assert_transition(result, within, *, kind="crossing", y="grad_norm", level=None, below=True,
                      time="round", sel=None, tail=0.1):
    """Assert that a transition happens inside ``within = (lo, hi)`` (an end may be None) on every seed;
    ``within=None`` asserts that it never happens (``crossing``, ``divergence``, ``statistic``).

    kind:
    ``"crossing"``: the first recorded time (``time``: ``"round"`` or ``"step"``) at which ``y`` is
    ``<= level`` (``>= level`` with ``below=False``), :func:`theorybench.measure.first_crossing`; on a
    sparse record this is the first *recorded* time (record densely, or use ``"statistic"``);
    ``"divergence"``: the round the run diverged at (``stats["diverged_round"]``, every round seen);
    ``"plateau"``: the level ``y`` settles at, the median of ``y`` over the last ``tail`` fraction of the
    recorded times; ``"statistic"``: the running statistic ``y`` computed in the kernel every round (e.g.
    ``"first_below_target"`` of a run made with ``target=``; a negative value means never).
    Returns the per-seed values (NaN: never)."""
    _choice(kind, "kind", TRANSITIONS)
    within = _bounds(within, "within", allow_none=kind != "plateau")
    if kind == "crossing":
        if isinstance(level, bool) or not isinstance(level, numbers.Real) or not math.isfinite(level):
            raise TheoryBenchError(f"parameter 'level' (the value y crosses) must be a finite number, got "
                                   f"{level!r:.200}")
        from .measure import first_crossing
        t, Y, labels, desc = _curves(result, y, time, sel)
        vals = np.array([np.nan if (k := first_crossing(row, level, below=below)) is None else t[k] for row in Y])
        what = f"first {time} with {y} {'<=' if below else '>='} {_g(level)}"
        data = f"{desc}: {time} {_short(t)}, {y} {_short(Y[0])}"
    elif kind == "plateau":
        if isinstance(tail, bool) or not isinstance(tail, numbers.Real) or not 0 < tail <= 1:
            raise TheoryBenchError(f"parameter 'tail' must be a fraction in (0, 1], got {tail!r:.200}")
        t, Y, labels, desc = _curves(result, y, time, sel)
        last = t >= t[-1] - tail * (t[-1] - t[0])
        vals = np.median(Y[:, last], axis=1)
        what = f"plateau of {y} (median over {time}s {_g(t[last][0])}..{_g(t[-1])})"
        data = f"{desc}: {time} {_short(t[last])}, {y} {_short(Y[0][last])}"
    else:
        name = "diverged_round" if kind == "divergence" else y
        vals, labels = _stat_values(result, name, sel)
        vals = np.where(vals < 0, np.nan, vals) if (kind == "divergence" or name.endswith(("_round", "_target"))) \
            else vals
        what = "divergence round" if kind == "divergence" else f"statistic {name}"
        data = (f"{_describe(result[0] if isinstance(result, (list, tuple)) else result)}: "
                f"stats[{name!r}] per seed {_short(vals, nan='never')}")
    if within is None:
        bad = [i for i, v in enumerate(vals) if not np.isnan(v)]
        want = "never"
    else:
        bad = [i for i, v in enumerate(vals) if np.isnan(v) or not _inside(v, within)]
        want = _text_interval(within)
    if bad:
        _fail(f"assert_transition: {what} is not {want} on {len(bad)} of {len(vals)} seed(s)",
              [("measured", ", ".join(f"{labels[i]}: {_g(vals[i], 'never')}" for i in bad[:6])
                + (" ..." if len(bad) > 6 else "")),
               ("predicted", f"{what} {want} on every seed"), ("per seed", _short(vals, nan="never")),
               ("data", data)])
    return vals


# ------------------------------------------------------------------ ordering

ORDER_HOW = ("every", "proportion", "mean")
_STATISTICS = ("final_loss", "final_grad_norm", "min_loss", "min_grad_norm", "final_x_norm")


def _per_seed(r, statistic, sel, name):
    """Per-seed values of ``statistic`` for ``r`` (a result, a list of runs, or plain numbers)."""
    if callable(statistic):
        if _is_sweep(r):
            raise TheoryBenchError(f"parameter 'statistic': a callable takes a RunResult; give {name!r} as a "
                                   "list of RunResults, or name a statistic")
        runs = r if isinstance(r, (list, tuple)) and r and all(_is_run(v) for v in r) else [r] if _is_run(r) \
            else None
        if runs is None:
            raise TheoryBenchError(f"parameter {name!r} must be results when 'statistic' is a callable")
        return (np.array([float(statistic(v)) for v in runs]), [getattr(v, "seed", k) for k, v in enumerate(runs)],
                "statistic(result)")
    if _is_run(r) or _is_sweep(r) or (isinstance(r, (list, tuple)) and r and all(_is_run(v) for v in r)):
        if not isinstance(statistic, str):
            raise TheoryBenchError(f"parameter 'statistic' must be a name ({', '.join(_STATISTICS)} or a running "
                                   f"statistic) or a callable(result) -> number, got {statistic!r:.200}")
        stats_names = (r.stats if _is_sweep(r) else (r[0] if isinstance(r, (list, tuple)) else r).stats) or {}
        if statistic in stats_names:
            v, labels = _stat_values(r, statistic, sel)
            return v, labels, f"stats[{statistic!r}]"
        if statistic not in _STATISTICS:
            from .errors import unknown
            raise unknown("statistic (parameter 'statistic')", statistic, list(_STATISTICS) + list(stats_names))
        how, q = statistic.split("_", 1)
        t, Y, labels, _ = _curves(r, q, "round", sel, param=name)
        v = Y[:, -1] if how == "final" else np.nanmin(Y, axis=1)
        return v, labels, statistic
    try:
        v = np.asarray(r, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TheoryBenchError(f"parameter {name!r} must be a RunResult, a SweepResult, a list of RunResults or "
                               f"numbers (one per seed), got {type(r).__name__}") from None
    if v.size == 0:
        raise TheoryBenchError(f"parameter {name!r} has no values")
    return v, [f"#{k}" for k in range(v.size)], "value"


def assert_ordered(a, b, statistic="final_loss", *, how="every", strict=False, level=0.95, threshold=0.5,
                   sel=None, sel_b=None):
    """Assert that method ``a`` does at least as well as ``b``: ``statistic(a) <= statistic(b)`` (lower is
    better; swap the arguments for the other direction, ``strict=True`` for ``<``).

    a, b: RunResult, SweepResult (other axes fixed by ``sel`` / ``sel_b``, default ``sel``), a list of
    RunResults, or numbers, one per seed; seeds are paired in order. statistic: ``"final_loss"``
    (default), ``"final_grad_norm"``, ``"final_x_norm"``, ``"min_loss"``, ``"min_grad_norm"`` (over the
    record), a running statistic of the results' ``stats``, or ``callable(run) -> number``.
    how: ``"every"`` (default): ``a <= b`` on every pair of seeds (with unequal counts, every value of
    ``a`` below every value of ``b``); ``"proportion"``: the fraction of pairs with ``a <= b`` exceeds
    ``threshold`` with confidence ``level`` (exact one-sided interval of ``stats.binomtest``);
    ``"mean"``: the mean paired difference ``a - b`` is below 0 with confidence ``level`` (one-sided
    ``stats.t.interval``). Returns the Measurement (for "every": the largest difference ``a - b``)."""
    from scipy import stats
    _choice(how, "how", ORDER_HOW)
    level = _level(level)
    if not isinstance(strict, bool):
        raise TheoryBenchError(f"parameter 'strict' must be True or False, got {strict!r:.200}")
    if isinstance(threshold, bool) or not isinstance(threshold, numbers.Real) or not 0 <= threshold < 1:
        raise TheoryBenchError(f"parameter 'threshold' must be a proportion in [0, 1), got {threshold!r:.200}")
    va, la, sa = _per_seed(a, statistic, sel, "a")
    vb, lb, sb = _per_seed(b, statistic, sel if sel_b is None else sel_b, "b")
    name = sa if sa == sb else f"{sa} / {sb}"
    desc_a = _describe(a[0] if isinstance(a, (list, tuple)) and a and _is_run(a[0]) else a) \
        if (_is_run(a) or _is_sweep(a) or isinstance(a, (list, tuple)) and a and _is_run(a[0])) else "a"
    desc_b = _describe(b[0] if isinstance(b, (list, tuple)) and b and _is_run(b[0]) else b) \
        if (_is_run(b) or _is_sweep(b) or isinstance(b, (list, tuple)) and b and _is_run(b[0])) else "b"
    rel = "<" if strict else "<="
    data = [("a", f"{desc_a}: {_short(va)}"), ("b", f"{desc_b}: {_short(vb)}")]
    if np.isnan(va).any() or np.isnan(vb).any():
        _fail(f"assert_ordered: {name} is NaN (a diverged run?)", data)
    paired = va.size == vb.size
    if how != "every" and not paired:
        raise TheoryBenchError(f"parameter 'how'={how!r} pairs the seeds of a and b: they have {va.size} and "
                               f"{vb.size} values")
    if how == "every":
        if paired:
            good = va < vb if strict else va <= vb
            d = va - vb
            m = Measurement(f"max over seeds of a - b ({name})", float(d.max()), float(d.min()), float(d.max()),
                            1.0, "range", d.tolist(), la)
            if not good.all():
                bad = np.flatnonzero(~good)
                _fail(f"assert_ordered: {name} of a {rel} b fails on {bad.size} of {va.size} seed(s)",
                      [("measured", ", ".join(f"{la[i]}: a {_g(va[i])} vs b {_g(vb[i])}" for i in bad[:4])
                        + (" ..." if bad.size > 4 else "")),
                       ("predicted", f"a {rel} b on every seed")] + data)
        else:
            m = Measurement(f"max a - min b ({name})", float(va.max() - vb.min()), float(va.max() - vb.min()),
                            float(va.max() - vb.min()), 1.0, "range")
            if not (va.max() < vb.min() if strict else va.max() <= vb.min()):
                _fail(f"assert_ordered: {name}: not every value of a {rel} every value of b",
                      [("measured", f"max a {_g(va.max())} vs min b {_g(vb.min())}"),
                       ("predicted", f"max a {rel} min b")] + data)
        return m
    if how == "proportion":
        k = int((va < vb).sum() if strict else (va <= vb).sum())
        ci = stats.binomtest(k, va.size, p=threshold, alternative="greater").proportion_ci(
            confidence_level=level, method="exact")
        m = Measurement(f"fraction of seeds with a {rel} b ({name})", k / va.size, float(ci.low), float(ci.high),
                        level, "lower", [], [])
        if not ci.low > threshold:
            _fail(f"assert_ordered: the fraction of seeds with {name} of a {rel} b is not confidently above "
                  f"{_g(threshold)}",
                  [("measured", f"{k} of {va.size} = {_g(k / va.size)}, {level:.0%} one-sided exact lower "
                                f"bound {_g(ci.low)}"),
                   ("predicted", f"fraction > {_g(threshold)} (binomtest(...).proportion_ci)")] + data)
        return m
    d = va - vb
    mean, lo, hi = _seed_interval(d, level, "upper")
    m = Measurement(f"mean of a - b ({name})", mean, lo, hi, level, "upper", d.tolist(), la)
    if not (hi < 0 if strict else hi <= 0):
        _fail(f"assert_ordered: the mean paired difference of {name}, a - b, is not confidently below 0",
              [("measured", str(m)), ("predicted", "mean(a - b) < 0 (one-sided t interval over seeds)"),
               ("per seed", _short(d))] + data)
    return m
