"""Bench: the verify workloads sized to be meaningful, timed on the CPU and the GPU.

Each framework runs in its own child (the same scripts as verify, in "bench" mode), strictly
one after another so that no two workloads share the GPU or the CPU cores while timed. Inside
a child every timing is: warm-up calls first (CUDA context, cuDNN/cuBLAS set-up, JIT), then
repeated calls, the median reported; GPU work is synchronised before the clock stops.
Speedups are computed only from what was measured (see results.py).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Mapping

from gpuready.bench.results import BenchRow, rows_from
from gpuready.machine import Machine
from gpuready.verify import default_frameworks, run_framework
from gpuready.verify.specs import specs
from gpuready.verify.verdicts import VerifyResult

if TYPE_CHECKING:
    from gpuready.bench.baseline import CpuBaseline

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
    cpu_baseline: str = "auto",
    offline: str | None = None,
    extra: Mapping[str, object] | None = None,
    baseline_info: list[CpuBaseline | str] | None = None,
    baseline_timeout: float | None = None,
) -> list[VerifyResult]:
    """Time each framework's workloads (sequentially); the rows are in each result's `rows`.

    dlib and face_recognition: a CUDA dlib cannot run on the CPU, so their CPU times come from the
    same workloads run in a CPU baseline: `cpu_python` (an interpreter with a CPU-only dlib), else
    the one bench makes itself (`cpu_baseline`: "auto" = built from source for this CPU, falling
    back to the dlib-bin wheel at once when the build cannot be made; "source", "source-noblas", "wheel";
    "none" = no CPU time), made at most once per call and within `baseline_timeout` seconds. `baseline_info`,
    when given, receives the CpuBaseline used (or the BaselineError's text).
    """
    from gpuready.bench.baseline import (
        DEFAULT_TIMEOUT,
        BaselineError,
        given,
        make_baseline,
    )

    names = list(only) or default_frameworks(machine)
    timing = {"warmup": warmup, "repeats": repeats, "budget_s": budget_s}
    common = dict(timeout=timeout, model=model, image=image, preload=preload, quick=quick, timing=timing)
    results = []
    base = None  # made once, for dlib and face_recognition
    base_error = ""
    for name in names:
        if name not in specs():
            continue
        if progress is not None:
            progress(name)
        result = run_framework(machine, name, "bench", python=python, extra=extra, **common)
        wants_cpu = name in CPU_BASELINE and result.ok and any("cpu_s" not in r for r in result.rows)
        if wants_cpu and base is None and not base_error and (cpu_python or cpu_baseline != "none"):
            try:
                base = given(cpu_python) if cpu_python else make_baseline(
                    machine, python=python, offline=Path(offline) if offline else None, prefer=cpu_baseline, progress=progress,
                    timeout=baseline_timeout or DEFAULT_TIMEOUT)
            except BaselineError as exc:
                base_error = str(exc)
            if baseline_info is not None:
                baseline_info.append(base or base_error)
        if wants_cpu and base is not None:
            if progress is not None:
                progress(f"{name} (CPU baseline in {base.python})")
            cpu = run_framework(machine, name, "bench", python=base.python, env=base.env, extra={**(extra or {}), "cpu_baseline": True}, **common)
            result = merge_baseline(result, cpu, base)
        elif wants_cpu and base_error:
            result = dataclasses.replace(result, notes=result.notes + (f"CPU baseline could not be made: {base_error}",))
        results.append(result)
    return results


# Frameworks whose GPU build cannot also run on the CPU, so a CPU time needs another install.
CPU_BASELINE = ("dlib", "face_recognition")


def merge_baseline(result: VerifyResult, base: VerifyResult, baseline: "CpuBaseline | str") -> VerifyResult:
    """Put the baseline's CPU medians (and min/max) into the GPU rows of the same workload, each row
    saying which CPU build and how many threads its CPU time came from."""
    from gpuready.bench.baseline import given

    if isinstance(baseline, str):
        baseline = given(baseline)
    if not base.ok:
        note = f"CPU baseline in {baseline.python} failed: {base.message}"
        return dataclasses.replace(result, notes=result.notes + (note,))
    build = baseline.description
    reported = next((n for n in base.notes if n.startswith("CPU dlib ")), "")
    if baseline.kind == "given":
        build = f"{base.subject} in {baseline.python}" + (f" ({reported.split(': ', 1)[-1]})" if reported else "")
    cpu = {r["workload"]: r for r in base.rows if r.get("cpu_s")}
    rows = []
    for row in result.rows:
        match = cpu.get(row.get("workload"))
        if match and not row.get("cpu_s"):
            extra = {k: match[k] for k in ("cpu_runs", "cpu_min_s", "cpu_max_s") if k in match}
            parts = [f"CPU: {build}"]
            parts += [f"CPU run: {p}" for p in _found(match.get("note"))]
            parts += [f"GPU run: {p}" for p in _found(row.get("note"))]
            row = dict(row, cpu_s=match["cpu_s"], **extra, note="; ".join(parts))
        rows.append(row)
    notes = result.notes + (f"CPU baseline: {build}",) + tuple(f"CPU baseline: {n}" for n in baseline.notes)
    return dataclasses.replace(result, rows=tuple(rows), notes=notes)


def _found(note: object) -> list[str]:
    """The "3 of 4 faces found" parts of a row's note (each side says what its detector found)."""
    return [p for p in str(note or "").split("; ") if " found" in p]
