"""Which frameworks verify/bench know, their names on the command line, tolerances and sizes (verify.toml)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from gpuready.knowledge import frameworks
from gpuready.knowledge.loader import load_table

# Modules a real program has usually imported before the framework under test. Importing them
# first is what exposes an extension that carries its own static libstdc++ (it crashes only next
# to the shared one numpy and torch load): see shared/reference/gpu-machine.md.
PRELOAD: tuple[str, ...] = ("numpy", "torch")


@dataclass(frozen=True)
class VerifySpec:
    name: str  # import name, as in Machine.frameworks
    checks: str = ""  # what verify runs, in one line (help text, docs)
    rtol: float = 1e-2
    bench: dict[str, int] = field(default_factory=dict)
    bench_quick: dict[str, int] = field(default_factory=dict)
    source: str = ""

    def validate(self) -> None:
        if not 0 < self.rtol < 1:
            raise ValueError(f"rtol {self.rtol} must be between 0 and 1")


@dataclass(frozen=True)
class FixRule:
    label: str
    text: str
    source: str


@functools.lru_cache(maxsize=None)
def specs() -> dict[str, VerifySpec]:
    return {s.name: s for s in load_table("verify.toml", "framework", VerifySpec)}


@functools.lru_cache(maxsize=None)
def fixes() -> dict[str, FixRule]:
    return {f.label: f for f in load_table("verify.toml", "fix", FixRule)}


def resolve(names: tuple[str, ...] | list[str]) -> tuple[list[str], list[str]]:
    """Command-line names (any spelling the framework registry knows) -> (import names verify knows, in the
    order given; names nobody knows)."""
    found: list[str] = []
    unknown: list[str] = []
    for raw in names:
        name = frameworks.resolve(raw)
        if name not in specs():
            unknown.append(raw)
        elif name not in found:
            found.append(name)
    return found, unknown


def known_names() -> list[str]:
    """Every spelling verify accepts, for the usage message."""
    return sorted({n for name in specs() for n in (name, *frameworks.frameworks()[name].aliases)})
