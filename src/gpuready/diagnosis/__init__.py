"""Judgements that more than one command makes (doctor and verify), so each fact gets one label and one fix.

This package imports only the Machine, the findings and the knowledge data: verify may not import
doctor, doctor imports verify, and both import this.
"""

from gpuready.diagnosis.copies import ShadowCause, shadow_cause, shadow_finding
from gpuready.diagnosis.visibility import gpu_unreachable, hidden_cause, visible_gpus

__all__ = ["ShadowCause", "gpu_unreachable", "hidden_cause", "shadow_cause", "shadow_finding", "visible_gpus"]
