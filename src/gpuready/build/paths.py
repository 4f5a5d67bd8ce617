"""Where the build stage keeps things: wheels, toolkits, sources, logs.

The wheel cache is a flat folder (pip and uv read it with --find-links), so everything else a
build leaves behind lives beside it, never inside it. Each folder can be moved by an environment
variable, so a lab can point every machine at one shared wheel folder, and CI at a temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_WHEELS = "GPUREADY_CACHE_DIR"
ENV_TOOLKITS = "GPUREADY_TOOLKIT_DIR"
ENV_HOME = "GPUREADY_HOME"  # base for toolkits, sources and logs (default: the user cache dir)


def base_dir() -> Path:
    """gpuready's user cache folder (platformdirs), or $GPUREADY_HOME."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    try:
        from platformdirs import user_cache_dir

        return Path(user_cache_dir("gpuready", appauthor=False))
    except ImportError:  # platformdirs is a dependency; this keeps a bare interpreter working
        return Path.home() / ".cache" / "gpuready"


def wheels_dir() -> Path:
    """The wheel cache: $GPUREADY_CACHE_DIR, else <user cache>/gpuready/wheels."""
    if os.environ.get(ENV_WHEELS):
        return Path(os.environ[ENV_WHEELS]).expanduser()
    return base_dir() / "wheels"


def toolkits_dir() -> Path:
    if os.environ.get(ENV_TOOLKITS):
        return Path(os.environ[ENV_TOOLKITS]).expanduser()
    return base_dir() / "toolkits"


def sources_dir() -> Path:
    return base_dir() / "sources"


def logs_dir() -> Path:
    return base_dir() / "logs"


def work_dir() -> Path:
    return base_dir() / "work"
