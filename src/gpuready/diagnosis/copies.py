"""A CPU-only copy of a framework in front of its CUDA build on sys.path: the one judgement, label and fix.

The trap this exists for: a CPU-only dlib (a conda package, a `pip install --target`, a folder on
PYTHONPATH) earlier on sys.path than the CUDA dlib that was built for this machine. `import dlib`
gives the CPU copy, DLIB_USE_CUDA is False, and the obvious advice ("rebuild dlib with CUDA", or
"uninstall dlib from site-packages") destroys the build that works or wastes a build that changes
nothing. So the finding names both copies, says which has CUDA (probe.cudafiles read their files,
no import), and its fix removes or un-paths the *shadowing* copy only, with the exact command for how
that copy got onto sys.path.

Doctor (its copies check, and the framework that fails because of it) and verify (a measured
CPU-only verdict, or an import that fails) both ask `shadow_cause`, so one fact gets one label
(shadowed_install) and one fix everywhere (seen on the H200, 2026-12-02: doctor said shadowed_install,
verify said cpu_only_build with "gpuready build dlib").

A framework that reaches the GPU only through another one (face_recognition through dlib: the
registry's `gpu_through`) is judged by that one's copies.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass

from gpuready.findings import Finding
from gpuready.knowledge import frameworks as registry
from gpuready.machine import Framework, FrameworkCopy, Machine


def active_copy(fw: Framework) -> FrameworkCopy | None:
    return next((c for c in fw.copies if c.active), fw.copies[0] if fw.copies else None)


def copy_cuda(fw: Framework, c: FrameworkCopy) -> bool | None:
    """Whether a copy has CUDA: its files' answer, else (for the imported copy) what its import said."""
    if c.cuda is not None:
        return c.cuda
    if c.active and fw.status == "ok":
        return fw.cuda_build
    return None


def shadowing(fw: Framework) -> tuple[FrameworkCopy, FrameworkCopy] | None:
    """(the CPU copy `import` takes, the first CUDA copy behind it), or None when no CPU copy hides a CUDA one."""
    active = active_copy(fw)
    if active is None or len(fw.copies) < 2 or copy_cuda(fw, active) is not False:
        return None
    hidden = next((c for c in fw.copies if c is not active and copy_cuda(fw, c) is True), None)
    return (active, hidden) if hidden else None


def describe(fw: Framework, c: FrameworkCopy) -> str:
    cuda = copy_cuda(fw, c)
    what = {True: "CUDA build", False: "CPU-only", None: "CUDA unknown"}[cuda]
    why = f": {c.cuda_evidence}" if c.cuda_evidence else ""
    meta = f"{c.dist} {c.version}".strip() if c.dist else "no metadata"
    origin = f", on sys.path via {c.origin}" if c.origin else ""
    mark = "import takes " if c.active else "hidden: "
    return f"{mark}{c.path} ({meta}{origin}; {what}{why})"


def _rm(m: Machine, *paths: str) -> str:
    paths = tuple(p for p in paths if p)
    if m.os.system == "windows":
        return "Remove-Item -Recurse -Force " + ", ".join(f"'{p}'" for p in paths)
    return "rm -rf " + " ".join(f"'{p}'" for p in paths)


def _pythonpath_without(m: Machine, c: FrameworkCopy) -> str:
    sep = ";" if m.os.system == "windows" else ":"
    value = c.origin_detail
    keep = [p for p in value.split(sep) if p and os.path.realpath(p) != os.path.realpath(c.entry)]
    if m.os.system == "windows":
        return f"$env:PYTHONPATH = '{sep.join(keep)}'" if keep else "Remove-Item Env:PYTHONPATH"
    return f"export PYTHONPATH='{sep.join(keep)}'" if keep else "unset PYTHONPATH"


def _first_of_its_name(fw: Framework, c: FrameworkCopy) -> bool:
    """No copy of the same distribution comes before it on sys.path: `pip uninstall NAME` would remove this one."""
    for other in fw.copies:
        if other is c:
            return True
        if other.dist and other.dist == c.dist:
            return False
    return True


