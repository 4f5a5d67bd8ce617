"""Markdown output, for pasting into a bug report or an issue thread.

A report that maintainers can read: what was run, when, with which gpuready; the problems first;
the long parts (the machine table, what works, every copy and loaded library) folded in
`<details>` so the thread stays readable. Redaction (home folder, user, host name) is applied by
the caller to the finished text (report/redact.py).
"""

from __future__ import annotations

from typing import Iterable

from gpuready.findings import Finding
from gpuready.machine import Machine
from gpuready.report.terminal import machine_rows

SEVERITY_WORD = {"error": "**error**", "warning": "warning", "info": "info", "ok": "ok"}
FOLD_OVER = 12  # sections longer than this many lines are folded


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    """Inline code that survives backticks inside the text."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


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
            out.append(f"  - evidence: {_code(ev)}")
        if f.fix:
            out.append(f"  - fix: {f.fix}")
    return "\n".join(out) if out else "_nothing to report_"


def fold(title: str, body: str, *, open_: bool = False, fold_over: int = FOLD_OVER) -> str:
    """A `### title` section, or a <details> block when the body is long."""
    if body.count("\n") + 1 <= fold_over:
        return f"### {title}\n\n{body}"
    return f"<details{' open' if open_ else ''}>\n<summary>{title}</summary>\n\n{body}\n\n</details>"


def copies_markdown(m: Machine) -> str:
    lines = []
    for fw in m.frameworks:
        if len(fw.copies) > 1 or fw.loaded:
            lines.append(f"- **{fw.name}** {fw.version}")
        if len(fw.copies) > 1:
            for c in fw.copies:
                cuda = {True: "CUDA", False: "CPU-only", None: "CUDA unknown"}[c.cuda]
                lines.append(f"  - {'import takes' if c.active else 'copy'}: {_code(c.path)} ({c.dist or 'no metadata'} {c.version}; {c.origin or '?'}; {cuda})")
        for lib in fw.loaded:
            lines.append(f"  - loads {lib.name} {lib.version or '?'}: {_code(lib.path)} ({lib.rule_detail or lib.rule})")
    return "\n".join(lines)


def doctor_markdown(m: Machine, findings: list[Finding], *, command: str = "gpuready doctor --markdown", date: str = "") -> str:
    from gpuready import __version__

    problems = [f for f in findings if f.is_problem]
    rest = [f for f in findings if not f.is_problem]
    head = [
        "## gpuready doctor report",
        "",
        f"- command: {_code(command)}",
        f"- date: {date or m.probed_at or '?'}" + (f" (machine probed {m.probed_at})" if date and m.probed_at and m.probed_at[:16] != date[:16] else ""),
        f"- gpuready: {__version__}" + (f" (machine probed by {m.gpuready_version})" if m.gpuready_version and m.gpuready_version != __version__ else ""),
        f"- verdict: {len(problems)} problem(s)" if problems else "- verdict: no problems found",
    ]
    parts = ["\n".join(head)]
    parts.append(fold("Problems", findings_markdown(problems), open_=True) if problems else "### Problems\n\n_none_")
    if rest:
        parts.append(fold("What works, and notes", findings_markdown(rest)))
    parts.append(fold("Machine", machine_markdown(m)))
    libs = copies_markdown(m)
    if libs:
        parts.append(fold("Copies and loaded CUDA libraries", libs))
    return "\n\n".join(parts) + "\n"
