"""The package indexes the user has configured, read from their files (never by running pip).

People behind slow or filtered networks configure a PyPI mirror (pip.conf, PIP_INDEX_URL, uv.toml)
and sometimes a PyTorch mirror; a plan that silently points them at pypi.org or
download.pytorch.org fails for them. `pip config list` takes about a second, so the config files are
parsed here directly, in pip's own order (later files override earlier ones, the environment
overrides files), and uv's settings are read where pip has none.
"""

from __future__ import annotations

import dataclasses
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

PYPI = "https://pypi.org/simple"
PYTORCH = "https://download.pytorch.org/whl"


@dataclass(frozen=True)
class IndexConfig:
    """Where packages come from. Empty `index_url` means PyPI itself."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()  # pip's find-links (local wheel folders people keep for offline installs)
    origin: str = ""  # where index_url came from: "--index-url", "PIP_INDEX_URL", "/etc/pip.conf", ...
    pytorch_base: str = PYTORCH  # base of the PyTorch wheel index; "{variant}" may be inside it
    pytorch_origin: str = "default"
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def custom_index(self) -> bool:
        return bool(self.index_url) and self.index_url.rstrip("/") not in (PYPI, "https://pypi.org/simple/", "https://pypi.python.org/simple")

    def pytorch_url(self, variant: str, style: str = "index-url") -> str:
        """The PyTorch index (or its mirror) for one variant: `.../whl/cu126`, or torch_stable.html for find-links."""
        base = self.pytorch_base.rstrip("/")
        if style == "find-links":
            base = base.replace("/{variant}", "").replace("{variant}", "")
            return f"{base}/torch_stable.html"
        if "{variant}" in base:
            return base.replace("{variant}", variant)
        return f"{base}/{variant}"

    def to_dict(self) -> dict:
        return {
            "index_url": self.index_url or None,
            "index_origin": self.origin or None,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "pytorch_index": self.pytorch_base,
            "pytorch_origin": self.pytorch_origin,
        }


def pip_config_files(env: Mapping[str, str], home: Path, *, system: bool = True) -> list[Path]:
    """pip's config files, lowest precedence first (global, user, site), as pip documents them."""
    files: list[Path] = []
    if system:
        if env.get("PROGRAMDATA"):
            files.append(Path(env["PROGRAMDATA"]) / "pip" / "pip.ini")
        xdg_dirs = env.get("XDG_CONFIG_DIRS", "/etc/xdg")
        files += [Path(d) / "pip" / "pip.conf" for d in xdg_dirs.split(os.pathsep) if d]
        files.append(Path("/etc/pip.conf"))
    if env.get("APPDATA"):
        files.append(Path(env["APPDATA"]) / "pip" / "pip.ini")
    files.append(home / ".pip" / "pip.conf")
    files.append(Path(env.get("XDG_CONFIG_HOME", str(home / ".config"))) / "pip" / "pip.conf")
    if env.get("VIRTUAL_ENV"):
        venv = Path(env["VIRTUAL_ENV"])
        files += [venv / "pip.conf", venv / "pip.ini"]
    if env.get("PIP_CONFIG_FILE") and env["PIP_CONFIG_FILE"] != os.devnull:
        files.append(Path(env["PIP_CONFIG_FILE"]))
    return files


def _read_pip_file(path: Path) -> tuple[str, list[str], list[str]]:
    import configparser  # only when a pip config file exists

    parser = configparser.RawConfigParser(strict=False)
    try:
        with open(path, encoding="utf-8") as fh:
            parser.read_file(fh)
    except (OSError, UnicodeDecodeError, configparser.Error):
        return "", [], []
    index, extras, finds = "", [], []
    for section in ("global", "install", "download"):
        if parser.has_section(section):
            index = parser.get(section, "index-url", fallback=index) or index
            extras += parser.get(section, "extra-index-url", fallback="").split()
            finds += parser.get(section, "find-links", fallback="").split()
    return index.strip(), extras, finds


def _read_uv_file(path: Path) -> tuple[str, list[str]]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return "", []
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("uv", {})
    if not isinstance(data, dict):
        return "", []
    index = str(data.get("index-url", "") or "")
    extras = [str(u) for u in data.get("extra-index-url", []) or [] if isinstance(u, str)]
    for entry in data.get("index", []) or []:
        if isinstance(entry, dict) and entry.get("url"):
            if entry.get("default"):
                index = str(entry["url"])
            elif not entry.get("explicit"):
                extras.append(str(entry["url"]))
    return index, extras


