"""Read a source build's log as it streams: is CUDA really on, what is missing, how far along is it.

dlib and OpenCV never fail when CUDA is missing: their CMake prints a line and carries on building
a CPU-only module. So the log is the proof: dlib must print "DLIB WILL USE CUDA"; OpenCV's summary
must say "NVIDIA CUDA: YES", "cuDNN: YES" and list dnn, cudev and python3 under "To be built".
The reader also records which cuDNN library CMake really took ("Found CUDNN: <path>"), because
pointing the header at one cuDNN while CMake links another (the H100/H200 test machine has two)
builds fine and breaks later; and it turns build lines into phases and N/M counts for the
progress bar. The signatures are data (knowledge/data/build_logs.toml).
"""

from __future__ import annotations

import os
import re
from collections import deque
from dataclasses import dataclass, field
from typing import Iterable

from gpuready.build.recipes import LogSignature, PHASES, log_signatures

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@dataclass(frozen=True)
class Progress:
    phase: str
    done: int | None = None
    total: int | None = None
    percent: float | None = None
    what: str = ""


@dataclass(frozen=True)
class LogProblem:
    id: str
    label: str
    missing: str
    fix: str
    line: str
    lineno: int
    priority: int = 50


@dataclass
class LogVerdict:
    recipe: str
    cuda_enabled: bool | None
    confirmed: list[str] = field(default_factory=list)
    missing_confirms: list[str] = field(default_factory=list)
    denied: list[LogProblem] = field(default_factory=list)
    problems: list[LogProblem] = field(default_factory=list)
    facts: dict[str, str] = field(default_factory=dict)
    evidence: list[str] = field(default_factory=list)
    phase: str = ""
    configured: bool = False
    lines: int = 0

    @property
    def missing_piece(self) -> str:
        """The one thing to name when CUDA is not confirmed (or the build failed)."""
        if self.problems:
            return self.problems[0].missing
        if self.denied:
            return self.denied[0].missing
        if self.missing_confirms and (self.configured or self.cuda_enabled is False):
            return "the log lacks " + "; ".join(self.missing_confirms)
        return ""

    @property
    def label(self) -> str:
        if self.problems:
            return self.problems[0].label
        if self.denied:
            return self.denied[0].label or "cpu_only_build"
        return "cpu_only_build" if self.cuda_enabled is False else ""

    @property
    def fix(self) -> str:
        if self.problems:
            return self.problems[0].fix
        if self.denied:
            return self.denied[0].fix
        return ""

    def to_dict(self) -> dict:
        return {
            "recipe": self.recipe,
            "cuda_enabled": self.cuda_enabled,
            "confirmed": self.confirmed,
            "missing_confirms": self.missing_confirms,
            "missing_piece": self.missing_piece,
            "label": self.label,
            "fix": self.fix,
            "problems": [p.__dict__ for p in self.problems],
            "denied": [p.__dict__ for p in self.denied],
            "facts": self.facts,
            "evidence": self.evidence,
            "phase": self.phase,
            "configured": self.configured,
            "lines": self.lines,
        }


