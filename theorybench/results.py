"""Result objects: one trajectory (:class:`RunResult`) and a labelled grid of them (:class:`SweepResult`).

Traces are recorded on a schedule (every round for short runs, log-spaced for long ones; round 0 and
the last round always included). ``loss`` and ``grad_norm`` are noise-free values of the global
objective at the server iterate. A run is *diverged* at the first round whose iterate, loss or gradient
norm is not finite, whose iterate reaches 1e150, or whose loss or gradient norm is 1e150 or more while the
iterate is not coming back in (``theorybench.kernels.common.healthy``, the same rule on every backend):
``diverged_at`` gives the round, and the trace after it is NaN by design."""
from dataclasses import dataclass, field

import numpy as np


class NamedStats(np.ndarray):
    """Per-configuration running statistics of a batch, shape ``(n_configs, n_stats)``, with named
    columns: ``stats["diverged_round"]`` is one column (``stats.names`` lists them). Paper modules read
    statistics by name, never by column index, so a kernel may add or reorder its statistics."""

    def __new__(cls, array, names):
        obj = np.asarray(array).view(cls)
        obj.names = tuple(names)
        if obj.ndim != 2 or obj.shape[1] != len(obj.names):
            raise ValueError(f"{obj.shape[-1]} statistics for {len(obj.names)} names")
        return obj

    def __array_finalize__(self, obj):
        self.names = getattr(obj, "names", ())

    def __getitem__(self, key):
        if isinstance(key, str):
            if key not in self.names:
                from .errors import unknown
                raise unknown("statistic", key, self.names)
            return np.asarray(self)[:, self.names.index(key)]
        return super().__getitem__(key)


