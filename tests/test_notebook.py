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


def test_headless_pyplot_is_for_the_cli_only():
    """pyplot(headless=True) (the CLI, a process of its own) ends on a non-interactive backend without a
    display; it keeps a non-interactive backend the user chose (svg), and so does pyplot()."""
    import subprocess
    code = ("import matplotlib; from theorybench.plotting import pyplot; pyplot(); a = matplotlib.get_backend(); "
            "pyplot(headless=True); print(a.lower(), matplotlib.get_backend().lower())")
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    seen = {}
    for backend in ("svg", "TkAgg"):
        env["MPLBACKEND"] = backend
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        seen[backend] = out.stdout.split()
    assert seen["svg"] == ["svg", "svg"]
    assert seen["TkAgg"][1] == "agg"


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
    # pixel for pixel what the former global style gave (style set for the whole draw and save)
    import matplotlib.image as mpimg
    with matplotlib.rc_context(STYLE):
        fig = _draw()
        fig.savefig(tmp_path / "global.png", format="png")
        plt.close(fig)
    assert np.array_equal(mpimg.imread(paths[0]), mpimg.imread(tmp_path / "global.png"))
    rc = _rc()
    # a figure saved by save() after drawing leaves them alone too
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


# ------------------------------------------------------------------ the explorer

def test_control_specs_follow_the_declared_parameters():
    from theorybench.algorithms import get_algorithm
    from theorybench.explore import control_spec
    from theorybench.problem import get_problem_family
    hyper = {p.name: p for p in get_algorithm("local-clip").params}
    kind, lo, hi = control_spec(hyper["eta"], 0.5)            # positive real: log scale, decades around 0.5
    assert kind == "log" and lo < np.log10(0.5) - 1 and hi > np.log10(0.5) + 1
    assert control_spec(hyper["local_steps"], 8)[0] == "int" and control_spec(hyper["local_steps"], 8)[1] == 1
    assert control_spec(hyper["convention"], "step") == ("choice", ("step", "grad"))
    quartic = {p.name: p for p in get_problem_family("episode-quartic").params}
    kind, lo, hi, step = control_spec(quartic["sigma"], 1.0)  # sigma >= 0 (0 allowed): linear from 0
    assert kind == "float" and lo == 0.0 and hi > 1.0 and step > 0
    kind, lo, hi, _ = control_spec(quartic["x0"], 1.0)        # unbounded: linear around the value
    assert kind == "float" and lo < 1.0 < hi
    lemma = {p.name: p for p in get_problem_family("cl-lemma31").params}
    kind, lo, hi = control_spec(lemma["gamma"], 0.1)          # clipped to the declared (0, 1/6)
    assert kind == "log" and 10 ** hi <= lemma["gamma"].high
    assert control_spec(hyper["eta"], 0.5, (0.25, 1.9))[0] == "float"  # less than a decade: linear
    assert control_spec(hyper["eta"], 0.5, (1e-3, 1.0))[:3] == ("log", -3.0, 0.0)
    beta = {p.name: p for p in get_algorithm("muon").params}["beta"]    # [0, 1): 1 is not a value
    kind, lo, hi, _ = control_spec(beta, beta.default)
    assert kind == "float" and lo == beta.low and hi < beta.high
    beta.validate(hi)


EP1_MAP = {"x": ("eta", [k / 8 for k in range(1, 16)]), "y": ("local_steps", [1, 2, 3, 4, 5]),
           "statistic": lambda sw: np.abs(sw.x).max(axis=(-2, -1)) <= 1e-12, "label": "stuck"}


def _ydata(ex, panel, k=0):
    return np.asarray(ex.axes[panel].lines[k].get_ydata(), dtype=float)


