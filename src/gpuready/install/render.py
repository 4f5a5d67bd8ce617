"""Terminal output of `install` and `download`: the plan before, the result after.

Stdout gets the plan and the report (what a user reads, pipes or pastes into a bug report);
progress goes to stderr (progress.py). Every failure ends with its cause, evidence and fix, and
the log's path.
"""

from __future__ import annotations

from typing import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text

from gpuready.install.conflicts import Conflicts
from gpuready.install.model import InstallReport
from gpuready.install.steps import Step
from gpuready.plan.model import PackagePlan

OK, BAD, WARN = "green", "bold red", "yellow"


def plan_table(packages: Sequence[PackagePlan]) -> Table:
    table = Table(box=None, pad_edge=False, show_header=True, header_style="bold")
    for col in ("package", "version", "variant", "GPU", "how"):
        table.add_column(col)
    for p in packages:
        how = "source build (gpuready build)" if p.is_source else ("from " + p.index_url if p.index_url else "wheel")
        table.add_row(p.dist_name, str(p.version or ""), p.variant, "yes" if p.gpu else "no", how)
    return table


def show_plan(con: Console, rep: InstallReport, steps: Sequence[Step], conflicts: Conflicts, *, dry_run: bool) -> None:
    con.print(Text(f"Target: {rep.target}" + (f"  (installer: {rep.installer})" if rep.installer else ""), style="bold"))
    plan_packages = rep.plan.packages if rep.plan is not None else ()
    pkgs = [p for p in plan_packages if (p.label or p.name) in rep.packages]
    if pkgs:
        con.print(plan_table(pkgs))
        for p in pkgs:
            for reason in p.reasons[-2:]:
                con.print(Text(f"  {p.name}: {reason}", style="dim"))
    for b in rep.plan.blocked if rep.plan is not None else ():
        con.print(Text(f"✗ {b.package}: {b.blocking}", style=BAD))
        if b.fix:
            con.print(Text(f"  fix: {b.fix}", style="bold"))
    for r in conflicts.removals:
        con.print(Text(f"! will remove {r.describe()}: {r.reason}", style=WARN))
    for n in conflicts.notes:
        con.print(Text(f"i {n}", style="dim"))
    if steps:
        con.print(Text("Commands:" if dry_run else "Steps:", style="bold"))
        for i, s in enumerate(steps, 1):
            con.print(Text(f"  {i}. {s.title}"))
            if dry_run:
                con.print(Text(f"     {s.display()}", style="cyan"), soft_wrap=True)


