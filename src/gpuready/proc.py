"""Running other programs without ever hanging, crashing, raising or leaving a child behind.

Everything gpuready learns from or does to the outside world goes through a child process:
`nvidia-smi` (which hangs when the driver is wedged), `nvcc --version`, each GPU framework's
import (which can hang, segfault, or take seconds), pip and uv during an install, cmake and nvcc
during a build, the command `explain -- CMD` watches. This module is the one place that starts
them, with one set of rules:

* every child leads its own process group (Windows: its own job object, closed -> killed), so a
  timeout, Ctrl-C or SIGTERM stops the whole tree (the compilers a build starts are grandchildren);
* on Linux a child also gets PR_SET_PDEATHSIG, so not even a `kill -9` of gpuready leaves pip
  changing an environment or nvcc compiling;
* a timeout kills the tree and says so; a crash is reported by signal name; output is capped, so a
  runaway tool cannot fill gpuready's memory;
* Ctrl-C or SIGTERM while a child runs stops it (SIGTERM, then SIGKILL after a grace period) and the
  interrupt is raised again for the caller to clean up.

`run` collects output (stdout and stderr apart) or streams it line by line (merged, each line to a
callback and to an optional log, the last lines kept); `Child` is the running process itself, for the
caller that consumes output as it comes (`explain -- CMD`). One result type, `Result`, and one log
format (`CommandLog`) serve all of them.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterator, Mapping, Sequence, TextIO, TypeVar

T = TypeVar("T")

IS_WINDOWS = sys.platform == "win32"

# Child scripts print their result as one line starting with MARK, so that whatever a framework
# prints on stdout while importing (banners, warnings) cannot be mistaken for the result.
MARK = "\x1eGPUREADY "

MAX_OUTPUT = 32 * 1024 * 1024  # bytes of each collected stream kept; the rest is read and dropped
KEEP_LINES = 4000  # lines of a streamed run kept in Result.stdout (a log, when given, keeps all)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP: unwinds like Ctrl-C (children are stopped, transactions roll back), then exits
    128 + the signal's number (143 for SIGTERM, 129 for SIGHUP), as a shell reports a process it killed."""

    def __init__(self, message: str = "", signum: int = 15) -> None:
        super().__init__(message)
        self.signum = signum


def interrupt_exit_code(exc: BaseException) -> int:
    """The exit status for an interrupt: 130 for Ctrl-C, 128 + N for a Terminated by signal N."""
    return 128 + exc.signum if isinstance(exc, Terminated) else 130


@dataclass(frozen=True)
class Result:
    argv: tuple[str, ...]
    returncode: int | None  # None when the program could not be started or timed out
    stdout: str = ""  # a streamed run: its merged output (the last KEEP_LINES lines)
    stderr: str = ""
    timed_out: bool = False
    not_found: bool = False  # the program does not exist
    start_error: str = ""  # why it could not be started
    seconds: float = 0.0
    truncated: bool = False  # output went over MAX_OUTPUT and was cut

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

    def describe(self) -> str:
        """How it ended, in words: "exit status 1", "killed by SIGSEGV", "timed out", "could not start: ..."."""
        if self.start_error:
            return f"could not start: {self.start_error}"
        if self.timed_out:
            return "timed out"
        if self.signal:
            return f"killed by {self.signal}"
        return f"exit status {self.returncode}"


# NTSTATUS codes a crashed Windows process exits with (as unsigned 32-bit).
_WINDOWS_CRASH_CODES = {
    0xC0000005: "ACCESS_VIOLATION",
    0xC0000409: "STACK_BUFFER_OVERRUN",
    0xC000001D: "ILLEGAL_INSTRUCTION",
    0xC0000135: "DLL_NOT_FOUND",
}


def which(name: str, path: str | None = None) -> str:
    return shutil.which(name, path=path) or ""


# --- the log format every command log uses ------------------------------------------------------------


