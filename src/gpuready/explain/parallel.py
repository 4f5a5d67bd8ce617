"""Scanning a huge log file on several cores.

A 100 MB log is scanned by one process in a couple of CPU seconds; for bigger logs on big machines
the log is cut into blocks of whole lines that worker processes scan side by side; the parent reads the
file, numbers the lines (a C-speed newline count per block) and merges the hits in block order.
At most two blocks per worker are in flight, so memory stays bounded. Workers are forked where
the OS allows it (they then start with the compiled rules already in memory); anything that
goes wrong with the pool falls back to the ordinary single-process scan.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Iterable, Iterator

from gpuready.explain.context import Hit
from gpuready.explain.rules import load_rules
from gpuready.explain.scanner import Scanner, merge_hits

# One process scans ~60 MB per CPU second with the Aho-Corasick gates (benchmarks/bench_explain.py,
# 100 MB mixed log, 2026-12-02): workers cost more than they save on small machines (2 workers on 2
# cores: 27 MB per CPU second, slower in wall time too). They start only for very big logs on big
# machines, or when asked for (--jobs N).
PARALLEL_MIN_BYTES = 256 << 20
PARALLEL_MIN_CPUS = 8
MAX_WORKERS = 8

_worker_scanner: Scanner | None = None


def _scan_block(block: str, first_line: int) -> tuple[dict[str, Hit], int]:
    global _worker_scanner
    if _worker_scanner is None:
        _worker_scanner = Scanner(load_rules())
    sc = _worker_scanner
    sc.lines = first_line
    sc.feed(block)
    return sc.take_hits(), sc.lines - first_line


def workers_for(size: int) -> int:
    """How many worker processes a log of `size` bytes is worth (0: scan in this process)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    if size < PARALLEL_MIN_BYTES or cpus < PARALLEL_MIN_CPUS:
        return 0
    return min(cpus, MAX_WORKERS)


def scan_parallel(blocks: Iterable[str], workers: int, first_line: int = 0) -> tuple[dict[str, Hit], int]:
    """(hits, lines) of all blocks, scanned by `workers` processes; line numbers start after `first_line`."""
    load_rules()  # compiled before forking, so forked workers inherit it
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    hits: dict[str, Hit] = {}
    lines = first_line
    pending: list[Future] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
        for block in blocks:
            pending.append(pool.submit(_scan_block, block, lines))
            lines += block.count("\n") + (0 if block.endswith("\n") else 1)
            while len(pending) >= 2 * workers:
                merge_hits(hits, pending.pop(0).result()[0])
        for fut in pending:
            merge_hits(hits, fut.result()[0])
    return hits, lines - first_line


def rebatch(blocks: Iterable[str], size: int = 4 << 20) -> Iterator[str]:
    """Join small blocks into bigger ones (fewer, larger tasks for the workers)."""
    buf: list[str] = []
    have = 0
    for b in blocks:
        buf.append(b)
        have += len(b)
        if have >= size and b.endswith("\n"):
            yield "".join(buf)
            buf, have = [], 0
    if buf:
        yield "".join(buf)
