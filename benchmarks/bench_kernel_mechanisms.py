"""How to build a specialised whole-trajectory kernel per combination, and keep it cached on disk (issue 10).

Work: CELGC (``local-clip``, step clipping) on the EPISODE quartic (``episode-quartic``, H = 4, N = 2
clients, ``f_i(x) = x^4 - 3x^3 - H h_i x^2 + x``, ``h = (-1, 2)``, x0 = 1, uniform noise sigma = 1), I = 8
local steps, R = 500 rounds, eta in {0.005, 0.01, 0.02} x gamma in {0.025, 0.05, 0.1} x seeds. Every
kernel records x, f and ||grad f|| at rounds 0 and R only, and draws theorybench's counter-based noise
(stream = client, counter = the client's draw number), so all variants compute the same numbers.

Mechanisms compared:

(0)   theorybench today: ``theorybench.sweep(..., record=[])`` (the generic ``federated`` kernel: integer
      algorithm/family/noise codes dispatched inside the step loop, d = 1 state in length-1 arrays, f and
      grad f and all running statistics every round); (0k) its ``batch`` kernel called directly.
(1)   a hand-written Numba kernel for this one instance (scalar state, gradient inlined).
(A)   generated source: method and family pieces are small ``@njit`` functions; :func:`generate_kernel`
      copies them (and every ``@njit`` function and constant they use) and a whole-trajectory template
      into one module file in a cache folder, named by the sha256 of that text, imports it, and Numba's
      ``cache=True`` caches it like any file.
(B)   literal dispatch: one generic kernel that dispatches on integer codes (method, convention,
      family, noise model) written in the engine's style but with scalar d = 1 state; the entry point
      calls ``numba.literally`` on the codes, so the branches fold at compile time. (B-rt): the same
      kernel with runtime codes (the cost of the dispatch itself). (B0): ``numba.literally`` wrapped
      around theorybench's own ``federated_trajectory`` (literal dispatch alone, no other change).
(C)   first-class functions: the same pieces passed as ``numba.types.FunctionType`` arguments of a
      kernel with an explicit signature (calls through function pointers, no inlining).
      NumPy: ``theorybench.sweep(..., backend="numpy")`` over about 10^4 configurations (same noise).
      JAX is not installed here: skipped.

Measured: ns per local step per trajectory (wall time / (trajectories x R x N x I)) on 1 and 2 Numba
threads, variants run round-robin and the median of the repeats taken (the machine is shared: the
absolute numbers are noisy, the ratios within one run less so); bit-identity against (0k); and, in fresh
processes on a snapshot of the engine (a copy of ``theorybench/`` and ``problems/`` in a temporary
folder, each variant with its own empty Numba cache): the first-call compile time, the load time when
the cache is warm (must not compile), and what happens after editing an unrelated engine file and after
editing a function the kernel uses (``theorybench.rng.uniform01``, an edit that changes the numbers).

Variant (A) was adopted as ``theorybench.compose``; its generator stays here as measured (self-contained,
so the measurement can be repeated against the engine it compares with).

Run: ``python benchmarks/bench_kernel_mechanisms.py [--quick] [--skip-cache-tests]``. Writes
``benchmarks/results/kernel_mechanisms.json`` (``--quick``: ``kernel_mechanisms_quick.json``).
"""
import argparse
import ast
import hashlib
import importlib.util
import inspect
import json
import os
import shutil
import statistics
import string
import subprocess
import sys
import tempfile
import textwrap
import time
import types as pytypes
from pathlib import Path

T_START = time.perf_counter()

import numpy as np  # noqa: E402
import numba  # noqa: E402
from numba import float64, int64, literally, njit, prange, types  # noqa: E402
from numba.core.dispatcher import Dispatcher  # noqa: E402

from theorybench.families import POLY, QUARTIC, COSH  # noqa: E402
from theorybench.kernels.common import is_clipped  # noqa: E402
from theorybench.kernels.federated import FEDAVG, LOCAL_CLIP, federated_trajectory  # noqa: E402
from theorybench.rng import NOISE_NONE, NOISE_UNIFORM, noise, uniform01  # noqa: E402

T_IMPORTED = time.perf_counter()


class _CompileLog(numba.core.event.Listener):
    """Names of the functions Numba compiled (a load from the on-disk cache is not a compile), and of the
    compilations that were abandoned (a literal-dispatch entry point first types its arguments as plain
    ints, then asks for literals: no machine code is generated for that attempt)."""

    def __init__(self):
        self.names = []
        self.failed = []

    def on_start(self, event):
        pass

    def on_end(self, event):
        d = event.data.get("dispatcher")
        name = d.py_func.__qualname__ if d is not None else "?"
        # an END event carries exc_details when the compilation raised (numba 0.68's Event.is_failed tests
        # the opposite, so it is not used here)
        (self.failed if getattr(event, "_exc_details", None) is not None else self.names).append(name)


_COMPILES = None
if "--child" in sys.argv:  # a fresh-process cache test: log every compilation from here on
    _COMPILES = _CompileLog()
    numba.core.event.register("numba:compile", _COMPILES)

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

H_ETA, H_GAMMA, H_LOCAL_STEPS = 0, 1, 2  # slots of theorybench.kernels.federated.SLOTS
STEP_CONVENTION = 0
DIVERGENCE_BOUND = 1e150
GRID = {"eta": [0.005, 0.01, 0.02], "gamma": [0.025, 0.05, 0.1], "local_steps": [8]}
H_KNOB = 4.0


# ==================================================================================================
# Pieces (scalar, d = 1). Each is the d = 1 case of the engine function named in its docstring and
# computes the same floating-point operations in the same order.
# ==================================================================================================
@njit(cache=True, inline="always")
def celgc_step(y, g, eta, gamma):
    """CELGC local step, step convention: ``theorybench.kernels.common.step`` after ``is_clipped`` for d = 1
    (``norm(g) = |g|``): clipped iff ``|g| > gamma/eta``, then ``y - gamma (g/|g|)``. For finite g,
    ``g/|g|`` is exactly +-1, so the clipped step is ``y -+ gamma`` without the division (the same
    numbers; an infinite g keeps the division, whose NaN the engine gives too)."""
    n = abs(g)
    if n > gamma / eta:
        if n < np.inf:
            return y - gamma if g > 0.0 else y + gamma
        return y - gamma * (g / n)
    return y - eta * g


