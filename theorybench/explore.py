"""An interactive explorer for notebooks: controls generated from the declared parameters, a re-run on
every change, the trajectory drawn.

``theorybench.explore(problem, method, **fixed)`` returns an ipywidgets box (ipywidgets is the optional
extra ``notebook``: ``pip install "theorybench[notebook]"``) with one control per declared parameter of
the problem family and of the method (a :class:`~theorybench.params.Param`: its kind, range and
default), plus ``rounds`` and ``seed``. Each change re-runs :func:`theorybench.run` (a warm run of a
small instance takes milliseconds) and redraws, in theorybench's style, three panels: the iterate
``x_r`` (with ``x*`` when the problem knows it), the loss ``f(x_r)`` (as ``f(x_r) - f*`` on a log scale
when ``f*`` is known) and the gradient norm ``||grad f(x_r)||``, with the divergence round marked. An
optional fourth panel maps a claim's statistic over two parameters at the current values of the others
(``region=``), e.g. where CELGC stays stuck on the two-client quadratic (claim EP-1).

Controls (:func:`control_spec`): a choice is a dropdown; an integer an ``IntSlider``; a real that must
be positive a ``FloatLogSlider`` over four decades around its value (clipped to the declared range); any
other real a ``FloatSlider``; text a text box. ``ranges={name: (low, high)}`` (or a list of choices)
overrides a range. A parameter passed as a keyword is held fixed and gets no control; a parameter with an
automatic default (``None``) keeps it unless given. A name declared by both the problem and the method
(the two-client quadratic's ``gamma``) is one control that sets both, as a sweep's ``tied_grid`` does.
A problem parameter named ``seed`` (or ``rounds``) has the control ``problem_seed``: ``seed`` is the run's.

The figure is a bare matplotlib ``Figure`` shown as a PNG image widget: it needs no backend, works with
the inline backend, in Voila and headless, and leaves the user's pyplot state alone. The returned box
has ``controls`` (name to widget), ``figure``, ``axes`` (``"x"``, ``"loss"``, ``"grad_norm"`` and
``"region"``), ``result`` (the last :class:`~theorybench.results.RunResult`), ``error`` (the last error's
text, else ``None``), ``values()`` and ``update()``: tests and scripts set ``controls[name].value`` and
read what was drawn."""
import io
import math
import numbers

import numpy as np

from .errors import TheoryBenchError

DECADES = 2          # a log slider spans this many decades either side of its value
INT_SPAN = 16        # an integer slider spans at least this many values
LINEAR_HALF_WIDTH = 2.0


def control_spec(param, value, override=None):
    """The control for ``param`` at ``value``: ``("choice", options)``, ``("text",)``,
    ``("int", low, high)``, ``("log", low_exponent, high_exponent)`` (base 10) or
    ``("float", low, high, step)``. ``override``: ``(low, high)`` or a list of choices."""
    if param.kind == "choice" or (override is not None and not _is_pair(override)):
        return ("choice", tuple(override) if override is not None and not _is_pair(override) else param.choices)
    if param.kind == "str":
        return ("text",)
    if param.kind == "int":
        if override is not None:
            lo, hi = int(override[0]), int(override[1])
        else:
            lo = (int(param.low) + (1 if param.low_open else 0)) if param.low is not None else int(value) - INT_SPAN // 2
            hi = lo + max(INT_SPAN, 4 * abs(int(value)))
            if param.high is not None:
                hi = min(hi, int(param.high) - (1 if param.high_open else 0))
        return ("int", lo, max(hi, lo + 1, int(value)))
    v = float(value)
    positive = param.low is not None and (param.low > 0 or (param.low == 0 and param.low_open))
    if override is not None:
        lo, hi = float(override[0]), float(override[1])
        if positive and lo > 0 and hi / lo >= 10:
            return ("log", math.log10(lo), math.log10(hi))
        return ("float", lo, hi, (hi - lo) / 200)
    if positive and v > 0:
        lo_e, hi_e = math.log10(v) - DECADES, math.log10(v) + DECADES
        if param.low > 0:
            lo_e = max(lo_e, math.log10(param.low) + (1e-9 if param.low_open else 0.0))
        if param.high is not None:
            hi_e = min(hi_e, math.log10(param.high) - (1e-9 if param.high_open else 0.0))
        if hi_e - lo_e >= 1:
            return ("log", lo_e, hi_e)
    w = LINEAR_HALF_WIDTH * max(1.0, abs(v))
    lo = param.low if param.low is not None else v - w
    hi = param.high if param.high is not None else v + w
    if param.low is not None and param.high is None:
        hi = max(v, lo) + w
    step = (hi - lo) / 200
    if param.low is not None and param.low_open:    # an open end is not a value: one step inside
        lo += step
    if param.high is not None and param.high_open:
        hi -= step
    return ("float", lo, hi, step)


