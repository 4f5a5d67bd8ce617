"""Several copies of one framework on sys.path: which one `import` takes, which has CUDA, how to fix it.

The trap this exists for: a CPU-only dlib (a conda package, a `pip install --target`, a folder on
PYTHONPATH) earlier on sys.path than the CUDA dlib that was built for this machine. `import dlib`
gives the CPU copy, DLIB_USE_CUDA is False, and the obvious advice ("rebuild dlib with CUDA", or
"uninstall dlib from site-packages") destroys the build that works. So the finding names both
copies, says which has CUDA (probe.cudafiles read their files), and its fix removes or un-paths
the *shadowing* copy only, with the exact command for how that copy got onto sys.path.
"""

from __future__ import annotations

import os

from gpuready.findings import Finding
from gpuready.knowledge.frameworks import display
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


def shadowed_names(m: Machine) -> set[str]:
    """Frameworks whose CPU-only verdict is explained by a CPU copy hiding a CUDA one (no "rebuild" for them)."""
    names = {fw.name for fw in m.frameworks if shadowing(fw)}
    if "dlib" in names:
        names.add("face_recognition")  # it uses the GPU only through the dlib it imports
    return names


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


def check_copies(m: Machine) -> list[Finding]:
    out: list[Finding] = []
    for fw in m.frameworks:
        name = display(fw.name)
        for c in [c for c in fw.copies if "," in c.dist]:
            out.append(
                Finding(
                    "shadowed_install",
                    "warning",
                    name,
                    f"Several distributions install the same `{fw.name}` module in one place ({c.dist}); the files of the last one installed win, file by file.",
                    evidence=(c.path,),
                    fix=f"pip uninstall -y {c.dist.replace(',', ' ')} and install exactly one of them"
                    + (" (or `gpuready install opencv` for a CUDA build)." if fw.name == "cv2" else "."),
                )
            )
        if len(fw.copies) < 2:
            continue
        active = active_copy(fw)
        evidence = tuple(describe(fw, c) for c in fw.copies)
        pair = shadowing(fw)
        if pair:
            cpu, cuda = pair
            out.append(
                Finding(
                    "shadowed_install",
                    "error" if m.has_gpu else "warning",
                    name,
                    f"`import {fw.name}` takes the CPU-only copy at {cpu.path}; the CUDA build at {cuda.path} "
                    f"({(cuda.dist + ' ' + cuda.version).strip() or 'no metadata'}) is installed but hidden behind it.",
                    evidence=evidence,
                    fix=f"Remove the CPU copy, not the CUDA one: {removal(m, fw, cpu)}. This keeps the CUDA build at {cuda.path}; "
                    f"check with `gpuready doctor` (it must list {cuda.path} as the copy import takes).",
                    details={"shadowing": cpu.path, "hidden": cuda.path},
                )
            )
            continue
        others = [c for c in fw.copies if c is not active]
        active_cuda = copy_cuda(fw, active) if active else None
        if active_cuda is True and all(copy_cuda(fw, c) is False for c in others):
            out.append(
                Finding(
                    "shadowed_install",
                    "info",
                    name,
                    f"`import {fw.name}` takes the CUDA build at {active.path}; {len(others)} CPU-only copy(ies) behind it are unused "
                    "(harmless now; they win if the search order changes).",
                    evidence=evidence,
                    fix="To remove them: " + "; ".join(f"{c.path}: {removal(m, fw, c)}" for c in others) + ".",
                )
            )
            continue
        out.append(
            Finding(
                "shadowed_install",
                "warning",
                name,
                f"{len(fw.copies)} copies of `{fw.name}` are importable; `import {fw.name}` takes {active.path if active else '?'}"
                f" ({(active.dist + ' ' + active.version).strip() if active and active.dist else 'no metadata'}).",
                evidence=evidence,
                fix="Keep one copy. To keep the one import takes, remove the others: "
                + "; ".join(f"{c.path}: {removal(m, fw, c)}" for c in others)
                + ".",
            )
        )
    return out