@njit(cache=True, inline="always")
def poly1_value(c, x):
    """``sum_k c[k] x^k`` by Horner's rule (``theorybench.families._poly_value`` for d = 1)."""
    kp1 = c.shape[0]
    v = c[kp1 - 1]
    for k in range(kp1 - 2, -1, -1):
        v = v * x + c[k]
    return v


@njit(cache=True, inline="always")
def poly1_grad(c, x):
    """``sum_k k c[k] x^(k-1)`` by Horner's rule (``theorybench.families._poly_grad`` for d = 1)."""
    kp1 = c.shape[0]
    if kp1 < 2:
        return 0.0
    v = (kp1 - 1) * c[kp1 - 1]
    for k in range(kp1 - 2, 0, -1):
        v = v * x + k * c[k]
    return v


@njit(cache=True, inline="always")
def uniform_noise(scale, seed, stream, counter):
    """``theorybench.rng.noise(NOISE_UNIFORM, ...)``: ``scale (1 - 2u)``, u from ``uniform01``."""
    if scale == 0.0:
        return 0.0
    return scale * (1.0 - 2.0 * uniform01(seed, stream, counter))


METHOD_PIECES = {"local_step": celgc_step}
FAMILY_PIECES = {"value": poly1_value, "grad": poly1_grad, "noise": uniform_noise}


# ==================================================================================================
# (A) generated source
# ==================================================================================================
LOCAL_UPDATE_D1 = '''
H_ETA = 0
H_GAMMA = 1
H_LOCAL_STEPS = 2
DIVERGENCE_BOUND = 1e150


@njit(cache=True, inline="always")
def observe_d1(params, x, p, out_x, out_f, out_gn):
    """Record x, f(x) = mean_i f_i(x) and |f'(x)| at position p."""
    n = params.shape[0]
    val = 0.0
    gs = 0.0
    for i in range(n):
        val += $value(params[i], x)
        gs += $grad(params[i], x)
    out_x[p] = x
    out_f[p] = val / n
    out_gn[p] = abs(gs / n)


@njit(cache=True)
def trajectory(params, eta, gamma, steps, x0, seed, nscale, rounds, rec_rounds, out_x, out_f, out_gn):
    """Local-update method, all clients every round, scalar iterate; records at rec_rounds (sorted).
    Returns the round at which |x| left DIVERGENCE_BOUND (or became NaN), -1 if never."""
    n = params.shape[0]
    counters = np.zeros(n, dtype=np.int64)
    x = x0
    p = 0
    if rec_rounds.shape[0] > 0 and rec_rounds[0] == 0:
        observe_d1(params, x, p, out_x, out_f, out_gn)
        p += 1
    for r in range(1, rounds + 1):
        acc = 0.0
        for i in range(n):
            c = params[i]
            y = x
            cnt = counters[i]
            for k in range(steps):
                g = $grad(c, y) + $noise(nscale, seed, i, cnt)
                cnt += 1
                y = $local_step(y, g, eta, gamma)
            counters[i] = cnt
            acc += y
        x = acc / n
        if not abs(x) < DIVERGENCE_BOUND:
            return r
        if p < rec_rounds.shape[0] and rec_rounds[p] == r:
            observe_d1(params, x, p, out_x, out_f, out_gn)
            p += 1
    return -1


@njit(cache=True, parallel=True)
def batch(params, hyper, x0, seeds, nscale, rounds, rec_rounds, out_x, out_f, out_gn, out_div):
    """prange over configurations; one trajectory per thread (results independent of the thread count)."""
    for b in prange(hyper.shape[0]):
        out_div[b] = trajectory(params[b], hyper[b, H_ETA], hyper[b, H_GAMMA], int(hyper[b, H_LOCAL_STEPS]),
                                x0[b], seeds[b], nscale[b], rounds, rec_rounds, out_x[b], out_f[b], out_gn[b])
'''

_ALLOWED_MODULES = {"numpy": "np", "math": "math"}
_KEPT_OPTIONS = ("inline", "fastmath", "error_model", "boundscheck")
_LOADED = {}      # module name -> module
_BY_PIECES = {}   # (pieces, template, folder) -> module, for repeated calls in one process


