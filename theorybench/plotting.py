"""Paper-figure style for matplotlib (pyplot is imported only when a figure is drawn)."""
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


def pyplot():
    import logging
    import matplotlib
    logging.getLogger("fontTools").setLevel(logging.ERROR)  # PDF font subsetting chatter
    if not os.environ.get("DISPLAY") and matplotlib.get_backend().lower() not in ("agg", "pdf"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    plt.rcParams.update(STYLE)
    return plt


def plt_axes(ax=None):
    if ax is not None:
        return ax
    plt = pyplot()
    return plt.subplots()[1]


def new_figure(ncols=1, nrows=1, width=None, height=None):
    plt = pyplot()
    w = width or STYLE["figure.figsize"][0] * ncols
    h = height or STYLE["figure.figsize"][1] * nrows
    return plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False)


def save(fig, path_stem, formats=("png", "pdf")):
    """Write ``path_stem.png`` and ``path_stem.pdf``, each atomically (a killed run leaves the old
    complete file or the new one, never a truncated one); return the paths."""
    from .atomic_io import atomic_savefig
    plt = pyplot()
    os.makedirs(os.path.dirname(path_stem) or ".", exist_ok=True)
    paths = []
    try:
        for fmt in formats:
            p = f"{path_stem}.{fmt}"
            atomic_savefig(fig, p, metadata={"CreationDate": None} if fmt == "pdf" else None)
            paths.append(p)
    finally:
        plt.close(fig)
    return paths
