"""Source builds (dlib, OpenCV): which toolkit, cuDNN copy and host compiler a CUDA build would use here.

There are no CUDA wheels of dlib or OpenCV, so "which build fits" depends on this machine: the CUDA
toolkits it has (or the NVIDIA pip wheels that can stand in for one), the cuDNN copies it has (a
header of one copy with the library of another builds a module that crashes or mis-reports), and
the host compilers nvcc accepts. The planner asks this module for one candidate `Build` per CUDA
major, so the same joint choice of CUDA major applies to source builds and wheels alike; the chosen
build's settings then become the plan's `build` dict (from `gpuready.build.settings` when that
stage is installed, else from `fallback_settings` here).
"""

from __future__ import annotations

import os
import posixpath
import ntpath
from dataclasses import dataclass

from gpuready.knowledge.cuda import cc_int, cc_str, cuda_mm, driver_runs_cuda, host_compiler_limit, vtuple
from gpuready.knowledge.cudnn import cudnn_has_build_for, cudnn_wheel
from gpuready.knowledge.packages import Build, SourceRelease, package_info, parse_version, source_releases, toolkit_wheels
from gpuready.machine import Compiler, Cudnn, CudaToolkit
from gpuready.plan.evaluate import arch_list, toolkit_can_target
from gpuready.plan.model import SourceContext
from gpuready.plan.target import Target


@dataclass(frozen=True)
class CompilerChoice:
    compiler: Compiler | None
    ok: bool | None  # None: nvcc's limit for this toolkit is not known
    text: str  # "gcc 13.3.0 (nvcc 13.0 accepts gcc <= 15)"


@dataclass(frozen=True)
class ToolkitChoice:
    version: str  # "13.0.88" (machine) or "12.9" (pip)
    origin: str  # "machine" or "pip"
    root: str
    nvcc: str
    packages: tuple[str, ...] = ()
    compiler: CompilerChoice = CompilerChoice(None, None, "")
    can_target: bool = True
    runnable: bool = True


@dataclass(frozen=True)
class CudnnChoice:
    version: str  # "9.19.0", or "9.*" for a wheel to install
    major: int
    include_dir: str
    library: str
    origin: str  # "machine:pip", "machine:system", "pip" (to install)
    packages: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()


def _path_mod(t: Target):
    return ntpath if t.os == "windows" else posixpath


def site_packages(t: Target) -> str:
    sp = t.machine.python.site_packages
    return sp[0] if sp else "<site-packages>"


# --- host compilers ----------------------------------------------------------------------------------


def _compiler_major(c: Compiler) -> int:
    v = vtuple(c.version)
    return v[0] if v else 0


def compiler_accepted(c: Compiler, cuda: str) -> tuple[bool | None, str]:
    """Does nvcc `cuda` accept compiler `c`? (None, why) when the limit is not in the data."""
    limit = host_compiler_limit(cuda)
    mm = cuda_mm(cuda)
    if c.kind == "msvc":
        if limit is None or limit.msvc_min is None or limit.msvc_max_exclusive is None:
            return None, f"MSVC {c.version} (_MSC_VER {c.msc_ver}): nvcc {mm}'s accepted range is not confirmed"
        ok = limit.msvc_min <= c.msc_ver < limit.msvc_max_exclusive
        return ok, (f"MSVC _MSC_VER {c.msc_ver} (nvcc {mm} accepts {limit.msvc_min}..{limit.msvc_max_exclusive - 1}"
                    f"{', ' + limit.visual_studio if limit.visual_studio else ''})")
    cap = None if limit is None else (limit.gcc_max if c.kind == "gcc" else limit.clang_max if c.kind == "clang" else None)
    if cap is None:
        return None, f"{c.kind} {c.version}: nvcc {mm}'s {c.kind} limit is not confirmed"
    ok = _compiler_major(c) <= cap
    return ok, f"{c.kind} {c.version} (nvcc {mm} accepts {c.kind} <= {cap})"


