"""Compose one specialised whole-trajectory kernel per (vector method, family, noise model, instance layout)
from the declared pieces of ``theorybench.declare_vector``, with the mechanism of ``theorybench.compose``
(generated source in the kernel cache folder, ``cache=True``; the file name is the sha256 of the text, so it
changes exactly when a piece, something a piece uses, or this template changes).

The generated module holds the pieces' source, the oracle of ``theorybench.oracle`` written for this
family (``gradient(prob, x, out)`` calls the family's ``grad`` with the instance's arrays taken from the
tuple ``prob`` by position, the noise model's piece inlined), ``trajectory`` (one configuration) and the
thin thread driver ``batch`` over ``batch_part`` (one configuration per thread at a time: the numbers do
not depend on the thread count). f and ||grad f|| are evaluated, and the divergence rule
``kernels.common.healthy`` applied, on recorded steps, on every step when a statistic needs them (a target,
the gradient-norm statistics), and wherever ``max_j |x_j|`` reaches the family's ``safe_radius`` (every step
when it declares none); the bound check on x (NaN, inf, 1e150) runs every step.

Statistics per configuration: ``diverged_round`` (the first step that is not healthy, -1: never),
``first_below_target`` (first step whose ``family.target_stat`` is ``<= |target|``, -1: never or no target;
a negative target also stops the run at ``first_average_below_target``, as in the other kernels),
``max_abs_x`` (max of max_j |x_j| over the healthy steps); when ``stats`` names any of them (they cost a full
gradient per step), ``min_grad_norm`` (min_t ||grad f(x_t)||), ``argmin_round``, ``grad_norm_sum``
(sum_t ||grad f(x_t)||) and ``first_average_below_target`` (first t with (1/(t+1)) sum_{s<=t} ||grad f(x_s)||
<= target), NaN otherwise; then the method's stats at the end. Traces: the family's stats and the method's
stats on the record schedule."""
import hashlib
import itertools
from pathlib import Path

import numpy as np

from .compose import _LOCK, _collect, _function_text, default_kernel_cache, load_generated, pack_all
from .declare_vector import VectorProblem, get_vector_family, piece_args
from .errors import TheoryBenchError
from .kernels.common import healthy, norm
from . import oracle

BASE_STATS = ("diverged_round", "first_below_target", "max_abs_x", "min_grad_norm", "argmin_round",
              "grad_norm_sum", "first_average_below_target")
GN_STATS = frozenset(BASE_STATS[3:])  # need ||grad f(x_t)|| at every step: computed only when requested
_OWN = ("trajectory", "batch", "batch_part", "ThreadPoolExecutor", "get_num_threads", "_max_abs", "EVERY", "np",
        "math", "njit")
_BY_KEY = {}


def layout(problem):
    """``(names, kinds)``: the instance's array names (sorted: their position in ``prob``) and for each
    ``"f"`` (a number) or the array's dtype and rank (``"f2"``: float64 matrix, ``"i1"``: int64 vector); then,
    after the marker ``"|"``, the names of its sizes (sorted: their position in ``dims``)."""
    names = tuple(sorted(problem.arrays))
    kinds = tuple("f" if isinstance(problem.arrays[k], float) else
                  f"{problem.arrays[k].dtype.kind}{problem.arrays[k].ndim}" for k in names)
    return names, kinds + ("|",) + tuple(sorted(problem.dims))


def _call(fn, lead, arg_of):
    return f"{fn.py_func.__name__}({', '.join(list(lead) + [arg_of(a) for a in piece_args(fn)[len(lead):]])})"


def _oracle_text(family, noise_name, names, used):
    pos = {k: j for j, k in enumerate(names)}
    arr = lambda a: f"prob[{pos[a]}]"  # noqa: E731
    grad = _call(family.grad, ("x", "out"), arr)
    noise = "" if noise_name == "none" else \
        "    " + _call(family.noises[noise_name], ("out", "seed", "stream", "counter"), arr) + "\n"
    cgrad = None if family.client_grad is None else _call(family.client_grad, ("i", "x", "out"), arr)
    defs = {"value": ("prob, x", "    return " + _call(family.value, ("x",), arr) + "\n"),
            "gradient": ("prob, x, out", f"    {grad}\n"),
            "stochastic_gradient": ("prob, x, out, seed, stream, counter", f"    {grad}\n{noise}")}
    if cgrad is not None:
        defs["client_gradient"] = ("prob, i, x, out", f"    {cgrad}\n")
        defs["client_stochastic_gradient"] = ("prob, i, x, out, seed, stream, counter", f"    {cgrad}\n{noise}")
    missing = sorted(set(used) - set(defs))
    if missing:
        raise TheoryBenchError(f"the method calls oracle.{missing[0]}, which family {family.name!r} does not provide "
                               "(it declares no client_grad)")
    return "".join(f'@njit(cache=True, inline="always")\ndef {k}({a}):\n{body}\n\n' for k, (a, body) in defs.items())