def default_kernel_cache():
    """``$THEORYBENCH_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/theorybench/kernels`` (``~/.cache/...``)."""
    env = os.environ.get("THEORYBENCH_KERNEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "theorybench" / "kernels"


def _const_expr(value, where):
    if isinstance(value, (bool, np.bool_)):
        return repr(bool(value))
    if isinstance(value, np.integer):
        return f"np.{type(value).__name__}({int(value)})"
    if isinstance(value, np.floating):
        return f"np.{type(value).__name__}(float({float(value)!r}))"
    if isinstance(value, int):
        return repr(value)
    if isinstance(value, float):
        return repr(value) if np.isfinite(value) else f"float({repr(value)!r})"
    raise ValueError(f"{where} uses a global of type {type(value).__name__}: pieces may use numbers, numpy, "
                     "math and @njit functions only")


def _function_text(disp):
    """The function's code without its decorators (comments dropped, docstring kept), decorated again
    with ``cache=True`` and the Numba options that change its compilation."""
    node = ast.parse(textwrap.dedent(inspect.getsource(disp.py_func))).body[0]
    node.decorator_list = []
    opts = [f"{k}={disp.targetoptions[k]!r}" for k in _KEPT_OPTIONS if disp.targetoptions.get(k) is not None]
    return f"@njit({', '.join(['cache=True'] + opts)})\n{ast.unparse(node)}"


def _collect(roots):
    """Every ``@njit`` function reachable from ``roots`` through globals (dependencies first), the numeric
    constants they read, and the modules (numpy, math) they name."""
    funcs, order, consts, modules = {}, [], {}, set()

    def visit(disp):
        py = disp.py_func
        name = py.__name__
        if name in funcs:
            if funcs[name] is not py:
                raise ValueError(f"two different functions are named {name!r} ({funcs[name].__module__} and "
                                 f"{py.__module__}): rename one")
            return
        funcs[name] = py
        cv = inspect.getclosurevars(py)
        if cv.nonlocals:
            raise ValueError(f"piece {name!r} closes over {sorted(cv.nonlocals)}: pieces must be module-level")
        for gname, val in sorted(cv.globals.items()):
            if isinstance(val, Dispatcher):
                if val.py_func.__name__ != gname:
                    raise ValueError(f"{name!r} calls {val.py_func.__name__!r} under the alias {gname!r}")
                visit(val)
            elif isinstance(val, pytypes.ModuleType):
                if _ALLOWED_MODULES.get(val.__name__) != gname:
                    raise ValueError(f"{name!r} uses module {val.__name__!r} as {gname!r}: only numpy (as np) "
                                     "and math; call @njit functions by name")
                modules.add(val.__name__)
            else:
                expr = _const_expr(val, f"{name!r}")
                if consts.setdefault(gname, expr) != expr:
                    raise ValueError(f"the constant {gname!r} has two values among the pieces")
        order.append(disp)

    for d in roots:
        visit(d)
    clash = set(consts) & set(funcs)
    if clash:
        raise ValueError(f"names used both as constants and as functions: {sorted(clash)}")
    return order, consts, modules


def generate_kernel(method_pieces, family_pieces, template=LOCAL_UPDATE_D1, cache_dir=None, prefix="tbk"):
    """Compose one whole-trajectory kernel module from pieces and import it.

    method_pieces, family_pieces: ``{role: @njit function}``; ``template`` names the roles as
    ``$role`` (the local-update template uses ``local_step``, ``grad``, ``value``, ``noise``). The module
    text is: imports, the constants and every ``@njit`` function the pieces use (their source, found through
    their globals), the pieces, and the template with each ``$role`` replaced by its piece's name. It is
    written once to ``cache_dir/<prefix>_<sha256 of the text>.py`` (atomically) and imported; its functions
    have ``cache=True``, so Numba caches them next to the file and a new process loads the machine code.
    The name changes exactly when a piece, or any function or constant a piece uses, changes in code (not
    in comments); edits elsewhere do not touch it. Returns the module (its ``batch`` is the kernel)."""
    key = (tuple((r, id(d)) for r, d in method_pieces.items()), tuple((r, id(d)) for r, d in family_pieces.items()),
           template, str(cache_dir))
    if key in _BY_PIECES:  # this process has built it: skip reading the sources again
        return _BY_PIECES[key]
    roles = {**method_pieces}
    for role, disp in family_pieces.items():
        if role in roles:
            raise ValueError(f"role {role!r} is given as both a method and a family piece")
        roles[role] = disp
    for role, disp in roles.items():
        if not isinstance(disp, Dispatcher):
            raise ValueError(f"piece {role!r} must be an @njit function, got {type(disp).__name__}")
    tmpl = string.Template(template)
    missing = sorted(set(tmpl.get_identifiers()) - set(roles))
    if missing:
        raise ValueError(f"the template needs the roles {missing}; given {sorted(roles)}")
    order, consts, modules = _collect(list(roles.values()))
    parts = ["import numpy as np"] + (["import math"] if "math" in modules else []) + [
        "from numba import njit, prange", ""]
    parts += [f"{k} = {v}" for k, v in sorted(consts.items())]
    parts += ["", ""] + [_function_text(d) + "\n\n" for d in order]
    parts.append(tmpl.substitute({r: d.py_func.__name__ for r, d in roles.items()}))
    body = "\n".join(parts)
    digest = hashlib.sha256(body.encode()).hexdigest()
    modname = f"{prefix}_{digest[:32]}"
    if modname in _LOADED:
        _BY_PIECES[key] = _LOADED[modname]
        return _LOADED[modname]
    header = ("# Generated by generate_kernel; do not edit (the file name is the sha256 of the code below).\n"
              + "".join(f"# {r}: {d.py_func.__module__}.{d.py_func.__qualname__}\n" for r, d in roles.items()))
    text = header + body
    folder = Path(cache_dir) if cache_dir is not None else default_kernel_cache()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{modname}.py"
    if not path.exists() or path.read_text() != text:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp_", suffix=".py")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    spec.loader.exec_module(mod)
    _LOADED[modname] = mod
    _BY_PIECES[key] = mod
    return mod


# ==================================================================================================
# (1) hand-written kernel for this instance
# ==================================================================================================
@njit(cache=True, inline="always")
def _hand_observe(x, c20, c21, b, p, out_x, out_f, out_gn):
    f0 = (((x - 3.0) * x + c20) * x + 1.0) * x + 0.0
    f1 = (((x - 3.0) * x + c21) * x + 1.0) * x + 0.0
    g0 = ((4.0 * x - 9.0) * x + 2.0 * c20) * x + 1.0
    g1 = ((4.0 * x - 9.0) * x + 2.0 * c21) * x + 1.0
    out_x[b, p] = x
    out_f[b, p] = (f0 + f1) / 2.0
    out_gn[b, p] = abs((g0 + g1) / 2.0)


@njit(cache=True, parallel=True)
def hand_batch(H, hyper, x0, seeds, nscale, rounds, out_x, out_f, out_gn):
    """EPISODE quartic, N = 2, h = (-1, 2): ``f_i' = ((4y - 9) y + 2 c_2) y + 1`` with ``c_2 = -H h_i``;
    records rounds 0 and R."""
    for b in prange(hyper.shape[0]):
        eta = hyper[b, 0]
        gamma = hyper[b, 1]
        steps = int(hyper[b, 2])
        thr = gamma / eta
        s = seeds[b]
        sig = nscale[b]
        c20 = H          # c_2 of client 0 (h = -1)
        c21 = -2.0 * H   # c_2 of client 1 (h = 2)
        x = x0[b]
        _hand_observe(x, c20, c21, b, 0, out_x, out_f, out_gn)
        cnt0 = 0
        cnt1 = 0
        for r in range(rounds):
            acc = 0.0
            for i in range(2):
                y = x
                a = 2.0 * (c20 if i == 0 else c21)
                cnt = cnt0 if i == 0 else cnt1
                for k in range(steps):
                    g = ((4.0 * y - 9.0) * y + a) * y + 1.0 + noise(NOISE_UNIFORM, sig, s, i, cnt)
                    cnt += 1
                    if abs(g) > thr:
                        y -= gamma if g > 0.0 else -gamma
                    else:
                        y -= eta * g
                if i == 0:
                    cnt0 = cnt
                else:
                    cnt1 = cnt
                acc += y
            x = acc / 2.0
        _hand_observe(x, c20, c21, b, 1, out_x, out_f, out_gn)


# ==================================================================================================
# (B) literal dispatch on a generic kernel (engine style, scalar d = 1). The dispatching functions are
# inline="always" like (A)'s pieces: without it, B with literal codes measured 2x slower than (A) in this
# benchmark (calls that LLVM did not inline), which is not a property of literal dispatch.
# ==================================================================================================
@njit(cache=True, inline="always")
def b_client_value(family, c, x):
    if family == POLY:
        return poly1_value(c, x)
    if family == QUARTIC:
        t = x - c[0]
        return 0.25 * (t * t * t * t)
    if family == COSH:
        return c[0] * (np.cosh(c[1] * x) - 1.0)
    return np.nan


@njit(cache=True, inline="always")
def b_client_grad(family, c, x):
    if family == POLY:
        return poly1_grad(c, x)
    if family == QUARTIC:
        t = x - c[0]
        return t * t * t
    if family == COSH:
        return c[0] * c[1] * np.sinh(c[1] * x)
    return np.nan


@njit(cache=True, inline="always")
def b_local_step(algo, conv, y, g, eta, gamma):
    n = abs(g)
    clip = False
    if algo == LOCAL_CLIP:
        clip = is_clipped(n, eta, gamma, conv)
    if clip:
        length = gamma if conv == 0 else eta * gamma
        if n < np.inf:
            return y - length if g > 0.0 else y + length
        return y - length * (g / n)
    return y - eta * g


@njit(cache=True, inline="always")
def b_observe(family, params, x, p, out_x, out_f, out_gn):
    n = params.shape[0]
    val = 0.0
    gs = 0.0
    for i in range(n):
        val += b_client_value(family, params[i], x)
        gs += b_client_grad(family, params[i], x)
    out_x[p] = x
    out_f[p] = val / n
    out_gn[p] = abs(gs / n)


@njit(cache=True)
def b_trajectory(algo, conv, family, nkind, params, eta, gamma, steps, x0, seed, nscale, rounds, rec_rounds,
                 out_x, out_f, out_gn):
    """The template's loop with every piece chosen by an integer code."""
    n = params.shape[0]
    counters = np.zeros(n, dtype=np.int64)
    x = x0
    p = 0
    if rec_rounds.shape[0] > 0 and rec_rounds[0] == 0:
        b_observe(family, params, x, p, out_x, out_f, out_gn)
        p += 1
    for r in range(1, rounds + 1):
        acc = 0.0
        for i in range(n):
            c = params[i]
            y = x
            cnt = counters[i]
            for k in range(steps):
                g = b_client_grad(family, c, y) + noise(nkind, nscale, seed, i, cnt)
                cnt += 1
                y = b_local_step(algo, conv, y, g, eta, gamma)
            counters[i] = cnt
            acc += y
        x = acc / n
        if not abs(x) < DIVERGENCE_BOUND:
            return r
        if p < rec_rounds.shape[0] and rec_rounds[p] == r:
            b_observe(family, params, x, p, out_x, out_f, out_gn)
            p += 1
    return -1


@njit(cache=True, parallel=True)
def b_batch_literal(algo, conv, family, nkind, params, hyper, x0, seeds, nscale, rounds, rec_rounds, out_x, out_f,
                    out_gn, out_div):
    literally(algo)
    literally(conv)
    literally(family)
    literally(nkind)
    for b in prange(hyper.shape[0]):
        out_div[b] = b_trajectory(algo, conv, family, nkind, params[b], hyper[b, 0], hyper[b, 1],
                                  int(hyper[b, 2]), x0[b], seeds[b], nscale[b], rounds, rec_rounds, out_x[b],
                                  out_f[b], out_gn[b])


@njit(cache=True, parallel=True)
def b_batch_runtime(algo, conv, family, nkind, params, hyper, x0, seeds, nscale, rounds, rec_rounds, out_x, out_f,
                    out_gn, out_div):
    for b in prange(hyper.shape[0]):
        out_div[b] = b_trajectory(algo, conv, family, nkind, params[b], hyper[b, 0], hyper[b, 1],
                                  int(hyper[b, 2]), x0[b], seeds[b], nscale[b], rounds, rec_rounds, out_x[b],
                                  out_f[b], out_gn[b])


@njit(cache=True, parallel=True)
def b0_batch_literal(algo, family, params, hyper, x0, seeds, nkind, nscale, nmask, target, rounds, rec_rounds,
                     out_x, out_loss, out_gnorm, out_stats):
    """theorybench's ``federated.batch`` with the algorithm, family and noise codes made literal."""
    literally(algo)
    literally(family)
    literally(nkind)
    for c in prange(hyper.shape[0]):
        federated_trajectory(algo, family, params[c], hyper[c], x0[c], seeds[c], nkind, nscale[c], nmask[c],
                             target[c], rounds, rec_rounds, out_x[c], out_loss[c], out_gnorm[c], out_stats[c])


# ==================================================================================================
# (C) first-class functions
# ==================================================================================================
STEP_SIG = float64(float64, float64, float64, float64)
ROW_SIG = float64(float64[::1], float64)
NOISE_SIG = float64(float64, int64, int64, int64)


def _c_celgc_step(y, g, eta, gamma):
    return celgc_step(y, g, eta, gamma)


def _c_poly1_value(c, x):
    return poly1_value(c, x)


def _c_poly1_grad(c, x):
    return poly1_grad(c, x)


def _c_uniform_noise(scale, seed, stream, counter):
    return uniform_noise(scale, seed, stream, counter)


@njit(cache=True, inline="always")
def c_observe(value, grad, params, x, p, out_x, out_f, out_gn):
    n = params.shape[0]
    val = 0.0
    gs = 0.0
    for i in range(n):
        val += value(params[i], x)
        gs += grad(params[i], x)
    out_x[p] = x
    out_f[p] = val / n
    out_gn[p] = abs(gs / n)


@njit(cache=True)
def c_trajectory(local_step, value, grad, noise_fn, params, eta, gamma, steps, x0, seed, nscale, rounds,
                 rec_rounds, out_x, out_f, out_gn):
    """The template's loop with every piece a function pointer."""
    n = params.shape[0]
    counters = np.zeros(n, dtype=np.int64)
    x = x0
    p = 0
    if rec_rounds.shape[0] > 0 and rec_rounds[0] == 0:
        c_observe(value, grad, params, x, p, out_x, out_f, out_gn)
        p += 1
    for r in range(1, rounds + 1):
        acc = 0.0
        for i in range(n):
            c = params[i]
            y = x
            cnt = counters[i]
            for k in range(steps):
                g = grad(c, y) + noise_fn(nscale, seed, i, cnt)
                cnt += 1
                y = local_step(y, g, eta, gamma)
            counters[i] = cnt
            acc += y
        x = acc / n
        if not abs(x) < DIVERGENCE_BOUND:
            return r
        if p < rec_rounds.shape[0] and rec_rounds[p] == r:
            c_observe(value, grad, params, x, p, out_x, out_f, out_gn)
            p += 1
    return -1


C_SIG = types.void(types.FunctionType(STEP_SIG), types.FunctionType(ROW_SIG), types.FunctionType(ROW_SIG),
                   types.FunctionType(NOISE_SIG), float64[:, :, ::1], float64[:, ::1], float64[::1], int64[::1],
                   float64[::1], int64, int64[::1], float64[:, ::1], float64[:, ::1], float64[:, ::1], int64[::1])


def _c_batch(local_step, value, grad, noise_fn, params, hyper, x0, seeds, nscale, rounds, rec_rounds, out_x, out_f,
             out_gn, out_div):
    for b in prange(hyper.shape[0]):
        out_div[b] = c_trajectory(local_step, value, grad, noise_fn, params[b], hyper[b, 0], hyper[b, 1],
                                  int(hyper[b, 2]), x0[b], seeds[b], nscale[b], rounds, rec_rounds, out_x[b],
                                  out_f[b], out_gn[b])


_C = {}


def c_kernels():
    """The (C) pieces and kernel, compiled on first use (an explicit signature compiles at decoration,
    and every process importing this file would otherwise pay for it)."""
    if not _C:
        _C["step"] = njit(STEP_SIG, cache=True)(_c_celgc_step)
        _C["value"] = njit(ROW_SIG, cache=True)(_c_poly1_value)
        _C["grad"] = njit(ROW_SIG, cache=True)(_c_poly1_grad)
        _C["noise"] = njit(NOISE_SIG, cache=True)(_c_uniform_noise)
        _C["batch"] = njit(C_SIG, cache=True, parallel=True)(_c_batch)
    return _C


# ==================================================================================================
# inputs and variant runners
# ==================================================================================================
def build_inputs(n_seeds, rounds):
    """The kernel inputs of ``theorybench.sweep('episode-quartic', 'local-clip', grid=GRID, seeds=n_seeds,
    record=[])``, built the way ``run_batch`` builds them (checked against a captured call in ``main``)."""
    from theorybench.algorithms import get_algorithm
    from theorybench.problem import make_problem
    prob = make_problem("episode-quartic", H=H_KNOB)
    alg = get_algorithm("local-clip")
    hyper, seeds = [], []
    for e in GRID["eta"]:
        for g in GRID["gamma"]:
            for I in GRID["local_steps"]:
                st = alg.resolve({"eta": e, "gamma": g, "local_steps": I})
                for s in range(n_seeds):
                    hyper.append(alg.pack(st))
                    seeds.append(s)
    n = len(seeds)
    hyper = np.ascontiguousarray(np.stack(hyper))
    assert (hyper[:, 3] == STEP_CONVENTION).all()
    return {
        "n": n, "rounds": int(rounds), "N": prob.params.shape[0],
        "params": np.ascontiguousarray(np.stack([prob.params] * n)),
        "hyper": hyper,
        "x0": np.ascontiguousarray(np.stack([np.asarray(prob.x0, dtype=np.float64).reshape(1)] * n)),
        "seeds": np.asarray(seeds, dtype=np.int64),
        "nkind": int(prob.noise_code),
        "nscale": np.full(n, float(prob.sigma)),
        "nmask": np.ascontiguousarray(np.stack([prob.noise_mask] * n)),
        "rec": np.array([0, rounds], dtype=np.int64),
        "local_steps": int(GRID["local_steps"][0]),
    }


def _outs(inp):
    n, m = inp["n"], inp["rec"].size
    return np.full((n, m), np.nan), np.full((n, m), np.nan), np.full((n, m), np.nan), np.empty(n, np.int64)


def run_0_sweep(inp, n_seeds, backend="numba"):
    import theorybench as tb
    sw = tb.sweep("episode-quartic", "local-clip", grid=GRID, problem_settings={"H": H_KNOB}, seeds=n_seeds,
                  rounds=inp["rounds"], record=[], backend=backend)
    n = inp["n"]
    return (sw.x.reshape(n, -1, sw.x.shape[-1])[:, :, 0], sw.loss.reshape(n, -1), sw.grad_norm.reshape(n, -1))


def run_0k(inp):
    from theorybench.kernels import federated as fk
    from theorybench.kernels.common import N_STATS
    n, m = inp["n"], inp["rec"].size
    ox, ol, og = np.full((n, m, 1), np.nan), np.full((n, m), np.nan), np.full((n, m), np.nan)
    st = np.zeros((n, N_STATS))
    fk.batch(LOCAL_CLIP, POLY, inp["params"], inp["hyper"], inp["x0"], inp["seeds"], inp["nkind"], inp["nscale"],
             inp["nmask"], np.zeros(n), inp["rounds"], inp["rec"], ox, ol, og, st)
    return ox[:, :, 0], ol, og


def literal_entry(dispatcher):
    """The entry point of ``dispatcher``'s overload compiled for literal codes (its first argument literal),
    or the dispatcher itself before that overload exists. Calling the dispatcher with plain ints costs a
    failed non-literal lookup (typing plus an on-disk cache probe) on every call; the entry point does not."""
    sig = next((s for s in dispatcher.signatures if isinstance(s[0], types.IntegerLiteral)), None)
    return dispatcher if sig is None else dispatcher.overloads[sig].entry_point


def run_b0(inp, entry=True):
    from theorybench.kernels.common import N_STATS
    n, m = inp["n"], inp["rec"].size
    ox, ol, og = np.full((n, m, 1), np.nan), np.full((n, m), np.nan), np.full((n, m), np.nan)
    st = np.zeros((n, N_STATS))
    (literal_entry(b0_batch_literal) if entry else b0_batch_literal)(LOCAL_CLIP, POLY, inp["params"], inp["hyper"], inp["x0"], inp["seeds"], inp["nkind"],
                     inp["nscale"], inp["nmask"], np.zeros(n), inp["rounds"], inp["rec"], ox, ol, og, st)
    return ox[:, :, 0], ol, og


def run_1(inp):
    ox, of, og, _ = _outs(inp)
    hand_batch(H_KNOB, inp["hyper"], np.ascontiguousarray(inp["x0"][:, 0]), inp["seeds"], inp["nscale"],
               inp["rounds"], ox, of, og)
    return ox, of, og


def run_a(inp, kernel_cache=None):
    mod = generate_kernel(METHOD_PIECES, FAMILY_PIECES, cache_dir=kernel_cache)
    ox, of, og, div = _outs(inp)
    mod.batch(inp["params"], inp["hyper"], np.ascontiguousarray(inp["x0"][:, 0]), inp["seeds"], inp["nscale"],
              inp["rounds"], inp["rec"], ox, of, og, div)
    return ox, of, og


def _run_b(kernel, inp):
    ox, of, og, div = _outs(inp)
    kernel(LOCAL_CLIP, STEP_CONVENTION, POLY, inp["nkind"], inp["params"], inp["hyper"],
           np.ascontiguousarray(inp["x0"][:, 0]), inp["seeds"], inp["nscale"], inp["rounds"], inp["rec"], ox, of,
           og, div)
    return ox, of, og


def run_b(inp):
    return _run_b(b_batch_literal, inp)


def run_b_entry(inp):
    """(B) through its compiled literal overload (see :func:`literal_entry`)."""
    return _run_b(literal_entry(b_batch_literal), inp)


def run_b_rt(inp):
    return _run_b(b_batch_runtime, inp)


def run_c(inp):
    k = c_kernels()
    ox, of, og, div = _outs(inp)
    k["batch"](k["step"], k["value"], k["grad"], k["noise"], inp["params"], inp["hyper"],
            np.ascontiguousarray(inp["x0"][:, 0]), inp["seeds"], inp["nscale"], inp["rounds"], inp["rec"], ox, of,
            og, div)
    return ox, of, og


VARIANTS = {  # key: (label, runner)
    "0": ("(0) theorybench.sweep(record=[])", None),
    "0k": ("(0k) theorybench federated.batch kernel", run_0k),
    "B0": ("(B0) literally() around theorybench's federated_trajectory (entry point)", run_b0),
    "B-rt": ("(B-rt) generic scalar kernel, runtime codes", run_b_rt),
    "B": ("(B) generic scalar kernel, literal codes (overload entry point)", run_b_entry),
    "C": ("(C) first-class functions", run_c),
    "A": ("(A) generated source", None),
    "1": ("(1) hand-written kernel", run_1),
}


# ==================================================================================================
# fresh-process cache tests
# ==================================================================================================
def child_main(variant, kernel_cache, placed):
    """One fresh process: import, one small call of ``variant``; print a JSON line with the times, the
    Numba compilations that happened (``numba:compile`` events: a cache load is not one), and the result."""
    import theorybench
    mod = sys.modules[__name__]
    if placed == "engine":  # this file copied into the engine snapshot: the engine's cache stamp applies
        mod = importlib.import_module("theorybench._bench_kernel_mechanisms")
    t0 = time.perf_counter()
    inp = build_inputs(1, 3)
    t1 = time.perf_counter()
    if variant == "0":
        out = run_0_sweep(inp, 1)
    elif variant == "A":
        out = mod.run_a(inp, kernel_cache)
    else:
        out = getattr(mod, {"0k": "run_0k", "B0": "run_b0", "B": "run_b", "B-rt": "run_b_rt", "C": "run_c",
                            "1": "run_1"}[variant])(inp)
    t2 = time.perf_counter()
    print(json.dumps({
        "variant": variant, "placed": placed, "theorybench_file": theorybench.__file__,
        "t_imports_s": T_IMPORTED - T_START, "t_inputs_s": t1 - t0, "t_first_call_s": t2 - t1,
        "t_start_to_result_s": t2 - T_START,
        "n_compiled": len(_COMPILES.names), "compiled": sorted(set(_COMPILES.names)),
        "n_abandoned": len(_COMPILES.failed), "abandoned": sorted(set(_COMPILES.failed)),
        "result": [float(v) for v in np.asarray(out[0])[:, -1]],
    }))


def _run_child(variant, placed, snapshot, numba_cache, kernel_cache, timeout):
    env = dict(os.environ, PYTHONPATH=str(snapshot), NUMBA_CACHE_DIR=str(numba_cache))
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", variant, "--placed", placed,
           "--kernel-cache", str(kernel_cache)]
    t = time.perf_counter()
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t
    if p.returncode != 0:
        return {"variant": variant, "placed": placed, "error": p.stderr[-2000:], "process_wall_s": wall}
    out = json.loads(p.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    return out


UNRELATED_FILE = "theorybench/kernels/muon.py"
DEP_FILE = "theorybench/rng.py"
DEP_OLD = "return np.float64(hash3(seed, stream, counter) >> _S11) * _TWO_M53"
DEP_NEW = "return np.float64(hash3(seed, stream, counter) >> _S11) * (0.5 * _TWO_M53)"


def cache_tests(workdir, timeout, log):
    """Cold compile, warm load, after an unrelated engine edit, after an edit of a function the kernels
    use; each variant in fresh processes on an engine snapshot with its own Numba cache folder."""
    snap = Path(workdir) / "engine"
    shutil.copytree(REPO / "theorybench", snap / "theorybench", ignore=shutil.ignore_patterns("__pycache__"))
    if (REPO / "problems").is_dir():
        shutil.copytree(REPO / "problems", snap / "problems", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(Path(__file__).resolve(), snap / "theorybench" / "_bench_kernel_mechanisms.py")
    cases = [("0", "-"), ("A", "outside"), ("B", "outside"), ("B", "engine"), ("B0", "outside"), ("C", "outside"),
             ("C", "engine"), ("1", "outside")]
    dirs = {c: (Path(workdir) / f"numba_{c[0]}_{c[1]}", Path(workdir) / f"gen_{c[0]}_{c[1]}") for c in cases}
    phases = {}

    def phase(name):
        log(f"  cache tests, phase {name}:")
        res = []
        for c in cases:
            r = _run_child(c[0], c[1], snap, dirs[c][0], dirs[c][1], timeout)
            res.append(r)
            if "error" in r:
                log(f"    {c[0]:>3} ({c[1]}): ERROR {r['error'][-300:]}")
            else:
                log(f"    {c[0]:>3} ({c[1]:>7}): process {r['process_wall_s']:6.2f} s, start to result "
                    f"{r['t_start_to_result_s']:6.2f} s, first call {r['t_first_call_s']:6.2f} s, "
                    f"{r['n_compiled']} compiled, {r['n_abandoned']} abandoned")
        phases[name] = res

    phase("cold")
    phase("warm")
    with open(snap / UNRELATED_FILE, "a") as fh:
        fh.write("\n# an edit unrelated to the federated kernels (bench_kernel_mechanisms cache test)\n")
    phase("unrelated_edit")
    src = (snap / DEP_FILE).read_text()
    if DEP_OLD in src:
        (snap / DEP_FILE).write_text(src.replace(DEP_OLD, DEP_NEW))
        phase("dependency_edit")
    else:
        log(f"  dependency edit skipped: {DEP_OLD!r} not found in {DEP_FILE}")
    summary = {}
    for i, c in enumerate(cases):
        row = {}
        for ph, res in phases.items():
            r = res[i]
            row[ph] = None if "error" in r else {"compiled": r["n_compiled"], "start_to_result_s": r["t_start_to_result_s"],
                                                 "process_wall_s": r["process_wall_s"]}
        if "dependency_edit" in phases and "error" not in phases["dependency_edit"][i]:
            new_ref = phases["dependency_edit"][0].get("result")  # (0): the engine recompiles, so it is current
            got = phases["dependency_edit"][i]["result"]
            row["after_dependency_edit"] = ("current" if got == new_ref else
                                            "STALE (machine code from before the edit)"
                                            if got == phases["warm"][i].get("result") else "differs")
        summary[f"{c[0]} ({c[1]})"] = row
    for k, row in summary.items():
        log(f"    {k:<14} " + "  ".join(f"{ph}: {'-' if v is None else v['compiled']} compiled"
                                        for ph, v in row.items() if isinstance(v, dict) or v is None)
            + (f"  after the dependency edit: {row['after_dependency_edit']}" if "after_dependency_edit" in row else ""))
    first = phases["cold"][0].get("theorybench_file", "")
    return {"snapshot_engine_used": first.startswith(str(snap)), "summary": summary, "unrelated_file": UNRELATED_FILE,
            "dependency_edit": {"file": DEP_FILE, "old": DEP_OLD, "new": DEP_NEW}, "phases": phases}


# ==================================================================================================
def compare(ref, out):
    """(bit-identical over x, f and |f'|, max abs difference)."""
    same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(ref, out))
    diff = max(float(np.nanmax(np.abs(np.asarray(a) - np.asarray(b)))) for a, b in zip(ref, out))
    return same, diff


def write_json(path, payload):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp_", suffix=".json")
    with os.fdopen(fd, "w") as fh:
        json.dump(payload, fh, indent=2, default=float)
    os.replace(tmp, path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="16 seeds, 3 repeats, ~10^3 NumPy configurations")
    ap.add_argument("--seeds", type=int, default=None, help="seeds per configuration (default 128, quick 16)")
    ap.add_argument("--rounds", type=int, default=500)
    ap.add_argument("--repeats", type=int, default=None, help="round-robin repeats (default 7, quick 3)")
    ap.add_argument("--skip-cache-tests", action="store_true")
    ap.add_argument("--kernel-cache", default=None, help="folder of the generated kernels (default: user cache)")
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--placed", default="outside", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.child:
        return child_main(args.child, args.kernel_cache, args.placed)

    sys.path.insert(0, str(HERE))
    from _common import machine_info
    import theorybench as tb
    from theorybench.kernels import federated as fk

    def log(msg):
        print(msg, flush=True)

    n_seeds = args.seeds or (16 if args.quick else 128)
    repeats = args.repeats or (3 if args.quick else 7)
    R = args.rounds
    inp = build_inputs(n_seeds, R)
    n, N, I = inp["n"], inp["N"], inp["local_steps"]
    steps_total = n * R * N * I
    log(f"CELGC on episode-quartic (H={H_KNOB:g}, N={N}, I={I}), R={R}: {n} trajectories, "
        f"{steps_total:,} local steps per call; load average {os.getloadavg()}")

    # the inputs are theorybench's: capture the kernel call of a sweep and compare
    captured = {}
    orig = fk.batch

    def spy(*a):
        captured["args"] = a
        return orig(*a)
    fk.batch = spy
    try:
        t = time.perf_counter()
        ref_sweep = run_0_sweep(inp, n_seeds)
        warm0 = time.perf_counter() - t
    finally:
        fk.batch = orig
    a = captured["args"]
    same_inputs = (a[0] == LOCAL_CLIP and a[1] == POLY and np.array_equal(a[2], inp["params"])
                   and np.array_equal(a[3], inp["hyper"]) and np.array_equal(a[4], inp["x0"])
                   and np.array_equal(a[5], inp["seeds"]) and a[6] == inp["nkind"]
                   and np.array_equal(a[7], inp["nscale"]) and np.array_equal(a[8], inp["nmask"])
                   and np.array_equal(a[11], inp["rec"]))
    log(f"  inputs identical to the ones theorybench.sweep passes to its kernel: {same_inputs}")

    runners = {k: v[1] for k, v in VARIANTS.items()}
    runners["0"] = lambda i: run_0_sweep(i, n_seeds)
    runners["A"] = lambda i: run_a(i, args.kernel_cache)

    # first calls in this process (compile or cache load), then correctness against (0k)
    first_call = {"0": warm0}
    for k in VARIANTS:
        if k == "0":
            continue
        t = time.perf_counter()
        runners[k](inp)
        first_call[k] = time.perf_counter() - t
        log(f"  first call {k:>4}: {first_call[k]:.2f} s")
    ref = runners["0k"](inp)
    correctness = {}
    for k in VARIANTS:
        out = ref_sweep if k == "0" else runners[k](inp)
        same, diff = compare(ref, out)
        correctness[k] = {"bit_identical": same, "max_abs_diff": diff}
    log("  bit-identical to (0k) [x, f, |f'| at rounds 0 and R]: "
        + ", ".join(f"{k}={v['bit_identical']}" for k, v in correctness.items()))
    gen_mod = generate_kernel(METHOD_PIECES, FAMILY_PIECES, cache_dir=args.kernel_cache)

    # per-call overhead: 9 trajectories x 1 round (144 local steps), 1 thread, median of 15 calls
    numba.set_num_threads(1)
    tiny = build_inputs(1, 1)
    overhead = {}
    for k, fn in list(runners.items()) + [("B-call", run_b), ("B0-call", lambda i: run_b0(i, entry=False))]:
        fn(tiny)
        ts = []
        for _ in range(15):
            t = time.perf_counter()
            fn(tiny)
            ts.append(time.perf_counter() - t)
        overhead[k] = statistics.median(ts)
    log("  per-call time, 144 local steps, 1 thread (us): "
        + ", ".join(f"{k}={v * 1e6:.0f}" for k, v in overhead.items()))

    # NumPy reference (theorybench's array backend, same noise), ~10^4 configurations
    np_seeds = 112 if args.quick else 1112
    np_inp = build_inputs(np_seeds, R)
    np_steps = np_inp["n"] * R * N * I

    def run_numpy():
        return run_0_sweep(np_inp, np_seeds, backend="numpy")

    # round-robin timing
    order = ["A", "B", "C", "0", "1", "0k", "B0", "B-rt"]
    samples = {th: {k: [] for k in order + ["numpy"]} for th in (1, 2)}
    max_threads = numba.config.NUMBA_NUM_THREADS
    threads = [t for t in (1, 2) if t <= max_threads]
    load = [os.getloadavg()]
    for rep in range(repeats):
        for th in threads:
            numba.set_num_threads(th)
            for k in order:
                t = time.perf_counter()
                runners[k](inp)
                samples[th][k].append(time.perf_counter() - t)
        if rep < (1 if args.quick else 2):
            t = time.perf_counter()
            np_out = run_numpy()
            samples[1]["numpy"].append(time.perf_counter() - t)
        load.append(os.getloadavg())
        log(f"  repeat {rep + 1}/{repeats} done; load {os.getloadavg()[0]:.1f}")
    numba.set_num_threads(max(threads))
    np_ref = run_0k(np_inp)
    np_same, np_diff = compare(np_ref, np_out)

    timing = {}
    for th in threads:
        med = {k: statistics.median(v) for k, v in samples[th].items() if v}
        timing[th] = {}
        for k, m in med.items():
            st = np_steps if k == "numpy" else steps_total
            timing[th][k] = {"median_s": m, "samples_s": samples[th][k], "ns_per_local_step": m / st * 1e9,
                             "ratio_vs_hand": m / st / (med["1"] / steps_total),
                             "speedup_vs_0k": (med["0k"] / steps_total) / (m / st)}
    log("\n  ns per local step per trajectory (median):")
    log("  " + f"{'variant':<62}" + "".join(f"{f'{t} thr':>10}" for t in threads) + "   vs (1), 1 thr")
    for k in order + ["numpy"]:
        lab = "NumPy (theorybench backend='numpy'), 1 thread" if k == "numpy" else VARIANTS[k][0]
        cells = "".join(f"{timing[t][k]['ns_per_local_step']:10.2f}" if k in timing[t] else f"{'-':>10}"
                        for t in threads)
        log(f"  {lab:<62}{cells}   {timing[1][k]['ratio_vs_hand']:.2f}x")

    cache = None
    if not args.skip_cache_tests:
        log("\nFresh-process cache tests (engine snapshot, one Numba cache folder per variant):")
        with tempfile.TemporaryDirectory(prefix="tb_kmech_") as wd:
            cache = cache_tests(wd, timeout=1800, log=log)

    payload = {
        "benchmark": "kernel_mechanisms", "quick": args.quick, "machine": machine_info(),
        "work": {"problem": "episode-quartic", "H": H_KNOB, "algorithm": "local-clip", "convention": "step",
                 "grid": GRID, "seeds": n_seeds, "trajectories": n, "rounds": R, "clients": N,
                 "local_steps": I, "local_steps_per_call": steps_total, "record": [0, R],
                 "numpy_trajectories": np_inp["n"]},
        "inputs_identical_to_theorybench": bool(same_inputs),
        "first_call_in_this_process_s": first_call,
        "per_call_time_tiny_s": overhead,
        "per_call_time_tiny_note": "9 trajectories x 1 round (144 local steps), 1 Numba thread; B-call and B0-call "
                                   "are (B) and (B0) called through their dispatchers (the other rows call the "
                                   "literal overload's entry point)",
        "generated_kernel_file": gen_mod.__file__,
        "correctness_vs_0k": correctness,
        "numpy_vs_0k": {"bit_identical": np_same, "max_abs_diff": np_diff},
        "timing": {str(t): v for t, v in timing.items()},
        "labels": {k: v[0] for k, v in VARIANTS.items()},
        "load_average": load,
        "repeats": repeats, "order": order,
        "cache_tests": cache,
        "jax": "skipped: JAX is not installed here",
    }
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / ("kernel_mechanisms_quick.json" if args.quick else "kernel_mechanisms.json")
    write_json(path, payload)
    log(f"\nwrote {path}")


if __name__ == "__main__":
    main()
