"""The plan as data: what `gpuready plan` prints, `--json` dumps, and the install stage executes.

`Plan.to_dict()` is a contract (see docs/plan.md and docs/schemas/plan.schema.json): `schema` and
`schema_version`, `cuda`, `cudnn`, `packages[*]` with name, version, variant, gpu, index_url, install
(an argv list starting with "pip", "install" so the install stage can swap in `uv pip`), build and
reasons, and `blocked` with what blocks and the smallest fix. Extra keys may be added; none of these
may change meaning. `Plan.from_dict` reads it back (a plan file, the offline manifest's plan) with
every field checked, so the install stage works on the typed Plan, never on a dict by string key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from gpuready.typed import decode, encode

SCHEMA_ID = "gpuready.plan"
SCHEMA_VERSION = 1


class PlanFormatError(ValueError):
    """A plan file (or a manifest's plan) that is not a gpuready plan or not of a version we read."""


@dataclass
class SourceContext:
    """The build stage's settings for source builds, by (package, version, CUDA major; -1: its own choice),
    computed once per plan: filled while candidates are made, read when the chosen build's settings are written."""

    choices: dict[tuple[str, str, int], dict] = field(default_factory=dict)


@dataclass(frozen=True)
class PackagePlan:
    name: str
    version: str | None = None
    variant: str = ""  # "cu126", "cpu", "cuda12", "and-cuda", "cuda12x", "gpu", "source", "noarch", "none"
    gpu: bool = False
    install: tuple[str, ...] = ()  # the command that installs it: pip install ... / gpuready build ...
    reasons: tuple[str, ...] = ()
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

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "package") -> PackagePlan:
        return decode(cls, data, where, PlanFormatError)

    @property
    def dist_name(self) -> str:
        """What pip installs ("opencv-python-headless"), else the plan's name."""
        return self.dist or self.name

    @property
    def is_source(self) -> bool:
        """Built from source by `gpuready build` (dlib, OpenCV with CUDA), not installed from a wheel index."""
        return self.variant == "source" or bool(self.install and self.install[0] == "gpuready")

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
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "cuda": self.cuda,
            "cudnn": self.cudnn,
            "packages": [p.to_dict() for p in self.packages],
            "blocked": [b.to_dict() for b in self.blocked],
            "machine": list(self.machine),
            "notes": list(self.notes),
            "index": encode(self.index),
        }

    @classmethod
    def from_dict(cls, data: Any, *, where: str = "plan") -> Plan:
        """A plan written by `gpuready plan --json` (the file or its "plan" member), checked field by field.
        Plans written before plans carried a schema id are read too."""
        if isinstance(data, dict) and isinstance(data.get("plan"), dict) and "packages" not in data:
            data = data["plan"]
        if not isinstance(data, dict) or not isinstance(data.get("packages"), list):
            raise PlanFormatError(f"{where}: not a gpuready plan (write one with `gpuready plan PKG... --json`)")
        schema = data.get("schema", SCHEMA_ID)
        if schema != SCHEMA_ID:
            raise PlanFormatError(f"{where}: not a gpuready plan (schema is {schema!r}, expected {SCHEMA_ID!r})")
        version = data.get("schema_version", SCHEMA_VERSION)
        if version != SCHEMA_VERSION:
            raise PlanFormatError(f"{where}: plan schema version {version!r} is not supported (this gpuready reads {SCHEMA_VERSION})")
        body = {k: v for k, v in data.items() if k not in ("schema", "schema_version")}
        body.setdefault("cuda", None)
        body.setdefault("cudnn", None)
        body.setdefault("blocked", [])
        return decode(cls, body, where, PlanFormatError)

    def with_packages(self, packages: tuple[PackagePlan, ...]) -> Plan:
        return dataclasses.replace(self, packages=packages)
