"""Compose one specialised whole-trajectory kernel per combination (method, objective family, noise model,
dimension class, statistics requested) from declared pieces (``theorybench.declare``), and cache it on disk.

Mechanism (measured in ``benchmarks/bench_kernel_mechanisms.py``, variant (A)): the kernel is generated
*source*. :func:`kernel` copies the source of every ``@njit`` piece, of every ``@njit`` function and numeric
constant a piece uses (found through its globals), and a whole-trajectory template into one module text;
writes it to ``<cache>/tbk_<sha256 of the text>.py`` (atomically, once) and imports it. Its functions have
``cache=True``, so Numba caches the machine code next to that file and a new process loads it without
compiling. The file name changes exactly when a piece, anything a piece uses, or the template changes in
code; an edit anywhere else in the engine keeps the cache warm. Cache folder: ``$THEORYBENCH_KERNEL_CACHE``,
else ``$XDG_CACHE_HOME/theorybench/kernels`` (``~/.cache/theorybench/kernels``).

The generated kernel (d = 1, scalar iterate; notation of ``theorybench.declare``): no runtime dispatch in
the step loop (the method's step, the family's gradient and the noise draw are inlined), the iterate and the
local iterate are float64 scalars, hyperparameters are read once from one float vector with named slots
(so a sweep over any of them is one call), the configurations split in parts run on
``numba.get_num_threads()`` threads by a thin Python driver (``batch``; the compiled ``batch_part`` runs a
range of configurations without the GIL; one configuration per thread: results do not depend on the thread
count; a ``prange`` wrapper cost ~1.8 s more compilation per kernel), the counter-based noise of ``theorybench.rng`` (client ``i``'s
``k``-th draw: stream ``i``, counter ``k``), client sampling of ``theorybench.sampling``, and the divergence
rule ``theorybench.kernels.common.healthy`` (its source is copied in). A method's round-start pieces
(``declare``: ``client_start``, ``round_start``) run after the round's client sample: each sampled client's
values at x_r (its draw takes the next counter of its stream, before its local steps), their means over the
sample (left to right from 0.0), then the round values, which the local steps read as scalars. State
slots are scalars (server) and length-N arrays (clients) living across rounds; ``client_init`` runs before
round 0 (each client's I draws at x_0 take the first counters of its stream); after the round's local steps
``client_end`` runs for each sampled client in the sample's order (written out client by client when the
round is), then ``round_end`` gives x_{r+1} (else the mean of the clients' final local iterates). With at most ``UNROLL_MAX`` clients, a
round in which all of them take part is written out client by client, their local steps interleaved (the
clients' chains are independent, so the CPU overlaps them: 1.5x here); the numbers are the same. Statistics:

* ``stats="all"`` (what ``run``/``sweep`` use): ||grad f|| every round and the eight running statistics of
  ``kernels.common.STAT_NAMES``, f on recorded rounds and beyond the family's ``safe_radius`` (see below):
  the same numbers as the generic kernel, bit for bit.
* ``stats`` naming only ``diverged_round``, ``clipped_fraction``, ``max_abs_x``: f and ||grad f|| only on
  recorded rounds, or when ``|x_r|`` reaches the family's ``safe_radius`` (inside it the divergence rule
  cannot fire, so the divergence round is unchanged); the other statistics are NaN.
"""
import ast
import hashlib
import importlib.util
import inspect
import os
import sys
import textwrap
import threading
import types as pytypes
from pathlib import Path

import numpy as np
from numba import njit
from numba.core.dispatcher import Dispatcher

from .algorithms import CHOICE_CODES
from .atomic_io import atomic_write_text
from .declare import STRUCTURE, family_for, get_method, METHODS, ROUTED
from .errors import TheoryBenchError
from .kernels.common import STAT_NAMES, healthy
from .rng import NOISE_NONE, NOISE_UNIFORM, noise, uniform01
from .sampling import available_clients, sample_clients

N_STATS = len(STAT_NAMES)
GN_STATS = frozenset({"min_grad_norm", "argmin_round", "first_below_target", "grad_norm_sum",
                      "first_average_below_target"})
CHEAP_STATS = frozenset({"diverged_round", "clipped_fraction", "max_abs_x"})
_ALLOWED_MODULES = {"numpy": "np", "math": "math"}
_KEPT_OPTIONS = ("inline", "fastmath", "error_model", "boundscheck")


@njit(cache=True, inline="always")
def uniform_noise(scale, seed, stream, counter):
    """``theorybench.rng.noise(NOISE_UNIFORM, ...)`` without the dispatch: ``scale (1 - 2u)``."""
    if scale == 0.0:
        return 0.0
    return scale * (1.0 - 2.0 * uniform01(seed, stream, counter))


def default_kernel_cache():
    """``$THEORYBENCH_KERNEL_CACHE``, else ``$XDG_CACHE_HOME/theorybench/kernels`` (``~/.cache/...``)."""
    env = os.environ.get("THEORYBENCH_KERNEL_CACHE")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "theorybench" / "kernels"


# ----------------------------------------------------------------------------------- source collection

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
    raise TheoryBenchError(f"{where} uses a global of type {type(value).__name__}: pieces may use numbers, "
                           "numpy (as np), math and @njit functions only")


