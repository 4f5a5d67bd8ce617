"""Write wheels: give a built wheel its cache version, or assemble one from an install tree.

A CUDA build of dlib 20.0.1 is not the CPU build of dlib 20.0.1, and two CUDA builds for different
GPUs are not the same file either; a local version label (`20.0.1+cu130.cudnn9.sm90.r1`) keeps
them apart in one flat folder, and pip still counts it as 20.0.1 for `dlib>=19.7`. pip checks
that a wheel's file name, its .dist-info folder and its METADATA agree, so relabelling rewrites
all three and the RECORD. The OpenCV tree build has no wheel at all (CMake installs files); the
same writer packs those files into one.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import zipfile
from pathlib import Path

from packaging.utils import canonicalize_name, parse_wheel_filename

GENERATOR = "gpuready"


def _digest(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def dist_filename_part(name: str) -> str:
    """The distribution part of a wheel file name ("opencv-contrib-python" -> "opencv_contrib_python")."""
    return re.sub(r"[-_.]+", "_", name)


def wheel_name(dist: str, version: str, tag: str) -> str:
    return f"{dist_filename_part(dist)}-{version}-{tag}.whl"


def read_metadata(path: Path) -> dict[str, str]:
    """Name/Version (and a few more headers) of a wheel's METADATA."""
    with zipfile.ZipFile(path) as zf:
        meta_name = next((n for n in zf.namelist() if re.fullmatch(r"[^/]+\.dist-info/METADATA", n)), None)
        if meta_name is None:
            raise ValueError(f"{path}: no .dist-info/METADATA")
        text = zf.read(meta_name).decode("utf-8", errors="replace")
    out: dict[str, str] = {}
    for line in text.split("\n"):
        if not line.strip():
            break
        if ":" in line and not line.startswith((" ", "\t")):
            k, v = line.split(":", 1)
            out.setdefault(k.strip(), v.strip())
    return out


def relabel(src: Path, dest_dir: Path, new_version: str, extra: dict[str, bytes] | None = None,
            replace: dict[str, bytes] | None = None) -> Path:
    """Copy wheel `src` into `dest_dir` with version `new_version`; `extra` adds files to .dist-info,
    `replace` swaps the content of files (by archive name)."""
    src = Path(src)
    name, old_version, _build, tags = parse_wheel_filename(src.name)
    tag = src.name[:-4].split("-", 2 if not _build else 3)[-1]
    dist_part = src.name.split("-", 1)[0]
    old_info = f"{dist_part}-{old_version}.dist-info"
    new_info = f"{dist_part}-{new_version}.dist-info"
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    out = dest_dir / f"{dist_part}-{new_version}-{tag}.whl"
    tmp = out.with_name(out.name + ".partial")
    records: list[tuple[str, str, int]] = []
    extra = dict(extra or {})
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zout:
        infos = zin.infolist()
        old_info_found = next((i.filename.split("/")[0] for i in infos if i.filename.endswith(".dist-info/METADATA")), None)
        if old_info_found:
            old_info = old_info_found
        for info in infos:
            if info.filename == f"{old_info}/RECORD" or info.is_dir():
                continue
            data = (replace or {}).get(info.filename) or zin.read(info)
            arc = info.filename
            if arc.startswith(old_info + "/"):
                arc = new_info + arc[len(old_info):]
                if arc == f"{new_info}/METADATA":
                    data = _set_version(data, new_version)
                name = arc[len(new_info) + 1:]
                if name in extra:
                    # the source wheel has this file already (an OpenCV wheel carries gpuready_build.json from
                    # its build): one entry, merged, never two of the same name in the archive
                    extra[name] = _merged(data, extra[name])
                    continue
            elif arc.startswith(old_info[: -len(".dist-info")] + ".data/"):
                old_data = old_info[: -len(".dist-info")] + ".data"
                arc = new_info[: -len(".dist-info")] + ".data" + arc[len(old_data):]
            zi = zipfile.ZipInfo(arc, date_time=info.date_time)
            zi.external_attr = info.external_attr
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)
            records.append((arc, _digest(data), len(data)))
        for fname, data in extra.items():
            arc = f"{new_info}/{fname}"
            zout.writestr(arc, data)
            records.append((arc, _digest(data), len(data)))
        record = "".join(f"{a},{h},{n}\n" for a, h, n in records) + f"{new_info}/RECORD,,\n"
        zout.writestr(f"{new_info}/RECORD", record)
    os.replace(tmp, out)
    return out


