"""gpuready's own persistent settings: a small TOML file in the user's config folder.

Today it holds one thing people behind slow networks set once and forget: the PyTorch wheel index
mirror (`gpuready config set torch-mirror URL`). The file lives in platformdirs' user config folder
(~/.config/gpuready/config.toml, %APPDATA%\\gpuready\\config.toml, ~/Library/Application Support/
gpuready/config.toml), or in GPUREADY_CONFIG_DIR when that is set (tests, shared lab setups).
An environment variable overrides the file for one shell: GPUREADY_TORCH_MIRROR.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

FILE_NAME = "config.toml"


class SettingsError(ValueError):
    """A bad key or value (`usage`), or a settings file gpuready cannot read or write (a message, never a traceback)."""

    def __init__(self, message: str, *, usage: bool = False) -> None:
        super().__init__(message)
        self.usage = usage


def _url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^(https?|file)://[^\s/]+\S*$", value):
        raise SettingsError(f"{value!r} is not an http(s):// or file:// URL", usage=True)
    return value


@dataclass(frozen=True)
class Key:
    name: str
    env: str
    check: Callable[[str], str]
    help: str


KEYS: dict[str, Key] = {
    "torch-mirror": Key(
        "torch-mirror", "GPUREADY_TORCH_MIRROR", _url,
        "Mirror of the PyTorch wheel index: a copy of https://download.pytorch.org/whl (index style, "
        "`<URL>/cu128` is an index) or one find-links page (`.../torch_stable.html`).",
    ),
}


def config_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    override = env.get("GPUREADY_CONFIG_DIR") or os.environ.get("GPUREADY_CONFIG_DIR")
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("gpuready", appauthor=False))


def settings_file(env: Mapping[str, str] | None = None) -> Path:
    return config_dir(env) / FILE_NAME


def _key(name: str) -> Key:
    key = KEYS.get(name.strip().lower().replace("_", "-"))
    if key is None:
        raise SettingsError(f"unknown setting {name!r} (known: {', '.join(KEYS)})", usage=True)
    return key


def load(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The settings file's values (empty when there is none). Raises SettingsError when unreadable."""
    path = settings_file(env)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML ({exc}); fix or delete it") from None
    return {k: v for k, v in data.items() if isinstance(v, str)}


def get(name: str, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """(value, where it came from) of one setting: its environment variable, else the file; ("", "")."""
    env = os.environ if env is None else env
    key = _key(name)
    if env.get(key.env):
        return env[key.env].strip(), key.env
    try:
        value = load(env).get(key.name, "")
    except SettingsError:
        return "", ""
    return (value, str(settings_file(env))) if value else ("", "")


def _write(values: dict[str, str], env: Mapping[str, str] | None) -> Path:
    path = settings_file(env)
    lines = ["# gpuready settings: `gpuready config set|get|unset KEY`", ""]
    lines += [f"{k} = {json.dumps(v)}" for k, v in sorted(values.items())]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".config-", suffix=".toml", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, path)
    except OSError as exc:
        raise SettingsError(f"cannot write {path}: {exc.strerror or exc}") from None
    return path


def set_value(name: str, value: str, env: Mapping[str, str] | None = None) -> Path:
    key = _key(name)
    values = load(env)
    values[key.name] = key.check(value)
    return _write(values, env)


def unset(name: str, env: Mapping[str, str] | None = None) -> tuple[Path, bool]:
    """(file, whether the key was there)."""
    key = _key(name)
    values = load(env)
    had = values.pop(key.name, None) is not None
    path = _write(values, env) if had else settings_file(env)
    return path, had
