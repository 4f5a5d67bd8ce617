"""Bench rows: the medians a child measured, turned into throughput and speedup.

A child reports, per workload, the work of one call (FLOPs for a "…FLOP/s" unit, else items:
images, frames, faces, elements) and the median seconds of its timed calls on the CPU and on
the GPU. Throughput and speedup are computed here, from those measurements only: a row
without a CPU (or GPU) run has no speedup, never an assumed one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Iterable

from gpuready.verify.verdicts import VerifyResult

SCALE = {"TFLOP/s": 1e12, "GFLOP/s": 1e9, "Gelem/s": 1e9, "Melem/s": 1e6}


def unit_scale(unit: str) -> float:
    """ "TFLOP/s" -> 1e12, "Gelem/s" -> 1e9; items per second ("images/s") -> 1."""
    return SCALE.get(unit, 1.0)


@dataclass(frozen=True)
class BenchRow:
    framework: str  # display name and version: "PyTorch 2.11.0+cu130"
    name: str  # import name
    workload: str  # "matmul 8192 fp32"
    unit: str  # "TFLOP/s", "images/s", ...
    work: float  # FLOPs or items per call
    cpu_s: float | None = None  # median seconds per call
    gpu_s: float | None = None
    cpu_runs: int = 0
    gpu_runs: int = 0
    device: str = ""
    note: str = ""
    cpu_min_s: float | None = None  # fastest and slowest timed call: how steady the median is
    cpu_max_s: float | None = None
    gpu_min_s: float | None = None
    gpu_max_s: float | None = None
    copy_s: float | None = None  # host<->device copies of one call, timed alone (part of gpu_s)
    compute_s: float | None = None  # one call with inputs and outputs already on the GPU
    group: str = ""  # "detector", "scaling": rows that also get a chart of their own
    series: str = ""  # the curve or net a row belongs to ("YOLOv8n", "dlib CNN face detection")
    x: float | None = None  # its point on that curve: batch size, faces per frame
    precision: str = ""  # "fp32", "fp16"

    @property
    def cpu_rate(self) -> float | None:
        return self.work / self.cpu_s / unit_scale(self.unit) if self.cpu_s else None

    @property
    def gpu_rate(self) -> float | None:
        return self.work / self.gpu_s / unit_scale(self.unit) if self.gpu_s else None

    @property
    def speedup(self) -> float | None:
        return self.cpu_s / self.gpu_s if self.cpu_s and self.gpu_s else None

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.update(cpu_rate=self.cpu_rate, gpu_rate=self.gpu_rate, speedup=self.speedup)
        return d


TIMES = ("cpu_min_s", "cpu_max_s", "gpu_min_s", "gpu_max_s", "copy_s", "compute_s")


def rows_from(results: Iterable[VerifyResult]) -> list[BenchRow]:
    out = []
    for r in results:
        for row in r.rows:
            try:
                out.append(
                    BenchRow(
                        framework=r.subject,
                        name=r.name,
                        workload=str(row["workload"]),
                        unit=str(row["unit"]),
                        work=float(row["work"]),
                        cpu_s=_positive(row.get("cpu_s")),
                        gpu_s=_positive(row.get("gpu_s")),
                        cpu_runs=int(row.get("cpu_runs", 0) or 0),
                        gpu_runs=int(row.get("gpu_runs", 0) or 0),
                        device=r.device,
                        note=str(row.get("note", "") or ""),
                        **{k: _positive(row.get(k)) for k in TIMES},
                        group=str(row.get("group", "") or ""),
                        series=str(row.get("series", "") or ""),
                        x=_positive(row.get("x")),
                        precision=str(row.get("precision", "") or ""),
                    )
                )
            except (KeyError, TypeError, ValueError):
                continue  # a malformed row from a child is dropped, not fatal
    return out


def _positive(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def fmt_time(seconds: float | None) -> str:
    if not seconds:
        return "-"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_rate(rate: float | None) -> str:
    if rate is None:
        return "-"
    if rate >= 100:
        return f"{rate:,.0f}"
    if rate >= 10:
        return f"{rate:.1f}"
    return f"{rate:.2f}" if rate >= 0.1 else f"{rate:.3g}"


def fmt_speedup(speedup: float | None) -> str:
    if speedup is None:
        return "n/a"
    return f"{speedup:,.0f}x" if speedup >= 10 else f"{speedup:.1f}x"
