"""`install_hint`: one concrete command line for doctor's "fix" column, with a short reason.

Doctor knows *that* torch is a CPU build or too new for the driver; the plan knows *which* build
fits. The hint is the plan for that one package, squeezed into one line: why (the binding limit,
with its number), the command, and the driver upgrade that would get the current release instead.
"""

from __future__ import annotations

import shlex

from gpuready.knowledge import frameworks
from gpuready.machine import Machine
from gpuready.plan import explain
from gpuready.indexconfig import portable, read_index_config, with_torch_mirror
from gpuready.plan.requests import ALIASES, RequestError, parse_requests
from gpuready.plan.candidates import candidates
from gpuready.plan.solve import is_this_machine, make_plan
from gpuready.plan.model import SourceContext
from gpuready.plan.target import target_from_machine


def _cmd(argv: tuple[str, ...] | list[str]) -> str:
    return shlex.join(list(argv))


def gpu_install_hint(machine: Machine, package: str) -> str:
    """The fix line doctor, verify and explain print: the plan's command (`install_hint`), else the framework
    registry's generic way to get a GPU build, else ""."""
    hint = install_hint(machine, package)
    if hint:
        return hint
    entry = frameworks.get(frameworks.resolve(package) or package)
    return with_torch_mirror(entry.gpu_install) if entry else ""  # the configured PyTorch mirror, if any


def install_hint(machine: Machine, package: str) -> str:
    """The plan for one package (an import or package name) squeezed into one line; "" when no plan gives it
    a GPU build."""
    fw = frameworks.get(package)
    name = (fw.package if fw else None) or ALIASES.get(package.lower().replace("_", "-")) or ALIASES.get(package.lower())
    if name is None:
        return ""
    try:
        reqs = parse_requests([package if package in ALIASES else name])
    except RequestError:
        return ""
    here = is_this_machine(machine)
    idx = read_index_config(prefix=(machine.python.prefix or None) if here else None)
    if not here:
        idx = portable(idx)
    plan = make_plan(machine, reqs, index_config=idx)
    if name == "theano":
        parts = [p for p in plan.packages if p.install]
        if not parts or not all(p.gpu for p in parts):
            return ""
        return ("Theano is unmaintained and its GPU backend is gone; use PyTensor with mode='JAX': "
                + " && ".join(_cmd(p.install) for p in parts))
    main = plan.package(name)
    if main is None or not main.gpu or not main.install:
        return ""
    steps = [p for p in plan.packages if p.install and p.name != name and not p.requested]
    steps = [p for p in steps if p.gpu or p.name == "dlib"] + [main]
    if name == "face_recognition":
        steps = [p for p in plan.packages if p.install]
    cmd = " && ".join(_cmd(p.install) for p in steps)
    pre = ""
    if main.conflicts:
        pre = _cmd(["pip", "uninstall", "-y", *main.conflicts]) + " && "
    t = target_from_machine(machine)
    why, upgrade = _why(machine, reqs, name, main.version or "", t)
    if main.variant == "source" and not why:
        b = main.build or {}
        arch = ";".join(b.get("cuda_arch_bin") or [])
        why = (f"no CUDA wheels of {name} exist: a source build"
               + (f" with CUDA {b.get('cuda_version')}" if b.get("cuda_version") else "") + (f" for {arch}" if arch else ""))
    text = f"{why}: {pre}{cmd}" if why else f"{pre}{cmd}"
    if main.requires:
        text += f" (needs system {', '.join(f'{k} {v}' for k, v in main.requires.items())})"
    if upgrade:
        text += f" (or {upgrade})"
    return text


def _why(machine: Machine, reqs, name: str, version: str, t) -> tuple[str, str]:
    """(the binding limit in a few words, the driver upgrade that would get a newer build)."""
    req = next((r for r in reqs if r.name == name), None)
    if req is None or not t.driver:
        return "", ""
    try:
        c = candidates(req, t, SourceContext())
    except Exception:  # a hint must never fail doctor
        return "", ""
    chosen = [v for v in c.gpu() if v.ok and v.build.version == version]
    newer = [v for v in c.gpu() if chosen and v.build.key > chosen[0].build.key]
    kinds = {p.kind for v in newer for p in v.problems}
    why = ""
    if kinds & {"driver", "ptx_driver"}:
        why = f"driver {t.driver} runs CUDA <= {t.driver_cuda or '?'} builds"
    elif "arch" in kinds:
        why = f"newer builds have no code for {', '.join(g.describe() for g in t.gpus if g.cc)}"
    elif "python" in kinds:
        why = f"newer releases have no wheels for Python {t.python_minor}"
    drivers = [f for f in explain.fixes_for(name, newer, t) if f.kind == "driver"]
    upgrade = f"upgrade the driver to >= {drivers[0].change.rsplit('>= ', 1)[-1]} for {drivers[0].gets}" if drivers and ">=" in drivers[0].change else ""
    return why, upgrade
