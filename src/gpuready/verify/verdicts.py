"""A child's outcome -> a verdict: works / CPU-only / broken, with the cause label, evidence and fix.

The child says what it measured; this module decides what it means for the user. The cause
of a failure comes from `gpuready.explain.top_label` on the child's own error text when that
stage is installed, from facts the child established (a CPU-only build, a missing sm_XY), or
from a native-extension hazard that explains a crash; "other" when nothing does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from gpuready.diagnosis import ShadowCause, hidden_cause, shadow_cause
from gpuready.findings import LABELS, Finding
from gpuready.machine import Machine
from gpuready.verify.runner import ChildRun

VERDICTS = {
    "works": "works",
    "cpu_only": "CPU-only",
    "unverified": "unverified",
    "not_installed": "not installed",
}  # everything else is "broken"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    seconds: float | None = None


@dataclass(frozen=True)
class VerifyResult:
    """What verify found for one framework: the verdict and what it is based on."""

    name: str  # import name
    display: str  # "PyTorch"
    version: str
    status: str  # works, cpu_only, no_gpu, failed, wrong, unverified, not_installed, import_error, crashed, hung, no_result
    label: str = ""
    message: str = ""
    evidence: tuple[str, ...] = ()
    fix: str = ""
    device: str = ""
    checks: tuple[Check, ...] = ()
    notes: tuple[str, ...] = ()
    signal: str = ""
    step: str = ""  # the step it was in when it crashed, hung or failed
    seconds: float = 0.0
    preloaded: tuple[str, ...] = ()
    rows: tuple[dict[str, Any], ...] = ()  # bench rows (bench mode)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == "works"

    @property
    def verdict(self) -> str:
        return VERDICTS.get(self.status, "broken")

    @property
    def subject(self) -> str:
        return f"{self.display} {self.version}".strip()

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["verdict"] = self.verdict
        d["evidence"] = list(self.evidence)
        d["checks"] = [asdict(c) for c in self.checks]
        d["notes"] = list(self.notes)
        d["preloaded"] = list(self.preloaded)
        d["rows"] = [dict(r) for r in self.rows]
        return d


def explain_label(text: str, machine: Machine) -> str:
    """The explain stage's cause for an error text; "" when it finds none (top_label never raises)."""
    from gpuready.explain import top_label

    label = top_label(text, machine)
    return label if label in LABELS else ""


