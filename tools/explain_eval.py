#!/usr/bin/env python3
"""Score `gpuready explain` on the labelled corpus (tests/data/corpus/*.jsonl), train and test apart.

The rows of the held-out TEST split are scored as numbers only (overall, per label, confusion
counts): this tool never prints a test row's log, id or top cause, so rules cannot be tuned on
individual test misses. Train misses can be listed with --misses (and --show ID prints a train
row's log; it refuses a test row).

    python tools/explain_eval.py                  # both splits, with and without hints
    python tools/explain_eval.py --misses         # + the train misses
    python tools/explain_eval.py --show pt-012    # one TRAIN row's log and causes
    python tools/explain_eval.py --confusion      # + the test confusion counts (numbers only)
    python tools/explain_eval.py --os windows     # as if gpuready ran on a Windows host
    python tools/explain_eval.py --file collected-2026-12-02-colA.jsonl   # one new batch, before any rule for it
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "corpus"
sys.path.insert(0, str(ROOT / "src"))


def load() -> tuple[list[dict], set[str], set[str]]:
    split = json.loads((CORPUS / "split.json").read_text(encoding="utf-8"))
    rows = []
    for f in sorted(CORPUS.glob("*.jsonl")):
        rows += [dict(json.loads(line), _file=f.name) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return rows, set(split["train"]), set(split["test"])


def hints(row: dict) -> dict:
    from gpuready.explain import STAGES

    return {
        "stage": row["stage"] if row.get("stage") in STAGES else None,
        "os": row["os"] if row.get("os") in ("linux", "windows", "macos") else None,
        "package": row.get("package") or None,
    }


def explain_row(row: dict, with_hints: bool, machine=None) -> list:
    from gpuready.explain import explain_text

    h = hints(row) if with_hints else {}
    return explain_text(row["log"], machine, h.get("stage"), package=h.get("package"), os=h.get("os"))


def score(rows: list[dict], with_hints: bool, machine=None) -> dict:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter = Counter()
    misses = []
    for r in rows:
        causes = explain_row(r, with_hints, machine)
        got = causes[0].label if causes else "benign"
        want = r["cause"]
        per[want][1] += 1
        per[want][0] += got == want
        if got != want:
            confusion[(want, got)] += 1
            misses.append((r, [c.label for c in causes[:3]]))
    benign = per.get("benign", [0, 0])
    right = sum(a for a, _ in per.values())
    return {
        "n": len(rows),
        "right": right,
        "top1": right / len(rows) if rows else 0.0,
        "benign": benign[1],
        "false_alarms": benign[1] - benign[0],
        "per": dict(per),
        "confusion": confusion,
        "misses": misses,
    }


def machine_for(os_name: str):
    if not os_name:
        return None
    from gpuready.machine import Machine

    names = {"windows": "windows-rtx3060.json", "macos": "macos-arm.json", "linux": "linux-rtx4090.json"}
    path = ROOT / "tests" / "machines" / names[os_name]
    return Machine.load(path)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--misses", action="store_true", help="list the TRAIN misses")
    ap.add_argument("--file", default="", help="score only the rows of this corpus file (a new batch, before rules are written from it)")
    ap.add_argument("--show", help="print one TRAIN row's log and causes")
    ap.add_argument("--os", default="", help="explain with a saved machine of this OS (windows|macos|linux)")
    ap.add_argument("--label", default="", help="with --misses: only rows of this expected label")
    ap.add_argument("--nohints", action="store_true", help="with --misses: the misses without hints")
    ap.add_argument("--confusion", action="store_true", help="print the TEST confusion counts (expected, got, n) as a Markdown table")
    args = ap.parse_args(argv)
    rows, train, test = load()
    machine = machine_for(args.os)
    if args.show:
        if args.show in test:
            print(f"{args.show} is a TEST row: not shown.")
            return 2
        row = next(r for r in rows if r["id"] == args.show)
        print(json.dumps({k: v for k, v in row.items() if k != "log"}, indent=1))
        print("-" * 80)
        print(row["log"])
        print("-" * 80)
        for h in (True, False):
            for c in explain_row(row, h, machine):
                print(f"{'hints' if h else 'plain'}: {c.label} {c.confidence} {c.signature} {[e.line for e in c.evidence]}")
        return 0
    if args.file:
        rows = [r for r in rows if r["_file"] == args.file]
        if not rows:
            print(f"no rows from {args.file} in {CORPUS}")
            return 2
    tr = [r for r in rows if r["id"] in train]
    te = [r for r in rows if r["id"] in test]
    for name, part in (("train", tr), ("test", te)):
        for h in (True, False):
            s = score(part, h, machine)
            print(f"{name:5s} {'hints' if h else 'plain'}: top-1 {s['right']}/{s['n']} = {s['top1']:.1%}; "
                  f"false alarms {s['false_alarms']}/{s['benign']}")
            if name == "test" and h:
                print("  test per label:", ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(s["per"].items())))
                if args.confusion:
                    print("| expected | got | rows |\n|---|---|---|")
                    for (want, got), n in sorted(s["confusion"].items()):
                        print(f"| {want} | {got} | {n} |")
            if name == "train" and args.misses and h != args.nohints:
                for r, got in s["misses"]:
                    if args.label and r["cause"] != args.label:
                        continue
                    print(f"  MISS {r['id']:8s} {r['package']:18.18s} {r['os']:7s} {r['stage']:7s} want {r['cause']:24s} got {got}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
