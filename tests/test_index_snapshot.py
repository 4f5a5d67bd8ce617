"""Offline, against the dated index snapshot: no plan prints a pin the index has no file for.

tools/check_knowledge.py (with network) reads PyPI and the stored copies of the PyTorch index and writes
tests/data/index-snapshot.json and src/gpuready/knowledge/data/availability.json. These tests check, without
network, that the snapshot still covers the data (a data edit without re-running the checker fails here) and
that every pin the planner prints for the saved machines and the table-driven scenarios has a file for that
machine's Python, OS and CPU.
"""

from __future__ import annotations

import json
import sys
from functools import lru_cache

import pytest

from gpuready.knowledge import availability
from gpuready.plan import make_plan
from gpuready.plan.indexes import IndexConfig
from tests.conftest import MACHINES, ROOT, load_machine

sys.path.insert(0, str(ROOT / "tools"))

from knowcheck.rows import all_pins, parse_argv, searches_pypi  # noqa: E402
from knowcheck.snapshot import Snapshot, pin_key, target_key  # noqa: E402

RERUN = "re-run `python tools/check_knowledge.py` after editing the knowledge (docs/plan.md, 'Refreshing the knowledge')"


@lru_cache(maxsize=1)
def snapshot() -> Snapshot:
    return Snapshot.load()


def test_snapshot_is_dated_and_clean():
    snap = snapshot()
    assert snap.checked and snap.data["generator"] == "tools/check_knowledge.py"
    assert snap.data["problems"] == [], "the checker found facts that disagree with the index:\n" + "\n".join(snap.data["problems"])
    assert availability.checked() == snap.checked, "availability.json and the snapshot come from different checker runs"


def test_snapshot_covers_every_pin_of_the_data():
    rows = snapshot().data["rows"]
    missing = [pin_key(p.index, p.dist, p.version or p.specifier, p.extras, p.kind) for p in all_pins().pins.values()]
    missing = [k for k in missing if k not in rows]
    assert not missing, f"{len(missing)} pins of the data were never checked (e.g. {missing[:5]}): {RERUN}"


def test_every_pytorch_index_row_says_whether_it_was_confirmed_and_from_where():
    snap = snapshot()
    rows = {k: r for k, r in snap.data["rows"].items() if k.startswith("pytorch:") and r.get("via") != "pypi"}
    assert rows
    assert {r["status"] for r in rows.values()} <= {"confirmed", "unconfirmable"}
    confirmed = [k for k, r in rows.items() if r["status"] == "confirmed" and r.get("via") != "pypi"]
    assert len(confirmed) >= 20
    for k in confirmed:
        index, dist, version, _ = k.split("|")
        entries = [e for v, es in snap.files(index, dist).items() if v.split("+")[0] == version.split("+")[0] for e in es]
        assert entries and all(e[2] in snap.data["sources"] for e in entries), k
    for src in snap.data["sources"].values():
        assert src["source"] and "seen" in src


def test_unconfirmable_rows_stay_out_of_the_availability_table():
    rows = snapshot().data["rows"]
    for key, row in rows.items():
        if row["status"] == "unconfirmable":
            assert availability.entry(key) is None, key


# --- plans -------------------------------------------------------------------------------------------------


def _check_plan(plan, machine, label: str) -> list[str]:
    """Every pin of every install command, looked up in the snapshot for this machine's Python/OS/CPU."""
    snap = snapshot()
    py = ".".join(machine.python.version.split(".")[:2])
    os_name = machine.os.system if machine.os.system in ("linux", "windows", "macos") else "linux"
    arch = machine.os.arch or "x86_64"
    bad = []
    for p in plan.packages:
        argv = list(p.install)
        if not argv:
            continue
        if argv[:2] == ["gpuready", "build"]:
            dist = p.dist or p.name
            version = argv[argv.index("--version") + 1]
            ans = snap.lookup("pypi", dist, version, py, os_name, arch, sdist=True)
            if not ans.ok:
                bad.append(f"{label}: {dist}=={version} (source build) has no sdist on PyPI")
            continue
        reqs, index = parse_argv(argv)
        for n, (dist, extras, op, version) in enumerate(reqs):
            idx = index if n == 0 else "pypi"
            if op != "==":
                key = pin_key("pypi", dist, op + version, (), "requirement")
                if not snap.requirement(key):
                    bad.append(f"{label}: {dist}{op}{version}: the checker resolved no version of it")
                continue
            # a dependency may be an sdist (pip builds it); so may dlib's CPU build from source
            ans = snap.lookup(idx, dist, version, py, os_name, arch, sdist=n > 0 or p.name in ("dlib", "opencv"))
            if not ans.ok and idx != "pypi" and searches_pypi(argv):  # -f / --extra-index-url: PyPI is searched too
                ans = snap.lookup("pypi", dist, version, py, os_name, arch)
            if not ans.ok:
                bad.append(f"{label}: {dist}=={version} on {idx} has no file for Python {py} {os_name} {arch} "
                           f"({ans.status}; snapshot of {snap.checked})")
                continue
            key = pin_key(idx, dist, version, extras, "wheel")
            problems = snap.dep_problems(key, target_key(py, os_name, arch))
            if problems:
                bad.append(f"{label}: {dist}[{','.join(extras)}]=={version}: {'; '.join(problems)}")
    return bad


REQUEST_SETS = (
    ["torch", "torchvision", "torchaudio"],
    ["tensorflow"],
    ["jax"],
    ["cupy"],
    ["onnxruntime"],
    ["torch", "tensorflow", "jax", "cupy", "onnxruntime"],
    ["dlib", "face_recognition"],
    ["opencv"],
    ["theano"],
)


@pytest.mark.parametrize("name", sorted(p.stem for p in MACHINES.glob("*.json")))
def test_plans_for_saved_machines_pin_only_files_that_exist(name):
    machine = load_machine(name)
    bad = []
    for reqs in REQUEST_SETS:
        bad += _check_plan(make_plan(machine, reqs, index_config=IndexConfig()), machine, f"{name} {' '.join(reqs)}")
    assert not bad, "\n".join(bad)


def test_plans_for_every_scenario_pin_only_files_that_exist():
    from tests.test_plan import SCENARIOS

    bad = []
    for s in SCENARIOS:
        machine = s.machine()
        plan = make_plan(machine, s.requests, index_config=IndexConfig())
        from gpuready.plan.target import apply_overrides  # noqa: F401  (scenarios build their machines directly)

        bad += _check_plan(plan, machine, s.id)
    assert not bad, "\n".join(bad)


def test_availability_json_is_compact_and_sorted():
    text = (ROOT / "src" / "gpuready" / "knowledge" / "data" / "availability.json").read_text()
    data = json.loads(text)
    keys = list(data["pins"])
    assert keys == sorted(keys) and len(text.splitlines()) < len(keys) + 20  # one pin per line: reviewable diffs
