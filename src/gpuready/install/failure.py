"""Why an install step failed, as the report says it: causes from `gpuready explain`, network trouble first.

A failed pip/uv/build step's captured output is explained (taxonomy labels, evidence, a fix for this
machine); when the output shows the index was slow or unreachable, that is the cause to fix first, with
a hint for a mirror or for installing offline.
"""

from __future__ import annotations

from gpuready.explain import Cause, explain_text
from gpuready.install import knowledge
from gpuready.machine import Machine


def explain_output(text: str, machine: Machine | None, stage: str, package: str | None = None) -> list[dict]:
    """Causes for a failed step's output, through gpuready explain."""
    causes = explain_text(text, machine=machine, stage=stage, package=package)
    return [_cause_dict(c) for c in causes[:3]]


def network_trouble(text: str) -> list[str]:
    """Lines of output that show the index was slow or unreachable (data: install.toml network_signature)."""
    hits = []
    for line in text.splitlines():
        if any(sig.pattern in line for sig in knowledge.network_signatures()):
            hits.append(line.strip()[:200])
    return hits[:3]


def network_first(causes: list[dict], output: str) -> list[dict]:
    """When the output shows network trouble, that is the cause to fix first: "no matching distribution"
    after a timeout only means the index could not be read."""
    lines = network_trouble(output)
    net = [c for c in causes if c["label"] == "network"]
    if not net and not lines:
        return causes
    if not net:
        net = [{"label": "network", "explanation": "the package index could not be reached (timeouts or refused connections)",
                "evidence": lines, "fix": "check the connection or proxy settings, or use a mirror (see the hint)"}]
    return net + [c for c in causes if c["label"] != "network"]


def mirror_hint(slow: str = "") -> str:
    why = f"the package index is slow ({slow})" if slow else "the package index is slow or unreachable"
    return (
        f"{why}. Use a closer mirror: `--index-url URL` (or PIP_INDEX_URL / `pip config set global.index-url URL`; "
        "UV_DEFAULT_INDEX for uv) for PyPI, and `--mirror URL` (or once for good: `gpuready config set torch-mirror URL`) "
        "for the PyTorch wheel index (download.pytorch.org/whl). "
        "With no network at all: `gpuready download PKG... --machine FILE -d DIR` on a machine that has it, then "
        "`gpuready install --offline DIR PKG...` here."
    )


def _cause_dict(cause: Cause) -> dict:
    """An explain Cause as the install report's JSON carries it (three evidence lines at most)."""
    return {"label": cause.label, "explanation": cause.explanation, "evidence": [e.text for e in cause.evidence][:3],
            "fix": cause.fix}