class CommandLog:
    """An append-only, line-buffered log of commands and their output; never raises (a full disk must not
    abort an install or a build). One format for install, download and build logs:

        ===== 2026-12-02T03:04:05 [configure] $ cmake -S ... -B ...   (in /tmp/work)
        <every line the command printed>
        [gpuready] exit status 0 after 12.3 s
        [gpuready] <a note of gpuready's own>
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8", errors="replace", buffering=1)
        except OSError:
            self._fh = None

    def write(self, text: str) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(text if text.endswith("\n") else text + "\n")
        except (OSError, ValueError):
            pass

    def section(self, title: str) -> None:
        now = _dt.datetime.now().isoformat(timespec="seconds")
        self.write(f"\n===== {now} {title}")

    def command(self, argv: Sequence[str], *, title: str = "", cwd: str | None = None) -> None:
        label = f"[{title}] " if title else ""
        self.section(f"{label}$ {_display(argv)}" + (f"   (in {cwd})" if cwd else ""))

    def note(self, text: str) -> None:
        self.write(f"[gpuready] {text}")

    def ended(self, res: Result) -> None:
        self.note(f"{res.describe()} after {res.seconds:.1f} s" + (" (output cut)" if res.truncated else ""))

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.close()
            except OSError:
                pass
            self._fh = None

    def text(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def __enter__(self) -> CommandLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _display(argv: Sequence[str]) -> str:
    import shlex

    return " ".join(shlex.quote(str(a)) for a in argv)


# --- the running child ----------------------------------------------------------------------------------


def _pdeathsig() -> Callable[[], None] | None:
    """A preexec function that makes the child die with us (Linux only). Only where gpuready runs a single
    thread: preexec_fn is not safe next to other threads (the probe's parallel children have timeouts)."""
    if not sys.platform.startswith("linux") or threading.active_count() > 1:
        return None
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:
        return None

    def setup() -> None:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG = 1

    return setup


class _Job:
    """A Windows job object that kills every process in it when closed (or when gpuready dies)."""

    def __init__(self) -> None:
        import ctypes
        from ctypes import wintypes

        self._k32 = ctypes.WinDLL("kernel32", use_last_error=True)  # type: ignore[attr-defined]

        class IoCounters(ctypes.Structure):
            _fields_ = [(n, ctypes.c_ulonglong) for n in (
                "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

        class BasicLimits(ctypes.Structure):
            _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64), ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t), ("ActiveProcessLimit", wintypes.DWORD),
                        ("Affinity", ctypes.c_size_t), ("PriorityClass", wintypes.DWORD),
                        ("SchedulingClass", wintypes.DWORD)]

        class ExtendedLimits(ctypes.Structure):
            _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", IoCounters),
                        ("ProcessMemoryLimit", ctypes.c_size_t), ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t), ("PeakJobMemoryUsed", ctypes.c_size_t)]

        self.handle = self._k32.CreateJobObjectW(None, None)
        info = ExtendedLimits()
        info.BasicLimitInformation.LimitFlags = 0x2000  # JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
        self._k32.SetInformationJobObject(self.handle, 9, ctypes.byref(info), ctypes.sizeof(info))  # 9: extended

    def add(self, proc: subprocess.Popen) -> None:
        self._k32.AssignProcessToJobObject(self.handle, int(proc._handle))  # type: ignore[attr-defined]

    def kill(self) -> None:
        self._k32.TerminateJobObject(self.handle, 1)

    def close(self) -> None:
        if self.handle:
            self._k32.CloseHandle(self.handle)
            self.handle = None


_LIVE: set["Child"] = set()  # every child not yet reaped, for stop_all
_LIVE_LOCK = threading.Lock()


