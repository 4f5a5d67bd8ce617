"""`gpuready plan PKG...`: parse, probe (or load) the machine, apply overrides, plan, render."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from gpuready.options import get_machine, machine_option

FORMATS = ("text", "json", "requirements", "script")


@click.command()
@click.argument("packages", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: readable plan; json; requirements: a requirements file; script: shell commands.")
@machine_option
@click.option("--os", "os_name", type=click.Choice(["linux", "windows", "macos"], case_sensitive=False),
              help="Plan for this OS instead of the machine's.")
@click.option("--python", "python", metavar="VERSION|PATH",
              help="Plan for this Python version (3.11), or probe the environment of this interpreter.")
@click.option("--driver", metavar="VERSION", help="Plan for this NVIDIA driver version (535.104.05).")
@click.option("--gpu", "gpus", multiple=True, metavar="NAME|sm_XY",
              help='Plan for this GPU ("NVIDIA GeForce RTX 3060", "Tesla V100-SXM2-16GB", sm_86); repeat for several.')
@click.option("--index-url", metavar="URL", help="Your package index (PyPI mirror); overrides pip/uv configuration.")
@click.option("--mirror", metavar="URL",
              help="Mirror of the PyTorch wheel index, replacing https://download.pytorch.org/whl ({variant} is replaced by cu126 etc.; "
                   "a .html page is used with --find-links). Set it once: `gpuready config set torch-mirror URL`.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="Write the output to this file.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds the machine probe may take.")
def plan(packages: tuple[str, ...], as_json: bool, fmt: str, machine_file: Path | None, os_name: str | None,
         python: str | None, driver: str | None, gpus: tuple[str, ...], index_url: str | None, mirror: str | None,
         output: Path | None, timeout: float) -> None:
    """Choose versions and builds of PACKAGES that will use the GPU on this machine (or a described one).

    Exit status: 0 the plan is complete, 1 some package is blocked (see the fix), 2 bad usage.
    """
    from gpuready.plan.requests import RequestError, parse_requests
    from gpuready.plan.target import OverrideError, apply_overrides

    if as_json:
        fmt = "json"
    try:
        requests = parse_requests(list(packages))
    except RequestError as exc:
        raise click.UsageError(str(exc)) from None
    py_version = python if python and re.fullmatch(r"3(\.\d+){1,2}", python.strip()) else None
    interpreter = python if python and not py_version else None
    if interpreter and machine_file is not None:
        raise click.UsageError("--python PATH probes an interpreter; it cannot be combined with --machine")
    for url, flag in ((index_url, "--index-url"), (mirror, "--mirror")):
        if url is not None and not re.match(r"^(https?|file)://\S+$", url):
            raise click.UsageError(f"{flag} {url!r}: expected an http(s):// or file:// URL")
    machine = get_machine(machine_file, interpreter, frameworks=False, timeout=timeout)
    if interpreter:
        problems = [n.message for n in machine.notes if n.subject == "python"]
        if problems or not re.match(r"^\d+\.\d+", machine.python.version or ""):
            raise click.UsageError(f"--python {interpreter}: cannot inspect that interpreter ({problems[0] if problems else 'no version'})")
    try:
        machine = apply_overrides(machine, os_name=os_name, python=py_version, driver=driver, gpus=gpus)
    except OverrideError as exc:
        raise click.UsageError(str(exc)) from None

    from gpuready.plan.solve import make_plan

    result = make_plan(machine, requests, index_url=index_url, mirror=mirror)
    if fmt == "text" and output is None:
        from gpuready.plan.render import print_plan

        print_plan(result)
    else:
        text = _render(result, fmt, machine, from_file=machine_file is not None)
        if output is not None:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text, nl=False)
    sys.exit(1 if result.blocked else 0)


def _render(result, fmt: str, machine, *, from_file: bool) -> str:
    from gpuready.plan import render

    if fmt == "json":
        return json.dumps(result.to_dict(), indent=2) + "\n"
    if fmt == "requirements":
        return render.requirements_text(result)
    if fmt == "script":
        python = machine.python.executable if machine.python.executable and not from_file else "python"
        return render.script_text(result, python=python)
    from io import StringIO

    from rich.console import Console

    from gpuready.plan.render import print_plan

    buf = StringIO()
    print_plan(result, Console(file=buf, width=120, no_color=True, highlight=False))
    return buf.getvalue()
