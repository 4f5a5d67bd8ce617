"""pip's index settings, read the way pip reads them (without starting pip: that costs about a second).

The rules, from pip's own source (src/pip/_internal/configuration.py and cli/parser.py, checked
against pip 23.2 and pip main of 2026-08-20), each for a reason users hit:

* files are loaded by kind in the order global < user < site < PIP_CONFIG_FILE < environment, a later
  file replacing an earlier file's value of the same `section.key` (values are NOT merged: an
  `extra-index-url` in the user file replaces the one in /etc/pip.conf);
* global files: every `$XDG_CONFIG_DIRS/pip/pip.conf` then `/etc/pip.conf` (Linux), `/Library/Application
  Support/pip/pip.conf` (macOS), `C:\\ProgramData\\pip\\pip.ini` (Windows); user files: `~/.pip/pip.conf`
  (`~\\pip\\pip.ini`) then `$XDG_CONFIG_HOME/pip/pip.conf` (`%APPDATA%\\pip\\pip.ini`); site: `sys.prefix/pip.conf`
  of the interpreter pip runs in (a virtual environment's own file);
* `PIP_CONFIG_FILE=os.devnull` loads no file at all; an existing `PIP_CONFIG_FILE` skips the user files;
* within the merged result, section `[global]` < the command's section (`[install]`, `[download]`) <
  `PIP_<NAME>` environment variables; an empty value drops the key (back to the default);
* list options (`extra-index-url`, `find-links`, `trusted-host`) are whitespace-separated, so one
  value may span lines; options given on the command line are *added* to the configured lists, while
  `--index-url` replaces the configured one;
* `no-index` takes pip's booleans (yes/no, true/false, on/off, 1/0); anything else makes pip exit.

A file pip cannot parse makes pip itself fail; that is reported in `errors` instead of raising.
"""

from __future__ import annotations

import configparser
import locale
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

PYPI_SIMPLE = "https://pypi.org/simple"

# The pip options gpuready cares about, by every name pip accepts in a config file or PIP_* variable,
# mapped to (destination, kind). pip looks each `--NAME` up in the command's option parser.
_OPTIONS: dict[str, tuple[str, str]] = {
    "index-url": ("index_url", "store"),
    "pypi-url": ("index_url", "store"),
    "extra-index-url": ("extra_index_urls", "append"),
    "find-links": ("find_links", "append"),
    "trusted-host": ("trusted_hosts", "append"),
    "no-index": ("no_index", "bool"),
    "cert": ("cert", "store"),
    "constraint": ("constraints", "append"),
}
_TRUE = ("y", "yes", "t", "true", "on", "1")
_FALSE = ("n", "no", "f", "false", "off", "0")
_ENV_IGNORED = ("version", "help")


@dataclass(frozen=True)
class PipFile:
    kind: str  # "global", "user", "site", "env" (PIP_CONFIG_FILE)
    path: str
    exists: bool
    values: Mapping[str, str] = field(default_factory=dict)  # "section.key" -> value, as written


@dataclass(frozen=True)
class PipSettings:
    """The index options pip's `install`/`download` command starts with (before its command line)."""

    index_url: str = PYPI_SIMPLE
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    no_index: bool = False
    cert: str = ""
    constraints: tuple[str, ...] = ()
    origins: Mapping[str, str] = field(default_factory=dict)  # destination -> "PIP_INDEX_URL" / "/etc/pip.conf [global]"
    files: tuple[PipFile, ...] = ()
    errors: tuple[str, ...] = ()  # what would make pip itself stop

    @property
    def custom_index(self) -> bool:
        return self.index_url.rstrip("/") != PYPI_SIMPLE

    def configured(self) -> bool:
        """Does any file or variable set an index option (so pip would not use plain PyPI)?"""
        return bool(self.custom_index or self.extra_index_urls or self.find_links or self.no_index)

    def as_pip_config(self) -> dict[str, str]:
        """The effective values in `pip config list` spelling (space-joined lists), for uv's translation."""
        out: dict[str, str] = {}
        if "index_url" in self.origins:
            out["index-url"] = self.index_url
        for key, values in (("extra-index-url", self.extra_index_urls), ("find-links", self.find_links),
                            ("trusted-host", self.trusted_hosts), ("constraint", self.constraints)):
            if values:
                out[key] = " ".join(values)
        if self.no_index:
            out["no-index"] = "true"
        if self.cert:
            out["cert"] = self.cert
        return out


def _xdg_dirs(env: Mapping[str, str], name: str) -> list[str]:
    value = env.get(name, "").strip()
    return [p for p in value.split(os.pathsep) if p.strip()] if value else []


def _home(env: Mapping[str, str], platform: str) -> str:
    if platform == "win32":
        return env.get("USERPROFILE") or env.get("HOME") or str(Path.home())
    return env.get("HOME") or str(Path.home())