def _is_local_location(url: str) -> bool:
    """A folder or file:// index: it exists on this machine only."""
    u = url.strip().lower()
    return u.startswith("file:") or not u.startswith(("http://", "https://"))


def portable(idx: IndexConfig) -> IndexConfig:
    """The configuration without this machine's local folders and file:// indexes.

    A plan made here for another machine (`--machine FILE`, `gpuready download`) must not name
    /opt/wheels or file:///srv/pypi: they do not exist there (uv even refuses to start on a missing
    --find-links folder). Network indexes and mirrors stay: they are the user's network policy.
    """
    dropped = [u for u in (*idx.find_links, *idx.extra_index_urls, idx.index_url) if u and _is_local_location(u)]
    if not dropped:
        return idx
    index_url, origin = idx.index_url, idx.origin
    if index_url and _is_local_location(index_url):
        index_url, origin = "", ""
    return dataclasses.replace(
        idx,
        index_url=index_url,
        origin=origin,
        extra_index_urls=tuple(u for u in idx.extra_index_urls if not _is_local_location(u)),
        find_links=tuple(u for u in idx.find_links if not _is_local_location(u)),
        notes=(*idx.notes, "left out this machine's local package folders (" + ", ".join(dropped) + "): the plan is for another machine"),
    )


def read_index_config(
    env: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    cwd: Path | None = None,
    index_url: str | None = None,
    mirror: str | None = None,
    system: bool = True,
) -> IndexConfig:
    """The effective index configuration: CLI flags > PIP_* env > pip files > UV_* env > uv files."""
    env = os.environ if env is None else env
    home = home or Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    cwd = cwd or Path.cwd()
    index, origin, extras, finds = "", "", [], []
    for path in pip_config_files(env, home, system=system):
        if path.is_file():
            i, e, f = _read_pip_file(path)
            if i:
                index, origin = i, str(path)
            extras += e
            finds += f
    if env.get("PIP_FIND_LINKS"):
        finds += env["PIP_FIND_LINKS"].split()
    if env.get("PIP_INDEX_URL"):
        index, origin = env["PIP_INDEX_URL"], "PIP_INDEX_URL"
    if env.get("PIP_EXTRA_INDEX_URL"):
        extras += env["PIP_EXTRA_INDEX_URL"].split()
    if not index:
        for name in ("UV_DEFAULT_INDEX", "UV_INDEX_URL"):
            if env.get(name):
                index, origin = env[name], name
                break
    if not index:
        uv_files = [
            Path(env.get("XDG_CONFIG_HOME", str(home / ".config"))) / "uv" / "uv.toml",
            cwd / "pyproject.toml",
            cwd / "uv.toml",
        ]
        for path in uv_files:
            if path.is_file():
                i, e = _read_uv_file(path)
                if i:
                    index, origin = i, str(path)
                extras += e
    if env.get("UV_INDEX"):
        extras += [u.split("=", 1)[-1] for u in env["UV_INDEX"].split()]
    if index_url:
        index, origin = index_url, "--index-url"
    pytorch_base, pytorch_origin = PYTORCH, "default"
    # A PyTorch mirror configured as an extra index (uv users do this) is used for torch builds too.
    for url in extras:
        if "pytorch" in url.lower() and "/whl" in url and not mirror:
            base = url.rstrip("/")
            tail = base.rsplit("/", 1)[-1]
            if tail.startswith("cu") or tail in ("cpu",) or tail.startswith("rocm"):
                base = base.rsplit("/", 1)[0]
            if "download.pytorch.org" not in base:
                pytorch_base, pytorch_origin = base, "configured extra index"
    extras = [u for u in dict.fromkeys(extras) if "download.pytorch.org" not in u and not (pytorch_origin != "default" and u.startswith(pytorch_base))]
    if mirror:
        pytorch_base, pytorch_origin = mirror.rstrip("/"), "--mirror"
    return IndexConfig(
        index_url=index.strip(),
        extra_index_urls=tuple(extras),
        find_links=tuple(dict.fromkeys(finds)),
        origin=origin,
        pytorch_base=pytorch_base,
        pytorch_origin=pytorch_origin,
    )