def _is_pair(x):
    return isinstance(x, tuple) and len(x) == 2 and all(isinstance(t, (int, float)) for t in x)


def _widget(name, spec, value, continuous_update):
    import ipywidgets as w
    common = dict(description=name, continuous_update=continuous_update,
                  style={"description_width": "initial"}, layout=w.Layout(width="320px"))
    kind = spec[0]
    if kind == "choice":
        return w.Dropdown(options=list(spec[1]), value=value, description=name,
                          style={"description_width": "initial"}, layout=w.Layout(width="320px"))
    if kind == "text":
        return w.Text(value=str(value), **common)
    if kind == "int":
        return w.IntSlider(value=int(value), min=spec[1], max=spec[2], **common)
    if kind == "log":
        return w.FloatLogSlider(value=float(value), base=10, min=spec[1], max=spec[2], step=0.01,
                                readout_format=".3g", **common)
    return w.FloatSlider(value=float(value), min=spec[1], max=spec[2], step=spec[3], readout_format=".3g", **common)


def _figure(ncols):
    from matplotlib.figure import Figure
    from .plotting import STYLE, style
    with style():
        fig = Figure(figsize=(STYLE["figure.figsize"][0] * 0.85 * ncols, STYLE["figure.figsize"][1]))
        axs = fig.subplots(1, ncols, squeeze=False)[0]
        # a fixed layout: a tight or constrained one measures every label again on each redraw
        fig.subplots_adjust(left=0.5 / ncols / 0.85 * 0.45, right=0.985, bottom=0.17, top=0.88, wspace=0.42)
    return fig, axs


def explore(problem, method, *, rounds=100, seed=0, problem_settings=None, ranges=None, statistics=None,
            region=None, continuous_update=False, **fixed):
    """An explorer of ``method`` on ``problem`` (module docstring): returns the widget box.

    problem: a registered name or a :class:`~theorybench.problem.Problem` (then only the method's
    controls); rounds, seed: their starting values (each has a control); problem_settings: problem
    parameters held fixed (for a name shared with the method, the problem's value only); fixed: any
    parameter held fixed (no control); ranges: ``{name: (low, high)}`` or ``{name: [choices]}``;
    statistics: ``{label: fn(result)}`` shown under the figure (e.g. ``max_r |x_r - x_0|``);
    region: a map panel, ``{"x": (name, values), "y": (name, values), "statistic": fn(sweep) -> array
    (len(x values), len(y values)), "label": text}``: each update sweeps the grid at the current values
    of the other controls (the two names must be controls or fixed parameters) and marks the current point;
    continuous_update: re-run while a slider is dragged (default: on release).
    """
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        raise TheoryBenchError('theorybench.explore needs ipywidgets: pip install "theorybench[notebook]"') from None
    return _explorer_class()(problem, method, rounds=rounds, seed=seed, problem_settings=problem_settings,
                             ranges=ranges, statistics=statistics, region=region,
                             continuous_update=continuous_update, fixed=fixed)


_CLASS = None


def _explorer_class():
    """The ``Explorer`` widget class (defined on first use, so that importing theorybench does not
    import ipywidgets)."""
    global _CLASS
    if _CLASS is None:
        import ipywidgets as w

        class Explorer(w.VBox):
            __init__ = _init
            values = _values
            update = _update
            _draw = _draw
            _draw_region = _draw_region
        _CLASS = Explorer
    return _CLASS


# ------------------------------------------------------------------ the Explorer's methods

