"""Progress of long work (``check``, ``figures``, ``sweep``): a tqdm bar on stderr with the elapsed time and
an ETA, and a "compiling kernels" phase shown as such.

Compilation is seen, not guessed: Numba fires a ``numba:compile`` event for every function it compiles
(a function loaded from its on-disk cache fires none), and :class:`CompileWatch` adds up the time spent
inside the outermost of those events. A bar is drawn only when stderr is a terminal, or when the caller
asks for it explicitly (``progress=True`` in Python): logs and pipes stay quiet."""
import sys
import threading
import time

__all__ = ["Bar", "CompileWatch", "wanted"]


def wanted(progress):
    """``progress``: ``True`` (always draw), ``False`` (never), ``None`` (when stderr is a terminal)."""
    if progress is None:
        try:
            return sys.stderr.isatty()
        except (AttributeError, ValueError):
            return False
    return bool(progress)


class CompileWatch:
    """Seconds spent compiling Numba kernels while it is installed (``with CompileWatch(): ...``).

    ``seconds``: compile time so far (finished compilations); ``active``: a compilation is under way;
    ``on_change(active)``: called when the outermost compilation starts or ends."""

    def __init__(self, on_change=None):
        self.seconds, self.active, self.on_change = 0.0, False, on_change
        self._depth, self._t0, self._listener = 0, 0.0, None

    def _start(self):
        self._depth += 1
        if self._depth == 1:
            self._t0, self.active = time.perf_counter(), True
            if self.on_change:
                self.on_change(True)

    def _end(self):
        self._depth = max(self._depth - 1, 0)
        if self._depth == 0 and self.active:
            self.seconds += time.perf_counter() - self._t0
            self.active = False
            if self.on_change:
                self.on_change(False)

    def now(self):
        """Compile seconds including the one under way."""
        return self.seconds + (time.perf_counter() - self._t0 if self.active else 0.0)

    def __enter__(self):
        from numba.core import event
        watch = self

        class _Listener(event.Listener):
            def on_start(self, ev):
                watch._start()

            def on_end(self, ev):
                watch._end()
        self._listener = _Listener()
        event.register("numba:compile", self._listener)
        return self

    def __exit__(self, *exc):
        from numba.core import event
        event.unregister("numba:compile", self._listener)
        return False


class Bar:
    """A tqdm bar on stderr with elapsed time and ETA, redrawn every ``tick`` seconds while work runs
    inside a compiled kernel (tqdm itself redraws only on updates), and labelled "compiling kernels"
    while Numba compiles. ``enabled``: see :func:`wanted`.

    Use ``with Bar(total, desc, unit) as bar: bar.label("EP-1"); ...; bar.update(n)``; ``bar.compile``
    is the :class:`CompileWatch` (its ``seconds`` give the compile time of each item)."""

    def __init__(self, total, desc="", unit="it", enabled=None, tick=0.5):
        self.enabled = wanted(enabled)
        self.total, self.desc, self.unit, self.tick = total, desc, unit, tick
        self._label, self._bar, self._stop, self._thread = "", None, threading.Event(), None
        self.compile = CompileWatch(self._phase)

    def __enter__(self):
        self.compile.__enter__()
        if self.enabled:
            import shutil
            from tqdm import tqdm
            sized = shutil.get_terminal_size((0, 0)).columns > 0  # a pty without a size: 100 columns
            self._bar = tqdm(total=self.total, desc=self.desc, unit=self.unit, file=sys.stderr, leave=False,
                             dynamic_ncols=sized, ncols=None if sized else 100, nrows=None if sized else 40,
                             mininterval=0.2,
                             bar_format="{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} "
                                        "[{elapsed} elapsed, ETA {remaining}]{postfix}")
            self._thread = threading.Thread(target=self._ticker, daemon=True, name="theorybench-progress")
            self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if self._bar is not None:
            self._bar.close()
        self.compile.__exit__(*exc)
        return False

    def _ticker(self):
        while not self._stop.wait(self.tick):
            self._draw()

    def _draw(self):
        if self._bar is None:
            return
        text = self._label
        if self.compile.active:
            text = f"{text}: compiling kernels ({self.compile.now():.0f} s)" if text else \
                f"compiling kernels ({self.compile.now():.0f} s)"
        try:
            self._bar.set_postfix_str(text, refresh=True)
        except (OSError, ValueError):  # stderr closed under us
            pass

    def _phase(self, active):
        self._draw()

    def label(self, text):
        """Name the item under way (a claim id, a figure)."""
        self._label = text
        self._draw()

    def update(self, n=1):
        if self._bar is not None:
            self._bar.update(n)

    def write(self, line):
        """Print a line on stderr above the bar (nothing when the bar is off)."""
        if self._bar is not None:
            self._bar.write(line, file=sys.stderr)


class _ChunkedInProcess:
    """A ``concurrent.futures``-style executor for :func:`theorybench.runner.run_batch`: it runs the
    sweep's chunks one after another in this process (each chunk in parallel over its configurations,
    as in one call) and advances a bar by each chunk's configurations. Each configuration's numbers
    are those of one call (its random stream depends on its seed only)."""

    def __init__(self, n, workers=8, desc="sweep"):
        self._max_workers = workers  # run_batch cuts 4 chunks per worker
        self.n, self.desc = n, desc

    def map(self, fn, *iterables):
        with Bar(self.n, desc=self.desc, unit="config", enabled=True) as bar:
            for args in zip(*iterables):
                out = fn(*args)
                bar.update(len(args[1]))  # args: (algorithm, problems, ...)
                yield out


def sweep_executor(alg, problems, rec_size, progress, executor=None, max_memory=None):
    """The executor a sweep runs on: ``executor`` when given; with ``progress`` (see :func:`wanted`), an
    in-process chunked run behind a bar with elapsed time and ETA (each chunk carries its named traces and
    statistics back, so every kernel takes it); else ``None``.
    The memory limit is checked here for the whole sweep (a chunked run checks each chunk only)."""
    if executor is not None or not wanted(progress) or len(problems) < 2:
        return executor
    from .runner import check_memory
    check_memory(len(problems), rec_size, max(p.dim for p in problems), max_memory)
    return _ChunkedInProcess(len(problems))
