"""Verify: put real work on the GPU through each framework and check it against the CPU.

A flag like `dlib.DLIB_USE_CUDA` or `torch.cuda.is_available()` is not proof: on the H100/H200
test machine a CUDA dlib reported True and then crashed on its first CNN forward pass. So
each framework runs a small real workload (children/wl_<name>.py) in its own child process,
in the interpreter being checked, after importing numpy and torch as real programs do, with
a timeout; a crash is reported as a crash (signal, last lines), a hang as a hang.

Frameworks are verified one after another, not in parallel: they share one GPU (memory, and
timings in `bench`), and a framework that wedges the driver must not take the others' verdicts
with it.

API: `verify(machine, ...)` -> [VerifyResult] (timings, numbers, device, for the command and the
install stage); `verify_findings(machine, ...)` -> [Finding] (for `doctor --verify`).
"""

from __future__ import annotations

import os
import sys
from typing import Callable, Iterable, Mapping

from gpuready import paths
from gpuready.findings import Finding
from gpuready.knowledge import frameworks
from gpuready.machine import Machine
from gpuready.plan.hint import gpu_install_hint
from gpuready.verify.hazards import hazards_for
from gpuready.verify.runner import run_child
from gpuready.verify.specs import PRELOAD, resolve, specs
from gpuready.verify.verdicts import Check, VerifyResult, judge, to_finding

__all__ = [
    "Check",
    "VerifyResult",
    "default_frameworks",
    "resolve",
    "verify",
    "verify_findings",
    "run_framework",
]


def default_frameworks(machine: Machine) -> list[str]:
    """The installed frameworks verify knows, in the probe's order."""
    known = specs()
    return [fw.name for fw in machine.frameworks if fw.name in known]


def preload_for(machine: Machine, preload: Iterable[str] | None = None) -> tuple[str, ...]:
    """numpy, and torch when it is installed and imports: what a real program has loaded already."""
    if preload is not None:
        return tuple(preload)
    out = []
    for mod in PRELOAD:
        if mod == "numpy":
            out.append(mod)
            continue
        fw = machine.framework(mod)
        if fw is not None and fw.status == "ok":
            out.append(mod)
    return tuple(out)


def model_dirs() -> list[str]:
    """Folders searched for dlib model files before face_recognition_models' copy."""
    return [str(d) for d in paths.model_dirs()]


def child_params(
    name: str,
    mode: str,
    machine: Machine,
    *,
    model: str | None = None,
    image: str | None = None,
    preload: Iterable[str] | None = None,
    quick: bool = False,
    timing: Mapping[str, float] | None = None,
    extra: Mapping[str, object] | None = None,
) -> dict:
    spec = specs()[name]
    params: dict = {"workload": frameworks.frameworks()[name].workload, "rtol": spec.rtol, "preload": list(preload_for(machine, preload)), "model_dirs": model_dirs()}
    if model:
        params["model"] = os.path.abspath(str(model))
    if image:
        params["image"] = os.path.abspath(str(image))
    if mode == "bench":
        params.update(spec.bench_quick if quick else spec.bench)
        params.update(timing or {})
    params.update(extra or {})
    return params


def run_framework(
    machine: Machine,
    name: str,
    mode: str = "verify",
    *,
    python: str | None = None,
    timeout: float = 120.0,
    model: str | None = None,
    image: str | None = None,
    preload: Iterable[str] | None = None,
    quick: bool = False,
    timing: Mapping[str, float] | None = None,
    env: Mapping[str, str] | None = None,
    extra: Mapping[str, object] | None = None,
) -> VerifyResult:
    """Run one framework's workload (verify or bench) in a child and judge the outcome."""
    python = python or machine.python.executable or sys.executable
    params = child_params(name, mode, machine, model=model, image=image, preload=preload, quick=quick, timing=timing, extra=extra)
    run = run_child(name, mode, params, python=python, timeout=timeout, env=env)
    fw = machine.framework(name)
    troubled = run.outcome in ("crashed", "no_result", "hung") or run.payload.get("status") in ("failed", "import_error", "wrong")
    hazards = hazards_for(machine, name) if troubled else []
    try:
        install = gpu_install_hint(machine, name)
    except Exception:
        install = ""
    result = judge(run, machine, display=frameworks.display(name), version=fw.version if fw else "", hazards=hazards, install=install)
    if not result.device and machine.gpus and result.status not in ("cpu_only", "not_installed"):
        gpu = machine.gpus[0]
        result = _with(result, device=f"{gpu.name} ({gpu.sm})" if gpu.sm else gpu.name)
    return result


def verify(
    machine: Machine,
    *,
    python: str | None = None,
    timeout: float = 120.0,
    only: tuple[str, ...] = (),
    model: str | None = None,
    image: str | None = None,
    preload: Iterable[str] | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[VerifyResult]:
    """Verify each framework of `only` (default: every installed one verify knows), one after another."""
    names = list(only) or default_frameworks(machine)
    results = []
    for name in names:
        if name not in specs():
            continue
        if progress is not None:
            progress(name)
        results.append(run_framework(machine, name, "verify", python=python, timeout=timeout, model=model, image=image, preload=preload))
    return results


def verify_findings(machine: Machine, *, python: str | None = None, timeout: float = 120, only: tuple[str, ...] = ()) -> list[Finding]:
    """One Finding per framework verified: "ok" when it works on the GPU, else the cause, evidence and fix."""
    return [to_finding(r, machine) for r in verify(machine, python=python, timeout=timeout, only=only)]


def _with(result: VerifyResult, **changes) -> VerifyResult:
    import dataclasses

    return dataclasses.replace(result, **changes)
