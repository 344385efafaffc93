"""Notebook use: plotting leaves the user's backend and rcParams alone, short reprs and HTML summaries,
typed DataFrames, ``to_xarray``, the explorer (headless, ipywidgets) and the example notebook (nbclient)."""
import json
import os
import re
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest

import theorybench as tb
from theorybench.claims import Evidence
from theorybench.errors import TheoryBenchError
from theorybench.plotting import STYLE

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _rc():
    return {k: v for k, v in matplotlib.rcParams.items() if k != "backend"}


@pytest.fixture
def user_backend():
    """A notebook user's own setup: a non-Agg backend (svg draws without a display, like inline) and a
    changed rcParam; both restored afterwards."""
    import matplotlib.pyplot as plt
    before_backend, before_rc = matplotlib.get_backend(), matplotlib.rcParams.copy()
    saved = os.environ.pop("DISPLAY", None)
    plt.switch_backend("svg")
    matplotlib.rcParams["lines.linewidth"] = 3.25
    try:
        yield "svg"
    finally:
        plt.close("all")
        plt.switch_backend(before_backend)
        matplotlib.rcParams.update(before_rc)
        if saved is not None:
            os.environ["DISPLAY"] = saved


def test_res_plot_keeps_backend_and_rcparams(user_backend):
    import matplotlib.pyplot as plt
    res = tb.run("two-client-quadratic", "local-clip", rounds=20, eta=0.5, local_steps=2)
    rc = _rc()
    ax = res.plot()
    assert matplotlib.get_backend().lower() == user_backend  # never switched to Agg (no DISPLAY here)
    assert _rc() == rc                                       # the style did not leak into rcParams
    # our own figure has the style, lines included
    assert tuple(ax.figure.get_size_inches()) == pytest.approx(STYLE["figure.figsize"])
    assert ax.lines[0].get_linewidth() == STYLE["lines.linewidth"]
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), res.grad_norm)
    # the user's own plot afterwards keeps the user's style
    fig2, ax2 = plt.subplots()
    assert ax2.plot([0, 1])[0].get_linewidth() == 3.25
    # into the user's axes: drawn in the user's style
    res.plot(ax2, y="loss")
    assert ax2.lines[-1].get_linewidth() == 3.25
    with pytest.raises(TheoryBenchError, match="'y'"):
        res.plot(ax2, y="gradnorm")


def test_pyplot_never_switches_the_users_backend(user_backend):
    from theorybench.plotting import pyplot
    pyplot()
    assert matplotlib.get_backend().lower() == user_backend


def _draw():
    from theorybench.plotting import new_figure
    fig, axs = new_figure(ncols=2, width=8.0)
    ax = axs[0][0]
    ax.plot([0, 1, 2], [1, 0.5, 0.25], label="a")
    ax.set_title("t")
    ax.legend()
    return fig


def test_report_figure_keeps_backend_and_rcparams(user_backend, tmp_path):
    import matplotlib.pyplot as plt
    from theorybench.plotting import render, save
    rc, figs = _rc(), plt.get_fignums()
    seen = {}

    def draw():
        fig = _draw()
        seen["title"] = fig.axes[0].title.get_fontsize()
        seen["lw"] = fig.axes[0].lines[0].get_linewidth()
        seen["legend"] = fig.axes[0].get_legend().get_texts()[0].get_fontsize()
        return fig

    paths = render(draw, str(tmp_path / "paper" / "fig"))
    assert [os.path.basename(p) for p in paths] == ["fig.png", "fig.pdf"]
    assert open(paths[0], "rb").read(8) == b"\x89PNG\r\n\x1a\n" and open(paths[1], "rb").read(5) == b"%PDF-"
    assert seen == {"title": STYLE["axes.titlesize"], "lw": STYLE["lines.linewidth"],
                    "legend": STYLE["legend.fontsize"]}
    assert matplotlib.get_backend().lower() == user_backend and _rc() == rc
    assert plt.get_fignums() == figs  # drawn off screen: nothing added to the user's pyplot figures
    # the report's present call, save(draw(), stem), leaves them alone too
    save(_draw(), str(tmp_path / "old"))
    assert os.path.exists(tmp_path / "old.png")
    assert matplotlib.get_backend().lower() == user_backend and _rc() == rc
    assert plt.get_fignums() == figs


# ------------------------------------------------------------------ reprs

def _diverging():
    """FedAvg with eta far above 2/L on the 1-smooth quadratic: |1 - eta|^r leaves every bound."""
    res = tb.run("two-client-quadratic", "fedavg", rounds=400, eta=30.0, local_steps=1)
    assert res.diverged
    return res


