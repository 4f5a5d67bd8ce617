"""Moved to gpuready.elf (the bottom layer), so that the probe can read ELF files too; kept for old imports."""

from gpuready.elf import *  # noqa: F401,F403
from gpuready.elf import ElfInfo, glibcxx_versions, read_elf, version_name  # noqa: F401
