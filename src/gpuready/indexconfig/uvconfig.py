"""uv's index settings for `uv pip install`, read the way uv reads them (without starting uv).

From uv's source (crates/uv/src/lib.rs, crates/uv-settings, crates/uv-dirs, crates/uv-cli, crates/uv/src/
settings.rs `PipSettings::combine`, crates/uv-distribution-types `IndexLocations`; uv 0.12.5 source of
2026-08-21, checked against uv 0.13.9 by tests/test_indexconfig_real.py):

* UV_CONFIG_FILE names the only file read; UV_NO_CONFIG=1 reads none; otherwise the project file, then
  the user file, then the system file, combined so that a single value (index-url, index-strategy,
  no-index) comes from the first file that sets it, while lists (`[[index]]`, extra-index-url,
  find-links, allow-insecure-host) are joined, project entries first;
* the project file is the nearest `uv.toml`, or `pyproject.toml` with a `[tool.uv]` table, in the
  folder and its parents -- starting from the workspace root when the folder is inside a project
  (a `pyproject.toml` with `[project]`), so files between the two are not seen;
* user file: `$XDG_CONFIG_HOME/uv/uv.toml` or `~/.config/uv/uv.toml` on Linux *and macOS*,
  `%APPDATA%\\uv\\uv.toml` on Windows; system file: the first `uv/uv.toml` in `$XDG_CONFIG_DIRS`
  (default /etc/xdg), else `/etc/uv/uv.toml`; `%SYSTEMDRIVE%\\ProgramData\\uv\\uv.toml` on Windows;
  UV_NO_SYSTEM_CONFIG=1 skips it;
* `uv pip` honours the top-level keys *and* the `[pip]` table (`[tool.uv.pip]`), `[pip]` first;
* environment variables act as command-line options: UV_INDEX (whitespace-separated, `name=url`
  allowed), UV_DEFAULT_INDEX, UV_INDEX_URL, UV_EXTRA_INDEX_URL (space-separated), UV_FIND_LINKS
  (comma-separated), UV_INDEX_STRATEGY, UV_INSECURE_HOST; they come before every file's entries.
  There is no UV_NO_INDEX: `--no-index` exists only on the command line (and as `no-index` in files);
* the default index is the first index marked default (`index-url`, UV_DEFAULT_INDEX, `[[index]]
  default = true`), PyPI when none; the others, minus `explicit = true` ones (used only for pinned
  sources) and minus repeated names, are searched first, in order; with the default
  `index-strategy = "first-index"` the first index that has a package is the only one used for it.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPI_SIMPLE = "https://pypi.org/simple"
_BOOL_TRUE = ("y", "yes", "t", "true", "on", "1")
_BOOL_FALSE = ("n", "no", "f", "false", "off", "0")


@dataclass(frozen=True)
class UvIndex:
    url: str
    name: str = ""
    default: bool = False
    explicit: bool = False
    flat: bool = False  # format = "flat": a find-links style page or folder
    origin: str = ""  # "UV_INDEX", "/home/me/.config/uv/uv.toml [[index]]", ...


@dataclass(frozen=True)
class UvSettings:
    """Where `uv pip install` looks for packages before its command line is read."""

    default_index: str = PYPI_SIMPLE
    default_origin: str = ""
    indexes: tuple[UvIndex, ...] = ()  # searched before the default one, in this order
    explicit: tuple[UvIndex, ...] = ()
    find_links: tuple[str, ...] = ()
    find_links_origins: tuple[str, ...] = ()
    no_index: bool = False
    index_strategy: str = "first-index"
    insecure_hosts: tuple[str, ...] = ()
    files: tuple[str, ...] = ()  # the configuration files uv reads, highest precedence first
    errors: tuple[str, ...] = ()  # what would make uv itself stop
    warnings: tuple[str, ...] = ()

    @property
    def custom_index(self) -> bool:
        return self.default_index.rstrip("/") != PYPI_SIMPLE

    def configured(self) -> bool:
        """Does any uv file or variable set where packages come from?"""
        return bool(self.custom_index or self.indexes or self.find_links or self.no_index)


def _boolish(value: str | None) -> bool | None:
    if value is None or value == "":
        return None
    low = value.strip().lower()
    if low in _BOOL_TRUE:
        return True
    if low in _BOOL_FALSE:
        return False
    return None


def _home(env: Mapping[str, str], platform: str) -> Path:
    if platform == "win32":
        return Path(env.get("USERPROFILE") or env.get("HOME") or Path.home())
    return Path(env.get("HOME") or Path.home())


def user_config_file(env: Mapping[str, str], platform: str = sys.platform) -> Path:
    """uv's user file (etcetera's base strategy: XDG on Linux and macOS, %APPDATA% on Windows)."""
    if platform == "win32":
        appdata = env.get("APPDATA")
        base = Path(appdata) if appdata else _home(env, platform) / "AppData" / "Roaming"
    else:
        xdg = env.get("XDG_CONFIG_HOME", "")
        base = Path(xdg) if xdg and os.path.isabs(xdg) else _home(env, platform) / ".config"
    return base / "uv" / "uv.toml"


def system_config_file(env: Mapping[str, str], platform: str = sys.platform) -> Path | None:
    if platform == "win32":
        drive = env.get("SYSTEMDRIVE")
        if not drive:
            return None
        candidate = Path(drive + "\\") / "ProgramData" / "uv" / "uv.toml"
        return candidate if candidate.is_file() else None
    dirs = env.get("XDG_CONFIG_DIRS") or "/etc/xdg"
    for d in dirs.split(":"):
        if not d:
            break
        candidate = Path(d) / "uv" / "uv.toml"
        if candidate.is_file():
            return candidate
    etc = Path("/etc/uv/uv.toml")
    return etc if etc.exists() else None


def _load_toml(path: Path) -> dict:
    with open(path, "rb") as fh:
        return tomllib.load(fh)


def _uv_table(path: Path, data: dict) -> dict | None:
    if path.name == "pyproject.toml":
        tool = data.get("tool")
        if not isinstance(tool, dict) or not isinstance(tool.get("uv"), dict):
            return None
        return tool["uv"]
    return data


def _is_project(data: dict) -> bool:
    tool = data.get("tool") if isinstance(data.get("tool"), dict) else {}
    uv = tool.get("uv") if isinstance(tool.get("uv"), dict) else {}
    return isinstance(data.get("project"), dict) or isinstance(uv.get("workspace"), dict)


def _workspace_root(start: Path) -> Path | None:
    """The root uv's workspace discovery settles on from `start`, or None when `start` is in no project."""
    project = next((d for d in (start, *start.parents) if (d / "pyproject.toml").is_file()), None)
    if project is None:
        return None
    try:
        data = _load_toml(project / "pyproject.toml")
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return None
    if not _is_project(data):
        return None
    import fnmatch

    for parent in project.parents:
        file = parent / "pyproject.toml"
        if not file.is_file():
            continue
        try:
            ws = _load_toml(file).get("tool", {}).get("uv", {}).get("workspace")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
            continue
        if not isinstance(ws, dict):
            continue
        rel = project.relative_to(parent).as_posix()
        members = [m for m in ws.get("members", []) or [] if isinstance(m, str)]
        excluded = [m for m in ws.get("exclude", []) or [] if isinstance(m, str)]
        if any(fnmatch.fnmatch(rel, m) for m in members) and not any(fnmatch.fnmatch(rel, m) for m in excluded):
            return parent
    return project


