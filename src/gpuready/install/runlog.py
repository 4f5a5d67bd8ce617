"""The full log of one install or download: every command, its environment additions, all its output.

The terminal shows progress and a summary; the log keeps everything, so that a failure can be
explained (it goes through `gpuready explain`) and reported without running it again. It lives in
gpuready's log folder (`<user cache>/gpuready/logs/`, or `$GPUREADY_HOME/logs`), beside the build
logs, in the same format (gpuready.proc.CommandLog), and its path is printed at the start and the end
of each run.
"""

from __future__ import annotations

import datetime as _dt
import os

from gpuready.paths import logs_dir
from gpuready.proc import CommandLog


class RunLog(CommandLog):
    @classmethod
    def new(cls, kind: str) -> RunLog:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return cls(logs_dir() / f"{kind}-{stamp}-{os.getpid()}.log")


__all__ = ["RunLog", "logs_dir"]
