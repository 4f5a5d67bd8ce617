"""Competing and shadowing copies that must go before a package is installed.

Two kinds, both from data (knowledge/data/install.toml):

* **Competing distributions** install the same module: opencv-python, -headless, -contrib and
  -contrib-headless all install `cv2/`; dlib and dlib-bin both install `dlib`. They overwrite each
  other's files, and uninstalling one later deletes files the other needs. Every other member of
  the group that is installed is uninstalled *before* the new one goes in.
* **Shadowing copies** of a module earlier on sys.path than the install directory (a conda dlib,
  one in ~/.local, one on PYTHONPATH): `import dlib` would keep finding the old one. They come
  from the Machine's framework copies (the probe found every copy on the target's sys.path).
  A copy with pip metadata is removed by its RECORD; a conda copy by its conda-meta file list;
  a bare module by its own path. Copies *later* on sys.path are harmless and left alone.

Removal needs the user's consent (or --yes); everything removed is inside the transaction's
snapshot, so a failed install puts it back.
"""

from __future__ import annotations

import csv
import glob
import json
import os
from dataclasses import dataclass
from typing import Iterable, Sequence

from gpuready.install import knowledge
from gpuready.install.envinfo import Dist, TargetEnv, _same
from gpuready.install.knowledge import canonical
from gpuready.knowledge import frameworks
from gpuready.machine import Machine
from gpuready.plan.model import PackagePlan


@dataclass(frozen=True)
class Removal:
    subject: str  # the module: "cv2", "dlib"
    dist: str  # the distribution, "" when no metadata claims the copy
    version: str
    location: str  # the sys.path entry (or folder) it lives in
    how: str  # "uninstall" (pip/uv uninstall), "files" (gpuready deletes `paths`)
    reason: str
    source: str = ""
    paths: tuple[str, ...] = ()  # for how == "files"

    def describe(self) -> str:
        what = f"{self.dist} {self.version}".strip() if self.dist else f"{self.subject} (no package metadata)"
        return f"{what} in {self.location}"

    def to_dict(self) -> dict:
        return {
            "subject": self.subject, "dist": self.dist, "version": self.version, "location": self.location,
            "how": self.how, "reason": self.reason, "source": self.source, "paths": list(self.paths),
        }


@dataclass(frozen=True)
class Conflicts:
    removals: tuple[Removal, ...]
    notes: tuple[str, ...] = ()  # copies left alone, and why

    @property
    def extra_roots(self) -> tuple[str, ...]:
        """Folders outside the install directories that removals touch (the snapshot must cover them)."""
        out: list[str] = []
        for r in self.removals:
            if r.how == "files" and r.location not in out:
                out.append(r.location)
        return tuple(out)


def module_of(dist: str) -> str:
    """The import name a distribution provides, from the competing groups, the probe's specs, or its name."""
    group = knowledge.competing_group(dist)
    if group is not None:
        return group.module
    return frameworks.module_of_dist(dist) or dist.replace("-", "_").lower()


def _sys_path_index(env: TargetEnv, folder: str) -> int:
    for i, entry in enumerate(env.sys_path):
        if _same(entry, folder):
            return i
    return -1


def _install_index(env: TargetEnv) -> int:
    idx = [i for d in env.install_dirs if (i := _sys_path_index(env, d)) >= 0]
    return min(idx) if idx else len(env.sys_path)


def record_paths(dist: Dist) -> tuple[str, ...]:
    """Every file a distribution's RECORD lists (absolute), plus its metadata folder."""
    paths: list[str] = []
    record = os.path.join(dist.path, "RECORD")
    try:
        with open(record, encoding="utf-8", errors="replace", newline="") as fh:
            for row in csv.reader(fh):
                if row and row[0]:
                    p = os.path.normpath(os.path.join(dist.location, row[0]))
                    if p not in paths:
                        paths.append(p)
    except OSError:
        pass
    if dist.path not in paths:
        paths.append(dist.path)
    return tuple(paths)


def conda_paths(location: str, module: str) -> tuple[str, str, tuple[str, ...]]:
    """(package name, version, files) of the conda package that installed `module` under `location`."""
    prefix = location
    while prefix and not os.path.isdir(os.path.join(prefix, "conda-meta")):
        parent = os.path.dirname(prefix)
        if parent == prefix:
            return "", "", ()
        prefix = parent
    for meta in glob.glob(os.path.join(prefix, "conda-meta", "*.json")):
        try:
            data = json.loads(open(meta, encoding="utf-8").read())
        except (OSError, ValueError):
            continue
        files = data.get("files") or []
        rels = [os.path.normpath(f) for f in files]
        hits = [f for f in rels if os.path.basename(os.path.dirname(f)) == module or os.path.basename(f).startswith((module + ".", f"_{module}_"))]
        if any(os.path.normpath(os.path.join(prefix, f)).startswith(os.path.normpath(location)) for f in hits):
            return str(data.get("name", "")), str(data.get("version", "")), tuple(os.path.join(prefix, f) for f in rels) + (meta,)
    return "", "", ()


