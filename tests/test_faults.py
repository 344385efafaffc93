"""Faults: a killed writer leaves old or new complete files; Ctrl-C stops a run at once with exit status
130 and no traceback, keeping what finished; a damaged compile cache is rebuilt with a warning."""
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import _thread

import numpy as np
import pandas as pd
import pytest

from theorybench import cli
from theorybench.atomic_io import atomic_path, atomic_savefig, atomic_to_csv, atomic_write_text
from theorybench.claims import Evidence, _PAPERS, register_paper
from theorybench.interrupt import Interrupted, background_running, interruptible

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LONG = 600  # generous: a busy 2-core machine, and a first run compiles its kernel
# two-client-quadratic / local-clip: 8 local steps x 2 clients a round, so 8e10 client steps (below the
# default work limit): minutes on any machine, never finished before the interrupt
BIG_ROUNDS = 5 * 10**9


def _env(**extra):
    env = dict(os.environ)
    env["PYTHONPATH"] = REPO + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def _python(code, **env):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=LONG, env=_env(**env), cwd=REPO)


def _wait_for(pred, timeout, what):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


# --- atomic writes ---------------------------------------------------------------------------------------

def test_atomic_write_replaces_or_keeps(tmp_path):
    p = tmp_path / "r.md"
    atomic_write_text(p, "old\n")
    with pytest.raises(KeyboardInterrupt):
        with atomic_path(p) as tmp:
            with open(tmp, "w") as fh:
                fh.write("half of the new cont")
            raise KeyboardInterrupt
    assert p.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["r.md"]  # the temporary file is gone
    atomic_write_text(p, "new\n")
    assert p.read_text() == "new\n" and os.listdir(tmp_path) == ["r.md"]
    umask = os.umask(0)
    os.umask(umask)
    assert (p.stat().st_mode & 0o777) == (0o666 & ~umask)  # the mode a plain open() gives


def test_leftovers_of_dead_writers_are_removed(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    old = time.time() - 3600
    gone = tmp_path / f".r.tmp-{dead.pid}-00000000.md"  # a killed writer's, an hour old
    alive = tmp_path / f".r.tmp-{os.getppid()}-00000000.md"  # a running process's
    other = tmp_path / f".q.tmp-{dead.pid}-00000000.md"  # another destination's
    for f in (gone, alive, other):
        f.write_text("partial")
        os.utime(f, (old, old))
    atomic_write_text(tmp_path / "r.md", "new\n")
    assert sorted(os.listdir(tmp_path)) == sorted([alive.name, other.name, "r.md"])


def test_atomic_formats_from_the_extension(tmp_path):
    from theorybench.plotting import new_figure, pyplot
    fig, axs = new_figure()
    axs[0][0].plot([0, 1], [1, 0])
    atomic_savefig(fig, tmp_path / "f.pdf")
    atomic_savefig(fig, tmp_path / "f.png")
    pyplot().close(fig)
    assert (tmp_path / "f.pdf").read_bytes()[:5] == b"%PDF-"
    assert (tmp_path / "f.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    df = pd.DataFrame({"a": np.arange(5.0), "b": list("abcde")})
    atomic_to_csv(df, tmp_path / "d.csv.gz", index=False)  # compression inferred from the name
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "d.csv.gz"), df)
    assert sorted(os.listdir(tmp_path)) == ["d.csv.gz", "f.pdf", "f.png"]


_KILLED_WRITER = """
    import sys, numpy as np, pandas as pd
    from theorybench.atomic_io import atomic_path, atomic_to_csv
    path, mode = sys.argv[1], sys.argv[2]
    df = pd.DataFrame({"x": np.arange(3_000_000, dtype=float), "y": np.linspace(0, 1, 3_000_000)})
    if mode == "half":  # stop for sure in the middle of the write
        with atomic_path(path) as tmp, open(tmp, "w") as fh:
            fh.write(df.iloc[:100_000].to_csv(index=False))
            fh.flush()
            print("half", flush=True)
            sys.stdin.read()  # until killed
    else:
        atomic_to_csv(df, path, index=False)
"""


