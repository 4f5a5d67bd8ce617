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
