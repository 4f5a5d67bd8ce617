"""Running other programs without ever hanging, crashing or raising.

Everything gpuready learns from the outside world comes through a child process:
`nvidia-smi` (which hangs when the driver is wedged), `nvcc --version`, and each GPU
framework's import (which can hang, segfault, or take seconds). This module is the
one place that starts them: each call has a timeout, kills the child's whole
process group when it runs over, and reports a crash by signal name instead of
passing it on.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from typing import Mapping, Sequence

IS_WINDOWS = sys.platform == "win32"

# Child scripts print their result as one line starting with MARK, so that whatever a framework
# prints on stdout while importing (banners, warnings) cannot be mistaken for the result.
MARK = "\x1eGPUREADY "


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program could not be started or timed out
    stdout: str = ""
    stderr: str = ""
    timed_out: bool = False
    not_found: bool = False  # the program does not exist
    start_error: str = ""  # why it could not be started
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def signal(self) -> str:
        """ "SIGSEGV" when the child was killed by a signal (POSIX), "" otherwise."""
        rc = self.returncode
        if rc is not None and rc < 0:
            try:
                return signal.Signals(-rc).name
            except ValueError:
                return f"signal {-rc}"
        if rc is not None and IS_WINDOWS and rc in _WINDOWS_CRASH_CODES:
            return _WINDOWS_CRASH_CODES[rc]
        return ""

    @property
    def output(self) -> str:
        return (self.stdout + ("\n" if self.stdout and self.stderr else "") + self.stderr).strip()

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.output.splitlines()[-lines:])


# NTSTATUS codes a crashed Windows process exits with (as unsigned 32-bit).
_WINDOWS_CRASH_CODES = {
    0xC0000005: "ACCESS_VIOLATION",
    0xC0000409: "STACK_BUFFER_OVERRUN",
    0xC000001D: "ILLEGAL_INSTRUCTION",
    0xC0000135: "DLL_NOT_FOUND",
}


def which(name: str, path: str | None = None) -> str:
    return shutil.which(name, path=path) or ""


def run(
    argv: Sequence[str],
    *,
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    input_text: str | None = None,
    max_output: int | None = None,
) -> Result:
    """Run `argv`, return its output; never raises, never outlives `timeout` seconds (plus a kill).

    `max_output`: keep at most this many bytes of each stream (the rest is read and dropped), for tools
    whose output is parsed, not shown: a broken nvidia-smi printing 200 MB must not take 1 GB of memory."""
    import time

    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    kwargs: dict = {}
    if IS_WINDOWS:
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    else:
        kwargs["start_new_session"] = True  # so a timeout kills grandchildren too
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            **kwargs,
        )
    except FileNotFoundError:
        return Result(argv, None, not_found=True, start_error=f"{argv[0]}: not found")
    except OSError as exc:
        return Result(argv, None, start_error=f"{argv[0]}: {exc.strerror or exc}")
    try:
        if max_output is not None:
            out, err, over_time = _communicate_capped(proc, input_text, timeout, max_output)
            if over_time:
                return Result(argv, None, _text(out), _text(err), timed_out=True, seconds=time.monotonic() - start)
            return Result(argv, proc.returncode, _text(out), _text(err), seconds=time.monotonic() - start)
        out, err = proc.communicate(input=input_text.encode() if input_text is not None else None, timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_tree(proc)
        try:
            out, err = proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            out, err = b"", b""
        return Result(
            argv, None, _text(out), _text(err), timed_out=True, seconds=time.monotonic() - start
        )
    except BaseException:  # Ctrl-C: do not leave the child (and the GPU memory it holds) behind
        kill_tree(proc)
        raise
    return Result(argv, proc.returncode, _text(out), _text(err), seconds=time.monotonic() - start)


def _communicate_capped(proc: subprocess.Popen, input_text: str | None, timeout: float, cap: int) -> tuple[bytes, bytes, bool]:
    """communicate(), keeping at most `cap` bytes per stream; (stdout, stderr, timed out). Kills on timeout."""
    import threading
    import time

    kept: dict[str, bytearray] = {"out": bytearray(), "err": bytearray()}

    def drain(stream, key: str) -> None:
        buf = kept[key]
        with contextlib.suppress(OSError, ValueError):
            while True:
                chunk = stream.read1(1 << 16) if hasattr(stream, "read1") else stream.read(1 << 16)
                if not chunk:
                    break
                if len(buf) < cap:
                    buf += chunk[: cap - len(buf)]

    threads = [threading.Thread(target=drain, args=(proc.stdout, "out"), daemon=True),
               threading.Thread(target=drain, args=(proc.stderr, "err"), daemon=True)]
    for t in threads:
        t.start()
    if proc.stdin is not None:
        with contextlib.suppress(OSError):
            proc.stdin.write((input_text or "").encode())
            proc.stdin.close()
    deadline = time.monotonic() + timeout
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        kill_tree(proc)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
    for t in threads:  # a grandchild holding the pipe open must not keep us here
        t.join(timeout=max(0.1, min(5.0, deadline - time.monotonic() + 1)))
    return bytes(kept["out"]), bytes(kept["err"]), timed_out


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL a child started in its own session, with everything it started (compilers, ninja)."""
    try:
        if IS_WINDOWS:
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass


def _text(data: bytes | None) -> str:
    return (data or b"").decode("utf-8", errors="replace")


def run_python(
    code: str,
    *,
    python: str | None = None,
    timeout: float = 60.0,
    env: Mapping[str, str] | None = None,
    args: Sequence[str] = (),
) -> Result:
    """Run `code` in a fresh interpreter (by default this one), isolated from our own imports."""
    child_env = dict(os.environ if env is None else env)
    child_env.setdefault("PYTHONIOENCODING", "utf-8")
    child_env["PYTHONDONTWRITEBYTECODE"] = "1"
    return run([python or sys.executable, "-c", code, *args], timeout=timeout, env=child_env)


def parse_marked_json(text: str) -> dict | None:
    """The JSON payload a child printed after MARK (the last one wins; other output is ignored)."""
    payload = None
    for line in text.split("\n"):  # not splitlines(): it splits on MARK's own \x1e
        pos = line.find(MARK)
        if pos >= 0:
            try:
                payload = json.loads(line[pos + len(MARK) :])
            except json.JSONDecodeError:
                continue
    return payload if isinstance(payload, dict) else None
