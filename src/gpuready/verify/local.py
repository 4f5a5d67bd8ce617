"""The Machine verify and bench work on: this machine, with the installed frameworks found on disk.

`doctor` inspects every framework in a child (to read its build); verify and bench run their own
child per framework anyway, so for them the installed frameworks are found by a file-system scan
of the interpreter's sys.path (milliseconds), not by importing each one twice.
"""

from __future__ import annotations

import dataclasses
import os
import sys

import click

from gpuready.knowledge import frameworks as registry
from gpuready.machine import Framework, Machine, PythonInfo
from gpuready.probe import probe_machine, pyenv
from gpuready.probe.frameworks import find_copies
from gpuready.proc import parse_marked_json, run_python


def _python_facts(python: str | None) -> tuple[PythonInfo, list[str], str]:
    """probe.pyenv.python_facts, asked in a child whenever `python` is not literally this interpreter.

    Workaround: python_facts compares interpreters with os.path.samefile, which follows symlinks;
    every venv's bin/python links to the same base binary, so another venv was read in-process
    (this venv's sys.path). Remove once probe/pyenv.py compares unresolved paths.
    """
    if python is None or os.path.abspath(python) == os.path.abspath(sys.executable):
        return pyenv.python_facts(python)
    res = run_python(pyenv._FACTS_CODE, python=python, timeout=20)
    data = parse_marked_json(res.stdout) if res.ok else None
    if data is None:
        why = res.start_error or ("timed out" if res.timed_out else res.tail(3)) or f"exit status {res.returncode}"
        return PythonInfo(version="", executable=python), [], f"cannot run {python}: {why}"
    info = PythonInfo(
        version=data.get("version", ""),
        implementation=data.get("implementation", ""),
        executable=data.get("executable", python),
        bits=data.get("bits", 64),
        env_kind=data.get("env_kind", ""),
        prefix=data.get("prefix", ""),
        platform_tag=pyenv.platform_tag(data.get("platform", "")),
        site_packages=tuple(data.get("site_packages", [])),
    )
    return info, list(data.get("sys_path", [])), ""


def local_machine(python: str | None, timeout: float = 60.0) -> Machine:

    info, sys_path, error = _python_facts(python)
    if error:
        raise click.UsageError(error)
    machine = probe_machine(python, frameworks=False, timeout=timeout)
    indexes: dict = {}
    frameworks = []
    for spec in registry.frameworks().values():
        copies = find_copies(spec, sys_path, indexes)
        if copies:
            active = copies[0]
            frameworks.append(Framework(name=spec.name, dist=active.dist, version=active.version, copies=copies))
    return dataclasses.replace(machine, frameworks=tuple(frameworks), python=info)
