"""`gpuready plan`: which versions and builds of the requested packages will really use the GPU here.

Public API (other stages rely on it):
- `make_plan(machine, requests, *, index_url=None, mirror=None, index_config=None) -> Plan`
- `install_hint(machine, package) -> str`: one command line that gets a working GPU build, or "".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from gpuready.machine import Machine
    from gpuready.plan.model import Plan

__all__ = ["make_plan", "install_hint", "Plan"]


def make_plan(machine: "Machine", requests: list[str], **kwargs: Any) -> "Plan":
    from gpuready.plan.solve import make_plan as _make_plan

    return _make_plan(machine, requests, **kwargs)


def install_hint(machine: "Machine", package: str) -> str:
    from gpuready.plan.hint import install_hint as _install_hint

    return _install_hint(machine, package)


def __getattr__(name: str) -> Any:
    if name == "Plan":
        from gpuready.plan.model import Plan

        return Plan
    raise AttributeError(name)
