"""The dated index snapshot (tests/data/index-snapshot.json) and the offline questions asked of it.

The checker writes it with network; CI reads it without: "does the index have a file for this pin on this
target?" is then answered from the files the checker saw (PyPI) or the stored copies it was given (the
PyTorch index, which the checking machine cannot reach), each with its source and date.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from knowcheck.match import canonical, file_fits, parse_file, version_matches

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOT = ROOT / "tests" / "data" / "index-snapshot.json"
EVIDENCE = ROOT / "tests" / "data" / "pytorch-index-evidence.toml"


def target_key(python: str, os_name: str, arch: str) -> str:
    return f"{python}/{os_name}/{arch}"


def pin_key(index: str, dist: str, version_or_spec: str, extras: tuple[str, ...] = (), kind: str = "wheel") -> str:
    extra = f"[{','.join(extras)}]" if extras else ""
    return f"{index}|{canonical(dist)}{extra}|{version_or_spec}|{kind}"


@dataclass
class Answer:
    status: str  # "file" (a file fits), "release" (the release+variant is on the index, not this target), "missing", "unknown"
    filename: str = ""
    source: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("file", "release")


class Snapshot:
    def __init__(self, data: dict):
        self.data = data
        self.checked = data.get("checked", "")

    @classmethod
    def load(cls, path: Path = SNAPSHOT) -> "Snapshot":
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def files(self, index: str, dist: str) -> dict[str, list]:
        return self.data.get("indexes", {}).get(index, {}).get("files", {}).get(canonical(dist), {})

    def has_listing(self, index: str, dist: str) -> bool:
        idx = self.data.get("indexes", {}).get(index)
        return bool(idx) and (idx.get("complete", False) or canonical(dist) in idx.get("files", {}))

    def source_of(self, index: str, entry: list) -> str:
        idx = self.data.get("indexes", {}).get(index, {})
        if len(entry) > 2 and entry[2]:
            src = self.data.get("sources", {}).get(entry[2], {})
            return f"{src.get('source', entry[2])} (seen {src.get('seen') or 'undated'})"
        return f"{idx.get('url', index)} (checked {self.checked})"

    def lookup(self, index: str, dist: str, version: str, python: str, os_name: str, arch: str, *,
               sdist: bool = False) -> Answer:
        """Is there a file of dist==version (PEP 440 `==`, so 2.14.1 matches 2.14.1+cu126) for this target?"""
        by_version = self.files(index, dist)
        same: list[list] = []
        for v, entries in by_version.items():
            if version_matches(v, version):
                same.extend(entries)
        for e in same:
            if file_fits(e[0], e[1], python, os_name, arch, sdist_ok=sdist):
                return Answer("file", e[0], self.source_of(index, e))
        if same and index.startswith("pytorch:") and not sdist:
            # A stored copy names this release+variant but not this Python/OS: PyTorch builds every Python and
            # OS of the release matrix for each variant, so the release is on the index (inferred, said so).
            return Answer("release", same[0][0], self.source_of(index, same[0]))
        if not self.has_listing(index, dist):
            return Answer("unknown")
        return Answer("missing")

    def requirement(self, key: str) -> list[str]:
        return self.data.get("requirements", {}).get(key, [])

    def dep_problems(self, key: str, target: str) -> list[str] | None:
        """None when the checker did not look at this pin's dependencies on this target."""
        entry = self.data.get("deps", {}).get(key)
        if entry is None or target not in entry.get("checked", []):
            return None
        return entry.get("missing", {}).get(target, [])


def versions_in(entries: dict[str, list]) -> list[str]:
    return list(entries)


def file_version(filename: str) -> str:
    parsed = parse_file(filename)
    return parsed[1] if parsed else ""
