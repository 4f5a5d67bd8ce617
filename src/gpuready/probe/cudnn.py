"""Every cuDNN copy: header and library, per install prefix.

A build can take its header from one cuDNN and link another (the GPU test machine has
a system 9.14 and a pip 9.19; OpenCV's and dlib's CMake find them in different
orders), so each prefix is recorded with both paths and the version each one says.
"""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from gpuready.machine import CudaToolkit, Cudnn
from gpuready.probe import condameta
from gpuready.proc import IS_WINDOWS

HEADER_NAMES = ("cudnn_version.h", "cudnn_version_v9.h", "cudnn_version_v8.h", "cudnn.h")


def parse_cudnn_header(text: str) -> str:
    """ "#define CUDNN_MAJOR 9" ... -> "9.14.0"; "" when the header has no version macros."""
    parts = []
    for macro in ("CUDNN_MAJOR", "CUDNN_MINOR", "CUDNN_PATCHLEVEL"):
        m = re.search(rf"#\s*define\s+{macro}\s+(\d+)", text)
        if not m:
            break
        parts.append(m.group(1))
    return ".".join(parts) if len(parts) >= 2 else ""


def version_from_library_name(path: str) -> str:
    """ "libcudnn.so.9.14.0" -> "9.14.0"; "cudnn64_9.dll" -> "9"; "libcudnn.so.9" -> "9"."""
    name = os.path.basename(path)
    m = re.search(r"libcudnn\.so\.(\d+(?:\.\d+)*)", name) or re.search(r"cudnn64_(\d+)\.dll", name, re.I)
    return m.group(1) if m else ""


def _prefixes(toolkits: tuple[CudaToolkit, ...], site_packages: tuple[str, ...]) -> list[tuple[list[str], list[str], str]]:
    """(include dirs, library dirs, origin) for each place a cuDNN may be installed."""
    out: list[tuple[list[str], list[str], str]] = []
    env = os.environ
    for var in ("CUDNN_PATH", "CUDNN_HOME", "CUDNN_ROOT", "CUDNN_ROOT_DIR"):
        if env.get(var):
            root = env[var]
            out.append(([os.path.join(root, "include")], [os.path.join(root, d) for d in ("lib", "lib64", "bin", "lib/x64")], var))
    for sp in site_packages:
        root = os.path.join(sp, "nvidia", "cudnn")
        out.append(([os.path.join(root, "include")], [os.path.join(root, "lib"), os.path.join(root, "bin")], "pip"))
    for tk in toolkits:
        out.append(
            (
                [os.path.join(tk.root, "include")],
                [os.path.join(tk.root, d) for d in ("lib64", "lib", "bin", os.path.join("lib", "x64"))],
                "toolkit" if tk.origin != "conda" else "conda",
            )
        )
    if env.get("CONDA_PREFIX"):
        root = env["CONDA_PREFIX"]
        if IS_WINDOWS:
            root = os.path.join(root, "Library")
        out.append(([os.path.join(root, "include")], [os.path.join(root, "lib"), os.path.join(root, "bin")], "conda"))
    if IS_WINDOWS:
        base = os.path.join(env.get("ProgramFiles", r"C:\Program Files"), "NVIDIA", "CUDNN")
        for ver_dir in sorted(glob.glob(os.path.join(base, "v*"))):
            incs = sorted(glob.glob(os.path.join(ver_dir, "include", "*"))) or [os.path.join(ver_dir, "include")]
            libs = sorted(glob.glob(os.path.join(ver_dir, "bin", "*"))) or [os.path.join(ver_dir, "bin")]
            out.append((incs, libs, "system"))
    else:
        triplets = [os.path.basename(p) for p in glob.glob("/usr/include/*-linux-gnu")]
        incs = ["/usr/include", *[f"/usr/include/{t}" for t in triplets], "/usr/local/include"]
        libs = [*[f"/usr/lib/{t}" for t in triplets], "/usr/lib64", "/usr/lib", "/usr/local/lib"]
        out.append((incs, libs, "system"))
    return out


def _find_header(dirs: list[str]) -> tuple[str, str]:
    for d in dirs:
        for name in HEADER_NAMES:
            path = os.path.join(d, name)
            if os.path.isfile(path):
                try:
                    version = parse_cudnn_header(Path(path).read_text(encoding="utf-8", errors="replace"))
                except OSError:
                    continue
                if version:
                    return path, version
    return "", ""


def _find_library(dirs: list[str]) -> str:
    pats = ("cudnn64_*.dll",) if IS_WINDOWS else ("libcudnn.so.*", "libcudnn.so")
    for d in dirs:
        for pat in pats:
            hits = sorted(glob.glob(os.path.join(d, pat)), key=len)
            if hits:
                return hits[0]
    return ""


def probe_cudnn(toolkits: tuple[CudaToolkit, ...] = (), site_packages: tuple[str, ...] = ()) -> tuple[Cudnn, ...]:
    found: list[Cudnn] = []
    seen: set[str] = set()
    for incs, libs, origin in _prefixes(toolkits, site_packages):
        header, hversion = _find_header(incs)
        library = _find_library(libs)
        if not header and not library:
            continue
        key = os.path.realpath(library or header)
        if key in seen:
            continue
        seen.add(key)
        lversion = version_from_library_name(os.path.realpath(library)) if library else ""
        version = hversion or lversion
        if origin == "conda" and "." not in version:  # libcudnn without libcudnn-dev: only the soname's major
            version = condameta.cudnn_version(os.path.dirname(os.path.dirname(library or header))) or version
        found.append(Cudnn(version=version, header=header, library=library, origin=origin))
    return tuple(found)