def _function_text(disp):
    """The function's code without decorators (comments dropped, docstring kept), decorated again with
    ``cache=True`` and the Numba options that change its compilation."""
    try:
        src = inspect.getsource(disp.py_func)
    except (OSError, TypeError):
        raise TheoryBenchError(f"the source of piece {disp.py_func.__qualname__!r} cannot be read (defined with "
                               "exec or in an interactive prompt without history?): define it in a file, a "
                               "notebook cell or a module") from None
    try:
        node = ast.parse(textwrap.dedent(src)).body[0]
    except SyntaxError:
        node = None
    if not isinstance(node, ast.FunctionDef) or node.name != disp.py_func.__name__:
        raise TheoryBenchError(f"the source of piece {disp.py_func.__qualname__!r} changed on disk since it was "
                               f"imported ({disp.py_func.__code__.co_filename}): restart the process") from None
    node.decorator_list = []
    opts = [f"{k}={disp.targetoptions[k]!r}" for k in _KEPT_OPTIONS if disp.targetoptions.get(k) is not None]
    return f"@njit({', '.join(['cache=True'] + opts)})\n{ast.unparse(node)}"


def _collect(roots, stubs=None):
    """Every ``@njit`` function reachable from ``roots`` through globals (dependencies first), the numeric
    constants they read, and the modules (numpy, math) they name. ``stubs``: a dict ``{name: dispatcher}``
    of functions the caller writes itself (the vector template's oracle); the ones reached are put in
    ``stubs["used"]`` (a set of names) instead of being copied."""
    funcs, order, consts, modules = {}, [], {}, set()
    stubs = {} if stubs is None else stubs
    stub_funcs = {d.py_func: n for n, d in stubs.items() if isinstance(d, Dispatcher)}

    def visit(disp):
        py = disp.py_func
        if py in stub_funcs:
            stubs.setdefault("used", set()).add(stub_funcs[py])
            return
        name = py.__name__
        if name in funcs:
            if funcs[name] is not py:
                raise TheoryBenchError(f"two different pieces are named {name!r} ({funcs[name].__module__} and "
                                       f"{py.__module__}): rename one")
            return
        funcs[name] = py
        cv = inspect.getclosurevars(py)
        if cv.nonlocals:
            raise TheoryBenchError(f"piece {name!r} closes over {sorted(cv.nonlocals)}: pieces must be "
                                   "module-level functions")
        for gname, val in sorted(cv.globals.items()):
            if isinstance(val, Dispatcher):
                if val.py_func.__name__ != gname:
                    raise TheoryBenchError(f"piece {name!r} calls {val.py_func.__name__!r} under the alias "
                                           f"{gname!r}: call @njit functions by their own name")
                visit(val)
            elif isinstance(val, pytypes.ModuleType):
                if _ALLOWED_MODULES.get(val.__name__) != gname:
                    raise TheoryBenchError(f"piece {name!r} uses module {val.__name__!r} as {gname!r}: pieces "
                                           "may use numpy (as np) and math only")
                modules.add(val.__name__)
            else:
                expr = _const_expr(val, f"piece {name!r}")
                if consts.setdefault(gname, expr) != expr:
                    raise TheoryBenchError(f"the constant {gname!r} has two values among the pieces")
        order.append(disp)

    for d in roots:
        visit(d)
    clash = set(consts) & set(funcs)
    if clash:
        raise TheoryBenchError(f"names used both as constants and as functions: {sorted(clash)}")
    return order, consts, modules


# ----------------------------------------------------------------------------------- the template

def _int_param(method, name):
    p = next((q for q in method.params if q.name == name), None)
    return p is not None and p.kind in ("int", "choice")


UNROLL_MAX = 4  # up to this many clients, a round's local loops are interleaved client by client


def _unrolled_round(method, args_of, draw_of, grad, n):
    """The round's local steps for all ``n`` clients as scalar chains interleaved step by step (the clients'
    chains are independent, so the CPU overlaps them); each client's operations are those of the loop form."""
    L = []
    L += [f"            y{q} = x" for q in range(n)]
    L += [f"            cnt{q} = counters[{q}]" for q in range(n)]
    gsum = _needs_gbar(method)
    if gsum:
        L += [f"            gs{q} = 0.0" for q in range(n)]
    L.append("            for k in range(steps):")
    L += [f"                g{q} = {grad}(c{q}, y{q})" for q in range(n)]
    L.append("                if noisy:")
    L += [f"                    g{q} += {draw_of(q)}" for q in range(n)]
    L += [f"                cnt{q} += 1" for q in range(n)]
    if gsum:
        L += [f"                gs{q} += g{q}" for q in range(n)]
    step_name = method.step.py_func.__name__ if method.step is not None else None
    for q in range(n if step_name else 0):
        if method.clipping:
            L.append(f"                y{q}, cl{q} = {step_name}({args_of(q)})")
        else:
            L.append(f"                y{q} = {step_name}({args_of(q)})")
    if method.clipping and step_name:
        L += [f"                clipped += cl{q}" for q in range(n)]  # no data-dependent branch
        L.append(f"                decisions += {n}")
    L += [f"            counters[{q}] = cnt{q}" for q in range(n)]
    L.append("            acc = 0.0")
    L += [f"            acc += y{q}" for q in range(n)]
    return "\n".join(L) + "\n"


def _needs_gbar(method):
    return method.client_end is not None and "gbar" in method.client_end_args()