def choose_compiler(t: Target, cuda: str) -> CompilerChoice:
    """The host compiler a build should use: one nvcc accepts, the system's own first.

    System compilers come first because a module built with a toolchain that links libstdc++
    statically (seen with /opt/gcc on the H200 machine) segfaults next to numpy and torch.
    """
    kinds = ("msvc",) if t.os == "windows" else ("gcc", "clang")
    compilers = [c for c in t.machine.compilers if c.kind in kinds]
    if not compilers:
        return CompilerChoice(None, False, f"no {' or '.join(kinds)} compiler found")

    def rank(c: Compiler):
        ok, _ = compiler_accepted(c, cuda)
        system = c.path.startswith("/usr/bin/") or c.kind == "msvc"
        cxx = c.kind == "msvc" or "++" in os.path.basename(c.path) or not c.path  # a C++ driver, not gcc/clang
        return (cxx, ok is True, ok is None, system, c.kind == kinds[0], _compiler_major(c))

    best = max(compilers, key=rank)
    ok, text = compiler_accepted(best, cuda)
    return CompilerChoice(best, ok, text)


# --- toolkits -----------------------------------------------------------------------------------------


def _can_target_all(t: Target, cuda: str) -> bool:
    return all(toolkit_can_target(cuda, cc) is not False for cc in t.ccs)


def toolkit_options(t: Target, major: int) -> list[ToolkitChoice]:
    """Toolkits of CUDA `major` that could compile here, best first (machine before pip wheels)."""
    pm = _path_mod(t)
    out: list[ToolkitChoice] = []
    machine_tks: list[CudaToolkit] = [tk for tk in t.machine.toolkits if tk.nvcc and vtuple(tk.version)[:1] == (major,)]
    for tk in sorted(machine_tks, key=lambda k: (k.on_path, vtuple(k.version)), reverse=True):
        out.append(ToolkitChoice(
            version=tk.version, origin="machine", root=tk.root, nvcc=tk.nvcc,
            compiler=choose_compiler(t, tk.version), can_target=_can_target_all(t, tk.version),
            runnable=not t.driver or driver_runs_cuda(t.driver, tk.version, t.driver_os),
        ))
    wheels = [w for w in toolkit_wheels() if vtuple(w.cuda)[0] == major]
    if wheels and t.os == "linux":  # the build stage assembles a toolkit from pip wheels on Linux only (build.settings)
        native = [w for w in wheels if t.driver_cuda and vtuple(w.cuda) <= vtuple(t.driver_cuda)]
        ordered = native + [w for w in reversed(wheels) if w not in native]  # newest native first, then oldest
        sp = site_packages(t)
        for w in ordered:
            root = pm.join(sp, *w.root.split("/"))
            nvcc = pm.join(root, "bin", "nvcc.exe" if t.os == "windows" else "nvcc")
            out.append(ToolkitChoice(
                version=w.cuda, origin="pip", root=root, nvcc=nvcc, packages=w.packages,
                compiler=choose_compiler(t, w.cuda), can_target=_can_target_all(t, w.cuda),
                runnable=not t.driver or driver_runs_cuda(t.driver, w.cuda, t.driver_os),
            ))

    def rank(c: ToolkitChoice):
        return (c.can_target, c.runnable, c.compiler.ok is not False, c.origin == "machine")

    # stable sort keeps machine toolkits (on PATH first) and the driver-native wheel first within a rank
    return sorted(out, key=rank, reverse=True)


# --- cuDNN -----------------------------------------------------------------------------------------------


def _same_copy(c: Cudnn) -> bool:
    return bool(c.header) and bool(c.library)


