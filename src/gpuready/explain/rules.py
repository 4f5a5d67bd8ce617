"""Signatures and markers: the explain knowledge, loaded from TOML and compiled once.

A *signature* is a set of regular expressions that, when one matches a log line, points
at one cause label (`driver_too_old`, ...), with an explanation and fix templates. The
same message can mean different things in different contexts, so a signature may carry
*variants*: conditions (OS, stage, package, other lines in the log, facts of the probed
machine) under which its label, explanation or fixes change.

A *marker* is a fact about the log that is not a cause by itself: a harmless line that
must never count (TensorFlow's NUMA notice), the OS or the package a log comes from, the
driver version an `nvidia-smi` table shows. Signatures and fixes use them as context.

Every pattern is also reduced to a *gate*: a literal substring that any line it matches
must contain. The scanner looks for gates only (one compiled trie over all of them), so a
100 MB build log is read at tens of MB/s and the full patterns run on a few lines only.
"""

from __future__ import annotations

import functools
import re
import sys
from dataclasses import dataclass, field
from typing import Iterable

from gpuready.findings import LABELS
from gpuready.knowledge.loader import KnowledgeError, load_table

if sys.version_info >= (3, 11):
    from re import _constants as _sre_c  # type: ignore[attr-defined]
    from re import _parser as _sre_p  # type: ignore[attr-defined]
else:  # pragma: no cover - 3.10
    import sre_constants as _sre_c
    import sre_parse as _sre_p

SIGNATURE_FILES = ("signatures.toml",)
MARKER_FILES = ("explain_markers.toml",)
STAGES = ("install", "build", "import", "runtime")
CONDITION_KINDS = ("os", "stage", "package", "log", "machine", "check")
MARKER_KINDS = ("benign", "context", "os", "package", "healthy", "success")

# The 20 most common characters of build and error logs (measured on a synthetic OpenCV/nvcc
# build log, pip/CMake output and error reports, lowercased). Of a pattern's literals, the one
# with the most other characters is the most selective gate ("glibcxx_" rather than " not found").
_COMMON = frozenset("ec /oiduslrnpma-.tbv")
_CASE_FLAG = re.IGNORECASE.value
# A pattern may name its own gate, when the most selective-looking literal is common in real logs
# ("/bin/nvcc" is on every compile line; "] :/" only where CUDA_HOME has a stray ":").
GATE_COMMENT = re.compile(r"\(\?#gate:([^)]+)\)")
GATE_MIN = 8  # a gate cut from a longer literal keeps at least this many characters
GATE_MAX = 20


@dataclass(frozen=True)
class Variant:
    """A context in which a signature means something else (another label, explanation or fix)."""

    when: tuple[str, ...]
    label: str = ""
    confidence: float | None = None
    explanation: str = ""
    fixes: tuple[str, ...] = ()
    note: str = ""

    def validate(self) -> None:
        if not self.when:
            raise ValueError("a variant needs at least one condition in `when`")
        if self.label and self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")
        if self.confidence is not None and not 0.0 < self.confidence <= 1.0:
            raise ValueError("confidence must be in (0, 1]")
        for cond in self.when:
            parse_condition(cond)


@dataclass(frozen=True)
class Signature:
    id: str
    label: str
    patterns: tuple[str, ...]
    explanation: str
    fixes: tuple[str, ...]
    source: str
    confidence: float = 0.8
    stages: tuple[str, ...] = ()  # the stages it belongs to; another given stage lowers the confidence
    generic: bool = False  # a symptom (a later, vaguer line): dropped when a specific cause is found
    fallback: bool = False  # "a failure, cause unknown": counts only when no other signature does
    when: tuple[str, ...] = ()  # conditions without which it does not count at all
    variant: tuple[Variant, ...] = ()
    sources: tuple[str, ...] = ()  # more references
    note: str = ""

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", self.id):
            raise ValueError("id must be lowercase letters, digits, '.', '_' or '-'")
        if self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")
        if not self.patterns:
            raise ValueError("no patterns")
        if not self.fixes:
            raise ValueError("no fixes")
        if not 0.0 < self.confidence <= 1.0:
            raise ValueError("confidence must be in (0, 1]")
        if not self.source.startswith(("http://", "https://")):
            raise ValueError("source must be a URL")
        for s in self.stages:
            if s not in STAGES:
                raise ValueError(f"unknown stage {s!r} (one of {', '.join(STAGES)})")
        for cond in self.when:
            parse_condition(cond)
        for p in self.patterns:
            compile_pattern(p)


