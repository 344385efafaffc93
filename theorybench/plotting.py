"""Paper-figure style for matplotlib, applied only to theorybench's own figures.

The style is never installed globally: :func:`style` is a ``matplotlib.rc_context`` that theorybench
enters around the figures it creates and draws (``RunResult.plot`` without an ``ax``, :func:`render`,
the explorer), so a notebook's own plots, rcParams and backend are left as the user set them. The
backend is never switched here, except by :func:`pyplot` with ``headless=True``, meant for a process that
theorybench owns (the CLI). Figures written to files by :func:`render` are built without pyplot at all
(a bare ``matplotlib.figure.Figure`` saved by its own canvas), so writing a report from a notebook
neither needs nor changes a backend. pyplot is imported only when a figure is drawn."""
import contextlib
import contextvars
import os

STYLE = {
    "figure.figsize": (4.2, 3.0), "figure.dpi": 110, "savefig.dpi": 150, "font.size": 9,
    "axes.titlesize": 9, "axes.labelsize": 9, "legend.fontsize": 8, "xtick.labelsize": 8,
    "ytick.labelsize": 8, "axes.grid": True, "grid.alpha": 0.3, "lines.linewidth": 1.4,
    "axes.spines.top": False, "axes.spines.right": False, "savefig.bbox": "tight",
    "pdf.fonttype": 42,
}
COLORS = {"episode": "#1f77b4", "local-clip": "#d62728", "fedavg": "#7f7f7f",
          "clipped-minibatch": "#2ca02c"}
LABELS = {"episode": "EPISODE", "local-clip": "CELGC (local clipping)", "fedavg": "FedAvg",
          "clipped-minibatch": "clipped minibatch SGD"}

# set by render(): new figures are bare Figures (no pyplot, no backend) while a file is being drawn
_OFFSCREEN = contextvars.ContextVar("theorybench_offscreen", default=False)
_NON_INTERACTIVE = ("agg", "pdf", "ps", "svg", "pgf", "cairo", "template")


def _quiet_fonttools():
    import logging
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # PDF font subsetting chatter


@contextlib.contextmanager
def style():
    """``with style(): ...``: the paper style for the figures created and drawn inside; rcParams are
    restored on exit (``matplotlib.rc_context``), so nothing outside changes."""
    import matplotlib
    _quiet_fonttools()
    with matplotlib.rc_context(STYLE):
        yield


def pyplot(headless=False):
    """``matplotlib.pyplot``, the backend left as the user (or Jupyter) set it.

    headless: for a process theorybench owns and that only writes files (the CLI): select the Agg
    backend when the current one is interactive and there is no display. Never pass it from code a
    notebook runs: switching backends closes the user's figures."""
    import matplotlib
    _quiet_fonttools()
    if headless and not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in _NON_INTERACTIVE:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _backend_ready():
    """Import pyplot (unless drawing off screen) before a style context is entered: its first import
    resolves the backend, and Jupyter's inline backend configures rcParams then (interactive mode, its
    figure settings); done inside ``rc_context`` that set-up would be undone on exit, and later figures
    would no longer show."""
    if not _OFFSCREEN.get():
        plt = pyplot()
        load = getattr(plt, "_get_backend_mod", None)  # selects and loads the backend (matplotlib >= 3.5)
        if load is not None:
            load()


def _figure(**kw):
    """A new figure: a bare ``Figure`` inside :func:`render` (no pyplot, no backend), else pyplot's."""
    if _OFFSCREEN.get():
        from matplotlib.figure import Figure
        return Figure(**kw)
    return pyplot().figure(**kw)


def plt_axes(ax=None):
    """``ax``, or the axes of a new figure in the paper style (for drawing into, call it inside
    :func:`style`, as ``RunResult.plot`` does)."""
    if ax is not None:
        return ax
    _backend_ready()
    with style():
        return _figure().subplots()


def new_figure(ncols=1, nrows=1, width=None, height=None):
    """``(fig, axs)`` with ``axs[row][col]``, created in the paper style (size, grid, spines, fonts).
    Titles, legends and lines drawn later take the style when drawn inside :func:`style` (as
    :func:`render` does for the claims' figures)."""
    w = width or STYLE["figure.figsize"][0] * ncols
    h = height or STYLE["figure.figsize"][1] * nrows
    _backend_ready()
    with style():
        fig = _figure(figsize=(w, h))
        return fig, fig.subplots(nrows, ncols, squeeze=False)


def save(fig, path_stem, formats=("png", "pdf")):
    """Write ``path_stem.png`` and ``path_stem.pdf``, each atomically (a killed run leaves the old
    complete file or the new one, never a truncated one), in the paper's save settings; close ``fig``;
    return the paths. Needs no backend: each format is written by its own canvas."""
    from .atomic_io import atomic_savefig
    os.makedirs(os.path.dirname(path_stem) or ".", exist_ok=True)
    paths = []
    try:
        with style():
            for fmt in formats:
                p = f"{path_stem}.{fmt}"
                atomic_savefig(fig, p, metadata={"CreationDate": None} if fmt == "pdf" else None)
                paths.append(p)
    finally:
        close(fig)
    return paths


def close(fig):
    """Release ``fig`` (a pyplot figure is removed from pyplot; a bare one needs nothing)."""
    import sys
    plt = sys.modules.get("matplotlib.pyplot")
    if plt is not None:
        plt.close(fig)


def render(draw, path_stem, formats=("png", "pdf")):
    """``draw()`` (a claim's figure function, returning its figure) drawn entirely in the paper style and
    off screen (bare figures, no pyplot, no backend), written by :func:`save`; return the paths.
    rcParams and the backend are the same afterwards. The report and figure writers use this."""
    token = _OFFSCREEN.set(True)
    try:
        with style():
            fig = draw()
    finally:
        _OFFSCREEN.reset(token)
    return save(fig, path_stem, formats)


@contextlib.contextmanager
def offscreen():
    """``with offscreen(): ...``: figures created inside by :func:`new_figure` / :func:`plt_axes` are bare
    Figures (not shown, not in pyplot), in the paper style; for code that writes files itself."""
    token = _OFFSCREEN.set(True)
    try:
        with style():
            yield
    finally:
        _OFFSCREEN.reset(token)
