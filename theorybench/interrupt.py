"""Ctrl-C during a compiled kernel.

Python runs a signal handler only between bytecodes of the main thread, so a kernel called from the
main thread ignores Ctrl-C until it returns (minutes, for a long sweep). :func:`interruptible` calls the
kernel in a worker thread instead (the kernels release the GIL: ``nogil=True``) while the main thread
waits in short slices, so Ctrl-C raises :class:`Interrupted` in the main thread within a fraction of a
second.

A compiled kernel cannot be stopped from outside: the abandoned worker thread goes on computing in the
background until the kernel returns, and its result is discarded (Python code in the worker, such as
the MLP's trajectory loop, stops at its next bytecode). The command line exits at once
(``os._exit``) after writing what finished; from Python (a notebook), the interrupted call raises
:class:`Interrupted`, a ``KeyboardInterrupt``, and the kernel keeps Numba's threads busy until it
ends (:func:`background_running` tells whether it still does); a new run meanwhile works, sharing the
cores with it."""
import contextvars
import ctypes
import os
import queue
import threading

__all__ = ["Interrupted", "interruptible", "background_running"]

_SLICE = 0.2  # seconds the main thread waits between checks for a signal
_abandoned = []


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run. A ``KeyboardInterrupt`` (scripts and notebooks treat it as one);
    ``background``: whether a compiled kernel is still computing in a background thread."""

    def __init__(self, message="interrupted", background=False):
        super().__init__(message)
        self.background = background


class _Stop(BaseException):
    """Raised asynchronously in an abandoned worker thread (at its next Python bytecode)."""


def _quiet_stop(args, _previous=threading.excepthook):
    """``threading.excepthook`` that drops :class:`_Stop` (were it to land after the worker's own
    ``try``, as the thread ends)."""
    if args.exc_type is not _Stop:
        _previous(args)


def background_running():
    """True while a kernel abandoned by an interrupt is still computing."""
    _abandoned[:] = [done for done in _abandoned if not done.is_set()]
    return bool(_abandoned)


def _layer_needs_exclusive():
    """Numba's ``workqueue`` threading layer aborts on concurrent parallel launches (OpenMP and TBB
    do not): with it, a new kernel waits for an abandoned one."""
    import numba
    try:
        return numba.threading_layer() == "workqueue"
    except ValueError:  # no parallel kernel has run yet
        return False


def _wait(done):
    """Wait for the event ``done`` in slices. (Not ``Thread.join``: a join interrupted by Ctrl-C marks a
    running thread as stopped, CPython issue 45274.)"""
    while not done.wait(_SLICE):
        pass


class _Worker:
    """One long-lived daemon thread that runs the kernel calls in turn. (One thread for all calls, not
    one per call: each new thread that enters a ``parallel=True`` kernel starts its own OpenMP team,
    about 2 ms a call.)"""

    def __init__(self):
        self.jobs = queue.SimpleQueue()
        self.abandoned = False
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._loop, name="theorybench-kernel", daemon=True)
        self.thread.start()

    def usable(self):
        return not self.abandoned and self.pid == os.getpid() and self.thread.is_alive()

    def _loop(self):
        while not self.abandoned:
            self.jobs.get()()


_worker = None


def interruptible(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` computed in a worker thread, so that Ctrl-C in the main thread raises
    :class:`Interrupted` at once (within ``_SLICE`` seconds). Called from any other thread (a Dask
    worker, a user's thread) it simply calls ``fn``: signals reach the main thread only. The worker
    uses the caller's Numba thread count and context variables (NumPy's ``errstate``); an exception in
    ``fn`` is raised here."""
    global _worker
    if threading.current_thread() is not threading.main_thread():
        return fn(*args, **kwargs)
    import numba
    if background_running() and _layer_needs_exclusive():
        for done in list(_abandoned):
            _wait(done)
    if _worker is None or not _worker.usable():
        _worker = _Worker()
    worker = _worker
    nthreads = numba.get_num_threads()
    ctx = contextvars.copy_context()
    box, done = {}, threading.Event()

    def job():
        try:
            numba.set_num_threads(nthreads)
            box["value"] = ctx.run(fn, *args, **kwargs)
        except BaseException as e:  # noqa: B902  (handed to the caller, or dropped when abandoned)
            box["error"] = e
        finally:
            done.set()

    worker.jobs.put(job)
    try:
        _wait(done)
    except KeyboardInterrupt:
        if not done.is_set():
            worker.abandoned = True  # the next call starts a fresh worker
            if threading.excepthook is not _quiet_stop:
                _quiet_stop.__defaults__ = (threading.excepthook,)
                threading.excepthook = _quiet_stop
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(worker.thread.ident),
                                                       ctypes.py_object(_Stop))
            done.wait(_SLICE)  # Python code stops at its next bytecode; a compiled kernel does not
        background = not done.is_set()
        if background:
            _abandoned.append(done)
        raise Interrupted("interrupted" + (" (a compiled kernel goes on in a background thread until it "
                                           "finishes; its result is discarded)" if background else ""),
                          background) from None
    if "error" in box:
        err = box.pop("error")
        try:
            raise err
        finally:
            del err
    return box["value"]
