"""conda's channels and mirrors, read from the .condarc files the way conda reads them.

From conda's source (conda/base/constants.py SEARCH_PATH, conda/common/configuration.py, conda
main of 2026-08-21): files are read in SEARCH_PATH order -- /etc/conda, /var/lib/conda, $CONDA_ROOT,
$XDG_CONFIG_HOME/conda, ~/.config/conda, ~/.conda, ~/.condarc, $CONDA_PREFIX, then $CONDARC -- each
place as `.condarc`, `condarc` and the `*.yml`/`*.yaml` files of `condarc.d/`; CONDA_<KEY>
variables come last. A later source wins a single value (`channel_alias`); lists (`channels`,
`default_channels`) are joined with the later source's entries first, without repeats; maps
(`custom_channels`) are merged key by key; a key marked `#!final` stops later sources.

`defaults` expands to `default_channels` (repo.anaconda.com's main and r, plus msys2 on Windows);
a bare channel name is `custom_channels[name]/name` or `channel_alias/name`
(https://conda.anaconda.org by default). Labs in China set these to a mirror such as
https://mirrors.tuna.tsinghua.edu.cn/anaconda.

Only the YAML that .condarc files use is understood (a mapping of scalars, lists and one level of
mappings, block or flow style); nothing here imports a YAML library.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

DEFAULT_ALIAS = "https://conda.anaconda.org"
DEFAULT_CHANNELS_UNIX = ("https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r")
DEFAULT_CHANNELS_WIN = (*DEFAULT_CHANNELS_UNIX, "https://repo.anaconda.com/pkgs/msys2")
_KEYS = ("channels", "default_channels", "custom_channels", "channel_alias")


@dataclass(frozen=True)
class CondaChannels:
    channels: tuple[tuple[str, str], ...] = ()  # (as configured, URL it resolves to), in priority order
    channel_alias: str = DEFAULT_ALIAS
    files: tuple[str, ...] = ()  # the files that set any of these keys
    errors: tuple[str, ...] = ()

    @property
    def mirrored(self) -> bool:
        """Does any channel come from somewhere other than Anaconda's own servers?"""
        return any(not url.startswith(("https://repo.anaconda.com", DEFAULT_ALIAS)) for _, url in self.channels)


def _scalar(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _strip_comment(line: str) -> str:
    quote = ""
    for i, ch in enumerate(line):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def parse_condarc(text: str) -> tuple[dict[str, object], set[str]]:
    """(values of the keys gpuready uses, keys marked #!final) from one .condarc text."""
    values: dict[str, object] = {}
    final: set[str] = set()
    current = ""
    for raw in text.splitlines():
        if raw.strip().startswith("#") or not raw.strip():
            continue
        marker = "#!final" in raw
        line = _strip_comment(raw)
        if not line.strip():
            continue
        if not line[0].isspace() and not line.startswith("-"):
            key, _, rest = line.partition(":")
            current = key.strip()
            if marker:
                final.add(current)
            rest = rest.strip()
            if rest.startswith("[") and rest.endswith("]"):
                values[current] = [_scalar(v) for v in rest[1:-1].split(",") if v.strip()]
            elif rest.startswith("{") and rest.endswith("}"):
                values[current] = {_scalar(k): _scalar(v) for k, _, v in
                                   (item.partition(":") for item in rest[1:-1].split(",") if item.strip())}
            elif rest:
                values[current] = _scalar(rest)
            continue
        item = line.strip()
        if item.startswith("- "):
            lst = values.setdefault(current, [])
            if isinstance(lst, list):
                lst.append(_scalar(item[2:]))
        elif ":" in item:
            k, _, v = item.partition(":")
            mapping = values.setdefault(current, {})
            if isinstance(mapping, dict):
                mapping[_scalar(k)] = _scalar(v)
    return {k: v for k, v in values.items() if k in _KEYS}, final


def search_path(env: Mapping[str, str], platform: str = sys.platform) -> list[Path]:
    home = Path(env.get("USERPROFILE") if platform == "win32" and env.get("USERPROFILE") else env.get("HOME") or Path.home())
    conda_root = env.get("CONDA_ROOT") or (str(Path(env["CONDA_EXE"]).parent.parent) if env.get("CONDA_EXE") else "")
    places: list[str] = ["C:/ProgramData/conda"] if platform == "win32" else ["/etc/conda", "/var/lib/conda"]
    if conda_root:
        places.append(conda_root)
    if env.get("XDG_CONFIG_HOME"):
        places.append(os.path.join(env["XDG_CONFIG_HOME"], "conda"))
    places += [str(home / ".config" / "conda"), str(home / ".conda")]
    out: list[Path] = []
    for place in places:
        out += [Path(place) / ".condarc", Path(place) / "condarc"]
        d = Path(place) / "condarc.d"
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.suffix in (".yml", ".yaml"))
        if place == str(home / ".conda"):
            out.append(home / ".condarc")
    if env.get("CONDA_PREFIX"):
        prefix = Path(env["CONDA_PREFIX"])
        out += [prefix / ".condarc", prefix / "condarc"]
        d = prefix / "condarc.d"
        if d.is_dir():
            out += sorted(p for p in d.iterdir() if p.suffix in (".yml", ".yaml"))
    if env.get("CONDARC"):
        out.append(Path(env["CONDARC"]))
    return out