@dataclass
class RunResult:
    problem: str
    algorithm: str
    settings: dict          # algorithm hyperparameters
    problem_settings: dict
    seed: int
    rounds: np.ndarray      # recorded round indices
    steps: np.ndarray       # recorded total local-step indices (rounds * I)
    x: np.ndarray           # (n_rec, d)
    loss: np.ndarray
    grad_norm: np.ndarray
    stats: dict = field(default_factory=dict)
    traces: dict = field(default_factory=dict)  # extra per-record arrays (e.g. log_loss), kernel-specific

    @property
    def diverged(self):
        return self.stats.get("diverged_round", -1) >= 0

    @property
    def diverged_at(self):
        r = self.stats.get("diverged_round", -1)
        return None if r < 0 else int(r)

    @property
    def final_x(self):
        return self.x[-1]

    def to_dict(self):
        """The CLI's ``--json`` object."""
        def clean(a):
            return [None if not np.isfinite(v) else float(v) for v in np.ravel(a)]
        return {
            "problem": self.problem, "problem_settings": self.problem_settings,
            "algorithm": self.algorithm, "settings": self.settings, "seed": self.seed,
            "diverged": self.diverged, "diverged_at": self.diverged_at,
            "trace": {"round": self.rounds.tolist(), "step": self.steps.tolist(),
                      "loss": clean(self.loss), "grad_norm": clean(self.grad_norm),
                      "x": [clean(v) for v in self.x]},
            "final": {"x": clean(self.x[-1]), "loss": clean([self.loss[-1]])[0],
                      "grad_norm": clean([self.grad_norm[-1]])[0]},
            "stats": {k: float(v) for k, v in self.stats.items()},
            **({"traces": {k: clean(v) for k, v in self.traces.items()}} if getattr(self, "traces", None) else {}),
        }

    def to_dataframe(self):
        import pandas as pd
        df = pd.DataFrame({"round": self.rounds, "step": self.steps, "loss": self.loss,
                           "grad_norm": self.grad_norm})
        for j in range(self.x.shape[1]):
            df[f"x{j}"] = self.x[:, j]
        return df

    def __repr__(self):
        """One line: problem, method and their settings, seed, rounds, final loss and gradient norm,
        the divergence round (never the arrays)."""
        from ._html import num, settings_text
        ps = settings_text(self.problem_settings)
        hs = settings_text(self.settings)
        div = f", diverged at round {self.diverged_at}" if self.diverged else ""
        return (f"RunResult({self.problem}{' {' + ps + '}' if ps else ''} / {self.algorithm}"
                f"{' {' + hs + '}' if hs else ''}, seed={self.seed}, rounds={self._last_round()}, "
                f"final loss={num(self.loss[-1]) if len(self.loss) else None}, "
                f"grad_norm={num(self.grad_norm[-1]) if len(self.grad_norm) else None}{div})")

    def _last_round(self):
        return int(self.rounds[-1]) if len(self.rounds) else 0

    def _repr_html_(self):
        from ._html import num, settings_text, table
        d = self.x.shape[1]
        fx = self.x[-1]
        last = "" if not len(self.rounds) else f" (round {self._last_round()})"
        rows = [("problem", f"{self.problem} {{{settings_text(self.problem_settings)}}}"),
                ("method", f"{self.algorithm} {{{settings_text(self.settings)}}}"),
                ("seed", self.seed),
                ("rounds", f"{self._last_round()} ({len(self.rounds)} recorded, d = {d})"),
                ("final loss" + last, num(self.loss[-1]) if len(self.loss) else ""),
                ("final grad norm" + last, num(self.grad_norm[-1]) if len(self.grad_norm) else ""),
                ("final x", "[" + ", ".join(num(v) for v in fx) + "]" if d <= 8 else f"({d} coordinates)"),
                ("diverged", f"at round {self.diverged_at}" if self.diverged else "no")]
        stats = {k: v for k, v in self.stats.items() if k != "diverged_round"}
        if stats:
            rows.append(("statistics", settings_text(stats)))
        return table("RunResult", rows)

    def plot(self, ax=None, y="grad_norm", logy=True, label=None):
        """Plot ``y`` (``"loss"``, ``"grad_norm"`` or ``"x"``) against rounds; returns the axes.

        Without ``ax``, a new figure in theorybench's style (applied only to it: the user's rcParams and
        backend are unchanged); with ``ax``, drawn in the caller's style."""
        if ax is None:
            from .plotting import plt_axes, style
            ax = plt_axes()  # outside the style context: pyplot's first import sets up the backend
            with style():
                return self._plot(ax, y, logy, label)
        return self._plot(ax, y, logy, label)

    def _plot(self, ax, y, logy, label):
        if y not in ("loss", "grad_norm", "x"):
            from .errors import TheoryBenchError
            raise TheoryBenchError(f"parameter 'y' must be one of loss, grad_norm, x, got {y!r}")
        vals = self.x[:, 0] if y == "x" else getattr(self, y)
        ax.plot(self.rounds, vals, label=label or self.algorithm)
        ax.set_xlabel("round r")
        ax.set_ylabel({"grad_norm": r"$\|\nabla f(x_r)\|$", "loss": r"$f(x_r)$", "x": r"$x_r$"}[y])
        if logy and y != "x":
            ax.set_yscale("log")
        if self.diverged:
            ax.set_title(f"diverged at round {self.diverged_at}")
        return ax


from .kernels.common import STAT_NAMES  # noqa: E402,F401  (re-exported)


