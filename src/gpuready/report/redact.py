"""Take the user's home folder, user name and host name out of a report before it is pasted anywhere.

`doctor --markdown` and `--json` are made for bug trackers and forum posts; paths in them name the
user (/home/ana/miniconda3/...) and the machine's name is in them too. By default both are replaced
(`~`, `<user>`, `<host>`); `--no-redact` keeps them. Paths of other users' homes (a saved machine from
another box) are caught by their shape: /home/NAME, /Users/NAME, C:\\Users\\NAME.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
from typing import Any, Callable

# User names so common that replacing them as words would damage text ("Ubuntu 24.04", "root:video");
# their home folders are still redacted by path.
COMMON_NAMES = frozenset({"root", "user", "admin", "ubuntu", "runner", "nobody", "jovyan", "vscode", "ec2-user", "centos", "debian"})

HOME_SHAPES = (
    (re.compile(r"(/home/)(?!<user>)[^/\s'\"`:;,)]+"), r"\1<user>"),
    (re.compile(r"(/Users/)(?!<user>)[^/\s'\"`:;,)]+"), r"\1<user>"),
    (re.compile(r"([A-Za-z]:\\+Users\\+)(?!<user>)[^\\\s'\"`:;,)]+", re.I), r"\1<user>"),
)


def _safe(fn: Callable[[], str]) -> str:
    try:
        return fn() or ""
    except Exception:  # no passwd entry (a container's random uid), no hostname
        return ""


def make_redactor(hostnames: tuple[str, ...] = (), home: str | None = None, user: str | None = None) -> Callable[[str], str]:
    """A function text -> text that hides this home folder, user name and these host names."""
    home = os.path.expanduser("~") if home is None else home
    user = _safe(getpass.getuser) if user is None else user
    hosts = sorted({h for h in (*hostnames, _safe(socket.gethostname)) if h and len(h) >= 2}, key=len, reverse=True)
    home_re = re.compile(re.escape(home.rstrip("/\\")) + r"(?=[/\\]|\b|$)") if home and home not in ("/", "/root") and len(home) > 1 else None
    user_re = re.compile(r"(?<![\w.-])" + re.escape(user) + r"(?![\w-])") if user and len(user) >= 3 and user.lower() not in COMMON_NAMES else None
    host_res = []
    for h in hosts:
        short = h.split(".")[0]
        for name in dict.fromkeys((h, short)):
            if len(name) >= 3 and name.lower() not in COMMON_NAMES:
                host_res.append(re.compile(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])"))

    def redact(text: str) -> str:
        if not text:
            return text
        if home_re is not None:
            text = home_re.sub("~", text)
        for pattern, repl in HOME_SHAPES:
            text = pattern.sub(repl, text)
        for h in host_res:
            text = h.sub("<host>", text)
        if user_re is not None:
            text = user_re.sub("<user>", text)
        return text

    return redact


def redact_data(value: Any, redact: Callable[[str], str]) -> Any:
    """Every string inside a JSON-like structure (keys included), redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_data(v, redact) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [redact_data(v, redact) for v in value]
    return value