def choose_cudnn(t: Target, major: int, release: SourceRelease) -> CudnnChoice | None:
    """The cuDNN copy a build should use: header and library of the same copy, fit for CUDA `major`."""
    if not release.needs_cudnn:
        return None
    lo, hi = release.cudnn_min_major or 7, release.cudnn_max_major or 99
    pm = _path_mod(t)
    copies = []
    for c in t.machine.cudnns:
        cm = vtuple(c.version)[0] if vtuple(c.version) else 0
        if not _same_copy(c) or not (lo <= cm <= hi):
            continue
        if cudnn_has_build_for(c.version, f"{major}.0") is False:
            continue
        copies.append(c)
    notes: list[str] = []
    half = [c for c in t.machine.cudnns if not _same_copy(c)]
    if half:
        notes.append("ignored cuDNN copies with only a header or only a library: "
                      + ", ".join(c.header or c.library for c in half))
    if copies:
        best = max(copies, key=lambda c: (vtuple(c.version), c.origin == "pip"))
        others = [c for c in t.machine.cudnns if c is not best]
        if others:
            notes.append(
                f"this machine has {len(t.machine.cudnns)} cuDNN copies; the build uses {best.version} ({best.origin}) "
                f"for both header and library; not {', '.join(f'{c.version} ({c.origin})' for c in others)} "
                "(mixing a header of one copy with the library of another gives a module whose cuDNN "
                "version disagrees with itself)"
            )
        if best.origin == "pip":
            notes.append(f"the pip cuDNN ships only {pm.basename(best.library)}: a `libcudnn.so` link next to it "
                         "is needed for CMake's find_library(cudnn) (create it inside the wheel's own lib folder)")
        return CudnnChoice(best.version, vtuple(best.version)[0], pm.dirname(best.header), best.library,
                           f"machine:{best.origin or 'system'}", notes=tuple(notes))
    wheel = cudnn_wheel(major)
    if wheel is None:
        return None
    pin = "9" if hi >= 9 else str(hi)
    sp = site_packages(t)
    lib_name = "cudnn64_9.dll" if t.os == "windows" else f"libcudnn.so.{pin}"
    notes.append(f"no usable cuDNN on this machine for CUDA {major}: installs {wheel.dist}=={pin}.* "
                 "(and links libcudnn.so to its versioned library so CMake finds it)")
    return CudnnChoice(f"{pin}.*", int(pin), pm.join(sp, *wheel.include_dir.split("/")),
                       pm.join(sp, *wheel.lib_dir.split("/"), lib_name), "pip",
                       packages=(f"{wheel.dist}=={pin}.*",), notes=tuple(notes))


# --- candidate builds -------------------------------------------------------------------------------------


def source_gpu_builds(name: str, t: Target, ctx: SourceContext) -> list[Build]:
    """One GPU source build per (release version, CUDA major) that has a toolkit option here."""
    info = package_info(name)
    out: list[Build] = []
    if t.os not in ("linux", "windows"):
        return out
    for rel in source_releases(name):
        if not rel.gpu:
            continue
        for major in sorted(rel.cuda_majors, reverse=True):
            options = toolkit_options(t, major)
            if not options:
                continue
            tk = options[0]
            cud = choose_cudnn(t, major, rel)
            row = arch_list(tk.version)
            notes = [rel.note] if rel.note else []
            for version in sorted(rel.versions, key=parse_version, reverse=True):
                ctx.choices[(name, version, major)] = (tk, cud, rel)
                out.append(Build(
                    package=name, series=rel.version, version=version, variant="source",
                    dist=info.gpu_dist or name, python=rel.python, source=rel.source, gpu=True,
                    cuda=tk.version, cudnn=cud.version if cud else "", cudnn_major=cud.major if cud else 0,
                    cc_min=cc_str(row.lowest) if row else "", os=("linux", "windows"), platforms=("x86_64", "aarch64"),
                    source_build=True, confirmed=rel.confirmed, notes=tuple(notes),
                ))
    out.sort(key=lambda b: b.key, reverse=True)
    return out


# --- the build settings ------------------------------------------------------------------------------------