@dataclass
class SweepResult:
    """A grid of runs with named axes.

    ``dims`` names the axes of the leading dimensions (the swept parameters in grid order, then
    ``seed``); ``coords[dim]`` gives their values. ``loss`` and ``grad_norm`` have shape
    ``(*shape, n_rec)``, ``x`` has ``(*shape, n_rec, d)``, ``stats[name]`` has ``shape``.
    """
    problem: str
    algorithm: str
    dims: tuple
    coords: dict
    rounds: np.ndarray
    steps: np.ndarray       # (*shape, n_rec): rounds times each configuration's I
    x: np.ndarray
    loss: np.ndarray
    grad_norm: np.ndarray
    stats: dict
    fixed: dict = field(default_factory=dict)
    traces: dict = field(default_factory=dict)  # extra arrays of shape (*shape, n_rec), kernel-specific

    @property
    def shape(self):
        return tuple(len(self.coords[d]) for d in self.dims)

    @property
    def diverged(self):
        return self.stats["diverged_round"] >= 0

    def index(self, **sel):
        """The tuple index selecting ``sel`` (values by label) on the grid's axes."""
        idx = []
        for d in self.dims:
            if d in sel:
                vals = list(self.coords[d])
                if sel[d] not in vals:
                    raise KeyError(f"{d}={sel[d]!r} is not on the axis (values: {vals})")
                idx.append(vals.index(sel[d]))
            else:
                idx.append(slice(None))
        return tuple(idx)

    def sel(self, name, **sel):
        """Array ``name`` (``loss``, ``grad_norm``, ``x`` or a stat) at the labels ``sel``."""
        arr = (self.stats[name] if name in self.stats else self.traces[name] if name in self.traces
               else getattr(self, name))
        return arr[self.index(**sel)]

    def __repr__(self):
        """One line: problem, method, the axes and their sizes, rounds, fixed settings, divergences."""
        from ._html import settings_text
        axes = ", ".join(f"{d}[{len(self.coords[d])}]" for d in self.dims)
        n = int(np.prod(self.shape))
        n_div = int(np.count_nonzero(self.diverged)) if "diverged_round" in self.stats else 0
        fixed = settings_text(self.fixed)
        return (f"SweepResult({self.problem} / {self.algorithm}, axes {axes} ({n} runs), "
                f"rounds={int(self.rounds[-1]) if len(self.rounds) else 0} ({len(self.rounds)} recorded)"
                f"{', fixed {' + fixed + '}' if fixed else ''}, {n_div} diverged)")

    def _repr_html_(self):
        from ._html import num, settings_text, table, values_text
        n = int(np.prod(self.shape))
        rows = [("problem / method", f"{self.problem} / {self.algorithm}")]
        rows += [(f"axis {d}", f"{len(self.coords[d])}: {values_text(self.coords[d])}") for d in self.dims]
        rows.append(("fixed", settings_text(self.fixed)))
        rows.append(("rounds", f"{int(self.rounds[-1]) if len(self.rounds) else 0} "
                               f"({len(self.rounds)} recorded)"))
        if "diverged_round" in self.stats:
            rows.append(("diverged", f"{int(np.count_nonzero(self.diverged))} of {n} runs"))
        if len(self.rounds):
            last = self.grad_norm[..., -1]
            fin = last[np.isfinite(last)]
            if fin.size:
                rows.append(("final grad norm", f"min {num(fin.min())}, median {num(np.median(fin))}, "
                                                f"max {num(fin.max())}"))
        rows.append(("statistics", ", ".join(self.stats)))
        return table(f"SweepResult ({n} runs)", rows)

    def _axis_columns(self, n_cfg):
        """Per configuration: each axis' value, typed (:func:`_typed_column`), then the fixed settings."""
        codes = np.unravel_index(np.arange(n_cfg), self.shape) if n_cfg else [np.zeros(0, int)] * len(self.dims)
        cols = {d: (list(self.coords[d]), c) for d, c in zip(self.dims, codes)}
        for k, v in self.fixed.items():
            cols.setdefault(k, ([v], np.zeros(n_cfg, dtype=np.int64)))
        return cols

    def to_dataframe(self, every_record=True):
        """A tidy table: one row per configuration and recorded round (or one per configuration).

        Axis and fixed-setting columns are typed: ``int64``/``float64`` (``bool``) when the values are
        numbers, ``category`` (in the axis' order) otherwise; never ``object``."""
        import pandas as pd
        n_cfg = int(np.prod(self.shape))
        axes = self._axis_columns(n_cfg)
        stats = {k: v.reshape(n_cfg) for k, v in self.stats.items()}
        if not every_record:
            cols = {k: _typed_column(vals, codes) for k, (vals, codes) in axes.items()}
            return pd.DataFrame({**cols, **stats, "final_loss": self.loss.reshape(n_cfg, -1)[:, -1],
                                 "final_grad_norm": self.grad_norm.reshape(n_cfg, -1)[:, -1],
                                 **{f"final_{k}": v.reshape(n_cfg, -1)[:, -1] for k, v in self.traces.items()
                                    if k not in stats}})
        nrec = self.rounds.shape[0]
        cols = {k: _typed_column(vals, np.repeat(codes, nrec)) for k, (vals, codes) in axes.items()}
        cols["round"] = np.tile(self.rounds, n_cfg)
        cols["step"] = self.steps.reshape(-1)
        cols["loss"] = self.loss.reshape(-1)
        cols["grad_norm"] = self.grad_norm.reshape(-1)
        for k, v in self.traces.items():  # the kernel's named per-record traces (log_loss, ||x - x*||^2, ...)
            if k not in cols:
                cols[k] = v.reshape(-1)
        xs = self.x.reshape(n_cfg * nrec, -1)
        for j in range(xs.shape[1]):
            cols[f"x{j}"] = xs[:, j]
        cols["diverged"] = np.repeat(stats["diverged_round"] >= 0, nrec)
        return pd.DataFrame(cols)

    def to_xarray(self):
        """An ``xarray.Dataset`` with the sweep's named axes as dimensions (typed coordinates) and
        ``round`` (the recorded rounds) and ``coord`` (the iterate's coordinates) as the trace's:
        ``loss``, ``grad_norm``, ``step`` and the traces on ``(*dims, round)``, ``x`` on
        ``(*dims, round, coord)``, each statistic on ``dims``. ``attrs`` hold the problem, method and fixed
        settings. Needs xarray: ``pip install "theorybench[notebook]"``."""
        try:
            import xarray as xr
        except ImportError:
            from .errors import TheoryBenchError
            raise TheoryBenchError('SweepResult.to_xarray needs xarray: pip install "theorybench[notebook]"'
                                   ) from None
        from .errors import TheoryBenchError
        taken = set(self.dims)
        for extra in ("round", "coord"):
            if extra in taken:
                raise TheoryBenchError(f"sweep axis {extra!r} collides with the trace dimension of that name "
                                       "in to_xarray; use to_dataframe")
        coords = {d: _typed_coordinate(self.coords[d]) for d in self.dims}
        coords["round"] = np.asarray(self.rounds)
        coords["coord"] = np.arange(self.x.shape[-1])
        trace = (*self.dims, "round")
        data = {"loss": (trace, self.loss), "grad_norm": (trace, self.grad_norm), "step": (trace, self.steps),
                "x": ((*trace, "coord"), self.x)}
        for k, v in self.traces.items():
            data.setdefault(k, (trace, v))
        for k, v in self.stats.items():
            data.setdefault(k, (tuple(self.dims), np.asarray(v)))
        attrs = {"problem": self.problem, "algorithm": self.algorithm}
        for k, v in self.fixed.items():
            attrs[f"fixed_{k}"] = "auto" if v is None else v
        return xr.Dataset(data, coords=coords, attrs=attrs)


