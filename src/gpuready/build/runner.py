"""Run a build step: stream its output into the log file and the log reader, show progress.

`proc.run` collects output and returns it at the end, which is right for a probe and wrong for a
build: a build runs for minutes, its log must be kept whole (the path is printed, `explain` reads
it), and the user must see it move. So build steps run here: merged stdout/stderr read line by
line, every line appended to the log, fed to the `LogReader` (which turns it into a phase and
N/M), and shown as a progress bar. A timeout or Ctrl-C kills the whole process group (compilers
are grandchildren), and Ctrl-C is re-raised so the caller can clean up.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping, Sequence

from gpuready.build.logread import LogReader, Progress
from gpuready.proc import IS_WINDOWS, kill_tree


@dataclass
class StepResult:
    name: str
    argv: tuple[str, ...]
    returncode: int | None
    seconds: float
    timed_out: bool = False
    start_error: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0


class ProgressView:
    """A rich progress bar per build phase; silent when disabled or not a terminal."""

    def __init__(self, enabled: bool, title: str):
        self.enabled = enabled
        self.title = title
        self._progress = None
        self._task = None
        self._phase = ""

    def __enter__(self) -> "ProgressView":
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn

            from gpuready.report.terminal import console

            self._progress = RichProgress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.fields[what]}", style="dim"), console=console(stderr=True), transient=False,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.title, total=None, what="")
        return self

    def step(self, name: str) -> None:
        self._phase = name
        if self._progress is not None:
            self._progress.update(self._task, description=f"{self.title}: {name}", total=None, completed=0, what="")

    def update(self, p: Progress) -> None:
        if self._progress is None:
            return
        desc = f"{self.title}: {p.phase}"
        what = p.what[:60]
        if p.total:
            self._progress.update(self._task, description=desc, total=p.total, completed=p.done or 0, what=what)
        elif p.percent is not None:
            self._progress.update(self._task, description=desc, total=100, completed=int(p.percent), what=what)
        else:
            self._progress.update(self._task, description=desc, what=what)

    def note(self, text: str) -> None:
        if self._progress is not None:
            self._progress.console.print(text, highlight=False)

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()


def run_step(
    name: str,
    argv: Sequence[str],
    *,
    log: Path,
    reader: LogReader | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | Path | None = None,
    timeout: float | None = None,
    view: ProgressView | None = None,
    on_line: Callable[[str], None] | None = None,
) -> StepResult:
    """Run one step; append everything it prints to `log`. Raises KeyboardInterrupt after killing it."""
    argv = tuple(str(a) for a in argv)
    start = time.monotonic()
    log.parent.mkdir(parents=True, exist_ok=True)
    if view:
        view.step(name)
    # Line-buffered: the log is read while the build runs (tail -f, the user, a timeout's last words).
    with open(log, "a", encoding="utf-8", errors="replace", buffering=1) as fh:
        fh.write(f"\n==> [{name}] $ {' '.join(argv)}\n" + (f"    (in {cwd})\n" if cwd else ""))
        fh.flush()
        kwargs: dict = {}
        if IS_WINDOWS:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        else:
            kwargs["start_new_session"] = True
        try:
            proc = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=dict(env) if env is not None else None, cwd=str(cwd) if cwd else None, **kwargs,
            )
        except OSError as exc:
            msg = f"{argv[0]}: {exc.strerror or exc}"
            fh.write(f"gpuready: could not start: {msg}\n")
            return StepResult(name, argv, None, time.monotonic() - start, start_error=msg)
        timed_out = threading.Event()
        timer = None
        if timeout:
            timer = threading.Timer(timeout, lambda: (timed_out.set(), kill_tree(proc)))
            timer.daemon = True
            timer.start()
        try:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                line = raw.decode("utf-8", errors="replace")
                fh.write(line)
                if reader is not None:
                    prog = reader.feed(line)
                    if prog is not None and view is not None:
                        view.update(prog)
                if on_line is not None:
                    on_line(line)
            proc.wait()
        except KeyboardInterrupt:
            kill_tree(proc)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            fh.write("\ngpuready: interrupted (Ctrl-C); the build was stopped\n")
            raise
        finally:
            if timer is not None:
                timer.cancel()
        seconds = time.monotonic() - start
        if timed_out.is_set():
            fh.write(f"\ngpuready: step '{name}' ran past its {timeout:.0f} s limit and was stopped\n")
            return StepResult(name, argv, None, seconds, timed_out=True)
        fh.write(f"==> [{name}] exit {proc.returncode} after {seconds:.1f} s\n")
        return StepResult(name, argv, proc.returncode, seconds)


def log_line(log: Path, text: str) -> None:
    """A line of gpuready's own in the build log (what it decided, what it checked)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"gpuready: {text}\n")


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
