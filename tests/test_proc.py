"""gpuready.proc: the one way to run a process. Timeouts, trees, caps, streaming, interrupts, no orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gpuready import proc
from tests.conftest import ROOT

posix_only = pytest.mark.skipif(proc.IS_WINDOWS, reason="POSIX process groups and /proc")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return True


def _pids_with(marker: str, env_marker: str = "") -> list[int]:
    """Live processes whose command line has `marker` (and whose environment has `env_marker`: other test
    runs on this machine start the same children)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                if env_marker and marker in cmd and env_marker.encode() not in (entry / "environ").read_bytes():
                    continue
            except OSError:
                continue
            if marker in cmd and _alive(int(entry.name)):
                found.append(int(entry.name))
    return found


def test_collects_stdout_and_stderr_apart():
    res = proc.run([sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"])
    assert res.returncode == 3 and res.stdout.strip() == "out" and res.stderr.strip() == "err"
    assert res.describe() == "exit status 3" and not res.ok


def test_not_found_and_start_errors_are_results():
    res = proc.run(["/no/such/program-gpuready"])
    assert res.not_found and res.returncode is None and "not found" in res.start_error


@posix_only
def test_timeout_kills_the_whole_tree(tmp_path):
    marker = f"gpuready-grandchild-{os.getpid()}"
    script = (f"import subprocess, time; subprocess.Popen(['sh', '-c', 'sleep 300; : {marker}']); time.sleep(300)")
    t0 = time.monotonic()
    res = proc.run([sys.executable, "-c", script], timeout=1.0)
    assert res.timed_out and res.returncode is None and time.monotonic() - t0 < 10
    time.sleep(0.3)
    assert not _pids_with(marker), "a grandchild outlived the timeout"


def test_output_is_capped():
    res = proc.run([sys.executable, "-c", "import sys; sys.stdout.write('x' * 5_000_000)"], max_output=100_000)
    assert res.ok and len(res.stdout) == 100_000 and res.truncated


def test_streaming_merges_and_splits_progress_lines(tmp_path):
    seen: list[str] = []
    log = proc.CommandLog(tmp_path / "a.log")
    code = "import sys; sys.stdout.write('a\\rb\\r\\nc\\n'); sys.stderr.write('d\\n'); sys.exit(1)"
    res = proc.run([sys.executable, "-c", code], on_line=seen.append, log=log, title="step")
    log.close()
    assert seen == ["a", "b", "c", "d"] and res.returncode == 1 and res.stdout.splitlines() == ["a", "b", "c", "d"]
    text = (tmp_path / "a.log").read_text()
    assert "[step] $ " in text and "\nc\n" in text and "[gpuready] exit status 1 after" in text


@posix_only
def test_interrupt_stops_the_child_and_propagates(tmp_path):
    """KeyboardInterrupt while streaming: the child's tree is stopped before the interrupt goes on."""
    marker = f"gpuready-interrupted-{os.getpid()}"
    started: list[int] = []

    def on_line(line: str) -> None:
        if line == "ready":
            raise KeyboardInterrupt

    code = f"import subprocess, time; subprocess.Popen(['sh', '-c', 'sleep 300; : {marker}']); print('ready', flush=True); time.sleep(300)"
    with pytest.raises(KeyboardInterrupt):
        proc.run([sys.executable, "-c", code], on_line=on_line, on_start=started.append, timeout=None, stop_grace=0.5)
    time.sleep(0.3)
    assert started and not _alive(started[0]) and not _pids_with(marker)


@posix_only
def test_in_parallel_keeps_order_and_stops_children_on_interrupt():
    """Ctrl-C reaches the main thread while it waits on workers that wait on hung children."""
    import threading

    assert proc.in_parallel([lambda: 1, lambda: 2, lambda: 3]) == [1, 2, 3]

    def hang():
        return proc.run([sys.executable, "-c", "import time; time.sleep(300)"], timeout=None)

    threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    t0 = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        proc.in_parallel([hang, hang])
    assert time.monotonic() - t0 < 5
    time.sleep(0.3)
    assert not proc._LIVE or all(c.proc.poll() is not None for c in list(proc._LIVE))


HANGING_TORCH = textwrap.dedent(
    """
    import time
    __version__ = "2.5.0+cu124"
    time.sleep(600)  # a framework whose import hangs (a wedged driver, a network file system)
    """
)


@posix_only
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_doctor_stops_a_hung_import_at_once(tmp_path, sig):
    """Ctrl-C or SIGTERM while a framework import hangs: doctor stops within 2 s, says so, leaves no child."""
    site = tmp_path / "site"
    (site / "torch").mkdir(parents=True)
    (site / "torch" / "__init__.py").write_text(HANGING_TORCH)
    env = dict(os.environ, PYTHONPATH=str(site), GPUREADY_HOME=str(tmp_path / "home"))
    p = subprocess.Popen([sys.executable, "-m", "gpuready", "doctor", "--timeout", "300"], cwd=ROOT, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not _pids_with("_framework_child.py torch", str(site)):
        assert time.monotonic() < deadline, "the framework child never started"
        assert p.poll() is None, p.communicate()
        time.sleep(0.1)
    time.sleep(0.5)
    t0 = time.monotonic()
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    took = time.monotonic() - t0
    assert took < 2.5, f"took {took:.1f} s"
    assert p.returncode == 128 + sig and "interrupted" in err, (p.returncode, err)  # 130 / 143
    time.sleep(0.3)
    assert not _pids_with("_framework_child.py torch", str(site)), "the import child outlived gpuready"