def _int_param(method, name):
    p = method.params[method.slots()[name]]
    return p.kind in ("int", "choice")


def _template(method, family, names, kinds, every=False):
    pos = {k: j for j, k in enumerate(names)}
    unpack = "".join(f"    hp_{p.name} = {'int(h[%d])' % k if _int_param(method, p.name) else 'h[%d]' % k}\n"
                     for k, p in enumerate(method.params))
    state = {s: f"sv_{s}" for s, _ in method.state}
    fixed = {"x": "x", "t": "t", "seed": "seed", "prob": "prob", "n": "n", "d": "d", "target": "target",
             "steps": "steps"}

    def arg(a):
        if a in fixed:
            return fixed[a]
        if a in state:
            return state[a]
        if a in method.slots():
            return f"hp_{a}"
        return f"prob[{pos[a]}]"

    def call(fn):
        return f"{fn.py_func.__name__}({', '.join(arg(a) for a in piece_args(fn))})"

    sizes = list(kinds[kinds.index("|") + 1:])

    def dim(e):
        return str(e) if isinstance(e, int) else ("d" if e == "d" else "n" if e == "n" else f"dims[{sizes.index(e)}]")
    alloc = "".join(f"    sv_{s} = np.zeros(({', '.join(dim(e) for e in shape)},))\n" for s, shape in method.state)
    init = f"    {call(method.init)}\n" if method.init is not None else ""
    fam_stats = [(s, _call(fn, ("x",), lambda a: f"prob[{pos[a]}]")) for s, fn in family.stats]
    m_stats = [(s, call(fn)) for s, fn in method.stats]
    rec_tr = "".join(f"                out_tr[p, {j}] = {c}\n" for j, (_, c) in enumerate(fam_stats + m_stats))
    ts = family.target_stat
    tval = {"grad_norm": "gn", "loss": "loss"}.get(ts) or dict(fam_stats)[ts]
    nb = len(BASE_STATS)
    finals = "".join(f"    st[{nb + j}] = {c}\n" for j, (_, c) in enumerate(m_stats))
    if every:
        gn_init = "    st[3] = np.inf\n    st[4] = 0.0\n    st[5] = 0.0\n    st[6] = -1.0\n"
        gn_step = ("            if gn < st[3]:\n                st[3] = gn\n                st[4] = t\n"
                   "            st[5] += gn\n"
                   "            if st[6] < 0.0 and st[5] <= abs(target) * (t + 1):\n                st[6] = t\n"
                   "                if target < 0.0:\n                    stop = True\n")
    else:
        gn_init = "    st[3] = np.nan\n    st[4] = np.nan\n    st[5] = np.nan\n    st[6] = np.nan\n"
        gn_step = ""
    init = ("    t = 0\n" + init) if init else ""
    return f'''
EVERY = {bool(every)!r}


@njit(cache=True, inline="always")
def _max_abs(x):
    """max_j |x_j|, NaN when a coordinate is NaN (so the bound check of the divergence rule sees it)."""
    m = 0.0
    for j in range(x.shape[0]):
        a = abs(x[j])
        if a > m:
            m = a
        elif a != a:  # NaN
            return a
    return m


@njit(cache=True)
def trajectory(prob, n, dims, rho, h, x0, seed, target, steps, rec, out_x, out_loss, out_gn, out_tr, st):
    """One configuration of {method.name} on {family.name}."""
    d = x0.shape[0]
{unpack}    x = x0.copy()
    gbuf = np.empty(d)
{alloc}{init}    st[0] = -1.0
    st[1] = -1.0
{gn_init}    p = 0
    xmax_before = np.inf
    stop = False
    xmax = _max_abs(x)
    st[2] = 0.0
    for t in range(steps + 1):
        if not (xmax < 1e150):
            st[0] = t
            break
        recorded = p < rec.shape[0] and rec[p] == t
        # f and ||grad f|| where they are recorded, a statistic needs them, or the iterate has left the
        # family's safe radius (inside it the divergence rule's loss / gradient part cannot fire)
        if recorded or EVERY or not (xmax < rho) or (target != 0.0 and st[1] < 0.0):
            loss = value(prob, x)
            gradient(prob, x, gbuf)
            gn = norm(gbuf)
            if not healthy(xmax, loss, gn, xmax_before if t > 0 else np.inf):
                st[0] = t
                break
            if recorded:
                out_loss[p] = loss
                out_gn[p] = gn
                for j in range(d):
                    out_x[p, j] = x[j]
{rec_tr}                p += 1
{gn_step}            if target != 0.0 and st[1] < 0.0:
                if {tval} <= abs(target):
                    st[1] = t
        if xmax > st[2]:
            st[2] = xmax
        if t == steps or stop:
            break
        xmax_before = max(xmax_before, xmax) if t > 0 else xmax
        {call(method.step)}
        xmax = _max_abs(x)
    while p < rec.shape[0]:
        out_loss[p] = np.nan
        out_gn[p] = np.nan
        out_x[p, :] = np.nan
        out_tr[p, :] = np.nan
        p += 1
{finals}

@njit(cache=True, nogil=True)
def batch_part(lo, hi, prob, n, dims, rho, hyper, x0, seeds, target, steps, rec, out_x, out_loss, out_gn, out_tr,
               out_st):
    """Configurations lo, ..., hi-1, one after another (without the GIL)."""
    for b in range(lo, hi):
        trajectory(prob, n, dims, rho, hyper[b], x0[b], seeds[b], target[b], steps, rec, out_x[b], out_loss[b],
                   out_gn[b], out_tr[b], out_st[b])


def batch(prob, n, dims, rho, hyper, x0, seeds, target, steps, rec, out_x, out_loss, out_gn, out_tr, out_st):
    """Every configuration, in parts on numba.get_num_threads() threads (one configuration per thread)."""
    args = (prob, n, dims, rho, hyper, x0, seeds, target, steps, rec, out_x, out_loss, out_gn, out_tr, out_st)
    m = hyper.shape[0]
    threads = min(get_num_threads(), m)
    if threads <= 1:
        batch_part(0, m, *args)
        return
    size = -(-m // (4 * threads))
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda lo: batch_part(lo, min(lo + size, m), *args), range(0, m, size)))
'''