@dataclass(frozen=True)
class Marker:
    id: str
    patterns: tuple[str, ...]
    source: str
    kind: str = "context"  # benign | context | os | package | healthy | success (the command ended well)
    value: str = ""  # for os/package markers: "windows", "tensorflow"
    max_hits: int = 3  # stop looking once seen this often (keeps busy markers cheap)
    note: str = ""

    @property
    def benign(self) -> bool:
        return self.kind == "benign"

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", self.id):
            raise ValueError("id must be lowercase letters, digits, '.', '_' or '-'")
        if self.kind not in MARKER_KINDS:
            raise ValueError(f"unknown marker kind {self.kind!r} (one of {', '.join(MARKER_KINDS)})")
        if self.kind in ("os", "package") and not self.value:
            raise ValueError(f"a {self.kind} marker needs a value")
        if not self.patterns:
            raise ValueError("no patterns")
        if not self.source.startswith(("http://", "https://")):
            raise ValueError("source must be a URL")
        for p in self.patterns:
            compile_pattern(p)


@dataclass(frozen=True)
class Relabel:
    """A fact of the log that changes what a whole label means: cpu_only_build on macOS is "no CUDA
    on this OS at all" (platform_unsupported), whichever signature found the CPU-only build."""

    id: str
    label: str  # the label a cause has (after its signature's variants) ...
    to: str  # ... and the label it gets when every condition in `when` holds
    when: tuple[str, ...]
    source: str
    explanation: str = ""
    fixes: tuple[str, ...] = ()
    note: str = ""

    def validate(self) -> None:
        if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", self.id):
            raise ValueError("id must be lowercase letters, digits, '.', '_' or '-'")
        for lab in (self.label, self.to):
            if lab not in LABELS:
                raise ValueError(f"unknown cause label {lab!r}")
        if not self.when:
            raise ValueError("a relabel needs at least one condition in `when`")
        for cond in self.when:
            parse_condition(cond)
        if not self.source.startswith(("http://", "https://")):
            raise ValueError("source must be a URL")


@dataclass(frozen=True)
class Condition:
    kind: str
    args: tuple[str, ...]
    negate: bool = False


@functools.lru_cache(maxsize=None)
def parse_condition(text: str) -> Condition:
    """ "!os:windows|linux" -> Condition("os", ("windows", "linux"), negate=True)."""
    raw = text.strip()
    negate = raw.startswith("!")
    if negate:
        raw = raw[1:]
    kind, sep, arg = raw.partition(":")
    if not sep or kind not in CONDITION_KINDS or not arg:
        raise ValueError(f"bad condition {text!r}: expected KIND:ARG with KIND one of {', '.join(CONDITION_KINDS)}")
    args = tuple(a.strip() for a in arg.split("|") if a.strip())
    if kind == "stage":
        for a in args:
            if a not in STAGES:
                raise ValueError(f"bad condition {text!r}: unknown stage {a!r}")
    if kind in ("machine", "check"):
        from gpuready.explain.context import CHECKS, MACHINE_PREDICATES

        known = MACHINE_PREDICATES if kind == "machine" else CHECKS
        for a in args:
            if a not in known:
                raise ValueError(f"bad condition {text!r}: unknown {kind} predicate {a!r} (known: {', '.join(sorted(known))})")
    return Condition(kind, args, negate)


