"""The CUDA libraries a framework's process mapped, and the rule by which the loader picked each copy.

A framework child lists what it mapped (probe/_framework_child.py: /proc/self/maps, or the
process's module list on Windows). Knowing *which* cuDNN is loaded is half the answer; the user
also needs to know *why*, because that is what they change:

- LD_LIBRARY_PATH (PATH on Windows) names the folder: it beats a module's RUNPATH, so a system
  cuDNN on LD_LIBRARY_PATH wins over the wheel's own copy;
- a module's RUNPATH ($ORIGIN/../../nvidia/cudnn/lib of libtorch_cuda.so) points there: the copy
  the wheel meant;
- the folder is inside a wheel (site-packages/nvidia/...) and no RUNPATH points there: the
  framework opened it by full path (torch's preload, JAX's plugin, cuda-pathfinder);
- the system loader found it (/etc/ld.so.conf.d, /usr/lib/<triplet>): the system copy.

"Which copy would load" for code that searches like NVIDIA's own libraries (CuPy 14, cuda-python,
numba-cuda) is asked of cuda-pathfinder (`load_nvidia_dynamic_lib`), in a child of the inspected
interpreter (it dlopens), instead of hand-written search: see `pathfinder_picks`.
"""

from __future__ import annotations

import glob
import os
import sys
from pathlib import Path
from typing import Iterable, Mapping

from gpuready.elf import read_elf
from gpuready.machine import LoadedLibrary
from gpuready.proc import parse_marked_json, run

PATHFINDER_CHILD = Path(__file__).with_name("_pathfinder_child.py")

DEFAULT_LINUX_DIRS = ("/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib")

# cuda-pathfinder's found_via values, in words.
FOUND_VIA = {
    "site-packages": "an NVIDIA wheel in site-packages",
    "conda": "the conda environment ($CONDA_PREFIX)",
    "system-search": "the system loader",
    "CUDA_PATH": "CUDA_PATH/CUDA_HOME",
    "was-already-loaded-from-elsewhere": "already loaded",
}


def _real_dir(path: str) -> str:
    return os.path.dirname(os.path.realpath(path))


def _dirs(value: str) -> list[str]:
    return [os.path.realpath(p) for p in value.split(os.pathsep) if p]


def ld_conf_dirs(conf: str = "/etc/ld.so.conf") -> list[str]:
    """The folders the system loader's cache covers (/etc/ld.so.conf and its includes), plus the defaults."""
    out: list[str] = []

    def read(path: str, depth: int = 0) -> None:
        try:
            lines = Path(path).read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError:
            return
        for line in lines:
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("include") and depth < 3:
                pattern = line.split(None, 1)[1] if " " in line else ""
                if pattern and not os.path.isabs(pattern):
                    pattern = os.path.join(os.path.dirname(path), pattern)
                for inc in sorted(glob.glob(pattern)):
                    read(inc, depth + 1)
            elif os.path.isabs(line):
                out.append(os.path.realpath(line))

    read(conf)
    return out


def _expand_origin(entry: str, obj: str) -> str:
    origin = os.path.dirname(os.path.realpath(obj))
    return os.path.realpath(entry.replace("$ORIGIN", origin).replace("${ORIGIN}", origin))


def _short(path: str) -> str:
    """site-packages/torch/lib/libtorch_cuda.so -> torch/lib/libtorch_cuda.so (a readable name for a module)."""
    norm = path.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in norm:
            return norm.split(marker, 1)[1]
    return path


def _in_wheel(path: str) -> bool:
    norm = path.replace("\\", "/")
    return "/site-packages/" in norm or "/dist-packages/" in norm


class _Elf:
    """ELF facts of the mapped objects, read once each."""

    def __init__(self) -> None:
        self.cache: dict[str, object] = {}

    def get(self, path: str):
        if path not in self.cache:
            self.cache[path] = read_elf(path, scan_markers=False)  # None for anything unreadable; never raises
        return self.cache[path]