def _find_project_file(start: Path, warnings: list[str]) -> tuple[Path | None, dict | None, str]:
    """(file, its uv table, error): the nearest uv.toml or pyproject.toml with [tool.uv] from `start` up."""
    for d in (start, *start.parents):
        uv_toml = d / "uv.toml"
        if uv_toml.is_file():
            try:
                return uv_toml, _load_toml(uv_toml), ""
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                return uv_toml, None, f"{uv_toml}: {exc} (uv refuses to start)"
        pyproject = d / "pyproject.toml"
        if pyproject.is_file():
            try:
                table = _uv_table(pyproject, _load_toml(pyproject))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                warnings.append(f"{pyproject}: {exc} (uv skips it)")
                continue
            if table is not None:
                return pyproject, table, ""
    return None, None, ""


def _relative(value: str, root: Path) -> str:
    """An index location as uv resolves it: URLs stay, paths become absolute (relative to `root`)."""
    if "://" in value or value.startswith("file:"):
        return value
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (root / path))


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass
class _Layer:
    """One configuration file's index options (or the environment's), before combining."""

    index: list[UvIndex] = field(default_factory=list)
    index_url: UvIndex | None = None
    extra: list[UvIndex] = field(default_factory=list)
    find_links: list[tuple[str, str]] = field(default_factory=list)
    no_index: bool | None = None
    strategy: tuple[str, str] | None = None
    insecure: list[str] = field(default_factory=list)

    def combine(self, other: "_Layer") -> "_Layer":
        """uv's Combine: self's single values win, lists are joined (self's first)."""
        return _Layer(
            index=self.index + other.index,
            index_url=self.index_url or other.index_url,
            extra=self.extra + other.extra,
            find_links=self.find_links + other.find_links,
            no_index=self.no_index if self.no_index is not None else other.no_index,
            strategy=self.strategy or other.strategy,
            insecure=self.insecure + other.insecure,
        )