def stop_all() -> None:
    """Kill every child gpuready started that is still running (an interrupt reached the main thread while
    other threads were waiting on theirs)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for child in live:
        child.kill()


def in_parallel(calls: Sequence[Callable[[], T]], max_workers: int | None = None) -> list[T]:
    """Run `calls` in threads (each typically waits on a child process) and return their results in order.
    An interrupt in the caller's thread kills every child at once and propagates without waiting for the
    threads to notice: Ctrl-C during a hung import stops doctor now, not after the import timeout."""
    if not calls:
        return []
    pool = ThreadPoolExecutor(max_workers=max_workers or len(calls))
    try:
        futures = [pool.submit(c) for c in calls]
        return [f.result() for f in futures]
    except BaseException:
        stop_all()
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


class Child:
    """One started program in its own process group (or job), stopped with everything it started on any
    way out: `with Child.start(argv) as child: for line in child.lines(): ...`."""

    def __init__(self, proc: subprocess.Popen, argv: tuple[str, ...], job: _Job | None, timeout: float | None) -> None:
        self.proc = proc
        self.argv = argv
        self.pid = proc.pid
        self._job = job
        self.started = time.monotonic()
        self.timed_out = threading.Event()
        self._timer: threading.Timer | None = None
        if timeout is not None:
            self._timer = threading.Timer(timeout, self._expire)
            self._timer.daemon = True
            self._timer.start()

    @classmethod
    def start(
        cls,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | Path | None = None,
        timeout: float | None = None,
        merge: bool = True,
        stdin_data: bool = False,
    ) -> Child:
        """Start `argv` with piped output (stderr into stdout when `merge`); raises OSError when it cannot start."""
        argv = tuple(str(a) for a in argv)
        kwargs: dict = {}
        job = None
        if IS_WINDOWS:
            kwargs["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP  # type: ignore[attr-defined]
        else:
            kwargs["start_new_session"] = True
            pre = _pdeathsig()
            if pre is not None:
                kwargs["preexec_fn"] = pre
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            stdin=subprocess.PIPE if stdin_data else subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=str(cwd) if cwd is not None else None,
            **kwargs,
        )
        if IS_WINDOWS:
            try:
                job = _Job()
                job.add(proc)
            except OSError:  # pragma: no cover - nested jobs on old Windows: the process group still works
                job = None
        child = cls(proc, argv, job, timeout)
        with _LIVE_LOCK:
            _LIVE.add(child)
        return child

    def _expire(self) -> None:
        self.timed_out.set()
        self.kill()

    def lines(self) -> Iterator[str]:
        """The merged output, line by line as it comes (a carriage return ends a line too: progress bars)."""
        assert self.proc.stdout is not None
        for raw in iter(self.proc.stdout.readline, b""):
            for piece in raw.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n"):
                if piece:
                    yield piece.decode("utf-8", errors="replace")

    def wait(self) -> int:
        return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL the whole tree at once."""
        try:
            if self._job is not None:
                self._job.kill()
            elif IS_WINDOWS:
                self.proc.kill()
            else:
                os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError, OSError):
            try:
                self.proc.kill()
            except OSError:
                pass

    def stop(self, grace: float = 2.0) -> None:
        """SIGTERM the tree (CTRL_BREAK on Windows), SIGKILL what is left after `grace` seconds; reap it."""
        if self.proc.poll() is None:
            try:
                if IS_WINDOWS:
                    self.proc.send_signal(signal.CTRL_BREAK_EVENT)  # type: ignore[attr-defined]
                else:
                    os.killpg(self.proc.pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError, OSError):
                pass
            try:
                self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        # Grandchildren may outlive the leader: the group (or job) goes in any case.
        self.kill()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a zombie we cannot reap
            pass

    def close(self) -> None:
        with _LIVE_LOCK:
            _LIVE.discard(self)
        if self._timer is not None:
            self._timer.cancel()
        for stream in (self.proc.stdout, self.proc.stderr, self.proc.stdin):
            if stream is not None:
                try:
                    stream.close()
                except OSError:
                    pass
        if self._job is not None:
            self._job.close()

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started

    def __enter__(self) -> Child:
        return self

    def __exit__(self, kind, exc, tb) -> None:
        if kind is not None or self.proc.poll() is None:
            self.stop(grace=0.5 if kind is not None and not issubclass(kind, KeyboardInterrupt) else 2.0)
        self.close()


def _read_capped(stream, cap: int, sink: list[bytes], flags: list[bool]) -> None:
    kept = 0
    try:
        while True:
            chunk = stream.read(65536)
            if not chunk:
                return
            if kept < cap:
                sink.append(chunk[: cap - kept])
                kept += len(sink[-1])
            if kept >= cap and len(chunk) > 0 and not flags:
                flags.append(True)
    except (OSError, ValueError):
        return


