"""The package indexes a plan must use: the installer's own settings, plus the PyTorch mirror.

gpuready writes explicit `pip install ... --index-url ...` commands, so they must name exactly the
places the installer would use by itself; a plan that points a mirror user at pypi.org or
download.pytorch.org fails for them. Which installer's settings count follows what install does:
uv runs the commands when it is available (the uv executable, or the uv package importable here), and
then uv's own settings win when it has any, otherwise pip's settings are handed to it (uv does not
read pip's files). Where pip runs, only pip's settings count.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from gpuready.indexconfig import pytorch, settings
from gpuready.indexconfig.hosts import insecure_host, trusted_host_args
from gpuready.indexconfig.pipconfig import PipSettings, read_pip_settings
from gpuready.indexconfig.pytorch import PYTORCH, TorchIndex
from gpuready.indexconfig.uvconfig import UvSettings, read_uv_settings

PYPI = "https://pypi.org/simple"
_PYPI_SPELLINGS = (PYPI, "https://pypi.org/simple/", "https://pypi.python.org/simple", "https://pypi.python.org/simple/")


@dataclass(frozen=True)
class IndexConfig:
    """Where packages come from. Empty `index_url` means PyPI itself."""

    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()  # pip's find-links (local wheel folders people keep for offline installs)
    origin: str = ""  # where index_url came from: "--index-url", "PIP_INDEX_URL", "/etc/pip.conf [global]", ...
    pytorch_base: str = PYTORCH  # base of the PyTorch wheel index ("{variant}" may be inside), or a find-links page
    pytorch_origin: str = "default"
    notes: tuple[str, ...] = field(default_factory=tuple)
    pytorch_style: str = "index"  # "index" or "find-links" (one torch_stable.html-like page)
    trusted_hosts: tuple[str, ...] = ()  # hosts the user told pip (trusted-host) or uv (allow-insecure-host) to trust
    no_index: bool = False  # the installer is configured to use find-links folders only
    index_strategy: str = ""  # uv's, when uv's settings are the ones used
    source: str = ""  # "pip" or "uv": whose settings these are ("" when given by the caller)

    @property
    def custom_index(self) -> bool:
        return bool(self.index_url) and self.index_url.rstrip("/") not in _PYPI_SPELLINGS

    @property
    def torch(self) -> TorchIndex:
        return TorchIndex(self.pytorch_base, self.pytorch_style, self.pytorch_origin)

    def pytorch_url(self, variant: str, style: str = "index-url") -> str:
        """The PyTorch index (or its mirror) for one variant: `.../whl/cu126`, or a find-links page."""
        return self.torch.source(variant, style)[1]

    def pytorch_source(self, variant: str, style: str = "index-url") -> tuple[str, str]:
        """(pip option, URL) for one variant: ("--index-url", ".../whl/cu126") or ("--find-links", PAGE)."""
        return self.torch.source(variant, style)

    def trusted_host_args(self, urls) -> list[str]:
        """`--trusted-host HOST` for the plain-http, non-local hosts among `urls` (pip ignores them otherwise)."""
        return trusted_host_args(urls)

    def to_dict(self) -> dict:
        return {
            "index_url": self.index_url or None,
            "index_origin": self.origin or None,
            "extra_index_urls": list(self.extra_index_urls),
            "find_links": list(self.find_links),
            "trusted_hosts": list(self.trusted_hosts),
            "no_index": self.no_index,
            "index_strategy": self.index_strategy or None,
            "settings_of": self.source or None,
            "pytorch_index": self.pytorch_base,
            "pytorch_style": self.pytorch_style,
            "pytorch_origin": self.pytorch_origin,
        }


def uv_available() -> bool:
    """Would `find_installer` pick uv here? (uv on PATH, or the uv package importable by this Python.)"""
    return bool(shutil.which("uv")) or importlib.util.find_spec("uv") is not None


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
        no_index=idx.no_index and any(not _is_local_location(u) for u in idx.find_links),
        notes=(*idx.notes, "left out this machine's local package folders (" + ", ".join(dropped) + "): the plan is for another machine"),
    )


def configured_torch_mirror(env: Mapping[str, str] | None = None, mirror: str | None = None) -> TorchIndex | None:
    """gpuready's own PyTorch mirror: `--mirror`, else GPUREADY_TORCH_MIRROR, else the settings file."""
    if mirror:
        return pytorch.from_setting(mirror, "--mirror")
    value, where = settings.get("torch-mirror", env)
    return pytorch.from_setting(value, where) if value else None


def _from_pip(s: PipSettings) -> tuple[str, str, list[str], list[str], list[str]]:
    index = s.index_url if s.custom_index else ""
    origin = s.origins.get("index_url", "") if index else ""
    return index, origin, list(s.extra_index_urls), list(s.find_links), list(s.trusted_hosts)