def _layer(table: Mapping[str, Any], root: Path, where: str) -> _Layer:
    out = _Layer()
    for entry in table.get("index", []) or []:
        if isinstance(entry, dict) and isinstance(entry.get("url"), str):
            out.index.append(UvIndex(_relative(entry["url"], root), str(entry.get("name") or ""), bool(entry.get("default")),
                                     bool(entry.get("explicit")), entry.get("format") == "flat", f"{where} [[index]]"))
    if isinstance(table.get("index-url"), str) and table["index-url"]:
        out.index_url = UvIndex(_relative(table["index-url"], root), default=True, origin=f"{where} index-url")
    out.extra = [UvIndex(_relative(u, root), origin=f"{where} extra-index-url") for u in _strs(table.get("extra-index-url"))]
    out.find_links = [(_relative(u, root), f"{where} find-links") for u in _strs(table.get("find-links"))]
    if isinstance(table.get("no-index"), bool):
        out.no_index = table["no-index"]
    if isinstance(table.get("index-strategy"), str):
        out.strategy = (table["index-strategy"], f"{where} index-strategy")
    return out


def _file_layers(path: Path, table: Mapping[str, Any]) -> tuple[_Layer, _Layer]:
    """(top-level, [pip]) options of one file; relative paths are relative to the file's folder."""
    root = Path(os.path.abspath(path)).parent
    top = _layer(table, root, str(path))
    top.insecure = _strs(table.get("allow-insecure-host"))
    pip = table.get("pip")
    return top, (_layer(pip, root, f"{path} [pip]") if isinstance(pip, dict) else _Layer())


def _env_layer(env: Mapping[str, str], cwd: Path) -> tuple[_Layer, list[str]]:
    """The UV_* variables, which uv reads as if they were given on the command line."""
    errors: list[str] = []
    out = _Layer()

    def named(token: str, default: bool, origin: str) -> UvIndex:
        name, eq, url = token.partition("=")
        if eq and ":" not in name:
            return UvIndex(_relative(url, cwd), name, default, origin=origin)
        return UvIndex(_relative(token, cwd), "", default, origin=origin)

    if env.get("UV_DEFAULT_INDEX"):
        out.index.append(named(env["UV_DEFAULT_INDEX"], True, "UV_DEFAULT_INDEX"))
    out.index += [named(t, False, "UV_INDEX") for t in env.get("UV_INDEX", "").split()]
    out.extra = [UvIndex(_relative(u, cwd), origin="UV_EXTRA_INDEX_URL") for u in env.get("UV_EXTRA_INDEX_URL", "").split(" ") if u]
    if env.get("UV_INDEX_URL"):
        out.index_url = UvIndex(_relative(env["UV_INDEX_URL"], cwd), default=True, origin="UV_INDEX_URL")
    out.find_links = [(_relative(u, cwd), "UV_FIND_LINKS") for u in env.get("UV_FIND_LINKS", "").split(",") if u]
    if env.get("UV_INDEX_STRATEGY"):
        value = env["UV_INDEX_STRATEGY"]
        if value not in ("first-index", "unsafe-first-match", "unsafe-best-match"):
            errors.append(f"UV_INDEX_STRATEGY={value!r}: not an index strategy (uv exits)")
        else:
            out.strategy = (value, "UV_INDEX_STRATEGY")
    out.insecure = [h for h in env.get("UV_INSECURE_HOST", "").split(" ") if h]
    return out, errors


