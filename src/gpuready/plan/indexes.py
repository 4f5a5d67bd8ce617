"""The user's package indexes, for the plan: see gpuready.indexconfig (the one module that reads
pip's, uv's and gpuready's own settings). Kept so `from gpuready.plan.indexes import ...` works."""

from gpuready.indexconfig import PYPI, PYTORCH, IndexConfig, portable, read_index_config

__all__ = ["IndexConfig", "PYPI", "PYTORCH", "portable", "read_index_config"]
