"""The plan as data: what `gpuready plan` prints, `--json` dumps, and the install stage executes.

`Plan.to_dict()` is a contract (see docs/plan.md): `cuda`, `cudnn`, `packages[*]` with name, version,
variant, gpu, index_url, install (an argv list starting with "pip", "install" so the install stage
can swap in `uv pip`), build and reasons, and `blocked` with what blocks and the smallest fix.
Extra keys may be added; none of these may change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class SourceContext:
    """What the source-build candidates decided (toolkit, cuDNN copy, release), by (package, version, CUDA major).

    Filled while candidates are made, read when the chosen build's settings are written; lives here so
    that plans without dlib/OpenCV never import the source-build module.
    """

    choices: dict[tuple[str, str, int], tuple[Any, Any, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class PackagePlan:
    name: str
    version: str | None
    variant: str  # "cu126", "cpu", "cuda12", "and-cuda", "cuda12x", "gpu", "source", "noarch", "none"
    gpu: bool
    install: tuple[str, ...]
    reasons: tuple[str, ...]
    index_url: str | None = None
    build: dict | None = None
    dist: str = ""
    label: str = ""
    cuda: str | None = None
    cudnn_major: int | None = None
    requires: dict = field(default_factory=dict)  # things pip cannot install: {"cuda": "10.0", "cudnn": "7.4"}
    conflicts: tuple[str, ...] = ()  # distributions to uninstall first
    replaces: str | None = None  # "theano" for pytensor
    requested: bool = True  # False when added because another request needs it
    confirmed: bool = True
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "variant": self.variant,
            "gpu": self.gpu,
            "index_url": self.index_url,
            "install": list(self.install),
            "build": self.build,
            "reasons": list(self.reasons),
            "dist": self.dist,
            "label": self.label,
            "cuda": self.cuda,
            "cudnn_major": self.cudnn_major,
            "requires": dict(self.requires),
            "conflicts": list(self.conflicts),
            "replaces": self.replaces,
            "requested": self.requested,
            "confirmed": self.confirmed,
            "source": self.source,
        }


@dataclass(frozen=True)
class Blocked:
    package: str
    blocking: str  # what stops a GPU build (or any build) here
    fix: str  # the smallest change that would fix it
    fixes: tuple[str, ...] = ()  # every single change that would fix it, smallest first
    label: str = ""  # cause label from the taxonomy

    def to_dict(self) -> dict[str, Any]:
        return {"package": self.package, "blocking": self.blocking, "fix": self.fix, "fixes": list(self.fixes), "label": self.label}


@dataclass(frozen=True)
class Plan:
    cuda: str | None
    cudnn: str | None
    packages: tuple[PackagePlan, ...]
    blocked: tuple[Blocked, ...]
    machine: tuple[str, ...] = ()  # one line per fact the plan relied on
    notes: tuple[str, ...] = ()
    index: dict = field(default_factory=dict)

    def package(self, name: str) -> PackagePlan | None:
        for p in self.packages:
            if p.name == name:
                return p
        return None

    @property
    def ok(self) -> bool:
        return not self.blocked

    def to_dict(self) -> dict[str, Any]:
        return {
            "cuda": self.cuda,
            "cudnn": self.cudnn,
            "packages": [p.to_dict() for p in self.packages],
            "blocked": [b.to_dict() for b in self.blocked],
            "machine": list(self.machine),
            "notes": list(self.notes),
            "index": dict(self.index),
        }
