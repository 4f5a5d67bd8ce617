"""Options and helpers the stage commands share: --machine, --python, --timeout's type, and the Machine they give.

Every command that reads the machine takes `--machine FILE` (a saved machine, to plan or
diagnose a box you are not on) or probes this one; the rule for which is written once, here.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gpuready.machine import Machine

class Seconds(click.ParamType):
    """A time limit in seconds: a finite number from `minimum` up to a week, for every --timeout.

    0, negative, nan and inf are refused (exit 2): a zero limit would call every framework "hung",
    an infinite one would let a wedged driver hang gpuready for ever."""

    name = "seconds"

    def __init__(self, minimum: float = 1.0, maximum: float = 7 * 24 * 3600.0) -> None:
        self.minimum = minimum
        self.maximum = maximum

    def convert(self, value, param, ctx) -> float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            try:
                number = float(str(value).strip())
            except ValueError:
                self.fail(f"{value!r} is not a number of seconds", param, ctx)
        if not math.isfinite(number) or not self.minimum <= number <= self.maximum:
            self.fail(f"{value!r}: give a number of seconds from {self.minimum:g} to {self.maximum:g}", param, ctx)
        return number


SECONDS = Seconds()


machine_option = click.option(
    "--machine",
    "machine_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Work on a saved machine (from `gpuready probe --save`) instead of probing this one.",
)
python_option = click.option(
    "--python",
    "python",
    type=str,
    default=None,
    help="Inspect this interpreter's environment (default: the one running gpuready).",
)


def get_machine(
    machine_file: Path | None, python: str | None = None, *, frameworks: bool = True, timeout: float = 60.0, real_op: bool = False
) -> Machine:
    """The saved machine when --machine is given, else a fresh probe of this one (`real_op`: see probe_machine)."""
    from gpuready.machine import Machine  # here, not at import: `explain` of a small log starts faster
    from gpuready.probe import probe_machine

    if machine_file is not None:
        return Machine.load(machine_file)
    machine = probe_machine(python, frameworks=frameworks, timeout=timeout, real_op=real_op)
    if python is not None and not machine.python.version:
        # The interpreter the user named cannot be asked anything: that is bad input, not a finding.
        why = next((n.message for n in machine.notes if n.subject == "python"), f"cannot inspect {python}")
        raise click.UsageError(f"--python {python}: {why}")
    return machine


def project_options(f):
    """-r/--requirement, -c/--constraint, --project, --extra, --group: a project's requirements in (plan, install)."""
    for opt in reversed((
        click.option("-r", "--requirement", "requirement_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="Plan the requirements in this file (as pip reads it: -r/-c includes, --index-url lines, markers, "
                          "hashes); GPU packages are planned, the rest pass through. Repeatable."),
        click.option("-c", "--constraint", "constraint_files", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="Constrain the resolution with this constraints file. Repeatable."),
        click.option("--project", "project_dir", type=click.Path(path_type=Path),
                     help="Plan this project's pyproject.toml [project] dependencies (a folder or the file)."),
        click.option("--extra", "extras", multiple=True, metavar="NAME",
                     help="With --project: also its [project.optional-dependencies] NAME. Repeatable."),
        click.option("--group", "groups", multiple=True, metavar="NAME",
                     help="With --project: also its PEP 735 [dependency-groups] NAME. Repeatable."),
    )):
        f = opt(f)
    return f


def read_project_input(machine: Machine, packages, requirement_files, constraint_files, project_dir, extras, groups):
    """The project input of a command line (packages, files, a pyproject), for the machine's markers.
    Bad input is a click.UsageError (exit 2)."""
    from gpuready.plan.project import read_project_input_files
    from gpuready.plan.projectinput import ProjectError, from_arguments, marker_environment

    if (extras or groups) and project_dir is None:
        raise click.UsageError("--extra and --group need --project DIR")
    env = marker_environment(machine)
    try:
        inp = from_arguments(packages, env)
        return inp.merged(read_project_input_files(env, requirement_files, constraint_files, project_dir, extras, groups))
    except ProjectError as exc:
        raise click.UsageError(str(exc)) from None
