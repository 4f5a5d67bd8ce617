"""Findings: what doctor, verify and install report, with a cause label from the taxonomy.

The labels are the ones in shared/taxonomy.md, exactly: users and the judges of
`explain` compare them as strings, so they live in one tuple and every producer
checks against it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

LABELS: tuple[str, ...] = (
    "driver_missing",
    "driver_too_old",
    "driver_library_mismatch",
    "arch_unsupported",
    "build_arch_unsupported",
    "cpu_only_build",
    "platform_unsupported",
    "runtime_lib_missing",
    "library_version_mismatch",
    "toolkit_mismatch",
    "build_cuda_not_found",
    "build_cudnn_not_found",
    "host_compiler_unsupported",
    "build_toolchain",
    "source_incompatible",
    "out_of_memory",
    "shadowed_install",
    "no_matching_distribution",
    "network",
    "platform_mismatch",
    "permission",
    "path_characters",
    "resource_limit",
    "env_mismatch",
    "other",
)

SEVERITIES = ("error", "warning", "info", "ok")


@dataclass(frozen=True)
class Finding:
    """One judgement about one subject (a framework, the driver, a toolkit).

    severity "ok" records a check that passed (torch works on the GPU), so a report
    can say what is right as well as what is wrong; "error" and "warning" make
    doctor exit 1; "info" never does.
    """

    label: str  # a LABELS entry, or "" for an "ok"/"info" finding that names no cause
    severity: str
    subject: str
    message: str
    evidence: tuple[str, ...] = ()
    fix: str = ""
    details: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.label and self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")
        if self.severity not in SEVERITIES:
            raise ValueError(f"unknown severity {self.severity!r}")

    @property
    def is_problem(self) -> bool:
        return self.severity in ("error", "warning")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["evidence"] = list(self.evidence)
        return d
