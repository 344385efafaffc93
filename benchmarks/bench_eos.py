"""Performance benchmark: the edge-of-stability run (GD on the tanh MLP + sharpness along the run) vs PyTorch.

Work (claim ES-1; Cohen et al., ICLR 2021): the tanh MLP ``tanh-mlp`` (``problems/eos_mlp.py``): n = 512 points
x in R^32, 10 classes one-hot, network 32-64-64-10 tanh without biases, loss 1/(2n) sum ||f(x_i) - y_i||^2,
float64, full batch, 6784 parameters. GD with the constant step eta = 0.5 for T steps from the problem's
initialization (``--quick``: T = 600; full: T = 2000), the iterate recorded every ``every`` = 40 steps, and
at every recorded iterate the sharpness lambda_max of the Hessian by Lanczos (``scipy.sparse.linalg.eigsh``,
``which='LA'``, k = 1, tol = 1e-4, ``v0 = default_rng(t).normal(size=D)`` at step t: theorybench's policy in
``theorybench.sharpness.problem_sharpness`` / ``lanczos_lmax``) on a ``LinearOperator`` of Hessian-vector
products. Each engine is timed in two parts: the GD loop, the sharpness along the run; and the total.

Engines, measured in one run:
(0)  theorybench: ``theorybench.runner.run(prob, "gd", steps=T, eta=0.5, record=...)`` (the NumPy driver
     ``theorybench.kernels.steepest`` over the problem's NumPy ``loss_grad``) then ``theorybench.sharpness.sharpness_along(prob, r)`` (eigsh on the problem's exact
     R-operator HVPs, NumPy/BLAS).
(a)  PyTorch on the CPU, float64, ``torch.set_num_threads`` = the Numba thread count: the same data and
     initial weights (copied from ``prob.X``, ``prob.Y``, ``prob.x0``), the GD loop written as a researcher
     would (forward, ``loss.backward()``, ``p -= eta * p.grad`` under ``no_grad``), and HVPs by double
     backward (the gradient graph built once per iterate, then ``torch.autograd.grad(g, params, v)``) or by
     ``torch.func.jvp`` of ``torch.func.grad`` (forward-over-reverse), whichever a short timing at the start
     finds faster, wrapped in the same scipy ``eigsh`` call with the same tol and v0.
     Timed after one warm-up; median of 3 repeats (``--quick``: 1 repeat).

Sanity check: the losses of both engines at the recorded steps agree (max relative difference over steps
<= 200 printed; ~1e-12 expected). GD at eta = 0.5 reaches the edge of stability, where the dynamics are
chaotic: rounding differences between BLAS and PyTorch kernels grow, so the later recorded losses may differ
by much more; the script prints them, it does not hide them. lambda_max at the first 5 recorded steps agree
to ~1e-4 relative (the Lanczos tolerance).

Threads: theorybench's HVPs are NumPy matrix products, so OpenBLAS's own thread pool (default: one thread
per core) runs them, next to Numba's threads and PyTorch's OpenMP pool in the same process. The thread
environment (``OPENBLAS_NUM_THREADS`` etc.) is stored with the results; run the script once as is and once
under ``OPENBLAS_NUM_THREADS=1`` with ``--tag blas1`` to see the difference on a loaded machine.

Run: ``python benchmarks/bench_eos.py [--quick] [--tag TAG]``; writes ``benchmarks/results/eos_gd.json``
(``--quick``: ``eos_gd_quick.json``; ``--tag blas1``: ``eos_gd_blas1.json``). PyTorch is a benchmark-only
extra (``pip install torch``); without it the script prints "skipped: torch not installed" and exits 0.
"""
import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))
RESULTS = HERE / "results"

from _common import machine_info  # noqa: E402

ETA = 0.5
EVERY = 40
TOL = 1e-4  # theorybench.sharpness.problem_sharpness uses tol=1e-4 for the l2 sharpness


# ---------------------------------------------------------------- theorybench