@functools.lru_cache(maxsize=None)
def compile_pattern(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"bad pattern {pattern!r}: {exc}") from None


# --- gates: the literal every match of a pattern must contain -----------------------------------


class _Runs:
    def __init__(self) -> None:
        self.runs: list[str] = []
        self.cur: list[str] = []
        self.branches: list[list] = []  # required alternations met on the way: [[alt items, ...], ...]

    def flush(self) -> None:
        if self.cur:
            self.runs.append("".join(self.cur))
            self.cur = []


def _walk(items: Iterable, state: _Runs) -> None:
    """Collect the literal runs that every match contains, in order (conservatively)."""
    c = _sre_c
    repeats = {c.MAX_REPEAT, c.MIN_REPEAT}
    if hasattr(c, "POSSESSIVE_REPEAT"):
        repeats.add(c.POSSESSIVE_REPEAT)
    for op, av in items:
        if op is c.LITERAL:
            state.cur.append(chr(av))
        elif op is c.SUBPATTERN:
            group, add_flags, del_flags, sub = av
            if (add_flags | del_flags) & ~_CASE_FLAG:  # verbose/dotall groups: not a plain literal run
                state.flush()
            else:  # (?-i:FAILED): its literals are still required (gates are matched on lowercased text)
                _walk(sub, state)
        elif hasattr(c, "ATOMIC_GROUP") and op is c.ATOMIC_GROUP:
            _walk(av, state)
        elif op in repeats:
            lo, hi, sub = av
            if lo >= 1:  # the first occurrence follows the text before it directly
                _walk(sub, state)
                if hi != 1:
                    state.flush()
            else:
                state.flush()
        elif op is c.AT:
            continue  # zero-width (\b, ^): the literals on both sides stay adjacent
        elif op is c.BRANCH:  # (?:a|b): one of the alternatives is required
            state.flush()
            state.branches.append([list(alt) for alt in av[1]])
        else:  # classes, ANY, alternations, lookarounds, back-references: not a fixed literal
            state.flush()
    # the caller flushes


def _alternatives(pattern: str) -> list[list]:
    parsed = _sre_p.parse(pattern, 0)
    items = list(parsed)
    if len(items) == 1 and items[0][0] is _sre_c.BRANCH:
        return [list(branch) for branch in items[0][1][1]]
    return [items]


def literals_for(pattern: str) -> tuple[str, ...]:
    """One required literal per top-level alternative of `pattern` (lowercase); a line the pattern
    matches contains at least one of them.

    Raises ValueError when an alternative has no literal of 3+ characters to look for (such a
    pattern would have to run on every line, which the streaming scanner does not do).
    """
    chosen = GATE_COMMENT.match(pattern)
    if chosen:  # "(?#gate:] :/)...": the author names the literal to look for (checked to be required)
        gate = chosen.group(1).replace("\\\\", "\\").lower()  # "(?#gate::\\)" names the gate ":\"
        for alt in _alternatives(pattern):
            state = _Runs()
            _walk(alt, state)
            state.flush()
            if not any(gate in run.lower() for run in state.runs):
                raise ValueError(f"pattern {pattern!r}: the gate {gate!r} is not a literal every match contains")
        if len(gate.strip()) < 2:  # a named gate may be short: its author knows how often it occurs
            raise ValueError(f"pattern {pattern!r}: the gate {gate!r} is shorter than 2 characters")
        return (gate,)
    out: list[str] = []
    for alt in _alternatives(pattern):
        gates = _gates_of(alt)
        if not gates:
            raise ValueError(f"pattern {pattern!r}: an alternative has no literal text of 3+ characters to look for")
        out.extend(gates)
    return tuple(dict.fromkeys(out))


