"""Explain on the labelled corpus of real logs (tests/data/corpus/*.jsonl), judged on a held-out split.

The corpus rows come from public issue threads (each with its source URL); tests/data/corpus/split.json
froze 30% of them as the TEST split (by a hash of the source URL) before any rule was written from
them. Rules are written from the train rows only; the test rows are scored as numbers, never read
one by one. This test prints top-1 accuracy on both splits, with and without the rows' hints
(stage/os/package, as --stage/--os/--package would give them), false alarms on the harmless rows,
and per-label test figures; it fails below the measured floor of the test split (MIN_TEST_TOP1; the
target is 90%, not reached yet) or above 5% false alarms on the benign rows of either split.

It also checks two things every log must get, whatever reads it:
- its label comes from the log, not from the OS of the machine running gpuready (the corpus
  explained with saved Windows and macOS machines, and the host OS patched, gives the same labels);
- complete, successful build logs (dlib, OpenCV, from the H200 and the build host) give no cause,
  and build's own log reader and explain agree on the label of every real build log.
"""

from __future__ import annotations

import json
import platform
import sys
from collections import Counter, defaultdict
from pathlib import Path

import pytest

from gpuready.explain import STAGES, explain_blocks, explain_text
from gpuready.explain.scanner import blocks_from_text
from gpuready.machine import Machine
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "corpus"
TARGET_TEST_TOP1 = 0.90  # what issue 9 asks for; not reached yet (docs/explain.md has the figures)
# The measured floor of the held-out split. 2026-12-03 (rounds 3-8): 597/738 = 80.9% with hints, 587/738 = 79.5%
# without; 373 of the 738 test rows are of the 1,145 logs collected that day, each batch frozen into the split before
# any rule was written from it (batches scored 70.6%, 76.9%, 71.8%, 73.1%, 81.8% and 67.4% on arrival). The floor
# fell from 83%/81% (2026-12-02, 365 rows) because the new rows are harder (290/373 = 77.7%), not because rules
# lost rows: the 365 rows of 2026-12-02 score 307 (was 306) with hints, 298 (was 299) without. A rule change that
# loses test rows fails here.
MIN_TEST_TOP1 = {True: 0.80, False: 0.785}
MAX_FALSE_ALARMS = 0.05


def _rows() -> list[dict]:
    out = []
    for f in sorted(CORPUS.glob("*.jsonl")):
        out += [json.loads(line) for line in f.read_text(encoding="utf-8").splitlines() if line.strip()]
    return out


def _split() -> dict[str, set[str]]:
    data = json.loads((CORPUS / "split.json").read_text(encoding="utf-8"))
    return {"train": set(data["train"]), "test": set(data["test"])}


def _top(row: dict, hints: bool, machine: Machine | None = None, explicit: bool = True) -> str:
    kw = {}
    if hints:
        kw = {
            "stage": row["stage"] if row.get("stage") in STAGES else None,
            "os": row["os"] if row.get("os") in ("linux", "windows", "macos") else None,
            "package": row.get("package") or None,
        }
    causes = explain_blocks(blocks_from_text(row["log"]), machine, kw.get("stage"), package=kw.get("package"),
                            os=kw.get("os"), machine_explicit=explicit).causes
    return causes[0].label if causes else "benign"


def _score(rows: list[dict], hints: bool) -> dict:
    per: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter = Counter()
    for r in rows:
        got, want = _top(r, hints), r["cause"]
        per[want][1] += 1
        per[want][0] += got == want
        if got != want:
            confusion[(want, got)] += 1
    right = sum(a for a, _ in per.values())
    benign = per.get("benign", [0, 0])
    return {"n": len(rows), "right": right, "top1": right / len(rows), "benign": benign[1],
            "false_alarms": benign[1] - benign[0], "per": dict(per), "confusion": confusion}


@pytest.fixture(scope="module")
def scores() -> dict[tuple[str, bool], dict]:
    rows, split = _rows(), _split()
    parts = {name: [r for r in rows if r["id"] in ids] for name, ids in split.items()}
    return {(name, hints): _score(part, hints) for name, part in parts.items() for hints in (True, False)}


