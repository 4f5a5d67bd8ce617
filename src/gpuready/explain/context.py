"""What explain knows besides the matching lines: hints, the machine, and what else the log showed.

Signatures' `when` conditions are answered here. Hints given by the caller (`--stage`,
`--package`, `--os`) win; then what the log itself shows (a `C:\\Users\\...` path is a
Windows log whatever machine reads it); then the machine. The machine decides a label
only through the few predicates below that cannot be read off a log (a GPU on the PCI
bus with no driver answering), so a log explained on another machine keeps its meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

from gpuready.knowledge.cuda import arch_list, cc_int, cuda_mm, vtuple

if TYPE_CHECKING:
    from gpuready.machine import Machine

# Packages that are not frameworks of the registry but that logs and hints name (knowledge/frameworks.py
# has the frameworks' own words).
OTHER_PACKAGES: tuple[str, ...] = ("pycuda", "paddle", "xgboost")


def normalise_package(hint: str | None) -> str:
    """ "tensorflow-gpu" -> "tensorflow", "opencv-python" -> "cv2", "torch (NCCL)" -> "torch"; "" if unknown."""
    if not hint:
        return ""
    from gpuready.knowledge import frameworks

    low = hint.lower()
    found = frameworks.named_in(low)
    if found:
        return found
    for word in OTHER_PACKAGES:
        if word in low:
            return word
    return re.split(r"[\s(/,]", low.strip())[0]


def normalise_os(hint: str | None) -> str:
    if not hint:
        return ""
    low = hint.lower()
    if low.startswith("win"):
        return "windows"
    if low in ("mac", "macos", "osx", "darwin") or low.startswith("mac"):
        return "macos"
    if low in ("linux", "wsl", "ubuntu", "debian"):
        return "linux"
    return ""


@dataclass
class Hit:
    """Where one signature or marker matched: the first few lines, how often, what it captured."""

    count: int = 0
    lines: list[tuple[int, str]] = field(default_factory=list)
    last: tuple[int, str] | None = None
    captures: dict[str, str] = field(default_factory=dict)

    @property
    def first_line(self) -> int:
        return self.lines[0][0] if self.lines else 0


@dataclass
class Context:
    hits: dict[str, Hit]
    marker_kinds: dict[str, tuple[str, str]]  # marker id -> (kind, value)
    machine: Machine | None = None
    machine_explicit: bool = True  # the caller said this log comes from this machine
    stage: str = ""
    package: str = ""  # normalised hint
    package_hint: str = ""  # the hint as given, lowercased ("onnxruntime-gpu", which normalises to "onnxruntime")
    os_hint: str = ""
    lines: int = 0
    notes: list[str] = field(default_factory=list)

    # --- what the log shows ---
    def seen(self, ident: str) -> bool:
        return ident in self.hits

    def log_values(self, kind: str) -> dict[str, int]:
        """{value: hits} of the os/package markers that matched."""
        out: dict[str, int] = {}
        for ident, hit in self.hits.items():
            kv = self.marker_kinds.get(ident)
            if kv and kv[0] == kind:
                out[kv[1]] = out.get(kv[1], 0) + hit.count
        return out

    @property
    def log_os(self) -> str:
        seen = self.log_values("os")
        if not seen:
            return ""
        if seen.get("windows"):
            return "windows"  # Windows paths and DLLs do not appear in Linux logs; the reverse happens (WSL, docker)
        if seen.get("macos"):
            return "macos"
        return max(seen, key=lambda k: seen[k])

    @property
    def os(self) -> str:
        if self.os_hint:
            return self.os_hint
        if self.log_os:
            return self.log_os
        # The machine's OS only when the log certainly comes from it: a log pasted into gpuready on a
        # Windows laptop may come from a Linux server, and its label must not change with the reader.
        return self.machine.os.system if self.machine is not None and self.machine_explicit else ""

    @property
    def packages(self) -> set[str]:
        found = set(self.log_values("package"))
        if self.package:
            found.add(self.package)
        return found

    @property
    def main_package(self) -> str:
        if self.package:
            return self.package
        seen = self.log_values("package")
        return max(seen, key=lambda k: seen[k]) if seen else ""

    def capture(self, name: str) -> str:
        """The first value a signature or marker captured under `name` ("" when none did)."""
        best: tuple[int, str] | None = None
        for hit in self.hits.values():
            v = hit.captures.get(name)
            if v and (best is None or hit.first_line < best[0]):
                best = (hit.first_line, v)
        return best[1] if best else ""

    # --- conditions ---
    def holds(self, kind: str, args: tuple[str, ...]) -> bool:
        if kind == "os":
            return self.os in args
        if kind == "stage":
            return self.stage in args
        if kind == "package":
            return bool(self.packages & set(args)) or (bool(self.package_hint) and self.package_hint in args)
        if kind == "log":
            return any(self.seen(a) for a in args)
        if kind == "machine":
            return any(MACHINE_PREDICATES[a](self) for a in args)
        if kind == "check":
            return any(CHECKS[a](self) for a in args)
        raise ValueError(kind)


# --- machine predicates: facts a log cannot show --------------------------------------------------


def _m(ctx: Context) -> Machine | None:
    return ctx.machine if ctx.machine is not None and ctx.machine_explicit else None


def _gpu_without_driver(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(m and not m.driver.present and (m.gpus or m.driver.nvidia_pci_devices))


def _driver_present(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(m and m.driver.present)


def _has_cudnn(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(m and m.cudnns)


def _no_nvidia_gpu(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(m and not m.gpus and not m.driver.nvidia_pci_devices and not m.driver.present)


def _container(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(m and m.os.container)


MACHINE_PREDICATES: dict[str, Callable[[Context], bool]] = {
    "gpu_without_driver": _gpu_without_driver,
    "driver_present": _driver_present,
    "has_cudnn": _has_cudnn,
    "no_nvidia_gpu": _no_nvidia_gpu,
    "container": _container,
}


# --- checks on captured values ----------------------------------------------------------------------


def log_toolkit(ctx: Context, *, for_label: bool = False) -> str:
    """The CUDA toolkit the log's build used: captured from the log, else the machine's nvcc (for a
    label only when the log comes from the machine)."""
    v = ctx.capture("toolkit")
    if v:
        return cuda_mm(v)
    m = _m(ctx) if for_label else ctx.machine
    if m:
        tks = sorted((t for t in m.toolkits if t.nvcc and t.version), key=lambda t: not t.on_path)
        if tks:
            return cuda_mm(tks[0].version)
    return ""


def captured_arch(ctx: Context) -> int:
    """ "compute_30" / "sm_75" / "8.6" captured as `arch` -> 30 / 75 / 86; 0 when none."""
    arch = ctx.capture("arch")
    m = re.search(r"(\d+)\.(\d+)", arch)
    if m:
        return int(m.group(1)) * 10 + int(m.group(2))
    m = re.search(r"(\d+)", arch)
    return int(m.group(1)) if m else 0


def _arch_below_toolkit(ctx: Context) -> bool:
    """The build asked for an architecture the toolkit dropped (a stale default arch list)."""
    arch = captured_arch(ctx)
    if not arch:
        return False
    tk = log_toolkit(ctx, for_label=True)
    row = arch_list(tk) if tk else None
    if row is not None:
        return arch < row.lowest
    return arch < 50  # Kepler and older: every current toolkit dropped them


def _arch_above_toolkit(ctx: Context) -> bool:
    """The build asked for an architecture newer than the toolkit knows (toolkit too old for the GPU)."""
    arch = captured_arch(ctx)
    if not arch:
        return False
    tk = log_toolkit(ctx, for_label=True)
    row = arch_list(tk) if tk else None
    if row is not None:
        return arch > row.highest
    return arch >= 75


def _old_gpu(ctx: Context) -> bool:
    """The GPU (captured or on the machine) is older than what current wheels carry code for."""
    cc = ctx.capture("cc")
    m = _m(ctx)
    if not cc and m is not None and m.gpus:
        cc = m.gpus[0].compute_capability
    return bool(cc) and 0 < cc_int(cc) < 50


def _driver_cuda_known(ctx: Context) -> bool:
    m = _m(ctx)
    return bool(ctx.capture("driver_cuda") or (m is not None and m.driver.present))


def _tf_native_windows_gpu_gone(ctx: Context) -> bool:
    """TensorFlow >= 2.11 on native Windows (no GPU build), or a TF of unknown version there."""
    v = ctx.capture("tf_version")
    if not v:
        return True
    return vtuple(v) >= (2, 11)


def _gpu_pkg_not_on_os(ctx: Context) -> bool:
    """The requirement pip could not find is a CUDA variant published for Linux only."""
    req = ctx.capture("req").lower()
    if not req or ctx.os not in ("windows", "macos"):
        return False
    if re.search(r"jax[-_]cuda|jaxlib.*cuda|jax\[cuda|^triton\b|tensorflow\[and-cuda\]|tensorrt|^vllm\b|^cudf|^cuml|^cugraph|^rmm-|^nvidia-nccl", req):
        return True
    return ctx.os == "macos" and bool(re.search(r"cu\d{2,3}|cuda|^nvidia-|-gpu\b", req))


CHECKS: dict[str, Callable[[Context], bool]] = {
    "gpu_pkg_not_on_os": _gpu_pkg_not_on_os,
    "arch_below_toolkit": _arch_below_toolkit,
    "arch_above_toolkit": _arch_above_toolkit,
    "old_gpu": _old_gpu,
    "driver_cuda_known": _driver_cuda_known,
    "tf_windows_no_gpu": _tf_native_windows_gpu_gone,
}
