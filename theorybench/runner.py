"""``run`` (one trajectory) and ``sweep`` (a labelled grid computed in parallel).

Both go through :func:`run_batch`, which packs configurations into arrays and calls the algorithm's
``prange`` kernel once per group of configurations with the same problem shape."""
import itertools
import math

import numpy as np

from .algorithms import get_algorithm, kernel_module
from .errors import TheoryBenchError
from .interrupt import interruptible
from .params import check_seed, seed_list as seed_list_
from .kernels.common import N_STATS, STAT_NAMES
from .problem import make_problem
from .results import NamedStats, RunResult, SweepResult

MAX_DENSE_RECORD = 2001


def record_schedule(rounds, points=200, dense_up_to=MAX_DENSE_RECORD):
    """Rounds at which the trace is recorded: every round when ``rounds + 1 <= dense_up_to``,
    else about ``points`` log-spaced rounds; always includes 0 and ``rounds``."""
    if rounds + 1 <= dense_up_to:
        return np.arange(rounds + 1, dtype=np.int64)
    r = np.unique(np.round(np.logspace(0, math.log10(rounds), points)).astype(np.int64))
    return np.unique(np.concatenate([[0], r, [rounds]])).astype(np.int64)


SWEEP_RECORD_POINTS = 64


def sweep_record_schedule(rounds, points=SWEEP_RECORD_POINTS):
    """A sweep's default record schedule: about ``points`` log-spaced rounds, always 0 and ``rounds``
    (every round when ``rounds + 1 <= points``). Memory then grows with the number of configurations,
    not with the horizon; pass ``record=`` for a denser trace."""
    return record_schedule(rounds, points=points, dense_up_to=points)


# a batch whose output arrays would exceed this many bytes is refused before it starts (override with
# ``max_memory=`` or the environment variable THEORYBENCH_MAX_MEMORY, in bytes)
DEFAULT_MAX_MEMORY = 4 * 2**30


def _env_limit(name, default, unit, allow_inf=False):
    """A positive limit from the environment variable ``name`` (else ``default``); bad text is refused."""
    import os
    text = os.environ.get(name)
    if text is None:
        return default
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value > 0 and (allow_inf or math.isfinite(value))):
        raise TheoryBenchError(f"{name} must be a positive number of {unit}, got {text!r}")
    return value


def max_memory_default():
    return _env_limit("THEORYBENCH_MAX_MEMORY", DEFAULT_MAX_MEMORY, "bytes")


def output_bytes(n_configs, n_records, dim, n_traces=0):
    """Bytes of the result arrays of a batch: x (d per record), loss, grad_norm, steps and extra traces
    per record, per configuration."""
    return 8 * int(n_configs) * int(n_records) * (int(dim) + 3 + int(n_traces))


def check_memory(n_configs, n_records, dim, max_memory=None, n_traces=0):
    """Refuse, before any allocation, a batch whose recorded trace would not fit in ``max_memory`` bytes."""
    limit = max_memory_default() if max_memory is None else max_memory
    need = output_bytes(n_configs, n_records, dim, n_traces)
    if need > limit:
        raise TheoryBenchError(
            f"this batch would record {n_configs} configurations x {n_records} rounds x {dim + 3 + n_traces} "
            f"values = {need / 2**30:.2f} GiB, above the limit of {limit / 2**30:.2f} GiB: record fewer rounds "
            "(record=[...] or the CLI's --final-only), split the grid into chunks (executor=...), or raise "
            "max_memory= (THEORYBENCH_MAX_MEMORY)")
    return need


def _check_rounds(rounds, name="rounds"):
    import numbers
    if (isinstance(rounds, bool) or type(rounds).__name__ == "bool_" or not isinstance(rounds, numbers.Real)
            or not math.isfinite(rounds) or int(rounds) != rounds or rounds < 0):
        raise TheoryBenchError(f"parameter {name!r} must be a non-negative integer, got {rounds!r}")
    return int(rounds)


# a job of more than this many client steps (configurations x rounds x local steps x clients per round) is
# refused before it starts unless max_work= is raised (math.inf: no limit; the CLI's --allow-long) or the
# environment variable THEORYBENCH_MAX_WORK sets another limit. A client step costs about 3-50 ns in the
# kernels (measured here), so the limit is minutes to about ten minutes of work; every claim at --full
# stays below a tenth of it (the largest, AS-1's rate runs: 10 seeds x 2e4 rounds x 2560 local steps)
DEFAULT_MAX_WORK = 10**10
LONG_WORK = 10**9  # above this many client steps the estimate is logged (the CLI prints it)


def max_work_default():
    return _env_limit("THEORYBENCH_MAX_WORK", DEFAULT_MAX_WORK, "client steps", allow_inf=True)


