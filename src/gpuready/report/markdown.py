"""Markdown output, for pasting into a bug report or an issue thread."""

from __future__ import annotations

from typing import Iterable

from gpuready.findings import Finding
from gpuready.machine import Machine
from gpuready.report.terminal import machine_rows

SEVERITY_WORD = {"error": "**error**", "warning": "warning", "info": "info", "ok": "ok"}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def machine_markdown(m: Machine) -> str:
    lines = ["| | |", "|---|---|"]
    lines += [f"| {_cell(a)} | {_cell(b)} |" for a, b in machine_rows(m)]
    return "\n".join(lines)


def findings_markdown(findings: Iterable[Finding]) -> str:
    out = []
    for f in findings:
        label = f" `{f.label}`" if f.label else ""
        out.append(f"- {SEVERITY_WORD[f.severity]} **{f.subject}**{label}: {f.message}")
        for ev in f.evidence:
            out.append(f"  - evidence: `{ev}`")
        if f.fix:
            out.append(f"  - fix: {f.fix}")
    return "\n".join(out) if out else "_nothing to report_"


def doctor_markdown(m: Machine, findings: list[Finding]) -> str:
    from gpuready import __version__

    return "\n\n".join(
        [
            f"## gpuready doctor ({__version__})",
            machine_markdown(m),
            "### Findings",
            findings_markdown(findings),
        ]
    ) + "\n"
