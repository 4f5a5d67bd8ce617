"""What the node's own signals mean: NVRM Xid codes and NVML clock-throttle reasons (data: node.toml).

The probe records raw facts (an Xid line, a throttle bit mask); doctor turns them into a plain sentence
for the user with these tables, so a new Xid code is a data edit.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from gpuready.knowledge.loader import load_table

ACTIONS = ("restart_app", "reset_gpu", "hardware")


@dataclass(frozen=True)
class Xid:
    code: int
    meaning: str
    action: str
    source: str
    checked: str

    def validate(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")


@dataclass(frozen=True)
class ThrottleReason:
    bit: int
    name: str
    slows: bool  # it costs speed (a power cap, heat) rather than describing a normal state (idle)
    meaning: str
    source: str
    checked: str


@functools.lru_cache(maxsize=None)
def xids() -> dict[int, Xid]:
    return {x.code: x for x in load_table("node.toml", "xid", Xid)}


@functools.lru_cache(maxsize=None)
def throttle_reasons() -> tuple[ThrottleReason, ...]:
    return load_table("node.toml", "throttle", ThrottleReason)


def throttle_names(mask: int) -> tuple[str, ...]:
    """An NVML clocks-event bit mask -> the names of its reasons, known bits only."""
    return tuple(r.name for r in throttle_reasons() if mask & r.bit)


def throttle_reason(name: str) -> ThrottleReason | None:
    return next((r for r in throttle_reasons() if r.name == name), None)


XID_LINE = re.compile(r"NVRM: Xid \((?P<where>[^)]*)\):\s*(?P<code>\d+)")


def xid_code(line: str) -> int | None:
    """The Xid number of an "NVRM: Xid (PCI:0000:10:1c): 63, pid=1896, ..." kernel log line."""
    m = XID_LINE.search(line)
    return int(m.group("code")) if m else None
