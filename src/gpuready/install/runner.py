"""Run one installer command while streaming its output to the log and the progress view.

Unlike `gpuready.proc.run` (which collects output and returns), an install must show progress
while it runs and must be stoppable: the child runs in its own process session, so a Ctrl-C in
the terminal reaches gpuready only; gpuready then stops the child's whole process group (pip's
build subprocesses included) before it rolls back. On Linux the child also gets
PR_SET_PDEATHSIG, so if gpuready itself is killed outright, pip does not carry on changing an
environment that the next `gpuready install` will restore.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable

from gpuready.install.executor import Command
from gpuready.install.progress import OutputParser, ProgressView
from gpuready.install.runlog import RunLog
from gpuready.proc import IS_WINDOWS, kill_tree

KEEP_LINES = 4000  # output lines of one step kept in memory for explain (the log keeps all)


@dataclass
class StepResult:
    returncode: int | None  # None: could not start
    seconds: float
    output: str  # the last KEEP_LINES lines
    start_error: str = ""
    signal: str = ""
    parser: OutputParser | None = None

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _pdeathsig() -> Callable[[], None] | None:
    """A preexec function that makes the child die with us (Linux only)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None

    def setup() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1

    return setup


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """SIGTERM the child's process group, then SIGKILL after `grace` seconds."""
    if proc.poll() is not None:
        return
    try:
        if IS_WINDOWS:
            proc.terminate()
        else:
            os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError, OSError):
        pass
    try:
        proc.wait(timeout=grace)
        return
    except subprocess.TimeoutExpired:
        pass
    kill_tree(proc)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
        pass


def run_step(
    cmd: Command,
    log: RunLog,
    view: ProgressView | None = None,
    *,
    cwd: str | None = None,
    on_start: Callable[[int], None] | None = None,
) -> StepResult:
    """Run `cmd`, stream its output; raises KeyboardInterrupt (after stopping the child) when interrupted."""
    env = dict(os.environ)
    env.update(cmd.env)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    log.section(f"$ {cmd.display()}")
    kwargs: dict = {}
    if IS_WINDOWS:
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    else:
        kwargs["start_new_session"] = True
        pre = _pdeathsig()
        if pre is not None:
            kwargs["preexec_fn"] = pre
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            list(cmd.argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env=env, cwd=cwd, **kwargs,
        )
    except OSError as exc:
        why = f"{cmd.argv[0]}: {exc.strerror or exc}"
        log.write(f"cannot start: {why}")
        return StepResult(None, 0.0, why, start_error=why)
    parser = OutputParser()
    tail: deque[str] = deque(maxlen=KEEP_LINES)
    try:
        if on_start is not None:
            on_start(proc.pid)  # the child leads its own process group: recovery can stop leftovers
        assert proc.stdout is not None
        for raw in iter(proc.stdout.readline, b""):
            for piece in raw.replace(b"\r", b"\n").split(b"\n"):
                line = piece.decode("utf-8", errors="replace").rstrip()
                if not line:
                    continue
                tail.append(line)
                if not line.lstrip().startswith("Progress "):
                    log.write(line)
                what = parser.feed(line)
                if view is not None:
                    view.update(parser, what)
        rc = proc.wait()
    except BaseException:
        stop_process(proc)
        log.write(f"[gpuready] interrupted after {time.monotonic() - start:.1f} s; stopped the installer")
        raise
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    parser.close()
    took = time.monotonic() - start
    sig = ""
    if rc < 0:
        try:
            sig = signal.Signals(-rc).name
        except ValueError:
            sig = f"signal {-rc}"
    log.write(f"[gpuready] exit status {rc}{' (' + sig + ')' if sig else ''} after {took:.1f} s")
    return StepResult(rc, took, "\n".join(tail), signal=sig, parser=parser)
