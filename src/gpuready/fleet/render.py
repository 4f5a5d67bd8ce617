"""The fleet report as a terminal table and as Markdown; what differs comes first in both.

Only ASCII marks are used here, so the table prints on any console encoding; text that came
from a node (host names, framework versions, messages) has its control characters escaped
before it reaches the terminal.
"""

from __future__ import annotations

import re

from gpuready.findings import Finding
from gpuready.fleet.differ import driver_summary, framework_verdict, gpu_summary
from gpuready.fleet.model import OK, STATE_WORDS, FleetReport, NodeReport

MARK = {"error": "x", "warning": "!", "info": "i", "ok": "+"}
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean(text: str) -> str:
    """Control characters from a node (an escape sequence in a host name) shown, not obeyed."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", str(text))


def header(r: FleetReport) -> str:
    reported = sum(n.reported for n in r.nodes)
    return f"gpuready fleet doctor: {r.source}, {len(r.nodes)} node(s), {reported} reported, {r.seconds:.1f} s"


def on_top(r: FleetReport) -> list[tuple[str, str]]:
    """(severity, sentence) lines for the top of the report: nodes that did not report, then differences."""
    lines: list[tuple[str, str]] = []
    for n in r.nodes:
        if not n.reported:
            lines.append(("error", f"{n.name}: {STATE_WORDS.get(n.state, n.state)}: {n.reason}"))
    for d in r.differences:
        sev = "warning" if d.key.startswith(("driver", "gpus", "framework:", "cudnn", "problem:", "toolkits")) else "info"
        lines.append((sev, d.sentence()))
    return lines


def _odd_keys(r: FleetReport) -> dict[str, set[str]]:
    """node name -> the difference keys on which it is the odd one."""
    out: dict[str, set[str]] = {}
    for d in r.differences:
        for node in d.odd_nodes:
            out.setdefault(node, set()).add(d.key)
    return out


SHORT = {"works on the GPU": "GPU ok", "CPU-only build": "CPU-only", "cpu_only_build": "CPU-only",
         "CUDA build, sees no GPU": "no GPU seen"}
WIDE = 132  # a report written to a file or a pipe is read in an editor, not an 80-column terminal


def node_cells(n: NodeReport) -> dict[str, str]:
    """The row of one node, as plain text per column: one line per framework, one per problem label."""
    if not n.reported:
        return {"node": n.name, "gpus": STATE_WORDS.get(n.state, n.state), "driver": "", "frameworks": n.reason, "findings": ""}
    m = n.machine
    assert m is not None
    driver = driver_summary(m)
    if m.driver.present:
        driver += f" / CUDA {m.driver.cuda_version or '?'}"
    fws = []
    for fw in m.frameworks:
        verdict = framework_verdict(fw, n.findings)
        fws.append(f"{fw.name} {fw.version} {SHORT.get(verdict, verdict)}".replace("  ", " "))
    return {
        "node": n.name,
        "gpus": gpu_summary(m),
        "driver": driver,
        "frameworks": "\n".join(fws) or "-",
        "findings": "\n".join(problem_lines(n.problems)) or "no problems",
    }


def problem_lines(problems: list[Finding]) -> list[str]:
    """ "! cpu_only_build: ONNX Runtime, OpenCV": one line per label, worst first."""
    by_label: dict[tuple[str, str], list[str]] = {}
    for f in sorted(problems, key=lambda f: f.severity != "error"):
        words = f.subject.split(" ")
        subject = " ".join(words[:2]) if words[0] in ("CUDA", "ONNX", "NVIDIA") and len(words) > 1 else words[0]
        by_label.setdefault((f.severity, f.label or "problem"), []).append(subject)
    return [f"{MARK[sev]} {label}: {', '.join(dict.fromkeys(subjects))}" for (sev, label), subjects in by_label.items()]


COLUMNS = (("node", "node"), ("gpus", "GPUs (CC)"), ("driver", "driver / CUDA"), ("frameworks", "frameworks"),
           ("findings", "problems"))
ODD_COLUMN = {"driver": "driver", "driver_cuda": "driver", "gpus": "gpus", "cudnn": "findings", "python": "node", "os": "node"}


def print_report(r: FleetReport, con=None) -> None:
    from rich.table import Table
    from rich.text import Text

    from gpuready.report.terminal import console

    con = con or console()
    if not con.is_terminal:
        con.width = max(con.width, WIDE)
    con.print(Text(clean(header(r)), style="bold"))
    top = on_top(r)
    if top:
        con.print()
        con.print(Text("What differs" if r.differences else "Nodes without a report", style="bold"))
        style = {"error": "bold red", "warning": "yellow", "info": "cyan"}
        for sev, line in top:
            t = Text(f" {MARK[sev]} ", style=style[sev])
            t.append(clean(line))
            con.print(t)
    elif sum(n.reported for n in r.nodes) > 1:
        con.print(Text("All nodes agree on driver, GPUs, frameworks, cuDNN, toolkits, Python and OS.", style="green"))
    odd = _odd_keys(r)
    table = Table(show_lines=True, pad_edge=False)
    for _key, title in COLUMNS:
        table.add_column(title, overflow="fold")
    for n in r.nodes:
        cells = node_cells(n)
        keys = odd.get(n.name, set())
        row = []
        for key, _title in COLUMNS:
            if key == "frameworks" and n.reported:
                text = Text()
                odd_fws = {k.split(":", 1)[1] for k in keys if k.startswith("framework:")}
                for i, line in enumerate(cells[key].split("\n")):
                    text.append(("\n" if i else "") + clean(line), style="bold yellow" if line.split(" ")[0] in odd_fws else "")
            else:
                text = Text(clean(cells[key]))
                if not n.reported and key in ("gpus", "frameworks"):
                    text.stylize("bold red")
                elif key in {ODD_COLUMN.get(k) for k in keys}:
                    text.stylize("bold yellow")
            row.append(text)
        table.add_row(*row)
    con.print()
    con.print(table)
    con.print(Text(clean(summary_line(r)), style="bold"))


def summary_line(r: FleetReport) -> str:
    problems = sum(len(n.problems) for n in r.nodes)
    with_problems = sum(bool(n.problems) for n in r.nodes)
    parts = [f"{problems} problem(s) on {with_problems} node(s)" if problems else "no problems on the nodes that reported"]
    if r.differences:
        parts.append(f"{len(r.differences)} difference(s)")
    missing = len(r.unreported)
    if missing:
        parts.append(f"{missing} node(s) did not report")
    return "; ".join(parts) + "."


def _md(text: str) -> str:
    return clean(text).replace("|", "\\|").replace("\n", "<br>")


def markdown(r: FleetReport) -> str:
    lines = [f"## {_md(header(r))}", ""]
    top = on_top(r)
    if top:
        lines.append("### What differs")
        lines.append("")
        for sev, line in top:
            word = {"error": "**did not report**", "warning": "**differs**", "info": "differs"}[sev]
            lines.append(f"- {word}: {_md(line)}")
        lines.append("")
    lines.append("| " + " | ".join(title for _k, title in COLUMNS) + " |")
    lines.append("|" + "---|" * len(COLUMNS))
    odd = _odd_keys(r)
    for n in r.nodes:
        cells = node_cells(n)
        keys = odd.get(n.name, set())
        marked = {ODD_COLUMN.get(k) for k in keys} | ({"frameworks"} if any(k.startswith("framework:") for k in keys) else set())
        row = []
        for key, _t in COLUMNS:
            cell = _md(cells[key])
            if key in marked and n.state == OK:
                cell = f"**{cell}**"
            row.append(cell)
        lines.append("| " + " | ".join(row) + " |")
    lines.append("")
    lines.append(_md(summary_line(r)))
    return "\n".join(lines) + "\n"
