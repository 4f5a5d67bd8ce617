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
    cpu_python: str | None = None,
) -> list[VerifyResult]:
    """Time each framework's workloads (sequentially); the rows are in each result's `rows`.

    `cpu_python`: an interpreter whose dlib is a CPU build. A CUDA dlib cannot run on the CPU,
    so dlib's and face_recognition's CPU times come from the same workloads run there.
    """
    names = list(only) or default_frameworks(machine)
    timing = {"warmup": warmup, "repeats": repeats, "budget_s": budget_s}
    common = dict(timeout=timeout, model=model, image=image, preload=preload, quick=quick, timing=timing)
    results = []
    for name in names:
        if name not in specs():
            continue
        if progress is not None:
            progress(name)
        result = run_framework(machine, name, "bench", python=python, **common)
        if cpu_python and name in CPU_BASELINE and result.ok and any("cpu_s" not in r for r in result.rows):
            if progress is not None:
                progress(f"{name} (CPU baseline in {cpu_python})")
            base = run_framework(machine, name, "bench", python=cpu_python, extra={"cpu_baseline": True}, **common)
            result = merge_baseline(result, base, cpu_python)
        results.append(result)
    return results


# Frameworks whose GPU build cannot also run on the CPU, so a CPU time needs another install.
CPU_BASELINE = ("dlib", "face_recognition")


def merge_baseline(result: VerifyResult, base: VerifyResult, cpu_python: str) -> VerifyResult:
    """Put the baseline's CPU medians into the GPU rows of the same workload."""
    import dataclasses

    if not base.ok:
        note = f"CPU baseline in {cpu_python} failed: {base.message}"
        return dataclasses.replace(result, notes=result.notes + (note,))
    cpu = {r["workload"]: r for r in base.rows if r.get("cpu_s")}
    rows = []
    for row in result.rows:
        match = cpu.get(row.get("workload"))
        if match and not row.get("cpu_s"):
            row = dict(row, cpu_s=match["cpu_s"], cpu_runs=match.get("cpu_runs", 0), note=f"CPU: {base.subject} in {cpu_python}")
        rows.append(row)
    return dataclasses.replace(result, rows=tuple(rows))
