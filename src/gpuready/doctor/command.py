"""`gpuready doctor`: probe, judge, render; exit 1 when a problem was found."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gpuready.options import get_machine, machine_option, python_option


@click.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"machine": ..., "findings": [...]} as JSON.')
@click.option("--markdown", is_flag=True, help="Print a Markdown report for a bug report.")
@click.option("--verify", "run_verify", is_flag=True, help="Also run a real kernel through each framework (gpuready verify).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds each framework import may take.")
@machine_option
@python_option
def doctor(as_json: bool, markdown: bool, run_verify: bool, timeout: float, machine_file: Path | None, python: str | None) -> None:
    """Probe this machine, then say for each GPU framework: works on the GPU, CPU-only build, or broken — with the cause and the fix."""
    from gpuready.doctor.checks import diagnose

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    machine = get_machine(machine_file, python, timeout=timeout)
    findings = diagnose(machine)
    if run_verify:
        if machine_file is not None:
            raise click.UsageError("--verify runs code on this machine; it cannot be combined with --machine")
        findings = merge_verify(machine, findings, python, timeout)
    if as_json:
        click.echo(json.dumps({"machine": machine.to_dict(), "findings": [f.to_dict() for f in findings]}, indent=2))
    elif markdown:
        from gpuready.report.markdown import doctor_markdown

        click.echo(doctor_markdown(machine, findings))
    else:
        from gpuready.report.terminal import console, print_findings, print_machine

        con = console()
        print_machine(machine, con)
        con.print()
        print_findings(findings, con, title="Findings")
        problems = sum(f.is_problem for f in findings)
        con.print()
        con.print(f"[bold]{problems} problem(s) found.[/bold]" if problems else "[bold green]No problems found.[/bold green]")
    sys.exit(1 if any(f.is_problem for f in findings) else 0)


def merge_verify(machine, findings, python, timeout):
    """Replace each framework's static verdict by verify's measured one."""
    from gpuready.verify import verify_findings

    measured = verify_findings(machine, python=python, timeout=timeout)
    subjects = {f.subject.split(" ")[0] for f in measured}
    kept = [f for f in findings if f.subject.split(" ")[0] not in subjects]
    return kept + list(measured)
