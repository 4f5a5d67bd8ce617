"""The offline folder: what `gpuready download` fetched, for which machine, and the plan it followed.

`gpuready download PKG... -d DIR` leaves wheels and sdists in DIR plus `gpuready-offline.json`:

    {"schema": "gpuready.offline", "schema_version": 1, "created": ..., "requests": [...],
     "target": {"python": "3.12", "implementation": "cp", "abi": "cp312", "platforms": [...], "machine": ...},
     "plan": <Plan.to_dict()>, "files": [{"file", "sha256", "size", "kind", "for"}]}

`gpuready install --offline DIR` follows that plan (it was made for the target machine; planning
again there could pick versions the folder does not hold), installs with
`--no-index --find-links CHECKED`, and builds sdists from CHECKED. The sha256 of every file is checked
first, so a truncated copy on a USB stick fails before anything is changed. CHECKED is a folder of
links to the listed files only (`checked_folder`): a wheel someone dropped into DIR later, listed
nowhere, is never seen by pip or uv, so it cannot stand in for the version the manifest names.

Also here: the wheel tags of a target machine (`pip download --platform ...` needs them spelled
out), from the Machine's Python and OS (and, for Linux, its distribution's glibc).
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from gpuready import __version__
from gpuready.install import knowledge
from gpuready.machine import Machine
from gpuready.plan.model import Plan, PlanFormatError

MANIFEST = "gpuready-offline.json"
SCHEMA = "gpuready.offline"
SCHEMA_VERSION = 1


class OfflineError(ValueError):
    """An offline folder that is missing, incomplete, corrupt, or made for another machine."""


@dataclass(frozen=True)
class TargetTags:
    python: str  # "3.12"
    implementation: str  # "cp"
    abi: str  # "cp312"
    platforms: tuple[str, ...]  # most specific first

    def pip_args(self) -> list[str]:
        """`pip download` options that select this target's wheels (they require --only-binary=:all:)."""
        args = ["--python-version", self.python, "--implementation", self.implementation]
        for abi in (self.abi, "abi3", "none"):
            args += ["--abi", abi]
        for p in self.platforms:
            args += ["--platform", p]
        return args

    def to_dict(self) -> dict:
        return {"python": self.python, "implementation": self.implementation, "abi": self.abi, "platforms": list(self.platforms)}


def _glibc(machine: Machine, glibc_hint: str = "") -> tuple[int, int]:
    text = glibc_hint.replace("glibc", "").strip() or knowledge.glibc_for_distro(machine.os.distro)
    try:
        major, minor = (int(x) for x in text.split(".")[:2])
    except ValueError:
        major, minor = (int(x) for x in knowledge.setting("default_glibc").split("."))
    return major, minor


def target_tags(machine: Machine, glibc_hint: str = "") -> TargetTags:
    """The wheel tags of the machine's Python: manylinux_2_N down to 2_17 on Linux, win_amd64, macOS."""
    py = machine.python
    major_minor = py.minor
    impl = {"cpython": "cp", "pypy": "pp"}.get(py.implementation or "cpython", "cp")
    abi = f"{impl}{major_minor.replace('.', '')}"
    arch = machine.os.arch or "x86_64"
    system = machine.os.system
    plats: list[str] = []
    if system == "linux":
        gmaj, gmin = _glibc(machine, glibc_hint)
        for n in range(gmin, 16, -1):
            plats.append(f"manylinux_{gmaj}_{n}_{arch}")
        # the legacy aliases (PEP 600): manylinux2014 = 2_17 (all arches), 2010 = 2_12, 1 = 2_5 (x86 only)
        if gmaj == 2 and gmin >= 17:
            plats.append(f"manylinux2014_{arch}")
        if gmaj == 2 and arch in ("x86_64", "i686"):
            plats += [f"manylinux2010_{arch}", f"manylinux1_{arch}"]
        plats.append(f"linux_{arch}")
    elif system == "windows":
        plats.append({"x86_64": "win_amd64", "aarch64": "win_arm64", "arm64": "win_arm64"}.get(arch, "win32"))
    elif system == "macos":
        mac_arch = "arm64" if arch in ("arm64", "aarch64") else "x86_64"
        for ver in range(15, 10, -1):
            plats.append(f"macosx_{ver}_0_{mac_arch}")
            plats.append(f"macosx_{ver}_0_universal2")
        if mac_arch == "x86_64":
            for minor in range(16, 8, -1):
                plats.append(f"macosx_10_{minor}_x86_64")
    else:
        plats.append(py.platform_tag or f"{system}_{arch}")
    seen: list[str] = []
    for p in plats:
        if p not in seen:
            seen.append(p)
    return TargetTags(major_minor, impl, abi, tuple(seen))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def file_kind(name: str) -> str:
    if name.endswith(".whl"):
        return "wheel"
    if name.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz")):
        return "sdist"
    return "other"


