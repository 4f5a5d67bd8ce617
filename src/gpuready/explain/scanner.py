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

import operator
import re
from typing import Iterable

from gpuready.explain.context import Hit
from gpuready.explain.rules import RuleSet, gate_tables, trie_regex

KEEP_LINES = 3  # matching lines kept per signature/marker (plus the last one)
REBUILD_AFTER = 1 << 20  # rebuild the gates without retired markers only in logs bigger than this
MAX_LINE = 16384  # longer lines are matched on their first MAX_LINE characters
EVIDENCE_CHARS = 400
# where another message starts inside one line (a log pasted without its line breaks): a harmless
# notice's silence ends there
MESSAGE_START = re.compile(r"(?:^|(?<=\s))(?:ERROR|FATAL|CRITICAL|error|fatal error)(?=:)|(?<=\s)(?:[A-Za-z_][\w.]*)?(?:Error|Exception)(?=: )|Traceback \(most recent call last\)")
MEMO_LINES = 65536  # distinct gated lines whose matches are remembered (a corpus-like mixed log has ~30k per 10 MB; a full memo is cleared, so it must hold them)
USE_REGEX_GATES = False  # tests set it to compare the two searchers
_start = operator.itemgetter(1)
# gcc/clang quote the source line under a diagnostic ("  128 | void* operator new(...) (std::bad_alloc)")
# and mark the spot below it ("      |        ^~~~"): code, whatever words it contains.
SOURCE_EXCERPT = re.compile(r"\s*(?:\d+ \| |\| +[\^~])")
ANSI_ESCAPE = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][A-Za-z0-9]|[@-Z\\-_])")