def work_estimate(problems, settings, rounds):
    """The work of a batch in client steps: the sum over configurations of rounds x ``local_steps`` x
    the clients that step each round (``clients_per_round``, else all of the problem's clients)."""
    if isinstance(settings, GridSettings):  # a sweep: by columns (exact below 2**53 client steps)
        objs, where = _distinct(problems)
        n_cl = np.asarray([p.n_clients for p in objs], dtype=np.float64)[where]
        S = settings.column("clients_per_round", 0, dtype=np.float64)
        I = settings.column("local_steps", 1, dtype=np.float64)
        return int(rounds) * int(np.sum(I * np.where(S > 0, S, n_cl)))
    total = 0
    for p, st in zip(problems, settings):
        clients = st.get("clients_per_round", 0) or p.n_clients
        total += int(rounds) * int(st.get("local_steps", 1)) * int(clients)
    return total


def check_work(work, max_work=None, detail=""):
    """Refuse, before it starts, a job of more than ``max_work`` client steps (default
    :data:`DEFAULT_MAX_WORK` or THEORYBENCH_MAX_WORK); log the estimate of a long one (above
    :data:`LONG_WORK`) on the ``theorybench`` logger, which the CLI prints. Returns ``work``."""
    limit = max_work_default() if max_work is None else max_work
    if not (isinstance(limit, (int, float)) and not isinstance(limit, bool) and limit > 0):
        raise TheoryBenchError(f"parameter 'max_work' must be a positive number of client steps (math.inf: "
                               f"no limit), got {max_work!r}")
    text = f"about {work:.3g} client steps" + (f" ({detail})" if detail else "")
    if work > limit:
        raise TheoryBenchError(
            f"this job is {text}, above the limit of {limit:.3g}: shorten it (fewer rounds, local steps, seeds "
            "or grid values), or allow it: the CLI's --allow-long, max_work=math.inf in Python, or "
            "THEORYBENCH_MAX_WORK")
    if work > LONG_WORK:
        import logging
        logging.getLogger("theorybench").info(f"long job: {text}")
    return work


def _record_rounds(record, rounds):
    """The record schedule asked for: integers in [0, rounds] (a fraction is refused, not truncated)."""
    try:
        r = np.asarray(record, dtype=np.float64)
    except (TypeError, ValueError):
        raise TheoryBenchError(f"parameter 'record' must be a list of rounds (integers in [0, {rounds}]), "
                               f"got {record!r}") from None
    if r.ndim > 1 or not np.isfinite(r).all() or (r != np.round(r)).any():
        raise TheoryBenchError(f"parameter 'record' must be a list of rounds (integers in [0, {rounds}]), "
                               f"got {np.asarray(record).tolist()!r:.200}")
    if r.size and (r.min() < 0 or r.max() > rounds):
        raise TheoryBenchError(f"record rounds must lie in [0, {rounds}]")
    full = np.concatenate([[0], r.reshape(-1).astype(np.int64), [rounds]])
    step = np.diff(full)
    if (step >= 0).all():  # already sorted (every step recorded, a log schedule): no sort
        return full[np.concatenate([[True], step > 0])]
    return np.unique(full)