def test_run_repr_is_short_and_names_the_run():
    res = tb.run("two-client-quadratic", "local-clip", rounds=300, eta=0.5, local_steps=2)
    text = repr(res)
    assert "\n" not in text and len(text) < 400 and "array" not in text
    for word in ("two-client-quadratic", "local-clip", "eta=0.5", "local_steps=2", "convention=step",
                 "rounds=300", "final loss=", "grad_norm=", "seed=0"):
        assert word in text
    assert "diverged" not in text
    d = _diverging()
    assert f"diverged at round {d.diverged_at}" in repr(d)
    html = d._repr_html_()
    assert "<table" in html and "fedavg" in html and f"at round {d.diverged_at}" in html
    assert "<script" not in html


def test_sweep_and_evidence_html():
    sw = tb.sweep("two-client-quadratic", "local-clip", grid={"eta": [0.25, 0.5], "convention": ["step", "grad"]},
                  rounds=10, local_steps=3)
    text = repr(sw)
    assert "\n" not in text and "eta[2]" in text and "convention[2]" in text and "local_steps=3" in text
    html = sw._repr_html_()
    assert "axis eta" in html and "step, grad" in html and "4 runs" in html
    ev = Evidence("FAIL", measured="x < <b>", predicted="x >= 1", why="because")
    h = ev._repr_html_()
    assert "FAIL" in h and "&lt;b&gt;" in h and "<b>" in h.replace("&lt;b&gt;", "")  # escaped text
    claim = tb.claims.Claim("T-1", "p", "Thm 1", "s", lambda size, control: ev, "c")
    r = claim.run("quick")
    assert "T-1" in r._repr_html_() and "expected PASS" in r._repr_html_()


# ------------------------------------------------------------------ typed frames, xarray

def _sweep():
    return tb.sweep("two-client-quadratic", "local-clip", grid={"eta": [0.25, 0.5, 1.0], "convention": ["step", "grad"]},
                    problem_grid={"gamma": [1.0, 2.0]}, seeds=2, rounds=8, local_steps=3)


def test_dataframe_columns_are_typed():
    sw = _sweep()
    for every in (True, False):
        df = sw.to_dataframe(every_record=every)
        assert not [c for c in df.columns if df[c].dtype == object], df.dtypes
        assert df["eta"].dtype == np.float64 and df["problem_gamma"].dtype == np.float64
        assert df["seed"].dtype == np.int64 and df["local_steps"].dtype == np.int64
        assert isinstance(df["convention"].dtype, pd.CategoricalDtype)
        assert list(df["convention"].cat.categories) == ["step", "grad"]   # the axis' order
    # values line up with the grid: a row per (config, record) equals sel()
    df = sw.to_dataframe()
    row = df[(df.eta == 0.5) & (df.convention == "grad") & (df.problem_gamma == 2.0) & (df.seed == 1)]
    np.testing.assert_array_equal(row["loss"].to_numpy(),
                                  sw.sel("loss", eta=0.5, convention="grad", problem_gamma=2.0, seed=1))
    assert list(row["local_steps"].unique()) == [3]


def test_to_xarray():
    xr = pytest.importorskip("xarray")
    sw = _sweep()
    ds = sw.to_xarray()
    assert isinstance(ds, xr.Dataset)
    assert ds["loss"].dims == (*sw.dims, "round") and ds["x"].dims == (*sw.dims, "round", "coord")
    assert ds["eta"].dtype == np.float64 and ds["seed"].dtype == np.int64 and ds["convention"].dtype.kind == "U"
    np.testing.assert_array_equal(ds["round"].values, sw.rounds)
    np.testing.assert_array_equal(ds["grad_norm"].sel(eta=0.5, convention="grad", problem_gamma=2.0, seed=1).values,
                                  sw.sel("grad_norm", eta=0.5, convention="grad", problem_gamma=2.0, seed=1))
    np.testing.assert_array_equal(ds["diverged_round"].values, sw.stats["diverged_round"])
    assert ds.attrs["algorithm"] == "local-clip" and ds.attrs["fixed_local_steps"] == 3


def test_to_xarray_without_xarray(monkeypatch):
    monkeypatch.setitem(sys.modules, "xarray", None)  # import xarray now raises ImportError
    with pytest.raises(TheoryBenchError, match=re.escape('pip install "theorybench[notebook]"')):
        _sweep().to_xarray()
