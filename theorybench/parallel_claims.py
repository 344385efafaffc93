"""Claims on several processes (``theorybench check --jobs N``, ``figures --jobs N``).

Claims are independent, and every kernel gives the same bits on any thread count, so running them on N
processes changes nothing but the time: the report lists them in the selection's order with the verdicts
and numbers of a one-process run. What it buys is mostly compilation, which Numba does on one thread: a
first run (empty caches) compiles one specialised kernel per (method, instance, noise, layout), and N
processes compile N at a time. Each process runs ``max(1, threads // N)`` Numba threads, so the machine
is not oversubscribed.

Workers are spawned (never forked: a forked child inherits Numba's threading layer and locks), ignore
Ctrl-C, and send their result back with cloudpickle (figure functions are closures). On Ctrl-C the
parent stops the workers at once and keeps the claims that finished. A claim is found in a worker by its
id, so ``--jobs`` serves the claims that ``theorybench list`` shows (registered through entry points)."""
import os


def resolve_jobs(jobs):
    """``jobs`` as a process count: a positive integer, or 0 for one per CPU (os.cpu_count())."""
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 0:
        from .errors import TheoryBenchError
        raise TheoryBenchError(f"--jobs must be a non-negative integer (0: one per CPU), got {jobs!r}")
    return jobs or (os.cpu_count() or 1)


def _init_worker(threads):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the pool; no traceback per worker
    import numba
    numba.set_num_threads(max(1, min(threads, numba.config.NUMBA_NUM_THREADS)))


def _run_one(claim_id, size, control):
    """One claim in a worker: ``cloudpickle.dumps((ClaimResult, compile seconds))``."""
    import cloudpickle
    from .claims import select
    from .progress import CompileWatch
    (claim,) = select([claim_id])
    with CompileWatch() as watch:
        result = claim.run(size, control=control)
    return cloudpickle.dumps((result, watch.seconds))


def run_parallel(claims, size, control, jobs, on_done):
    """Run ``claims`` on ``jobs`` spawned processes; ``on_done(claim, result, compile_seconds)`` as each
    finishes (in completion order). Returns when all are done; Ctrl-C stops the workers and re-raises."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    import cloudpickle
    import numba
    threads = max(1, numba.get_num_threads() // jobs)
    pool = ProcessPoolExecutor(max_workers=min(jobs, len(claims)), mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))
    try:
        pending = {pool.submit(_run_one, c.id, size, control): c for c in claims}
        while pending:
            finished, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
            for f in finished:
                claim = pending.pop(f)
                result, compile_seconds = cloudpickle.loads(f.result())
                on_done(claim, result, compile_seconds)
    except BaseException:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
