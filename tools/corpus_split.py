#!/usr/bin/env python3
"""Freeze (or extend) the held-out split of explain's corpus: tests/data/corpus/split.json.

Rule: a row is in the TEST split when sha256(its source URL) mod 100 < 30, so every row of one
thread lands on the same side (two failures quoted in one thread never straddle the split). The
assignment of a row never changes once written: running this again only adds rows that are new.
Rules are written from the train rows only; tests/test_explain_heldout.py reports both figures.

    python tools/corpus_split.py          # add new rows to split.json
    python tools/corpus_split.py --check  # fail when a row is unassigned or assigned against the rule
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus"
SPLIT = CORPUS / "split.json"
TEST_PERCENT = 30


def side(source: str) -> str:
    return "test" if int(hashlib.sha256(source.encode()).hexdigest(), 16) % 100 < TEST_PERCENT else "train"


def rows() -> list[dict]:
    out = []
    for f in sorted(CORPUS.glob("*.jsonl")):
        out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def main(argv: list[str]) -> int:
    split = json.loads(SPLIT.read_text(encoding="utf-8")) if SPLIT.exists() else {
        "rule": f"test when sha256(source) mod 100 < {TEST_PERCENT}; frozen 2026-12-02, before any rule was written from these rows",
        "test": [], "train": []}
    known = {i: s for s in ("test", "train") for i in split[s]}
    bad = []
    for r in rows():
        want = side(r["source"])
        if r["id"] in known:
            if known[r["id"]] != want:
                bad.append(f"{r['id']}: in {known[r['id']]}, rule says {want}")
            continue
        if "--check" in argv:
            bad.append(f"{r['id']}: not in split.json (run tools/corpus_split.py)")
            continue
        split[want].append(r["id"])
    if bad:
        print("\n".join(bad))
        return 1
    if "--check" not in argv:
        split["test"].sort()
        split["train"].sort()
        SPLIT.write_text(json.dumps(split, indent=1) + "\n", encoding="utf-8")
        print(f"{len(split['test'])} test, {len(split['train'])} train rows")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
