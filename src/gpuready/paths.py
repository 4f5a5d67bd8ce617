"""Where gpuready keeps things on disk: wheels, toolkits, sources, logs, models, settings.

One module, on platformdirs, so every stage agrees (the wheel cache a build fills is the one
install reads and `cache serve` publishes). The wheel cache is a flat folder (pip and uv read it
with --find-links), so everything else lives beside it, never inside it. Each folder can be moved by
an environment variable: a lab points every machine at one shared wheel folder, CI at a temp dir.
"""

from __future__ import annotations

import os
from pathlib import Path

from platformdirs import user_cache_dir, user_config_dir

ENV_WHEELS = "GPUREADY_CACHE_DIR"
ENV_TOOLKITS = "GPUREADY_TOOLKIT_DIR"
ENV_HOME = "GPUREADY_HOME"  # base for toolkits, sources and logs (default: the user cache dir)
ENV_MODELS = "GPUREADY_MODEL_DIR"
ENV_CONFIG = "GPUREADY_CONFIG_DIR"


def base_dir() -> Path:
    """gpuready's user cache folder (platformdirs), or $GPUREADY_HOME."""
    if os.environ.get(ENV_HOME):
        return Path(os.environ[ENV_HOME]).expanduser()
    return Path(user_cache_dir("gpuready", appauthor=False))


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


def model_dirs() -> list[Path]:
    """Folders searched for model files (dlib's), before a package's own copy: $GPUREADY_MODEL_DIR, then
    <user cache>/gpuready/models."""
    dirs = [Path(os.environ[ENV_MODELS]).expanduser()] if os.environ.get(ENV_MODELS) else []
    return dirs + [base_dir() / "models"]


def config_dir() -> Path:
    """gpuready's settings folder: $GPUREADY_CONFIG_DIR, else the user config dir (platformdirs)."""
    if os.environ.get(ENV_CONFIG):
        return Path(os.environ[ENV_CONFIG]).expanduser()
    return Path(user_config_dir("gpuready", appauthor=False))
