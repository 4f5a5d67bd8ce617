"""Does a distribution file install on a target (Python minor, OS, CPU)? pip's own rules, reduced to what
plans need: wheel tags (interpreter, ABI, platform) and the file's Requires-Python."""

from __future__ import annotations

import functools
import re

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidSdistFilename, InvalidWheelFilename, parse_sdist_filename, parse_wheel_filename
from packaging.version import InvalidVersion, Version

_MANYLINUX = re.compile(r"^(manylinux1|manylinux2010|manylinux2014|manylinux_\d+_\d+|linux)_(x86_64|aarch64)$")
_MAC = re.compile(r"^macosx_\d+_\d+_(arm64|x86_64|universal2|universal|intel)$")


def platform_fits(plat: str, os_name: str, arch: str) -> bool:
    if plat == "any":
        return True
    if os_name == "linux":
        m = _MANYLINUX.match(plat)
        return bool(m) and m.group(2) == arch
    if os_name == "windows":
        return plat == ("win_amd64" if arch == "x86_64" else "win_arm64")
    if os_name == "macos":
        m = _MAC.match(plat)
        if not m:
            return False
        kind = m.group(1)
        return kind == arch or kind == "universal2" or (arch == "x86_64" and kind in ("universal", "intel"))
    return False


def interpreter_fits(interp: str, abi: str, minor: int) -> bool:
    """cp312-cp312 / cp312-none on 3.12; cp38-abi3 on 3.8+; py3-none and py3X-none (X <= minor) anywhere."""
    if abi.endswith("t") and abi.startswith("cp"):
        return False  # free-threaded builds: not the CPython people plan for
    m = re.fullmatch(r"(cp|py)(\d)(\d*)", interp)
    if not m or m.group(2) != "3":
        return False
    tag_minor = int(m.group(3)) if m.group(3) else None
    if m.group(1) == "py":
        return abi == "none" and (tag_minor is None or tag_minor <= minor)
    if tag_minor is None:
        return False
    if abi == "abi3":
        return tag_minor <= minor
    return tag_minor == minor


@functools.lru_cache(maxsize=8192)
def _spec(text: str) -> SpecifierSet | None:
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def requires_python_fits(requires_python: str | None, python: str) -> bool:
    if not requires_python:
        return True
    spec = _spec(requires_python.replace(" ", ""))
    if spec is None:
        return True
    return any(spec.contains(f"{python}.{p}", prereleases=True) for p in (0, 5))


@functools.lru_cache(maxsize=65536)
def parse_file(filename: str) -> tuple[str, str, tuple[tuple[str, str, str], ...], bool] | None:
    """(name, version, tags, is_sdist) of a distribution file name; None for names pip would not use."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, tags = parse_wheel_filename(filename)
            return str(name), str(version), tuple((t.interpreter, t.abi, t.platform) for t in tags), False
        name, version = parse_sdist_filename(filename)
        return str(name), str(version), (), True
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion):
        return None


def file_fits(filename: str, requires_python: str | None, python: str, os_name: str, arch: str, *,
              sdist_ok: bool = False) -> bool:
    parsed = parse_file(filename)
    if parsed is None:
        return False
    _name, _version, tags, is_sdist = parsed
    if not requires_python_fits(requires_python, python):
        return False
    if is_sdist:
        return sdist_ok
    minor = int(python.split(".")[1])
    return any(interpreter_fits(i, a, minor) and platform_fits(p, os_name, arch) for i, a, p in tags)


def version_matches(file_version: str, pinned: str) -> bool:
    """PEP 440 `==` semantics: `==2.14.1` accepts 2.14.1+cu126; `==2.14.1+cu126` only itself."""
    try:
        fv, pv = Version(file_version), Version(pinned)
    except InvalidVersion:
        return False
    if pv.local is not None:
        return fv == pv
    return Version(fv.public) == pv


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()
