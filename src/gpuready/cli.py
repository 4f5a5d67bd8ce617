"""The `gpuready` command: parses arguments, calls the stages, renders. Nothing else.

Each sub-command lives in its stage (`gpuready.<stage>.command`) and is imported only
when it is run, so `gpuready probe` does not pay for the plan or build code. The options
the commands share (--machine, --python) are in gpuready.options.

Exit codes everywhere: 0 nothing wrong, 1 a problem was found (doctor, verify) or the
work failed (install, build), 2 bad usage or unreadable input, 130 interrupted (143 on SIGTERM).
"""

from __future__ import annotations

import importlib
import os
import sys

import click

from gpuready import __version__

# name -> "module:attribute" of a click command. Adding a command = one line here.
COMMANDS: dict[str, str] = {
    "probe": "gpuready.probe.command:probe",
    "doctor": "gpuready.doctor.command:doctor",
    "plan": "gpuready.plan.command:plan",
    "explain": "gpuready.explain.command:explain",
    "verify": "gpuready.verify.command:verify",
    "bench": "gpuready.bench.command:bench",
    "install": "gpuready.install.command:install",
    "download": "gpuready.install.command:download",
    "build": "gpuready.build.command:build",
    "cache": "gpuready.build.command:cache",
    "fleet": "gpuready.fleet.command:fleet",
    "config": "gpuready.indexconfig.command:config",
}

SUMMARIES: dict[str, str] = {
    "probe": "Describe this machine's GPUs, driver, CUDA, cuDNN, compilers and frameworks.",
    "doctor": "Probe, then say what works on the GPU, what doesn't, why, and the fix.",
    "plan": "Choose versions and builds of packages that will use the GPU here.",
    "explain": "Explain an error log: the cause, the evidence line, the fix.",
    "verify": "Run real work on the GPU through each framework and check the result.",
    "bench": "Time CPU against GPU for each framework.",
    "install": "Plan, install (or build) and verify packages, rolling back on failure.",
    "download": "Fetch everything a plan needs, for an offline install.",
    "build": "Build dlib or OpenCV with CUDA from source into a cached wheel.",
    "cache": "List, locate or clear the wheel cache.",
    "fleet": "Doctor and plan across a lab's machines (Ray, Slurm, saved machines); what differs on top.",
    "config": "Set gpuready's PyTorch mirror; show the package-index settings in force and their source.",
}


class LazyGroup(click.Group):
    """A click group whose sub-commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Listing help must not import every stage: use the one-line summaries.
        with formatter.section("Commands"):
            formatter.write_dl([(name, SUMMARIES.get(name, "")) for name in COMMANDS])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gpuready")
def main() -> None:
    """gpuready: make GPU-accelerated Python packages really use the GPU on this machine."""


def run() -> None:
    """Console-script entry: turn every failure into a message and an exit code, never a traceback.

    SIGTERM and SIGHUP unwind like Ctrl-C (gpuready.proc.Terminated is a KeyboardInterrupt): every
    child is stopped, an install rolls back; the exit status is 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP."""
    from gpuready.proc import terminate_on_signals
    from gpuready.textsafe import setup_streams

    setup_streams()  # any console encoding works; control characters from outside are shown escaped
    terminate_on_signals()
    from gpuready.paths import env_problems

    problems = env_problems()
    if problems:
        for line in problems:
            click.echo(f"gpuready: {line}", err=True)
        sys.exit(2)
    code = _run_main()
    sys.exit(_flush_stdout(code))


def _run_main() -> int:
    try:
        main.main(standalone_mode=False)
    except SystemExit as exc:
        return _exit_code(exc.code)
    except click.exceptions.Abort as exc:  # click turns KeyboardInterrupt (and Terminated) into Abort
        return _interrupted(exc.__cause__ or exc)
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt as exc:
        return _interrupted(exc)
    except BrokenPipeError:
        _silence_stdout()
        return 0
    except Exception as exc:  # a bug in gpuready: say so plainly
        return _failure(exc)
    return 0


def _interrupted(exc: BaseException) -> int:
    """Say so; 130 for Ctrl-C, 128 + N for SIGTERM/SIGHUP (proc.Terminated)."""
    from gpuready.proc import interrupt_exit_code

    click.echo("gpuready: interrupted", err=True)
    return interrupt_exit_code(exc)


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    click.echo(str(code), err=True)
    return 1


def _failure(exc: Exception) -> int:
    """The exit code for an exception no stage turned into a message: 1 or 2 for what a user can cause, else 70."""
    # Unreadable input is the user's to fix, not a bug. Matched by name so that start-up does not
    # import the machine and knowledge modules just to be able to catch their errors.
    kind = type(exc).__name__
    if kind == "MachineFormatError":
        click.echo(f"gpuready: {exc}", err=True)
        return 2
    if kind == "KnowledgeError":
        click.echo(f"gpuready: broken knowledge data: {exc}", err=True)
        return 2
    if isinstance(exc, OSError) and not os.environ.get("GPUREADY_DEBUG"):
        # The system refused something (a full disk, a folder we may not write, a file that vanished):
        # the user's to fix, and the message says what and where.
        click.echo(f"gpuready: {os_error_text(exc)}", err=True)
        return 1
    if os.environ.get("GPUREADY_DEBUG"):
        raise exc
    click.echo(
        f"gpuready: internal error: {type(exc).__name__}: {exc}\n"
        "  (this is a gpuready bug; set GPUREADY_DEBUG=1 for the traceback and report it)",
        err=True,
    )
    return 70


def os_error_text(exc: OSError) -> str:
    """ "cannot write /x/y: No space left on device" from an OSError, whatever raised it."""
    what = exc.strerror or str(exc) or type(exc).__name__
    name = exc.filename
    if name is not None:
        return f"{name}: {what}" + (f" (-> {exc.filename2})" if exc.filename2 is not None else "")
    return what


def _flush_stdout(code: int) -> int:
    """Flush stdout now, while a failure can still be reported: a full disk is exit 1 with a message, not 70."""
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if stream is None:
            continue
        try:
            stream.flush()
        except BrokenPipeError:
            _silence_stdout(name)
        except (OSError, ValueError) as exc:
            _silence_stdout(name)
            if name == "stdout":
                why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
                try:
                    sys.stderr.write(f"gpuready: cannot write the output: {why}\n")
                    sys.stderr.flush()
                except (OSError, ValueError):
                    pass
                code = code if code not in (0,) else 1
    return code


def _silence_stdout(name: str = "stdout") -> None:
    """Point the broken stream's file descriptor at devnull, so that the exit flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, getattr(sys, f"__{name}__").fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass


if __name__ == "__main__":  # pragma: no cover
    run()
