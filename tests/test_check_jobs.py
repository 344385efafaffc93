"""``theorybench check --jobs N``: claims on N processes give the report of one process (same verdicts,
numbers and order), bad values are refused, and Ctrl-C stops the workers and keeps what finished."""
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from theorybench import cli
from theorybench.errors import TheoryBenchError
from theorybench.parallel_claims import resolve_jobs

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLAIMS = ["EP-1", "LS-1", "MU-2"]  # three papers, three kinds of kernel
TIMING = ("seconds", "compile_seconds", "provenance")


def _report(folder):
    rows = json.loads((folder / "report.json").read_text())
    return [{k: v for k, v in r.items() if k not in TIMING} for r in rows]


def test_jobs_give_the_report_of_one_process(tmp_path, monkeypatch):
    monkeypatch.setenv("THEORYBENCH_STORE", "off")
    one, two = tmp_path / "one", tmp_path / "two"
    assert cli.main(["check", *CLAIMS, "--no-figures", "--report", str(one)]) == 0
    assert cli.main(["check", *CLAIMS, "--no-figures", "--report", str(two), "--jobs", "2"]) == 0
    a, b = _report(one), _report(two)
    assert [r["id"] for r in b] == CLAIMS
    assert a == b


@pytest.mark.parametrize("bad", [-1, 1.5, True, "2"])
def test_bad_jobs_refused(bad):
    with pytest.raises(TheoryBenchError, match="--jobs"):
        resolve_jobs(bad)


def test_jobs_zero_is_one_per_cpu():
    assert resolve_jobs(0) == (os.cpu_count() or 1) and resolve_jobs(3) == 3


def test_cli_refuses_negative_jobs(capsys):
    assert cli.main(["check", "EP-1", "--jobs", "-2"]) != 0
    assert "--jobs" in capsys.readouterr().err


def _children(pid):
    try:
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout
    except FileNotFoundError:  # no ps: nothing to say
        return []
    return [int(p) for p in out.split()]


def test_ctrl_c_stops_the_workers_and_keeps_the_finished_claims(tmp_path):
    env = dict(os.environ, THEORYBENCH_STORE="off")
    code = ("import sys; from theorybench import cli; print('imported', file=sys.stderr, flush=True); "
            "sys.exit(cli.main(sys.argv[1:]))")
    proc = subprocess.Popen([sys.executable, "-c", code, "check", "--jobs", "2", "--no-figures", "--report",
                             str(tmp_path / "r")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=REPO)
    try:
        assert proc.stderr.readline().strip() == "imported"
        time.sleep(6.0)  # the workers are spawned and running claims (all of them take minutes)
        assert proc.poll() is None
        workers = _children(proc.pid)
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=120)
        latency = time.monotonic() - sent
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "Traceback" not in err, err
    assert "claims finished" in err
    assert latency < 30, latency  # a behaviour bound, loose: the workers are terminated, not waited for
    time.sleep(1.0)
    alive = [p for p in workers if os.path.exists(f"/proc/{p}") and
             open(f"/proc/{p}/stat").read().split()[2] != "Z"]
    assert not alive, alive
