"""Shared pieces of the benchmark scripts: timing and the machine description stored with results."""
import datetime
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def timed(fn, repeats):
    ts = []
    out = None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), ts, out


def machine_info():
    import numba
    info = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": sys.version.split()[0],
        "cpu_count": os.cpu_count(),
        "cpus_available": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "numba": numba.__version__,
        "numpy": np.__version__,
        "numba_threads": numba.get_num_threads(),
    }
    try:
        with open("/proc/cpuinfo") as fh:
            info["cpu_model"] = next((ln.split(":", 1)[1].strip() for ln in fh if ln.startswith("model name")), None)
    except OSError:
        info["cpu_model"] = None
    try:
        import theorybench
        info["theorybench"] = theorybench.__version__
    except Exception:  # pragma: no cover
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True,
                                            text=True, timeout=5).stdout.strip() or None
    except Exception:  # pragma: no cover
        info["git_commit"] = None
    return info


def jax_over_seeds(traj):
    """``(call, jax version)``: ``call(seeds)`` runs ``jax.jit(jax.vmap(traj))`` on one PRNG key per seed and
    returns the result as a NumPy array (waiting for it)."""
    import jax
    import jax.numpy as jnp
    fn = jax.jit(jax.vmap(traj))

    def call(seeds):
        keys = jax.vmap(jax.random.PRNGKey)(jnp.asarray(seeds))
        return np.asarray(fn(keys).block_until_ready())
    return call, jax.__version__
