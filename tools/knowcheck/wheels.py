"""Reading a remote wheel without downloading it: METADATA and the GPU code of its shared libraries."""

from __future__ import annotations

import re
import time
import zipfile
from email.parser import Parser

from knowcheck.fatbin import GpuCode, FatbinScanner
from knowcheck.http import RangeFile

BINARY = re.compile(r"\.(so(\.\d+)*|dll|pyd)$")


def open_wheel(url: str, size: int, block: int = 1 << 20) -> tuple[zipfile.ZipFile, RangeFile]:
    rf = RangeFile(url, size, block=block)
    return zipfile.ZipFile(rf), rf


def metadata(url: str, size: int) -> dict:
    """Requires-Python, Requires-Dist and Provides-Extra of a wheel (read over range requests)."""
    zf, _ = open_wheel(url, size)
    name = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA")), None)
    if name is None:  # a few old wheels were built without one
        return {"requires_python": "", "requires_dist": [], "provides_extra": [], "no_metadata": True}
    msg = Parser().parsestr(zf.read(name).decode("utf-8", "replace"))
    return {
        "requires_python": msg.get("Requires-Python", ""),
        "requires_dist": msg.get_all("Requires-Dist") or [],
        "provides_extra": msg.get_all("Provides-Extra") or [],
    }


def members(url: str, size: int) -> list[tuple[str, int]]:
    zf, _ = open_wheel(url, size)
    return [(i.filename, i.file_size) for i in zf.infolist()]


def gpu_code(url: str, size: int, *, member_filter=None, min_size: int = 1 << 16) -> tuple[GpuCode, dict[str, list[str]], dict]:
    """The SASS/PTX targets in every shared library of the wheel, streamed member by member."""
    zf, rf = open_wheel(url, size, block=16 << 20)
    total = GpuCode()
    per_member: dict[str, list[str]] = {}
    t0 = time.time()
    for info in zf.infolist():
        if not BINARY.search(info.filename) or info.file_size < min_size:
            continue
        if member_filter and not member_filter(info.filename):
            continue
        scanner = FatbinScanner()
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(8 << 20)
                if not chunk:
                    break
                scanner.feed(chunk)
        if scanner.code.containers:
            per_member[info.filename] = scanner.code.archs()
            total.update(scanner.code)
    stats = {"downloaded_mb": round(rf.fetched / 1e6, 1), "seconds": round(time.time() - t0, 1)}
    return total, per_member, stats
