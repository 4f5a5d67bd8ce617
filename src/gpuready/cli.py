"""The `gpuready` command: parses arguments, calls the stages, renders. Nothing else.

Each sub-command lives in its stage (`gpuready.<stage>.command`) and is imported only
when it is run, so `gpuready probe` does not pay for the plan or build code. The options
the commands share (--machine, --python) are in gpuready.options.

Exit codes everywhere: 0 nothing wrong, 1 a problem was found (doctor, verify) or the
work failed (install, build), 2 bad usage or unreadable input, 130 interrupted.
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
    child is stopped, an install rolls back, and the exit status is 130 for all three."""
    from gpuready.proc import terminate_on_signals

    terminate_on_signals()
    try:
        main.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("gpuready: interrupted", err=True)
        sys.exit(130)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("gpuready: interrupted", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as exc:  # a bug in gpuready: say so plainly
        # Unreadable input is the user's to fix, not a bug. Matched by name so that start-up does not
        # import the machine and knowledge modules just to be able to catch their errors.
        kind = type(exc).__name__
        if kind == "MachineFormatError":
            click.echo(f"gpuready: {exc}", err=True)
            sys.exit(2)
        if kind == "KnowledgeError":
            click.echo(f"gpuready: broken knowledge data: {exc}", err=True)
            sys.exit(2)
        if os.environ.get("GPUREADY_DEBUG"):
            raise
        click.echo(
            f"gpuready: internal error: {type(exc).__name__}: {exc}\n"
            "  (this is a gpuready bug; set GPUREADY_DEBUG=1 for the traceback and report it)",
            err=True,
        )
        sys.exit(70)


if __name__ == "__main__":  # pragma: no cover
    run()