def _numeric_values(values):
    """``values`` as an int64/float64/bool array when every value is a number (``None`` as NaN among
    reals), else ``None``."""
    import numbers
    vals = list(values)
    if not vals:
        return np.zeros(0)
    if all(isinstance(v, (bool, np.bool_)) for v in vals):
        return np.array(vals, dtype=bool)
    if any(isinstance(v, (bool, np.bool_)) for v in vals):
        return None
    if all(isinstance(v, numbers.Integral) for v in vals):
        try:
            return np.array([int(v) for v in vals], dtype=np.int64)
        except OverflowError:
            return None
    if all(v is None or isinstance(v, numbers.Real) for v in vals) and any(v is not None for v in vals):
        return np.array([np.nan if v is None else float(v) for v in vals], dtype=np.float64)
    return None


def _labels(values):
    return ["auto" if v is None else str(v) for v in values]


def _typed_column(values, codes):
    """``values[codes]`` as a typed column: numbers numeric, anything else a categorical of strings whose
    categories keep the axis' order."""
    import pandas as pd
    arr = _numeric_values(values)
    if arr is not None:
        return arr[codes]
    labels = _labels(values)
    cats = list(dict.fromkeys(labels))
    pos = np.array([cats.index(lab) for lab in labels], dtype=np.int64)
    return pd.Categorical.from_codes(pos[codes], categories=pd.Index(cats, dtype="string"))


def _typed_coordinate(values):
    """An axis' values for xarray: numeric when they are numbers, else unicode strings."""
    arr = _numeric_values(values)
    return arr if arr is not None else np.array(_labels(values), dtype=str)