def _state_map(method, own):
    """Piece argument -> template expression for the state slots (``own``: client i's slot expression)."""
    m = {s: f"sv_{s}" for s, _ in method.state}
    m.update({c: own(c) for c, _ in method.client_state})
    return m


def _assign(names, call, indent):
    if len(names) == 1:
        return [f"{indent}t_{names[0]} = {call}"]
    return [f"{indent}{', '.join('t_' + v for v in names)} = {call}"]


def _client_init_code(method, grad, draw_of):
    """Before round 0: every client's I draws at x_0, their mean ``gbar``, ``client_init``'s values, the
    means of those over all N clients into the state slots named."""
    if method.client_init is None:
        return ""
    names = [v for v, _ in method.client_init_values]
    means = [(v, m) for v, m in method.client_init_values if m is not None]
    amap = {"x": "x", "gbar": "gbar", "i": "i", "n": "n"}
    call = (f"{method.client_init.py_func.__name__}"
            f"({', '.join(amap.get(a, f'hp_{a}') for a in method.client_init_args())})")
    L = [f"    ci_{m} = 0.0" for _, m in means]
    L += ["    for i in range(n):", "        gs = 0.0", "        cnt = counters[i]", "        for k in range(steps):",
          f"            g = {grad}(params[i], x)", "            if noisy:",
          f"                g += {draw_of('i', 'cnt')}", "            cnt += 1", "            gs += g",
          "        counters[i] = cnt", "        gbar = gs / steps"]
    L += _assign(names, call, "        ")
    L += [f"        cv_{v}[i] = t_{v}" for v in names]
    L += [f"        ci_{m} += cv_{v}[i]" for v, m in means]
    L += [f"    sv_{m} = ci_{m} / n" for _, m in means]
    return "".join(ln + "\n" for ln in L)


def _client_end_code(method, indent, n_out, y_of, gbar_of, i_of, round_vars, own):
    """After the round's local steps: ``client_end`` for each sampled client in the sample's order: a loop
    over the sample (``n_out`` = 0), or clients 0, ..., n_out-1 written out (``y_of(q)`` etc. name client q's
    values)."""
    if method.client_end is None:
        return ""
    names = [v if isinstance(v, str) else v[0] for v in method.client_end_values]
    means = [(v[0], v[1]) for v in method.client_end_values if not isinstance(v, str) and v[1] is not None]
    state = {s for s, _ in method.state}
    cstate = {c for c, _ in method.client_state}
    L = [f"{indent}ce_{m} = 0.0" for _, m in means]

    def one(ind, q):
        amap = {"x": "x", "y": y_of(q), "gbar": gbar_of(q), "r": "(r - 1)", "i": i_of(q), "n": "n",
                **round_vars, **{v: own(v, q) for v, _ in method.client_values},
                **_state_map(method, lambda c: own(c, q))}
        call = (f"{method.client_end.py_func.__name__}"
                f"({', '.join(amap.get(a, f'hp_{a}') for a in method.client_end_args())})")
        out = _assign(names, call, ind)
        for v in names:
            if v in state:
                out.append(f"{ind}sv_{v} = t_{v}")
            elif v in cstate:
                out.append(f"{ind}cv_{v}[{i_of(q)}] = t_{v}")
            elif v == "clipped":
                out += [f"{ind}clipped += t_clipped", f"{ind}decisions += 1"]
        out += [f"{ind}ce_{m} += t_{v}" for v, m in means]
        return out
    if n_out:
        for q in range(n_out):
            L += one(indent, q)
    else:
        L += [f"{indent}for q in range(ns):", f"{indent}    i = chosen[q]"] + one(indent + "    ", "q")
    L += [f"{indent}ce_{m} = ce_{m} / ns" for _, m in means]
    return "".join(ln + "\n" for ln in L)


def _round_end_code(method, round_vars):
    """The next server iterate: ``round_end``'s ``x`` when it returns one, else the mean of the clients' y."""
    if method.round_end is None:
        return "        x = acc / ns\n"
    amap = {"x": "x", "r": "(r - 1)", "n": "n", "ns": "ns", "ybar": "(acc / ns)", **round_vars,
            **{m: f"ce_{m}" for m in method.end_means()}, **{s: f"sv_{s}" for s, _ in method.state}}
    call = (f"{method.round_end.py_func.__name__}"
            f"({', '.join(amap.get(a, f'hp_{a}') for a in method.round_end_args())})")
    names = list(method.round_end_values)
    L = _assign(names, call, "        ")
    for v in names:
        if v == "x":
            continue
        if v == "clipped":
            L += ["        clipped += t_clipped", "        decisions += 1"]
        else:
            L.append(f"        sv_{v} = t_{v}")
    L.append("        x = t_x" if "x" in names else "        x = acc / ns")
    return "".join(ln + "\n" for ln in L)