def write_manifest(folder: Path, *, requests: list[str], plan: Plan, tags: TargetTags, machine: Machine,
                   roles: dict[str, str] | None = None) -> dict:
    """Write (or merge into) DIR/gpuready-offline.json; every file in DIR is listed with its sha256."""
    roles = roles or {}
    old = {}
    path = folder / MANIFEST
    if path.is_file():
        try:
            old = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            old = {}
    if old.get("target") and old["target"].get("abi") != tags.abi:
        raise OfflineError(
            f"{folder} already holds files for {old['target'].get('abi')} (this download is for {tags.abi}): use another folder"
        )
    merged_requests = list(dict.fromkeys([*(old.get("requests") or []), *requests]))
    merged_plan = merge_plans(_old_plan(old, folder), plan)
    old_roles = {f["file"]: f.get("for", "") for f in old.get("files", []) if isinstance(f, dict) and "file" in f}
    files = []
    for p in sorted(folder.iterdir()):
        if p.name == MANIFEST or not p.is_file() or p.name.startswith("."):
            continue
        files.append({
            "file": p.name, "sha256": sha256_of(p), "size": p.stat().st_size, "kind": file_kind(p.name),
            "for": roles.get(p.name) or old_roles.get(p.name, ""),
        })
    data = {
        "schema": SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "gpuready_version": __version__,
        "requests": merged_requests,
        "target": {**tags.to_dict(), "machine": machine.hostname or machine.description, "os": machine.os.distro or machine.os.system},
        "plan": merged_plan.to_dict(),
        "files": files,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return data


def _old_plan(old: dict, folder: Path) -> Plan | None:
    """The plan an existing manifest recorded; None when there is none (or one this gpuready cannot read:
    the new download's plan then stands alone)."""
    if not old.get("plan"):
        return None
    try:
        return Plan.from_dict(old["plan"], where=f"{folder / MANIFEST}")
    except PlanFormatError:
        return None


def merge_plans(old: Plan | None, new: Plan) -> Plan:
    """The union of two plans' packages (the newer entry wins for a package in both)."""
    if old is None:
        return new
    by_name = {p.name: p for p in old.packages}
    by_name.update((p.name, p) for p in new.packages)
    return new.with_packages(tuple(by_name.values()))


def read_manifest(folder: Path, *, check: bool = True) -> dict:
    """The manifest of an offline folder, with every listed file present and intact (when `check`)."""
    if not folder.is_dir():
        raise OfflineError(f"{folder}: no such folder (make one with `gpuready download PKG... -d {folder}`)")
    path = folder / MANIFEST
    if not path.is_file():
        raise OfflineError(f"{folder}: no {MANIFEST} in it: was it made by `gpuready download`?")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise OfflineError(f"{path}: unreadable ({exc})") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise OfflineError(f"{path}: not a gpuready offline manifest")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise OfflineError(f"{path}: manifest version {data.get('schema_version')!r} is not supported (this gpuready reads {SCHEMA_VERSION})")
    files = data.get("files")
    if not isinstance(files, list) or not all(_entry_ok(f) for f in files):
        raise OfflineError(f"{path}: its file list is malformed (each entry needs a plain file name, a sha256 and a size)")
    if check:
        problems = []
        for f in files:
            p = folder / f["file"]
            if not p.is_file():
                problems.append(f"missing: {f['file']}")
            elif p.stat().st_size != f.get("size") or sha256_of(p) != f.get("sha256"):
                problems.append(f"corrupt (size or sha256 differs): {f['file']}")
        if problems:
            raise OfflineError(f"{folder}: " + "; ".join(problems[:5]) + (" ..." if len(problems) > 5 else ""))
    return data


def _entry_ok(f: object) -> bool:
    """A manifest entry names a file in the folder itself (no path, no "..") with its sha256 and size."""
    if not isinstance(f, dict):
        return False
    name, sha, size = f.get("file"), f.get("sha256"), f.get("size")
    return (isinstance(name, str) and bool(name) and name == os.path.basename(name) and "/" not in name and "\\" not in name
            and name not in (".", "..") and not name.startswith(".") and name != MANIFEST
            and isinstance(sha, str) and len(sha) == 64 and all(c in "0123456789abcdef" for c in sha)
            and isinstance(size, int) and not isinstance(size, bool) and size >= 0)


_CHECKED: dict[str, Path] = {}


def checked_folder(folder: Path, data: dict | None = None) -> Path:
    """A folder holding only the files the manifest lists, each checked against its sha256.

    Hard links where the file system allows (no copy of a 3 GB wheel: the link is the very file
    read_manifest hashed), else copies, hashed again, so what pip reads is what was checked. Made once
    per run in the temp folder and removed when gpuready exits.
    """
    key = str(folder.resolve())
    if key in _CHECKED and _CHECKED[key].is_dir():
        return _CHECKED[key]
    data = data if data is not None else read_manifest(folder)
    stage = Path(tempfile.mkdtemp(prefix="gpuready-offline-"))
    atexit.register(shutil.rmtree, stage, True)
    for f in data.get("files", []):
        src, dst = folder / f["file"], stage / f["file"]
        try:
            os.link(src, dst)  # the same file read_manifest just hashed
            continue
        except OSError:
            pass
        try:
            shutil.copyfile(src, dst)
        except OSError as exc:
            raise OfflineError(f"{folder}: cannot stage {f['file']} for a checked install ({exc.strerror or exc})") from None
        if dst.stat().st_size != f["size"] or sha256_of(dst) != f["sha256"]:
            raise OfflineError(f"{folder}: {f['file']} changed while it was being checked")
    _CHECKED[key] = stage
    return stage


def check_target(data: dict, python_version: str, platform_tag: str) -> list[str]:
    """Why the folder may not fit this interpreter (empty when it fits)."""
    target = data.get("target") or {}
    problems = []
    want = ".".join(python_version.split(".")[:2])
    if target.get("python") and target["python"] != want:
        problems.append(f"the folder was downloaded for Python {target['python']}, this environment has Python {want}")
    plats = target.get("platforms") or []
    arch = platform_tag.rsplit("_", 1)[-1] if platform_tag else ""
    if plats and arch and not any(p.endswith(arch) for p in plats):
        problems.append(f"the folder was downloaded for {plats[0]}, this environment is {platform_tag}")
    return problems


def sdist_for(folder: Path, data: dict, dist: str, version: str | None) -> Path | None:
    """The sdist in the folder for `dist` (and `version`), by the manifest's roles or by file name."""
    from gpuready.install.knowledge import canonical

    key = canonical(dist).replace("-", "_")
    for f in data.get("files", []):
        name = f["file"]
        if f.get("kind") != "sdist":
            continue
        stem = name.lower().replace("-", "_")
        if canonical(f.get("for", "")) == canonical(dist) or stem.startswith(key + "_"):
            if version is None or f"{version}." in name or name.endswith(f"-{version}.tar.gz"):
                return folder / name
    return None


@contextlib.contextmanager
def offline_env(folder: Path | None) -> Iterator[None]:
    """While building offline: pip and uv inside the build use only the offline folder."""
    if folder is None:
        yield
        return
    saved = {k: os.environ.get(k) for k in ("PIP_NO_INDEX", "PIP_FIND_LINKS", "UV_OFFLINE", "UV_FIND_LINKS", "UV_NO_INDEX")}
    os.environ.update({"PIP_NO_INDEX": "1", "PIP_FIND_LINKS": str(folder), "UV_NO_INDEX": "1", "UV_FIND_LINKS": str(folder)})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