def test_explorer_headless_redraws_on_every_change():
    w = pytest.importorskip("ipywidgets")
    ex = tb.explore("two-client-quadratic", "local-clip", rounds=20, region=EP1_MAP,
                    statistics={"max_r |x_r|": lambda r: np.abs(r.x).max()})
    assert isinstance(ex, w.Widget)
    kinds = {k: type(c).__name__ for k, c in ex.controls.items()}
    assert kinds["eta"] == "FloatLogSlider" and kinds["local_steps"] == "IntSlider"
    assert kinds["convention"] == "Dropdown" and kinds["x0"] == "FloatSlider" and "a1" not in kinds  # auto
    assert ex.controls["clients_per_round"].max == 2  # S <= N = 2 clients

    def expect(**kw):
        settings = {"eta": ex.controls["eta"].value, "local_steps": ex.controls["local_steps"].value,
                    "convention": ex.controls["convention"].value}
        settings.update(kw)
        gamma = ex.controls["gamma"].value  # one control sets the instance's and the clipping gamma
        res = tb.run("two-client-quadratic", "local-clip", rounds=20, problem_settings={"gamma": gamma},
                     gamma=gamma, **settings)
        np.testing.assert_array_equal(_ydata(ex, "grad_norm"), res.grad_norm)
        np.testing.assert_array_equal(_ydata(ex, "x"), res.x[:, 0])
        np.testing.assert_array_equal(ex.result.x, res.x)
        sw = tb.sweep("two-client-quadratic", "local-clip", grid={"eta": EP1_MAP["x"][1],
                      "local_steps": EP1_MAP["y"][1]}, rounds=20, problem_settings={"gamma": gamma}, gamma=gamma,
                      convention=settings["convention"])
        np.testing.assert_array_equal(ex.region_values, EP1_MAP["statistic"](sw)[..., 0])
        assert "max_r |x_r|" in ex.status.value
        return res

    png0 = ex.image.value
    expect()
    for name, value in (("eta", 0.5), ("local_steps", 2), ("convention", "grad"), ("gamma", 0.5),
                        ("rounds", 40)):
        before = _ydata(ex, "grad_norm").copy(), ex.image.value
        ex.controls[name].value = value
        if name == "rounds":
            assert len(_ydata(ex, "grad_norm")) == 41 and ex.result.rounds[-1] == 40
            break
        expect()
        assert ex.image.value != before[1]
    assert ex.image.value != png0 and ex.error is None


def test_explorer_fixed_values_errors_and_divergence(monkeypatch):
    pytest.importorskip("ipywidgets")
    ex = tb.explore("two-client-quadratic", "fedavg", rounds=200, local_steps=1,
                    ranges={"eta": (0.01, 100.0), "clients_per_round": (0, 5)})
    assert "local_steps" not in ex.controls and ex.result.settings["local_steps"] == 1
    ex.controls["eta"].value = 30.0          # far above 2/L: diverges, marked in the title
    assert ex.result.diverged and f"diverged at round {ex.result.diverged_at}" in ex.axes["grad_norm"].get_title()
    ex.controls["clients_per_round"].value = 5   # more than N = 2: the run's own error, shown, not raised
    assert ex.result is None and "clients_per_round" in ex.error and "clients_per_round" in ex.status.value
    # a problem parameter named seed gets its own control; 'seed' stays the run's
    pts = tb.explore("quartic-points", "fedavg-gd", rounds=5, n_points=8, clients=2, d=2)
    assert "problem_seed" in pts.controls and pts.controls["seed"].value == 0
    pts.controls["problem_seed"].value = 3
    assert pts.result.problem_settings["seed"] == 3 and pts.result.seed == 0
    with pytest.raises(TheoryBenchError, match="etaa"):
        tb.explore("two-client-quadratic", "fedavg", etaa=0.1)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(TheoryBenchError, match=re.escape('pip install "theorybench[notebook]"')):
        tb.explore("two-client-quadratic", "fedavg")


# ------------------------------------------------------------------ the example notebook

NOTEBOOK = os.path.join(ROOT, "examples", "probe_counterexample.ipynb")


def test_example_notebook_runs(tmp_path, monkeypatch):
    """Executes examples/probe_counterexample.ipynb in a fresh kernel at a small size (its own asserts
    compare the measured stuck region with EP-1's condition); every cell must run without error."""
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own (inline) backend, as in Jupyter
    pytest.importorskip("ipywidgets")
    pytest.importorskip("xarray")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    from jupyter_client.kernelspec import NoSuchKernel
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:  # smaller still in CI
        if cell.cell_type == "code" and "ROUNDS = 30" in cell.source:
            cell.source = cell.source.replace("ROUNDS = 30", "ROUNDS = 12")
            break
    else:
        pytest.fail("the notebook's size cell (ROUNDS = 30) is missing")
    client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute()
    except NoSuchKernel:
        pytest.skip("no python3 Jupyter kernel installed")
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    kinds = {k for o in outputs for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds    # the explorer
    pngs = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(pngs) >= 2  # res.plot()'s figure and the user's next one both shown inline (backend kept)
    html = " ".join(o["data"]["text/html"] for o in outputs if "text/html" in o.get("data", {}))
    assert "RunResult" in html and "SweepResult" in html           # the rich reprs
    printed = " ".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "RunResult(two-client-quadratic" in printed and "not diverged" in printed


def test_example_notebook_is_stored_without_outputs():
    """The committed notebook is small: no stored outputs or execution counts."""
    with open(NOTEBOOK) as f:
        nb = json.load(f)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code and all(not c["outputs"] and c["execution_count"] is None for c in code)
