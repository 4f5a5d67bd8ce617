"""Visible progress for long installs: one line per step, a bar per download, elapsed time.

pip and uv print what they are doing (Collecting, Downloading x (850 MB), Building wheel,
Installing collected packages); pip >= 24.1 with `--progress-bar raw` also prints
`Progress N of M` byte counts. `OutputParser` turns those lines into events; `ProgressView`
shows them with rich when stderr is a terminal, and as plain one-line-per-step text otherwise
(CI logs, `--json`), so the output is readable in both.

The parser also measures each download's speed, because "the index is slow" deserves a hint
about a mirror before the user gives up on a 3 GB CUDA wheel.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field

from rich.console import Console

_SIZE_UNITS = {
    "b": 1, "bytes": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024**2, "gib": 1024**3,
    "kbytes": 1e3, "mbytes": 1e6,
}

_PIP_DOWNLOAD = re.compile(r"^\s*Downloading\s+(\S+)\s+\(([\d.]+)\s*([kKmMgG]?i?[bB](?:ytes)?)\)")
_UV_DOWNLOAD = re.compile(r"^\s*Downloading\s+(\S+)\s+\(([\d.]+)\s*([kKmMgG]i?B)\)")
_RAW = re.compile(r"^\s*Progress\s+(\d+)\s+of\s+(\d+|\?)")
_UV_DOWNLOADED = re.compile(r"^\s*Downloaded\s+(\S+)")
_STATUS = (
    (re.compile(r"^\s*Collecting\s+(\S+)"), "collecting {0}"),
    (re.compile(r"^\s*Processing\s+(\S+)"), "processing {0}"),
    (re.compile(r"^\s*Building wheels? for\s+(\S+)"), "building {0}"),
    (re.compile(r"^\s*Building\s+(\S+==\S+)"), "building {0}"),
    (re.compile(r"^\s*Installing collected packages:\s*(.*)"), "installing {0}"),
    (re.compile(r"^\s*Attempting uninstall:\s*(\S+)"), "replacing {0}"),
    (re.compile(r"^\s*Resolved\s+(\d+)\s+packages?"), "resolved {0} packages"),
    (re.compile(r"^\s*Prepared\s+(\d+)\s+packages?"), "prepared {0} packages"),
    (re.compile(r"^\s*Installed\s+(\d+)\s+packages?"), "installed {0} packages"),
    (re.compile(r"^\s*Uninstalled\s+(\d+)\s+packages?"), "uninstalled {0} packages"),
    (re.compile(r"^\s*Saved\s+(\S+)"), "saved {0}"),
)


def parse_size(number: str, unit: str) -> int:
    return int(float(number) * _SIZE_UNITS.get(unit.lower(), 1))


def short_name(url_or_file: str) -> str:
    """ "https://…/torch-2.9.1+cu128-cp312-…whl" -> "torch-2.9.1+cu128-cp312-…whl" """
    return url_or_file.rstrip("/").rsplit("/", 1)[-1]


@dataclass
class Download:
    name: str
    total: int  # bytes, 0 when unknown
    started: float
    done_bytes: int = 0
    finished: float = 0.0

    @property
    def seconds(self) -> float:
        return max((self.finished or time.monotonic()) - self.started, 1e-6)

    @property
    def kbps(self) -> float:
        got = self.done_bytes or (self.total if self.finished else 0)
        return got / 1000.0 / self.seconds


@dataclass
class OutputParser:
    """Reads installer output lines; keeps the current status, the current download and all past downloads."""

    status: str = ""
    current: Download | None = None
    downloads: list[Download] = field(default_factory=list)

    def feed(self, line: str, now: float | None = None) -> str:
        """Consume one line. Returns "download", "bytes", "status" or "" (what changed)."""
        now = time.monotonic() if now is None else now
        raw = _RAW.match(line)
        if raw and self.current is not None:
            self.current.done_bytes = int(raw.group(1))
            if raw.group(2) != "?":
                self.current.total = self.current.total or int(raw.group(2))
            return "bytes"
        m = _PIP_DOWNLOAD.match(line) or _UV_DOWNLOAD.match(line)
        if m:
            self._finish(now)
            self.current = Download(short_name(m.group(1)), parse_size(m.group(2), m.group(3)), now)
            self.status = f"downloading {self.current.name}"
            return "download"
        done = _UV_DOWNLOADED.match(line)
        if done:
            self._finish(now)
            return "status"
        for pattern, template in _STATUS:
            s = pattern.match(line)
            if s:
                self._finish(now)
                self.status = template.format(*(g[:80] for g in s.groups()))
                return "status"
        return ""

    def _finish(self, now: float) -> None:
        if self.current is not None:
            self.current.finished = now
            if not self.current.done_bytes:
                self.current.done_bytes = self.current.total
            self.downloads.append(self.current)
            self.current = None

    def close(self, now: float | None = None) -> None:
        self._finish(time.monotonic() if now is None else now)

    def slow_downloads(self, threshold_kbps: float, min_bytes: int = 5_000_000) -> list[Download]:
        """Finished (or current) downloads big enough to judge that ran below `threshold_kbps`."""
        out = [d for d in self.downloads if d.total >= min_bytes and d.seconds >= 2 and d.kbps < threshold_kbps]
        cur = self.current
        if cur is not None and cur.seconds >= 20 and cur.kbps < threshold_kbps:
            out.append(cur)
        return out


def human_bytes(n: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} GB"  # pragma: no cover


class ProgressView:
    """Steps and downloads on stderr: rich bars on a terminal, plain lines elsewhere."""

    def __init__(self, console: Console | None = None, *, enabled: bool = True) -> None:
        self.console = console or Console(stderr=True, highlight=False)
        self.enabled = enabled
        self.live = enabled and self.console.is_terminal
        self._progress = None
        self._step_task = None
        self._dl_task = None
        self._title = ""
        self._started = 0.0

    def __enter__(self) -> ProgressView:
        if self.live:
            from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(bar_width=30),
                TextColumn("{task.fields[detail]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=False,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def start_step(self, index: int, total: int, title: str) -> None:
        self._title = f"[{index}/{total}] {title}"
        self._started = time.monotonic()
        if not self.enabled:
            return
        if self._progress is not None:
            self._step_task = self._progress.add_task(self._title, total=None, detail="")
        else:
            self.console.print(f"  {self._title} ...", markup=False, highlight=False)

    def update(self, parser: OutputParser, what: str) -> None:
        if self._progress is None or not what:
            return
        if what == "download" and parser.current is not None:
            if self._dl_task is not None:
                self._progress.remove_task(self._dl_task)
            cur = parser.current
            self._dl_task = self._progress.add_task(
                f"    ↓ {cur.name[:60]}", total=cur.total or None, detail=human_bytes(cur.total) if cur.total else ""
            )
        elif what == "bytes" and parser.current is not None and self._dl_task is not None:
            cur = parser.current
            self._progress.update(
                self._dl_task,
                completed=cur.done_bytes,
                total=cur.total or None,
                detail=f"{human_bytes(cur.done_bytes)}/{human_bytes(cur.total)} {human_bytes(cur.kbps * 1000)}/s",
            )
        elif what == "status":
            if self._dl_task is not None and parser.current is None:
                self._progress.update(self._dl_task, completed=self._progress.tasks[-1].total or 0)
                self._dl_task = None
        if self._step_task is not None:
            self._progress.update(self._step_task, detail=parser.status[:70])

    def end_step(self, ok: bool, note: str = "") -> None:
        took = time.monotonic() - self._started
        mark = "ok" if ok else "FAILED"
        if not self.enabled:
            return
        if self._progress is not None:
            if self._dl_task is not None:
                self._progress.remove_task(self._dl_task)
                self._dl_task = None
            if self._step_task is not None:
                self._progress.update(
                    self._step_task, total=1, completed=1, detail=f"{mark}{' ' + note if note else ''}"
                )
                self._progress.stop_task(self._step_task)
                self._step_task = None
        else:
            self.console.print(f"  {self._title}: {mark} ({took:.1f} s){' ' + note if note else ''}", markup=False, highlight=False)

    def message(self, text: str) -> None:
        if not self.enabled:
            return
        if self._progress is not None:
            self._progress.console.print(text, markup=False, highlight=False)
        else:
            self.console.print(text, markup=False, highlight=False)