class GateIndex:
    """The gates of a rule set, minus the patterns of some retired owners (cached).

    Two searchers over the same gates: an Aho-Corasick automaton (the `ahocorasick_rs` package, a
    wrapper of Rust's aho-corasick crate), which finds every occurrence of every gate in one pass at
    ~100 MB/s, and the prefix-tree regex, the fallback where that package is missing and the tool
    for the rare block whose lowercase changes its length. Both are built on first use.
    """

    def __init__(self, rules: RuleSet, retired: frozenset[str]) -> None:
        pats = rules.patterns
        if rules.base_gates is None:
            self.closure, body = gate_tables(pats, retired)
        elif not retired:
            self.closure, body = rules.base_gates
        else:  # the base tables minus retired owners' patterns (no substring closure to recompute)
            live = {g: tuple(i for i in idx if pats[i][0] not in retired) for g, idx in rules.base_gates[0].items()}
            own = {g for owner, _, gates in pats if owner not in retired for g in gates}
            self.closure = {g: idx for g, idx in live.items() if g in own and idx}
            body = ""
        self._body = body
        self._retired = retired
        self._rules = rules
        self._gate: re.Pattern[str] | None = None
        self._gate_i: re.Pattern[str] | None = None
        self._ac: object | None = None
        self.own: list[tuple[int, ...]] = []  # per automaton pattern: the rule patterns it gates

    @property
    def gate(self) -> re.Pattern[str]:
        if self._gate is None:
            if not self._body:
                self._body = trie_regex(sorted(self.closure)) if self.closure else r"(?!x)x"
            self._gate = re.compile(self._body)
        return self._gate

    @property
    def gate_i(self) -> re.Pattern[str]:
        """The gates, case-insensitive: for the rare block whose lowercase changes its length."""
        if self._gate_i is None:
            self.gate
            self._gate_i = re.compile(self._body, re.IGNORECASE)
        return self._gate_i

    @property
    def automaton(self):
        """The Aho-Corasick automaton over the live gates (None when ahocorasick_rs is not installed)."""
        if self._ac is None:
            self._ac = False
            try:
                import ahocorasick_rs
            except ImportError:
                return None
            by_gate: dict[str, list[int]] = {}
            for i, (owner, _, gates) in enumerate(self._rules.patterns):
                if owner not in self._retired:
                    for g in gates:
                        by_gate.setdefault(g, []).append(i)
            words = sorted(by_gate)
            self.own = [tuple(by_gate[w]) for w in words]
            if words:
                self._ac = ahocorasick_rs.AhoCorasick(words, matchkind=ahocorasick_rs.MatchKind.Standard)
        return self._ac or None


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
        self._memo: dict[str, tuple[str, tuple[tuple[str, dict[str, str]], ...]]] = {}

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
        ac = self._index.automaton if folded and not USE_REGEX_GATES else None
        if ac is not None:
            self._feed_automaton(block, low, ac)
            self.lines += block.count("\n") + (0 if block.endswith("\n") else 1)
            return
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

    def _feed_automaton(self, block: str, low: str, ac) -> None:
        """Every occurrence of every gate in one pass; the lines they fall in are matched with the
        patterns those gates stand for. (Retired owners are only left out of the automaton at the
        next block: their matches are dropped here until then.)"""
        own = self._index.own
        found = ac.find_matches_as_indexes(low, overlapping=True)
        if not found:
            return
        found.sort(key=_start)
        n = len(block)
        line_no = self.lines
        counted = 0
        cur_start = cur_end = -1
        cands: set[int] = set()
        for gi, start, _ in found:
            if start >= cur_end:
                if cands:
                    self._line(line_no + 1, block[cur_start:cur_end], low[cur_start:cur_end], cands)
                    cands = set()
                cur_start = block.rfind("\n", 0, start) + 1
                cur_end = block.find("\n", start)
                if cur_end < 0:
                    cur_end = n
                line_no += block.count("\n", counted, cur_start)
                counted = cur_start
            if start - cur_start < MAX_LINE:
                cands.update(own[gi])
        if cands:
            self._line(line_no + 1, block[cur_start:cur_end], low[cur_start:cur_end], cands)

    def _line(self, number: int, line: str, low: str, cands: set[int] | None = None) -> None:
        if line.endswith("\r"):
            line, low = line[:-1], low[:-1]
        if "\r" in line:  # a progress bar redrawn with \r: each redraw is a line of its own on screen
            pos = 0
            for seg in line.split("\r"):
                end = pos + len(seg)
                if seg.strip():
                    self._segment(number, seg, low[pos:end], cands)
                pos = end + 1
            return
        self._segment(number, line, low, cands)

    def _segment(self, number: int, line: str, low: str, cands: set[int] | None = None) -> None:
        seen = self._memo.get(line)
        if seen is None:
            seen = self._match(line, low, cands)
            if len(self._memo) >= MEMO_LINES:
                self._memo.clear()
            self._memo[line] = seen
        if not seen[1]:
            return
        text, matched = seen
        retired = self._retired
        for owner, caps in matched:
            if owner not in retired:
                self._record(owner, number, text, caps)

    def _match(self, line: str, low: str, cands: set[int] | None = None) -> tuple[str, tuple[tuple[str, dict[str, str]], ...]]:
        """(evidence text, ((owner, captures), ...)) for one line: what `_record` needs, so a line seen
        before (logs repeat the same warning thousands of times) costs one dict look-up. `cands`: the
        patterns whose gates the line holds, when the caller found them already."""
        if len(line) > MAX_LINE:
            line, low = line[:MAX_LINE], low[:MAX_LINE]
        if SOURCE_EXCERPT.match(line):  # code a compiler quotes under a warning, not a message
            return "", ()
        if cands is not None:
            candidates = cands
        else:
            candidates = set()
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
            return "", ()
        rules = self.rules
        pats = rules.patterns
        benign = rules.benign_ids
        signatures = rules.signature_ids
        matched: dict[str, dict[str, str]] = {}
        spans: dict[str, tuple[int, int]] = {}
        retired = self._retired
        for i in sorted(candidates):  # markers come first in `patterns`
            owner = pats[i][0]
            if owner in matched or owner in retired:
                continue
            mm = rules.regex(i).search(line)
            if mm is None:
                continue
            matched[owner] = {k: v for k, v in mm.groupdict().items() if v}
            spans[owner] = mm.span()
        if not matched:
            return "", ()
        # A harmless notice silences its message (from the last MESSAGE_START before it to the
        # next one after it: usually the whole line), not another message on the same line, so a
        # log pasted as one line ("Requirement already satisfied ... ERROR: Could not find a
        # version ... [notice] A new release of pip") keeps its error. Generic and fallback
        # signatures (a glog "E" prefix, "error:") are weak: any harmless notice silences them.
        quiet = [spans[o] for o in matched if o in benign]
        if quiet:
            weak = rules.weak_ids
            ends = [m.start() for m in MESSAGE_START.finditer(line)]
            zones = [(max((e for e in ends if e <= a), default=0), next((e for e in ends if e >= b), len(line))) for a, b in quiet]
            kept = tuple((o, c) for o, c in matched.items()
                         if o not in signatures or (o not in weak and not any(a <= spans[o][0] < z for a, z in zones)))
        else:
            kept = tuple(matched.items())
        return line.strip()[:EVIDENCE_CHARS], kept

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
