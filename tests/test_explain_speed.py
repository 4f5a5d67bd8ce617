"""explain's speed machinery must not change what it finds, and must stay fast.

- The Aho-Corasick gate search (ahocorasick_rs) and the regex prefix tree (its fallback) find the
  same causes on every corpus log and on a mixed log of real errors and build noise.
- The checked rule set cached on disk is the rule set built from the data files.
- A small log is explained in a fraction of a second of CPU, and a mixed log at many MB per CPU
  second (loose bounds: they catch a regression such as compiling every pattern at start-up, not
  the figures in docs/explain.md, which benchmarks/bench_explain.py measures).
"""

from __future__ import annotations

import bisect
import json
import os
import resource
import subprocess
import sys
import time

import pytest

import gpuready.explain.scanner as scanner
from gpuready.explain import explain_blocks, explain_text
from gpuready.explain.rules import build_rules, load_rules
from gpuready.explain.scanner import blocks_from_text
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_explain import mixed_log  # noqa: E402


def _corpus_logs() -> list[str]:
    out = [json.loads(line)["log"] for line in (ROOT / "tests" / "data" / "corpus-dev.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    for f in sorted((ROOT / "tests" / "data" / "corpus").glob("*.jsonl")):
        out += [json.loads(line)["log"] for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def _summary(causes) -> list[tuple[str, tuple[int, ...]]]:
    return [(c.label, tuple(e.line for e in c.evidence)) for c in causes]


@pytest.mark.skipif(scanner.GateIndex(load_rules(), frozenset()).automaton is None, reason="ahocorasick_rs is not installed")
def test_automaton_and_regex_gates_find_the_same(monkeypatch, tmp_path):
    logs = _corpus_logs()
    mixed = tmp_path / "mixed.log"
    mixed_log(mixed, 1)
    logs.append(mixed.read_text(encoding="utf-8"))
    fast = [_summary(explain_blocks(blocks_from_text(t)).causes) for t in logs]
    monkeypatch.setattr(scanner, "USE_REGEX_GATES", True)
    slow = [_summary(explain_blocks(blocks_from_text(t)).causes) for t in logs]
    assert fast == slow


def test_cached_rules_are_the_built_rules():
    cached, built = load_rules(), build_rules()
    assert [s.id for s in cached.signatures] == [s.id for s in built.signatures]
    assert cached.patterns == built.patterns and cached.base_gates == built.base_gates
    assert [r.id for r in cached.relabels] == [r.id for r in built.relabels]


def test_a_small_log_starts_fast(tmp_path):
    log = tmp_path / "small.log"
    log.write_text("ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "gpuready", "explain", "--no-probe", "--json", str(log)]
    subprocess.run(cmd, capture_output=True, check=True)  # warm: byte code and the rule cache
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    runs = 3
    for _ in range(runs):
        out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) / runs
    assert json.loads(out.stdout)["causes"][0]["label"] == "runtime_lib_missing"
    assert cpu < 0.8, f"{cpu:.2f} CPU s for one small log"


def test_a_mixed_log_scans_fast(tmp_path):
    log = tmp_path / "mixed.log"
    size = mixed_log(log, 4)
    text = log.read_text(encoding="utf-8")
    load_rules()
    explain_text(text[:200_000])  # compile the patterns the corpus reaches
    t0 = time.process_time()
    causes = explain_text(text)
    cpu = time.process_time() - t0
    assert causes
    assert size / 1e6 / cpu > 8, f"{size / 1e6 / cpu:.1f} MB per CPU second"


# markers gated on a word of every nvcc line that stay: their regexes are anchored literals, a few ms per 10 MB
CHEAP_MARKERS = {"distro-nvcc"}  # gate "bin/nvcc" (cut from "/usr/bin/nvcc"): the distribution's nvcc


def test_no_signature_is_looked_for_on_every_line_of_a_cuda_build(tmp_path):
    """A signature whose gate is a word of every CUDA build line ("cuda", "bin/nvcc", "-I/", "python")
    makes the scanner run its regexes on every line: on 2026-12-03 five such gates took a 100 MB build
    log from 25 to 6 MB per CPU second. Name a rarer literal with (?#gate:...) instead. A marker may be:
    it retires after max_hits matches, unless it is gated on every line and matches none of them."""
    from bench_explain import synthetic_build_log

    log = tmp_path / "build.log"
    synthetic_build_log(log, 2)
    low = log.read_text(encoding="utf-8").lower()
    text_lines = low.splitlines()
    lines = len(text_lines)
    rules = load_rules()
    index = scanner.GateIndex(rules, frozenset())
    signatures = rules.signature_ids
    starts = [0] + [i + 1 for i, ch in enumerate(low) if ch == "\n"]
    hit_lines: dict[str, set[int]] = {}
    marker_lines: dict[str, set[int]] = {}
    for m in index.gate.finditer(low):
        line = bisect.bisect_right(starts, m.start())
        for i in index.closure.get(m.group(), ()):
            owner = rules.patterns[i][0]
            (hit_lines if owner in signatures else marker_lines).setdefault(owner, set()).add(line)
    too_common = {owner: len(seen) for owner, seen in hit_lines.items() if len(seen) > 0.03 * lines}
    # a marker retires after max_hits matches; one whose gate is on most lines but which never matches never does
    for owner, seen in marker_lines.items():
        if len(seen) > 0.03 * lines:
            pats = [rules.regex(i) for i, (o, _, _) in enumerate(rules.patterns) if o == owner]
            matched = sum(1 for n in seen if n - 1 < len(text_lines) and any(p.search(text_lines[n - 1]) for p in pats))
            if matched < min(rules.max_hits(owner), len(seen) // 2) and owner not in CHEAP_MARKERS:
                too_common[owner] = len(seen)
    assert not too_common, f"signatures gated on words of most build lines ({lines} lines): {too_common}"
