"""`gpuready verify [PKG...]`: real work on the GPU through each framework, checked against the CPU."""

from __future__ import annotations

import datetime as _dt
import sys
from pathlib import Path

import click

from gpuready.report.jsonout import dumps
from gpuready.options import python_option

# Accepted only to refuse it clearly: real work needs this machine, not a saved one.
machine_option = click.option("--machine", "machine_file", type=click.Path(dir_okay=False, path_type=Path), hidden=True)


def pick_frameworks(packages: tuple[str, ...], machine) -> list[str]:
    """Command-line names -> import names; unknown names are a usage error (exit 2)."""
    from gpuready.verify import default_frameworks
    from gpuready.verify.specs import known_names, resolve

    if not packages:
        return default_frameworks(machine)
    names, unknown = resolve(packages)
    if unknown:
        known = ", ".join(known_names())
        raise click.UsageError(f"unknown framework(s): {', '.join(unknown)} (known: {known})")
    return names


def header(machine) -> dict:
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "hostname": machine.hostname,
        "python": machine.python.executable,
        "gpus": [{"index": g.index, "name": g.name, "compute_capability": g.compute_capability} for g in machine.gpus],
        "driver": machine.driver.version,
    }


@click.command()
@click.argument("packages", nargs=-1, metavar="[PKG]...")
@click.option("--json", "as_json", is_flag=True, help='Print {"results": [...], "findings": [...]} as JSON.')
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, help="Seconds each framework's check may take before it is called a hang.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="dlib's mmod_human_face_detector.dat (default: face_recognition_models' copy, or the cache).")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo with one face for the dlib/face_recognition checks (default: skimage.data.astronaut()).")
@click.option("--no-preload", is_flag=True, help="Do not import numpy and torch before the framework under test.")
@machine_option
@python_option
def verify(packages: tuple[str, ...], as_json: bool, timeout: float, model: Path | None, image: Path | None, no_preload: bool, machine_file: Path | None, python: str | None) -> None:
    """Run real work on the GPU through each framework (default: every installed one) and check it against the CPU.

    Each framework runs in its own child process with a timeout, after numpy and torch were
    imported, as in a real program. Exit status 1 when a requested framework does not work on the GPU.
    """
    from gpuready.verify import verify as run_verify
    from gpuready.verify.local import local_machine
    from gpuready.verify.verdicts import to_finding

    if machine_file is not None:
        raise click.UsageError("verify runs real work on this machine; it cannot use a saved --machine")
    machine = local_machine(python)
    names = pick_frameworks(packages, machine)
    if not names:
        msg = f"No GPU framework that verify knows is installed in {machine.python.executable}."
        if as_json:
            click.echo(dumps("verify", {**header(machine), "results": [], "findings": [], "message": msg}))
        else:
            click.echo(msg)
        sys.exit(0)

    def progress(name: str) -> None:
        if not as_json:
            click.echo(f"verifying {name} ...", err=True)

    results = run_verify(
        machine,
        python=python,
        timeout=timeout,
        only=tuple(names),
        model=str(model) if model else None,
        image=str(image) if image else None,
        preload=() if no_preload else None,
        progress=progress,
    )
    if as_json:
        payload = {**header(machine), "results": [r.to_dict() for r in results], "findings": [to_finding(r, machine).to_dict() for r in results]}
        click.echo(dumps("verify", payload))
    else:
        from gpuready.report.terminal import console
        from gpuready.verify.render import print_results

        con = console()
        print_results(results, con, python=machine.python.executable)
        bad = [r for r in results if r.status not in ("works", "unverified")]
        con.print()
        if bad:
            con.print(f"[bold]{len(bad)} of {len(results)} framework(s) not working on the GPU.[/bold]")
        else:
            con.print(f"[bold green]All {len(results)} framework(s) work on the GPU.[/bold green]" if all(r.ok for r in results) else "[bold]Nothing broken; see the notes above for what was not checked.[/bold]")
    sys.exit(1 if any(r.status not in ("works", "unverified") for r in results) else 0)