def module_text(method, family, noise_name, names, kinds, every=False):
    """``(module name, text)`` of the kernel for this combination (nothing written or compiled)."""
    stubs = {k: getattr(oracle, k) for k in oracle.ORACLE_NAMES}
    roots = [fn for _, fn in method.pieces()] + [family.value, family.grad, healthy, norm]
    roots += [fn for _, fn in family.stats] + ([family.client_grad] if family.client_grad is not None else [])
    roots += [family.noises[noise_name]] if noise_name != "none" else []
    order, consts, modules = _collect(roots, stubs)
    taken = {d.py_func.__name__ for d in order} | set(consts)
    clash = sorted(taken & (set(_OWN) | set(oracle.ORACLE_NAMES)))
    if clash:
        raise TheoryBenchError(f"a piece or a constant the pieces read is named {clash[0]!r}, a name the vector "
                               "template or the oracle uses: rename it")
    parts = ["from concurrent.futures import ThreadPoolExecutor", "", "import numpy as np"]
    parts += (["import math"] if "math" in modules else []) + ["from numba import get_num_threads, njit", ""]
    parts += [f"{k} = {v}" for k, v in sorted(consts.items())]
    parts += ["", ""] + [_function_text(d) + "\n\n" for d in order]
    parts.append(_oracle_text(family, noise_name, names, stubs.get("used", set())))
    parts.append(f"# instance arrays (prob): {', '.join(f'{k} ({t})' for k, t in zip(names, kinds))}; sizes (dims): "
                 f"{', '.join(kinds[kinds.index('|') + 1:])}\n")
    parts.append(_template(method, family, names, kinds, every))
    body = "\n".join(parts)
    digest = hashlib.sha256(body.encode()).hexdigest()
    header = ("# Generated by theorybench.compose_vector; do not edit (the file name is the sha256 of the code "
              f"below).\n# method {method.name!r}: {method.step.py_func.__module__}.{method.step.py_func.__qualname__}"
              f"\n# family {family.name!r}, noise {noise_name!r}\n")
    return f"tbv_{digest[:40]}", header + body