def theorybench_engine(prob, T):
    from theorybench.runner import run
    from theorybench.sharpness import sharpness_along
    t0 = time.perf_counter()
    r = run(prob, "gd", steps=T, eta=ETA, record=np.arange(0, T + 1, EVERY))
    t1 = time.perf_counter()
    s = sharpness_along(prob, r)
    t2 = time.perf_counter()
    out = {"rounds": np.asarray(r.rounds), "loss": np.asarray(r.loss, dtype=float),
           "lambda_max": np.asarray(s["lambda_max"], dtype=float)}
    return t1 - t0, t2 - t1, out


# ---------------------------------------------------------------- PyTorch

def torch_setup(prob):
    import torch
    X = torch.tensor(prob.X, dtype=torch.float64)
    Y = torch.tensor(prob.Y, dtype=torch.float64)
    shapes = [(prob.widths[i], prob.widths[i + 1]) for i in range(len(prob.widths) - 1)]
    W0, off = [], 0
    for a, b in shapes:
        W0.append(torch.tensor(prob.x0[off:off + a * b].reshape(a, b), dtype=torch.float64))
        off += a * b
    return X, Y, W0, shapes


def torch_loss(params, X, Y):
    import torch
    h = X
    for W in params[:-1]:
        h = torch.tanh(h @ W)
    out = h @ params[-1]
    return 0.5 * ((out - Y) ** 2).sum() / X.shape[0]


def torch_gd(X, Y, W0, T, record):
    """Plain PyTorch GD: forward, backward, in-place update; loss and weights kept at the recorded steps."""
    import torch
    params = [W.clone().requires_grad_(True) for W in W0]
    rec = set(int(t) for t in record)
    losses, iterates, rounds = [], [], []
    for t in range(T + 1):
        loss = torch_loss(params, X, Y)
        if t in rec:
            rounds.append(t)
            losses.append(loss.item())
            iterates.append([p.detach().clone() for p in params])
        if t == T:
            break
        loss.backward()
        with torch.no_grad():
            for p in params:
                p -= ETA * p.grad
                p.grad = None
    return np.array(rounds), np.array(losses), iterates


def hvp_double_backward(X, Y, Ws, shapes):
    """Flat-NumPy HVP at the weights Ws by double backward (gradient graph built once)."""
    import torch
    params = [W.clone().requires_grad_(True) for W in Ws]
    g = torch.autograd.grad(torch_loss(params, X, Y), params, create_graph=True)
    sizes = [a * b for a, b in shapes]

    def hv(v):
        vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
        vs = [c.view(a, b) for c, (a, b) in zip(torch.split(vt, sizes), shapes)]
        Hv = torch.autograd.grad(g, params, vs, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in Hv]).numpy()
    return hv


def hvp_func(X, Y, Ws, shapes):
    """Flat-NumPy HVP at the weights Ws by torch.func: jvp of grad (forward-over-reverse)."""
    import torch
    from torch.func import grad, jvp
    sizes = [a * b for a, b in shapes]
    prim = tuple(W.detach() for W in Ws)
    gf = grad(lambda *ps: torch_loss(ps, X, Y), argnums=tuple(range(len(prim))))

    def hv(v):
        vt = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float64))
        vs = tuple(c.view(a, b) for c, (a, b) in zip(torch.split(vt, sizes), shapes))
        _, Hv = jvp(lambda *ps: gf(*ps), prim, vs)
        return torch.cat([h.reshape(-1) for h in Hv]).numpy()
    return hv


def lanczos(hv, dim, seed):
    """The same call as theorybench.sharpness.lanczos_lmax(hv, dim, tol=1e-4, seed=t)."""
    from scipy.sparse.linalg import LinearOperator, eigsh
    op = LinearOperator((dim, dim), matvec=lambda v: hv(np.asarray(v, dtype=np.float64).ravel()), dtype=np.float64)
    v0 = np.random.default_rng(seed).normal(size=dim)
    return float(eigsh(op, k=1, which="LA", tol=TOL, v0=v0, return_eigenvectors=False)[0])


def torch_engine(setup, T, hvp_maker):
    X, Y, W0, shapes = setup
    dim = sum(a * b for a, b in shapes)
    t0 = time.perf_counter()
    rounds, losses, iterates = torch_gd(X, Y, W0, T, np.arange(0, T + 1, EVERY))
    t1 = time.perf_counter()
    lam = np.array([lanczos(hvp_maker(X, Y, Ws, shapes), dim, int(t)) for t, Ws in zip(rounds, iterates)])
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, {"rounds": rounds, "loss": losses, "lambda_max": lam}


