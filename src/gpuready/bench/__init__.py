"""Bench: the verify workloads sized to be meaningful, timed on the CPU and the GPU.

Each framework runs in its own child (the same scripts as verify, in "bench" mode), strictly
one after another so that no two workloads share the GPU or the CPU cores while timed. Inside
a child every timing is: warm-up calls first (CUDA context, cuDNN/cuBLAS set-up, JIT), then
repeated calls, the median reported; GPU work is synchronised before the clock stops.
Speedups are computed only from what was measured (see results.py).
"""

from __future__ import annotations

from typing import Callable, Iterable

from gpuready.bench.results import BenchRow, rows_from
from gpuready.machine import Machine
from gpuready.verify import default_frameworks, run_framework
from gpuready.verify.specs import specs
from gpuready.verify.verdicts import VerifyResult

__all__ = ["BenchRow", "bench", "rows_from"]


def bench(
    machine: Machine,
    *,
    python: str | None = None,
    timeout: float = 600.0,
    only: tuple[str, ...] = (),
    quick: bool = False,
    warmup: int = 2,
    repeats: int = 10,
    budget_s: float = 20.0,
    model: str | None = None,
    image: str | None = None,
    preload: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[VerifyResult]:
    """Time each framework's workloads (sequentially); the rows are in each result's `rows`."""
    names = list(only) or default_frameworks(machine)
    timing = {"warmup": warmup, "repeats": repeats, "budget_s": budget_s}
    results = []
    for name in names:
        if name not in specs():
            continue
        if progress is not None:
            progress(name)
        results.append(
            run_framework(machine, name, "bench", python=python, timeout=timeout, model=model, image=image, preload=preload, quick=quick, timing=timing)
        )
    return results
