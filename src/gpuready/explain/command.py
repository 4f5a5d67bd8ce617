"""`gpuready explain [FILE ...]` and `gpuready explain -- CMD ARGS...`.

Logs are read as bytes, in blocks, whatever their size; a command's combined output is
shown live and explained only when the command fails. Exit status: 0 when the log was
explained (causes found, or none), 2 for bad usage or unreadable input; in command mode,
the command's own exit status (so `gpuready explain -- pip install x && next` still stops
on failure), with the explanation printed after the command's output.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

import click

from gpuready.options import machine_option
from gpuready.proc import Child


class InputError(click.ClickException):
    """An input that cannot be read or is not a text log: exit 2, like bad usage."""

    exit_code = 2


class ExplainCommand(click.Command):
    """Takes everything after `--` as a command to run (click alone cannot tell it from FILE args)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            i = args.index("--")
            ctx.meta["explain_cmd"] = list(args[i + 1 :])
            args = args[:i]
        return super().parse_args(ctx, args)


@click.command(cls=ExplainCommand, context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("files", nargs=-1, type=str, metavar="[FILE ...] [-- CMD ARGS...]")
@click.option("--json", "as_json", is_flag=True, help='Print {"causes": [{"label", "confidence", "evidence", "explanation", "fix"}]}.')
@click.option("--stage", type=click.Choice(["install", "build", "import", "runtime"]), help="Where the log comes from (a hint that weighs the causes).")
@click.option("--package", help="The package the log is about (torch, tensorflow, opencv-python, dlib, ...): a hint.")
@click.option("--os", "os_hint", type=click.Choice(["linux", "windows", "macos"]), help="The OS the log comes from, when it does not show.")
@click.option("--no-probe", is_flag=True, help="Do not probe this machine for the fixes (use with logs from elsewhere).")
@click.option("--jobs", type=click.IntRange(0, 64), default=None, help="Processes that scan big files (default: one per core for files over 16 MB; 0 or 1: this process only).")
@machine_option
@click.pass_context
def explain(
    ctx: click.Context,
    files: tuple[str, ...],
    as_json: bool,
    stage: str | None,
    package: str | None,
    os_hint: str | None,
    no_probe: bool,
    jobs: int | None,
    machine_file: Path | None,
) -> None:
    """Explain an error log: the likely causes, the lines that show them, and the fix for this machine.

    Reads the FILEs (or stdin when none is given, or for "-"). With `-- CMD ARGS...` it runs the
    command, shows its output live, and explains the output if the command fails; it then exits
    with the command's exit status.

    \b
    Examples:
      gpuready explain build.log
      pip install dlib 2>&1 | gpuready explain --stage install
      gpuready explain -- python train.py
      gpuready explain --json --machine box.json error.txt
    """
    command = ctx.meta.get("explain_cmd")
    if command is not None:
        if files:
            raise click.UsageError("give either log FILEs or `-- CMD ARGS`, not both")
        if not command:
            raise click.UsageError("nothing to run after `--`")
        _run_and_explain(command, as_json, stage, package, os_hint, machine_file)
        return
    from gpuready.explain import explain_inputs
    from gpuready.explain.reader import NotTextError, blocks

    machine, explicit = _machine(machine_file, probe=not no_probe)
    streams: list[tuple[str, BinaryIO]] = []
    try:
        if not files or files == ("-",):
            if sys.stdin is None:
                raise InputError("no input: give a FILE or pipe a log into stdin")
            if sys.stdin.isatty() and not as_json:
                click.echo("Paste the log, then press Ctrl-D (Ctrl-Z and Enter on Windows):", err=True)
            streams.append(("", sys.stdin.buffer))
        else:
            for name in files:
                streams.append((name if len(files) > 1 else "", _open(name)))
        workers = jobs if jobs is not None else _auto_workers(files)
        try:
            ex = explain_inputs(
                [(name, blocks(stream)) for name, stream in streams],
                machine,
                stage,
                package=package,
                os=os_hint,
                machine_explicit=explicit,
                workers=workers if workers > 1 else 0,
            )
        except NotTextError as exc:
            raise InputError(f"{_which(files)}: {exc}") from None
        except OSError as exc:
            raise InputError(f"{_which(files)}: cannot read ({exc.strerror or exc})") from None
    finally:
        for name, stream in streams:
            if stream is not sys.stdin.buffer:
                stream.close()
    _output(ex, as_json, source=", ".join(files) if files and files != ("-",) else "", machine_file=machine_file)


def _auto_workers(files: tuple[str, ...]) -> int:
    """Worker processes for these files: only big regular files are worth it."""
    from gpuready.explain.parallel import workers_for

    size = 0
    for name in files:
        try:
            if name != "-" and Path(name).is_file():
                size += Path(name).stat().st_size
        except OSError:
            pass
    return workers_for(size)


def _which(files: tuple[str, ...]) -> str:
    if not files or files == ("-",):
        return "stdin"
    return files[0] if len(files) == 1 else "one of the inputs"


def _open(name: str) -> BinaryIO:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if path.is_dir():
        raise InputError(f"{name}: is a directory, not a log file")
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise InputError(f"{name}: no such file") from None
    except OSError as exc:
        raise InputError(f"{name}: cannot read ({exc.strerror or exc})") from None


def _machine(machine_file: Path | None, *, probe: bool):
    """(machine, explicit): the saved machine, else this one probed (fast, without framework imports)."""
    if machine_file is not None:
        from gpuready.machine import Machine

        return Machine.load(machine_file), True
    if not probe:
        return None, False
    try:
        from gpuready.probe import probe_machine

        return probe_machine(None, frameworks=False, timeout=20), False
    except Exception:  # a probe failure must not stop the explanation
        return None, False


def _machine_line(ex, machine_file: Path | None) -> str:
    m = ex.context.machine
    if m is None or not any(c.uses_machine for c in ex.causes):
        return ""
    what = f"the saved machine {machine_file}" if machine_file else "this machine"
    gpu = f"{m.gpus[0].name} (compute capability {m.gpus[0].compute_capability or '?'})" if m.gpus else "no NVIDIA GPU"
    drv = f"driver {m.driver.version}" if m.driver.present else "no NVIDIA driver"
    return f"'for this machine' uses the facts of {what}: {m.os.distro or m.os.system}, {gpu}, {drv}"


def _output(ex, as_json: bool, *, source: str = "", machine_file: Path | None = None, extra: dict | None = None) -> None:
    from gpuready.explain.render import print_explanation, to_json

    if as_json:
        click.echo(to_json(ex, extra))
        return
    from gpuready.report.terminal import console

    print_explanation(ex, console(), source=source, machine_line=_machine_line(ex, machine_file))


# --- explain -- CMD ARGS ------------------------------------------------------------------------------


def _run_and_explain(
    argv: list[str], as_json: bool, stage: str | None, package: str | None, os_hint: str | None, machine_file: Path | None
) -> None:
    """Run `argv` with its output shown live, explain it if it fails, exit with its status."""
    from gpuready.explain import explain_inputs
    from gpuready.explain.reader import blocks

    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")  # a Python child's output then arrives live, not at exit
    try:
        child = Child.start(argv, env=env)
    except FileNotFoundError:
        raise InputError(f"cannot run {argv[0]!r}: command not found") from None
    except OSError as exc:
        raise InputError(f"cannot run {argv[0]!r}: {exc.strerror or exc}") from None
    # With --json, stdout carries the JSON: the command's output goes to stderr.
    echo = sys.stderr.buffer if as_json else sys.stdout.buffer
    machine = None
    explicit = True
    with child:  # Ctrl-C or SIGTERM stops the command and everything it started
        assert child.proc.stdout is not None
        if machine_file is not None:
            machine, explicit = _machine(machine_file, probe=True)
        ex = explain_inputs(
            [("", blocks(child.proc.stdout, echo=echo, raw=True))],
            machine,
            stage,
            package=package,
            os=os_hint,
            machine_explicit=explicit,
        )
        code = child.wait()
    status = code if code >= 0 else 128 - code  # killed by signal N -> 128+N, as shells report it
    cmd_info = {"command": {"argv": argv, "exit_code": status}}
    if code == 0:  # nothing to explain
        if as_json:
            from gpuready.report.jsonout import dumps

            click.echo(dumps("explain", {"causes": [], **cmd_info}))
        sys.exit(0)
    if machine is None:  # the command failed here: this machine's facts apply, and may decide a label
        machine, _ = _machine(None, probe=True)
        if machine is not None:
            ex = _reexplain(ex, machine)
    if not as_json:
        click.echo()
        click.echo(f"gpuready: `{' '.join(argv)}` exited with status {status}", err=True)
    _output(ex, as_json, source="the command's output", machine_file=machine_file, extra=cmd_info)
    sys.exit(status)


def _reexplain(ex, machine):
    """The same hits, judged again with the machine's facts (the log is not read twice)."""
    from gpuready.explain import Explanation, _check_machine
    from gpuready.explain.engine import explain_hits
    from gpuready.explain.rules import load_rules

    ctx = ex.context
    ctx.machine = machine
    ctx.machine_explicit = True
    _check_machine(ctx)
    return Explanation(explain_hits(load_rules(), ctx), ctx)
