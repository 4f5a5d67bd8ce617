"""Trim a large source archive to what a minimal CUDA build needs (OpenCV: 152 MB -> about 8 MB).

Why: the opencv-contrib-python sdist carries every module, codec and sample; a dnn-on-CUDA build
uses a few folders of it. An offline GPU machine reached through a size-limited copy (the test
machine takes 64 MiB) gets the trimmed tarball instead, and the recipe's `cmake-tree` method
builds it. What is kept is data (`[[trim]]` in build_opencv.toml); a manifest inside the result
says which sdist it came from, so the build knows the version and the cache key stays honest.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path

from gpuready.build.recipes import TrimRule, known_sources, trim_rules

MANIFEST = "GPUREADY-TRIM.json"


@dataclass
class TrimResult:
    path: Path
    files: int
    bytes_in: int
    bytes_out: int
    manifest: dict


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def rule_for(recipe: str) -> TrimRule | None:
    for r in trim_rules():
        if r.recipe == recipe:
            return r
    return None


def wanted(rel: str, rule: TrimRule) -> bool:
    """Is `rel` (a path inside the sdist, without its top folder) part of the trimmed tree?"""
    parts = rel.split("/")

    def under(patterns: tuple[str, ...]) -> bool:
        # A pattern names a folder or file; it matches that path and everything below it. Globs
        # match one path segment each ("modules/*/test" is modules/core/test, not deeper "test"s).
        for pat in patterns:
            pp = pat.strip("/").split("/")
            if len(pp) <= len(parts) and all(fnmatch.fnmatchcase(parts[i], pp[i]) for i in range(len(pp))):
                return True
        return False

    if not under(rule.keep):
        # Parent folders of kept paths are created implicitly by the tar entries below them.
        return False
    if under(rule.drop) and not under(rule.keep_again):
        return False
    return True


def _sdist_identity(name: str) -> tuple[str, str]:
    """ "opencv_contrib_python_headless-4.14.0.94.tar.gz" -> ("opencv-contrib-python-headless", "4.14.0.94")."""
    m = re.match(r"(.+?)-(\d[\w.]*)\.(?:tar\.gz|tgz|zip)$", name)
    if not m:
        return "", ""
    return m.group(1).replace("_", "-").lower(), m.group(2)


def trim_sdist(sdist: Path, out: Path, recipe: str = "opencv") -> TrimResult:
    """Write the trimmed tree of `sdist` to `out` (a .tar.gz). Raises ValueError on a bad input."""
    rule = rule_for(recipe)
    if rule is None:
        raise ValueError(f"recipe {recipe!r} has no trim rule")
    sdist = Path(sdist)
    if not sdist.is_file():
        raise ValueError(f"{sdist}: no such file")
    dist, version = _sdist_identity(sdist.name)
    checksum = sha256_file(sdist)
    known = next((s for s in known_sources() if s.filename == sdist.name), None)
    if known and known.sha256 and known.sha256 != checksum:
        raise ValueError(f"{sdist.name}: sha256 {checksum} does not match the pinned {known.sha256}")
    top = f"{rule.top}-{version or 'src'}"
    manifest = {
        "recipe": recipe,
        "dist": dist,
        "version": version,
        "library_version": known.library_version if known else "",
        "sdist": sdist.name,
        "sdist_sha256": checksum,
        "rule_source": rule.source,
    }
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    files = 0
    try:
        src = tarfile.open(sdist, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise ValueError(f"{sdist}: not a readable source archive ({exc})") from None
    tmp = out.with_name(out.name + ".partial")
    with src, tarfile.open(tmp, "w:gz", compresslevel=9) as dst:
        for member in src:
            parts = member.name.split("/", 1)
            if len(parts) < 2 or not parts[1]:
                continue
            rel = parts[1]
            if not wanted(rel, rule):
                continue
            if member.issym() or member.islnk():
                if member.linkname.startswith("/") or ".." in member.linkname.split("/"):
                    continue  # never carry a link that points out of the tree
            clone = tarfile.TarInfo(f"{top}/{rel}")
            for attr in ("size", "mode", "mtime", "type", "linkname", "uid", "gid"):
                setattr(clone, attr, getattr(member, attr))
            clone.uname = clone.gname = ""
            if member.isfile():
                fh = src.extractfile(member)
                dst.addfile(clone, fh)
                files += 1
            else:
                dst.addfile(clone)
        data = (json.dumps(manifest, indent=2) + "\n").encode()
        info = tarfile.TarInfo(f"{top}/{MANIFEST}")
        info.size = len(data)
        info.mode = 0o644
        dst.addfile(info, io.BytesIO(data))
    tmp.replace(out)
    return TrimResult(path=out, files=files, bytes_in=sdist.stat().st_size, bytes_out=out.stat().st_size, manifest=manifest)