def _round_start_code(method, grad, draw_of):
    """The round's start (``declare``: round-start pieces): each sampled client's values at x_r (one oracle
    draw from its stream when ``client_start`` takes ``g``), their means over the sample, the round values."""
    L = []
    means = [(v, m) for v, m in method.client_values if m is not None]
    L += [f"        cm_{m} = 0.0" for _, m in means]
    if method.client_start is not None:
        cargs = method.client_start_args()
        omap = {"x": "x", "g": "g", "r": "(r - 1)", "i": "i", **_state_map(method, lambda c: f"cv_{c}[i]")}
        call = f"{method.client_start.py_func.__name__}({', '.join(omap.get(a, f'hp_{a}') for a in cargs)})"
        names = [v for v, _ in method.client_values]
        L += ["        for q in range(ns):", "            i = chosen[q]"]
        if "g" in cargs:
            L += [f"            g = {grad}(params[i], x)", "            if noisy:",
                  f"                g += {draw_of('i', 'counters[i]')}", "            counters[i] += 1"]
        if len(names) == 1:
            L.append(f"            cv_{names[0]}[i] = {call}")
        else:
            L.append(f"            {', '.join('t_' + v for v in names)} = {call}")
            L += [f"            cv_{v}[i] = t_{v}" for v in names]
        L += [f"            cm_{m} += cv_{v}[i]" for v, m in means]
    L += [f"        cm_{m} = cm_{m} / ns" for _, m in means]
    if method.round_start is not None:
        rmap = {"x": "x", "r": "(r - 1)", **{s: f"sv_{s}" for s, _ in method.state}}
        rmap.update({m: f"cm_{m}" for _, m in means})
        call = (f"{method.round_start.py_func.__name__}"
                f"({', '.join(rmap.get(a, f'hp_{a}') for a in method.round_start_args())})")
        L.append(f"        {', '.join('rv_' + w for w in method.round_values)} = {call}")
        if "clipped" in method.round_values:
            L += ["        clipped += rv_clipped", "        decisions += 1"]
    return "".join(ln + "\n" for ln in L)