def judge(run: ChildRun, machine: Machine, *, display: str, version: str = "", hazards=(), install: str = "") -> VerifyResult:
    """Turn one child's outcome into a VerifyResult."""
    from gpuready.verify.specs import fixes

    p = run.payload
    base = dict(
        name=run.name,
        display=display,
        version=str(p.get("version") or version),
        seconds=run.seconds,
        device=str(p.get("device") or ""),
        checks=tuple(Check(str(c.get("name", "")), bool(c.get("ok")), str(c.get("detail", "")), c.get("seconds")) for c in p.get("checks", []) if isinstance(c, dict)),
        notes=tuple(str(n) for n in p.get("notes", [])),
        preloaded=tuple(str(x) for x in p.get("preloaded", [])) or run.preloaded,
        rows=tuple(r for r in p.get("rows", []) if isinstance(r, dict)),
    )
    after = _after(base["preloaded"])
    hazard = hazards[0] if hazards else None
    subject = f"{display} {base['version']}".strip()

    if run.outcome == "not_started":
        return VerifyResult(status="no_result", label="env_mismatch", message=f"Could not start the interpreter to verify {subject}: {run.tail}",
                            fix="Check the --python path: it must be a Python interpreter that can run here.", **base)
    if run.outcome == "crashed":
        where = f" {'during' if run.in_step else 'after'} '{run.last_step}'" if run.last_step else ""
        msg = f"{subject} crashed with {run.signal}{where}{after}."
        label, fix, evidence = _cause(run.tail, machine, hazard, fixes(), install)
        if hazard is not None:
            msg += f" {hazard.message}"
        return VerifyResult(status="crashed", label=label, message=msg, evidence=evidence, fix=fix, signal=run.signal, step=run.last_step, **base)
    if run.outcome == "hung":
        where = f" in '{run.last_step}'" if run.last_step else ""
        msg = f"{subject} did not finish within {run.timeout:.0f} s{where}{after}: it hangs (killed)."
        label, fix, evidence = _cause(run.tail, machine, None, fixes(), install)
        return VerifyResult(status="hung", label=label, message=msg, evidence=evidence, fix=fix or "Run again with a longer --timeout; if it still hangs, see the evidence.", step=run.last_step, **base)
    if run.outcome == "no_result":
        msg = f"The {subject} check exited with status {run.returncode} without a result{after}" + (f" (last step: '{run.last_step}')" if run.last_step else "") + "."
        label, fix, evidence = _cause(run.tail, machine, hazard, fixes(), install)
        return VerifyResult(status="no_result", label=label, message=msg, evidence=evidence, fix=fix, step=run.last_step, **base)

    status = str(p.get("status"))
    message = str(p.get("message") or "")
    evidence = tuple(str(e) for e in p.get("evidence", []))
    error = str(p.get("error") or "")
    if run.signal:  # the verdict was printed, then the process died in its exit handlers
        base["notes"] = base["notes"] + (f"the check process crashed with {run.signal} while exiting, after its verdict",)
    if status == "works":
        return VerifyResult(status="works", message=message or _works_message(subject, base["checks"], base["device"]), evidence=evidence, **base)
    if status in ("cpu_only", "import_error"):
        # A CPU-only copy in front of the CUDA build on sys.path (of this framework, or of the one it reaches the GPU
        # through): the label and fix doctor gives (remove that copy), not "rebuild" for a build that is installed.
        shadow = shadow_cause(machine, run.name, measured_cpu=status == "cpu_only")
        if shadow is not None:
            return _shadowed(status, message, evidence, error, shadow, base)
    if status == "cpu_only":
        return VerifyResult(status="cpu_only", label="cpu_only_build", message=message, evidence=evidence, fix=install, **base)
    if status in ("not_installed", "unverified"):
        return VerifyResult(status=status, message=message, evidence=evidence, fix=install if status == "not_installed" else "", **base)
    text = "\n".join(x for x in (error, message, *evidence, run.tail) if x)
    hint = str(p.get("label") or "")
    label = hint if hint in LABELS else explain_label(text, machine)
    cause = hidden_cause(machine)
    if cause is not None and (status == "no_gpu" or (status == "failed" and not label) or label == "driver_missing"):
        # (an import that asks CUDA for a device fails too: face_recognition's "no CUDA-capable device is detected")
        # The GPU is hidden from this process (CUDA_VISIBLE_DEVICES, a container, device permissions, ...):
        # the same label and fix doctor gives, not "install the driver" for a driver that is fine.
        evidence = cause.evidence + evidence
        return VerifyResult(status=status, label=cause.label, message=f"{message} Cause: {cause.message}".strip(), evidence=evidence,
                            fix=cause.fix, step=str(p.get("step") or ""), **base)
    if not label and status == "no_gpu" and not machine.driver.present:
        label = "driver_missing"
    label, fix, ev_extra = _cause(text, machine, hazard, fixes(), install, preset=label)
    if status == "wrong":  # the failed comparisons are the evidence
        evidence = tuple(f"{c.name}: {c.detail}" for c in base["checks"] if not c.ok) + evidence
    if error and error not in evidence:
        evidence = (error.splitlines()[0][:400],) + evidence
    if hazard is not None and hazard.rule.label == label:
        message += f" {hazard.message}"
    step = str(p.get("step") or "")
    fix = str(p.get("fix") or "") or fix  # the child knows a more specific fix (a missing package)
    return VerifyResult(status=status, label=label or "other", message=message, evidence=evidence or ev_extra, fix=fix, step=step, **base)


