"""Just enough PEP 440 for the planner, without importing `packaging` on the hot path.

`packaging.specifiers` pulls in `packaging.tags`, `sysconfig` and `platform` and costs 25-70 ms to
import, a third of the time `gpuready plan` may take. The knowledge files only use plain release
versions ("2.14.1", "20.0.1.post1", "4.14.0.94") and simple specifiers (">=3.10,<3.15", "==2.9.*"),
which are parsed here; anything this module does not understand (pre-release rules, `~=` on odd
versions, URLs, markers) is handed to `packaging`, imported only then, so the answers stay exact.
"""

from __future__ import annotations

import functools
import re
from typing import Any

_VERSION = re.compile(r"^v?(\d+(?:\.\d+)*)(?:\.?post(\d+))?(?:\+([a-z0-9.]+))?$", re.I)
_CLAUSE = re.compile(r"^\s*(===|==|!=|~=|>=|<=|>|<)\s*([^\s,;]+)\s*$")


@functools.total_ordering
class V:
    """A comparable release version ("2.14.1", "20.0.1.post1", "2.9.1+cu128"); pre-releases go to packaging."""

    __slots__ = ("text", "release", "post", "local", "_fallback")

    def __init__(self, text: str) -> None:
        self.text = str(text).strip()
        m = _VERSION.match(self.text)
        self._fallback: Any = None
        if m:
            rel = tuple(int(x) for x in m.group(1).split("."))
            while len(rel) > 1 and rel[-1] == 0:  # 2.0 == 2.0.0
                rel = rel[:-1]
            self.release, self.post, self.local = rel, int(m.group(2)) if m.group(2) is not None else -1, m.group(3) or ""
        else:
            from packaging.version import InvalidVersion, Version

            try:
                self._fallback = Version(self.text)
            except InvalidVersion:
                self._fallback = Version("0")
            self.release, self.post, self.local = tuple(self._fallback.release), -1, self._fallback.local or ""

    def _key(self) -> tuple:
        if self._fallback is not None:
            return ("pkg", self._fallback)
        return ("own", self.release, self.post, self.local)

    def _cmp_key(self, other: "V") -> tuple[Any, Any]:
        if self._fallback is None and other._fallback is None:
            return (self.release, self.post, self.local), (other.release, other.post, other.local)
        from packaging.version import Version

        return Version(self.text) if self._fallback is None else self._fallback, Version(other.text) if other._fallback is None else other._fallback

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, V):
            return NotImplemented
        a, b = self._cmp_key(other)
        return a == b

    def __lt__(self, other: "V") -> bool:
        a, b = self._cmp_key(other)
        return a < b

    def __hash__(self) -> int:
        return hash((self.release, self.post, self.local))

    def __repr__(self) -> str:
        return f"V({self.text!r})"

    def __str__(self) -> str:
        return self.text


ZERO = V("0")


@functools.lru_cache(maxsize=4096)
def version(text: str) -> V:
    return V(text)


def clauses(specifier: str) -> tuple[tuple[str, str], ...] | None:
    """ ">=3.10,<3.15" -> ((">=", "3.10"), ("<", "3.15")); None when it is not a simple specifier."""
    out = []
    for part in specifier.split(","):
        if not part.strip():
            continue
        m = _CLAUSE.match(part)
        if not m:
            return None
        out.append((m.group(1), m.group(2)))
    return tuple(out)


def _match(op: str, want: str, have: V) -> bool | None:
    if op == "===":
        return have.text == want
    if want.endswith(".*"):
        if op not in ("==", "!="):
            return None
        prefix = tuple(int(x) for x in want[:-2].split(".") if x.isdigit())
        full = tuple(int(x) for x in _VERSION.match(have.text).group(1).split(".")) if _VERSION.match(have.text) else have.release
        padded = full + (0,) * max(0, len(prefix) - len(full))
        hit = padded[: len(prefix)] == prefix
        return hit if op == "==" else not hit
    if not _VERSION.match(want) or "+" in want:
        return None
    w = version(want)
    public = V(have.text.split("+", 1)[0]) if have._fallback is None else have  # local labels are ignored here
    if op == "==":
        return public == w
    if op == "!=":
        return public != w
    if op == ">=":
        return public >= w
    if op == "<=":
        return public <= w
    if op == ">":
        return public > w and not (w.post < 0 and public.release == w.release and public.post >= 0)
    if op == "<":
        return public < w
    if op == "~=":
        parts = want.split(".")
        if len(parts) < 2:
            return None
        prefix = ".".join(parts[:-1]) + ".*"
        return public >= w and bool(_match("==", prefix, public))
    return None


@functools.lru_cache(maxsize=8192)
def contains(specifier: str, text: str) -> bool:
    """Does `text` satisfy `specifier`? Pre-releases are accepted (the data lists only releases)."""
    if not specifier.strip():
        return True
    parsed = clauses(specifier)
    have = version(text)
    if parsed is not None and have._fallback is None:
        results = [_match(op, want, have) for op, want in parsed]
        if all(r is not None for r in results):
            return all(results)  # type: ignore[arg-type]
    from packaging.specifiers import SpecifierSet

    return SpecifierSet(specifier).contains(text, prereleases=True)