def _template(method, family, noise_kind, every_round, n_unroll=0, n_par=0):
    """The whole-trajectory module code (after the pieces) for one combination; ``n_unroll``: the number of
    clients when a round of all of them is written out client by client (0: the loop form only)."""
    slots = method.slots()
    unpack = []
    for name, s in slots.items():
        unpack.append(f"    hp_{name} = int(h[{s}])" if _int_param(method, name) else f"    hp_{name} = h[{s}]")
    steps = "hp_local_steps" if "local_steps" in slots else "1"
    S = "hp_clients_per_round" if "clients_per_round" in slots else "0"
    round_vars = {m: f"cm_{m}" for _, m in method.client_values if m is not None}
    round_vars.update({w: f"rv_{w}" for w in method.round_values})
    oracle = {"y": "y", "g": "g", "r": "(r - 1)", "k": "k", "i": "i", "x": "x", **round_vars,
              **_state_map(method, lambda c: f"cv_{c}[i]")}
    oracle.update({v: f"cv_{v}[i]" for v, _ in method.client_values})
    args = ", ".join(oracle.get(a, f"hp_{a}") for a in method.step_args())

    def args_of(q):
        o = {"y": f"y{q}", "g": f"g{q}", "r": "(r - 1)", "k": "k", "i": str(q), "x": "x", **round_vars,
             **_state_map(method, lambda c: f"u{q}_{c}")}
        o.update({v: f"u{q}_{v}" for v, _ in method.client_values})
        return ", ".join(o.get(a, f"hp_{a}") for a in method.step_args())
    gsum = _needs_gbar(method)
    step_name = method.step.py_func.__name__ if method.step is not None else None
    if step_name is None:
        step_lines = ""
    elif method.clipping:
        step_lines = (f"                y, cl = {step_name}({args})\n"
                      "                clipped += cl\n"
                      "                decisions += 1\n")
    else:
        step_lines = f"                y = {step_name}({args})\n"
    def draw_of(i, cnt):
        if noise_kind == NOISE_NONE:
            return "0.0"
        if noise_kind == NOISE_UNIFORM:
            return f"uniform_noise(nscale, seed, {i}, {cnt})"
        return f"noise({int(noise_kind)}, nscale, seed, {i}, {cnt})"
    draw = draw_of("i", "cnt")
    value, grad = family.value.py_func.__name__, family.grad.py_func.__name__
    loop_round = (
        "            acc = 0.0\n"
        "            for q in range(ns):\n"
        "                i = chosen[q]\n"
        "                c = params[i]\n"
        "                y = x\n"
        "                cnt = counters[i]\n"
        "                for k in range(steps):\n"
        f"                    g = {grad}(c, y)\n"
        "                    if noisy:\n"
        f"                        g += {draw}\n"
        "                    cnt += 1\n"
        + ("                    gs += g\n" if gsum else "")
        + "".join("    " + ln + "\n" for ln in step_lines.splitlines())
        + "                counters[i] = cnt\n"
        "                acc += y\n"
        + ("                e_y[q] = y\n                e_gbar[q] = gs / steps\n" if method.client_end else ""))
    if gsum:
        loop_round = loop_round.replace("                cnt = counters[i]\n",
                                        "                cnt = counters[i]\n                gs = 0.0\n", 1)
    loop_round += _client_end_code(method, "            ", 0, lambda q: "e_y[q]", lambda q: "e_gbar[q]",
                                   lambda q: "i", round_vars, lambda c, q: f"cv_{c}[i]")
    start_code = _round_start_code(method, grad, draw_of)
    cv_init = "".join(f"    cv_{v} = np.zeros(n)\n" for v, _ in method.client_values)
    cv_init += "".join(f"    cv_{c} = np.full(n, {float(v0)!r})\n" if np.isfinite(v0) else
                       f"    cv_{c} = np.full(n, float({repr(float(v0))!r}))\n" for c, v0 in method.client_state)
    cv_init += "".join(f"    sv_{c} = {float(v0)!r}\n" if np.isfinite(v0) else
                       f"    sv_{c} = float({repr(float(v0))!r})\n" for c, v0 in method.state)
    if method.client_end is not None:
        cv_init += "    e_y = np.empty(n)\n    e_gbar = np.empty(n)\n"
    end_code = _round_end_code(method, round_vars)
    init_code = _client_init_code(method, grad, draw_of)
    if n_unroll:
        if n_par:  # each row as a tuple of its n_par numbers: the family's loops over it unroll
            rows = "".join(f"    c{q} = (" + ", ".join(f"params[{q}, {j}]" for j in range(n_par)) + ",)\n"
                           for q in range(n_unroll))
        else:
            rows = "".join(f"    c{q} = params[{q}]\n" for q in range(n_unroll))
        own = [v for v, _ in method.client_values] + [c for c, _ in method.client_state]
        loads = "".join(f"            u{q}_{v} = cv_{v}[{q}]\n" for v in own for q in range(n_unroll))
        ends = _client_end_code(method, "            ", n_unroll, lambda q: f"y{q}", lambda q: f"gs{q} / steps",
                                lambda q: str(q), round_vars, lambda c, q: f"u{q}_{c}") if method.client_end else ""
        round_code = ("        if ns == n:\n" + loads
                      + _unrolled_round(method, args_of, lambda q: draw_of(q, f"cnt{q}"), grad, n_unroll)
                      + ends + "        else:\n" + loop_round)
    else:
        rows = ""
        round_code = "        if True:\n" + loop_round
    gn_block = ("    if gn < st[1]:\n        st[1] = gn\n        st[2] = r\n"
                "    if st[5] < 0 and gn <= level:\n        st[5] = r\n"
                "    st[6] += gn\n"
                "    if st[7] < 0 and st[6] <= level * (r + 1):\n        st[7] = r\n") if every_round else ""
    early = ("    if target < 0.0 and st[7] >= 0:\n        _fill_nan1(p, out_x, out_loss, out_gn)\n"
             "        return -1\n") if every_round else ""
    gate = ("" if every_round else
            "    if safe:\n"
            "        st[4] = max(st[4], xmax)\n"
            "        return p\n")
    # the round's observation inside the safe radius, off the record schedule, written into the round loop;
    # everything else goes to the out-of-line _observe1 (inlining it whole slowed the step loop 1.35x)
    if every_round:
        fast_body = ("            obs_gs = 0.0\n            for obs_i in range(n):\n"
                     f"                obs_gs += {grad}(params[obs_i], x)\n"
                     "            obs_gn = abs(obs_gs / n)\n"
                     "            if obs_ax > st[4]:\n                st[4] = obs_ax\n"
                     + "".join("        " + ln.replace("gn", "obs_gn").replace("level", "obs_level") + "\n"
                               for ln in gn_block.splitlines())
                     + "            if target < 0.0 and st[7] >= 0:\n"
                     "                _fill_nan1(p, out_x, out_loss, out_gn)\n"
                     "                p = -1\n")
    else:
        fast_body = "            if obs_ax > st[4]:\n                st[4] = obs_ax\n"
    observe_round = ("        obs_ax = abs(x)\n"
                     "        if obs_ax < rho and not (p < obs_nrec and rec[p] == r):\n" + fast_body
                     + "        else:\n"
                     "            p = _observe1(params, x, r, target, rho, rec, p, out_x, out_loss, out_gn, st)\n")
    init = ("    st[0] = -1.0\n    st[1] = np.inf\n    st[2] = 0.0\n    st[3] = 0.0\n    st[4] = 0.0\n"
            "    st[5] = -1.0\n    st[6] = 0.0\n    st[7] = -1.0\n") if every_round else (
            "    for j in range(st.shape[0]):\n        st[j] = np.nan\n    st[0] = -1.0\n    st[3] = 0.0\n"
            "    st[4] = 0.0\n")
    return f'''
MODE_EVERY_ROUND = {bool(every_round)!r}


@njit(cache=True, inline="always")
def _fill_nan1(p, out_x, out_loss, out_gn):
    while p < out_loss.shape[0]:
        out_loss[p] = np.nan
        out_gn[p] = np.nan
        out_x[p, 0] = np.nan
        p += 1


@njit(cache=True)
def _observe1(params, x, r, target, rho, rec, p, out_x, out_loss, out_gn, st):
    """x_r observed: f(x_r) = mean_i f_i(x_r), |f'(x_r)|, the divergence rule, the running statistics,
    the record. Returns the next record position, or -1 when the run ends here. Inside the family's safe
    radius (|x_r| < rho) the rule cannot fire, so f(x_r) is evaluated only on recorded rounds there."""
    xmax = abs(x)
    recorded = p < rec.shape[0] and rec[p] == r
    safe = xmax < rho and not recorded
{gate}    n = params.shape[0]
    gs = 0.0
    for i in range(n):
        gs += {grad}(params[i], x)
    gn = abs(gs / n)
    loss = 0.0
    if not safe:
        val = 0.0
        for i in range(n):
            val += {value}(params[i], x)
        loss = val / n
        if not healthy(xmax, loss, gn, st[4] if r > 0 else np.inf):
            st[0] = r
            _fill_nan1(p, out_x, out_loss, out_gn)
            return -1
    level = abs(target)
    st[4] = max(st[4], xmax)
{gn_block}    if recorded:
        out_loss[p] = loss
        out_gn[p] = gn
        out_x[p, 0] = x
        p += 1
{early}    return p


@njit(cache=True)
def trajectory(params, h, x0, seed, nscale, nm, target, rho, rounds, rec, out_x, out_loss, out_gn, st):
    """One configuration: {method.name} on {family.name}, {rounds_doc(noise_kind)}."""
    n = params.shape[0]
{chr(10).join(unpack)}
    steps = {steps}
    S = {S}
    noisy = nm != 0.0
    counters = np.zeros(n, dtype=np.int64)
    avail = np.empty(n, dtype=np.int64)
    chosen = np.empty(n, dtype=np.int64)
    for q in range(n):
        chosen[q] = q
    clipped = 0
    decisions = 0
{init}{cv_init}{rows}    x = x0
{init_code}    p = _observe1(params, x, 0, target, rho, rec, 0, out_x, out_loss, out_gn, st)
    obs_nrec = rec.shape[0]
    obs_level = abs(target)
    for r in range(1, rounds + 1):
        if p < 0:
            break
        ns = n
        if S > 0 and S < n:
            m = available_clients(0, n, 1, 1, r, avail)
            ns = sample_clients(seed, r, avail, m, S, chosen)
{start_code}{round_code}{end_code}{observe_round}    st[3] = clipped / decisions if decisions > 0 else 0.0


@njit(cache=True, nogil=True)
def batch_part(lo, hi, params, hyper, x0, seeds, nscale, nmask, target, rho, rounds, rec, out_x, out_loss, out_gn,
               out_stats):
    """Configurations b = lo, ..., hi-1, one after another (without the GIL)."""
    for b in range(lo, hi):
        trajectory(params[b], hyper[b], x0[b], seeds[b], nscale[b], nmask[b], target[b], rho[b], rounds, rec,
                   out_x[b], out_loss[b], out_gn[b], out_stats[b])


def batch(params, hyper, x0, seeds, nscale, nmask, target, rho, rounds, rec, out_x, out_loss, out_gn, out_stats):
    """Every configuration, in parts on numba.get_num_threads() threads; each configuration runs on one
    thread, so the numbers do not depend on the thread count. (A thin Python driver instead of a prange
    kernel: the parallel wrapper cost ~1.8 s of compilation per kernel.)"""
    args = (params, hyper, x0, seeds, nscale, nmask, target, rho, rounds, rec, out_x, out_loss, out_gn, out_stats)
    n = hyper.shape[0]
    threads = min(get_num_threads(), n)
    if threads <= 1:
        batch_part(0, n, *args)
        return
    size = -(-n // (4 * threads))  # four parts per thread: runs that diverge early leave no thread idle long
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda lo: batch_part(lo, min(lo + size, n), *args), range(0, n, size)))
'''


