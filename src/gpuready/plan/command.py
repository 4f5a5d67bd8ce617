"""`gpuready plan PKG...`: parse, probe (or load) the machine, apply overrides, plan, render."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import click

from gpuready.options import SECONDS, get_machine, machine_option, project_options, read_project_input

FORMATS = ("text", "json", "requirements", "script", "pylock")


@click.command()
@click.argument("packages", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON (same as --format json).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="text", show_default=True,
              help="text: readable plan; json; requirements: a requirements file (--hashes: every file hash-pinned); "
                   "script: shell commands; pylock: a PEP 751 pylock.toml lock.")
@project_options
@click.option("--hashes", is_flag=True, help="With --format requirements: resolve and pin every file with its sha256 (a lock).")
@click.option("--resolve/--no-resolve", "resolve", default=None,
              help="Resolve the whole set once (uv, or pip) so conflicts show now; default: with -r/--project and for locks.")
@click.option("--resolver", type=click.Choice(["auto", "uv", "pip"]), default="auto", show_default=True,
              help="Who resolves: uv when available, else pip (--dry-run --report).")
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
@click.option("--timeout", type=SECONDS, default=30.0, show_default=True, help="Seconds the machine probe may take.")
def plan(packages: tuple[str, ...], as_json: bool, fmt: str, requirement_files: tuple[Path, ...], constraint_files: tuple[Path, ...],
         project_dir: Path | None, extras: tuple[str, ...], groups: tuple[str, ...], hashes: bool, resolve: bool | None,
         resolver: str, machine_file: Path | None, os_name: str | None, python: str | None, driver: str | None,
         gpus: tuple[str, ...], index_url: str | None, mirror: str | None, output: Path | None, timeout: float) -> None:
    """Choose versions and builds of PACKAGES that will use the GPU on this machine (or a described one).

    \b
    A project in: -r requirements.txt, --project DIR (pyproject dependencies, --extra, --group); GPU
    packages are planned, the others pass through, and the whole set is resolved once.
    A lock out: --format pylock (PEP 751) or --format requirements --hashes.

    Exit status: 0 the plan is complete, 1 some package is blocked or the set conflicts, 2 bad usage.
    """
    from gpuready.plan.target import OverrideError, apply_overrides

    if as_json:
        fmt = "json"
    if not packages and not requirement_files and project_dir is None:
        raise click.UsageError("name at least one package, or give -r FILE / --project DIR (for example: gpuready plan torch)")
    if hashes and fmt != "requirements":
        raise click.UsageError("--hashes goes with --format requirements (a pylock.toml always has hashes)")
    locking = fmt == "pylock" or hashes
    if locking and resolve is False:
        raise click.UsageError(f"--no-resolve cannot write a lock: a lock is the resolution ({'--hashes' if hashes else '--format pylock'})")
    py_version = python.strip() if python and re.fullmatch(r"3(\.\d+){1,2}", python.strip()) else None
    interpreter = python if python and not py_version else None
    if interpreter and re.fullmatch(r"\d+(\.\d+)*", interpreter.strip()):
        raise click.UsageError(f"--python {interpreter}: gpuready plans for Python 3 (give a version like 3.12, or an interpreter's path)")
    if interpreter and machine_file is not None:
        raise click.UsageError(f"--python {interpreter}: not a Python version like 3.12; an interpreter's path (which is probed) "
                               "cannot be combined with --machine")
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

    from gpuready.plan.project import is_plain, plan_project
    from gpuready.plan.requests import RequestError
    from gpuready.plan.solve import make_plan

    inp = read_project_input(machine, packages, requirement_files, constraint_files, project_dir, extras, groups)
    try:
        if is_plain(inp):
            result = make_plan(machine, list(packages), index_url=index_url, mirror=mirror)
        else:
            result = plan_project(machine, inp, index_url=index_url, mirror=mirror)
    except RequestError as exc:
        raise click.UsageError(str(exc)) from None
    resolution = None
    if resolve or (resolve is None and (locking or bool(inp.sources))):
        resolution = _resolve(result, machine, inp, resolver, from_file=machine_file is not None or bool(os_name or py_version or driver or gpus))
    conflict = resolution is not None and not resolution.ok
    if resolution is not None and resolution.ok:
        from gpuready.plan.project import with_versions

        result = with_versions(result, resolution.pins())
    if conflict and fmt not in ("text", "json"):
        _say_conflict(resolution, err=True)
        sys.exit(1)
    if fmt == "text" and output is None:
        from gpuready.plan.render import print_plan

        print_plan(result)
        if resolution is not None:
            _say_resolution(resolution)
    else:
        text = _render(result, fmt, machine, from_file=machine_file is not None, resolution=resolution, hashes=hashes,
                       output=output, constraints=[str(Path(f).resolve()) for f in constraint_files], inp=inp)
        if output is not None:
            try:
                output.write_text(text, encoding="utf-8")
            except OSError as exc:
                raise click.ClickException(f"cannot write {output}: {exc.strerror or exc}") from None
            click.echo(f"wrote {output}", err=True)
        else:
            click.echo(text, nl=False)
        if conflict and fmt == "json":
            _say_conflict(resolution, err=True)
    sys.exit(1 if result.blocked or conflict else 0)


def _resolve(result, machine, inp, resolver: str, *, from_file: bool):
    """The whole set through uv (or pip) for the target; bad setups are exit 2, a conflict is reported by the caller."""
    from gpuready.install.resolve import ResolveError, resolve, target_glibc
    from gpuready.plan.project import user_hashes
    from gpuready.plan.solve import is_this_machine

    here = not from_file and is_this_machine(machine)
    glibc, _ = target_glibc(machine, here=here)
    constraints = [c.requirement for c in inp.constraints]
    try:
        return resolve(result, machine, tool=resolver, constraints=constraints, glibc=glibc,
                       native_python=machine.python.executable if here and machine.python.executable else None,
                       user_hashes=user_hashes(inp))
    except ResolveError as exc:
        raise click.ClickException(str(exc)) from None


def _say_conflict(res, *, err: bool) -> None:
    stream = sys.stderr if err else sys.stdout
    enc = getattr(stream, "encoding", None) or "utf-8"
    click.echo(f"gpuready: these requirements cannot be installed together ({res.tool} says, resolving for the target; "
               "nothing was changed):", err=err)
    for line in res.conflict.splitlines():  # the resolver's own words, safe on any console encoding (cp1252 too)
        click.echo("  " + line.encode(enc, "replace").decode(enc, "replace"), err=err)


def _say_resolution(res) -> None:
    if not res.ok:
        click.echo("")
        _say_conflict(res, err=False)
        return
    pins = res.pins()
    click.echo(f"\nresolved with {res.tool}: {len(pins)} packages")
    for note in res.notes:
        click.echo(f"note: {note}")


def _render(result, fmt: str, machine, *, from_file: bool, resolution=None, hashes: bool = False, output: Path | None = None,
            constraints=(), inp=None) -> str:
    from gpuready.plan import render

    if fmt == "json":
        data = result.to_dict()
        if resolution is not None:
            data["resolution"] = resolution.to_dict()
        return json.dumps(data, indent=2) + "\n"
    if fmt in ("pylock", "requirements") and resolution is not None and (hashes or fmt == "pylock"):
        from gpuready.install import lock, lockwrite
        from gpuready.install.resolve import target_glibc

        glibc, _ = target_glibc(machine, here=not from_file)
        out_dir = output.resolve().parent if output is not None else None
        try:
            if fmt == "pylock":
                return lockwrite.pylock_text(result, resolution, machine, out_dir=out_dir, glibc=glibc)
            return lockwrite.requirements_text(result, resolution, machine, out_dir=out_dir, glibc=glibc)
        except (lock.LockError, OSError) as exc:
            raise click.ClickException(f"cannot write the lock: {exc}") from None
    if fmt == "requirements":
        text = render.requirements_text(result)
        return text + "".join(f"-c {c}\n" for c in constraints)
    if fmt == "script":
        python = machine.python.executable if machine.python.executable and not from_file else "python"
        from gpuready.install.knowledge import competing

        return render.script_text(result, python=python, competing={g.module: tuple(g.dists) for g in competing()})
    from io import StringIO

    from rich.console import Console

    from gpuready.plan.render import print_plan

    buf = StringIO()
    print_plan(result, Console(file=buf, width=120, no_color=True, highlight=False))
    return buf.getvalue()
