"""The wheel cache: every wheel gpuready builds, kept so the next install takes seconds, not minutes.

It is a plain flat folder of wheels, so `pip install --find-links DIR` and `uv pip install
--find-links DIR` read it as they are, and a lab can point every machine at one shared folder
(GPUREADY_CACHE_DIR) and build each variant once. The key facts are in each wheel's version, as
a local label: `dlib-20.0.1+cu130.cudnn9.sm90.r1-cp312-cp312-linux_x86_64.whl` is dlib 20.0.1
built with CUDA 13.0, cuDNN 9, for sm_90, by recipe version 1; the Python tag and platform are
the wheel's own tags. pip matches `dlib==20.0.1` and `dlib>=19.7` against it (a local label is
ignored by public specifiers), and the installer pins the exact label to pick one variant.
A sidecar `<wheel>.json` holds what the name can't (full versions, toolkit source, build time,
log); pip ignores it.

Shared by a lab, the folder is written by several machines at once, so: each writer stages its
files in a folder of its own (`.incoming/<host>-<pid>-<token>/`) and renames them into place,
so two writers of one wheel never share a temporary name and no reader sees half a wheel; a
build takes the variant's lock (`build_lock`, see lock.py) so one node builds and the others
wait and reuse the wheel; `clear` removes finished wheels and what dead writers left, never a
live writer's files or lock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from gpuready import paths
from gpuready.build import lock as lockmod
from gpuready.build import wheelfile
from gpuready.knowledge.cuda import cc_int, vtuple

SIDECAR = ".json"
INCOMING = ".incoming"  # per-writer staging folders, inside the cache so the final rename is atomic
LOCKS = ".locks"
LEGACY_PARTIAL_AGE = 3600.0  # a bare *.partial older than this is a dead writer's leftover
INCOMING_AGE = 24 * 3600.0  # a staging folder untouched this long is a dead writer's, whatever its host


def cache_dir() -> Path:
    """The wheel folder: $GPUREADY_CACHE_DIR, else the user cache dir's gpuready/wheels."""
    return paths.wheels_dir()


@dataclass(frozen=True)
class CacheKey:
    package: str  # canonical distribution name, "dlib"
    version: str  # public version, "20.0.1"
    python_tag: str  # "cp312"
    platform: str  # "linux_x86_64"
    cuda: str  # "13.0"
    cudnn_major: str  # "9" ("" when the build uses no cuDNN)
    archs: tuple[str, ...]  # ("8.6", "9.0")
    recipe_version: int

    @property
    def local_label(self) -> str:
        cu = "cu" + "".join(str(x) for x in vtuple(self.cuda)[:2]) if self.cuda else "cpu"
        parts = [cu]
        if self.cudnn_major:
            parts.append(f"cudnn{self.cudnn_major}")
        parts.extend(f"sm{cc_int(a)}" for a in self.archs)
        parts.append(f"r{self.recipe_version}")
        return ".".join(parts)

    @property
    def wheel_version(self) -> str:
        return f"{self.version.split('+')[0]}+{self.local_label}"

    @property
    def requirement(self) -> str:
        """What an installer pins to get exactly this variant."""
        return f"{self.package}=={self.wheel_version}"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["archs"] = list(self.archs)
        d["local_label"] = self.local_label
        d["wheel_version"] = self.wheel_version
        return d


def cache_key(
    package: str,
    version: str,
    python_tag: str,
    platform: str,
    cuda: str,
    cudnn_major: str,
    archs: list[str] | tuple[str, ...],
    recipe_version: int,
) -> CacheKey:
    archs_sorted = tuple(sorted({a for a in archs}, key=cc_int))
    mm = ".".join(str(x) for x in vtuple(cuda)[:2]) if cuda else ""
    return CacheKey(
        package=canonicalize_name(package), version=str(version).split("+")[0], python_tag=python_tag,
        platform=platform, cuda=mm, cudnn_major=str(cudnn_major or "").split(".")[0],
        archs=archs_sorted, recipe_version=int(recipe_version),
    )