def _bare_paths(copy_path: str, module: str) -> tuple[str, ...]:
    """A copy without metadata: its package folder or extension file, plus sibling extension modules."""
    folder = os.path.dirname(copy_path.rstrip("/\\"))
    out = [copy_path]
    for pat in (f"{module}.*.so", f"{module}.*.pyd", f"_{module}_*.so", f"_{module}_*.pyd", f"{module}.py"):
        for p in glob.glob(os.path.join(folder, pat)):
            if p not in out:
                out.append(p)
    return tuple(out)


def _copy_removal(env: TargetEnv, module: str, copy_path: str, reason: str, source: str) -> Removal:
    location = os.path.dirname(copy_path.rstrip("/\\"))
    owner = None
    for d in env.dists:
        if not _same(d.location, location):
            continue
        if module in d.top_level or module_of(d.name) == module:
            owner = d
            break
    if owner is not None and owner.has_record and owner.installer.strip().lower() != "conda":
        return Removal(module, owner.name, owner.version, location, "files", reason, source, record_paths(owner))
    name, version, files = conda_paths(location, module)
    if files:
        return Removal(module, name or (owner.name if owner else ""), version, location, "files", reason + " (installed by conda)", source, files)
    if owner is not None and owner.has_record:
        return Removal(module, owner.name, owner.version, location, "files", reason, source, record_paths(owner))
    return Removal(module, owner.name if owner else "", owner.version if owner else "", location, "files", reason, source, _bare_paths(copy_path, module))


def find_conflicts(env: TargetEnv, machine: Machine | None, packages: Sequence[PackagePlan]) -> Conflicts:
    """What must be removed before `packages` (plan entries) are installed into `env`."""
    removals: list[Removal] = []
    notes: list[str] = []
    seen: set[tuple[str, str]] = set()
    install_idx = _install_index(env)

    def add(r: Removal) -> None:
        key = (canonical(r.dist) if r.dist else r.subject, os.path.normcase(r.location))
        if key not in seen:
            seen.add(key)
            removals.append(r)

    planned = {canonical(p.dist_name) for p in packages}
    for pkg in packages:
        dist = pkg.dist_name
        # 1. the plan's own list of distributions to uninstall first
        for other in pkg.conflicts:
            for d in env.installed(other):
                if any(_same(d.location, x) for x in env.install_dirs):
                    add(Removal(module_of(other), d.name, d.version, d.location, "uninstall",
                                f"the plan replaces it with {dist}", pkg.source))
        # 2. competing distributions of the same module
        group = knowledge.competing_group(dist)
        if group is not None:
            for member in group.dists:
                if canonical(member) == canonical(dist) or canonical(member) in planned:
                    continue
                for d in env.installed(member):
                    if any(_same(d.location, x) for x in env.install_dirs):
                        add(Removal(group.module, d.name, d.version, d.location, "uninstall",
                                    f"competes with {dist}: {group.why}", group.source))
                    else:
                        add(_copy_removal(env, group.module, os.path.join(d.location, group.module),
                                          f"competes with {dist}: {group.why}", group.source))
        # 3. copies of the module earlier on sys.path than the install directory
        module = module_of(dist)
        checks = {c.module: c for c in knowledge.shadow_checks()}
        fw = machine.framework(module) if machine is not None else None
        if fw is None:
            continue
        for copy in fw.copies:
            location = os.path.dirname(copy.path.rstrip("/\\"))
            if any(_same(location, x) for x in env.install_dirs):
                continue
            pos = _sys_path_index(env, location)
            if module in checks and 0 <= pos < install_idx:
                c = checks[module]
                add(_copy_removal(env, module, copy.path, f"earlier on sys.path than {dist} would be: {c.why}", c.source))
            else:
                notes.append(f"{module} {copy.version or ''} at {copy.path} is later on sys.path than the install "
                             "directory: it will be shadowed by the new install and is left alone")
    return Conflicts(tuple(removals), tuple(notes))


def remove_files(paths: Iterable[str], keep: Sequence[str] = ()) -> list[str]:
    """Delete a removal's files, then the folders they leave empty (never `keep` or above it); returns failures."""
    import shutil

    failed: list[str] = []
    dirs: set[str] = set()
    for p in paths:
        try:
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)
            dirs.add(os.path.dirname(p))
        except OSError as exc:
            failed.append(f"{p}: {exc.strerror or exc}")
    keep_n = [os.path.normcase(os.path.abspath(k)) for k in keep]
    for d in sorted(dirs, key=len, reverse=True):
        nd = os.path.normcase(os.path.abspath(d))
        if any(k == nd or k.startswith(nd.rstrip(os.sep) + os.sep) for k in keep_n):
            continue
        try:
            cache = os.path.join(d, "__pycache__")
            if os.path.isdir(cache) and not any(n for n in os.listdir(d) if n != "__pycache__"):
                shutil.rmtree(cache)
            os.rmdir(d)  # only when empty
        except OSError:
            pass
    return failed