@pytest.mark.parametrize("mode", ["half", "to_csv"])
@pytest.mark.parametrize("old", [True, False])
def test_sigkill_during_write_leaves_no_partial_file(tmp_path, mode, old):
    dest = tmp_path / "sweep.csv"
    if old:
        pd.DataFrame({"x": [1.0, 2.0], "y": [3.0, 4.0]}).to_csv(dest, index=False)
    before = dest.read_bytes() if old else None
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(dest), mode],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    try:
        if mode == "half":
            assert proc.stdout.readline().strip() == "half"
        else:  # kill as soon as the temporary file grows (or the writer has finished)
            def growing():
                tmps = glob.glob(str(tmp_path / ".sweep.tmp-*.csv"))
                return proc.poll() is not None or any(os.path.getsize(t) > 1 << 20 for t in tmps)
            _wait_for(growing, LONG, "the CSV writer")
        proc.kill()
        proc.wait(timeout=LONG)
    finally:
        if proc.poll() is None:
            proc.kill()
    if proc.returncode == 0:  # the writer finished first: the new file is complete
        assert mode == "to_csv" and len(pd.read_csv(dest)) == 3_000_000
    elif old:
        assert dest.read_bytes() == before
    else:
        assert not dest.exists()
    left = [f for f in os.listdir(tmp_path) if f != "sweep.csv"]
    assert all(f.startswith(f".sweep.tmp-{proc.pid}-") for f in left), left  # hidden, named by its writer


# --- Ctrl-C -----------------------------------------------------------------------------------------------

def test_interruptible_returns_raises_and_keeps_thread_count():
    import numba

    def fail():
        raise ValueError("from the worker")

    with pytest.raises(ValueError, match="from the worker"):
        interruptible(fail)
    old = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        assert interruptible(numba.get_num_threads) == 1  # the caller's thread count, not the default
    finally:
        numba.set_num_threads(old)
    assert interruptible(lambda a, b=0: a + b, 2, b=3) == 5


def test_interrupt_stops_python_code_in_the_worker():
    state = {"steps": 0}

    def loop():
        for _ in range(60_000):
            state["steps"] += 1
            time.sleep(0.001)

    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt) as info:
        interruptible(loop)
    assert isinstance(info.value, Interrupted) and time.monotonic() - t0 < 15
    steps = state["steps"]
    time.sleep(0.3)
    assert state["steps"] == steps and not info.value.background and not background_running()


# ``theorybench ARGV`` that says on stderr when its imports are done: from then on Ctrl-C is the CLI's
_CLI = ("import sys; from theorybench import cli; print('imported', file=sys.stderr, flush=True); "
        "sys.exit(cli.main(sys.argv[1:]))")


def _warm_then_interrupt(argv):
    """Run ``theorybench argv`` once with few rounds (compiles or loads its kernel), then with
    ``BIG_ROUNDS``, and send SIGINT 3 s after its imports (it is in the kernel, or loading it).
    Returns (exit status, stderr, seconds from SIGINT to exit)."""
    small = [a if a != "BIG" else "20" for a in argv]
    if "--out" in small:  # the warm-up run writes to stdout
        k = small.index("--out")
        del small[k:k + 2]
    warm = subprocess.run([sys.executable, "-c", _CLI] + small, capture_output=True, text=True,
                          timeout=LONG, env=_env(), cwd=REPO)
    assert warm.returncode == 0, warm.stderr
    big = [a if a != "BIG" else str(BIG_ROUNDS) for a in argv] + ["--allow-long"]  # above the work limit
    proc = subprocess.Popen([sys.executable, "-c", _CLI] + big, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=_env(), cwd=REPO)
    try:
        assert proc.stderr.readline().strip() == "imported"
        time.sleep(3.0)
        assert proc.poll() is None  # BIG_ROUNDS: minutes of work, still computing
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=LONG)
        latency = time.monotonic() - sent
        print(f"{argv[0]}: SIGINT to exit {latency:.2f} s")
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err, latency


def test_ctrl_c_stops_a_long_run():
    rc, err, latency = _warm_then_interrupt(["run", "two-client-quadratic", "local-clip", "--rounds", "BIG"])
    assert rc == 130 and "Traceback" not in err, err
    assert "theorybench: interrupted" in err
    assert latency < 15, latency  # a behaviour bound, loose: without the worker thread it is minutes


def test_ctrl_c_stops_a_long_sweep_and_keeps_the_old_csv(tmp_path):
    out = tmp_path / "s.csv"
    out.write_text("old,complete\n1,2\n")
    rc, err, latency = _warm_then_interrupt(["sweep", "two-client-quadratic", "local-clip", "-a", "eta=0.5",
                                             "--rounds", "BIG", "--final-only", "--out", str(out)])
    assert rc == 130 and "Traceback" not in err and latency < 15, (err, latency)
    assert out.read_text() == "old,complete\n1,2\n"


