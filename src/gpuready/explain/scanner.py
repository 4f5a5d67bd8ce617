"""The streaming scanner: text in, hits (which signature or marker matched which lines) out.

Memory is bounded whatever the log's size: text is fed in blocks of whole lines, and for each
signature or marker only its first few matching lines, the last one and a count are kept.

Speed comes from gates (see `rules`): one regex, a prefix tree of every pattern's required
literal, finds the few lines worth a closer look; only there are the real patterns run,
and only those whose gate the line contains. A marker that has been seen often enough
(`max_hits`) is dropped from the gates, so a marker that fires on every line of a build
(a Linux path, say) costs nothing after its first few hits.
"""

from __future__ import annotations

import re
from typing import Iterable

from gpuready.explain.context import Hit
from gpuready.explain.rules import RuleSet, gate_tables

KEEP_LINES = 3  # matching lines kept per signature/marker (plus the last one)
REBUILD_AFTER = 1 << 20  # rebuild the gates without retired markers only in logs bigger than this
MAX_LINE = 16384  # longer lines are matched on their first MAX_LINE characters
EVIDENCE_CHARS = 400
# gcc/clang quote the source line under a diagnostic ("  128 | void* operator new(...) (std::bad_alloc)")
# and mark the spot below it ("      |        ^~~~"): code, whatever words it contains.
SOURCE_EXCERPT = re.compile(r"\s*(?:\d+ \| |\| +[\^~])")
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][A-Za-z0-9]|[@-Z\\-_])")


class GateIndex:
    """The compiled gates of a rule set, minus the patterns of some retired owners (cached)."""

    def __init__(self, rules: RuleSet, retired: frozenset[str]) -> None:
        if not retired and rules.base_gates is not None:
            self.closure, body = rules.base_gates
        else:
            self.closure, body = gate_tables(rules.patterns, retired)
        self._body = body
        self.gate = re.compile(body)
        self._gate_i: re.Pattern[str] | None = None

    @property
    def gate_i(self) -> re.Pattern[str]:
        """The gates, case-insensitive: for the rare block whose lowercase changes its length."""
        if self._gate_i is None:
            self._gate_i = re.compile(self._body, re.IGNORECASE)
        return self._gate_i


_INDEX_CACHE: dict[tuple[int, frozenset[str]], GateIndex] = {}


def gate_index(rules: RuleSet, retired: frozenset[str] = frozenset()) -> GateIndex:
    key = (id(rules), retired)
    idx = _INDEX_CACHE.get(key)
    if idx is None:
        if len(_INDEX_CACHE) > 256:
            _INDEX_CACHE.clear()
        idx = _INDEX_CACHE[key] = GateIndex(rules, retired)
    return idx