def test_every_row_is_in_the_frozen_split():
    """tools/corpus_split.py assigns new rows; a row outside split.json would be scored nowhere."""
    split = _split()
    assert not split["train"] & split["test"]
    unassigned = [r["id"] for r in _rows() if r["id"] not in split["train"] | split["test"]]
    assert not unassigned, f"run tools/corpus_split.py: {unassigned[:10]}"


def test_heldout_accuracy(scores, capsys):
    with capsys.disabled():
        print()
        for (name, hints), s in scores.items():
            print(f"explain on the corpus, {name:5s} split, {'with' if hints else 'without'} hints: top-1 "
                  f"{s['right']}/{s['n']} = {s['top1']:.1%}; false alarms {s['false_alarms']}/{s['benign']} benign rows")
        test = scores[("test", True)]
        print("  test split per label: " + ", ".join(f"{k} {a}/{b}" for k, (a, b) in sorted(test["per"].items())))
    for (name, hints), s in scores.items():
        assert s["false_alarms"] <= MAX_FALSE_ALARMS * s["benign"], (name, hints, s["false_alarms"])
    for hints in (True, False):
        s = scores[("test", hints)]
        assert s["top1"] >= MIN_TEST_TOP1[hints], (
            f"test split top-1 {s['top1']:.1%} ({'with' if hints else 'without'} hints) fell below the measured floor "
            f"{MIN_TEST_TOP1[hints]:.0%} (target {TARGET_TEST_TOP1:.0%})")


# --- the log's facts, not the host's --------------------------------------------------------------


@pytest.mark.parametrize("machine_file,system,sys_platform", [
    ("win10-gtx1060-driver411.json", "Windows", "win32"),
    ("macos-arm64.json", "Darwin", "darwin"),
])
def test_labels_do_not_depend_on_the_machine_reading_the_log(machine_file, system, sys_platform, monkeypatch):
    """`gpuready explain build.log` on a Windows laptop or a Mac probes that machine (not explicitly the
    log's): a log without OS clues must keep the label it gets with no machine at all."""
    machine = Machine.load(ROOT / "tests" / "machines" / machine_file)
    plain = {r["id"]: _top(r, False) for r in _rows()}
    monkeypatch.setattr(platform, "system", lambda: system)
    monkeypatch.setattr(sys, "platform", sys_platform)
    changed = [i for i, r in ((r["id"], r) for r in _rows()) if _top(r, False, machine, explicit=False) != plain[i]]
    train = _split()["train"]
    assert not changed, f"{len(changed)} rows change label on a {system} host; train rows among them: {[i for i in changed if i in train][:10]}"


# --- complete build logs ------------------------------------------------------------------------------

SUCCESSFUL_BUILDS = sorted(
    [ROOT / "docs" / "build-h200-2026-11-22" / "dlib-build.log", ROOT / "docs" / "build-h200-2026-11-22" / "opencv-build.log"]
    + [p for p in (ROOT / "tests" / "data" / "build").glob("*.log") if p.name.endswith("cuda-on.log") or "fixed" in p.name or "summary" in p.name]
)


@pytest.mark.parametrize("path", SUCCESSFUL_BUILDS, ids=lambda p: p.name)
def test_successful_build_logs_give_no_cause(path: Path):
    """A real, complete, successful build log: warnings, quoted source lines (std::bad_alloc in a g++
    note) and tracebacks the build prints as warnings are not causes."""
    assert [c.label for c in explain_text(path.read_text(encoding="utf-8", errors="replace"))] == []


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "data" / "build").glob("*.log")), ids=lambda p: p.name)
def test_build_log_reader_and_explain_agree(path: Path):
    """One fact, one label: the build stage's own log reader and explain name the same first cause."""
    from gpuready.build.logread import read_log_file

    verdict = read_log_file(str(path), "dlib" if "dlib" in path.name else "opencv")
    build_label = verdict.problems[0].label if verdict.problems else ""
    causes = explain_text(path.read_text(encoding="utf-8", errors="replace"))
    assert (causes[0].label if causes else "") == build_label
