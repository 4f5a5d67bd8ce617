"""One node's doctor report, and the fleet's: the data `fleet doctor` prints, `--json` dumps.

A node that could not report is still a row (state "down", "timeout", "died", "error",
"no_gpuready"), with the reason in words: a lab wants to see the box that did not answer as
much as the box with the wrong driver.

`FleetReport.to_dict()` is a contract (docs/fleet.md): `schema`, `source`, `nodes[*]` with name,
node_id, address, tags, state, reason, seconds, exit_code, machine (the doctor's machine dict or
null) and findings (the doctor's finding dicts), and `differences[*]` with key, what, common,
common_nodes and odd (node + value). Keys may be added; none may change meaning.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpuready.findings import LABELS, SEVERITIES, Finding
from gpuready.machine import Machine, MachineFormatError

SCHEMA_ID = "gpuready.fleet"
SCHEMA_VERSION = 1

# Node states, in the order a reader cares about them.
OK = "ok"  # the doctor ran there and reported
DOWN = "down"  # the cluster knows the node but it is not alive (before the run)
DIED = "died"  # the node (or its worker) died while the doctor ran
TIMEOUT = "timeout"  # no report within the per-node timeout
NO_GPUREADY = "no_gpuready"  # the node answered, but gpuready is not installed in its Python
ERROR = "error"  # anything else: the doctor crashed, printed no JSON, the task failed
STATES = (OK, DOWN, DIED, TIMEOUT, NO_GPUREADY, ERROR)

STATE_WORDS = {
    OK: "ok",
    DOWN: "DOWN",
    DIED: "DIED during the run",
    TIMEOUT: "TIMED OUT",
    NO_GPUREADY: "no gpuready there",
    ERROR: "ERROR",
}


@dataclass(frozen=True)
class NodeReport:
    name: str  # what the table calls it: the host name, made unique with a tag when hosts repeat
    state: str = OK
    reason: str = ""  # why a node has no report, in words
    node_id: str = ""  # Ray's node id, Slurm's task number, the machine file's path
    address: str = ""  # IP / host the cluster knows it by
    tags: tuple[str, ...] = ()  # custom Ray resources, Slurm partition: how the lab tells nodes apart
    seconds: float = 0.0  # how long the node took to report
    exit_code: int | None = None  # the doctor's exit code there (1 = it found a problem)
    machine: Machine | None = None
    findings: tuple[Finding, ...] = ()

    @property
    def reported(self) -> bool:
        return self.state == OK and self.machine is not None

    @property
    def problems(self) -> list[Finding]:
        return [f for f in self.findings if f.is_problem]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "state": self.state,
            "reason": self.reason,
            "node_id": self.node_id,
            "address": self.address,
            "tags": list(self.tags),
            "seconds": round(self.seconds, 2),
            "exit_code": self.exit_code,
            "machine": self.machine.to_dict() if self.machine is not None else None,
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class Difference:
    """One fact that is not the same on every node that reported."""

    key: str  # "driver", "framework:torch", "cudnn", "problem:shadowed_install"
    what: str  # "NVIDIA driver", "torch", "cuDNN"
    common: str  # the value most nodes have
    common_nodes: tuple[str, ...]
    odd: tuple[tuple[str, str], ...]  # (node, its value) for every other node

    @property
    def odd_nodes(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.odd)

    def sentence(self) -> str:
        """ "NVIDIA driver: 550.54.15 on gpu-c; 580.159.04 on the other 3" """
        n = len(self.common_nodes)
        rest = f"the other {n}" if n > 1 else self.common_nodes[0] if n == 1 else "none"
        if self.key.startswith("problem:"):
            return f"{self.what} on {', '.join(self.odd_nodes)}; not on {rest}"
        by_value: dict[str, list[str]] = {}
        for node, value in self.odd:
            by_value.setdefault(value, []).append(node)
        odd = "; ".join(f"{value} on {', '.join(nodes)}" for value, nodes in by_value.items())
        return f"{self.what}: {odd}; {self.common} on {rest}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "what": self.what,
            "common": self.common,
            "common_nodes": list(self.common_nodes),
            "odd": [{"node": n, "value": v} for n, v in self.odd],
            "sentence": self.sentence(),
        }


@dataclass
class FleetReport:
    source: str  # "ray 127.0.0.2:6379", "slurm (partition gpu, 4 nodes)", "3 saved machines"
    nodes: list[NodeReport] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def unreported(self) -> list[NodeReport]:
        return [n for n in self.nodes if not n.reported]

    @property
    def ok(self) -> bool:
        """Every node reported and none has a problem (differences alone are not a failure)."""
        return not self.unreported and not any(n.problems for n in self.nodes)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_ID,
            "schema_version": SCHEMA_VERSION,
            "source": self.source,
            "seconds": round(self.seconds, 2),
            "summary": {
                "nodes": len(self.nodes),
                "reported": sum(n.reported for n in self.nodes),
                "with_problems": sum(bool(n.problems) for n in self.nodes),
                "differences": len(self.differences),
            },
            "differences": [d.to_dict() for d in self.differences],
            "nodes": [n.to_dict() for n in self.nodes],
            "notes": list(self.notes),
        }


def finding_from_dict(d: Any) -> Finding:
    """A finding as another node's doctor wrote it; a label this gpuready does not know becomes
    "other" (a node may run a newer gpuready) instead of failing the whole fleet report."""
    if not isinstance(d, dict):
        raise MachineFormatError(f"a finding must be an object, got {type(d).__name__}")
    label = str(d.get("label") or "")
    details = {str(k): str(v) for k, v in (d.get("details") or {}).items()} if isinstance(d.get("details"), dict) else {}
    if label and label not in LABELS:
        details["label_from_node"] = label
        label = "other"
    severity = str(d.get("severity") or "info")
    if severity not in SEVERITIES:
        severity = "warning"
    evidence = d.get("evidence") or ()
    return Finding(
        label=label,
        severity=severity,
        subject=str(d.get("subject") or ""),
        message=str(d.get("message") or ""),
        evidence=tuple(str(e) for e in evidence) if isinstance(evidence, (list, tuple)) else (str(evidence),),
        fix=str(d.get("fix") or ""),
        details=details,
    )


def parse_doctor_json(data: Any, where: str) -> tuple[Machine, tuple[Finding, ...]]:
    """The machine and findings of one `gpuready doctor --json` output (already parsed)."""
    if not isinstance(data, dict) or "machine" not in data:
        raise MachineFormatError(f"{where}: not the output of `gpuready doctor --json`")
    machine = Machine.from_dict(data["machine"], where=f"{where}: machine")
    raw = data.get("findings") or []
    if not isinstance(raw, list):
        raise MachineFormatError(f"{where}: findings must be a list")
    return machine, tuple(finding_from_dict(f) for f in raw)
