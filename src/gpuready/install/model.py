"""What `gpuready install` is given and what it hands back: options, the report, the UI it talks through.

Kept apart from the flow (install/flow.py) so that the command (terminal or JSON UI), the renderer
(install/render.py) and the download command share these types without importing the whole install.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from gpuready.install.conflicts import Conflicts
from gpuready.install.executor import NetOptions
from gpuready.install.progress import ProgressView
from gpuready.install.steps import Step
from gpuready.plan.model import Plan


class InstallError(RuntimeError):
    """Bad input that stops an install before anything runs (exit 2)."""


@dataclass
class InstallOptions:
    python: str | None = None
    venv: Path | None = None
    dry_run: bool = False
    yes: bool = False
    offline: Path | None = None
    plan_file: Path | None = None
    lock: Any = None  # a gpuready.install.lock.LockFile: install exactly its files (install --lock, install -r)
    project: Any = None  # a gpuready.install.project.ProjectArgs: -r FILE / --project DIR, planned and resolved here
    machine_file: Path | None = None
    net: NetOptions = field(default_factory=NetOptions)
    installer: str = "auto"
    verify: bool = True
    keep_on_verify_failure: bool = False
    cuda_archs: tuple[str, ...] = ()
    jobs: int | None = None
    use_cache: bool = True
    timeout: float = 120.0
    progress: bool = True


@dataclass
class InstallReport:
    status: str = "planned"  # dry-run, installed, failed, rolled-back, verify-failed, blocked, interrupted, refused
    target: str = ""
    installer: str = ""
    log: str = ""
    plan: Plan | None = None
    packages: list[str] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    builds: list[dict] = field(default_factory=list)
    removals: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    rollback: dict | None = None
    verify: list[dict] = field(default_factory=list)
    causes: list[dict] = field(default_factory=list)
    hints: list[str] = field(default_factory=list)
    failed_step: str = ""
    error: str = ""
    snapshot: dict = field(default_factory=dict)
    seconds: float = 0.0
    recovered: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in ("installed", "dry-run", "nothing")

    def to_dict(self) -> dict:
        d = dict(self.__dict__)
        d["ok"] = self.ok
        d["plan"] = self.plan.to_dict() if self.plan is not None else {}
        d["changes"] = [{"name": n, "before": a, "after": b} for n, a, b in self.changes]
        return d


class UI(Protocol):
    def show_plan(self, report: InstallReport, steps: Sequence[Step], conflicts: Conflicts) -> None: ...
    def confirm(self, question: str) -> bool: ...
    def message(self, text: str) -> None: ...
    def view(self) -> ProgressView: ...