def kernel(method, family, noise_name, names, kinds, cache_dir=None, every=False):
    """The composed kernel module for this combination (``every``: the gradient-norm statistics at every
    step): generated, written once, imported."""
    folder = Path(cache_dir) if cache_dir is not None else default_kernel_cache()
    key = (id(method), id(family), noise_name, names, kinds, str(folder), bool(every))
    with _LOCK:
        hit = _BY_KEY.get(key)
        if hit is not None and hit[0] is method and hit[1] is family:
            return hit[2]
        name, text = module_text(method, family, noise_name, names, kinds, every)
        mod = load_generated(name, text, folder)
        _BY_KEY[key] = (method, family, mod)  # the pieces stay alive while their ids are keys
        return mod


# ----------------------------------------------------------------------------------- the runner's side

def accepts(problem):
    """The vector template runs instances of a declared vector family."""
    return isinstance(problem, VectorProblem)


def _call_kernel(mod, method, family, names, kinds, *args):
    """``mod.batch(*args)``; a piece that does not type-check against the instance's arrays (a number where
    it indexes an array, ...) is reported with the layout, not as Numba's traceback."""
    from numba.core.errors import TypingError
    try:
        mod.batch(*args)
    except TypingError as e:
        first = next((ln for ln in str(e).splitlines() if ln.strip()), "")
        layout_text = ", ".join(f"{k} ({t})" for k, t in zip(names, kinds) if k != "|" and t != "|")
        raise TheoryBenchError(f"method {method.name!r} on family {family.name!r} does not compile for this "
                               f"instance's arrays [{layout_text}]: {first[:300]}") from None


def _safe_radius(family, problem):
    """``rho``: inside ``max_j |x_j| < rho`` the family guarantees |f|, ||grad f|| < 1e150, so the kernel
    evaluates them only where recorded or needed; 0 (evaluate every step) when the family declares none."""
    if family.safe_radius is None:
        return 0.0
    rho = float(family.safe_radius(problem))
    return min(max(rho, 0.0), 1e150) if rho == rho else 0.0


def _dims(problem):
    """The instance's sizes in the order of ``layout`` (an int64 array: ``dims[k]`` in the kernel)."""
    return np.asarray([int(problem.dims[k]) for k in sorted(problem.dims)], dtype=np.int64)


def stat_names(method):
    return BASE_STATS + tuple(s for s, _ in method.stats)


def stat_names_for(alg):
    """The statistics of the vector algorithm ``alg`` (the runner checks ``stats=`` against them)."""
    from .declare import get_vector_method
    return stat_names(get_vector_method(alg.name))


def _distinct_settings(method, settings):
    """The distinct combinations of the method's hyperparameter values in ``settings`` (a sweep's grid:
    the product of its axes, never one per configuration)."""
    from .runner import GridSettings
    names = [p.name for p in method.params]
    if isinstance(settings, GridSettings):
        base = {k: settings.base.get(k) for k in names}
        axes = [(k, vals) for k, vals, _ in settings.axes if k in base]
        out = []
        for vals in itertools.product(*(dict.fromkeys(v) for _, v in axes)):
            out.append({**base, **dict(zip((k for k, _ in axes), vals))})
        return out
    seen = {}
    for st in settings:
        combo = {k: st.get(k) for k in names}
        seen.setdefault(tuple(combo.items()), combo)
    return list(seen.values())