def pick_hvp(setup, prob, n_calls=30):
    """Time both HVP forms at the start point (and check them against the problem's exact HVP)."""
    X, Y, W0, shapes = setup
    v = np.random.default_rng(1).normal(size=prob.dim)
    ref = prob.hvp(prob.x0, v)
    info = {}
    for name, maker in (("double_backward", hvp_double_backward), ("torch.func jvp(grad)", hvp_func)):
        hv = maker(X, Y, W0, shapes)
        for _ in range(5):  # first-call costs
            hv(v)
        err = float(np.linalg.norm(hv(v) - ref) / np.linalg.norm(ref))
        ts = []
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(n_calls):
                hv(v)
            ts.append((time.perf_counter() - t) / n_calls)
        info[name] = {"s_per_hvp": statistics.median(ts), "rel_err_vs_theorybench_hvp": err}
    for _ in range(5):
        prob.hvp(prob.x0, v)
    t = time.perf_counter()
    for _ in range(n_calls):
        prob.hvp(prob.x0, v)
    info["theorybench prob.hvp"] = {"s_per_hvp": (time.perf_counter() - t) / n_calls}
    best = min(("double_backward", "torch.func jvp(grad)"), key=lambda k: info[k]["s_per_hvp"])
    return best, (hvp_double_backward if best == "double_backward" else hvp_func), info


# ---------------------------------------------------------------- driver

def timed_parts(fn, repeats):
    """Run fn() -> (t_gd, t_sharp, out) ``repeats`` times; medians of each part and of the total."""
    gd, sh, tot, out = [], [], [], None
    for _ in range(repeats):
        a, b, out = fn()
        gd.append(a)
        sh.append(b)
        tot.append(a + b)
    return {"gd_s": statistics.median(gd), "sharpness_s": statistics.median(sh), "total_s": statistics.median(tot),
            "gd_all_s": gd, "sharpness_all_s": sh, "total_all_s": tot}, out


def numba_layer():
    try:
        import numba
        return numba.threading_layer()
    except Exception:  # noqa: BLE001 (no parallel region run yet in this process)
        return None