def arch_bin(t: Target, cuda: str) -> list[str]:
    """CUDA_ARCH_BIN for this machine's GPUs, as the toolkit can build them ("9.0")."""
    ccs = [cc for cc in t.ccs if toolkit_can_target(cuda, cc) is not False]
    return [cc_str(cc_int(cc)) for cc in ccs]


def _c_compiler(path: str) -> str:
    base = os.path.basename(path)
    for cxx, cc in (("g++", "gcc"), ("clang++", "clang"), ("c++", "cc")):
        if base.startswith(cxx):
            return path[: len(path) - len(base)] + base.replace(cxx, cc, 1)
    return path


def fallback_settings(t: Target, build: Build, ctx: SourceContext) -> dict:
    """The build dict of the contract, computed from the Machine (used when gpuready.build is absent)."""
    tk, cud, rel = ctx.choices[(build.package, build.version, build.cuda_major)]
    archs = arch_bin(t, tk.version)
    comp = tk.compiler.compiler
    reasons: list[str] = []
    if tk.origin == "machine":
        reasons.append(f"CUDA toolkit {tk.version} at {tk.root} (nvcc {tk.nvcc})")
    else:
        reasons.append(f"no CUDA {build.cuda_major} toolkit with nvcc on this machine: the toolkit is assembled from "
                       f"NVIDIA's pip wheels ({', '.join(tk.packages)}) into {tk.root}")
    if archs:
        reasons.append(f"CUDA_ARCH_BIN {';'.join(archs)} for {', '.join(g.describe() for g in t.gpus if g.cc)} "
                       "(only this machine's GPUs: every extra architecture adds nvcc time)")
    if tk.compiler.text:
        reasons.append(("host compiler " if tk.compiler.ok is not False else "host compiler NOT accepted: ") + tk.compiler.text)
    if tk.compiler.ok is False and comp is not None:
        limit = host_compiler_limit(tk.version)
        cap = None if limit is None else (limit.gcc_max if comp.kind == "gcc" else limit.clang_max)
        if cap:
            reasons.append(f"install {comp.kind} {cap} (or older) and set CUDAHOSTCXX to it; nvcc's "
                           "-allow-unsupported-compiler works but risks wrong builds")
    if comp is not None and comp.path and not comp.path.startswith("/usr/bin/") and comp.kind != "msvc":
        reasons.append(f"{comp.path} is not the system compiler: check that the module needs libstdc++.so.6 "
                       "(a statically linked libstdc++ segfaults next to numpy/torch)")
    if cud is not None:
        reasons.append(f"cuDNN {cud.version} ({cud.origin}): header {cud.include_dir}, library {cud.library}")
        reasons.extend(cud.notes)
    if build.package == "dlib" and build.cuda_major >= 13 and parse_version(build.version) < parse_version("20.0.1"):
        reasons.append("dlib < 20.0.1 silently drops CUDA with CUDA 13 (its CUDA self-test uses sm_50)")
    if not t.machine.cmake:
        reasons.append("no cmake on PATH: pip's build isolation brings the PyPI cmake package")
    settings: dict = {
        "recipe": build.package,
        "version": build.version,
        "cuda_arch_bin": archs,
        "cuda_root": tk.root,
        "nvcc": tk.nvcc,
        "cuda_version": tk.version,
        "toolkit_from": tk.origin,
        "toolkit_packages": list(tk.packages),
        "cudnn": None if cud is None else {
            "version": cud.version,
            "include_dir": cud.include_dir,
            "library": cud.library,
            "from": cud.origin,
            "packages": list(cud.packages),
        },
        "host_compiler": comp.path if comp else "",
        "host_compiler_version": comp.version if comp else "",
        "host_compiler_ok": bool(tk.compiler.ok) if tk.compiler.ok is not None else True,
        "host_compiler_limit_confirmed": tk.compiler.ok is not None,
        "cmake": t.machine.cmake,
        "build_minutes": rel.build_minutes or None,
        "reasons": reasons,
    }
    cuda_arch_env = ";".join(str(cc_int(a)) for a in archs)
    if build.package == "dlib":
        env = {"DLIB_USE_CUDA": "ON", "CUDAARCHS": cuda_arch_env, "CUDACXX": tk.nvcc}
        if comp is not None and comp.kind != "msvc":
            env.update(CC=_c_compiler(comp.path), CXX=comp.path, CUDAHOSTCXX=comp.path)
        if cud is not None:
            if cud.origin in ("pip", "machine:pip"):
                env["CUDNN_ROOT"] = _path_mod(t).dirname(cud.include_dir)
            else:
                env["CUDNN_INCLUDE_DIR"] = cud.include_dir
                env["CUDNN_LIBRARY"] = _path_mod(t).dirname(cud.library)
        settings["env"] = env
        settings["command"] = ["pip", "wheel", "--no-deps", "--no-binary", "dlib", "-v", f"dlib=={build.version}", "-w", "wheelhouse"]
    else:
        args = ["-DWITH_CUDA=ON", "-DWITH_CUDNN=ON", "-DOPENCV_DNN_CUDA=ON", "-DWITH_CUBLAS=ON",
                f"-DCUDA_ARCH_BIN={';'.join(archs)}", "-DCUDA_ARCH_PTX=", f"-DCUDA_TOOLKIT_ROOT_DIR={tk.root}",
                "-DWITH_NVCUVID=OFF", "-DWITH_NVCUVENC=OFF", "-DBUILD_opencv_world=OFF"]
        if comp is not None:
            args.append(f"-DCUDA_HOST_COMPILER={comp.path}")
        if cud is not None:
            args += [f"-DCUDNN_LIBRARY={cud.library}", f"-DCUDNN_INCLUDE_DIR={cud.include_dir}"]
        settings["cmake_args"] = args
        settings["env"] = {"ENABLE_CONTRIB": "1", "ENABLE_HEADLESS": "1" if "headless" in build.dist else "0",
                           "CMAKE_ARGS": " ".join(args)}
        settings["command"] = ["pip", "wheel", "--no-deps", "--no-binary", build.dist, "-v",
                               f"{build.dist}=={build.version}", "-w", "wheelhouse"]
    return settings