def pick_rule(
    lib: str,
    objects: Iterable[str],
    env: Mapping[str, str],
    *,
    windows: bool = False,
    system_dirs: Iterable[str] | None = None,
    elf: _Elf | None = None,
) -> tuple[str, str]:
    """(rule, sentence): why the loader took this copy of `lib`. Rules: LD_LIBRARY_PATH/PATH, RUNPATH, wheel, system, path."""
    folder = _real_dir(lib)
    if windows:
        if folder.lower() in {d.lower() for d in _dirs(env.get("PATH", ""))}:
            return "PATH", f"{folder} is on PATH"
        if _in_wheel(lib):
            return "wheel", f"a wheel's folder ({os.path.dirname(_short(lib))}), added to the DLL search by the framework"
        if "system32" in folder.lower():
            return "system", "the Windows system folder"
        return "path", "opened by full path"
    if folder in _dirs(env.get("LD_LIBRARY_PATH", "")):
        return "LD_LIBRARY_PATH", f"{folder} is on LD_LIBRARY_PATH, which the loader searches before any RUNPATH"
    elf = elf or _Elf()
    info = elf.get(lib)
    soname = getattr(info, "soname", "") or os.path.basename(lib)
    for obj in objects:
        oinfo = elf.get(obj)
        if oinfo is None or soname not in getattr(oinfo, "needed", ()):
            continue
        for entry in getattr(oinfo, "runpath", ()):
            if _expand_origin(entry, obj) == folder:
                where = " (a wheel's nvidia/ folder)" if "/nvidia/" in lib.replace("\\", "/") else ""
                return "RUNPATH", f"RUNPATH {entry} of {_short(obj)}{where}"
    if _in_wheel(lib):
        return "wheel", f"a wheel's folder ({os.path.dirname(_short(lib))}), opened by full path by the framework"
    cache_dirs = list(system_dirs) if system_dirs is not None else ld_conf_dirs()
    if folder in cache_dirs:
        return "system", f"the system loader's cache ({folder}, from /etc/ld.so.conf.d)"
    if folder in {os.path.realpath(d) for d in DEFAULT_LINUX_DIRS} or folder.startswith(("/usr/lib/", "/lib/")):
        return "system", f"a default system folder ({folder})"
    return "path", "opened by full path"


def loaded_from_payload(payload: Mapping | None, env: Mapping[str, str], *, windows: bool | None = None) -> tuple[LoadedLibrary, ...]:
    """The child's {"libs": [...], "objects": [...]} -> LoadedLibrary records, each with its rule."""
    if not isinstance(payload, Mapping):
        return ()
    windows = sys.platform == "win32" if windows is None else windows
    objects = [str(o) for o in payload.get("objects", []) or [] if isinstance(o, str)]
    elf = _Elf()
    system_dirs = None if windows else ld_conf_dirs()
    out = []
    for item in payload.get("libs", []) or []:
        if not isinstance(item, Mapping) or not item.get("path"):
            continue
        path = str(item["path"])
        rule, detail = pick_rule(path, objects, env, windows=windows, system_dirs=system_dirs, elf=elf)
        front = item.get("front")
        if isinstance(front, str) and front:  # cuDNN's engines from another copy than its front library
            fv = str(item.get("front_version", "") or "")
            detail = (f"{detail}; cuDNN's front library {_short(front)}{' (' + fv + ')' if fv else ''} loads its engines "
                      f"(libcudnn_*) by name, and the loader found this copy's first")
        out.append(LoadedLibrary(name=str(item.get("name", "")), path=path, version=str(item.get("version", "") or ""), rule=rule, rule_detail=detail))
    return tuple(out)


def _pathfinder_home() -> str:
    """The folder that holds gpuready's own cuda/pathfinder package (to lend it to another interpreter)."""
    try:
        import importlib.util

        spec = importlib.util.find_spec("cuda.pathfinder")
    except (ImportError, ValueError):
        return ""
    if spec is None or not spec.origin:
        return ""
    return os.path.dirname(os.path.dirname(os.path.dirname(spec.origin)))


def pathfinder_picks(python: str, names: Iterable[str], env: Mapping[str, str], timeout: float = 30.0) -> dict[str, LoadedLibrary]:
    """Which copy of each library cuda-pathfinder would load in `python`'s environment ({} when it cannot say).

    Runs in a child of the inspected interpreter: pathfinder scans *that* environment's site-packages and
    conda prefix, and dlopens what it finds (never into gpuready's process).
    """
    names = sorted(set(names))
    home = _pathfinder_home()
    if not names or not home:
        return {}
    res = run([python, str(PATHFINDER_CHILD), home, *names], timeout=timeout, env=dict(env))
    data = parse_marked_json(res.stdout) if res.ok else None
    if not data:
        return {}
    windows = sys.platform == "win32"
    system_dirs = None if windows else ld_conf_dirs()
    out = {}
    for name, item in data.items():
        if not isinstance(item, dict) or not item.get("path"):
            continue
        path = str(item["path"])
        via = str(item.get("found_via", ""))
        rule, detail = "pathfinder", FOUND_VIA.get(via, via)
        if via == "system-search":  # the system loader: say which of its rules
            rule, detail = pick_rule(path, (), env, windows=windows, system_dirs=system_dirs)
        out[name] = LoadedLibrary(name=name, path=path, version=str(item.get("version", "") or ""), rule=rule, rule_detail=f"cuda-pathfinder: {detail}")
    return out