def _init(self, problem, method, *, rounds, seed, problem_settings, ranges, statistics, region,
          continuous_update, fixed):
    import ipywidgets as w
    from .algorithms import get_algorithm
    from .params import check_seed
    from .problem import Problem, get_problem_family, make_problem
    from .runner import algorithm_for
    w.VBox.__init__(self)
    ranges = dict(ranges or {})
    self.problem, self.method = problem, method
    self.statistics = dict(statistics or {})
    self.region = _check_region(region)
    self.problem_fixed = dict(problem_settings or {})
    self.fixed = dict(fixed)
    if isinstance(problem, Problem):
        pparams = []
        if self.problem_fixed:
            raise TheoryBenchError("problem_settings cannot be given with a Problem object (it is built already)")
    else:
        pparams = list(get_problem_family(problem).params)
    pnames = {p.name for p in pparams}
    start_problem = {k: v for k, v in self.fixed.items() if k in pnames}
    start_problem.update(self.problem_fixed)
    prob0 = problem if isinstance(problem, Problem) else make_problem(problem, **start_problem)
    alg = algorithm_for(get_algorithm(method), prob0)
    aparams = list(alg.params)
    anames = {p.name for p in aparams}
    unknown_names = set(self.fixed) - pnames - anames
    if unknown_names:
        from .errors import unknown
        raise unknown(f"parameter of problem {problem!r} or method {method!r}", sorted(unknown_names)[0],
                      sorted(pnames | anames))
    for k in ranges:
        if k not in pnames | anames | {"rounds", "seed"}:
            from .errors import unknown
            raise unknown("parameter in ranges", k, sorted(pnames | anames))
    self.problem_names, self.method_names = pnames, anames
    self.controls = {}
    declared = {}
    for p in pparams + aparams:
        declared.setdefault(p.name, p)
    for name, p in declared.items():
        if name in self.fixed or (name in self.problem_fixed and name not in anames):
            continue
        value = p.default
        if value is None and name not in ranges:
            continue  # automatic (e.g. a1 = -gamma-1): kept unless given
        if value is None:
            value = ranges[name][0] if _is_pair(ranges[name]) else list(ranges[name])[0]
        value = p.validate(value, name)
        spec = control_spec(p, value, ranges.get(name))
        if name == "clients_per_round" and spec[0] == "int" and name not in ranges:  # S <= N
            spec = ("int", spec[1], max(min(spec[2], prob0.n_clients), spec[1] + 1))
        key = f"problem_{name}" if name in ("rounds", "seed") else name  # the run's own controls keep theirs
        self.controls[key] = _widget(key, spec, value, continuous_update)
    if isinstance(rounds, bool) or not isinstance(rounds, numbers.Integral) or rounds < 1:
        raise TheoryBenchError(f"parameter 'rounds' must be an integer >= 1, got {rounds}")
    r_hi = ranges.get("rounds", (1, max(4 * rounds, 10)))
    rounds = int(rounds)
    self.controls["rounds"] = w.IntSlider(value=rounds, min=int(r_hi[0]), max=int(r_hi[1]), description="rounds",
                                          continuous_update=continuous_update, layout=w.Layout(width="320px"))
    self.controls["seed"] = w.BoundedIntText(value=check_seed(seed), min=0, max=2**31 - 1, description="seed",
                                             layout=w.Layout(width="200px"))
    ncols = 4 if self.region else 3
    self.figure, axs = _figure(ncols)
    self.axes = dict(zip(("x", "loss", "grad_norm", "region"), axs))
    self.image = w.Image(format="png", layout=w.Layout(width="100%", max_width=f"{260 * ncols}px"))
    self.status = w.HTML()
    self.result, self.error, self.region_values = None, None, None
    self._artists = {}  # the run panels' lines, reused while the layout stays the same
    boxes = list(self.controls.values())
    grid = w.GridBox(boxes, layout=w.Layout(grid_template_columns="repeat(3, 330px)"))
    self.children = [grid, self.image, self.status]
    for c in self.controls.values():
        c.observe(lambda change: self.update(), names="value")
    self.update()


def _values(self):
    """The current ``(problem_settings, hyperparameters, rounds, seed)``."""
    cur = {_param_name(k): c.value for k, c in self.controls.items() if k not in ("rounds", "seed")}
    pset = {k: v for k, v in {**self.fixed, **cur}.items() if k in self.problem_names}
    pset.update(self.problem_fixed)
    hyper = {k: v for k, v in {**self.fixed, **cur}.items() if k in self.method_names}
    return pset, hyper, int(self.controls["rounds"].value), int(self.controls["seed"].value)