def build_settings_for(t: Target, build: Build, ctx: SourceContext) -> tuple[dict, str]:
    """The build dict: from gpuready.build.settings when that stage exists, else computed here.

    The build stage picks its own toolkit; when the plan shares another CUDA major between packages
    (TensorFlow forcing CUDA 12 next to a CUDA 13 system toolkit, say), its answer would not match the
    plan, so it is asked for the plan's major (when its signature takes one) and checked.
    """
    try:
        from gpuready.build.settings import build_settings  # type: ignore[import-not-found]
    except ImportError:
        return fallback_settings(t, build, ctx), "plan"
    kwargs = {}
    try:
        import inspect

        params = inspect.signature(build_settings).parameters
        if "cuda_major" in params:
            kwargs["cuda_major"] = build.cuda_major
    except (TypeError, ValueError):
        pass
    try:
        settings = build_settings(t.machine, build.package, build.version, **kwargs)
    except Exception as exc:  # the build stage must not take plan down
        settings = fallback_settings(t, build, ctx)
        settings["reasons"].append(f"gpuready.build.settings failed ({type(exc).__name__}: {exc}); settings computed by plan")
        return settings, "plan"
    if not isinstance(settings, dict):
        return fallback_settings(t, build, ctx), "plan"
    got = vtuple(str(settings.get("cuda_version") or ""))
    if got and got[0] != build.cuda_major:
        mine = fallback_settings(t, build, ctx)
        mine["reasons"].append(f"the build stage would use CUDA {settings.get('cuda_version')}; this plan shares CUDA "
                               f"{build.cuda_major} between packages, so the settings above use CUDA {build.cuda}")
        return mine, "plan"
    return settings, "build"
