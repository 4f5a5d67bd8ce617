"""Terminal and JSON output of an explanation.

The terminal form is for a person who just pasted an error: the most likely cause first,
the lines that show it (with line numbers, so they can be found in a long log), why, and
what to do on this machine. The JSON form is the contract for scripts and other stages.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gpuready.explain import Explanation
from gpuready.report.jsonout import dumps


def to_json(ex: Explanation, extra: dict[str, Any] | None = None) -> str:
    """{"causes": [...]} plus, in command mode, the command and its exit status."""
    data: dict[str, Any] = {"causes": [c.to_dict() for c in ex.causes]}
    if extra:
        data.update(extra)
    return dumps("explain", data, ensure_ascii=False)


def print_explanation(ex: Explanation, con: Console, *, source: str = "", machine_line: str = "") -> None:
    where = f" in {source}" if source else ""
    lines = f"{ex.lines} line{'s' if ex.lines != 1 else ''}"
    if not ex.causes:
        con.print(Text(f"No problem found{where} ({lines}): nothing in it matches a known cause.", style="bold green"))
    else:
        n = len(ex.causes)
        con.print(Text(f"{n} likely cause{'s' if n > 1 else ''}{where} ({lines}), most likely first:", style="bold"))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=3, justify="right")
        grid.add_column(ratio=1, overflow="fold")
        for i, cause in enumerate(ex.causes, 1):
            body = Text()
            body.append(cause.label, style="bold red" if i == 1 else "bold yellow")
            body.append(f"  (confidence {cause.confidence:.2f})", style="dim")
            body.append("\n" + cause.explanation)
            for ev in cause.evidence:
                loc = f"{ev.file}:{ev.line}" if ev.file else f"line {ev.line}"
                body.append(f"\n  {loc}: ", style="cyan")
                body.append(ev.text, style="dim")
            body.append("\nfix for this machine: " if cause.uses_machine else "\nfix: ", style="bold green")
            body.append(cause.fix)
            grid.add_row(Text(f"{i}.", style="bold"), body)
            if i < n:
                grid.add_row("", "")
        con.print(grid)
    notes = []
    benign = ex.benign
    if benign:
        notes.append("ignored as harmless: " + ", ".join(f"{k} ({v} line{'s' if v != 1 else ''})" for k, v in sorted(benign.items())))
    if machine_line and ex.causes:
        notes.append(machine_line)
    notes.extend(ex.context.notes)
    for note in notes:
        con.print(Text(note, style="dim"))
