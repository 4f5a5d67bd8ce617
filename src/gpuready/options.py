"""Options and helpers the stage commands share: --machine, --python, and the Machine they give.

Every command that reads the machine takes `--machine FILE` (a saved machine, to plan or
diagnose a box you are not on) or probes this one; the rule for which is written once, here.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from gpuready.machine import Machine

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