class GridSettings:
    """The validated settings of a sweep's configurations without one dict per configuration: ``base``
    (the resolved fixed settings) with ``axes[j] = (name, validated values, axis position)`` varying over
    the grid ``shape`` (C order, the last axis fastest). Behaves as a read-only list of dicts (``len``,
    indexing, slicing, iteration build them on demand); :meth:`column` gives one setting for every
    configuration as an array by broadcasting, so packing a sweep costs no Python per configuration."""

    def __init__(self, base, axes, shape):
        self.base, self.axes, self.shape = dict(base), list(axes), tuple(shape)
        self.n = math.prod(self.shape)
        self._columns = {}

    def __len__(self):
        return self.n

    def __getitem__(self, c):
        if isinstance(c, slice):
            return [self[i] for i in range(*c.indices(self.n))]
        c = int(c)
        if c < 0:
            c += self.n
        if not 0 <= c < self.n:
            raise IndexError(c)
        out = dict(self.base)
        if self.axes:
            pos = np.unravel_index(c, self.shape)
            for name, vals, ax in self.axes:
                out[name] = vals[pos[ax]]
        return out

    def __iter__(self):
        return (self[c] for c in range(self.n))

    def values_of(self, name, default=None):
        """``(axis position, values)`` when ``name`` varies along an axis, else ``(None, [value])``."""
        for k, vals, ax in self.axes:
            if k == name:
                return ax, vals
        return None, [self.base.get(name, default)]

    def column(self, name, default=None, convert=None, dtype=None):
        """``name`` for every configuration (``convert`` maps each distinct value first), shape ``(n,)``."""
        key = (name, default, convert, dtype)
        col = self._columns.get(key)
        if col is None:
            ax, vals = self.values_of(name, default)
            vals = [convert(v) for v in vals] if convert is not None else vals
            small = np.asarray(vals, dtype=dtype)
            if ax is None:
                col = np.full(self.n, small[0], dtype=small.dtype)
            else:
                inner = math.prod(self.shape[ax + 1:])
                col = np.tile(np.repeat(small, inner), self.n // (inner * len(vals)))
            col.flags.writeable = False  # shared by every caller
            self._columns[key] = col
        return col


def setting_column(settings, name, default, dtype=None):
    """One setting of every configuration as an array (:meth:`GridSettings.column`, else one per dict)."""
    if isinstance(settings, GridSettings):
        return settings.column(name, default, dtype=dtype)
    return np.asarray([st.get(name, default) for st in settings], dtype=dtype)


class GridProblems(list):
    """The problems of a sweep's configurations (a list) that also knows them by index: ``distinct``
    (each built once) and ``where[c]`` (configuration ``c``'s position in ``distinct``)."""

    def __init__(self, distinct, where):
        self.distinct = list(distinct)
        self.where = np.asarray(where, dtype=np.int64)
        super().__init__(self.distinct[i] for i in self.where.tolist())


def _distinct(problems):
    """``(distinct problem objects, where)`` with ``problems[c] is distinct[where[c]]``."""
    if isinstance(problems, GridProblems):
        return problems.distinct, problems.where
    uniq, objs = {}, []
    where = np.empty(len(problems), dtype=np.int64)
    for c, p in enumerate(problems):
        u = uniq.get(id(p))
        if u is None:
            u = uniq[id(p)] = len(objs)
            objs.append(p)
        where[c] = u
    return objs, where


def run_batch(algorithm, problems, settings, seeds, rounds, x0s=None, record=None, targets=None,
              backend="numba", executor=None, chunks=None, extra=None, max_memory=None, stats="all"):
    """Run configuration ``c`` = (``problems[c]``, ``settings[c]`` (validated dict), ``seeds[c]``,
    ``x0s[c]``) for ``rounds`` rounds. ``targets[c]``: the gradient-norm level whose first crossing is
    recorded as the statistic ``first_below_target`` (default 0). Returns ``(rec_rounds, x, loss,
    grad_norm, stats)`` with a leading configuration axis; ``stats`` is a :class:`NamedStats`
    (``stats["diverged_round"]`` is one column). backend: ``"numba"`` (the kernels), or
    ``"numpy"`` / ``"cupy"`` (the federated methods as one array program, see
    ``theorybench.backends.array``). executor: ``None`` (in process), a Dask distributed ``Client`` or a
    ``concurrent.futures`` executor: the configurations are cut into ``chunks`` pieces (default: 4 per
    worker) that run where the executor sends them; each configuration's numbers are the same as in
    process (the random streams depend on the seed only).
    A kernel module with its own problem layout provides ``run_batch_group(alg, problems, settings,
    seeds, rounds, rec, x0s, targets, backend, extra)`` returning the same tuple; its statistics are named
    by its ``STAT_NAMES``. extra: a dict that such a hook fills with ``traces`` (named per-record arrays
    beyond loss and grad_norm) and ``stat_names``. max_memory: bytes the recorded arrays may take (see
    :func:`check_memory`); a larger batch is refused before it starts. stats: ``"all"`` or the names of the
    running statistics needed (checked against the kernel's); a composed kernel then evaluates f and
    ||grad f|| only where they are recorded or a requested statistic needs them (the others come back NaN;
    see ``theorybench.compose``), the other kernels compute them all.
    """
    extra = {} if extra is None else extra
    if executor is not None:
        settings = list(settings) if isinstance(settings, GridSettings) else settings
        out = _run_distributed(executor, chunks, algorithm, problems, settings, seeds, rounds, x0s, record,
                               targets, backend, extra, stats)
    else:
        out = _run_batch(algorithm, problems, settings, seeds, rounds, x0s, record, targets, backend, extra,
                         max_memory, stats)
    alg = get_algorithm(algorithm)
    if problems and len(_variants(alg)) > 1:
        alg = algorithm_for(alg, problems[0])
    names = extra.get("stat_names") or getattr(kernel_module(alg.kernel), "STAT_NAMES", STAT_NAMES)
    return out[:4] + (NamedStats(out[4], names),)


def _check_stats(stats, kmod, alg):
    if isinstance(stats, str):
        if stats != "all":
            raise TheoryBenchError(f"parameter 'stats' must be 'all' or a list of statistic names, got {stats!r}")
        return
    known = kmod.stat_names_for(alg) if hasattr(kmod, "stat_names_for") else getattr(kmod, "STAT_NAMES",
                                                                                      STAT_NAMES)
    bad = sorted(set(stats) - set(known))
    if bad:
        raise TheoryBenchError(f"unknown statistic(s) {bad} in 'stats'; this kernel has {', '.join(known)}")


def _run_batch(algorithm, problems, settings, seeds, rounds, x0s, record, targets, backend, extra, max_memory,
               stats="all"):
    alg = get_algorithm(algorithm)
    if problems and len(_variants(alg)) > 1:
        alg = algorithm_for(alg, problems[0])
    kmod = kernel_module(alg.kernel)
    _check_stats(stats, kmod, alg)
    rounds = _check_rounds(rounds)
    rec = record_schedule(rounds) if record is None else _record_rounds(record, rounds)
    if rec.min() < 0 or rec.max() > rounds:
        raise TheoryBenchError(f"record rounds must lie in [0, {rounds}]")
    n = len(problems)
    objs, where = _distinct(problems)
    check_memory(n, rec.size, max((p.dim for p in objs), default=1), max_memory)
    if not (len(settings) == len(seeds) == n):
        raise ValueError("problems, settings and seeds must have the same length")
    if isinstance(seeds, np.ndarray) and seeds.dtype == np.int64 and seeds.ndim == 1:
        if (seeds < 0).any():  # int64 already: only the sign can be wrong
            check_seed(int(seeds[np.flatnonzero(seeds < 0)[0]]))
    else:
        seeds = [check_seed(s) for s in seeds]  # int64 for the kernels: refused, never wrapped or truncated
    if isinstance(settings, GridSettings):
        S = settings.column("clients_per_round", 0)
        cap = np.asarray([p.n_clients for p in objs])[where]
        bad = np.flatnonzero((S != 0) & (S > cap)) if S.dtype != object else \
            np.asarray([c for c in range(n) if S[c] and S[c] > cap[c]], dtype=np.int64)
        if bad.size:
            p, S = problems[bad[0]], S[bad[0]]
            raise TheoryBenchError(f"parameter 'clients_per_round' must be in [0, {p.n_clients}] for problem "
                                   f"{p.name!r} ({p.n_clients} clients), got {S}")
    else:
        for p, st in zip(problems, settings):
            S = st.get("clients_per_round", 0)
            if S and S > p.n_clients:
                raise TheoryBenchError(f"parameter 'clients_per_round' must be in [0, {p.n_clients}] for problem "
                                       f"{p.name!r} ({p.n_clients} clients), got {S}")
    accepts = getattr(kmod, "accepts", _family_problem)
    for p in objs:
        if not accepts(p):
            from .algorithms import VARIANTS
            fits = sorted({a.name for vs in VARIANTS.values() for a in vs
                           if getattr(kernel_module(a.kernel), "accepts", _family_problem)(p)})
            raise TheoryBenchError(f"algorithm {alg.name!r} cannot run problem {p.name!r}; algorithms for it: "
                                   f"{', '.join(fits) or 'none'}")
    from . import compose
    if compose.routed(alg, problems, backend):  # a library method with declared pieces: its composed kernel
        return interruptible(compose.run_batch_group, alg, problems, settings, seeds, rounds, rec, x0s, targets,
                             backend, extra, stats)
    if getattr(kmod, "TAKES_GRIDS", False):  # a hook that takes the sweep's grids as they are (no per-config lists)
        return interruptible(kmod.run_batch_group, alg, problems, settings, seeds, rounds, rec, x0s, targets,
                             backend, extra, stats=stats)
    # the other kernels take one dict, seed and start per configuration
    settings = list(settings) if isinstance(settings, GridSettings) else settings
    seeds = seeds.tolist() if isinstance(seeds, np.ndarray) else seeds
    x0s = [p.x0 for p in problems] if x0s is None else x0s
    if hasattr(kmod, "run_batch_group"):
        import inspect
        kw = {"stats": stats} if "stats" in inspect.signature(kmod.run_batch_group).parameters else {}
        return interruptible(kmod.run_batch_group, alg, problems, settings, seeds, rounds, rec, x0s, targets,
                             backend, extra, **kw)
    dims = {p.dim for p in problems}
    d = max(dims)
    out_x = np.full((n, rec.size, d), np.nan)
    out_loss = np.full((n, rec.size), np.nan)
    out_g = np.full((n, rec.size), np.nan)
    out_s = np.zeros((n, N_STATS))
    targets = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=np.float64), (n,))
    groups = {}
    for c, p in enumerate(problems):
        groups.setdefault((p.params.shape, p.dim, p.family, p.noise_code), []).append(c)
    for (pshape, dim, family, ncode), idx in groups.items():
        idx = np.asarray(idx)
        params = np.stack([problems[c].params for c in idx])
        hyper = np.stack([alg.pack(settings[c]) for c in idx])
        x0 = np.stack([np.asarray(x0s[c], dtype=np.float64).reshape(dim) for c in idx])
        sd = np.asarray([seeds[c] for c in idx], dtype=np.int64)
        if (sd < 0).any():
            raise TheoryBenchError("parameter 'seed' must be a non-negative integer")
        ns = np.asarray([problems[c].sigma for c in idx], dtype=np.float64)
        nm = np.stack([problems[c].noise_mask for c in idx])
        tg = np.ascontiguousarray(targets[idx])
        whole = len(groups) == 1 and dim == d  # the kernel writes straight into the result (no second copy)
        ox = out_x if whole else np.empty((idx.size, rec.size, dim))
        ol = out_loss if whole else np.empty((idx.size, rec.size))
        og = out_g if whole else np.empty((idx.size, rec.size))
        os_ = out_s if whole else np.empty((idx.size, N_STATS))
        if backend == "numba":
            interruptible(kmod.batch, alg.code, family, params, hyper, x0, sd, ncode, ns, nm, tg, rounds, rec,
                          ox, ol, og, os_)
        else:
            from .backends import array as ab
            if alg.kernel != "federated":
                raise TheoryBenchError(f"backend {backend!r} runs the federated methods only; "
                                       f"{alg.name!r} needs backend='numba'")
            ox, ol, og, os_ = ab.federated_batch(ab.namespace(backend), alg.code, family, params, hyper, x0, sd,
                                                 ncode, ns, nm, tg, rounds, rec)
        if ox is not out_x:
            out_x[idx, :, :dim] = ox
            out_loss[idx] = ol
            out_g[idx] = og
            out_s[idx] = os_
    return rec, out_x, out_loss, out_g, out_s