def _gates_of(items: list, depth: int = 0) -> list[str]:
    """Literal runs for one sequence: its most selective required literal, else one per alternative of
    a required alternation in it (a matching line then contains at least one of them)."""
    state = _Runs()
    _walk(items, state)
    state.flush()
    runs = [r for r in state.runs if len(r.strip()) >= 3]
    if runs:
        return [max(runs, key=_selectivity).lower()]
    if depth < 3:
        for branch in state.branches:
            gates = [_gates_of(alt, depth + 1) for alt in branch]
            if all(gates):
                return [g for gs in gates for g in gs]
    return []


def _selectivity(run: str) -> tuple[int, int]:
    head = run.lower()[:GATE_MAX]
    return (sum(1 if c in _COMMON else 2 for c in head), len(run))


def _starts(run: str) -> set[str]:
    need = min(len(run), GATE_MIN)
    return {run[i] for i in range(len(run) - need + 1)}


def cut_gates(literals: Iterable[str]) -> dict[str, str]:
    """{literal: gate}: a window of each literal, chosen so that all gates start with as few
    different characters as possible.

    The scanner looks for all gates with one regex, a prefix tree; Python's regex engine tries
    the tree's first-level branches one by one at every position of the text, so the number of
    different first characters sets the scan speed (16 first characters: ~80 MB/s; every letter:
    ~5 MB/s, on a synthetic 100 MB build log). A greedy set cover picks those characters; each
    literal then keeps its most selective window that starts with one of them.
    """
    lits = sorted(set(literals))
    cands = {lit: _starts(lit) for lit in lits}
    todo = set(lits)
    chosen: list[str] = []
    while todo:  # greedy weighted cover: many literals per start character, rare characters first
        counts: dict[str, int] = {}
        for lit in todo:
            for ch in cands[lit]:
                counts[ch] = counts.get(ch, 0) + 1
        best = max(sorted(counts), key=lambda ch: counts[ch] / _char_cost(ch))
        chosen.append(best)
        todo = {lit for lit in todo if best not in cands[lit]}
    rank = set(chosen)
    out: dict[str, str] = {}
    for lit in lits:
        need = min(len(lit), GATE_MIN)
        windows = [lit[i : i + GATE_MAX] for i in range(len(lit) - need + 1) if lit[i] in rank]
        out[lit] = min(windows, key=lambda w: (_char_cost(w[0]), -_selectivity(w)[0]))
    return out


# How often each character occurs in build and error logs, per mille (lowercased; measured on the
# H200 dlib/OpenCV build logs and the dev corpus). A gate starting with a rarer character is tried
# at fewer positions of the text.
_CHAR_PER_MILLE = dict(zip(" eico/nrtlsapdum-._gbv2f4x1h:0kwy3856][", (91, 66, 52, 49, 49, 49, 47, 43, 38, 37, 36, 35, 34, 32, 23, 22, 22, 20, 19, 18, 17, 14, 13, 13, 13, 12, 12, 11, 10, 9, 8, 7, 7, 7, 6, 6, 5, 4, 4)))


def _char_cost(ch: str) -> float:
    return (_CHAR_PER_MILLE.get(ch, 2) + 1) ** 0.5


def trie_regex(words: Iterable[str]) -> str:
    """One regex matching any of `words`, as a prefix tree (the regex engine then rejects most
    alternatives on their first character instead of trying each word in turn)."""
    trie: dict = {}
    for w in words:
        node = trie
        for ch in w:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict) -> str:
        ends = "" in node
        alts = [re.escape(ch) + build(node[ch]) for ch in sorted(k for k in node if k)]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 and not ends else "(?:" + "|".join(alts) + ")"
        return body + ("?" if ends else "")

    return build(trie)


# --- the compiled rule set --------------------------------------------------------------------------


