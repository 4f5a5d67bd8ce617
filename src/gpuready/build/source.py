"""The source a build starts from: find it, check it, unpack it.

A source is an sdist (built by its own setup.py through `pip wheel`), or a source tree (a
directory, or a tarball such as the trimmed OpenCV one, configured with CMake directly). Pinned
sdists are checked against the sha256 in the recipe data, so a build from a stale or tampered
file fails before the compiler runs; an unpinned one is built with a warning. With no source
given, the pinned sdist is taken from gpuready's source folder or fetched with `pip download`.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from gpuready import paths
from gpuready.build.recipes import Recipe, known_source
from gpuready.build.trim import MANIFEST as TRIM_MANIFEST
from gpuready.build.trim import sha256_file
from gpuready.proc import run


class SourceError(ValueError):
    """A source that can't be used: missing, unreadable, the wrong package, a bad checksum."""


@dataclass
class Source:
    path: Path
    kind: str  # "sdist" or "tree"
    dist: str = ""
    version: str = ""
    library_version: str = ""
    sha256: str = ""
    verified: bool | None = None  # True: matches the pinned checksum; None: nothing pinned for it
    manifest: dict = field(default_factory=dict)
    root: Path | None = None  # the unpacked tree (kind "tree")

    def to_dict(self) -> dict:
        return {
            "path": str(self.path), "kind": self.kind, "dist": self.dist, "version": self.version,
            "library_version": self.library_version, "sha256": self.sha256, "verified": self.verified,
            "root": str(self.root) if self.root else "",
        }


_SDIST_RE = re.compile(r"(?P<dist>.+?)-(?P<version>\d[\w.+!]*)\.(?:tar\.gz|tgz|tar\.bz2|zip)$")


