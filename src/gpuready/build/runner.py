"""Run a build step: stream its output into the log file and the log reader, show progress.

A build runs for minutes, its log must be kept whole (the path is printed, `explain` reads it),
and the user must see it move. gpuready.proc runs the step (streamed, its own process group with
the compilers it starts, parent-death signal, a timeout and Ctrl-C stop the whole tree, the same log
format as installs); this adds the `LogReader`, which turns lines into a phase and N/M, and the
progress bar.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable, Mapping, Sequence

from gpuready.build.logread import LogReader, Progress
from gpuready.proc import CommandLog, Result, run


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
) -> Result:
    """Run one step; append everything it prints to `log`. Raises KeyboardInterrupt after stopping it."""
    if view:
        view.step(name)

    def line(text: str) -> None:
        if reader is not None:
            prog = reader.feed(text)
            if prog is not None and view is not None:
                view.update(prog)
        if on_line is not None:
            on_line(text)

    # Line-buffered: the log is read while the build runs (tail -f, the user, a timeout's last words).
    with CommandLog(log) as out:
        res = run(argv, timeout=timeout, env=env, cwd=cwd, on_line=line, log=out, title=name, stop_grace=5.0)
        if res.timed_out:
            out.note(f"step '{name}' ran past its {timeout:.0f} s limit and was stopped")
    return res


def log_line(log: Path, text: str) -> None:
    """A line of gpuready's own in the build log (what it decided, what it checked)."""
    with CommandLog(log) as out:
        out.note(text)


def stderr_is_tty() -> bool:
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False