def _merged(old: bytes, new: bytes) -> bytes:
    """Two JSON objects as one (the new one's keys win); otherwise the new content."""
    import json

    try:
        a, b = json.loads(old), json.loads(new)
    except ValueError:
        return new
    if isinstance(a, dict) and isinstance(b, dict):
        return json.dumps({**a, **b}, indent=2, sort_keys=True).encode()
    return new


def _set_version(metadata: bytes, version: str) -> bytes:
    text = metadata.decode("utf-8")
    text, n = re.subn(r"(?m)^Version: .*$", f"Version: {version}", text, count=1)
    if n == 0:
        raise ValueError("METADATA has no Version header")
    return text.encode("utf-8")


def make_wheel(
    tree: Path,
    dist: str,
    version: str,
    tag: str,
    dest_dir: Path,
    *,
    summary: str = "",
    requires: tuple[str, ...] = (),
    extra: dict[str, bytes] | None = None,
) -> Path:
    """Pack the files under `tree` (laid out as site-packages) into a platform wheel."""
    tree, dest_dir = Path(tree), Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    part = dist_filename_part(dist)
    info = f"{part}-{version}.dist-info"
    out = dest_dir / wheel_name(dist, version, tag)
    tmp = out.with_name(out.name + ".partial")
    records: list[tuple[str, str, int]] = []
    meta = [
        "Metadata-Version: 2.1",
        f"Name: {dist}",
        f"Version: {version}",
        f"Summary: {summary or dist + ' built from source with CUDA by gpuready'}",
        *(f"Requires-Dist: {r}" for r in requires),
        "",
    ]
    wheel_meta = ["Wheel-Version: 1.0", f"Generator: {GENERATOR}", "Root-Is-Purelib: false", f"Tag: {tag}", ""]
    tops = sorted({p.relative_to(tree).parts[0] for p in tree.rglob("*") if p.is_file() or p.is_symlink()})
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(tree.rglob("*")):
            if path.is_dir() and not path.is_symlink():
                continue
            arc = path.relative_to(tree).as_posix()
            data = path.read_bytes()  # a symlink is stored as the file it points to
            zi = zipfile.ZipInfo(arc, date_time=(2020, 1, 1, 0, 0, 0))
            mode = path.stat().st_mode & 0o777
            zi.external_attr = (0o100000 | mode) << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(zi, data)
            records.append((arc, _digest(data), len(data)))
        files = {
            "METADATA": "\n".join(meta).encode(),
            "WHEEL": "\n".join(wheel_meta).encode(),
            "top_level.txt": ("\n".join(t for t in tops if not t.endswith(".dist-info")) + "\n").encode(),
            **(extra or {}),
        }
        for fname, data in files.items():
            arc = f"{info}/{fname}"
            zf.writestr(arc, data)
            records.append((arc, _digest(data), len(data)))
        record = "".join(f"{a},{h},{n}\n" for a, h, n in records) + f"{info}/RECORD,,\n"
        zf.writestr(f"{info}/RECORD", record)
    os.replace(tmp, out)
    return out


def wheel_identity(path: Path) -> tuple[str, str, frozenset]:
    """(canonical name, version string, tags) from a wheel's file name."""
    name, version, _build, tags = parse_wheel_filename(Path(path).name)
    return canonicalize_name(name), str(version), tags