def rounds_doc(noise_kind):
    from .rng import NOISE_NAMES
    names = {v: k for k, v in NOISE_NAMES.items()}
    return f"noise {names.get(int(noise_kind), noise_kind)}, d = 1"


# ----------------------------------------------------------------------------------- generation, cache

_LOCK = threading.Lock()
_LOADED = {}   # module name -> module
_BY_KEY = {}   # (pieces' identities, noise, mode, folder) -> module


def _mode(stats):
    if isinstance(stats, str):
        if stats != "all":
            raise TheoryBenchError(f"parameter 'stats' must be 'all' or a list of statistic names, got {stats!r}")
        return True
    stats = set(stats)
    bad = sorted(stats - set(STAT_NAMES))
    if bad:
        raise TheoryBenchError(f"unknown statistic(s) {bad}; known: {', '.join(STAT_NAMES)}")
    return bool(stats & GN_STATS)


TUPLE_ROWS_MAX = 16  # the longest row passed as a tuple


def module_text(method, family, noise_kind, stats="all", n_clients=0, n_par=0):
    """``(module name, text)`` of the kernel for this combination (nothing is written or compiled);
    ``n_clients`` (when at most ``UNROLL_MAX``): the rounds of all clients are written out client by client."""
    every = _mode(stats)
    n_unroll = int(n_clients) if 0 < int(n_clients) <= UNROLL_MAX else 0
    n_par = int(n_par) if (n_unroll and family.tuple_rows and 0 < int(n_par) <= TUPLE_ROWS_MAX) else 0
    roots = [f for f in (method.step,) if f is not None]
    roots += [family.value, family.grad, healthy, available_clients, sample_clients]
    roots += [f for f in (method.client_start, method.round_start, method.client_init, method.client_end,
                          method.round_end) if f is not None]
    if noise_kind == NOISE_UNIFORM:
        roots.append(uniform_noise)
    elif noise_kind != NOISE_NONE:
        roots.append(noise)
    order, consts, modules = _collect(roots)
    taken = {d.py_func.__name__ for d in order}
    for own in ("_fill_nan1", "_observe1", "trajectory", "batch", "batch_part", "ThreadPoolExecutor",
                "get_num_threads"):
        if own in taken:
            raise TheoryBenchError(f"a piece is named {own!r}, a name the kernel template uses: rename it")
    parts = ["from concurrent.futures import ThreadPoolExecutor", "", "import numpy as np"] + (
        ["import math"] if "math" in modules else []) + ["from numba import get_num_threads, njit, prange", ""]
    parts += [f"{k} = {v}" for k, v in sorted(consts.items())]
    parts += ["", ""] + [_function_text(d) + "\n\n" for d in order]
    parts.append(_template(method, family, noise_kind, every, n_unroll, n_par))
    body = "\n".join(parts)
    digest = hashlib.sha256(body.encode()).hexdigest()
    header = ("# Generated by theorybench.compose; do not edit (the file name is the sha256 of the code below).\n"
              f"# method {method.name!r}: step "
              f"{(method.step or method.client_end).py_func.__module__}.{(method.step or method.client_end).py_func.__qualname__}\n"
              f"# family {family.name!r}: {family.value.py_func.__module__}.{family.value.py_func.__qualname__}, "
              f"{family.grad.py_func.__qualname__}\n")
    return f"tbk_{digest[:40]}", header + body


