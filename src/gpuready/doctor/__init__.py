"""Doctor: probe, then judge each framework and the CUDA stack (see checks.py)."""

from gpuready.doctor.checks import diagnose

__all__ = ["diagnose"]
