"""Host C/C++ compilers nvcc might use, and CMake.

nvcc refuses host compilers outside the range its `crt/host_config.h` accepts (gcc 14
with CUDA 12.2, VS 2022 17.10 with CUDA 12.3), and a second toolchain on PATH (the
GPU test machine's /opt/gcc) can build modules that crash next to numpy. So every
compiler a build could pick up is listed, with where it came from.
"""

from __future__ import annotations

import glob
import json
import os
import re

from gpuready.machine import Compiler, ProbeNote
from gpuready.proc import IS_WINDOWS, run, which


def parse_gcc_version(text: str) -> str:
    """First line of `gcc --version`: "gcc (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0" -> "13.3.0"."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    if "clang" in first.lower() or not first:
        return ""
    m = re.search(r"\)\s+(\d+(?:\.\d+)+)", first) or re.search(r"(\d+\.\d+(?:\.\d+)?)\s*$", first)
    if not m:
        m = re.search(r"(\d+\.\d+(?:\.\d+)?)", first)
    return m.group(1) if m else ""


def parse_clang_version(text: str) -> str:
    """ "Ubuntu clang version 18.1.3 (1ubuntu1)" / "Apple clang version 15.0.0 (...)" -> "18.1.3"."""
    m = re.search(r"clang version\s+(\d+(?:\.\d+)+)", text)
    return m.group(1) if m else ""


def parse_target(text: str) -> str:
    m = re.search(r"^Target:\s*(\S+)", text, re.M)
    return m.group(1) if m else ""


def parse_cl_banner(text: str) -> tuple[str, int]:
    """cl.exe's banner "Microsoft (R) C/C++ Optimizing Compiler Version 19.40.33811 for x64" -> ("19.40.33811", 1940)."""
    m = re.search(r"Version\s+(\d+)\.(\d+)\.(\d+)", text)
    if not m:
        return "", 0
    major, minor = int(m.group(1)), int(m.group(2))
    return f"{m.group(1)}.{m.group(2)}.{m.group(3)}", major * 100 + minor


def msc_ver_from_toolset(toolset: str) -> tuple[str, int]:
    """MSVC toolset "14.40.33807" -> (cl version "19.40.33807", _MSC_VER 1940).

    From VS 2017 on, toolset 14.NN ships cl 19.NN, whose _MSC_VER is 1900 + NN.
    """
    m = re.match(r"14\.(\d+)\.?(\d*)", toolset.strip())
    if not m:
        return "", 0
    minor = int(m.group(1))
    return f"19.{minor}.{m.group(2) or 0}", 1900 + minor


def parse_vswhere(text: str) -> list[dict]:
    """vswhere -format json output: installations with their installationPath and display name."""
    try:
        data = json.loads(text or "[]")
    except json.JSONDecodeError:
        return []
    return [d for d in data if isinstance(d, dict) and d.get("installationPath")] if isinstance(data, list) else []


def vswhere_path() -> str:
    base = os.environ.get("ProgramFiles(x86)", r"C:\Program Files (x86)")
    path = os.path.join(base, "Microsoft Visual Studio", "Installer", "vswhere.exe")
    return path if os.path.isfile(path) else ""


def msvc_from_installation(install: dict) -> Compiler | None:
    root = install["installationPath"]
    default_txt = os.path.join(root, "VC", "Auxiliary", "Build", "Microsoft.VCToolsVersion.default.txt")
    try:
        with open(default_txt, encoding="utf-8") as fh:
            toolset = fh.read().strip()
    except OSError:
        return None
    version, msc = msc_ver_from_toolset(toolset)
    if not msc:
        return None
    cl = os.path.join(root, "VC", "Tools", "MSVC", toolset, "bin", "Hostx64", "x64", "cl.exe")
    return Compiler(kind="msvc", version=version, path=cl, msc_ver=msc, origin="vswhere: " + install.get("displayName", ""))


def _gnu_like(path: str, origin: str, timeout: float, notes: list[ProbeNote] | None = None) -> Compiler | None:
    res = run([path, "--version"], timeout=timeout)
    if res.timed_out and notes is not None:
        notes.append(ProbeNote("compiler", f"{path} ({origin}) did not answer `--version` within {timeout:.0f} s: not listed", "warning"))
    if not res.ok:
        return None
    clang = parse_clang_version(res.stdout)
    if clang:
        return Compiler(kind="clang", version=clang, path=path, origin=origin, target=parse_target(res.stdout))
    gcc = parse_gcc_version(res.stdout)
    if gcc:
        return Compiler(kind="gcc", version=gcc, path=path, origin=origin)
    return None


def probe_compilers(timeout: float = 10.0, notes: list[ProbeNote] | None = None) -> tuple[Compiler, ...]:
    """The C/C++ compilers found; one that hangs is noted in `notes`, not silently left out."""
    found: list[Compiler] = []
    seen: set[str] = set()

    def add(path: str, origin: str) -> None:
        if not path:
            return
        real = os.path.realpath(path)
        if real in seen:
            return
        seen.add(real)
        comp = _gnu_like(path, origin, timeout, notes)
        if comp:
            found.append(comp)

    for var in ("CXX", "CUDAHOSTCXX", "CC"):
        value = os.environ.get(var, "").split()
        if value:
            add(which(value[0]) or value[0], var)
    if IS_WINDOWS:
        cl = which("cl")
        if cl:
            res = run([cl], timeout=timeout)
            version, msc = parse_cl_banner(res.output)
            if msc:
                found.append(Compiler(kind="msvc", version=version, path=cl, msc_ver=msc, origin="PATH"))
                seen.add(os.path.realpath(cl))
        vsw = vswhere_path()
        if vsw:
            res = run(
                [vsw, "-all", "-products", "*", "-requires", "Microsoft.VisualStudio.Component.VC.Tools.x86.x64", "-format", "json"],
                timeout=timeout,
            )
            for inst in parse_vswhere(res.stdout):
                comp = msvc_from_installation(inst)
                if comp and os.path.realpath(comp.path) not in seen:
                    seen.add(os.path.realpath(comp.path))
                    found.append(comp)
    # nvcc compiles host code with the C++ driver (g++ by default): list C++ compilers, and gcc only
    # when there is no g++ (a C-only install is itself a finding for source builds).
    for name in ("g++", "clang++", "c++"):
        add(which(name), "PATH")
    if not any(c.kind == "gcc" for c in found):
        add(which("gcc"), "PATH")
    if not IS_WINDOWS:
        # Versioned compilers (g++-12, clang++-17) are what users point CUDAHOSTCXX at.
        for d in os.environ.get("PATH", "").split(os.pathsep):
            for path in sorted(glob.glob(os.path.join(d, "g++-[0-9]*")) + glob.glob(os.path.join(d, "clang++-[0-9]*"))):
                add(path, "PATH")
    return tuple(found)


def parse_cmake_version(text: str) -> str:
    m = re.search(r"cmake version\s+(\d+(?:\.\d+)+)", text)
    return m.group(1) if m else ""


def probe_cmake(timeout: float = 10.0) -> str:
    path = which("cmake")
    if not path:
        return ""
    res = run([path, "--version"], timeout=timeout)
    return parse_cmake_version(res.stdout) if res.ok else ""