def kernel(method, family, noise_kind, stats="all", cache_dir=None, n_clients=0, n_par=0):
    """The composed kernel module for (``method``, ``family``, ``noise_kind``, d = 1, ``stats``, and the
    number of clients when it is at most ``UNROLL_MAX``): generated, written to the cache folder once,
    imported; its ``batch`` is the kernel (see the module docstring). A kernel written for ``n_clients``
    clients must be given rows of exactly that many clients (and, for a family with ``tuple_rows``, of
    ``n_par`` numbers each)."""
    n_clients = int(n_clients) if 0 < int(n_clients) <= UNROLL_MAX else 0
    n_par = int(n_par) if (n_clients and family.tuple_rows and 0 < int(n_par) <= TUPLE_ROWS_MAX) else 0
    folder = Path(cache_dir) if cache_dir is not None else default_kernel_cache()
    # the pieces themselves (hashed by identity, kept alive by the key) and what shapes the template
    key = (method.name, method.step, method.params, method.clipping, method.client_start, method.client_values,
           method.round_start, method.round_values, method.state, method.client_state, method.client_init,
           method.client_init_values, method.client_end, method.client_end_values, method.round_end,
           method.round_end_values, family.name, family.value, family.grad,
           int(noise_kind), _mode(stats), n_clients, n_par, str(folder))
    with _LOCK:
        mod = _BY_KEY.get(key)
        if mod is not None:
            return mod
        name, text = module_text(method, family, noise_kind, stats, n_clients, n_par)
        mod = load_generated(name, text, folder)
        _BY_KEY[key] = mod
        return mod


def load_generated(name, text, folder):
    """The generated kernel module ``name`` with source ``text``: written once to ``folder/<name>.py``
    (atomically; never rewritten, since Numba keys its cache on the file's time stamp) and imported once per
    process. Callers hold ``_LOCK``."""
    mod = _LOADED.get(name)
    if mod is None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{name}.py"
            if not path.exists() or path.read_text() != text:
                atomic_write_text(path, text)
        except OSError as e:
            raise TheoryBenchError(f"cannot write the kernel cache folder {str(folder)!r} ({e.strerror}); "
                                   "set THEORYBENCH_KERNEL_CACHE to a writable folder") from None
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
        _LOADED[name] = mod
    return mod


# ----------------------------------------------------------------------------------- the runner's side

def pack(method, settings):
    """The float vector of validated ``settings`` in the method's slots (a choice as its code)."""
    h = np.empty(len(method.params))
    for k, p in enumerate(method.params):
        v = settings.get(p.name, p.default)
        if p.kind == "choice":
            v = CHOICE_CODES[p.name][v] if p.name in CHOICE_CODES else list(p.choices).index(v)
        if v is None:
            raise TheoryBenchError(f"hyperparameter {p.name!r} of {method.name!r} has no value")
        h[k] = float(v)
    return h


def accepts(problem):
    """A declared family serves ``problem`` (the runner's test for the composed algorithms)."""
    try:
        family_for(problem)
    except TheoryBenchError:
        return False
    return True


def routed(alg, problems, backend):
    """Whether this batch of a library algorithm runs through its composed kernel (declare.ROUTED)."""
    names = ROUTED.get(alg.name)
    if not (backend == "numba" and names is not None and alg.name in METHODS and len(problems) > 0):
        return False
    distinct = {id(p): p for p in problems}.values()
    return all(p.name in names and accepts(p) for p in distinct)


def pack_all(method, settings, engine_codes=True):
    """``pack`` for a list of settings at once: one column per hyperparameter (no per-configuration call).
    ``engine_codes=False``: every choice as the index of its value in ``choices`` (the vector template)."""
    from .runner import GridSettings
    h = np.empty((len(settings), len(method.params)))
    for k, p in enumerate(method.params):
        shared = engine_codes and p.name in CHOICE_CODES
        if isinstance(settings, GridSettings):  # a sweep: each distinct value once, broadcast over the grid
            _, vals = settings.values_of(p.name, p.default)
            if any(v is None for v in vals):
                raise TheoryBenchError(f"hyperparameter {p.name!r} of {method.name!r} has no value")
            if p.kind == "choice":
                codes = CHOICE_CODES[p.name] if shared else {v: j for j, v in enumerate(p.choices)}
                h[:, k] = settings.column(p.name, p.default, convert=codes.__getitem__, dtype=np.float64)
            else:
                h[:, k] = settings.column(p.name, p.default, convert=float, dtype=np.float64)
            continue
        col = [st.get(p.name, p.default) for st in settings]
        if p.kind == "choice":
            codes = CHOICE_CODES[p.name] if shared else {v: j for j, v in enumerate(p.choices)}
            col = [codes[v] for v in col]
        if any(v is None for v in col):
            raise TheoryBenchError(f"hyperparameter {p.name!r} of {method.name!r} has no value")
        h[:, k] = col
    return h