def run_batch_group(alg, problems, settings, seeds, rounds, rec, x0s, targets, backend, extra, cache_dir=None,
                    stats="all"):
    """The runner's hook (``runner._run_batch``): one kernel call per distinct instance. Returns ``(rec, x,
    loss, grad_norm, stats)``; ``extra`` gets ``traces`` (the family's and the method's statistics) and
    ``stat_names``. ``stats``: the statistics needed; the gradient-norm ones (``GN_STATS``) are computed
    only when named here (``"all"`` leaves them out: a full gradient per step would double the cost of a
    stochastic method)."""
    targets_in = np.zeros(len(problems)) if targets is None else np.asarray(targets, dtype=np.float64)
    # a negative target asks for the early stop at the first running-average crossing: it needs ||grad f||
    # at every step, as in the other kernels
    every = (not isinstance(stats, str) and bool(set(stats) & GN_STATS)) or bool((targets_in < 0).any())
    from .declare import get_vector_method
    from .runner import _distinct
    method = get_vector_method(alg.name)
    if backend != "numba":
        raise TheoryBenchError(f"backend {backend!r} does not cover the vector-template method {alg.name!r}; use "
                               "backend='numba'")
    objs, where = _distinct(problems)
    n, nrec = len(problems), np.asarray(rec).size
    rec = np.ascontiguousarray(rec, dtype=np.int64)
    fam0 = get_vector_family(objs[0].family_name)
    tr_names = [s for s, _ in fam0.stats] + [s for s, _ in method.stats]
    d = max(p.dim for p in objs)
    out_x = np.full((n, nrec, d), np.nan)
    out_loss = np.full((n, nrec), np.nan)
    out_g = np.full((n, nrec), np.nan)
    out_tr = np.full((n, nrec, len(tr_names)), np.nan)
    out_s = np.zeros((n, len(BASE_STATS) + len(method.stats)))
    hyper_all = pack_all(method, settings, engine_codes=False)
    seeds_all = np.asarray(seeds, dtype=np.int64)
    targets = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=np.float64), (n,))
    combos = _distinct_settings(method, settings) if method.check is not None else ()
    for u, prob in enumerate(objs):
        fam = get_vector_family(prob.family_name)
        why = fam.misfit(prob) or method.misfit(prob)
        if why:
            raise TheoryBenchError(why)
        method.check_values(prob, combos)
        if [s for s, _ in fam.stats] != [s for s, _ in fam0.stats]:
            raise TheoryBenchError("a batch of the vector template takes instances of one family")
        both = sorted({s for s, _ in fam.stats} & {s for s, _ in method.stats})
        if both:
            raise TheoryBenchError(f"method {method.name!r} and family {fam.name!r} both declare the statistic(s) "
                                   f"{both}: rename the method's")
        idx = np.flatnonzero(where == u) if len(objs) > 1 else np.arange(n)
        names, kinds = layout(prob)
        mod = kernel(method, fam, prob.noise, names, kinds, cache_dir, every)
        if x0s is None:
            x0 = np.broadcast_to(prob.x0, (idx.size, prob.dim))
        else:
            x0 = np.stack([np.asarray(x0s[c], dtype=np.float64).reshape(prob.dim) for c in idx])
        whole = len(objs) == 1 and prob.dim == d
        ox = out_x if whole else np.full((idx.size, nrec, prob.dim), np.nan)
        ol, og = (out_loss, out_g) if whole else (np.full((idx.size, nrec), np.nan), np.full((idx.size, nrec), np.nan))
        ot = out_tr if whole else np.full((idx.size, nrec, len(tr_names)), np.nan)
        os_ = out_s if whole else np.zeros((idx.size, out_s.shape[1]))
        _call_kernel(mod, method, fam, names, kinds, tuple(prob.arrays[k] for k in names), int(prob.n_clients), _dims(prob), _safe_radius(fam, prob),
                  np.ascontiguousarray(hyper_all[idx]), np.ascontiguousarray(x0), np.ascontiguousarray(seeds_all[idx]),
                  np.ascontiguousarray(targets[idx], dtype=np.float64), int(rounds), rec, ox, ol, og, ot, os_)
        if not whole:
            out_x[idx, :, :prob.dim] = ox
            out_loss[idx], out_g[idx], out_tr[idx], out_s[idx] = ol, og, ot, os_
    extra["stat_names"] = stat_names(method)
    extra["traces"] = {k: out_tr[:, :, j] for j, k in enumerate(tr_names)}
    return rec, out_x, out_loss, out_g, out_s


STAT_NAMES = BASE_STATS
TAKES_GRIDS = True  # run_batch_group takes GridSettings / GridProblems / a seed array as they are
SLOTS = ()
DEFAULTS = {}
