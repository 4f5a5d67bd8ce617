"""`gpuready install -r requirements.txt` / `--project DIR`: plan, resolve once, then install the resolution.

The project is read for the install's target (its Python, its markers), planned (GPU packages
chosen by gpuready, the rest as written), and resolved as one set; a conflict stops the install
before anything is changed (exit 1, with the resolver's explanation). What then gets installed is
exactly the resolution, hash-checked, in one step (gpuready.install.lock), plus gpuready's own builds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from gpuready.install.lock import LockFile, target_of
from gpuready.install.lockwrite import requirements_text
from gpuready.install.resolve import Resolution, ResolveError, resolve, target_glibc
from gpuready.machine import Machine
from gpuready.plan.model import Plan


@dataclass(frozen=True)
class ProjectArgs:
    """The project part of an install command line."""

    requirement_files: tuple[Path, ...] = ()
    constraint_files: tuple[Path, ...] = ()
    project_dir: Path | None = None
    extras: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()
    resolver: str = "auto"

    @property
    def given(self) -> bool:
        return bool(self.requirement_files or self.constraint_files or self.project_dir is not None)


@dataclass
class ProjectPlan:
    plan: Plan
    resolution: Resolution
    lock: LockFile | None = None  # None when the resolution failed
    notes: list[str] = field(default_factory=list)


def plan_and_lock(machine: Machine, requests: Sequence[str], args: ProjectArgs, out: Path, *,
                  index_url: str | None = None, mirror: str | None = None, python: str | None = None) -> ProjectPlan:
    """Plan the project for `machine`, resolve it, and write the hashed requirements the install runs (`out`).

    Raises ValueError (ProjectError, RequestError) for unreadable input and ResolveError when no resolver runs."""
    from gpuready.plan.project import plan_project, read_project_input_files, user_hashes, with_versions
    from gpuready.plan.projectinput import from_arguments, marker_environment

    env = marker_environment(machine)
    inp = from_arguments(requests, env).merged(read_project_input_files(
        env, args.requirement_files, args.constraint_files, args.project_dir, args.extras, args.groups))
    plan = plan_project(machine, inp, index_url=index_url, mirror=mirror)
    glibc, _ = target_glibc(machine, here=True)
    res = resolve(plan, machine, tool=args.resolver, constraints=[c.requirement for c in inp.constraints], glibc=glibc,
                  native_python=python, user_hashes=user_hashes(inp))
    if not res.ok:
        return ProjectPlan(plan, res)
    plan = with_versions(plan, res.pins())
    out.write_text(requirements_text(plan, res, machine, glibc=glibc), encoding="utf-8")
    tool = {"target": target_of(machine, plan, glibc), "packages": _tool_packages(out)}
    return ProjectPlan(plan, res, LockFile(out, "requirements", tool, full_plan=plan), list(res.notes))


def _tool_packages(path: Path) -> list[dict]:
    from gpuready.install.lock import read_lock

    return list(read_lock(path).tool.get("packages") or [])


__all__ = ["ProjectArgs", "ProjectPlan", "ResolveError", "plan_and_lock"]
