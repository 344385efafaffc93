"""Process pools for sweeps: started with spawn, never fork.

Numba's parallel kernels start a threading layer (GNU OpenMP, TBB or Numba's workqueue) in the first
in-process run; a process forked after that inherits a half-copied runtime and dies (GNU OpenMP aborts
with ``fork() called from a process already using GNU OpenMP``). A spawned worker starts a fresh
interpreter and loads the kernels from the on-disk cache. So :func:`process_pool` makes a pool with the
spawn context, and :func:`check_executor` refuses a ``ProcessPoolExecutor`` that forks, naming the fix."""
import concurrent.futures
import multiprocessing

from .errors import TheoryBenchError

__all__ = ["process_pool", "check_executor"]

SAFE_START_METHODS = ("spawn", "forkserver")


def process_pool(max_workers=None):
    """A ``concurrent.futures.ProcessPoolExecutor`` whose workers are spawned (safe after in-process
    runs); pass it as ``executor=`` to :func:`theorybench.sweep` or :func:`theorybench.run_batch`."""
    return concurrent.futures.ProcessPoolExecutor(max_workers=max_workers,
                                                  mp_context=multiprocessing.get_context("spawn"))


def start_method(executor):
    """The start method of a ``ProcessPoolExecutor``'s workers (``None`` for other executors)."""
    if not isinstance(executor, concurrent.futures.ProcessPoolExecutor):
        return None
    ctx = getattr(executor, "_mp_context", None)  # set by ProcessPoolExecutor since Python 3.7
    return ctx.get_start_method() if ctx is not None else multiprocessing.get_start_method()


def check_executor(executor):
    """Refuse a ``ProcessPoolExecutor`` that forks its workers (the default on Linux before Python 3.14):
    a fork after an in-process run dies inside the threading layer."""
    method = start_method(executor)
    if method is not None and method not in SAFE_START_METHODS:
        raise TheoryBenchError(
            f"parameter 'executor': this ProcessPoolExecutor starts its workers with {method!r}, and a process "
            "forked after an in-process run dies in the kernels' threading layer (\"fork() called from a process "
            "already using GNU OpenMP\"). Create it with "
            "ProcessPoolExecutor(..., mp_context=multiprocessing.get_context(\"spawn\")), or use "
            "theorybench.executors.process_pool()")
    return executor
