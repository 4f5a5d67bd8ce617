"""HTTP for the checker: polite, cached GETs and a seekable file over range requests.

Index pages are cached under .cache/knowledge-check/ (git-ignored) so a re-run is cheap and PyPI is asked once;
wheels are never stored whole: `RangeFile` lets `zipfile` read the central directory and single members of a
multi-GB wheel with a few range requests.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "knowledge-check"
USER_AGENT = "gpuready-knowledge-check/1 (+https://github.com/; polite, cached)"
SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"


class FetchError(RuntimeError):
    pass


def _request(url: str, headers: dict[str, str] | None = None, timeout: float = 60.0) -> tuple[int, bytes, dict]:
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    last: Exception | None = None
    for attempt in range(4):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.status, resp.read(), dict(resp.headers)
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return 404, b"", {}
            last = exc
        except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as exc:
            last = exc
        time.sleep(1.5 * (attempt + 1))
    raise FetchError(f"{url}: {last}")


def get_cached(url: str, *, accept: str = "", max_age_s: float = 7 * 86400, offline: bool = False) -> tuple[int, bytes]:
    """GET with a disk cache (status 404 is cached too: "no such project" is an answer)."""
    key = hashlib.sha256(f"{accept}|{url}".encode()).hexdigest()[:32]
    path = CACHE / "http" / key
    meta = path.with_suffix(".json")
    if meta.exists() and (offline or time.time() - meta.stat().st_mtime < max_age_s):
        info = json.loads(meta.read_text())
        return info["status"], path.read_bytes() if path.exists() else b""
    if offline:
        raise FetchError(f"{url}: not in the cache and --offline was given")
    status, body, _ = _request(url, {"Accept": accept} if accept else None)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    meta.write_text(json.dumps({"url": url, "status": status, "fetched": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}))
    return status, body


def simple_project(index: str, name: str, *, offline: bool = False) -> dict | None:
    """The PEP 691 JSON page of a project on `index` (".../simple"), None when the project does not exist."""
    url = f"{index.rstrip('/')}/{name.lower().replace('_', '-').replace('.', '-')}/"
    status, body = get_cached(url, accept=SIMPLE_JSON, offline=offline)
    if status == 404:
        return None
    if status != 200:
        raise FetchError(f"{url}: HTTP {status}")
    data = json.loads(body)
    data["_url"] = url
    return data


class RangeFile(io.RawIOBase):
    """A read-only, seekable view of a remote file, read in blocks with HTTP range requests."""

    def __init__(self, url: str, size: int, block: int = 4 << 20):
        self.url, self.size, self.block = url, size, block
        self.pos = 0
        self._blocks: dict[int, bytes] = {}
        self.fetched = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else self.pos + offset if whence == 1 else self.size + offset
        return self.pos

    def _block(self, n: int) -> bytes:
        if n not in self._blocks:
            start = n * self.block
            end = min(self.size, start + self.block) - 1
            status, body, _ = _request(self.url, {"Range": f"bytes={start}-{end}"}, timeout=120)
            if status != 206:
                raise FetchError(f"{self.url}: range request answered {status}")
            self.fetched += len(body)
            if len(self._blocks) > 8:  # keep memory bounded: members are read front to back
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[n] = body
        return self._blocks[n]

    def read(self, n: int = -1) -> bytes:
        if n is None or n < 0:
            n = self.size - self.pos
        n = max(0, min(n, self.size - self.pos))
        out = bytearray()
        while n > 0:
            b = self._block(self.pos // self.block)
            off = self.pos % self.block
            piece = b[off: off + n]
            if not piece:
                break
            out += piece
            self.pos += len(piece)
            n -= len(piece)
        return bytes(out)

    def readinto(self, buf) -> int:
        data = self.read(len(buf))
        buf[: len(data)] = data
        return len(data)


def env_offline() -> bool:
    return os.environ.get("GPUREADY_CHECK_OFFLINE") == "1"
