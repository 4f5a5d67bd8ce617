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


def env_problems() -> list[str]:
    """What is wrong with the folders the environment variables name: a file where a folder must be.

    Checked once at start-up (cli.run), so a GPUREADY_HOME pointing at a file is one clear error,
    not a log path printed that can never exist and a cache that silently holds nothing."""
    problems = []
    for var in (ENV_HOME, ENV_WHEELS, ENV_TOOLKITS, ENV_MODELS, ENV_CONFIG):
        value = os.environ.get(var)
        if not value:
            continue
        path = Path(value).expanduser()
        # the nearest existing folder or file along it
        probe = path
        while not probe.exists() and probe.parent != probe:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            where = "is a file" if probe == path else f"is below a file ({probe})"
            problems.append(f"{var}={value} {where}, not a folder: point it at a folder (or unset it)")
    return problems


def writable_dir_problem(path: Path) -> str:
    """Why files cannot be made in folder `path` (made first if missing), or "" when they can.

    Asked before long work whose result lands there (a download folder, a plot), so that the work is
    not done for nothing. Creating a file is the only real test (root, ACLs, read-only mounts)."""
    import tempfile

    try:
        path.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        return f"{path}: not a folder"
    except OSError as exc:
        return f"{path}: cannot create this folder ({exc.strerror or exc})"
    if not path.is_dir():
        return f"{path}: not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".gpuready-write-test-"):
            pass
    except OSError as exc:
        return f"{path}: cannot write in this folder ({exc.strerror or exc})"
    return ""


def writable_file_problem(path: Path) -> str:
    """Why `path` cannot be written (its folder must exist), or "" when it can; the file is left as it was."""
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        return f"{path}: is a folder"
    if not folder.is_dir():
        return f"{folder}: no such folder"
    existed = path.exists()
    try:
        with open(path, "ab"):
            pass
    except OSError as exc:
        return f"{path}: cannot write this file ({exc.strerror or exc})"
    if not existed:
        try:
            path.unlink()
        except OSError:
            pass
    return ""