def _variants(alg):
    from .algorithms import VARIANTS
    return VARIANTS.get(alg.name, [alg])


def algorithm_for(algorithm, problem):
    """The algorithm named ``algorithm`` in the variant whose kernel runs ``problem`` (one name, several
    kernels: ``gd``); the registered default when none accepts it (``run_batch`` then says which do)."""
    from .algorithms import VARIANTS
    alg = get_algorithm(algorithm)
    for a in VARIANTS.get(alg.name, []):
        if getattr(kernel_module(a.kernel), "accepts", _family_problem)(problem):
            return a
    return alg


def _family_problem(problem):
    """Kernels built on ``theorybench.families`` run the problems whose family they evaluate."""
    from .families import FAMILY_NAMES
    return problem.family in FAMILY_NAMES and not hasattr(problem, "Z")


def _run_chunk(algorithm, problems, settings, seeds, rounds, x0s, record, targets, backend, stats="all"):
    """One chunk of :func:`_run_distributed`: ``run_batch``'s tuple, then the named traces and statistics."""
    ex = {}
    out = run_batch(algorithm, problems, settings, seeds, rounds, x0s, record, targets, backend, extra=ex,
                    stats=stats)
    return out + ({"traces": ex.get("traces", {}), "stat_names": tuple(out[4].names)},)


