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
        }

    def to_dataframe(self):
        import pandas as pd
        df = pd.DataFrame({"round": self.rounds, "step": self.steps, "loss": self.loss,
                           "grad_norm": self.grad_norm})
        for j in range(self.x.shape[1]):
            df[f"x{j}"] = self.x[:, j]
        return df

    def plot(self, ax=None, y="grad_norm", logy=True, label=None):
        """Plot ``y`` (``"loss"``, ``"grad_norm"`` or ``"x"``) against rounds; returns the axes."""
        from .plotting import plt_axes
        ax = plt_axes(ax)
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

    def to_dataframe(self, every_record=True):
        """A tidy table: one row per configuration and recorded round (or one per configuration)."""
        import pandas as pd
        grids = np.meshgrid(*[np.asarray(self.coords[d], dtype=object) for d in self.dims], indexing="ij")
        base = {d: g.ravel() for d, g in zip(self.dims, grids)}
        n_cfg = int(np.prod(self.shape))
        for k, v in self.fixed.items():
            base.setdefault(k, np.full(n_cfg, v, dtype=object))
        stats = {k: v.reshape(n_cfg) for k, v in self.stats.items()}
        if not every_record:
            df = pd.DataFrame({**base, **stats, "final_loss": self.loss.reshape(n_cfg, -1)[:, -1],
                               "final_grad_norm": self.grad_norm.reshape(n_cfg, -1)[:, -1]})
            return df
        nrec = self.rounds.shape[0]
        cols = {k: np.repeat(v, nrec) for k, v in base.items()}
        cols["round"] = np.tile(self.rounds, n_cfg)
        cols["step"] = self.steps.reshape(-1)
        cols["loss"] = self.loss.reshape(-1)
        cols["grad_norm"] = self.grad_norm.reshape(-1)
        xs = self.x.reshape(n_cfg * nrec, -1)
        for j in range(xs.shape[1]):
            cols[f"x{j}"] = xs[:, j]
        cols["diverged"] = np.repeat(stats["diverged_round"] >= 0, nrec)
        return pd.DataFrame(cols)