def _resolve(name: str, alias: str, custom: Mapping[str, str]) -> str:
    if "://" in name or name.startswith(("/", "file:")):
        return name.rstrip("/")
    for key in sorted(custom, key=len, reverse=True):
        if name == key or name.startswith(key + "/"):
            return f"{custom[key].rstrip('/')}/{name}"
    return f"{alias.rstrip('/')}/{name}"


def read_conda_channels(env: Mapping[str, str] | None = None, *, platform: str = sys.platform) -> CondaChannels:
    env = os.environ if env is None else env
    sources: list[tuple[str, dict[str, object], set[str]]] = []
    errors: list[str] = []
    seen: set[str] = set()
    for path in search_path(env, platform):
        key = os.path.abspath(path)
        if key in seen or not path.is_file():
            continue
        seen.add(key)
        try:
            values, final = parse_condarc(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            errors.append(f"{path}: {exc}")
            continue
        if values:
            sources.append((str(path), values, final))
    env_values: dict[str, object] = {}
    for k in ("channels", "default_channels"):
        if env.get(f"CONDA_{k.upper()}"):
            env_values[k] = [v.strip() for v in env[f"CONDA_{k.upper()}"].split(",") if v.strip()]
    if env.get("CONDA_CHANNEL_ALIAS"):
        env_values["channel_alias"] = env["CONDA_CHANNEL_ALIAS"]
    if env_values:
        sources.append(("environment", env_values, set()))

    def merged(key: str) -> list:
        relevant = []
        for _, values, final in sources:
            if key in values:
                relevant.append(values[key])
                if key in final:
                    break
        return relevant

    alias = next((str(v) for v in reversed(merged("channel_alias")) if isinstance(v, str) and v), DEFAULT_ALIAS)
    custom: dict[str, str] = {}
    for v in merged("custom_channels"):
        if isinstance(v, dict):
            custom.update({str(k): str(u) for k, u in v.items()})

    def joined(key: str) -> list[str]:
        out: list[str] = []
        for v in reversed(merged(key)):
            for item in v if isinstance(v, list) else []:
                if item not in out:
                    out.append(item)
        return out

    defaults = joined("default_channels") or list(DEFAULT_CHANNELS_WIN if platform == "win32" else DEFAULT_CHANNELS_UNIX)
    channels: list[tuple[str, str]] = []
    for name in joined("channels") or ["defaults"]:
        if name == "defaults":
            channels += [(name, _resolve(d, alias, custom)) for d in defaults]
        else:
            channels.append((name, _resolve(name, alias, custom)))
    return CondaChannels(tuple(channels), alias, tuple(p for p, _, _ in sources if p != "environment"), tuple(errors))
