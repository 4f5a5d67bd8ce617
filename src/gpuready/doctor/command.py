"""`gpuready doctor`: probe, judge, render; exit 1 when a problem was found."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from gpuready.options import SECONDS, get_machine, machine_option, python_option
from gpuready.report.jsonout import document


@click.command()
@click.option("--json", "as_json", is_flag=True, help='Print {"machine": ..., "findings": [...]} as JSON.')
@click.option("--markdown", is_flag=True, help="Print a Markdown report for a bug report.")
@click.option("--no-redact", is_flag=True, help="Keep the home folder, user name and host name in --json/--markdown (hidden by default).")
@click.option("--no-op", "no_op", is_flag=True, help="Do not run a tiny GPU operation in each framework before listing the CUDA libraries it loads.")
@click.option("--verify", "run_verify", is_flag=True, help="Also run a real kernel through each framework (gpuready verify).")
@click.option("--timeout", type=SECONDS, default=60.0, show_default=True, help="Seconds each framework import may take.")
@machine_option
@python_option
def doctor(as_json: bool, markdown: bool, no_redact: bool, no_op: bool, run_verify: bool, timeout: float, machine_file: Path | None, python: str | None) -> None:
    """Probe this machine, then say for each GPU framework: works on the GPU, CPU-only build, or broken — with the cause and the fix."""
    from gpuready.doctor.checks import diagnose

    if as_json and markdown:
        raise click.UsageError("choose one of --json and --markdown")
    machine = get_machine(machine_file, python, timeout=timeout, real_op=not no_op)
    findings = diagnose(machine)
    if run_verify:
        if machine_file is not None:
            raise click.UsageError("--verify runs code on this machine; it cannot be combined with --machine")
        findings = merge_verify(machine, findings, python, timeout)
    if as_json or markdown:
        from gpuready.report.redact import make_redactor, redact_data

        redact = (lambda text: text) if no_redact else make_redactor((machine.hostname,))
    if as_json:
        data = document("doctor", {"machine": machine.to_dict(), "findings": [f.to_dict() for f in findings]})
        click.echo(json.dumps(redact_data(data, redact) if not no_redact else data, indent=2))
    elif markdown:
        from gpuready.report.markdown import doctor_markdown

        click.echo(redact(doctor_markdown(machine, findings, command=command_line(), date=_now())), nl=False)
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


def command_line() -> str:
    """How this report was asked for, for the reader of a pasted report."""
    import shlex

    return "gpuready " + " ".join(shlex.quote(a) for a in sys.argv[1:])


def _now() -> str:
    import datetime as _dt

    return _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat()


def merge_verify(machine, findings, python, timeout):
    """Replace each framework's static verdict by verify's measured one.

    When the GPU is hidden from this process (one cause, already a finding), the frameworks that
    therefore see no GPU point at it instead of repeating it as problems of their own.
    """
    import dataclasses

    from gpuready.diagnosis import hidden_cause
    from gpuready.verify import verify_findings

    measured = verify_findings(machine, python=python, timeout=timeout)
    cause = hidden_cause(machine)
    if cause is not None:
        measured = [
            dataclasses.replace(f, label="", severity="info", message=f"{f.message} (see {cause.subject}, above)", fix="")
            if f.label == cause.label and f.is_problem
            else f
            for f in measured
        ]
    # A framework that fails because another one's CPU copy shadows its CUDA build (face_recognition -> dlib) points at
    # that one's shadowed_install finding: one fact, one finding.
    from gpuready.knowledge.frameworks import display

    measured = [
        dataclasses.replace(f, label="", severity="info", fix="",
                            message=f"{f.message.split(' Cause: ')[0]} (`import {f.details['through']}` takes the CPU-only copy at "
                            f"{f.details.get('shadowing', '?')}; see the {display(f.details['through'])} shadowed_install finding above)")
        if f.label == "shadowed_install" and f.details.get("through")
        else f
        for f in measured
    ]
    subjects = {f.subject.split(" ")[0] for f in measured}
    kept = [f for f in findings if f.subject.split(" ")[0] not in subjects]
    return kept + list(measured)