def _from_uv(s: UvSettings) -> tuple[str, str, list[str], list[str], list[str]]:
    index = s.default_index if s.custom_index else ""
    extras = [ix.url for ix in s.indexes if not ix.flat]
    links = list(s.find_links) + [ix.url for ix in s.indexes if ix.flat]
    return index, (s.default_origin if index else ""), extras, links, list(s.insecure_hosts)


def read_index_config(
    env: Mapping[str, str] | None = None,
    *,
    home: Path | None = None,
    cwd: Path | None = None,
    index_url: str | None = None,
    mirror: str | None = None,
    system: bool = True,
    installer: str = "auto",
    prefix: str | None = None,
    platform: str = sys.platform,
) -> IndexConfig:
    """The effective index configuration for installing into the interpreter at `prefix` (sys.prefix).

    `installer`: "pip", "uv", or "auto" (uv when available). `system=False` ignores system-wide files
    (tests on a machine whose /etc/pip.conf must not leak in). Flags win: `index_url` replaces the
    default index, `mirror` the PyTorch index.
    """
    env = dict(os.environ if env is None else env)
    if home is not None:
        env["HOME"] = str(home)
        if platform == "win32":
            env["USERPROFILE"] = str(home)
    cwd = Path.cwd() if cwd is None else Path(cwd)
    notes: list[str] = []
    pip = read_pip_settings(env, prefix=prefix, platform=platform, system=system)
    uv: UvSettings | None = None
    uses_uv = installer == "uv" or (installer == "auto" and uv_available())
    if installer != "pip":
        uv = read_uv_settings(env, cwd=cwd, platform=platform, system=system)
    if uv is not None and uses_uv and uv.configured():
        source = "uv"
        index, origin, extras, links, trusted = _from_uv(uv)
        notes += [f"uv settings: {e}" for e in uv.errors]
        if pip.configured():
            notes.append("pip's index settings are not used: uv installs here and has index settings of its own ("
                         + ", ".join(uv.files or ("UV_* variables",)) + ")")
        strategy = uv.index_strategy
        no_index = uv.no_index
    else:
        source = "pip"
        index, origin, extras, links, trusted = _from_pip(pip)
        notes += [f"pip settings: {e}" for e in pip.errors]
        if uv is not None and uv.configured() and not uses_uv:
            notes.append("uv's index settings are not used: pip installs here (uv is not installed)")
        strategy = ""
        no_index = pip.no_index
    if no_index:
        notes.append(f"{source} is set to use no package index (no-index): only the find-links folders "
                     + (", ".join(links) if links else "(none configured)") + " are searched")
    if index_url:
        index, origin = index_url, "--index-url"

    torch = configured_torch_mirror(env, mirror)
    candidates = [(u, False, f"{source} extra index") for u in extras] + [(u, True, f"{source} find-links") for u in links]
    if uv is not None and uses_uv:  # uv's docs put the PyTorch index in an explicit [[index]]: a mirror there counts
        candidates += [(ix.url, ix.flat, f"uv index {ix.name or ix.url} ({ix.origin})") for ix in uv.explicit]
    if torch is None:
        for url, flat, where in candidates:
            torch = pytorch.recognise(url, where, find_links=flat)
            if torch is not None:
                break
    torch = torch or TorchIndex()
    if not torch.is_default:
        if torch.style == "find-links":
            links = [u for u in links if u.rstrip("/") != torch.base.rstrip("/")]
        else:
            extras = [u for u in extras if not pytorch.serves(torch, u)]
    extras = [u for u in dict.fromkeys(extras) if not pytorch.is_official(u)]
    links = [u for u in dict.fromkeys(links) if not (pytorch.is_official(u) and not torch.is_default)]
    return IndexConfig(
        index_url=index.strip(),
        extra_index_urls=tuple(extras),
        find_links=tuple(links),
        origin=origin,
        pytorch_base=torch.base,
        pytorch_origin=torch.origin,
        pytorch_style=torch.style,
        trusted_hosts=tuple(dict.fromkeys(trusted)),
        no_index=no_index,
        index_strategy=strategy,
        source=source,
        notes=tuple(notes),
    )


def torch_index(env: Mapping[str, str] | None = None) -> TorchIndex:
    """The PyTorch index every command and fix line should name here (a mirror when one is configured)."""
    try:
        return read_index_config(env).torch
    except Exception:  # a fix line must never fail because a config file is odd
        return TorchIndex()


def with_torch_mirror(text: str, env: Mapping[str, str] | None = None) -> str:
    """A fix line or hint with download.pytorch.org replaced by the configured PyTorch mirror."""
    if "download.pytorch.org" not in text:
        return text
    return pytorch.rewrite_text(text, torch_index(env))


__all__ = ["IndexConfig", "PYPI", "PYTORCH", "configured_torch_mirror", "insecure_host", "portable",
           "read_index_config", "torch_index", "uv_available", "with_torch_mirror"]