def removal(m: Machine, fw: Framework, c: FrameworkCopy) -> str:
    """The exact way to take this one copy out of `import`'s way, by how it got onto sys.path.

    `pip uninstall NAME` removes the *first* NAME on sys.path, so it is offered only for a copy that is
    first of its name (else it would remove another copy, maybe the CUDA build); the others get the
    exact files to delete.
    """
    files = _rm(m, c.path, *c.extra_paths, c.meta if c.meta and not c.meta.endswith(".json") else "")
    name = c.dist.split(",")[0] if c.dist else ""
    if c.origin == "PYTHONPATH":
        return (
            f"take {c.entry} off PYTHONPATH: `{_pythonpath_without(m, c)}` (and where it is set: ~/.bashrc, the job script, "
            f"the IDE's run configuration); or delete that copy: `{files}`"
        )
    if c.origin == ".pth":
        return f"delete the line `{c.entry}` from {c.origin_detail} (that .pth file puts the folder on sys.path)"
    if c.origin == "egg":
        extra = f" and its line in {c.origin_detail}" if c.origin_detail else ""
        return f"delete the egg: `{_rm(m, c.entry)}`{extra}"
    if c.origin == "conda" and c.installer == "conda" and name:
        return f"`conda remove -p {c.origin_detail} {name}` (the conda package that installed it)"
    if name and c.installer in ("pip", "uv", "") and _first_of_its_name(fw, c) and c.origin in ("site-packages", "user site", "conda"):
        py = m.python.executable or "python"
        return (
            f"`{py} -m pip uninstall -y {name}` (once: pip removes the first {name} on sys.path, which is this copy, {c.path}); "
            f"or delete it: `{files}`"
        )
    if c.origin in ("current folder", "folder"):
        return f"move it out of the way: `mv '{c.path}' '{c.path}.off'` (Python picks it because {c.entry} is on sys.path)"
    return f"delete it: `{files}`"


def shadow_finding(m: Machine, fw: Framework) -> Finding | None:
    """The shadowed_install finding for a CPU-only copy `import` takes in front of a CUDA build, or None."""
    pair = shadowing(fw)
    if pair is None:
        return None
    cpu, cuda = pair
    return Finding(
        "shadowed_install",
        "error" if m.has_gpu else "warning",
        registry.display(fw.name),
        f"`import {fw.name}` takes the CPU-only copy at {cpu.path}; the CUDA build at {cuda.path} "
        f"({(cuda.dist + ' ' + cuda.version).strip() or 'no metadata'}) is installed but hidden behind it.",
        evidence=tuple(describe(fw, c) for c in fw.copies),
        fix=f"Remove the CPU copy, not the CUDA one: {removal(m, fw, cpu)}. This keeps the CUDA build at {cuda.path}; "
        f"check with `gpuready doctor` (it must list {cuda.path} as the copy import takes).",
        details={"shadowing": cpu.path, "hidden": cuda.path},
    )


@dataclass(frozen=True)
class ShadowCause:
    """Why a framework gets a CPU-only (or broken) module: `owner`'s CPU copy hides its CUDA build."""

    owner: str  # the framework whose copies are shadowed: the framework itself, or one it reaches the GPU through
    finding: Finding  # owner's shadowed_install finding (the one doctor lists)


def shadow_cause(m: Machine, name: str, *, measured_cpu: bool = False) -> ShadowCause | None:
    """The shadowed copy that explains why framework `name` is CPU-only or fails to import, or None.

    `name` itself is looked at first, then the frameworks it reaches the GPU through (the registry's
    `gpu_through`: face_recognition -> dlib). `measured_cpu`: a real import just said the module it got
    is CPU-only (verify's child), which settles the imported copy when its files could not tell.
    """
    entry = registry.get(name)
    for owner in (name, *(entry.gpu_through if entry else ())):
        fw = m.framework(owner)
        if fw is None:
            continue
        if measured_cpu:
            fw = dataclasses.replace(fw, status="ok", cuda_build=False)
        finding = shadow_finding(m, fw)
        if finding is not None:
            return ShadowCause(owner, finding)
    return None