def config_files(env: Mapping[str, str] | None = None, *, cwd: Path | None = None, platform: str = sys.platform,
                 system: bool = True) -> tuple[list[Path], list[str], list[str]]:
    """(files uv reads for `uv pip` in precedence order, errors, warnings)."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else cwd
    if env.get("UV_CONFIG_FILE"):
        return [cwd / env["UV_CONFIG_FILE"]], [], []
    if _boolish(env.get("UV_NO_CONFIG")):
        return [], [], []
    errors: list[str] = []
    warnings: list[str] = []
    files: list[Path] = []
    root = _workspace_root(cwd) or cwd
    project, _, error = _find_project_file(root, warnings)
    if error:
        errors.append(error)
    if project is not None:
        files.append(project)
    user = user_config_file(env, platform)
    if user.is_file():
        files.append(user)
    if system and not _boolish(env.get("UV_NO_SYSTEM_CONFIG")):
        system = system_config_file(env, platform)
        if system is not None:
            files.append(system)
    return files, errors, warnings


def read_uv_settings(env: Mapping[str, str] | None = None, *, cwd: Path | None = None,
                     platform: str = sys.platform, system: bool = True) -> UvSettings:
    """The index settings `uv pip install` starts with, run from `cwd` with environment `env`."""
    env = os.environ if env is None else env
    cwd = Path.cwd() if cwd is None else Path(cwd)
    files, errors, warnings = config_files(env, cwd=cwd, platform=platform, system=system)
    top, pip = _Layer(), _Layer()
    for path in files:
        try:
            data = _load_toml(path)
        except FileNotFoundError:
            errors.append(f"{path}: no such file (uv refuses to start)")
            continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            errors.append(f"{path}: {exc} (uv refuses to start)")
            continue
        table = _uv_table(path, data)
        if table is None:
            continue
        t, p = _file_layers(path, table)
        top, pip = top.combine(t), pip.combine(p)
    files_layer = pip.combine(top)  # `[pip]` before the top level
    args, env_errors = _env_layer(env, cwd)
    errors += env_errors

    ordered = [*args.index, *args.extra, *([args.index_url] if args.index_url else []),
               *files_layer.index, *files_layer.extra, *([files_layer.index_url] if files_layer.index_url else [])]
    seen_names: set[str] = set()
    configured: list[UvIndex] = []
    for ix in ordered:
        if ix.name:
            if ix.name in seen_names:
                continue
            seen_names.add(ix.name)
        configured.append(ix)
    no_index = bool(args.no_index if args.no_index is not None else files_layer.no_index)
    default = next((ix for ix in configured if ix.default), None)
    implicit = [ix for ix in configured if not ix.default and not ix.explicit]
    explicit = [ix for ix in configured if ix.explicit]
    seen_urls = {default.url.rstrip("/")} if default else set()
    searched: list[UvIndex] = []
    for ix in implicit:
        key = ix.url.rstrip("/")
        if key not in seen_urls:
            seen_urls.add(key)
            searched.append(ix)
    links = args.find_links + files_layer.find_links
    strategy = args.strategy or files_layer.strategy
    return UvSettings(
        default_index="" if no_index else (default.url if default else PYPI_SIMPLE),
        default_origin="" if no_index or default is None else default.origin,
        indexes=() if no_index else tuple(searched),
        explicit=() if no_index else tuple(explicit),
        find_links=tuple(u for u, _ in links),
        find_links_origins=tuple(o for _, o in links),
        no_index=no_index,
        index_strategy=strategy[0] if strategy else "first-index",
        insecure_hosts=tuple(args.insecure + top.insecure),
        files=tuple(str(f) for f in files),
        errors=tuple(errors),
        warnings=tuple(warnings),
    )