def _run_distributed(executor, chunks, algorithm, problems, settings, seeds, rounds, x0s, record, targets,
                     backend, extra=None, stats="all"):
    """Cut the configurations into chunks, run them on ``executor``, concatenate in order (the named traces
    and the statistics' names go into ``extra``, as in process)."""
    from .executors import check_executor
    check_executor(executor)  # a ProcessPoolExecutor that forks is refused, with the fix (spawn)
    n = len(problems)
    if chunks is None:
        try:
            workers = len(executor.scheduler_info()["workers"])  # dask.distributed
        except AttributeError:
            workers = getattr(executor, "_max_workers", 2)
        chunks = 4 * max(1, workers)
    bounds = np.linspace(0, n, min(max(1, int(chunks)), n) + 1).astype(int)
    name = get_algorithm(algorithm).name
    tg = np.zeros(n) if targets is None else np.broadcast_to(np.asarray(targets, dtype=float), (n,))
    args = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        args.append((name, problems[a:b], settings[a:b], list(seeds[a:b]), rounds,
                     None if x0s is None else list(x0s[a:b]), record, tg[a:b], backend, stats))
    if hasattr(executor, "gather"):  # dask.distributed.Client
        futures = [executor.submit(_run_chunk, *a, pure=False) for a in args]
        parts = executor.gather(futures)
    else:  # concurrent.futures.Executor
        parts = list(executor.map(_run_chunk, *zip(*args)))
    rec = parts[0][0]
    d = max(p[1].shape[2] for p in parts)
    x = np.full((n, rec.size, d), np.nan)
    pos = 0
    for p in parts:
        x[pos:pos + p[1].shape[0], :, :p[1].shape[2]] = p[1]
        pos += p[1].shape[0]
    if extra is not None:
        extra["stat_names"] = parts[0][5]["stat_names"]
        if parts[0][5]["traces"]:
            extra["traces"] = {k: np.concatenate([p[5]["traces"][k] for p in parts]) for k in parts[0][5]["traces"]}
    return (rec, x, np.concatenate([p[2] for p in parts]), np.concatenate([p[3] for p in parts]),
            np.concatenate([np.asarray(p[4]) for p in parts]))