def show_report(con: Console, rep: InstallReport) -> None:
    for line in rep.recovered:
        con.print(Text(f"i {line}", style="cyan"))
    if rep.status == "dry-run":
        con.print(Text("Dry run: nothing was changed.", style="bold"))
    elif rep.status == "nothing":
        con.print(Text("Nothing to install.", style="bold"))
    elif rep.status == "installed":
        con.print(Text(f"✓ Installed into {rep.target} in {rep.seconds:.0f} s", style=f"bold {OK}"))
        for name, old, new in rep.changes:
            what = f"{old} -> {new}" if old and new else (f"{new} (new)" if new else f"{old} (removed)")
            con.print(Text(f"  {name} {what}"))
    else:
        con.print(Text(f"✗ {_status_text(rep.status)}" + (f" at: {rep.failed_step}" if rep.failed_step else ""), style=BAD))
        if rep.error:
            con.print(Text(f"  {rep.error}"))
    for b in rep.builds:
        if b.get("ok"):
            how = "reused the cached wheel" if b.get("cached") else f"built in {b.get('seconds', 0):.0f} s"
            con.print(Text(f"  {b['package']} {b.get('version') or ''}: {how} ({b.get('wheel')})", style="dim"))
        elif b.get("problems"):
            for pr in b["problems"]:
                con.print(Text(f"  {b['package']}: {pr}", style=BAD))
        if b.get("log"):
            con.print(Text(f"  build log: {b['log']}", style="dim"))
    if rep.rollback is not None:
        rb = rep.rollback
        if rb.get("removed_venv"):
            con.print(Text(f"  rolled back: removed the new environment {rb['removed_venv']}", style=OK))
        elif rb.get("exact"):
            extra = "" if rb.get("freeze_identical") is None else ", pip freeze identical to before"
            con.print(Text(f"  rolled back: the environment is exactly as before ({rb.get('restored', 0)} files put back, "
                           f"{rb.get('removed', 0)} removed{extra})", style=OK))
        else:
            con.print(Text("  rolled back with problems: " + "; ".join((rb.get("failed") or []) + (rb.get("differences") or []))[:600], style=BAD))
            if rb.get("kept_backup"):
                con.print(Text(f"  the backup is kept in {rb['kept_backup']}; `gpuready install --recover` tries again", style=WARN))
    if rep.verify:
        con.print(Text("Verify:", style="bold"))
        for f in rep.verify:
            sev = f.get("severity", "info")
            mark = {"ok": "✓", "error": "✗", "warning": "!", "info": "i"}.get(sev, "i")
            style = {"ok": OK, "error": BAD, "warning": WARN}.get(sev, "cyan")
            label = f"  [{f['label']}]" if f.get("label") else ""
            con.print(Text(f" {mark} {f.get('subject')}: {f.get('message')}{label}", style=style))
    for c in rep.causes:
        con.print(Text(f"cause [{c.get('label')}]: {c.get('explanation')}", style="bold"))
        for ev in c.get("evidence") or []:
            con.print(Text(f"  evidence: {ev}", style="dim"))
        if c.get("fix"):
            con.print(Text(f"  fix: {c['fix']}", style="bold"))
    for h in dict.fromkeys(rep.hints):
        con.print(Text(f"hint: {h}", style=WARN))
    if rep.status not in ("dry-run",):
        con.print(Text(f"log: {rep.log}", style="dim"))


def _status_text(status: str) -> str:
    return {
        "failed": "Install failed (nothing was changed)",
        "rolled-back": "Install failed and was rolled back",
        "verify-failed": "Installed, but verify failed: rolled back",
        "blocked": "No working plan for this machine",
        "interrupted": "Interrupted: rolled back",
        "refused": "Not installed",
    }.get(status, status)


def show_download(con: Console, result, hints: Sequence[str], causes: Sequence[dict], log: str) -> None:
    files = result.manifest.get("files", []) if result.manifest else []
    total = sum(f.get("size", 0) for f in files)
    if result.ok:
        con.print(Text(f"✓ {len(files)} files ({total / 1e6:.1f} MB) in {result.folder}", style=f"bold {OK}"))
    else:
        con.print(Text(f"✗ download incomplete: {len(result.failed)} step(s) failed; {len(files)} files in {result.folder}", style=BAD))
        for what, res in result.failed:
            con.print(Text(f"  failed: {what}" + (f" ({res.start_error})" if res.start_error else ""), style=BAD))
    for f in files:
        con.print(Text(f"  {f['file']}  {f.get('size', 0) / 1e6:.1f} MB  {f.get('kind')}" + (f"  for {f['for']}" if f.get("for") else ""), style="dim"))
    for c in causes:
        con.print(Text(f"cause [{c.get('label')}]: {c.get('explanation')}", style="bold"))
        for ev in c.get("evidence") or []:
            con.print(Text(f"  evidence: {ev}", style="dim"))
        if c.get("fix"):
            con.print(Text(f"  fix: {c['fix']}", style="bold"))
    for h in dict.fromkeys(hints):
        con.print(Text(f"hint: {h}", style=WARN))
    if result.manifest:
        con.print(Text(f"manifest: {result.folder / 'gpuready-offline.json'}  (install there with: gpuready install --offline "
                       f"{result.folder} {' '.join(result.manifest.get('requests', []))})", style="dim"))
    con.print(Text(f"log: {log}", style="dim"))
