"""From a plan to the ordered steps an install runs, each with its exact command.

Order matters, and each rule has a reason:

1. builds first (outside the transaction: a build writes only to the wheel cache, so a failed
   build leaves nothing to roll back, and the environment is locked for seconds, not minutes);
2. removals next: competing copies must be gone *before* the new package's files land, because
   opencv-python and opencv-python-headless share cv2/ and uninstalling one afterwards would
   delete the other's files;
3. the built wheels, forced in with `--force-reinstall --no-deps` (a CPU build of the same
   version must not count as "already satisfied"), after their declared dependencies;
4. the plan's other packages in the plan's order (face_recognition after the dlib it needs).
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from gpuready.install import knowledge
from gpuready.install.conflicts import Conflicts, Removal
from gpuready.install.envinfo import TargetEnv
from gpuready.install.executor import Command, Installer, NetOptions, requirements_of, split_pip_argv
from gpuready.install.knowledge import canonical
from gpuready.plan.model import PackagePlan, Plan
from gpuready.plan.requests import ALIASES


@dataclass
class Step:
    kind: str  # "build", "uninstall", "remove", "install"
    title: str
    package: str = ""
    command: Command | None = None
    removal: Removal | None = None
    pkg: PackagePlan | None = None

    def display(self) -> str:
        if self.command is not None:
            return self.command.display()
        if self.removal is not None:
            return "delete " + " ".join(self.removal.paths[:6]) + (f" ... ({len(self.removal.paths)} paths)" if len(self.removal.paths) > 6 else "")
        return self.title


def request_key(text: str) -> str:
    """The plan package a user's request names: "opencv-python-headless>=4" -> "opencv", "cv2" -> "opencv"."""
    name = canonical(re.split(r"[<>=!~\[; @]", text.strip(), maxsplit=1)[0])
    aliases = {canonical(k): v for k, v in ALIASES.items()}
    return canonical(aliases.get(name, name))


def select_packages(plan: Plan, requests: Sequence[str]) -> list[PackagePlan]:
    """The plan's packages that a request names, plus the ones added for them; all when no requests."""
    pkgs = [p for p in plan.packages if p.install]
    if not requests:
        return pkgs
    keys = {request_key(r) for r in requests}
    return [p for p in pkgs if request_key(p.name) in keys or canonical(p.dist) in keys or not p.requested]


def order_packages(pkgs: Sequence[PackagePlan]) -> list[PackagePlan]:
    return [p for p in pkgs if p.is_source] + [p for p in pkgs if not p.is_source]


def build_step(pkg: PackagePlan, cuda_archs: Sequence[str] | None = None, sdist: Path | None = None) -> Step:
    build = pkg.build or {}
    argv = ["gpuready", "build", pkg.name]
    if pkg.version:
        argv += ["--version", str(pkg.version)]
    archs = list(cuda_archs or build.get("cuda_arch_bin") or [])
    if archs:
        argv += ["--cuda-arch", ",".join(archs)]
    if "--cuda-major" in pkg.install[:-1]:  # the plan keeps this build on its shared CUDA major
        argv += ["--cuda-major", pkg.install[pkg.install.index("--cuda-major") + 1]]
    if sdist is not None:
        argv += ["--sdist", str(sdist)]
    return Step("build", f"build {pkg.dist_name} {pkg.version or ''}".strip(), pkg.name, Command(tuple(argv)), pkg=pkg)


def removal_steps(conflicts: Conflicts, installer: Installer) -> list[Step]:
    steps: list[Step] = []
    uninstall = [r for r in conflicts.removals if r.how == "uninstall"]
    if uninstall:
        names = [r.dist for r in uninstall]
        steps.append(Step("uninstall", f"remove competing {', '.join(names)}", names[0], installer.uninstall(names)))
    for r in conflicts.removals:
        if r.how == "files":
            steps.append(Step("remove", f"remove {r.describe()}", r.dist or r.subject, removal=r))
    return steps


def _marker_env(env: TargetEnv) -> dict[str, str]:
    system = env.platform.split("-")[0] if env.platform else ""
    sys_platform = {"win": "win32", "macosx": "darwin"}.get(system, system or "linux")
    machine = env.platform.rsplit("-", 1)[-1] if env.platform else ""
    machine = {"amd64": "AMD64"}.get(machine, machine)
    return {
        "python_version": ".".join(env.version.split(".")[:2]),
        "python_full_version": env.version,
        "implementation_name": env.implementation,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}.get(env.implementation, "CPython"),
        "sys_platform": sys_platform,
        "platform_system": {"linux": "Linux", "win32": "Windows", "darwin": "Darwin"}.get(sys_platform, sys_platform),
        "platform_machine": machine,
        "os_name": "nt" if sys_platform == "win32" else "posix",
        "extra": "",
    }


def wheel_requirements(wheel: Path, env: TargetEnv) -> list[str]:
    """A wheel's Requires-Dist that apply to the target (markers evaluated, extras left out)."""
    from packaging.requirements import InvalidRequirement, Requirement

    try:
        with zipfile.ZipFile(wheel) as zf:
            meta = next((n for n in zf.namelist() if n.endswith(".dist-info/METADATA") and n.count("/") == 1), None)
            text = zf.read(meta).decode("utf-8", errors="replace") if meta else ""
    except (OSError, zipfile.BadZipFile, KeyError):
        return []
    out = []
    menv = _marker_env(env)
    for line in text.splitlines():
        if not line.strip():
            break
        if not line.startswith("Requires-Dist:"):
            continue
        spec = line.split(":", 1)[1].strip()
        try:
            req = Requirement(spec)
        except InvalidRequirement:
            continue
        if req.marker is not None:
            try:
                if not req.marker.evaluate(menv):
                    continue
            except Exception:
                continue
        req.marker = None
        out.append(str(req))
    return out


def built_wheel_steps(pkg: PackagePlan, wheel: Path | None, env: TargetEnv, installer: Installer, net: NetOptions) -> list[Step]:
    """Install a built wheel: its dependencies (normal resolution), then the wheel itself, forced."""
    name = pkg.dist_name
    target = str(wheel) if wheel is not None else f"<the {name} wheel gpuready build makes>"
    steps: list[Step] = []
    deps = wheel_requirements(wheel, env) if wheel is not None else []
    if deps:
        steps.append(Step("install", f"dependencies of {name}", pkg.name, installer.install(deps, net), pkg=pkg))
    steps.append(Step("install", f"install the built {name} {pkg.version or ''}".strip(), pkg.name,
                      installer.install(["--force-reinstall", "--no-deps", target], net), pkg=pkg))
    return steps


def package_step(pkg: PackagePlan, installer: Installer, net: NetOptions) -> Step:
    """The plan's own command for a binary package, through uv or pip, with companions added."""
    verb, args = split_pip_argv(list(pkg.install))
    reqs = requirements_of(args)
    names = {canonical(re.split(r"[<>=!~\[; @]", r, maxsplit=1)[0]) for r in reqs}
    for extra in knowledge.companions_for(pkg.name):
        if canonical(re.split(r"[<>=!~\[; @]", extra, maxsplit=1)[0]) not in names:
            args = [*args, extra]
    if verb == "uninstall":
        return Step("uninstall", f"uninstall {' '.join(reqs)}", pkg.name, installer.uninstall([a for a in args if not a.startswith("-")]), pkg=pkg)
    label = pkg.label or f"{pkg.dist_name} {pkg.version or ''}".strip()
    return Step("install", f"install {label}", pkg.name, installer.install(args, net), pkg=pkg)
