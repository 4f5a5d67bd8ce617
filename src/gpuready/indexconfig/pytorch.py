"""The PyTorch wheel index and its mirrors: recognising one, building its URLs, rewriting fix lines.

PyTorch's CUDA builds live on https://download.pytorch.org/whl/<variant> (cu128, cpu, rocm6.4, ...),
which is slow or blocked in many labs and in China. Mirrors come in two shapes:

* index style: a copy of `.../whl` whose `<base>/cu128` is a PEP 503 index (`--index-url`), e.g.
  https://mirrors.nju.edu.cn/pytorch/whl; a `{variant}` placeholder covers other layouts;
* find-links style: one HTML page of wheel links (`-f https://.../torch_stable.html`), used for every
  variant -- the only form old torch builds (<= 1.10) were ever published in.

A mirror may come from gpuready's own setting (`gpuready config set torch-mirror URL`,
GPUREADY_TORCH_MIRROR, `--mirror`) or be recognised in the installer's configuration (an extra index
ending in `/whl/cu126`, a find-links `torch_stable.html`); either way every command gpuready writes
uses it, so download.pytorch.org is never contacted first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

PYTORCH = "https://download.pytorch.org/whl"
_VARIANT = re.compile(r"^(cu\d{2,3}|cpu|cpu-cxx11-abi|rocm\d+(\.\d+)*|xpu)$")


@dataclass(frozen=True)
class TorchIndex:
    """Where PyTorch wheels come from: the official index or one mirror of it."""

    base: str = PYTORCH  # index style: `.../whl` ("{variant}" may be inside); find-links: the page
    style: str = "index"  # "index" or "find-links"
    origin: str = "default"  # "--mirror", "GPUREADY_TORCH_MIRROR", the settings file, "pip.conf ...", ...

    @property
    def is_default(self) -> bool:
        return self.origin == "default"

    def source(self, variant: str, build_style: str = "index-url") -> tuple[str, str]:
        """(pip option, URL) that serves `variant`; `build_style` is how that torch release was published
        ("index-url", "extra-index-url", or "find-links" for releases only on torch_stable.html)."""
        base = self.base.rstrip("/")
        if self.style == "find-links":
            return "--find-links", base.replace("{variant}", variant)
        if build_style == "find-links":
            root = base.replace("/{variant}", "").replace("{variant}", "")
            return "--find-links", f"{root}/torch_stable.html"
        url = base.replace("{variant}", variant) if "{variant}" in base else f"{base}/{variant}"
        return ("--extra-index-url" if build_style == "extra-index-url" else "--index-url"), url


def from_setting(url: str, origin: str) -> TorchIndex:
    """A mirror as the user typed it: a page (`.html`) is find-links style, anything else a `.../whl` copy."""
    url = url.strip()
    path = urlsplit(url).path
    if path.lower().endswith((".html", ".htm")):
        return TorchIndex(url, "find-links", origin)
    base = url.rstrip("/")
    tail = base.rsplit("/", 1)[-1]
    if _VARIANT.match(tail) and "{variant}" not in base:  # `.../whl/cu128` given: the base is `.../whl`
        base = base.rsplit("/", 1)[0]
    return TorchIndex(base, "index", origin)


def is_official(url: str) -> bool:
    return urlsplit(url.strip()).hostname == "download.pytorch.org"


def recognise(url: str, origin: str, *, find_links: bool) -> TorchIndex | None:
    """The PyTorch mirror `url` is, if it looks like one (never the official index itself)."""
    if is_official(url) or "torch" not in url.lower():
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return None
    path = parts.path.rstrip("/")
    tail = path.rsplit("/", 1)[-1]
    if find_links:
        if tail.lower().endswith((".html", ".htm")):
            return TorchIndex(url.strip(), "find-links", origin)
        if _VARIANT.match(tail):  # a per-variant folder listing (mirrors.aliyun.com/pytorch-wheels/cu121)
            return TorchIndex(url.strip().rstrip("/").rsplit("/", 1)[0] + "/{variant}", "find-links", origin)
        return None
    if _VARIANT.match(tail):
        return TorchIndex(url.strip().rstrip("/").rsplit("/", 1)[0], "index", origin)
    return None


def serves(torch: TorchIndex, url: str) -> bool:
    """Is `url` one of `torch`'s per-variant indexes (`<base>/cu126`)?"""
    base, _, tail = url.strip().rstrip("/").rpartition("/")
    return torch.style == "index" and bool(_VARIANT.match(tail)) and (
        base == torch.base.rstrip("/") or torch.base.replace("{variant}", tail).rstrip("/") == url.strip().rstrip("/"))


_FIX_URL = re.compile(r"(?P<opt>(?:--index-url|--extra-index-url|-i|--find-links|-f)[ =])?"
                      r"https?://download\.pytorch\.org/whl(?P<rest>/[^\s`'\",;)]*)?")


def rewrite_text(text: str, torch: TorchIndex) -> str:
    """`text` (a fix line, a hint) with every download.pytorch.org/whl URL pointing at `torch` instead.

    `--index-url https://download.pytorch.org/whl/cu128` becomes `--index-url MIRROR/cu128`, or
    `--find-links PAGE` for a find-links mirror; placeholders such as `cuXYZ` are kept.
    """
    if torch.is_default or "download.pytorch.org" not in text:
        return text

    from gpuready.indexconfig.hosts import insecure_host

    def repl(m: re.Match) -> str:
        rest = (m.group("rest") or "").strip("/")
        opt = (m.group("opt") or "").rstrip(" =")
        if rest.endswith(".html"):
            _, url = torch.source("", "find-links")
        elif not rest and torch.style == "index":
            url = torch.base.replace("/{variant}", "")
        else:
            _, url = torch.source(rest or "{variant}")
        if not opt:
            return url
        if torch.style == "find-links":
            opt = "--find-links"
        host = insecure_host(url)
        return f"{opt} {url}" + (f" --trusted-host {host}" if host else "")

    return _FIX_URL.sub(repl, text)