def config_files(env: Mapping[str, str] | None = None, *, platform: str = sys.platform,
                 prefix: str | None = None) -> list[tuple[str, str]]:
    """(kind, path) of every file pip would consider, in pip's load order (`pip config debug` order:
    global, user, site, env). User files are absent when PIP_CONFIG_FILE names an existing file."""
    env = os.environ if env is None else env
    home = _home(env, platform)
    prefix = sys.prefix if prefix is None else prefix
    join = os.path.join
    base = "pip.ini" if platform == "win32" else "pip.conf"
    if platform == "win32":
        program_data = env.get("ALLUSERSPROFILE") or env.get("PROGRAMDATA") or "C:\\ProgramData"
        global_dirs = [join(program_data, "pip")]
        legacy = join(home, "pip", base)
        user_dir = join(env.get("APPDATA") or join(home, "AppData", "Roaming"), "pip")
    elif platform == "darwin":
        data_dirs = _xdg_dirs(env, "XDG_DATA_DIRS")
        if data_dirs:
            global_dirs = [join(d, "pip") for d in data_dirs]
        else:
            global_dirs = []
            if "/opt/python" in prefix:  # Homebrew's Python
                global_dirs.append(join(prefix.split("/opt/python")[0] + "/share", "pip"))
            global_dirs.append("/Library/Application Support/pip")
        legacy = join(home, ".pip", base)
        data_home = env.get("XDG_DATA_HOME", "").strip()
        app_support = join(data_home, "pip") if data_home else join(home, "Library", "Application Support", "pip")
        user_dir = app_support if os.path.isdir(app_support) else join(home, ".config", "pip")
    else:
        global_dirs = [join(d, "pip") for d in (_xdg_dirs(env, "XDG_CONFIG_DIRS") or ["/etc/xdg"])] + ["/etc"]
        legacy = join(home, ".pip", base)
        config_home = env.get("XDG_CONFIG_HOME", "").strip()
        user_dir = join(config_home or join(home, ".config"), "pip")
    files = [("global", join(d, base)) for d in global_dirs]
    env_file = env.get("PIP_CONFIG_FILE")
    if not (env_file and os.path.exists(env_file)):
        files += [("user", legacy), ("user", join(user_dir, base))]
    files.append(("site", join(prefix, base)))
    if env_file is not None:
        files.append(("env", env_file))
    return files


def _normalize(name: str) -> str:
    name = name.lower().replace("_", "-")
    return name[2:] if name.startswith("--") else name


def _read(path: str) -> tuple[dict[str, str], str]:
    """("section.key" -> value, error) of one file, parsed as pip does (strict RawConfigParser)."""
    parser = configparser.RawConfigParser()
    encoding = locale.getencoding() if sys.version_info >= (3, 11) else locale.getpreferredencoding(False)
    try:
        parser.read(path, encoding=encoding)
    except UnicodeDecodeError:
        return {}, f"{path}: contains invalid {encoding} characters (pip refuses to start)"
    except configparser.Error as exc:
        return {}, f"{path}: {str(exc).splitlines()[0]} (pip refuses to start)"
    values: dict[str, str] = {}
    for section in parser.sections():
        for name, value in parser.items(section):
            values[f"{section}.{_normalize(name)}"] = value
    return values, ""


def read_pip_settings(env: Mapping[str, str] | None = None, *, command: str = "install", platform: str = sys.platform,
                      prefix: str | None = None, system: bool = True) -> PipSettings:
    """The index settings of `pip COMMAND` run by the interpreter whose sys.prefix is `prefix`
    (`system=False` leaves out the machine-wide files, for tests)."""
    env = os.environ if env is None else env
    candidates = [(k, p) for k, p in config_files(env, platform=platform, prefix=prefix) if system or k != "global"]
    files: list[PipFile] = []
    errors: list[str] = []
    loaded: dict[str, dict[str, str]] = {}  # file -> values, in override order (pip keys by file name)
    skip_files = env.get("PIP_CONFIG_FILE") == os.devnull
    for kind, path in candidates:
        exists = os.path.exists(path)
        values: dict[str, str] = {}
        if exists and not skip_files and os.path.isfile(path):
            values, error = _read(path)
            if error:
                errors.append(error)
        files.append(PipFile(kind, path, exists, values))
        if not skip_files and values:
            loaded.setdefault(path, {}).update(values)
    env_values = {f":env:.{_normalize(k[4:])}": v for k, v in env.items()
                  if k.startswith("PIP_") and k[4:].lower() not in _ENV_IGNORED}
    # pip: per section, a later file's value replaces an earlier one; empty values are dropped last.
    order = ("global", command, ":env:")
    by_section: dict[str, dict[str, tuple[str, str]]] = {s: {} for s in order}
    for path, values in [*loaded.items(), (":env:", env_values)]:
        for section_key, value in values.items():
            section, _, key = section_key.partition(".")
            if section in by_section:
                by_section[section][key] = (value, path)
    result: dict[str, object] = {}
    origins: dict[str, str] = {}
    for section in order:
        for key, (value, path) in by_section[section].items():
            if not value or key not in _OPTIONS:
                continue
            dest, kind = _OPTIONS[key]
            if kind == "append":
                result[dest] = tuple(value.split())
            elif kind == "bool":
                low = value.lower()
                if low not in _TRUE + _FALSE:
                    errors.append(f"{key} = {value!r} ({_where(section, key, path)}): not a boolean (pip exits)")
                    continue
                result[dest] = low in _TRUE
            else:
                result[dest] = value
            origins[dest] = _where(section, key, path)
    return PipSettings(
        index_url=str(result.get("index_url", PYPI_SIMPLE)),
        extra_index_urls=tuple(result.get("extra_index_urls", ())),  # type: ignore[arg-type]
        find_links=tuple(result.get("find_links", ())),  # type: ignore[arg-type]
        trusted_hosts=tuple(result.get("trusted_hosts", ())),  # type: ignore[arg-type]
        no_index=bool(result.get("no_index", False)),
        cert=str(result.get("cert", "")),
        constraints=tuple(result.get("constraints", ())),  # type: ignore[arg-type]
        origins=origins,
        files=tuple(files),
        errors=tuple(errors),
    )


def _where(section: str, key: str, path: str) -> str:
    if section == ":env:":
        return "PIP_" + key.upper().replace("-", "_")
    return f"{path} [{section}]"
