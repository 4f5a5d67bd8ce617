"""Make a built module find its CUDA libraries wherever the wheel is installed.

A build links cuDNN/cuBLAS from absolute folders of the build machine, and CMake writes them into
the module's RUNPATH (`/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib`). That is
right on the build machine and wrong on the next one, which defeats a shared wheel cache. When such
a folder lies inside the environment the wheel is for, it is rewritten as `$ORIGIN/...` relative to
where the module will be installed, and the `$ORIGIN` folders of NVIDIA's pip wheels for this CUDA
major are added if room is left: the module then loads the environment's own cuDNN and cuBLAS on
any machine, and the same copy as before on this one. The rewrite is in place (never longer than
the original string, see `elf.rewrite_runpath`); a wheel whose rewritten module fails the import
check is not used.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gpuready import elf
from gpuready.build import wheelfile
from gpuready.build.recipes import toolkit_for_major
from gpuready.knowledge.cuda import vtuple


@dataclass
class PortableResult:
    wheel: Path | None = None  # the rewritten wheel, None when nothing changed
    before: list[str] = field(default_factory=list)
    after: list[str] = field(default_factory=list)
    note: str = ""


def portable_runpath(runpath: list[str], module_arc: str, site: str, cuda_version: str) -> list[str]:
    """The RUNPATH to write: entries inside `site` become $ORIGIN-relative; pip-wheel folders follow."""
    if not site:
        return list(runpath)
    site_real = os.path.realpath(site)
    installed_dir = os.path.join(site_real, os.path.dirname(module_arc))
    out: list[str] = []
    for entry in runpath:
        real = os.path.realpath(entry) if not entry.startswith("$") else entry
        if real == site_real or real.startswith(site_real + os.sep):
            rel = os.path.relpath(real, installed_dir)
            entry = "$ORIGIN" if rel == "." else "$ORIGIN/" + rel
        if entry not in out:
            out.append(entry)
    major = vtuple(cuda_version)[:1]
    row = toolkit_for_major(major[0]) if major else None
    for d in row.pip_lib_dirs if row else ():
        rel = "$ORIGIN/" + os.path.relpath(os.path.join(site_real, d), installed_dir)
        if rel not in out:
            out.append(rel)
    return out


def make_portable(wheel: Path, module_arc: str, runpath: list[str], site: str, cuda_version: str, work: Path) -> PortableResult:
    """A copy of `wheel` whose module has the portable RUNPATH (as much of it as fits)."""
    res = PortableResult(before=list(runpath))
    if not runpath or not module_arc.endswith(".so") and ".so." not in module_arc:
        res.note = "no RUNPATH to rewrite"
        return res
    wanted = portable_runpath(runpath, module_arc, site, cuda_version)
    if wanted == runpath:
        res.note = "RUNPATH already portable (nothing inside the target environment)"
        return res
    tmp = work / "portable"
    tmp.mkdir(parents=True, exist_ok=True)
    mod = tmp / Path(module_arc).name
    with zipfile.ZipFile(wheel) as zf:
        mod.write_bytes(zf.read(module_arc))
    # The converted entries must fit; the added pip-wheel folders are dropped from the end until they do.
    base = portable_runpath(runpath, module_arc, site, "")
    extras = [e for e in wanted if e not in base]
    while not elf.rewrite_runpath(mod, base + extras):
        if not extras:
            res.note = "the portable RUNPATH does not fit in place (or its bytes are shared); kept as built"
            return res
        extras.pop()
    candidate = base + extras
    out_dir = tmp / "wheel"
    name, version, _b, _t = wheelfile.parse_wheel_filename(wheel.name)
    res.wheel = wheelfile.relabel(wheel, out_dir, str(version), replace={module_arc: mod.read_bytes()})
    res.after = candidate
    res.note = "RUNPATH " + ":".join(runpath) + " -> " + ":".join(candidate)
    return res
