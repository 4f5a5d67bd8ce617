"""CUDA facts as typed objects, and the questions every stage asks of them.

"Which CUDA can this driver run?", "can this toolkit build for sm_61?", "does this nvcc
accept gcc 14?" are asked by doctor, plan, explain and build alike; they are answered
here, once, from `data/cuda.toml` and `data/gpus.toml`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from gpuready.machine import Compiler

import functools
import re
from dataclasses import dataclass

from gpuready.knowledge.loader import load_table


def vtuple(version: str) -> tuple[int, ...]:
    """A dotted version as integers, field by field ("570.124.06" > "570.26"); junk fields stop the parse."""
    parts: list[int] = []
    for piece in str(version).strip().split("."):
        m = re.match(r"\d+", piece)
        if not m:
            break
        parts.append(int(m.group()))
    return tuple(parts)


def cuda_mm(version: str) -> str:
    """ "12.6.85" -> "12.6"."""
    t = vtuple(version)
    return f"{t[0]}.{t[1] if len(t) > 1 else 0}" if t else ""


def cc_int(cc: str) -> int:
    """ "8.6" -> 86, "12.0" -> 120, "sm_90a" -> 90."""
    m = re.search(r"(\d+)\.(\d+)", cc)
    if m:
        return int(m.group(1)) * 10 + int(m.group(2))
    m = re.search(r"(\d+)", cc)
    return int(m.group(1)) if m else 0


def cc_str(sm: int) -> str:
    """86 -> "8.6", 120 -> "12.0"."""
    return f"{sm // 10}.{sm % 10}"


@dataclass(frozen=True)
class DriverFloor:
    cuda: str  # "12.8.1"
    label: str
    linux: str
    windows: str
    source: str


@dataclass(frozen=True)
class MinorCompat:
    major: int
    linux: str
    windows: str
    driver_branch: int
    source: str


@dataclass(frozen=True)
class ArchSupport:
    cuda: str  # "12.8"
    sm: tuple[int, ...]
    source: str
    note: str = ""

    @property
    def lowest(self) -> int:
        return min(self.sm)

    @property
    def highest(self) -> int:
        return max(self.sm)


@dataclass(frozen=True)
class HostCompilerLimit:
    cuda: str
    source: str
    gcc_max: int | None = None
    clang_max: int | None = None
    msvc_min: int | None = None
    msvc_max_exclusive: int | None = None
    visual_studio: str = ""
    note: str = ""


@dataclass(frozen=True)
class GpuModel:
    name: str
    cc: str
    architecture: str
    segment: str
    source: str
    aliases: tuple[str, ...] = ()


@functools.lru_cache(maxsize=None)
def driver_floors() -> tuple[DriverFloor, ...]:
    return load_table("cuda.toml", "driver", DriverFloor)


@functools.lru_cache(maxsize=None)
def minor_compat() -> tuple[MinorCompat, ...]:
    return load_table("cuda.toml", "minor_compat", MinorCompat)


@functools.lru_cache(maxsize=None)
def arch_support() -> tuple[ArchSupport, ...]:
    return load_table("cuda.toml", "arch", ArchSupport)


@functools.lru_cache(maxsize=None)
def host_compiler_limits() -> tuple[HostCompilerLimit, ...]:
    return load_table("cuda.toml", "host_compiler", HostCompilerLimit)


@functools.lru_cache(maxsize=None)
def gpu_models() -> tuple[GpuModel, ...]:
    return load_table("gpus.toml", "gpu", GpuModel)


def _floor_for(row: DriverFloor | MinorCompat, os_name: str) -> str:
    return row.windows if os_name == "windows" else row.linux


def max_cuda_for_driver(driver: str, os_name: str = "linux") -> str:
    """The newest CUDA toolkit ("12.2") whose own driver floor this driver meets, "" if none.

    This is what nvidia-smi prints as "CUDA Version" for a driver NVIDIA's table knows.
    Windows rows for CUDA 13 are empty in NVIDIA's table, so the Linux row decides there
    (Windows drivers of the same branch carry a higher number, so this errs low, not high).
    """
    dv = vtuple(driver)
    if not dv:
        return ""
    best: tuple[int, ...] = ()
    for row in driver_floors():
        floor = _floor_for(row, os_name) or row.linux
        if floor and vtuple(floor) <= dv and vtuple(row.cuda) > best:
            best = vtuple(row.cuda)
    return f"{best[0]}.{best[1]}" if best else ""


def min_driver_for_cuda(cuda: str, os_name: str = "linux", *, minor_compat_ok: bool = True) -> str:
    """The oldest driver that runs code built with CUDA `cuda` ("12.6").

    With minor-version compatibility (CUDA 11+, and what pip wheels rely on) that is the
    floor of the CUDA major; without it (PTX JIT, CUDA 10 and older), the GA row of that
    toolkit. Returns "" when the data has no answer.
    """
    t = vtuple(cuda)
    if not t:
        return ""
    if minor_compat_ok and t[0] >= 11:
        for row in minor_compat():
            if row.major == t[0]:
                return _floor_for(row, os_name) or row.linux
    ga = [r for r in driver_floors() if vtuple(r.cuda)[:2] == t[:2]]
    if not ga:
        return ""
    ga.sort(key=lambda r: vtuple(r.cuda))
    return _floor_for(ga[0], os_name) or ga[0].linux


def driver_runs_cuda(driver: str, cuda: str, os_name: str = "linux", *, minor_compat_ok: bool = True) -> bool:
    need = min_driver_for_cuda(cuda, os_name, minor_compat_ok=minor_compat_ok)
    if not need or not driver:
        return False
    return vtuple(driver) >= vtuple(need)


def arch_list(cuda: str) -> ArchSupport | None:
    """The GPU targets a toolkit can build for (by major.minor, falling back to the nearest older row)."""
    want = vtuple(cuda_mm(cuda))
    best = None
    for row in arch_support():
        rv = vtuple(row.cuda)
        if rv <= want and (best is None or rv > vtuple(best.cuda)):
            best = row
    return best


def toolkit_can_target(cuda: str, cc: str) -> bool | None:
    """Can nvcc `cuda` produce code for compute capability `cc`? None when the data does not say."""
    row = arch_list(cuda)
    if row is None:
        return None
    return cc_int(cc) in row.sm


def host_compiler_limit(cuda: str) -> HostCompilerLimit | None:
    want = cuda_mm(cuda)
    for row in host_compiler_limits():
        if row.cuda == want:
            return row
    return None


def compiler_accepted(comp: "Compiler", cuda: str) -> bool | None:
    """Does nvcc `cuda` accept this host compiler (its host_config.h limits)? None when the data has no
    limit for that CUDA or compiler. The one place this rule is written: doctor, plan, build and explain ask here."""
    lim = host_compiler_limit(cuda)
    if lim is None:
        return None
    major = vtuple(comp.version)[:1]
    if comp.kind == "gcc" and lim.gcc_max is not None and major:
        return major[0] <= lim.gcc_max
    if comp.kind == "clang" and lim.clang_max is not None and major:
        return major[0] <= lim.clang_max
    if comp.kind == "msvc" and lim.msvc_min is not None and lim.msvc_max_exclusive is not None and comp.msc_ver:
        return lim.msvc_min <= comp.msc_ver < lim.msvc_max_exclusive
    return None


_DROP_WORDS = {"nvidia", "geforce", "tesla", "graphics", "generation", "laptop", "gpu", "max", "q"}
_DROP_RE = re.compile(r"^(\d+gb|pcie|sxm\d*|hbm\d*e?|nvl\d*|mig|\d+c|\d+g)$")


def _gpu_tokens(name: str) -> list[str]:
    tokens = re.findall(r"[a-z0-9]+", name.lower())
    return [t for t in tokens if t not in _DROP_WORDS and not _DROP_RE.match(t)]


def gpu_model(name: str) -> GpuModel | None:
    """The knowledge entry for an NVML/nvidia-smi GPU name, by the longest name that prefixes it.

    "NVIDIA GeForce RTX 3060 Ti" -> "GeForce RTX 3060 Ti"; "Tesla V100-SXM2-16GB" ->
    "Tesla V100"; "NVIDIA H100 80GB HBM3" -> "NVIDIA H100".
    """
    want = _gpu_tokens(name)
    if not want:
        return None
    best: tuple[int, GpuModel] | None = None
    for model in gpu_models():
        for candidate in (model.name, *model.aliases):
            toks = _gpu_tokens(candidate)
            if toks and want[: len(toks)] == toks and (best is None or len(toks) > best[0]):
                best = (len(toks), model)
    return best[1] if best else None


def gpu_cc(name: str) -> str:
    model = gpu_model(name)
    return model.cc if model else ""


def build_runs_on(archs: tuple[str, ...] | list[str], cc: str) -> bool | None:
    """Does a binary carrying `archs` ("sm_80", "compute_90", "sm_90a") have code for a GPU of `cc`?

    SASS for sm_XY runs on the same major with an equal or higher minor (sm_80 runs on 8.6);
    an arch-specific "a"/"f" target runs only on its own capability (or family); PTX
    (compute_XY) is JIT-compiled by the driver for any GPU of capability >= XY.
    None when the list is empty (the build did not say).
    """
    want = cc_int(cc)
    if not archs or not want:
        return None
    for arch in archs:
        m = re.fullmatch(r"(sm|compute)_(\d+)([af]?)", arch.strip().lower())
        if not m:
            continue
        kind, num, suffix = m.group(1), int(m.group(2)), m.group(3)
        if kind == "compute":
            if num <= want and not suffix:
                return True
            continue
        if suffix == "a" and num != want:
            continue
        if num // 10 == want // 10 and num % 10 <= want % 10:
            return True
    return False