def _update(self):
    """Re-run with the current values and redraw; an error (a bad combination of values) is shown
    in the status line, never raised from a widget callback."""
    from .runner import run
    pset, hyper, rounds, seed = self.values()
    from .problem import Problem
    try:
        res = run(self.problem, self.method, rounds=rounds, seed=seed,
                  problem_settings=None if isinstance(self.problem, Problem) else pset, **hyper)
    except TheoryBenchError as e:
        self.result, self.error = None, str(e)
        self.status.value = f'<span style="color:#cf222e">error: {_esc(e)}</span>'
        for ax in self.axes.values():
            ax.cla()
        self._artists.clear()
        self._draw(None)
        return
    self.result, self.error = res, None
    region_note = ""
    if self.region:
        try:
            self._draw_region(pset, hyper, rounds, seed)
        except TheoryBenchError as e:
            region_note = f'; <span style="color:#cf222e">region: {_esc(e)}</span>'
    self._draw(res)
    self.status.value = _status(res, self.statistics) + region_note


def _draw(self, res):
    from .plotting import style
    with style():
        if res is not None:
            _draw_run(self.axes, res, _problem_constants(self.problem, self.values()[0]), self._artists)
        buf = io.BytesIO()
        self.figure.savefig(buf, format="png", dpi=90, bbox_inches=self.figure.bbox_inches)  # no tight pass
    self.image.value = buf.getvalue()


