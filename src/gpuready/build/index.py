"""The wheel cache as a PEP 503 "simple" index: what pip and uv on every node of a lab read.

`write_index(folder)` writes `folder/simple/index.html` (one link per project) and
`folder/simple/<project>/index.html` (one link per wheel, `href="../../<file>#sha256=<hex>"`,
with `data-requires-python` when the wheel declares it), so any static HTTP server that serves
the folder serves an index: `pip install --extra-index-url http://HOST:PORT/simple/ dlib`. The
same pages are what `gpuready cache serve` answers, built fresh on each request, so a wheel
stored a second ago is already in it.

Project names are normalised as PEP 503 says (`canonicalize_name`), every name and URL is
HTML-escaped, and only wheels sitting directly in the folder are listed (nothing under
.incoming/ or .locks/, no half-written file: those never have a .whl name there).
"""

from __future__ import annotations

import hashlib
import html
import os
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

INDEX_DIR = "simple"


@dataclass(frozen=True)
class IndexedFile:
    filename: str
    project: str  # normalised
    sha256: str
    requires_python: str = ""


_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    """The file's sha256, remembered by (path, size, mtime) so a server does not re-read big wheels."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def requires_python(path: Path) -> str:
    """The wheel's Requires-Python, read from its METADATA ("" when absent or unreadable)."""
    try:
        with zipfile.ZipFile(path) as zf:
            meta = next((n for n in zf.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA")), None)
            if meta is None:
                return ""
            for line in zf.read(meta).decode("utf-8", "replace").splitlines():
                if not line.strip():
                    break  # headers end at the first blank line
                if line.lower().startswith("requires-python:"):
                    return line.split(":", 1)[1].strip()
    except (OSError, zipfile.BadZipFile, KeyError):
        return ""
    return ""


def scan(folder: Path) -> dict[str, list[IndexedFile]]:
    """{normalised project: its wheels}, for the wheels directly in `folder`."""
    projects: dict[str, list[IndexedFile]] = {}
    if not folder.is_dir():
        return projects
    for path in sorted(folder.glob("*.whl")):
        if not path.is_file():
            continue
        try:
            name, _v, _b, _t = parse_wheel_filename(path.name)
        except InvalidWheelFilename:
            continue
        try:
            digest = sha256_of(path)
        except OSError:
            continue  # removed while we looked
        project = canonicalize_name(str(name))
        projects.setdefault(project, []).append(IndexedFile(path.name, project, digest, requires_python(path)))
    return projects


def _page(title: str, links: list[str]) -> str:
    body = "\n".join(links)
    return (f'<!DOCTYPE html>\n<html>\n<head><meta name="pypi:repository-version" content="1.0">'
            f"<title>{html.escape(title)}</title></head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body>\n</html>\n")


def root_page(projects: dict[str, list[IndexedFile]]) -> str:
    return _page("Simple index", [f'<a href="{quote(p)}/">{html.escape(p)}</a><br>' for p in sorted(projects)])


def project_page(project: str, files: list[IndexedFile], file_prefix: str = "../../") -> str:
    links = []
    for f in files:
        href = f"{file_prefix}{quote(f.filename)}#sha256={f.sha256}"
        rp = f' data-requires-python="{html.escape(f.requires_python, quote=True)}"' if f.requires_python else ""
        links.append(f'<a href="{html.escape(href, quote=True)}"{rp}>{html.escape(f.filename)}</a><br>')
    return _page(f"Links for {project}", links)


def links_page(projects: dict[str, list[IndexedFile]]) -> str:
    """Every wheel on one page: what `pip install --find-links http://HOST:PORT/` reads."""
    files = [f for fs in projects.values() for f in fs]
    return project_page("gpuready wheel cache", files, file_prefix="").replace("Links for gpuready wheel cache",
                                                                                "gpuready wheel cache")


def write_index(folder: Path) -> tuple[Path, dict[str, list[IndexedFile]]]:
    """Write the static index into `folder/simple/`; pages of projects no longer there are removed."""
    folder = Path(folder)
    projects = scan(folder)
    out = folder / INDEX_DIR
    out.mkdir(parents=True, exist_ok=True)
    _write(out / "index.html", root_page(projects))
    for project, files in projects.items():
        (out / project).mkdir(exist_ok=True)
        _write(out / project / "index.html", project_page(project, files))
    for sub in out.iterdir():
        if sub.is_dir() and sub.name not in projects and (sub / "index.html").is_file():
            (sub / "index.html").unlink()
            try:
                sub.rmdir()
            except OSError:
                pass
    return out, projects


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
