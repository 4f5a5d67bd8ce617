"""Which index hosts pip will ignore unless told to trust them.

pip uses a plain-http index only when its host is a "secure origin": localhost, 127.0.0.0/8, ::1, or a
`--trusted-host` (pip's SECURE_ORIGINS in src/pip/_internal/network/session.py). Anything else is
skipped with "is not a trusted or secure host and is being ignored", and the install then fails for
want of the package. uv uses such an index without being asked (checked with uv 0.13.9 by
tests/test_indexconfig_real.py); for uv, pip's `--trusted-host` is `--allow-insecure-host`, which
also skips certificate checks, exactly like pip's trusted hosts do for https.
"""

from __future__ import annotations

import ipaddress
from typing import Iterable
from urllib.parse import urlsplit


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def insecure_host(url: str) -> str:
    """The host pip must be told to trust for `url` ("" for https, file://, paths and localhost)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
    except ValueError:
        return ""
    if parts.scheme != "http" or not host or _is_loopback(host):
        return ""
    return f"[{host}]" if ":" in host else host


def trusted_host_args(urls: Iterable[str], already: Iterable[str] = ()) -> list[str]:
    """`--trusted-host HOST` for each http host among `urls` that is not trusted already."""
    have = {h.split(":")[0] if not h.startswith("[") else h for h in already}
    out: list[str] = []
    for url in urls:
        host = insecure_host(url)
        if host and host not in have:
            have.add(host)
            out += ["--trusted-host", host]
    return out
