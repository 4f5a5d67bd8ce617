"""`gpuready probe`: print or save the Machine."""

from __future__ import annotations

from pathlib import Path

import click

from gpuready.options import SECONDS, get_machine, machine_option, python_option

FORMATS = ("text", "json", "conda-overrides", "pixi")


@click.command()
@click.option("--save", "save_to", type=click.Path(dir_okay=False, path_type=Path), help="Write the machine as JSON to FILE.")
@click.option("--json", "as_json", is_flag=True, help="Print the machine as JSON (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text; json; conda-overrides: CONDA_OVERRIDE_CUDA/GLIBC/CUDA_ARCH lines for solving on a machine without "
                   "a GPU; pixi: this machine as a pixi platform entry (driver's CUDA, GPU arch, glibc).")
@click.option("--no-frameworks", is_flag=True, help="Skip the framework imports (fast: drivers, toolkits, compilers only).")
@click.option("--timeout", type=SECONDS, default=60.0, show_default=True, help="Seconds each framework import may take.")
@machine_option
@python_option
def probe(save_to: Path | None, as_json: bool, fmt: str, no_frameworks: bool, timeout: float, machine_file: Path | None,
          python: str | None) -> None:
    """Describe this machine: GPUs, driver, CUDA toolkits, cuDNN, compilers, Python and GPU frameworks."""
    if fmt in ("conda-overrides", "pixi"):
        if save_to is not None or as_json:
            raise click.UsageError(f"--format {fmt} cannot be combined with --save or --json")
        _virtual(fmt, get_machine(machine_file, python, frameworks=False, timeout=timeout), from_file=machine_file is not None)
        return
    as_json = as_json or fmt == "json"
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


def _virtual(fmt: str, machine, *, from_file: bool) -> None:
    """Print the virtual packages on stdout (machine-readable), what they mean on stderr."""
    from gpuready.probe.virtualpkgs import conda_overrides, conda_summary, pixi_toml, virtual_packages

    from gpuready.install.resolve import target_glibc

    glibc, how = target_glibc(machine, here=not from_file)
    vp = virtual_packages(machine, glibc)
    if fmt == "pixi":
        click.echo(pixi_toml(vp), nl=False)
        return
    for line in conda_overrides(vp):
        click.echo(line)
    click.echo("# conda/mamba/pixi will see: " + (" ".join(conda_summary(vp)) or "no __cuda (CPU builds)")
               + (f"; glibc from {how}" if glibc else ""), err=True)
    for note in vp.notes:
        click.echo(f"# note: {note}", err=True)
    click.echo("# use: `export $(gpuready probe --format conda-overrides)` before `conda install`/`pixi lock` on a machine "
               "without this GPU, or append the lines to $GITHUB_ENV", err=True)