def _rounds_from(rounds, steps, local_steps):
    if (rounds is None) == (steps is None):
        raise TheoryBenchError("give exactly one of 'rounds' (communication rounds) or 'steps'")
    if rounds is not None:
        return _check_rounds(rounds)
    steps = _check_rounds(steps, "steps")
    if steps % local_steps:
        raise TheoryBenchError(f"'steps' ({steps}) must be a multiple of local_steps ({local_steps}) "
                               "for a federated method; or give 'rounds'")
    return steps // local_steps


def run(problem, algorithm, *, rounds=None, steps=None, x0=None, seed=0, record=None,
        problem_settings=None, target=0.0, backend="numba", max_work=None, stats="all", **hyper):
    """One trajectory of ``algorithm`` on ``problem``.

    problem: a registered name (built with ``problem_settings``) or a :class:`Problem`;
    hyper: the algorithm's hyperparameters (defaults are the paper's); rounds: communication rounds
    of ``local_steps`` steps each (or ``steps`` in total); x0: start (default: the problem's);
    seed: an integer in [0, 2**63 - 1]; max_work: the most client steps (rounds x local steps x clients)
    the run may take (default :data:`DEFAULT_MAX_WORK`; ``math.inf``: no limit), see :func:`check_work`.
    stats: ``"all"`` or the running statistics needed (:func:`run_batch`).
    Ctrl-C stops :func:`run`, :func:`sweep` and :func:`run_batch` at once with ``KeyboardInterrupt``
    (:class:`theorybench.interrupt.Interrupted`); a compiled kernel then finishes in a background thread.
    """
    _no_settings_for_object(problem, problem_settings=problem_settings)
    prob = make_problem(problem, **_settings_dict(problem_settings, "problem_settings"))
    alg = algorithm_for(algorithm, prob)
    settings = alg.resolve(hyper)
    seed = check_seed(seed)
    I = settings.get("local_steps", 1)
    R = _rounds_from(rounds, steps, I)
    check_work(work_estimate([prob], [settings], R), max_work, f"{R} rounds x {I} local steps x "
               f"{settings.get('clients_per_round', 0) or prob.n_clients} clients")
    x0 = prob.x0 if x0 is None else _start(x0, prob)
    target = _check_target(target)
    extra = {}
    rec, x, loss, g, s = run_batch(alg, [prob], [settings], [seed], R, [x0], record, [target], backend,
                                   extra=extra, stats=stats)
    names, s = s.names, np.asarray(s)
    return RunResult(prob.name, alg.name, settings, dict(prob.settings), int(seed), rec, rec * I,
                     x[0, :, :prob.dim], loss[0], g[0], dict(zip(names, s[0].tolist())),
                     traces={k: v[0] for k, v in extra.get("traces", {}).items()})


def _start(x0, prob):
    try:
        if isinstance(x0, (str, bytes)) or any(isinstance(v, bool) for v in np.ravel(np.asarray(x0, dtype=object))):
            raise TypeError
        x0 = np.atleast_1d(np.asarray(x0, dtype=np.float64))
    except (TypeError, ValueError, OverflowError):
        raise TheoryBenchError(f"parameter 'x0' must be {_numbers(prob.dim)}, got {x0!r:.200}") from None
    if x0.shape != (prob.dim,) or not np.isfinite(x0).all():
        raise TheoryBenchError(f"parameter 'x0' must be {_numbers(prob.dim)}, got {x0.tolist()!r:.200}")
    return x0


def _numbers(d):
    return "1 finite number" if d == 1 else f"{d} finite numbers"


def _no_settings_for_object(problem, **given):
    """A :class:`Problem` object is built already: settings for it would be ignored, so they are refused."""
    from .problem import Problem
    named = [k for k, v in given.items() if v]
    if isinstance(problem, Problem) and named:
        raise TheoryBenchError(
            f"{', '.join(named)} cannot apply to a Problem object ({problem.name!r} is built already): pass the "
            f"registered name {problem.name!r} with {named[0]}=..., or build the problem with those settings")


