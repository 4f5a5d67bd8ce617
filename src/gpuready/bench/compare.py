"""`bench --compare OLD.json`: what changed since an earlier `bench --json`, row by row.

A figure is only worth something next to the one before it: after a driver update, a rebuilt
wheel, another machine. Rows are matched by framework and workload; for each, the GPU time and
the speedup before and after, and the change of the GPU time in percent (negative = faster).
Rows only in one of the two runs are listed as such, never matched by guesswork.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from gpuready.bench.results import BenchRow


class CompareError(ValueError):
    """OLD.json is not a `bench --json` output."""


@dataclass(frozen=True)
class Change:
    name: str
    framework: str
    workload: str
    unit: str
    old_gpu_s: float | None = None
    new_gpu_s: float | None = None
    old_cpu_s: float | None = None
    new_cpu_s: float | None = None
    old_speedup: float | None = None
    new_speedup: float | None = None
    status: str = "both"  # "both", "new" (only in this run), "gone" (only in OLD)

    @property
    def gpu_change(self) -> float | None:
        """Relative change of the GPU time: -0.25 = 25 % faster now."""
        if self.old_gpu_s and self.new_gpu_s:
            return self.new_gpu_s / self.old_gpu_s - 1.0
        return None

    @property
    def cpu_change(self) -> float | None:
        if self.old_cpu_s and self.new_cpu_s:
            return self.new_cpu_s / self.old_cpu_s - 1.0
        return None

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d.update(gpu_change=self.gpu_change, cpu_change=self.cpu_change)
        return d


def load_rows(path: Path) -> tuple[list[dict], dict]:
    """(rows, header) of a saved `bench --json`; CompareError when it is not one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise CompareError(f"cannot read {path}: {exc}") from None
    except json.JSONDecodeError as exc:
        raise CompareError(f"{path} is not JSON ({exc.msg}, line {exc.lineno}): save it with `gpuready bench --json > FILE`") from None
    if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
        raise CompareError(f"{path} has no \"rows\": it is not the output of `gpuready bench --json`")
    rows = [r for r in data["rows"] if isinstance(r, dict) and r.get("workload")]
    header = {k: data.get(k) for k in ("date", "hostname", "gpus", "driver", "gpu_state") if k in data}
    return rows, header


def _num(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if f > 0 else None


def compare(old: list[dict], new: list[BenchRow]) -> list[Change]:
    """One Change per workload of either run, this run's order first, then the ones only OLD has."""
    before = {(str(r.get("name", "")), str(r["workload"])): r for r in old}
    out, seen = [], set()
    for r in new:
        key = (r.name, r.workload)
        seen.add(key)
        o = before.get(key)
        out.append(Change(
            name=r.name, framework=r.framework, workload=r.workload, unit=r.unit, new_gpu_s=r.gpu_s, new_cpu_s=r.cpu_s,
            new_speedup=r.speedup, old_gpu_s=_num(o.get("gpu_s")) if o else None, old_cpu_s=_num(o.get("cpu_s")) if o else None,
            old_speedup=_num(o.get("speedup")) if o else None, status="both" if o else "new",
        ))
    for key, o in before.items():
        if key not in seen:
            out.append(Change(name=key[0], framework=str(o.get("framework", key[0])), workload=key[1], unit=str(o.get("unit", "")),
                              old_gpu_s=_num(o.get("gpu_s")), old_cpu_s=_num(o.get("cpu_s")), old_speedup=_num(o.get("speedup")),
                              status="gone"))
    return out


def fmt_change(change: float | None) -> str:
    if change is None:
        return "-"
    return f"{change * 100:+.1f}%"
