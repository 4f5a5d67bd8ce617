"""Where packages come from: pip's, uv's and conda's index settings read exactly as those tools read
them, plus gpuready's own PyTorch mirror setting.

One module so that plan, install, download, doctor and explain name the same indexes the installer
would use by itself (tests/test_indexconfig_real.py compares it with the real pip and uv):

- `read_index_config(...) -> IndexConfig`: the effective indexes, find-links, trusted hosts and PyTorch
  index for installing here;
- `pipconfig.read_pip_settings`, `uvconfig.read_uv_settings`, `condarc.read_conda_channels`: each
  tool's settings with where every value came from;
- `settings`: the `gpuready config` file (torch-mirror);
- `with_torch_mirror(text)`: a fix line with download.pytorch.org replaced by the configured mirror.
"""

from gpuready.indexconfig.effective import (
    PYPI, PYTORCH, IndexConfig, configured_torch_mirror, portable, read_index_config, torch_index, uv_available,
    with_torch_mirror,
)
from gpuready.indexconfig.hosts import insecure_host, trusted_host_args
from gpuready.indexconfig.pytorch import TorchIndex

__all__ = ["IndexConfig", "PYPI", "PYTORCH", "TorchIndex", "configured_torch_mirror", "insecure_host", "portable",
           "read_index_config", "torch_index", "trusted_host_args", "uv_available", "with_torch_mirror"]