def _settings_dict(value, name):
    if value is None:
        return {}
    if not hasattr(value, "items"):
        raise TheoryBenchError(f"parameter {name!r} must be a dict {{name: value}}, got {value!r:.200}")
    return dict(value)


def _axes(value, name):
    """A sweep's ``{name: values}``: each values a non-empty list (not a string or a single number)."""
    out = {}
    for k, v in _settings_dict(value, name).items():
        if isinstance(v, (str, bytes)) or not hasattr(v, "__iter__"):
            raise TheoryBenchError(f"sweep axis {k!r} ({name}) must be a list of values, got {v!r:.200}; "
                                   "a single value is held fixed instead")
        v = list(v)
        if not v:
            raise TheoryBenchError(f"sweep axis {k!r} has no values")
        out[k] = v
    return out


def _check_target(target):
    import numbers
    if isinstance(target, bool) or not isinstance(target, numbers.Real) or not math.isfinite(target):
        raise TheoryBenchError(f"parameter 'target' (a gradient-norm level; negative: |target| for the running "
                               f"average) must be a finite number, got {target!r:.200}")
    return float(target)


def sweep(problem, algorithm, grid=None, problem_grid=None, *, tied_grid=None, seeds=1, rounds=None,
          steps=None, x0=None, record=None, problem_settings=None, target=0.0, backend="numba", executor=None,
          max_memory=None, max_work=None, progress=False, stats="all", **fixed):
    """A grid of runs with named axes, computed in parallel.

    grid: ``{hyperparameter: values}``; problem_grid: ``{problem parameter: values}`` (a problem axis
    that shares its name with one of the algorithm's hyperparameters or with ``seed`` is called ``problem_<name>``); seeds: a count or a list;
    tied_grid: ``{name: values}`` set both as the problem parameter and as the hyperparameter ``name``
    (the two-client quadratic built for the clipping gamma it is run with); target: a gradient-norm
    level (or ``target(problem, settings)``) whose first crossing is the statistic
    ``first_below_target``; backend, executor: see :func:`run_batch` (a Dask ``Client`` spreads a sweep
    too large for one machine over a cluster); record: the rounds to record (default
    :func:`sweep_record_schedule`: about 64 log-spaced rounds with 0 and the last, so memory does not grow
    with the horizon; running statistics such as ``first_below_target`` see every round anyway);
    max_memory: bytes the recorded arrays may take (default 4 GiB or THEORYBENCH_MAX_MEMORY), a larger
    sweep is refused before it starts; max_work: the most client steps (configurations x rounds x local
    steps x clients) it may take (default :data:`DEFAULT_MAX_WORK`; ``math.inf``: no limit), see
    :func:`check_work`; progress: a bar with elapsed time and ETA on stderr (``None``: when stderr is a
    terminal; ``theorybench.progress``); stats: ``"all"`` or the running statistics needed (a composed
    kernel then skips f and ||grad f|| on unrecorded rounds, :func:`run_batch`); fixed: hyperparameters held fixed (a name may not be an axis). Axes are in
    the order problem_grid, tied_grid, grid, then ``seed``.
    """
    alg = get_algorithm(algorithm)
    _no_settings_for_object(problem, problem_settings=problem_settings, problem_grid=problem_grid,
                            tied_grid=tied_grid)
    problem_settings = _settings_dict(problem_settings, "problem_settings")
    grid, problem_grid, tied_grid = (_axes(grid, "grid"), _axes(problem_grid, "problem_grid"),
                                     _axes(tied_grid, "tied_grid"))
    for where, given, axes in (("held fixed (keyword)", fixed, {**grid, **tied_grid}),
                               ("in problem_settings", problem_settings, {**problem_grid, **tied_grid})):
        both = sorted(set(given) & set(axes))
        if both:  # the axis would silently override the fixed value
            raise TheoryBenchError(f"{', '.join(map(repr, both))} given both as a sweep axis and {where}: "
                                   "give each parameter once")
    if len(_variants(alg)) > 1:
        alg = algorithm_for(alg, make_problem(problem, **{**problem_settings, **{
            k: v[0] for k, v in {**problem_grid, **tied_grid}.items()}}))
    seed_list = seed_list_(seeds)
    n_conf = math.prod(len(v) for v in [*problem_grid.values(), *tied_grid.values(), *grid.values()]) \
        * len(seed_list)
    # before the configurations are built: a lower bound (one client, one local step each)
    R_lb = max(1, _check_rounds(rounds) if rounds is not None else 1)
    check_work(n_conf * R_lb, max_work, f"at least {n_conf} configurations x {R_lb} rounds")
    seed_list = list(seed_list)
    names = [("p", k) for k in problem_grid] + [("t", k) for k in tied_grid] + [("a", k) for k in grid]
    values = ([list(problem_grid[k]) for k in problem_grid] + [list(tied_grid[k]) for k in tied_grid]
              + [list(grid[k]) for k in grid])
    for (_, k), v in zip(names, values):
        if len(v) == 0:
            raise TheoryBenchError(f"sweep axis {k!r} has no values")
    hyper_names = {p.name for p in alg.params}
    taken = hyper_names | {"seed"}  # a problem parameter named like a hyperparameter or the seed axis
    dims = [f"problem_{k}" if (src == "p" and k in taken) else k for src, k in names] + ["seed"]
    if "seed" in grid or "seed" in tied_grid:
        raise TheoryBenchError("'seed' is the seeds axis (seeds=S or seeds=[...]), not a grid axis; an instance's "
                               "own parameter named seed goes in problem_grid (its axis is then 'problem_seed')")
    if len(set(dims)) != len(dims):
        raise TheoryBenchError(f"sweep axes collide: {dims} (an axis is given twice, e.g. in grid and tied_grid)")
    shape = tuple(len(v) for v in values) + (len(seed_list),)
    # each distinct value is validated once per axis and each distinct problem built once: no Python work
    # per configuration (a sweep of 10^5 configurations plans in milliseconds)
    p_axes = [ax for ax, (src, _) in enumerate(names) if src in ("p", "t")]
    distinct, by_key, p_index = [], {}, []
    for combo in itertools.product(*(range(len(values[ax])) for ax in p_axes)):
        pset = dict(problem_settings or {})
        for ax, j in zip(p_axes, combo):
            pset[names[ax][1]] = values[ax][j]
        key = tuple(sorted(pset.items()))
        if key not in by_key:
            by_key[key] = len(distinct)
            distinct.append(make_problem(problem, **pset))
        p_index.append(by_key[key])
    if len(distinct) == 1:
        where = np.zeros(math.prod(shape), dtype=np.int64)
    else:
        view = [len(values[ax]) if ax in p_axes else 1 for ax in range(len(shape))]
        where = np.broadcast_to(np.asarray(p_index, dtype=np.int64).reshape(view), shape).reshape(-1)
    problems = GridProblems(distinct, where)
    base = alg.resolve(fixed)
    hyper_axes = []
    for ax, ((src, k), v) in enumerate(zip(names, values)):
        if src in ("a", "t"):
            hyper_axes.append((k, [alg.resolve({**fixed, k: x})[k] for x in v], ax))
    settings = GridSettings(base, hyper_axes, shape)
    seed_of = np.broadcast_to(np.asarray(seed_list, dtype=np.int64), shape).reshape(-1)
    local = settings.column("local_steps", 1)
    I_max = int(local.max())
    R = _rounds_from(rounds, steps, 1 if rounds is not None else I_max)
    S = settings.column("clients_per_round", 0)
    n_cl = np.asarray([p.n_clients for p in distinct])[where]
    check_work(work_estimate(problems, settings, R), max_work,
               f"{len(problems)} configurations x {R} rounds x up to {I_max} local steps x up to "
               f"{int(np.max(np.where(S.astype(bool), S, n_cl)))} clients")
    target = target if callable(target) else _check_target(target)
    starts = None if x0 is None else [_start(x0, p) for p in distinct]
    x0s = None if x0 is None else [starts[i] for i in where.tolist()]
    if record is None:
        record = sweep_record_schedule(R)
    targets = [_check_target(target(p, st)) if callable(target) else target for p, st in zip(problems, settings)] \
        if callable(target) else np.full(len(problems), target)
    extra = {}
    from .progress import sweep_executor
    executor = sweep_executor(alg, problems, _record_rounds(record, R).size, progress, executor, max_memory)
    rec, x, loss, g, s = run_batch(alg, problems, settings, seed_of, R, x0s, record, targets, backend, executor,
                                   extra=extra, max_memory=max_memory, stats=stats)
    names, s = s.names, np.asarray(s)
    steps_arr = local[:, None] * rec
    coords = {d: v for d, v in zip(dims, values + [seed_list])}
    return SweepResult(problems[0].name, alg.name, tuple(dims), coords, rec,
                       steps_arr.reshape(shape + (rec.size,)), x.reshape(shape + x.shape[1:]),
                       loss.reshape(shape + (rec.size,)), g.reshape(shape + (rec.size,)),
                       {k: s[:, i].reshape(shape) for i, k in enumerate(names)},
                       traces={k: v.reshape(shape + (rec.size,)) for k, v in extra.get("traces", {}).items()},
                       fixed={**{f"problem_{k}" if k in taken else k: v for k, v in (problem_settings or {}).items()},
                              **fixed})