def test_python_api_raises_keyboard_interrupt():
    r = _python("""
        import os, threading, time, _thread
        import theorybench as tb
        tb.run("two-client-quadratic", "local-clip", rounds=20)  # compiled or loaded
        threading.Timer(2.0, _thread.interrupt_main).start()
        t0 = time.monotonic()
        try:
            tb.run("two-client-quadratic", "local-clip", rounds=%d, max_work=float("inf"))
        except KeyboardInterrupt as e:
            print(type(e).__name__, e.background, round(time.monotonic() - t0, 2), flush=True)
            os._exit(0)  # the kernel goes on in the background: leave without waiting
        print("not interrupted")
    """ % BIG_ROUNDS)
    assert r.returncode == 0, r.stderr
    name, background, seconds = r.stdout.split()
    assert name == "Interrupted" and background == "True" and float(seconds) < 15


@pytest.fixture
def slow_paper():
    paper = register_paper("zz_faults", "faults", "nobody")

    @paper.claim("ZF-1", "none", "finishes", control="none")
    def _one(size="quick", control=False):
        return Evidence("PASS", "1", "1")

    @paper.claim("ZF-2", "none", "interrupted by Ctrl-C", control="none")
    def _two(size="quick", control=False):
        raise KeyboardInterrupt

    @paper.claim("ZF-3", "none", "never reached", control="none")
    def _three(size="quick", control=False):
        raise AssertionError("ran after Ctrl-C")
    yield paper
    del _PAPERS["zz_faults"]


def test_check_interrupted_writes_the_finished_claims(capsys, tmp_path, slow_paper):
    (tmp_path / "report.md").write_text("old report\n")
    rc = cli.main(["check", "zz_faults", "--report", str(tmp_path), "--overwrite"])  # replaces an old report
    err = capsys.readouterr().err
    assert rc == 130 and "1 of 3 claims finished" in err and "Traceback" not in err
    md = (tmp_path / "report.md").read_text()
    assert "ZF-1" in md and "ZF-2" not in md and "Interrupted" in md
    js = json.loads((tmp_path / "report.json").read_text())
    assert [d["id"] for d in js] == ["ZF-1"] and "1 of 3" in js[0]["provenance"]["interrupted"]
    assert sorted(os.listdir(tmp_path)) == ["report.json", "report.md"]


# --- damaged compile cache ---------------------------------------------------------------------------------

_TINY_KERNEL = """
    import warnings
    import numpy as np
    from theorybench.sampling import sample_clients, sample_clients_reference
    warnings.simplefilter("always")
    avail, out = np.arange(10, dtype=np.int64), np.empty(10, dtype=np.int64)
    m = sample_clients(7, 3, avail, 10, 4, out)
    assert list(out[:m]) == sample_clients_reference(7, 3, range(10), 4), (out[:m], m)
    print("hits", sum(sample_clients.stats.cache_hits.values()))
"""


def _damage(path, how):
    data = open(path, "rb").read()
    with open(path, "wb") as fh:
        if how == "empty":
            pass
        elif how == "truncated":
            fh.write(data[: len(data) // 2])
        else:  # garbled
            fh.write(data[:8] + bytes((b ^ 0x5A) for b in data[8:]))


@pytest.mark.parametrize("target,how", [("nbi", "empty"), ("nbi", "garbled"), ("nbc", "truncated"),
                                        ("nbc", "garbled")])
def test_damaged_cache_is_rebuilt(tmp_path, target, how):
    cache = str(tmp_path / "numba-cache")
    first = _python(_TINY_KERNEL, NUMBA_CACHE_DIR=cache)
    assert first.returncode == 0, first.stderr
    files = glob.glob(os.path.join(cache, "**", f"sampling.sample_clients-*.{target}"), recursive=True)
    assert files, os.listdir(cache)
    for f in files:
        _damage(f, how)
    r = _python(_TINY_KERNEL, NUMBA_CACHE_DIR=cache)
    assert r.returncode == 0, r.stderr
    assert "damaged compile cache" in r.stderr and "rebuilding" in r.stderr, r.stderr
    assert "hits 0" in r.stdout
    again = _python(_TINY_KERNEL, NUMBA_CACHE_DIR=cache)
    assert again.returncode == 0 and "damaged" not in again.stderr, again.stderr
    assert "hits 1" in again.stdout  # rebuilt and cached again
    shutil.rmtree(cache)