def plan_batch(alg, problems, settings, seeds, rounds, rec, x0s, targets, stats="all", cache_dir=None):
    """The kernel calls of a batch, before running them: a list of ``(module, args, idx)``, one per group of
    configurations with the same (family, parameter shape, noise model); ``module.batch(*args)`` fills the
    output arrays at the end of ``args`` (configurations ``idx`` of the batch). The per-configuration work
    is done once per distinct problem object, so a sweep of 10^5 configurations plans in well under a second."""
    from .runner import _distinct
    method = get_method(alg.name)
    n = len(problems)
    objs, where = _distinct(problems)  # problems[c] is objs[where[c]]
    fams = [family_for(p) for p in objs]
    rows = [np.ascontiguousarray(f.rows(p), dtype=np.float64) for f, p in zip(fams, objs)]
    sigma = np.array([p.sigma for p in objs], dtype=np.float64)
    nmask = np.array([p.noise_mask[0] for p in objs], dtype=np.float64)
    rho_u = np.array([0.0 if f.safe_radius is None else min(float(f.safe_radius(r)), 1e150)
                      for f, r in zip(fams, rows)])
    gkey = [(f.name, r.shape, p.noise_code) for f, r, p in zip(fams, rows, objs)]
    hyper_all = pack_all(method, settings)
    if x0s is None:  # each problem's own start
        x0_all = np.asarray([np.asarray(p.x0, dtype=np.float64).reshape(-1)[0] for p in objs])[where]
    else:
        x0_all = np.asarray([np.asarray(a, dtype=np.float64).reshape(-1)[0] for a in x0s], dtype=np.float64)
    seeds_all = np.asarray(seeds, dtype=np.int64)
    targets = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=np.float64), (n,))
    rec = np.ascontiguousarray(rec, dtype=np.int64)
    nrec = rec.size
    groups = {}
    for u, k in enumerate(gkey):
        groups.setdefault(k, []).append(u)
    # a batch over several client counts (a sweep over N) runs every group on the one looped variant:
    # one compilation instead of one unrolled variant per N (both variants give the same bits)
    shapes = {}
    for fname, shape, ncode in groups:
        shapes.setdefault((fname, ncode), set()).add(shape)
    calls = []
    for (fname, shape, ncode), us in groups.items():
        us = np.asarray(us)
        idx = np.flatnonzero(np.isin(where, us)) if len(groups) > 1 else np.arange(n)
        one_variant = len(shapes[(fname, ncode)]) > 1
        mod = kernel(method, fams[us[0]], ncode, stats, cache_dir, n_clients=0 if one_variant else shape[0],
                     n_par=0 if one_variant else shape[1])
        w = where[idx]
        stacked = np.stack([rows[j] for j in us])[np.searchsorted(us, w)]  # us is sorted
        args = (np.ascontiguousarray(stacked), np.ascontiguousarray(hyper_all[idx]),
                np.ascontiguousarray(x0_all[idx]), np.ascontiguousarray(seeds_all[idx]),
                np.ascontiguousarray(sigma[w]), np.ascontiguousarray(nmask[w]),
                np.ascontiguousarray(targets[idx], dtype=np.float64), np.ascontiguousarray(rho_u[w]), int(rounds),
                rec, np.full((idx.size, nrec, 1), np.nan), np.full((idx.size, nrec), np.nan),
                np.full((idx.size, nrec), np.nan), np.zeros((idx.size, N_STATS)))
        calls.append((mod, args, idx))
    return calls


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra, stats="all",
                    cache_dir=None):
    """The runner's hook: configurations grouped by (family, parameter shape, noise model), one composed
    kernel call per group (:func:`plan_batch`). Returns ``(rec, x, loss, grad_norm, stats)`` like
    ``runner._run_batch``."""
    if backend != "numba":
        raise TheoryBenchError(f"backend {backend!r} does not cover the declared method {alg.name!r}; use "
                               "backend='numba'")
    calls = plan_batch(alg, problems, settings, seeds, rounds, rec, x0s, targets, stats, cache_dir)
    rec = np.ascontiguousarray(rec, dtype=np.int64)
    if len(calls) == 1:
        mod, args, _ = calls[0]
        mod.batch(*args)
        out_x, out_loss, out_g, out_s = args[-4:]
    else:
        n, nrec = len(problems), rec.size
        out_x = np.full((n, nrec, 1), np.nan)
        out_loss = np.full((n, nrec), np.nan)
        out_g = np.full((n, nrec), np.nan)
        out_s = np.zeros((n, N_STATS))
        for mod, args, idx in calls:
            mod.batch(*args)
            out_x[idx], out_loss[idx], out_g[idx], out_s[idx] = args[-4:]
    extra["stat_names"] = STAT_NAMES
    return rec, out_x, out_loss, out_g, out_s


STAT_NAMES = STAT_NAMES
SLOTS = ()        # the composed algorithms pack their own vector (pack)
DEFAULTS = {}
__all__ = ["kernel", "module_text", "pack", "run_batch_group", "default_kernel_cache", "STRUCTURE"]
