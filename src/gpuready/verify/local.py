"""The Machine verify and bench work on: this machine, with the installed frameworks found on disk.

`doctor` inspects every framework in a child (to read its build); verify and bench run their own
child per framework anyway, so for them the installed frameworks are found by a file-system scan
of the interpreter's sys.path (milliseconds), not by importing each one twice.
"""

from __future__ import annotations

import dataclasses

import click

from gpuready.machine import Framework, Machine


def local_machine(python: str | None, timeout: float = 60.0) -> Machine:
    from gpuready.probe import probe_machine
    from gpuready.probe.frameworks import SPECS, find_copies
    from gpuready.probe.pyenv import python_facts

    info, sys_path, error = python_facts(python)
    if error:
        raise click.UsageError(error)
    machine = probe_machine(python, frameworks=False, timeout=timeout)
    indexes: dict = {}
    frameworks = []
    for spec in SPECS:
        copies = find_copies(spec, sys_path, indexes)
        if copies:
            active = copies[0]
            frameworks.append(Framework(name=spec.name, dist=active.dist, version=active.version, copies=copies))
    return dataclasses.replace(machine, frameworks=tuple(frameworks))
