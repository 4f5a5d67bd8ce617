"""After the packages are in: which of them verify knows, running it, and whether that counts as a failure.

A GPU package that installs but does not work on the GPU is a failed install, not a success, so the
verdict is judged here from verify's findings (errors anywhere, a CPU-only build or a failed GPU check
of a package asked for the GPU).
"""

from __future__ import annotations

from collections.abc import Sequence

from gpuready.findings import Finding
from gpuready.install.conflicts import module_of
from gpuready.plan.model import PackagePlan
from gpuready.probe import probe_machine
from gpuready.verify import verify_findings
from gpuready.verify.specs import specs as verify_specs


def verify_names(pkgs: Sequence[PackagePlan]) -> list[str]:
    """Import names of the planned packages that verify knows (torch, dlib, cv2, face_recognition ...)."""
    out = []
    for p in pkgs:
        mod = module_of(p.dist_name)
        if mod in verify_specs() and mod not in out:
            out.append(mod)
    return out


def judge_verify(findings_by_name: dict[str, list[Finding]], gpu_names: set[str]) -> list[str]:
    """Why verify counts as failed: an error anywhere, or a GPU package that did not work on the GPU."""
    problems = []
    for name, findings in findings_by_name.items():
        for f in findings:
            status = f.details.get("verify_status", "")
            if f.severity == "error":
                problems.append(f"{f.subject}: {f.message}")
            elif name in gpu_names and f.label == "cpu_only_build":
                problems.append(f"{f.subject}: installed, but it does not use the GPU ({f.message})")
            elif name in gpu_names and status not in ("", "works", "unverified") and f.severity != "ok":
                problems.append(f"{f.subject}: {f.message}")
    return problems


def run_verify(target: str, names: Sequence[str], timeout: float) -> dict[str, list[Finding]]:
    """Re-probe the environment (the install changed it), then verify each name in its own child."""
    machine = probe_machine(target, only=tuple(names), timeout=timeout)
    return {name: list(verify_findings(machine, python=target, timeout=timeout, only=(name,))) for name in names}
