"""What explain returns: causes, each with its evidence lines. The contract other stages use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gpuready.findings import LABELS


@dataclass(frozen=True)
class Evidence:
    line: int  # 1-based line number in the log
    text: str  # the line, stripped (and cut to a few hundred characters)
    file: str = ""  # which input, when several files were explained together

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"line": self.line, "text": self.text}
        if self.file:
            d["file"] = self.file
        return d


@dataclass(frozen=True)
class Cause:
    label: str  # one of gpuready.findings.LABELS
    confidence: float  # 0..1
    evidence: tuple[Evidence, ...]
    explanation: str
    fix: str
    signature: str = field(default="", compare=False)  # the rule that found it (for bug reports)
    source: str = field(default="", compare=False)  # where that rule's message is documented
    uses_machine: bool = field(default=False, compare=False)  # the fix was made concrete with machine facts

    def __post_init__(self) -> None:
        if self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")
        if not 0.0 <= self.confidence <= 1.0:
            raise ValueError(f"confidence {self.confidence} is not in 0..1")

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: {"label", "confidence", "evidence": [{"line", "text"}], "explanation", "fix"}."""
        return {
            "label": self.label,
            "confidence": self.confidence,
            "evidence": [e.to_dict() for e in self.evidence],
            "explanation": self.explanation,
            "fix": self.fix,
        }
