"""Saved machines as a fleet: each file from `gpuready probe --save` (or a node's `doctor --json`
output) judged by the doctor here, in-process, as if it had run there.

This is how a lab compares boxes it cannot reach from one place (a cluster behind a login node,
a student's laptop): each person runs `gpuready probe --save NAME.json`, and the files meet here.
"""

from __future__ import annotations

import json
from pathlib import Path

from gpuready.fleet.model import ERROR, FleetReport, NodeReport, parse_doctor_json
from gpuready.machine import Machine, MachineFormatError

MAX_FILE = 16 * 1024 * 1024


def machine_files(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the *.json files in it (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.glob("*.json") if q.is_file())
            if not found:
                raise MachineFormatError(f"{p}: no *.json machine files in this folder")
            out.extend(found)
        else:
            out.append(p)
    return out


def load_any(path: Path) -> tuple[Machine, tuple | None]:
    """A machine file, or a saved `doctor --json` output (machine + its own findings)."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise MachineFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if size > MAX_FILE:
        raise MachineFormatError(f"{path}: {size} bytes is too large for a machine file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise MachineFormatError(f"{path}: not a text file") from None
    except OSError as exc:
        raise MachineFormatError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise MachineFormatError(f"{path}: not valid JSON ({getattr(exc, 'msg', exc)})") from None
    if isinstance(data, dict) and "machine" in data and "findings" in data:
        machine, findings = parse_doctor_json(data, where=str(path))
        return machine, findings
    return Machine.from_dict(data, where=str(path)), None


def gather(paths: list[Path], *, strict: bool = False) -> FleetReport:
    """One row per file. A file that cannot be read is a row in state "error" (or, with strict,
    a MachineFormatError for the command to turn into a usage error)."""
    from gpuready.doctor import diagnose

    files = machine_files(paths)
    report = FleetReport(source=f"{len(files)} saved machine(s)")
    for path in files:
        try:
            machine, findings = load_any(path)
        except MachineFormatError as exc:
            if strict:
                raise
            report.nodes.append(NodeReport(name=path.stem, state=ERROR, reason=str(exc), node_id=str(path)))
            continue
        if findings is None:
            findings = tuple(diagnose(machine))
        name = path.stem
        report.nodes.append(NodeReport(name=name, machine=machine, findings=tuple(findings), node_id=str(path),
                                       address=machine.hostname, exit_code=1 if any(f.is_problem for f in findings) else 0))
    return report
