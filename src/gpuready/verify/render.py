"""verify's terminal output: one table row per framework, then the checks, causes, evidence and fixes."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gpuready.verify.verdicts import VerifyResult

STYLE = {"works": "bold green", "CPU-only": "yellow", "unverified": "cyan", "not installed": "yellow", "broken": "bold red"}
MARK = {"works": "✓", "CPU-only": "!", "unverified": "?", "not installed": "-", "broken": "✗"}


def verdict_text(result: VerifyResult) -> Text:
    v = result.verdict
    text = Text(f"{MARK.get(v, '?')} {v}", style=STYLE.get(v, ""))
    if result.status in ("crashed", "hung"):
        text.append(f" ({'crashed: ' + result.signal if result.status == 'crashed' else 'hangs'})", style="red")
    return text


def results_table(results: Iterable[VerifyResult]) -> Table:
    table = Table(show_lines=False, pad_edge=False)
    table.add_column("Framework", style="bold", no_wrap=True)
    table.add_column("Verdict", no_wrap=True)
    table.add_column("Cause")
    table.add_column("Device")
    table.add_column("Checks passed", justify="right")
    table.add_column("Time", justify="right")
    for r in results:
        passed = sum(c.ok for c in r.checks)
        table.add_row(
            r.subject,
            verdict_text(r),
            r.label or "",
            r.device or "-",
            f"{passed}/{len(r.checks)}" if r.checks else "-",
            f"{r.seconds:.1f} s",
        )
    return table


def print_results(results: list[VerifyResult], con: Console, *, python: str = "") -> None:
    preloaded = max((r.preloaded for r in results), key=len, default=())
    head = "Verified " + (f"in {python}" if python else "") + (f" (imported first, as real programs do: {', '.join(preloaded)})" if preloaded else "")
    con.print(Text(head.strip(), style="dim"))
    con.print(results_table(results))
    for r in results:
        con.print()
        head = Text()
        head.append(f" {MARK.get(r.verdict, '?')} ", style=STYLE.get(r.verdict, ""))
        head.append(r.subject, style="bold")
        if r.label:
            head.append(f"  [{r.label}]", style="dim")
        con.print(head)
        if r.message:
            con.print(Text("   " + r.message))
        for c in r.checks:
            took = f", {c.seconds * 1000:.1f} ms" if c.seconds else ""
            con.print(Text(f"   {'ok    ' if c.ok else 'FAILED'} {c.name}" + (f": {c.detail}" if c.detail else "") + took, style="green" if c.ok else "red"))
        for note in r.notes:
            con.print(Text("   note: " + note, style="dim"))
        if not r.ok:
            for ev in r.evidence:
                con.print(Text("   evidence: " + ev, style="dim"))
            if r.fix:
                con.print(Text("   fix: " + r.fix, style="bold"))
