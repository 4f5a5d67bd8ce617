"""Can this build run on that machine? The static checks, each answering with the numbers behind it.

A check never just says "no": every Problem carries a version-free sentence (so the same reason
for torch 2.12, 2.13 and 2.14 can be said once), the taxonomy label of the failure it would cause,
and what would have to change (`need`) so that the planner can compute the smallest fix.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from gpuready.knowledge import availability
from gpuready.knowledge import cuda as _cuda
from gpuready.knowledge import pep440
from gpuready.knowledge.packages import Build
from gpuready.plan.installs import via_pypi
from gpuready.plan.target import Target


@dataclass(frozen=True)
class Problem:
    kind: str  # "os", "platform", "python", "no_gpu", "no_driver", "driver", "arch", "ptx_driver", + solver kinds
    text: str  # a sentence without the build's own version: "needs driver >= 580.65.06 (CUDA 13.x)"
    label: str  # cause label (findings.LABELS) of what installing it anyway would give
    need: str = ""  # what would fix it: a driver version, a Python specifier, an OS


@dataclass(frozen=True)
class Verdict:
    build: Build
    problems: tuple[Problem, ...]
    notes: tuple[str, ...] = ()  # true but not blocking: "runs through minor-version compatibility"
    native: bool = True  # the driver supports the build's CUDA without minor-version compatibility
    listed: bool = True  # the index is known to have this pin (data/availability.json); False: planned only when pinned

    @property
    def ok(self) -> bool:
        return not self.problems

    def kinds(self) -> frozenset[str]:
        return frozenset(p.kind for p in self.problems)


# The CUDA questions are asked hundreds of times per plan with a handful of distinct arguments:
# memoised here (the knowledge never changes while gpuready runs).
vtuple = functools.lru_cache(maxsize=4096)(_cuda.vtuple)
cuda_mm = functools.lru_cache(maxsize=1024)(_cuda.cuda_mm)
cc_int = functools.lru_cache(maxsize=1024)(_cuda.cc_int)
min_driver_for_cuda = functools.lru_cache(maxsize=1024)(_cuda.min_driver_for_cuda)
arch_list = functools.lru_cache(maxsize=256)(_cuda.arch_list)
toolkit_can_target = functools.lru_cache(maxsize=1024)(_cuda.toolkit_can_target)


@functools.lru_cache(maxsize=16)
def jetson_route(package: str):
    from gpuready.knowledge.package_rows import jetson_routes

    return jetson_routes().get(package)


@functools.lru_cache(maxsize=4096)
def build_runs_on(archs: tuple[str, ...], cc: str) -> bool | None:
    return _cuda.build_runs_on(archs, cc)


def python_ok(build: Build, python: str) -> bool:
    return not build.python or pep440.contains(build.python, python)


def describe_python(specifier: str) -> str:
    """ ">=3.10,<3.15" -> "Python 3.10-3.14"."""
    lo = hi = ""
    for op, text in pep440.clauses(specifier) or ():
        v = vtuple(text)
        if op == ">=":
            lo = f"{v[0]}.{v[1] if len(v) > 1 else 0}"
        elif op == "<" and len(v) >= 2:
            hi = f"{v[0]}.{v[1] - 1}" if v[1] > 0 else ""
        elif op == "<=":
            hi = f"{v[0]}.{v[1] if len(v) > 1 else 0}"
    if lo and hi:
        return f"Python {lo}-{hi}"
    if lo:
        return f"Python >= {lo}"
    if hi:
        return f"Python <= {hi}"
    return f"Python {specifier}"


def arch_span(archs: tuple[str, ...]) -> str:
    """ ("sm_50", ..., "sm_90") -> "sm_50..sm_90"; PTX is named when present."""
    sass = sorted({a for a in archs if a.startswith("sm_")}, key=cc_int)
    ptx = sorted({a for a in archs if a.startswith("compute_")}, key=cc_int)
    text = f"{sass[0]}..{sass[-1]}" if len(sass) > 1 else (sass[0] if sass else "no SASS")
    return text + (f" + PTX {', '.join(ptx)}" if ptx else "")


def availability_key(b: Build, t: Target) -> str:
    """The pin this build is installed as on this target, as tools/check_knowledge.py keys data/availability.json:
    "index|distribution[extras]|version|kind" (the PyTorch index per variant; PyPI for PyPI's own builds)."""
    if b.source_build:
        return f"pypi|{_canonical(b.dist)}|{b.version}|sdist"
    extras = f"[{','.join(b.extras)}]" if b.extras else ""
    if b.index == "pytorch" and not via_pypi(b, t):
        index = "pytorch:stable" if b.index_style == "find-links" else f"pytorch:{b.variant}"
        return f"{index}|{_canonical(b.dist)}{extras}|{b.version}+{b.variant}|wheel"
    if b.index == "find-links" and b.find_links:
        return f"find-links:{b.find_links}|{_canonical(b.dist)}{extras}|{b.version}|wheel"
    return f"pypi|{_canonical(b.dist)}{extras}|{b.version}|wheel"


@functools.lru_cache(maxsize=1024)
def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def python_span(minors: tuple[int, ...]) -> str:
    lo, hi = min(minors), max(minors)
    return f"Python 3.{lo}" if lo == hi else f"Python 3.{lo}-3.{hi}"


def _availability_checks(build: Build, t: Target, problems: list[Problem]) -> bool:
    """False when the index is not known to have this pin at all; a Problem when it has no file for this target."""
    if not availability.loaded():
        return True
    entry = availability.entry(availability_key(build, t))
    if entry is None:
        return False
    minors = availability.pythons(entry, t.os, t.arch)
    mine = int(t.python_minor.split(".")[1]) if "." in t.python_minor else -1
    if mine in minors:
        return True
    where = f"{t.os} {t.arch}"
    if minors:
        need = f">=3.{min(minors)},<3.{max(minors) + 1}"
        problems.append(Problem("python", f"has no file for Python {t.python_minor} on {where} on its index (files for "
                                f"{python_span(minors)}; checked {availability.checked()})", "no_matching_distribution", need))
    else:
        problems.append(Problem("platform", f"has no file for {where} on its index (checked {availability.checked()})",
                                "platform_mismatch", ""))
    return True


def evaluate(build: Build, t: Target) -> Verdict:
    problems: list[Problem] = []
    notes: list[str] = []
    native = True
    if t.os not in build.os:
        if build.gpu and t.os == "macos":
            problems.append(Problem("os", "CUDA does not exist on macOS", "platform_unsupported", "linux"))
        elif build.gpu:
            where = " or ".join(build.os)
            problems.append(Problem("os", f"has no GPU build for {t.os} (GPU builds exist for {where})", "platform_unsupported", build.os[0]))
        else:
            problems.append(Problem("os", f"has no build for {t.os}", "no_matching_distribution", build.os[0]))
    if t.arch not in build.platforms:
        problems.append(Problem("platform", f"has no {t.arch} build", "platform_mismatch", build.platforms[0]))
    listed = True
    if not python_ok(build, t.python):
        problems.append(Problem("python", f"has wheels for {describe_python(build.python)} only, not Python {t.python_minor}",
                                "no_matching_distribution", build.python))
    elif not problems:
        listed = _availability_checks(build, t, problems)
    if build.gpu and t.tegra is not None and not build.source_build:
        route = jetson_route(build.package)
        problems.insert(0, Problem("jetson", route.blocking if route else "its CUDA wheels are not built for a Jetson's Tegra GPU",
                                   "platform_unsupported", "jetson"))
        return Verdict(build, tuple(problems), tuple(notes), False, listed)
    if build.gpu:
        native = _driver_checks(build, t, problems, notes)
        _arch_checks(build, t, native, problems, notes)
    return Verdict(build, tuple(problems), tuple(notes), native, listed)


def _driver_checks(build: Build, t: Target, problems: list[Problem], notes: list[str]) -> bool:
    mm = cuda_mm(build.cuda)
    major = build.cuda_major
    need = min_driver_for_cuda(build.cuda, t.driver_os, minor_compat_ok=build.minor_compat)
    floor_text = f"CUDA {major}.x builds need driver >= {need}" if build.minor_compat and major >= 11 else f"CUDA {mm} builds need driver >= {need}"
    if not t.has_gpu:
        problems.append(Problem("no_gpu", "needs an NVIDIA GPU; none was found", "driver_missing", need))
        return False
    if not t.driver:
        problems.append(Problem("no_driver", f"needs the NVIDIA driver ({floor_text}); no driver is loaded", "driver_missing", need))
        return False
    native = bool(t.driver_cuda) and vtuple(t.driver_cuda) >= vtuple(mm)
    if not need:
        if not native:
            problems.append(Problem("driver", f"is a CUDA {mm} build and gpuready has no driver floor for CUDA {mm}; "
                                    f"driver {t.driver} runs CUDA <= {t.driver_cuda or '?'}", "driver_too_old", ""))
        return native
    if vtuple(t.driver) < vtuple(need):
        problems.append(Problem("driver", f"{floor_text}; this driver is {t.driver} (CUDA <= {t.driver_cuda or '?'})",
                                "driver_too_old", need))
        return native
    if not native:
        notes.append(f"CUDA {mm} on driver {t.driver} (CUDA <= {t.driver_cuda}) runs through CUDA minor-version "
                     f"compatibility (CUDA {major}.x needs >= {need})")
    return native


def _arch_checks(build: Build, t: Target, native: bool, problems: list[Problem], notes: list[str]) -> None:
    for gpu in t.gpus:
        if not gpu.cc:
            notes.append(f"the compute capability of {gpu.name or 'GPU ' + str(gpu.index)} is unknown: not checked")
            continue
        ptx_only = False
        if build.archs:
            runs = build_runs_on(tuple(build.archs), gpu.cc)
            if runs is False:
                problems.append(Problem("arch", f"has no code for {gpu.describe()}: it carries {arch_span(build.archs)}",
                                        "arch_unsupported", ""))
                continue
            ptx_only = build_runs_on(tuple(a for a in build.archs if a.startswith("sm_")), gpu.cc) is False
            if ptx_only and build.ptx_jit_fails_from and cc_int(gpu.cc) >= cc_int(build.ptx_jit_fails_from):
                ptx = ", ".join(a for a in build.archs if a.startswith("compute_"))
                problems.append(Problem("arch", f"has no SASS for {gpu.describe()} and JIT-compiling its PTX ({ptx}) fails "
                                        f"there (CUDA_ERROR_INVALID_PTX: {build.ptx_jit_source})", "arch_unsupported", ""))
                continue
        else:
            if build.cc_min and cc_int(gpu.cc) < cc_int(build.cc_min):
                what = "toolkit cannot build" if build.source_build else "runs on compute capability"
                text = (f"CUDA {cuda_mm(build.cuda)} {what} for {gpu.describe()} (oldest: {build.cc_min})" if build.source_build
                        else f"needs compute capability >= {build.cc_min}; {gpu.describe()} is {gpu.cc}")
                problems.append(Problem("arch", text, "build_arch_unsupported" if build.source_build else "arch_unsupported", ""))
                continue
            row = arch_list(build.cuda) if build.cuda else None
            if row is not None and cc_int(gpu.cc) > row.highest:
                if build.source_build:
                    problems.append(Problem("arch", f"CUDA {cuda_mm(build.cuda)} cannot build for {gpu.describe()} "
                                            f"(newest target sm_{row.highest})", "build_arch_unsupported", ""))
                    continue
                ptx_only = True
        if ptx_only:
            ga = min_driver_for_cuda(build.cuda, t.driver_os, minor_compat_ok=False)
            if not native:
                problems.append(Problem("ptx_driver", f"reaches {gpu.describe()} only through PTX JIT, which needs a driver "
                                        f"that knows CUDA {cuda_mm(build.cuda)} (>= {ga or '?'}); minor-version "
                                        "compatibility does not cover PTX", "driver_too_old", ga))
            else:
                notes.append(f"no SASS for {gpu.describe()}: the driver JIT-compiles its PTX on first use (slow first start)")
