"""`gpuready probe`: print or save the Machine."""

from __future__ import annotations

from pathlib import Path

import click

from gpuready.options import get_machine, machine_option, python_option


@click.command()
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), help="Write the machine as JSON to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the machine as JSON.")
@click.option("--no-frameworks", is_flag=True, help="Skip the framework imports (fast: drivers, toolkits, compilers only).")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds each framework import may take.")
@machine_option
@python_option
def probe(save_to: Path | None, as_json: bool, no_frameworks: bool, timeout: float, machine_file: Path | None, python: str | None) -> None:
    """Describe this machine: GPUs, driver, CUDA toolkits, cuDNN, compilers, Python and GPU frameworks."""
    machine = get_machine(machine_file, python, frameworks=not no_frameworks, timeout=timeout)
    if save_to is not None:
        try:
            machine.save(save_to)
        except OSError as exc:
            raise click.ClickException(f"cannot write {save_to}: {exc.strerror or exc}") from None
        click.echo(f"saved to {save_to}", err=True)
    if as_json:
        click.echo(machine.to_json())
    elif save_to is None:
        from gpuready.report.terminal import print_machine

        print_machine(machine)