@dataclass
class RuleSet:
    signatures: tuple[Signature, ...]
    markers: tuple[Marker, ...]
    relabels: tuple[Relabel, ...] = ()
    by_id: dict[str, Signature | Marker] = field(default_factory=dict)
    # (owner id, pattern source, gates) for every pattern of every signature and marker; the compiled
    # pattern is made on first use (`regex`), so a small log compiles the few patterns its lines reach.
    patterns: list[tuple[str, str, tuple[str, ...]]] = field(default_factory=list)
    benign_ids: frozenset[str] = frozenset()
    signature_ids: frozenset[str] = frozenset()
    weak_ids: frozenset[str] = frozenset()  # generic and fallback signatures: silenced by any harmless notice on their line
    # the gate index without retired owners: (closure, trie body), computed once and cached with the rules
    base_gates: tuple[dict[str, tuple[int, ...]], str] | None = None

    def __post_init__(self) -> None:
        for item in (*self.signatures, *self.markers):
            if item.id in self.by_id:
                raise KnowledgeError(f"explain rules: duplicate id {item.id!r}")
            self.by_id[item.id] = item
        literals: list[tuple[str, str, tuple[str, ...]]] = []
        for item in (*self.markers, *self.signatures):  # markers first: benign lines are decided before causes
            for p in item.patterns:
                try:
                    literals.append((item.id, p, literals_for(p)))
                except ValueError as exc:
                    raise KnowledgeError(f"explain rules: {item.id}: {exc}") from None
        cut = cut_gates(lit for _, _, lits in literals for lit in lits)
        for owner, p, lits in literals:
            gates = tuple(dict.fromkeys(cut[lit] for lit in lits))
            self.patterns.append((owner, p, gates))
        self.benign_ids = frozenset(m.id for m in self.markers if m.benign)
        self.signature_ids = frozenset(s.id for s in self.signatures)
        self.weak_ids = frozenset(s.id for s in self.signatures if s.generic or s.fallback)
        for sig in (*self.signatures, *self.relabels):
            conds = [*sig.when, *(c for v in getattr(sig, "variant", ()) for c in v.when)]
            for text in conds:
                cond = parse_condition(text)
                if cond.kind == "log":
                    for ref in cond.args:
                        if ref not in self.by_id:
                            raise KnowledgeError(f"explain rules: {sig.id}: condition {text!r} names no signature or marker")
        self.base_gates = gate_tables(self.patterns, frozenset())
        self._compiled: list[re.Pattern[str] | None] = [None] * len(self.patterns)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state.pop("_compiled", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._compiled = [None] * len(self.patterns)

    def regex(self, i: int) -> re.Pattern[str]:
        """The compiled pattern number `i` (compiled on first use)."""
        rx = self._compiled[i]
        if rx is None:
            rx = self._compiled[i] = compile_pattern(self.patterns[i][1])
        return rx

    def max_hits(self, owner: str) -> int:
        item = self.by_id[owner]
        return item.max_hits if isinstance(item, Marker) else 10000


def gate_tables(patterns: list[tuple[str, str, tuple[str, ...]]], retired: frozenset[str]) -> tuple[dict[str, tuple[int, ...]], str]:
    """(closure, trie body) of the gates of all patterns whose owner is not retired: closure maps each gate
    to the patterns to try when the gate is found (those of every gate that is a substring of it)."""
    by_gate: dict[str, list[int]] = {}
    for i, (owner, _, gates) in enumerate(patterns):
        if owner in retired:
            continue
        for g in gates:
            by_gate.setdefault(g, []).append(i)
    gates = sorted(by_gate)
    closure: dict[str, tuple[int, ...]] = {}
    for g in gates:
        idx = [i for h in gates if h in g for i in by_gate[h]]
        closure[g] = tuple(sorted(set(idx)))
    return closure, (trie_regex(gates) if gates else r"(?!x)x")


# Bump when RuleSet's shape changes (the digest also covers this module's own source).
CACHE_VERSION = 2
ENV_NO_CACHE = "GPUREADY_NO_RULE_CACHE"


@functools.lru_cache(maxsize=None)
def load_rules() -> RuleSet:
    """All signatures and markers, checked and compiled (cached: the data never changes at run time).

    Checking and cutting gates from ~700 patterns takes most of a second, more than explaining a
    small log; so the checked rule set is also kept on disk (pickled, under gpuready's cache folder,
    keyed by a digest of the data files and of this module) and the next process loads it in a few
    milliseconds. Any problem with that file only means the rules are built again.
    """
    files = SIGNATURE_FILES + extra_signature_files() + MARKER_FILES
    digest = _digest(files)
    cached = _read_cache(digest)
    if cached is not None:
        return cached
    rs = build_rules(files)
    _write_cache(digest, rs)
    return rs


def build_rules(files: tuple[str, ...] | None = None) -> RuleSet:
    """Load, check and index every signature and marker from the data files (no disk cache)."""
    if files is None:
        files = SIGNATURE_FILES + extra_signature_files() + MARKER_FILES
    sigs: list[Signature] = []
    marks: list[Marker] = []
    relabels: list[Relabel] = []
    for f in files:
        if f in MARKER_FILES:
            marks.extend(load_table(f, "marker", Marker))
            relabels.extend(load_table(f, "relabel", Relabel, required=False))
        else:
            sigs.extend(load_table(f, "signature", Signature))
    return RuleSet(tuple(sigs), tuple(marks), tuple(relabels))


def _data_bytes(name: str) -> bytes:
    from importlib import resources

    from gpuready.knowledge.loader import DATA_PACKAGE

    return resources.files(DATA_PACKAGE).joinpath(name).read_bytes()


def _digest(files: tuple[str, ...]) -> str:
    import hashlib
    from pathlib import Path

    h = hashlib.sha256(f"{CACHE_VERSION} {sys.version_info[:2]}".encode())
    try:
        h.update(Path(__file__).read_bytes())
        for name in files:
            h.update(name.encode() + b"\0" + _data_bytes(name) + b"\0")
    except OSError:
        return ""
    return h.hexdigest()[:24]


def _cache_file(digest: str):
    import os

    if not digest or os.environ.get(ENV_NO_CACHE):
        return None
    try:
        from gpuready.paths import base_dir

        return base_dir() / "explain" / f"rules-{digest}.pickle"
    except Exception:  # pragma: no cover - no usable cache folder
        return None


def _read_cache(digest: str) -> RuleSet | None:
    import pickle

    path = _cache_file(digest)
    if path is None:
        return None
    try:
        with open(path, "rb") as f:
            rs = pickle.load(f)
    except Exception:  # missing, unreadable, truncated or from another version: build again
        return None
    return rs if isinstance(rs, RuleSet) else None


def _write_cache(digest: str, rs: RuleSet) -> None:
    import os
    import pickle
    import tempfile

    path = _cache_file(digest)
    if path is None:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("rules-*.pickle"):  # the data changed: earlier digests are dead
            if old != path:
                old.unlink(missing_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".rules-", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(rs, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
    except Exception:  # a read-only or full disk: the rules still work, only slower next time
        try:
            os.unlink(tmp)  # type: ignore[possibly-undefined]
        except Exception:
            pass


def extra_signature_files() -> tuple[str, ...]:
    """More signature files (`explain_*.toml` holding [[signature]] tables), so a family can live apart."""
    from importlib import resources

    from gpuready.knowledge.loader import DATA_PACKAGE

    names = []
    try:
        for entry in resources.files(DATA_PACKAGE).iterdir():
            name = entry.name
            if name.startswith("explain_") and name.endswith(".toml") and name not in MARKER_FILES:
                if "[[signature]]" in entry.read_text(encoding="utf-8"):
                    names.append(name)
    except (OSError, FileNotFoundError):  # pragma: no cover - a broken install
        return ()
    return tuple(sorted(names))
