"""Every CUDA toolkit on the machine, not just the first one found.

Two nvccs (a system 11.8 first on PATH, a conda 12.4 the user meant) is one of the
commonest causes of a build that "uses the wrong CUDA", so all copies are listed
with where each came from; doctor decides which is a problem.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import re
from pathlib import Path

from gpuready.machine import CudaToolkit, ProbeNote
from gpuready.probe import condameta
from gpuready.proc import IS_WINDOWS, run, which

NVCC = "nvcc.exe" if IS_WINDOWS else "nvcc"

# nvccs that did not answer within the timeout: asked once, then noted (a wedged wrapper script must not
# cost 10 s per question, and its toolkit is still listed, from its files, instead of vanishing).
_HUNG: dict[str, float] = {}

# Where NVIDIA's pip wheels put nvcc, relative to site-packages (CUDA 13 merged wheels, then 12.x).
PIP_NVCC_DIRS = ("nvidia/cu13/bin", "nvidia/cuda_nvcc/bin")


def parse_nvcc_version(text: str) -> str:
    """ "Cuda compilation tools, release 13.0, V13.0.88" -> "13.0.88" (or "13.0" without the V part)."""
    m = re.search(r"release\s+(\d+\.\d+),\s*V(\d+\.\d+\.\d+)", text)
    if m:
        return m.group(2)
    m = re.search(r"release\s+(\d+\.\d+)", text)
    return m.group(1) if m else ""


def parse_version_json(text: str) -> str:
    """CUDA 11.1+ `version.json`: nvcc's version when listed, else the SDK's."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return ""
    for key in ("cuda_nvcc", "cuda"):
        entry = data.get(key)
        if isinstance(entry, dict) and entry.get("version"):
            return str(entry["version"])
    return ""


def parse_version_txt(text: str) -> str:
    """CUDA <= 11.0 `version.txt`: "CUDA Version 10.0.130"."""
    m = re.search(r"CUDA Version\s+(\d+\.\d+(?:\.\d+)?)", text)
    return m.group(1) if m else ""


def parse_dryrun_here(text: str) -> str:
    """`nvcc -dryrun` prints "#$ _HERE_=/usr/local/cuda-13.0/bin": the real bin directory behind wrappers."""
    m = re.search(r"^#\$ _HERE_=(.+)$", text, re.M)
    return m.group(1).strip() if m else ""


@functools.lru_cache(maxsize=None)
def nvcc_root(nvcc: str, timeout: float = 10.0) -> str:
    """The toolkit root of an nvcc, seeing through symlinks and wrapper scripts (/usr/local/bin/nvcc)."""
    root = Path(nvcc).resolve().parent.parent
    if (root / "include" / "cuda_runtime.h").is_file():
        return str(root)
    if nvcc in _HUNG:
        return str(root)
    res = run([nvcc, "-dryrun", "-c", "-x", "cu", os.devnull, "-o", os.devnull], timeout=timeout)
    if res.timed_out:
        _HUNG[nvcc] = timeout
    here = parse_dryrun_here(res.output)
    return str(Path(here).parent) if here else str(root)


def parse_cudart_header(text: str) -> str:
    """`cuda_runtime_api.h`: "#define CUDART_VERSION 13000" -> "13.0" (runtime-only copies have no nvcc to ask)."""
    m = re.search(r"#\s*define\s+CUDART_VERSION\s+(\d+)", text)
    if not m:
        return ""
    v = int(m.group(1))
    return f"{v // 1000}.{(v % 1000) // 10}"


def candidate_roots(site_packages: tuple[str, ...] = (), env: dict | None = None) -> list[tuple[str, str]]:
    """(root, origin) pairs worth looking at, most deliberate first."""
    env = dict(os.environ if env is None else env)
    out: list[tuple[str, str]] = []
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "CUDA_TOOLKIT_ROOT_DIR", "CUDAToolkit_ROOT"):
        if env.get(var):
            out.append((env[var], var))
    for var in sorted(env):
        if re.fullmatch(r"CUDA_PATH_V\d+_\d+", var):
            out.append((env[var], var))
    on_path = which(NVCC, env.get("PATH"))
    if on_path:
        out.append((nvcc_root(on_path), "PATH"))
    conda = env.get("CONDA_PREFIX")
    if conda:
        out.append((os.path.join(conda, "Library") if IS_WINDOWS else conda, "conda"))
    for sp in site_packages:
        for rel in PIP_NVCC_DIRS:
            out.append((str(Path(sp, rel).parent), "pip"))
    if IS_WINDOWS:
        base = os.path.join(env.get("ProgramFiles", r"C:\Program Files"), "NVIDIA GPU Computing Toolkit", "CUDA")
        out += [(p, "system") for p in sorted(glob.glob(os.path.join(base, "v*")))]
    else:
        out += [(p, "system") for p in ("/usr/local/cuda", *sorted(glob.glob("/usr/local/cuda-*")), "/opt/cuda")]
        out.append(("/usr/lib/nvidia-cuda-toolkit", "system"))  # Debian/Ubuntu nvidia-cuda-toolkit
    return out


def _nvcc_in(root: str) -> str:
    for sub in ("bin", os.path.join("bin", "x64")):
        cand = os.path.join(root, sub, NVCC)
        if os.path.isfile(cand):
            return cand
    return ""


def _root_version(root: str, nvcc: str, timeout: float) -> str:
    if nvcc and nvcc not in _HUNG:
        res = run([nvcc, "--version"], timeout=timeout)
        if res.timed_out:
            _HUNG[nvcc] = timeout
        if res.ok:
            version = parse_nvcc_version(res.stdout)
            if version:
                return version
    for name, parse in (
        ("version.json", parse_version_json),
        ("version.txt", parse_version_txt),
        (os.path.join("include", "cuda_runtime_api.h"), parse_cudart_header),
    ):
        try:
            version = parse(Path(root, name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if version:
            return version
    return condameta.cuda_version(root)  # a conda cudatoolkit has none of the above: conda-meta says


def probe_toolkits(site_packages: tuple[str, ...] = (), timeout: float = 10.0,
                   notes: list[ProbeNote] | None = None) -> tuple[CudaToolkit, ...]:
    """Every toolkit found; an nvcc that hangs is noted in `notes` (its toolkit stays, versioned from its files)."""
    first_nvcc = which(NVCC)
    path_root = os.path.realpath(nvcc_root(first_nvcc, timeout)) if first_nvcc else ""
    seen: dict[str, CudaToolkit] = {}
    for root, origin in candidate_roots(site_packages):
        if not os.path.isdir(root):
            continue
        real = os.path.realpath(root)
        nvcc = _nvcc_in(root)
        if real in seen:
            continue
        has_runtime = nvcc or any(
            glob.glob(os.path.join(root, pat))
            for pat in ("lib64/libcudart.so*", "lib/libcudart.so*", "lib/x64/cudart.lib", "bin/cudart64_*.dll")
        )
        if not has_runtime:
            continue
        version = _root_version(root, nvcc, timeout)
        seen[real] = CudaToolkit(
            root=root,
            version=version,
            nvcc=nvcc,
            origin=origin,
            on_path=bool(nvcc) and real == path_root,
        )
    if notes is not None:
        asked = {first_nvcc, *(tk.nvcc for tk in seen.values())}
        for nvcc in sorted(n for n in _HUNG if n in asked):
            notes.append(ProbeNote("toolkit", f"{nvcc} did not answer within {_HUNG[nvcc]:.0f} s (a hung wrapper or a wedged "
                                              "file system?): its toolkit's version was read from its files, if at all", "warning"))
    return tuple(seen.values())