def key_from_settings(settings: dict) -> CacheKey:
    """The key of the wheel that `build_settings(...)` describes."""
    return cache_key(
        settings["dist"], settings["version"], settings["python_tag"], settings["platform"],
        settings["cuda_version"], (settings.get("cudnn") or {}).get("version", ""), settings["cuda_arch_bin"],
        settings["recipe_version"],
    )


@dataclass
class CacheEntry:
    path: Path
    name: str
    version: str
    tags: tuple[str, ...]
    info: dict = field(default_factory=dict)

    @property
    def local_label(self) -> str:
        return self.version.split("+", 1)[1] if "+" in self.version else ""

    @property
    def requirement(self) -> str:
        return f"{self.name}=={self.version}"

    @property
    def size(self) -> int:
        try:
            return self.path.stat().st_size
        except OSError:
            return 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": str(self.path), "name": self.name, "version": self.version, "tags": list(self.tags),
            "local_label": self.local_label, "requirement": self.requirement, "size": self.size, "info": self.info,
        }


def _entry(path: Path) -> CacheEntry | None:
    try:
        name, version, _build, tags = parse_wheel_filename(path.name)
    except InvalidWheelFilename:
        return None
    info: dict = {}
    side = path.with_name(path.name + SIDECAR)
    if side.is_file():
        try:
            info = json.loads(side.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            info = {}
    return CacheEntry(path=path, name=str(name), version=str(version), tags=tuple(sorted(str(t) for t in tags)), info=info)


def list_entries(directory: Path | None = None, package: str | None = None) -> list[CacheEntry]:
    d = Path(directory) if directory else cache_dir()
    if not d.is_dir():
        return []
    want = canonicalize_name(package) if package else None
    out = []
    for path in sorted(d.glob("*.whl")):
        e = _entry(path)
        if e and (want is None or canonicalize_name(e.name) == want):
            out.append(e)
    return out


def tags_compatible(tags: tuple[str, ...] | frozenset, python_tag: str, platform: str) -> bool:
    """Could a wheel with `tags` install on CPython `python_tag` ("cp312") on `platform` ("linux_x86_64")?"""
    m = re.fullmatch(r"cp(\d)(\d+)", python_tag or "")
    arch = platform.split("_", 1)[1] if platform.startswith("linux_") else ""
    for tag in tags:
        interp, abi, plat = str(tag).split("-")
        plat_ok = plat == platform or plat == "any" or (
            arch and re.fullmatch(r"manylinux(?:1|2010|2014|_\d+_\d+)_" + re.escape(arch), plat) is not None
        )
        if not plat_ok:
            continue
        if interp == python_tag and abi in (python_tag, "none", "abi3"):
            return True
        if abi == "abi3" and m:
            mi = re.fullmatch(r"cp(\d)(\d+)", interp)
            if mi and mi.group(1) == m.group(1) and int(mi.group(2)) <= int(m.group(2)):
                return True
        if interp in ("py3", f"py{m.group(1) if m else '3'}") and abi == "none":
            return True
    return False


def lookup(key: CacheKey, directory: Path | None = None) -> CacheEntry | None:
    """The cached wheel for exactly this key, or None."""
    for e in list_entries(directory, key.package):
        if e.version == key.wheel_version and tags_compatible(e.tags, key.python_tag, key.platform):
            return e
    return None


def staging_dir(directory: Path) -> Path:
    """A folder only this writer uses, with its owner recorded (so `clear` can tell live from dead)."""
    owner = lockmod.owner_record("cache store")
    d = Path(directory) / INCOMING / f"{owner['host']}-{owner['pid']}-{owner['token'][:12]}"
    for attempt in range(5):
        try:
            d.mkdir(parents=True, exist_ok=False)
            (d / "owner.json").write_text(json.dumps(owner), encoding="utf-8")
            return d
        except FileNotFoundError:  # another writer removed the empty .incoming/ between our two mkdirs
            if attempt == 4:
                raise
    return d


def store(wheel: Path, key: CacheKey, info: dict | None = None, directory: Path | None = None) -> CacheEntry:
    """Copy a built wheel into the cache under the key's version label; write its sidecar.

    Both files are written in this writer's own staging folder and renamed into the cache,
    sidecar first, so a wheel that is visible always has its sidecar, and concurrent writers of
    one wheel each rename a whole file (the last one wins; both are the same variant)."""
    d = Path(directory) if directory else cache_dir()
    d.mkdir(parents=True, exist_ok=True)
    meta = {"key": key.to_dict(), "stored_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **(info or {})}
    build_info = json.dumps(meta, indent=2, sort_keys=True).encode()
    _name, version, _b, _t = parse_wheel_filename(Path(wheel).name)
    in_place = str(version) == key.wheel_version and Path(wheel).parent.resolve() == d.resolve()
    stage = staging_dir(d)
    try:
        if in_place:
            out = Path(wheel)
        else:
            staged = wheelfile.relabel(Path(wheel), stage, key.wheel_version, extra={"gpuready_build.json": build_info})
            out = d / staged.name
        side = out.with_name(out.name + SIDECAR)
        staged_side = stage / side.name
        staged_side.write_bytes(build_info + b"\n")
        os.replace(staged_side, side)
        if not in_place:
            os.replace(staged, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        _remove_if_empty(d / INCOMING)
    e = _entry(out)
    assert e is not None
    return e


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass


def lock_path(key: CacheKey, directory: Path | None = None) -> Path:
    d = Path(directory) if directory else cache_dir()
    return d / LOCKS / f"{key.package}-{key.wheel_version}-{key.python_tag}-{key.platform}.lock"


def build_lock(key: CacheKey, directory: Path | None = None, **kwargs) -> lockmod.BuildLock:
    """The lock one variant's build holds in the (shared) cache folder; see lock.py."""
    return lockmod.BuildLock(lock_path(key, directory), what=f"build {key.requirement} ({key.python_tag}, {key.platform})",
                             **kwargs)


def in_flight(directory: Path | None = None) -> list[tuple[Path, str]]:
    """Staging folders, bare *.partial files and locks in the cache: (path, why it is dead or "" while alive)."""
    d = Path(directory) if directory else cache_dir()
    out: list[tuple[Path, str]] = []
    now = time.time()

    def age(p: Path) -> float:
        try:
            return now - p.stat().st_mtime
        except OSError:
            return 0.0

    inc = d / INCOMING
    if inc.is_dir():
        for sub in sorted(inc.iterdir()):
            owner = lockmod.read_owner(sub / "owner.json")
            out.append((sub, lockmod.owner_gone(owner, age(sub), stale_after=INCOMING_AGE)))
    if d.is_dir():
        for p in sorted(d.glob("*.partial")):  # written by older gpuready versions, or by hand
            a = age(p)
            out.append((p, f"untouched for {a:.0f} s" if a > LEGACY_PARTIAL_AGE else ""))
    locks = d / LOCKS
    if locks.is_dir():
        for p in sorted(locks.iterdir()):
            if p.name.endswith(".lock"):
                out.append((p, lockmod.owner_gone(lockmod.read_owner(p), age(p))))
            elif ".lock.stale-" in p.name:
                out.append((p, "a stale lock moved aside"))
    return out


def clear(package: str | None = None, directory: Path | None = None) -> list[Path]:
    """Remove cached wheels (all, or one package's) and their sidecars, and what dead writers left
    (staging folders, partial files, stale locks); a live writer's files and locks stay."""
    removed: list[Path] = []
    for e in list_entries(directory, package):
        for p in (e.path, e.path.with_name(e.path.name + SIDECAR)):
            try:
                p.unlink()
                removed.append(p)
            except FileNotFoundError:
                pass
    d = Path(directory) if directory else cache_dir()
    for p, dead in in_flight(d):
        if not dead:
            continue
        try:
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
            removed.append(p)
        except OSError:
            pass
    for folder in (d / INCOMING, d / LOCKS):
        _remove_if_empty(folder)
    return removed


def find_links_args(directory: Path | None = None) -> list[str]:
    """The pip/uv arguments that make an install look in the cache first."""
    return ["--find-links", str(Path(directory) if directory else cache_dir())]