def _draw_region(self, pset, hyper, rounds, seed):
    from .plotting import style
    from .runner import sweep
    reg = self.region
    (xn, xs), (yn, ys) = reg["x"], reg["y"]
    grid, pgrid, tgrid = {}, {}, {}
    for n, vals in ((xn, xs), (yn, ys)):
        where = tgrid if (n in self.problem_names and n in self.method_names) else (
            pgrid if n in self.problem_names else grid)
        where[n] = list(vals)
        pset.pop(n, None)
        hyper.pop(n, None)
    from .problem import Problem
    sw = sweep(self.problem, self.method, grid=grid, problem_grid=pgrid, tied_grid=tgrid, seeds=[seed],
               rounds=rounds, problem_settings=None if isinstance(self.problem, Problem) else pset, **hyper)
    z = np.asarray(reg["statistic"](sw), dtype=float)
    order = [sw.dims.index(_dim_name(sw, xn)), sw.dims.index(_dim_name(sw, yn))]
    if z.shape == sw.shape:  # the statistic kept the grid's axes (seed included): put x, y first
        z = np.moveaxis(z, order, [0, 1]).reshape(len(xs), len(ys), -1)[..., 0]
    z = z.reshape(len(xs), len(ys))
    self.region_values = z
    ax = self.axes["region"]
    with style():
        ax.cla()
        lo = float(np.nanmin(z)) if np.isfinite(z).any() else 0.0
        hi = float(np.nanmax(z)) if np.isfinite(z).any() else 1.0
        ax.pcolormesh(np.arange(len(xs) + 1) - 0.5, np.arange(len(ys) + 1) - 0.5, z.T, cmap="Greys",
                      vmin=lo, vmax=hi if hi > lo else lo + 1.0, shading="flat")
        for axis, vals in ((ax.xaxis, xs), (ax.yaxis, ys)):
            every = max(1, -(-len(vals) // 5))  # at most 5 labelled values
            axis.set_ticks(range(len(vals))[::every], [f"{v:g}" for v in vals][::every])
        ax.set_xlabel(xn)
        ax.set_ylabel(yn)
        ax.grid(False)
        cur = {**self.fixed, **{_param_name(k): c.value for k, c in self.controls.items()
                                if k not in ("rounds", "seed")}}
        if xn in cur and yn in cur:
            ix, iy = _nearest(xs, cur[xn]), _nearest(ys, cur[yn])
            ax.plot([ix], [iy], marker="*", color="#d62728", markersize=11, linestyle="none")
        ax.set_title(reg.get("label", "statistic") + " (dark: high)")


def _param_name(key):
    """The parameter a control sets (a problem parameter named ``seed`` has the control ``problem_seed``)."""
    return key[len("problem_"):] if key in ("problem_rounds", "problem_seed") else key


def _dim_name(sw, name):
    return name if name in sw.dims else f"problem_{name}"


def _nearest(vals, v):
    try:
        return int(np.argmin(np.abs(np.asarray(vals, dtype=float) - float(v))))
    except (TypeError, ValueError):
        return list(vals).index(v) if v in vals else 0


def _check_region(region):
    if region is None:
        return None
    if not hasattr(region, "get") or "x" not in region or "y" not in region or not callable(region.get("statistic")):
        raise TheoryBenchError("parameter 'region' must be {'x': (name, values), 'y': (name, values), "
                               "'statistic': fn(sweep), 'label': text}")
    return dict(region)


def _problem_constants(problem, pset):
    from .problem import Problem, make_problem
    try:
        prob = problem if isinstance(problem, Problem) else make_problem(problem, **pset)
    except TheoryBenchError:
        return {}
    return {k: c.value for k, c in prob.constants.items()}


def _draw_run(axes, res, const, state):
    """The three panels of one run: iterate, loss (or gap to f*), gradient norm. The lines are built
    once per layout (``state`` keeps them) and later runs only replace their data: rebuilding the axes
    on every change would cost most of an update."""
    r = res.rounds
    d = res.x.shape[1]
    xs, fs = const.get("x_star"), const.get("f_star")
    xs = float(xs) if d == 1 and xs is not None and np.ndim(xs) == 0 else None
    fs = float(fs) if fs is not None and np.ndim(fs) == 0 else None
    key = (min(d, 5), xs is not None, fs is not None)
    iterate = [res.x[:, j] for j in range(d)] if d <= 4 else [np.linalg.norm(res.x, axis=1)]
    loss = res.loss - fs if fs is not None else res.loss
    if state.get("key") != key:
        state.clear()
        state["key"] = key
        for ax in axes.values():
            ax.cla()
        ax = axes["x"]
        labels = ([f"$x_{{r,{j}}}$" if d > 1 else "$x_r$" for j in range(d)] if d <= 4 else [r"$\|x_r\|$"])
        state["x"] = [ax.plot(r, v, label=lab)[0] for v, lab in zip(iterate, labels)]
        if xs is not None:
            state["x_star"] = ax.axhline(xs, color="k", ls="--", lw=0.8, label="$x^*$")
        ax.legend(loc="best")
        ax.set_xlabel("round r")
        ax.set_title("iterate")
        ax = axes["loss"]
        state["loss"] = ax.plot(r, loss)[0]
        if fs is not None:
            ax.set_yscale("log")
        ax.set_ylabel(r"$f(x_r) - f^*$" if fs is not None else r"$f(x_r)$")
        ax.set_xlabel("round r")
        ax.set_title("loss")
        ax = axes["grad_norm"]
        state["grad_norm"] = ax.plot(r, res.grad_norm)[0]
        ax.set_yscale("log")
        ax.set_xlabel("round r")
        ax.set_ylabel(r"$\|\nabla f(x_r)\|$")
    else:
        for line, v in zip(state["x"], iterate):
            line.set_data(r, v)
        if xs is not None:
            state["x_star"].set_ydata([xs, xs])
        state["loss"].set_data(r, loss)
        state["grad_norm"].set_data(r, res.grad_norm)
    for line in state.pop("diverged", []):
        line.remove()
    if res.diverged:
        state["diverged"] = [axes[k].axvline(res.diverged_at, color="#cf222e", lw=0.8, ls=":")
                             for k in ("x", "loss", "grad_norm")]
    axes["grad_norm"].set_title("gradient norm" + (f": diverged at round {res.diverged_at}" if res.diverged else ""))
    for k in ("x", "loss", "grad_norm"):
        axes[k].relim()
        axes[k].autoscale_view()


def _esc(e):
    import html
    return html.escape(str(e))


def _status(res, statistics):
    from ._html import num
    parts = [f"round {int(res.rounds[-1])}: loss {num(res.loss[-1])}, grad norm {num(res.grad_norm[-1])}",
             f"diverged at round {res.diverged_at}" if res.diverged else "not diverged"]
    for label, fn in statistics.items():
        try:
            parts.append(f"{label}: {num(fn(res))}")
        except Exception as e:  # a user's statistic: shown, not raised from a callback
            parts.append(f"{label}: error ({type(e).__name__}: {e})")
    return _esc("; ".join(parts))
