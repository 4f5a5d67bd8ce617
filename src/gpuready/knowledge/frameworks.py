"""The GPU frameworks gpuready knows: one registry, read by every stage.

A framework is known by several names at once: the module `import` takes (`cv2`), the plan's
package (`opencv`), the distributions that install it (`opencv-python-headless`, ...), the
words people and logs use for it (`OpenCV`, `opencv-contrib`), the child workload that verify
and bench run, the colour its bars get. Before this registry those names lived in eight tables
that drifted apart; now a new framework is one `[[framework]]` entry in frameworks.toml, and
probe, plan, doctor, verify, bench and explain all read it from here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from packaging.utils import canonicalize_name

from gpuready.knowledge.loader import KnowledgeError, load_table


@dataclass(frozen=True)
class FrameworkEntry:
    name: str  # the import name, as in Machine.frameworks: "torch", "cv2"
    display: str  # how messages name it: "PyTorch", "OpenCV"
    package: str  # the plan's package (knowledge/<package>.toml): "opencv"
    dists: tuple[str, ...]  # distributions that install the module, preferred first
    modules: tuple[str, ...]  # file-system names that make it importable (package dirs, extension stems)
    gpu_install: str  # the generic way to get its GPU build, when no plan can be made
    source: str
    aliases: tuple[str, ...] = ()  # more names people type on the command line
    words: tuple[str, ...] = ()  # words that name it in a log or a --package hint
    workload: str = ""  # verify/bench child module (verify/children/<workload>.py); "" = none
    color: str = ""  # its colour in bench charts
    # frameworks it reaches the GPU through, by importing them (face_recognition -> dlib): a CPU-only or
    # shadowed copy of one of those is its own cause, and doctor/verify point at that one's finding
    gpu_through: tuple[str, ...] = ()

    def validate(self) -> None:
        if not self.dists or not self.modules:
            raise ValueError("a framework needs at least one distribution and one module name")
        if self.name in self.gpu_through:
            raise ValueError("gpu_through names the framework itself")


@functools.lru_cache(maxsize=None)
def frameworks() -> dict[str, FrameworkEntry]:
    """Import name -> entry, in the file's order."""
    table = {f.name: f for f in load_table("frameworks.toml", "framework", FrameworkEntry)}
    for f in table.values():
        unknown = [n for n in f.gpu_through if n not in table]
        if unknown:
            raise KnowledgeError(f"frameworks.toml: {f.name}'s gpu_through names no framework: {', '.join(unknown)}")
    return table


def get(name: str) -> FrameworkEntry | None:
    return frameworks().get(name)


def display(name: str) -> str:
    """ "cv2" -> "OpenCV"; an unknown name stays as it is."""
    entry = frameworks().get(name)
    return entry.display if entry else name


@functools.lru_cache(maxsize=None)
def _by_spelling() -> dict[str, str]:
    table: dict[str, str] = {}
    for entry in frameworks().values():
        for spelling in (entry.name, entry.package, *entry.aliases, *entry.dists):
            key = canonicalize_name(spelling)
            if table.setdefault(key, entry.name) != entry.name:
                raise KnowledgeError(f"frameworks.toml: {spelling!r} names both {table[key]} and {entry.name}")
    return table


def resolve(spelling: str) -> str:
    """A name a user typed ("opencv-python", "PyTorch", "cv2", "tf") -> the import name; "" when unknown."""
    return _by_spelling().get(canonicalize_name(spelling.strip()), "")


def module_of_dist(dist: str) -> str:
    """The import name a distribution installs ("cupy-cuda12x" -> "cupy"); "" when no framework claims it."""
    key = canonicalize_name(dist)
    for entry in frameworks().values():
        if key in {canonicalize_name(d) for d in entry.dists}:
            return entry.name
    return ""


def named_in(text: str) -> str:
    """The framework a free-form hint names ("face_recognition (dlib)" -> "face_recognition"): the word that
    starts earliest wins, the longest on a tie; "" when none."""
    low = text.lower()
    best: tuple[int, int, str] | None = None
    for entry in frameworks().values():
        for word in entry.words or (entry.name,):
            pos = low.find(word)
            if pos >= 0 and (best is None or (pos, -len(word)) < (best[0], best[1])):
                best = (pos, -len(word), entry.name)
    return best[2] if best else ""