def _names(path: Path) -> list[str]:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                return zf.namelist()
        with tarfile.open(path, "r:*") as tf:
            return tf.getnames()
    except (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceError(f"{path}: not a readable source archive ({exc})") from None


def _read_member(path: Path, name: str) -> bytes | None:
    try:
        with tarfile.open(path, "r:*") as tf:
            f = tf.extractfile(name)
            return f.read() if f else None
    except (tarfile.TarError, KeyError, OSError):
        return None


def _opencv_version_from(text: str) -> str:
    parts = [re.search(rf"#define CV_VERSION_{k}\s+(\d+)", text) for k in ("MAJOR", "MINOR", "REVISION")]
    return ".".join(m.group(1) for m in parts) if all(parts) else ""


def identify(path: Path, recipe: Recipe) -> Source:
    """What `path` is (sdist or tree, which package and version), checked against `recipe`."""
    path = Path(path)
    if not path.exists():
        raise SourceError(f"{path}: no such file or directory")
    if path.is_dir():
        return _identify_dir(path, recipe)
    names = _names(path)
    tops = {n.split("/", 1)[0] for n in names if n}
    top = next(iter(tops)) if len(tops) == 1 else ""
    rel = {n.split("/", 1)[1] for n in names if "/" in n}
    trim = f"{top}/{TRIM_MANIFEST}" if top else ""
    if trim and TRIM_MANIFEST in rel:
        data = _read_member(path, trim) or b"{}"
        try:
            manifest = json.loads(data)
        except json.JSONDecodeError:
            manifest = {}
        if manifest.get("recipe") and manifest["recipe"] != recipe.name:
            raise SourceError(f"{path.name} is a trimmed {manifest['recipe']} tree, not {recipe.name}")
        return Source(path=path, kind="tree", dist=manifest.get("dist", recipe.dist), version=manifest.get("version", ""),
                      library_version=manifest.get("library_version", ""), sha256=manifest.get("sdist_sha256", ""),
                      verified=None, manifest=manifest)
    m = _SDIST_RE.match(path.name)
    is_sdist = "setup.py" in rel or "pyproject.toml" in rel or "PKG-INFO" in rel
    if not is_sdist and "opencv/CMakeLists.txt" in rel:
        return Source(path=path, kind="tree", dist=recipe.dist)
    if not m or not is_sdist:
        raise SourceError(f"{path.name}: neither an sdist (name-version.tar.gz with setup.py) nor a source tree")
    dist = m.group("dist").replace("_", "-").lower()
    if dist not in {recipe.dist, recipe.name, *(a.replace("_", "-").lower() for a in recipe.aliases)} and not dist.startswith(recipe.name):
        raise SourceError(f"{path.name} is {dist}, not a source of {recipe.name}")
    src = Source(path=path, kind="sdist", dist=dist, version=m.group("version"))
    known = known_source(recipe.name, src.version)
    src.library_version = known.library_version if known else ""
    src.sha256 = sha256_file(path)
    if known and known.sha256 and known.filename == path.name:
        if known.sha256 != src.sha256:
            raise SourceError(f"{path.name}: sha256 {src.sha256} does not match the pinned {known.sha256} ({known.source})")
        src.verified = True
    return src


def _identify_dir(path: Path, recipe: Recipe) -> Source:
    manifest_path = path / TRIM_MANIFEST
    manifest = {}
    if manifest_path.is_file():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            manifest = {}
    if (path / "opencv" / "CMakeLists.txt").is_file():
        version = manifest.get("library_version", "")
        vh = path / "opencv" / "modules" / "core" / "include" / "opencv2" / "core" / "version.hpp"
        if not version and vh.is_file():
            version = _opencv_version_from(vh.read_text(encoding="utf-8", errors="replace"))
        kind = "sdist" if (path / "setup.py").is_file() and not manifest else "tree"
        return Source(path=path, kind=kind, dist=manifest.get("dist", recipe.dist), version=manifest.get("version", version),
                      library_version=version, manifest=manifest, root=path if kind == "tree" else None)
    if (path / "setup.py").is_file() or (path / "pyproject.toml").is_file():
        return Source(path=path, kind="sdist", dist=recipe.dist)
    raise SourceError(f"{path}: not a source tree of {recipe.name} (no setup.py, no opencv/CMakeLists.txt)")


def unpack(src: Source, work: Path) -> Path:
    """Extract a tree archive into `work`; return the folder holding opencv/ (or the sdist root)."""
    if src.path.is_dir():
        src.root = src.path
        return src.path
    dest = Path(work) / "src"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    try:
        with tarfile.open(src.path, "r:*") as tf:
            if sys.version_info >= (3, 12) or hasattr(tarfile, "data_filter"):
                tf.extractall(dest, filter="data")
            else:  # pragma: no cover - old 3.10/3.11 patch levels
                for m in tf.getmembers():
                    target = (dest / m.name).resolve()
                    if not str(target).startswith(str(dest.resolve())):
                        raise SourceError(f"{src.path}: member {m.name} points outside the tree")
                tf.extractall(dest)
    except (tarfile.TarError, OSError) as exc:
        raise SourceError(f"{src.path}: cannot unpack ({exc})") from None
    entries = [p for p in dest.iterdir()]
    root = entries[0] if len(entries) == 1 and entries[0].is_dir() else dest
    src.root = root
    return root


_OFFLINE = re.compile(r"Temporary failure in name resolution|Name or service not known|Network is unreachable|"
                      r"No route to host|Failed to establish a new connection|Could not resolve host|getaddrinfo failed")
_SLOW = re.compile(r"ReadTimeoutError|Read timed out|ConnectTimeoutError|timed out|IncompleteRead|Connection broken")


def network_hint(output: str, timed_out: bool = False) -> str:
    """A one-line diagnosis of a pip download that failed on the network, "" when it was something else."""
    if _OFFLINE.search(output):
        return "no network here (the package index cannot be reached): use --offline DIR with the files fetched elsewhere"
    if timed_out or _SLOW.search(output):
        return ("the package index is slow or dropping connections: configure a nearby mirror (--index-url URL, "
                "or PIP_INDEX_URL / `pip config set global.index-url URL`) and retry")
    return ""


def cached_sdist(recipe: Recipe, version: str) -> Path | None:
    """A pinned sdist already in gpuready's source folder."""
    known = known_source(recipe.name, version)
    if not known:
        return None
    p = paths.sources_dir() / known.filename
    return p if p.is_file() else None


def fetch_sdist(recipe: Recipe, version: str, *, dist: str | None = None, pip_args: tuple[str, ...] = (),
                python: str | None = None, timeout: float = 1800.0) -> Path:
    """`pip download` the sdist into gpuready's source folder (build isolation on, so the sdist's
    build requirements come as wheels: `--no-binary :all:` would compile cmake from source)."""
    dist = dist or recipe.dist
    dest = paths.sources_dir()
    dest.mkdir(parents=True, exist_ok=True)
    argv = [python or sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", dist,
            "--disable-pip-version-check", "--no-input", "-d", str(dest), *pip_args, f"{dist}=={version}"]
    res = run(argv, timeout=timeout)
    if not res.ok:
        why = "timed out" if res.timed_out else f"exit {res.returncode}"
        hint = network_hint(res.output, res.timed_out)
        if hint:
            raise SourceError(f"could not download {dist}=={version}: {hint}; or bring the sdist (`pip download --no-deps "
                              f"--no-binary {dist} {dist}=={version}` where there is network) and pass --sdist FILE")
        raise SourceError(f"could not download {dist}=={version} ({why}): {res.tail(4)}")
    canon = dist.replace("-", "_")
    for p in sorted(dest.glob("*")):
        if p.name.lower().startswith((f"{canon}-{version}".lower(), f"{dist}-{version}".lower())):
            return p
    raise SourceError(f"pip reported success but no {dist}-{version} archive is in {dest}")