class Scanner:
    def __init__(self, rules: RuleSet) -> None:
        self.rules = rules
        self.hits: dict[str, Hit] = {}
        self.lines = 0  # lines consumed so far
        self._counts: dict[str, int] = {}  # matches per owner, for retirement (kept across take_hits)
        self._retired: frozenset[str] = frozenset()
        self._index = gate_index(rules)
        self._index_for: frozenset[str] = frozenset()  # the retired owners the index leaves out
        self._dirty = False
        self._scanned = 0  # characters fed so far

    def _retire(self, owner: str) -> None:
        """`owner` has been seen often enough: stop looking for it. Its patterns are skipped at once;
        the gates are rebuilt without them only in a big log, where that pays for the rebuild."""
        self._retired = self._retired | {owner}
        self._dirty = self._scanned >= REBUILD_AFTER

    # --- feeding -----------------------------------------------------------------------------------
    def feed(self, block: str) -> None:
        """Scan `block`: whole lines, each ending in "\\n" (the log's last line may lack it)."""
        if not block:
            return
        if "\x1b" in block:  # gcc/cmake/pip colour codes split words ("fatal error: \x1b[01mcudnn.h")
            block = ANSI_ESCAPE.sub("", block)
        self._scanned += len(block)
        if self._scanned >= REBUILD_AFTER and self._retired != self._index_for:
            self._dirty = True
        low = block.lower()
        folded = len(low) == len(block)
        if not folded:  # a character whose lowercase is longer ("İ"): search case-insensitively instead
            low = block
        if self._dirty:
            self._index = gate_index(self.rules, self._retired)
            self._index_for = self._retired
            self._dirty = False
        gate = self._index.gate if folded else self._index.gate_i
        text = low
        pos = 0
        counted = 0
        line_no = self.lines
        n = len(block)
        while pos < n:
            m = gate.search(text, pos)
            if m is None:
                break
            start = block.rfind("\n", 0, m.start()) + 1
            end = block.find("\n", m.start())
            if end < 0:
                end = n
            line_no += block.count("\n", counted, start)
            counted = start
            self._line(line_no + 1, block[start:end], text[start:end])
            pos = end + 1
            if self._dirty:
                self._index = gate_index(self.rules, self._retired)
                self._index_for = self._retired
                self._dirty = False
                gate = self._index.gate if folded else self._index.gate_i
        self.lines += block.count("\n") + (0 if block.endswith("\n") else 1)

    def _line(self, number: int, line: str, low: str) -> None:
        if line.endswith("\r"):
            line, low = line[:-1], low[:-1]
        if "\r" in line:  # a progress bar redrawn with \r: each redraw is a line of its own on screen
            pos = 0
            for seg in line.split("\r"):
                end = pos + len(seg)
                if seg.strip():
                    self._segment(number, seg, low[pos:end])
                pos = end + 1
            return
        self._segment(number, line, low)

    def _segment(self, number: int, line: str, low: str) -> None:
        if len(line) > MAX_LINE:
            line, low = line[:MAX_LINE], low[:MAX_LINE]
        if SOURCE_EXCERPT.match(line):  # code a compiler quotes under a warning, not a message
            return
        candidates: set[int] = set()
        closure = self._index.closure
        search = self._index.gate.search
        pos = 0
        while True:  # every position where a gate starts (the trie gives the longest; closure the rest)
            m = search(low, pos)
            if m is None:
                break
            candidates.update(closure.get(m.group(), ()))
            pos = m.start() + 1
        if not candidates:
            return
        rules = self.rules
        pats = rules.patterns
        benign = rules.benign_ids
        signatures = rules.signature_ids
        matched: dict[str, dict[str, str]] = {}
        retired = self._retired
        for i in sorted(candidates):  # markers come first in `patterns`
            owner = pats[i][0]
            if owner in matched or owner in retired:
                continue
            mm = rules.regex(i).search(line)
            if mm is None:
                continue
            matched[owner] = {k: v for k, v in mm.groupdict().items() if v}
        if not matched:
            return
        is_benign = any(o in benign for o in matched)
        text = line.strip()[:EVIDENCE_CHARS]
        for owner, caps in matched.items():
            if is_benign and owner in signatures:
                continue  # a harmless line is never a cause, whatever else it mentions
            self._record(owner, number, text, caps)

    def _record(self, owner: str, number: int, text: str, caps: dict[str, str]) -> None:
        hit = self.hits.get(owner)
        if hit is None:
            hit = self.hits[owner] = Hit()
        hit.count += 1
        if len(hit.lines) < KEEP_LINES:
            hit.lines.append((number, text))
        else:
            hit.last = (number, text)
        for k, v in caps.items():
            hit.captures.setdefault(k, v)
        seen = self._counts[owner] = self._counts.get(owner, 0) + 1
        if seen >= self.rules.max_hits(owner):
            self._retire(owner)

    def take_hits(self) -> dict[str, Hit]:
        """The hits since the last call (a worker scanning blocks hands them back block by block)."""
        hits, self.hits = self.hits, {}
        return hits


def merge_hits(into: dict[str, Hit], more: dict[str, Hit]) -> None:
    """Add the hits of a later part of the log to those of the parts before it."""
    for owner, h in more.items():
        cur = into.get(owner)
        if cur is None:
            into[owner] = h
            continue
        cur.count += h.count
        for line in h.lines + ([h.last] if h.last else []):
            if len(cur.lines) < KEEP_LINES:
                cur.lines.append(line)
            else:
                cur.last = line
        for k, v in h.captures.items():
            cur.captures.setdefault(k, v)


def blocks_from_lines(lines: Iterable[str], size: int = 1 << 20) -> Iterable[str]:
    """Join an iterable of lines (with or without their newlines) into blocks of whole lines."""
    buf: list[str] = []
    have = 0
    for line in lines:
        if line.endswith("\n"):
            buf.append(line)
        else:
            buf.append(line + "\n")
        have += len(line) + 1
        if have >= size:
            yield "".join(buf)
            buf, have = [], 0
    if buf:
        yield "".join(buf)


def blocks_from_text(text: str, size: int = 1 << 20) -> Iterable[str]:
    """Cut `text` into blocks that end at line ends (the last may not)."""
    pos, n = 0, len(text)
    while pos < n:
        end = min(pos + size, n)
        if end < n:
            nl = text.rfind("\n", pos, end)
            if nl < 0:
                nl = text.find("\n", end)
                end = n if nl < 0 else nl + 1
            else:
                end = nl + 1
        yield text[pos:end]
        pos = end