def _shadowed(status: str, message: str, evidence: tuple[str, ...], error: str, shadow: ShadowCause, base: dict) -> VerifyResult:
    f = shadow.finding
    via = f"{base['display']} reaches the GPU through {shadow.owner}, and " if shadow.owner != base["name"] else ""
    measured = evidence + ((error.splitlines()[-1][:400],) if error and status == "import_error" else ())
    return VerifyResult(status=status, label=f.label, message=f"{message}{'' if not message or message.endswith('.') else '.'} Cause: {via}{f.message}".strip(), evidence=measured + f.evidence,
                        fix=f.fix, details={"shadowed": shadow.owner, "shadowing": f.details.get("shadowing", ""), "through": shadow.owner if via else ""}, **base)


def _after(preloaded: tuple[str, ...]) -> str:
    return f" (after importing {', '.join(preloaded)} first, as real programs do)" if preloaded else ""


def _works_message(subject: str, checks: tuple[Check, ...], device: str) -> str:
    done = ", ".join(c.name for c in checks) or "its checks"
    return f"{subject} works on {device or 'the GPU'}: {done}."


def _cause(text: str, machine: Machine, hazard, fix_rules, install: str, preset: str = "") -> tuple[str, str, tuple[str, ...]]:
    """(label, fix, evidence lines) for a failure whose output is `text`."""
    evidence = tuple(ln for ln in text.split("\n") if ln.strip())[-12:]
    if hazard is not None and not preset:
        return hazard.rule.label, hazard.fix, evidence + hazard.evidence
    label = preset or explain_label(text, machine) or "other"
    rule = fix_rules.get(label)
    if label in ("cpu_only_build", "arch_unsupported") and install:
        fix = rule.text.format(install=install) if rule else install
    elif rule is not None:
        fix = rule.text.format(install=install or "reinstall a GPU build")
    else:
        fix = "Run `gpuready explain` on the evidence, or report it with `gpuready doctor --markdown`."
    return label, fix, evidence


def to_finding(result: VerifyResult, machine: Machine) -> Finding:
    """The doctor form: subject starts with the display name, so `doctor --verify` can replace its static verdict."""
    gpu_here = machine.has_gpu
    details = {"verify_status": result.status, "device": result.device, "seconds": f"{result.seconds:.1f}"}
    if result.step:
        details["step"] = result.step
    if result.signal:
        details["signal"] = result.signal
    evidence = result.evidence + tuple(f"check: {'ok' if c.ok else 'FAILED'}: {c.name}" + (f" ({c.detail})" if c.detail else "") for c in result.checks if not c.ok)
    if result.status == "works":
        return Finding("", "ok", result.subject, result.message, evidence=tuple(f"{c.name}: {c.detail}" for c in result.checks), details=details)
    if result.status == "unverified":
        return Finding("", "info", result.subject, result.message, evidence=evidence, fix=result.fix, details=details)
    details.update(result.details)
    if result.label == "shadowed_install":  # the severity doctor's copies finding has
        return Finding(result.label, "error" if gpu_here else "warning", result.subject, result.message, evidence=evidence, fix=result.fix, details=details)
    if result.status == "cpu_only":
        return Finding("cpu_only_build", "warning" if gpu_here else "info", result.subject, result.message, evidence=evidence, fix=result.fix if gpu_here else "", details=details)
    if result.status == "not_installed":
        return Finding("", "error", result.subject, result.message, fix=result.fix, details=details)
    # No GPU here: a CUDA build that finds none is expected; anything that crashes, hangs or
    # computes wrong numbers is a problem wherever it runs.
    severity = "info" if result.status == "no_gpu" and not gpu_here else "error"
    return Finding(result.label or "other", severity, result.subject, result.message, evidence=evidence, fix=result.fix, details=details)
