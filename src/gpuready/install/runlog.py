"""The full log of one install or download: every command, its environment additions, all its output.

The terminal shows progress and a summary; the log keeps everything, so that a failure can be
explained (it goes through `gpuready explain`) and reported without running it again. It lives in
gpuready's cache folder (`<user cache>/gpuready/logs/`, or `$GPUREADY_HOME/logs`), beside the
build logs, and its path is printed at the start and the end of each run.
"""

from __future__ import annotations

import datetime as _dt
import os
from pathlib import Path
from typing import TextIO

from gpuready.paths import logs_dir


class RunLog:
    """An append-only, line-buffered log file; never raises (a full disk must not abort an install)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = open(path, "a", encoding="utf-8", errors="replace", buffering=1)
        except OSError:
            self._fh = None

    @classmethod
    def new(cls, kind: str) -> RunLog:
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        return cls(logs_dir() / f"{kind}-{stamp}-{os.getpid()}.log")

    def write(self, text: str) -> None:
        if self._fh is None:
            return
        try:
            self._fh.write(text if text.endswith("\n") else text + "\n")
        except OSError:
            pass

    def section(self, title: str) -> None:
        now = _dt.datetime.now().isoformat(timespec="seconds")
        self.write(f"\n===== {now} {title}")

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
