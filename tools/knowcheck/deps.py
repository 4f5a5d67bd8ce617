"""The dependencies that make or break a pin: what an extra pulls in (`jax[cuda13]` -> jax-cuda13-plugin) and
the exact pins a wheel carries (`jax` -> jaxlib==V, torch -> nvidia-cudnn-cu13==9.24.0.43).

A pure-Python `jax` wheel installs anywhere; whether `jax[cuda13]==0.7.0` installs depends on
jax-cuda13-plugin 0.7.0 existing for that Python and CPU. Loose dependencies (`numpy`, `sympy>=1.13`) are
left to the resolver test (tests/test_plans_resolve.py): they never make a pin impossible.
"""

from __future__ import annotations

from packaging.markers import Marker
from packaging.requirements import InvalidRequirement, Requirement

PLATFORM = {
    "linux": ("linux", "Linux", "posix"),
    "windows": ("win32", "Windows", "nt"),
    "macos": ("darwin", "Darwin", "posix"),
}
MACHINE = {("windows", "x86_64"): "AMD64", ("windows", "arm64"): "ARM64"}


def environment(python: str, os_name: str, arch: str, extra: str = "") -> dict[str, str]:
    sys_platform, system, os_kind = PLATFORM[os_name]
    return {
        "python_version": python,
        "python_full_version": f"{python}.0",
        "sys_platform": sys_platform,
        "platform_system": system,
        "os_name": os_kind,
        "platform_machine": MACHINE.get((os_name, arch), arch),
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_version": "",
        "implementation_version": f"{python}.0",
        "extra": extra,
    }


def _tight(req: Requirement) -> bool:
    return any(s.operator in ("==", "===", "~=", "<=") for s in req.specifier)


def relevant(requires_dist: list[str], extras: tuple[str, ...], python: str, os_name: str, arch: str) -> list[Requirement]:
    """The requirements that apply on this target: every extra's, and the tightly pinned unconditional ones."""
    out: list[Requirement] = []
    for line in requires_dist:
        try:
            req = Requirement(line)
        except InvalidRequirement:
            continue
        marker: Marker | None = req.marker
        if marker is not None and "extra" in str(marker):
            if any(marker.evaluate(environment(python, os_name, arch, e)) for e in extras):
                out.append(req)
            continue
        if marker is not None and not marker.evaluate(environment(python, os_name, arch)):
            continue
        if _tight(req):
            out.append(req)
    return out