def numpy_blas():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{cfg.get('name')} {cfg.get('version')}"
    except Exception:  # noqa: BLE001
        return None


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.abs(a - b) / np.maximum(np.abs(b), 1e-300)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--tag", default="", help="suffix of the results file (e.g. blas1 for a run under "
                    "OPENBLAS_NUM_THREADS=1)")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("skipped: torch not installed (PyTorch is a benchmark-only extra: pip install torch)")
        sys.exit(0)
    import numba
    from theorybench.problem import make_problem

    T, reps = (600, 1) if args.quick else (2000, 3)
    threads = numba.get_num_threads()
    torch.set_num_threads(threads)
    prob = make_problem("tanh-mlp")
    setup = torch_setup(prob)
    hvp_name, hvp_maker, hvp_info = pick_hvp(setup, prob)
    print(f"T = {T}, eta = {ETA}, every = {EVERY}, D = {prob.dim}; numba threads {threads}, torch threads "
          f"{torch.get_num_threads()} (torch {torch.__version__}); HVP: "
          + ", ".join(f"{k} {v['s_per_hvp'] * 1e3:.2f} ms" for k, v in hvp_info.items()) + f" -> torch uses {hvp_name}",
          flush=True)

    # warm-up (Numba compile / cache load; torch allocator and autograd first-call costs)
    t = time.perf_counter()
    theorybench_engine(prob, 2 * EVERY)
    warm_tb = time.perf_counter() - t
    t = time.perf_counter()
    torch_engine(setup, 2 * EVERY, hvp_maker)
    warm_torch = time.perf_counter() - t

    tb, out_tb = timed_parts(lambda: theorybench_engine(prob, T), reps)
    print(f"theorybench: GD {tb['gd_s']:.3f} s, sharpness {tb['sharpness_s']:.3f} s, total {tb['total_s']:.3f} s",
          flush=True)
    th, out_th = timed_parts(lambda: torch_engine(setup, T, hvp_maker), reps)
    print(f"pytorch:     GD {th['gd_s']:.3f} s, sharpness {th['sharpness_s']:.3f} s, total {th['total_s']:.3f} s",
          flush=True)
    ratio = {k: th[k] / tb[k] for k in ("gd_s", "sharpness_s", "total_s")}
    print(f"ratio torch / theorybench: GD {ratio['gd_s']:.2f}x, sharpness {ratio['sharpness_s']:.2f}x, "
          f"total {ratio['total_s']:.2f}x")

    # sanity
    assert np.array_equal(out_tb["rounds"], out_th["rounds"])
    rounds = out_tb["rounds"]
    dl = rel(out_th["loss"], out_tb["loss"])
    dlam = rel(out_th["lambda_max"], out_tb["lambda_max"])
    early = rounds <= 200
    sanity = {"rounds": rounds.tolist(), "loss_theorybench": out_tb["loss"].tolist(), "loss_torch": out_th["loss"].tolist(),
              "loss_rel_diff": dl.tolist(), "max_loss_rel_diff_steps_le_200": float(dl[early].max()),
              "max_loss_rel_diff_all": float(dl.max()), "loss_rel_diff_final": float(dl[-1]),
              "lambda_max_theorybench": out_tb["lambda_max"].tolist(), "lambda_max_torch": out_th["lambda_max"].tolist(),
              "lambda_max_rel_diff": dlam.tolist(), "max_lambda_rel_diff_first5": float(dlam[:5].max()),
              "max_lambda_rel_diff_all": float(dlam.max()), "threshold_2_over_eta": 2.0 / ETA,
              "lambda_max_final_theorybench": float(out_tb["lambda_max"][-1])}
    print(f"sanity: loss max rel diff (steps <= 200) {sanity['max_loss_rel_diff_steps_le_200']:.2e}; over all recorded "
          f"steps {sanity['max_loss_rel_diff_all']:.2e} (final step {sanity['loss_rel_diff_final']:.2e}; at the edge "
          f"of stability the two trajectories separate by rounding: chaotic dynamics, not an error)")
    print("        per recorded step: " + ", ".join(f"{int(t)}: {d:.1e}" for t, d in zip(rounds, dl)))
    print(f"        lambda_max max rel diff, first 5 recorded steps {sanity['max_lambda_rel_diff_first5']:.2e}; "
          f"all {sanity['max_lambda_rel_diff_all']:.2e}; 2/eta = {2 / ETA:g}, final lambda_max "
          f"{out_tb['lambda_max'][-1]:.3f} (theorybench) / {out_th['lambda_max'][-1]:.3f} (torch)")

    out = {"work": "ES-1: tanh MLP 32-64-64-10 (n=512, float64, full batch), GD eta=0.5 for T steps, "
                   "lambda_max by eigsh (LA, k=1, tol=1e-4, v0=default_rng(t)) every 40 steps",
           "T": T, "eta": ETA, "every": EVERY, "n_records": int(len(rounds)), "dim": int(prob.dim), "repeats": reps,
           "theorybench": tb, "torch": th,
           "ratio_torch_over_theorybench": {"gd": ratio["gd_s"], "sharpness": ratio["sharpness_s"], "total": ratio["total_s"]},
           "warmup_s": {"theorybench": warm_tb, "torch": warm_torch},
           "torch_hvp": hvp_name, "hvp_timing": hvp_info, "sanity": sanity,
           "torch_version": torch.__version__, "torch_threads": torch.get_num_threads(),
           "torch_interop_threads": torch.get_num_interop_threads(), "numba_threads": threads,
           "numba_threads_env": os.environ.get("NUMBA_NUM_THREADS"),
           "thread_env": {k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                         "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER")},
           "numba_threading_layer": numba_layer(), "numpy_blas": numpy_blas(),
           "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
           "machine": machine_info()}
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / (("eos_gd_quick" if args.quick else "eos_gd") + (f"_{args.tag}" if args.tag else "") + ".json")
    from theorybench.atomic_io import atomic_write_text
    atomic_write_text(path, json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