def run(
    argv: Sequence[str],
    *,
    timeout: float | None = 10.0,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    input_text: str | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    log: CommandLog | None = None,
    title: str = "",
    keep_lines: int = KEEP_LINES,
    max_output: int = MAX_OUTPUT,
    stop_grace: float = 2.0,
) -> Result:
    """Run `argv` and return how it went; never raises for the program's failure, never outlives `timeout`
    seconds (None: no limit) plus a kill. An interrupt (Ctrl-C, SIGTERM) stops the child's whole tree, then
    propagates.

    Collecting (the default): stdout and stderr apart, each capped at `max_output` bytes. Streaming (`on_line`
    or `log` given): stderr merged into stdout, every line to `on_line` and `log` as it comes, the last
    `keep_lines` lines in the result's stdout."""
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    streaming = on_line is not None or log is not None
    if log is not None:
        log.command(argv, title=title, cwd=str(cwd) if cwd else None)
    try:
        child = Child.start(argv, env=env, cwd=cwd, timeout=timeout, merge=streaming, stdin_data=input_text is not None)
    except FileNotFoundError:
        res = Result(argv, None, not_found=True, start_error=f"{argv[0]}: not found")
        if log is not None:
            log.ended(res)
        return res
    except OSError as exc:
        res = Result(argv, None, start_error=f"{argv[0]}: {exc.strerror or exc}")
        if log is not None:
            log.ended(res)
        return res
    with child:
        if on_start is not None:
            on_start(child.pid)
        if streaming:
            tail: deque[str] = deque(maxlen=keep_lines)
            try:
                for line in child.lines():
                    tail.append(line)
                    if log is not None:
                        log.write(line)
                    if on_line is not None:
                        on_line(line)
                rc = child.wait()
            except BaseException:
                child.stop(stop_grace)
                if log is not None:
                    log.note(f"interrupted after {time.monotonic() - start:.1f} s; stopped {argv[0]} and what it started")
                raise
            res = Result(argv, None if child.timed_out.is_set() else rc, "\n".join(tail), timed_out=child.timed_out.is_set(),
                         seconds=time.monotonic() - start)
        else:
            out: list[bytes] = []
            err: list[bytes] = []
            cut: list[bool] = []
            readers = [threading.Thread(target=_read_capped, args=(child.proc.stdout, max_output, out, cut), daemon=True)]
            if child.proc.stderr is not None:
                readers.append(threading.Thread(target=_read_capped, args=(child.proc.stderr, max_output, err, cut), daemon=True))
            for t in readers:
                t.start()
            try:
                if input_text is not None and child.proc.stdin is not None:
                    try:
                        child.proc.stdin.write(input_text.encode())
                        child.proc.stdin.close()
                    except (BrokenPipeError, OSError):
                        pass
                rc = child.wait()
                for t in readers:
                    t.join(timeout=5)
            except BaseException:
                child.stop(stop_grace)
                raise
            res = Result(argv, None if child.timed_out.is_set() else rc, _text(b"".join(out)), _text(b"".join(err)),
                         timed_out=child.timed_out.is_set(), seconds=time.monotonic() - start, truncated=bool(cut))
    if log is not None:
        log.ended(res)
    return res


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


def terminate_on_signals() -> None:
    """SIGTERM and SIGHUP raise Terminated in the main thread, so they unwind like Ctrl-C: every running
    child is stopped, an install rolls back, the command exits 143. Called once at start-up by the CLI."""
    if threading.current_thread() is not threading.main_thread():
        return

    def raise_term(signum, frame):  # noqa: ARG001
        raise Terminated(f"received {signal.Signals(signum).name}", signum)

    for name in ("SIGTERM", "SIGHUP"):
        sig = getattr(signal, name, None)
        if sig is not None:
            try:
                signal.signal(sig, raise_term)
            except (ValueError, OSError):
                pass
