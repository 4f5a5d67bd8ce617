"""The plan an install carries out: read from `--plan FILE`, or made here from the requests.

A plan file is input from outside (written by `gpuready plan --json`, maybe edited), so it is decoded
and checked (plan/model.py) and any problem is an InstallError (exit 2) naming the file and the field.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

from gpuready.indexconfig import settings
from gpuready.install.executor import NetOptions
from gpuready.install.model import InstallError
from gpuready.machine import Machine
from gpuready.plan import make_plan
from gpuready.plan.model import Plan, PlanFormatError
from gpuready.plan.project import is_plain, plan_project
from gpuready.plan.projectinput import from_arguments, marker_environment


def load_plan_file(path: Path) -> Plan:
    """The plan in `path` (`plan --json` output), checked; InstallError for anything unreadable or malformed."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InstallError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except ValueError as exc:
        raise InstallError(f"{path}: not valid JSON ({exc})") from None
    try:
        return Plan.from_dict(data, where=str(path))
    except PlanFormatError as exc:
        raise InstallError(str(exc)) from None


def torch_mirror_setting() -> str:
    """The `torch-mirror` setting (`gpuready config set torch-mirror URL`), "" when unset."""
    return settings.get("torch-mirror")[0]


def make_install_plan(machine: Machine, requests: Sequence[str], net: NetOptions) -> Plan:
    """The plan for `requests` on `machine`: gpuready's own planner, or the project planner when a request is
    something gpuready does not plan (numpy, a URL); bad requests are an InstallError."""
    try:
        # the torch-mirror setting is read by the plan itself (and named as its origin there)
        mirror = net.mirror if net.mirror and net.mirror != torch_mirror_setting() else None
        inp = from_arguments(requests, marker_environment(machine))
        if is_plain(inp):
            plan = make_plan(machine, list(requests), index_url=net.index_url or None, mirror=mirror)
        else:  # a package gpuready does not plan (numpy, a URL): passed through as written
            plan = plan_project(machine, inp, index_url=net.index_url or None, mirror=mirror)
    except ValueError as exc:  # RequestError, ProjectError and friends: bad input
        raise InstallError(str(exc)) from None
    return plan
