"""What a project asks for, as gpuready reads it: requirements, constraints and index options, with markers
evaluated for the target machine (not the one gpuready runs on).

The readers fill these: requirements files (`plan/reqfile.py`), pyproject.toml (`plan/pyproject.py`) and
packages typed on the command line (`from_arguments`, here); `plan/project.py` plans what they read.
A requirement whose marker is false on the target is skipped, and said so.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, replace
from typing import Iterable, Mapping

from packaging.markers import Marker, UndefinedComparison, UndefinedEnvironmentName
from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gpuready.machine import Machine


class ProjectError(ValueError):
    """A requirements file or pyproject.toml that cannot be read (exit 2)."""


@dataclass(frozen=True)
class ProjectRequirement:
    """One requirement as the user wrote it (marker already evaluated for the target)."""

    requirement: str  # PEP 508 text without the marker: "numpy>=1.26", "pkg @ https://...", or a path for -e
    name: str  # canonical project name ("" for a bare path or URL)
    origin: str  # "requirements.txt:3", "pyproject.toml [project] dependencies"
    hashes: tuple[str, ...] = ()  # "sha256:..." from --hash options
    editable: bool = False

    @property
    def direct(self) -> bool:
        """A URL, a path or an editable: it names one artifact, nothing to plan."""
        return self.editable or not self.name or "@" in self.requirement.split(";")[0]

    @property
    def exact_version(self) -> str | None:
        try:
            spec = list(Requirement(self.requirement).specifier) if self.name and not self.direct else []
        except InvalidRequirement:
            return None
        if len(spec) == 1 and spec[0].operator in ("==", "===") and "*" not in spec[0].version:
            return spec[0].version
        return None


@dataclass(frozen=True)
class IndexOptions:
    """Index options found in requirements files, in pip's terms, to lay over the installer's settings."""

    index_url: str = ""  # the last --index-url ("" when none)
    replaces: bool = False  # an --index-url was given: it replaces the installer's index and extras named before it
    extra_index_urls: tuple[str, ...] = ()  # the extras still in force
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    no_index: bool = False
    origins: tuple[str, ...] = ()  # "--index-url http://mirror/simple (requirements.txt:1)"

    @property
    def any(self) -> bool:
        return bool(self.index_url or self.extra_index_urls or self.find_links or self.trusted_hosts or self.no_index)


@dataclass(frozen=True)
class ProjectInput:
    requirements: tuple[ProjectRequirement, ...] = ()
    constraints: tuple[ProjectRequirement, ...] = ()
    index: IndexOptions = IndexOptions()
    sources: tuple[str, ...] = ()  # the files read, in order
    skipped: tuple[str, ...] = ()  # requirements whose marker is false on the target
    notes: tuple[str, ...] = ()
    requires_python: str = ""  # [project] requires-python of a pyproject

    def merged(self, other: "ProjectInput") -> "ProjectInput":
        return ProjectInput(
            self.requirements + other.requirements, self.constraints + other.constraints,
            merge_index(self.index, other.index), self.sources + other.sources, self.skipped + other.skipped,
            self.notes + other.notes, other.requires_python or self.requires_python)


def merge_index(a: IndexOptions, b: IndexOptions) -> IndexOptions:
    if b.replaces:
        index_url, replaces, extras = b.index_url, True, b.extra_index_urls
    else:
        index_url, replaces, extras = a.index_url, a.replaces, a.extra_index_urls + b.extra_index_urls
    return IndexOptions(index_url, replaces, tuple(dict.fromkeys(extras)), tuple(dict.fromkeys(a.find_links + b.find_links)),
                        tuple(dict.fromkeys(a.trusted_hosts + b.trusted_hosts)), a.no_index or b.no_index, a.origins + b.origins)


# --- the target's marker environment -------------------------------------------------------------


def marker_environment(machine: Machine) -> dict[str, str]:
    """PEP 508 marker variables of the machine's Python (the target, which need not be this one)."""
    system = machine.os.system or {"win32": "windows", "darwin": "macos"}.get(sys.platform, "linux")
    sys_platform = {"linux": "linux", "windows": "win32", "macos": "darwin"}.get(system, system)
    arch = machine.os.arch or "x86_64"
    if system == "windows":
        platform_machine = {"x86_64": "AMD64", "aarch64": "ARM64", "arm64": "ARM64"}.get(arch, arch)
    elif system == "macos":
        platform_machine = "arm64" if arch in ("arm64", "aarch64") else arch
    else:
        platform_machine = arch
    version = machine.python.version or "%d.%d.%d" % sys.version_info[:3]
    impl = machine.python.implementation or "cpython"
    return {
        "python_version": ".".join(version.split(".")[:2]),
        "python_full_version": version,
        "implementation_name": impl,
        "implementation_version": version,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(impl, impl),
        "sys_platform": sys_platform,
        "platform_system": {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}.get(system, system),
        "platform_machine": platform_machine,
        "platform_release": machine.os.release,
        "platform_version": "",
        "os_name": "nt" if system == "windows" else "posix",
        "extra": "",
    }


def _marker_true(marker: Marker | None, env: Mapping[str, str], where: str) -> bool:
    if marker is None:
        return True
    try:
        return marker.evaluate(dict(env))
    except (UndefinedComparison, UndefinedEnvironmentName) as exc:
        raise ProjectError(f"{where}: cannot evaluate the marker {marker} ({exc})") from None


def parse_requirement(text: str, env: Mapping[str, str], where: str, *, hashes: tuple[str, ...] = ()) -> ProjectRequirement | str:
    """A ProjectRequirement, or the text of a requirement skipped by its marker."""
    try:
        req = Requirement(text)
    except InvalidRequirement as exc:
        raise ProjectError(f"{where}: {text!r} is not a package requirement ({str(exc).splitlines()[0]})") from None
    if not _marker_true(req.marker, env, where):
        return f"{text} ({where}: marker false for the target)"
    req.marker = None
    return ProjectRequirement(str(req), canonicalize_name(req.name), where, hashes)


def bare_artifact(text: str) -> bool:
    """A path or URL pip accepts in place of a requirement (./pkg, dist/x.whl, https://.../x.tar.gz)."""
    t = text.strip()
    if re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@", t):  # "name @ URL": a PEP 508 requirement
        return False
    return bool(re.match(r"^(\.{0,2}/|~|[A-Za-z]:[\\/]|[a-z+]+://)", t)) or t.endswith((".whl", ".tar.gz", ".zip"))


def from_arguments(texts: Iterable[str], env: Mapping[str, str]) -> ProjectInput:
    """Packages typed on the command line (`torch>=2.4 "numpy<2"`), as requirements."""
    reqs: list[ProjectRequirement] = []
    skipped: list[str] = []
    for i, text in enumerate(texts, 1):
        t = text.strip()
        if not t:
            raise ProjectError("empty package name")
        if bare_artifact(t):
            reqs.append(ProjectRequirement(t, "", f"argument {i}"))
            continue
        item = parse_requirement(t, env, f"argument {i}")
        if isinstance(item, str):
            skipped.append(item)
        else:
            reqs.append(replace(item, requirement=t if ";" not in t else item.requirement))
    return ProjectInput(tuple(reqs), skipped=tuple(skipped))