class _Fill(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class LogReader:
    """Feed it lines (`feed`) as they come; ask `verdict()` at any time.

    `expected_cudnn` ({"library": ..., "include_dir": ..., "version": ...}) is the cuDNN the
    settings chose; a "Found CUDNN" line naming a library outside that copy is reported as two
    cuDNNs.
    """

    def __init__(self, recipe: str, expected_cudnn: dict | None = None, signatures: Iterable[LogSignature] | None = None):
        self.recipe = recipe
        self.expected_cudnn = expected_cudnn or {}
        sigs = [s for s in (signatures if signatures is not None else log_signatures()) if s.applies_to(recipe)]
        self._confirm = [s for s in sigs if s.effect == "confirm"]
        self._other = [s for s in sigs if s.effect in ("deny", "problem", "fact") and not s.window]
        self._windowed = [s for s in sigs if s.effect in ("deny", "problem", "fact") and s.window]
        self._recent: deque[str] = deque(maxlen=max([s.window for s in self._windowed] or [1]))
        self._phase = [s for s in sigs if s.effect == "phase"]
        self._seen_confirm: dict[str, str] = {}
        self._problems: dict[str, LogProblem] = {}
        self._denied: dict[str, LogProblem] = {}
        self.facts: dict[str, str] = {}
        self.evidence: list[str] = []
        self.phase = ""
        self.configured = False
        self.lines = 0

    # -- streaming -----------------------------------------------------------------------------

    def feed(self, raw: str) -> Progress | None:
        """Take one log line; return a progress update when the line moves the build along."""
        self.lines += 1
        line = _ANSI.sub("", raw).rstrip("\r\n")
        text = line.strip()
        if not text:
            return None
        for sig in self._confirm:
            m = sig.regex.search(text)
            if m and sig.id not in self._seen_confirm:
                self._seen_confirm[sig.id] = text
                self._record_facts(m)
                self._evidence(text)
        self._recent.append(text)
        candidates = [(sig, sig.regex.search(text)) for sig in self._other]
        if self._windowed:
            recent = list(self._recent)
            for sig in self._windowed:
                if sig.id not in self._problems and sig.id not in self._denied:
                    candidates.append((sig, sig.regex.search(" ".join(recent[-sig.window:]))))
        for sig, m in candidates:
            if not m:
                continue
            if sig.effect == "fact":
                self._record_facts(m)
                if "cudnn_library" in m.groupdict():
                    self._evidence(text)
            elif sig.effect == "deny":
                self._denied.setdefault(sig.id, self._problem(sig, m, text))
                self._evidence(text)
            else:
                self._problems.setdefault(sig.id, self._problem(sig, m, text))
                self._evidence(text)
        if text.startswith("-- Configuring done") or text.startswith("-- Build files have been written"):
            self.configured = True
        for sig in self._phase:
            m = sig.regex.search(text)
            if not m:
                continue
            return self._progress(sig, m)
        return None

    def feed_text(self, text: str) -> LogVerdict:
        for line in text.splitlines():
            self.feed(line)
        return self.verdict()

    def _problem(self, sig: LogSignature, m: re.Match, text: str) -> LogProblem:
        fill = _Fill({k: v for k, v in m.groupdict().items() if v is not None})
        return LogProblem(
            id=sig.id, label=sig.label, missing=sig.missing.format_map(fill), fix=sig.fix.format_map(fill),
            line=text[:500], lineno=self.lines, priority=sig.priority,
        )

    def _record_facts(self, m: re.Match) -> None:
        for k, v in m.groupdict().items():
            if v:
                self.facts[k] = v.strip()

    def _evidence(self, text: str) -> None:
        if len(self.evidence) < 40 and text not in self.evidence:
            self.evidence.append(text[:500])

    def _progress(self, sig: LogSignature, m: re.Match) -> Progress:
        g = m.groupdict()
        what = (g.get("what") or "").strip()
        phase = sig.phase
        if phase == "compile" and re.match(r"Linking \w+ (?:shared|static|executable|module)", what):
            phase = "link"
        if PHASES.index(phase) >= PHASES.index("compile"):
            self.configured = True
        self.phase = phase
        done = int(g["done"]) if g.get("done") else None
        total = int(g["total"]) if g.get("total") else None
        pct = float(g["percent"]) if g.get("percent") else (100.0 * done / total if done is not None and total else None)
        return Progress(phase=phase, done=done, total=total, percent=pct, what=what[:120])

    # -- judgement -----------------------------------------------------------------------------

    def verdict(self, finished: bool = True) -> LogVerdict:
        problems = sorted(self._problems.values(), key=lambda p: (p.priority, p.lineno))
        denied = sorted(self._denied.values(), key=lambda p: p.lineno)
        extra = self._cudnn_mismatch()
        if extra:
            problems.insert(0, extra)
        confirmed = [s.id for s in self._confirm if s.id in self._seen_confirm]
        missing = [s.missing for s in self._confirm if s.id not in self._seen_confirm]
        if denied:
            enabled: bool | None = False
        elif self._confirm and not missing:
            enabled = True
        elif self.configured or (finished and self.lines and not problems):
            enabled = False
        else:
            enabled = None
        return LogVerdict(
            recipe=self.recipe, cuda_enabled=enabled, confirmed=confirmed, missing_confirms=missing if enabled is not True else [],
            denied=denied, problems=problems, facts=dict(self.facts), evidence=list(self.evidence), phase=self.phase,
            configured=self.configured, lines=self.lines,
        )

    def _cudnn_mismatch(self) -> LogProblem | None:
        """Two cuDNNs: CMake linked a library from another copy than the one the settings chose."""
        found = self.facts.get("cudnn_library")
        want_lib = self.expected_cudnn.get("library") or ""
        want_dir = self.expected_cudnn.get("library_dir") or (os.path.dirname(want_lib) if want_lib else "")
        if found and want_dir and _norm_dir(os.path.dirname(found)) != _norm_dir(want_dir):
            inc = self.expected_cudnn.get("include_dir") or "?"
            return LogProblem(
                id="two-cudnns", label="shadowed_install",
                missing=f"one cuDNN: CMake linked {found}, but the header comes from {inc} (two cuDNNs)",
                fix=f"make the chosen cuDNN win the search (CUDNN_ROOT={os.path.dirname(want_dir)} for dlib; "
                    f"-DCUDNN_LIBRARY={want_lib} for OpenCV), or remove the other copy from the search path",
                line=f"Found CUDNN: {found}", lineno=0, priority=1,
            )
        want_version = self.expected_cudnn.get("version") or ""
        got_version = self.facts.get("cudnn_version") or ""
        if want_version and got_version and want_version.split(".")[:2] != got_version.split(".")[:2]:
            return LogProblem(
                id="cudnn-version", label="library_version_mismatch",
                missing=f"cuDNN {want_version}, but the build found cuDNN {got_version}",
                fix="point the build at one cuDNN (header and library from the same copy)",
                line=f"cuDNN: YES (ver {got_version})", lineno=0, priority=2,
            )
        return None


def _norm_dir(path: str) -> str:
    try:
        return os.path.realpath(path)
    except OSError:
        return os.path.normpath(path)


def read_log(text: str, recipe: str, expected_cudnn: dict | None = None) -> LogVerdict:
    """Judge a whole log at once (tests, `explain`, a log from another machine)."""
    return LogReader(recipe, expected_cudnn).feed_text(text)


def read_log_file(path: str, recipe: str, expected_cudnn: dict | None = None) -> LogVerdict:
    reader = LogReader(recipe, expected_cudnn)
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            reader.feed(line)
    return reader.verdict()
