"""Run one installer command while streaming its output to the log and the progress view.

The process rules (own process group, parent-death signal, Ctrl-C and SIGTERM stop the whole tree
before the interrupt reaches the transaction, which then rolls back) are gpuready.proc's; this adds
what an install step needs on top: pip's and uv's output parsed for progress and slow downloads.
"""

from __future__ import annotations

import os
from typing import Callable

from gpuready.install.executor import Command
from gpuready.install.progress import OutputParser, ProgressView
from gpuready.install.runlog import RunLog
from gpuready.proc import Result, run


def run_step(
    cmd: Command,
    log: RunLog,
    view: ProgressView | None = None,
    *,
    cwd: str | None = None,
    on_start: Callable[[int], None] | None = None,
    parser: OutputParser | None = None,
    timeout: float | None = None,
) -> Result:
    """Run `cmd`, stream its output; raises KeyboardInterrupt (after stopping the child) when interrupted.
    `parser` (given or not) sees every line; pass one to read the downloads afterwards."""
    env = dict(os.environ)
    env.update(cmd.env)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    parser = parser if parser is not None else OutputParser()

    def line(text: str) -> None:
        if not text.lstrip().startswith("Progress "):  # pip's --progress-bar=raw lines feed the view, not the log
            log.write(text.rstrip())
        what = parser.feed(text.rstrip())
        if view is not None:
            view.update(parser, what)

    log.section(f"$ {cmd.display()}")
    try:
        res = run(cmd.argv, timeout=timeout, env=env, cwd=cwd, on_line=line, on_start=on_start, stop_grace=5.0)
    except BaseException:
        log.note(f"interrupted; stopped {cmd.argv[0]} and what it started")
        raise
    log.ended(res)
    parser.close()
    return res
