"""The install stage's knowledge (knowledge/data/install.toml) as typed, validated rows.

Kept apart from the code that uses it so that a new competing OpenCV package, a new mirrorable
index or a new distribution's glibc is a data edit with a source, not an if-chain.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gpuready.knowledge.loader import KnowledgeError, load_table

DATA_FILE = "install.toml"


@dataclass(frozen=True)
class Competing:
    """Distributions that install the same importable module: at most one may be installed."""

    module: str
    dists: tuple[str, ...]
    why: str
    source: str

    def validate(self) -> None:
        if len(self.dists) < 2:
            raise ValueError("a competing group needs at least two distributions")


@dataclass(frozen=True)
class ShadowCheck:
    """An import name whose copies earlier on sys.path than the install directory must go."""

    module: str
    why: str
    source: str


@dataclass(frozen=True)
class Companion:
    """Requirements installed with a package that needs them but does not declare them."""

    package: str
    requires: tuple[str, ...]
    why: str
    source: str


@dataclass(frozen=True)
class Index:
    """A package index whose URL prefix `--mirror` may replace."""

    name: str
    prefix: str
    what: str
    source: str


@dataclass(frozen=True)
class NetworkSignature:
    pattern: str
    source: str


@dataclass(frozen=True)
class Glibc:
    distro: str  # prefix of Machine.os.distro
    glibc: str
    source: str


@dataclass(frozen=True)
class Setting:
    name: str
    value: str
    why: str
    source: str


def canonical(name: str) -> str:
    """PEP 503 normalised project name: "Face_Recognition" -> "face-recognition"."""
    import re

    return re.sub(r"[-_.]+", "-", name).lower()


@functools.lru_cache(maxsize=None)
def competing() -> tuple[Competing, ...]:
    return load_table(DATA_FILE, "competing", Competing)


@functools.lru_cache(maxsize=None)
def shadow_checks() -> tuple[ShadowCheck, ...]:
    return load_table(DATA_FILE, "shadow_check", ShadowCheck)


@functools.lru_cache(maxsize=None)
def companions() -> tuple[Companion, ...]:
    return load_table(DATA_FILE, "companion", Companion)


@functools.lru_cache(maxsize=None)
def indexes() -> tuple[Index, ...]:
    return load_table(DATA_FILE, "index", Index)


@functools.lru_cache(maxsize=None)
def network_signatures() -> tuple[NetworkSignature, ...]:
    return load_table(DATA_FILE, "network_signature", NetworkSignature)


@functools.lru_cache(maxsize=None)
def glibc_table() -> tuple[Glibc, ...]:
    return load_table(DATA_FILE, "glibc", Glibc)


@functools.lru_cache(maxsize=None)
def settings() -> dict[str, str]:
    return {s.name: s.value for s in load_table(DATA_FILE, "setting", Setting)}


def setting(name: str) -> str:
    try:
        return settings()[name]
    except KeyError:
        raise KnowledgeError(f"knowledge file {DATA_FILE}: no [[setting]] named {name!r}") from None


def competing_group(dist: str) -> Competing | None:
    """The group `dist` belongs to, if any."""
    key = canonical(dist)
    for group in competing():
        if key in {canonical(d) for d in group.dists}:
            return group
    return None


def companions_for(package: str) -> tuple[str, ...]:
    key = canonical(package)
    out: list[str] = []
    for c in companions():
        if canonical(c.package) == key:
            out.extend(c.requires)
    return tuple(out)


def glibc_for_distro(distro: str) -> str:
    """The glibc of a distribution by its pretty name, or the default floor when unknown."""
    for row in glibc_table():
        if distro.startswith(row.distro):
            return row.glibc
    return setting("default_glibc")
