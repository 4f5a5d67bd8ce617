"""`gpuready fleet doctor --machine` / `fleet plan` / `build --for-fleet` on saved machines, and the
pieces every fleet source shares: the comparison, the names, the renderers, the node runner.

tests/data/fleet/machines/ holds four saved machines derived from the H200 test machine: gpu-a and
gpu-b alike, gpu-c with an RTX A6000 (CC 8.6), gpu-d with driver 550 and a CPU-only torch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpuready.findings import Finding
from gpuready.fleet import differ, noderun, render
from gpuready.fleet.model import ERROR, OK, FleetReport, NodeReport, finding_from_dict, parse_doctor_json
from gpuready.fleet.saved import gather as gather_saved
from gpuready.machine import Machine

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fleet"
FLEET = DATA / "machines"


def run_cli(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {})}
    return subprocess.run([sys.executable, "-m", "gpuready", *args], capture_output=True, text=True, timeout=timeout,
                          env=full, cwd=str(ROOT))


@pytest.fixture(scope="module")
def saved_report() -> FleetReport:
    r = gather_saved([FLEET])
    differ.finish(r)
    return r


def test_saved_fleet_puts_the_odd_nodes_on_top(saved_report):
    by_key = {d.key: d for d in saved_report.differences}
    assert [n.name for n in saved_report.nodes] == ["gpu-a", "gpu-b", "gpu-c", "gpu-d"]
    assert by_key["driver"].odd == (("gpu-d", "550.54.15"),) and by_key["driver"].common == "580.159.04"
    assert by_key["gpus"].odd_nodes == ("gpu-c",)
    torch = by_key["framework:torch"]
    assert torch.odd_nodes == ("gpu-d",) and "2.5.1+cpu" in torch.odd[0][1] and "cpu_only_build" in torch.odd[0][1]
    assert "works on the GPU" in torch.common
    assert by_key["problem:driver_too_old"].odd_nodes == ("gpu-d",)
    keys = [d.key for d in saved_report.differences]
    assert keys.index("driver") < keys.index("gpus") < keys.index("framework:torch")  # the driver first
    assert "cudnn" not in by_key and "python" not in by_key  # what is the same is not a difference


def test_same_nodes_have_no_differences():
    m = Machine.load(FLEET / "gpu-a.json")
    nodes = [NodeReport(name=n, machine=m) for n in ("x", "y", "z")]
    assert differ.differences(nodes) == []
    assert differ.differences(nodes[:1]) == []  # one node: nothing to compare


def test_unique_names_for_nodes_on_one_host():
    names = differ.unique_names(["vm", "vm", "vm", "gpu1"], [("head",), ("w1",), (), ()], ["a" * 8, "b" * 8, "c1d2e3f4", "d" * 8])
    assert names == ["vm/head", "vm/w1", "vm/c1d2e3", "gpu1"]
    assert differ.unique_names(["vm", "vm"], [("x",), ("x",)], ["1", "2"]) == ["vm/x#1", "vm/x#2"]


def test_terminal_table_differences_before_the_table(saved_report):
    from rich.console import Console

    con = Console(record=True, width=200, color_system=None)
    render.print_report(saved_report, con)
    text = con.export_text()
    assert text.index("What differs") < text.index("NVIDIA driver: 550.54.15 on gpu-d") < text.index("GPUs (CC)")
    assert "torch 2.5.1+cpu CPU-only" in text
    assert "x driver_too_old: JAX, CuPy" in text
    assert "difference(s)" in text.splitlines()[-1]


def test_cli_saved_machines_json_markdown_and_exit_codes():
    r = run_cli("fleet", "doctor", "--machine", str(FLEET), "--json")
    assert r.returncode == 1, r.stderr  # gpu-d has problems
    data = json.loads(r.stdout)
    assert data["schema"] == "gpuready.fleet" and data["summary"]["nodes"] == 4 and data["summary"]["reported"] == 4
    assert data["differences"][0]["key"] == "driver" and data["differences"][0]["odd"] == [{"node": "gpu-d", "value": "550.54.15"}]
    node = data["nodes"][3]
    assert node["name"] == "gpu-d" and node["state"] == OK and node["machine"]["driver"]["version"] == "550.54.15"
    assert Machine.from_dict(node["machine"]).framework("torch").version == "2.5.1+cpu"
    md = run_cli("fleet", "doctor", "--machine", str(FLEET / "gpu-a.json"), "--machine", str(FLEET / "gpu-d.json"), "--markdown")
    assert md.returncode == 1
    assert md.stdout.index("### What differs") < md.stdout.index("| node |")
    assert "**differs**: NVIDIA driver: 550.54.15 on gpu-d; 580.159.04 on gpu-a" in md.stdout
    assert "| **550.54.15 / CUDA 12.4** |" in md.stdout  # the odd cell is bold


def test_cli_two_alike_machines_pass():
    r = run_cli("fleet", "doctor", "--machine", str(DATA.parent.parent / "machines" / "no-gpu.json"),
                "--machine", str(DATA.parent.parent / "machines" / "no-gpu.json"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "All nodes agree" in r.stdout


@pytest.mark.parametrize("args, words", [
    (["--machine", "nope.json"], "cannot read"),
    (["--json", "--markdown", "--machine", "x"], "choose one of --json and --markdown"),
    (["--slurm", "--machine", "x"], "choose one of --ray, --slurm and --machine"),
    (["--partition", "gpu"], "go with --slurm"),
    (["--ray", "not-an-address"], "expected HOST:PORT"),
    (["--ray", "127.0.0.9:9"], "no Ray cluster at 127.0.0.9:9"),
    (["--timeout", "0", "--machine", "x"], "0"),
])
def test_cli_bad_usage_is_exit_2(args, words):
    start = time.monotonic()
    r = run_cli("fleet", "doctor", *args)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert words in r.stderr and "Traceback" not in r.stderr
    assert time.monotonic() - start < 30  # a dead address fails fast (ray.init alone retries for ever)


def test_cli_unreadable_machine_file_is_exit_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    r = run_cli("fleet", "doctor", "--machine", str(bad))
    assert r.returncode == 2 and "not valid JSON" in r.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    r = run_cli("fleet", "doctor", "--machine", str(empty))
    assert r.returncode == 2 and "no *.json machine files" in r.stderr


def test_a_saved_doctor_output_is_a_machine_too(tmp_path):
    out = run_cli("doctor", "--json", "--machine", str(FLEET / "gpu-d.json"))
    (tmp_path / "gpu-d-doctor.json").write_text(out.stdout)
    r = gather_saved([tmp_path / "gpu-d-doctor.json", FLEET / "gpu-a.json"])
    assert [n.state for n in r.nodes] == [OK, OK]
    assert any(f.label == "driver_too_old" for f in r.nodes[0].findings)  # its own findings, kept


def test_report_survives_a_non_utf8_console():
    r = run_cli("fleet", "doctor", "--machine", str(FLEET), env={"PYTHONIOENCODING": "cp1252", "LC_ALL": "C"})
    assert r.returncode == 1, r.stderr
    assert "What differs" in r.stdout


def test_node_text_cannot_drive_the_terminal():
    assert render.clean("evil\x1b[2Jhost\x07") == "evil\\x1b[2Jhost\\x07"


def test_findings_from_a_newer_node_are_kept():
    f = finding_from_dict({"label": "some_future_label", "severity": "weird", "subject": "X", "message": "m",
                           "evidence": "one line", "details": {"a": 1}})
    assert f.label == "other" and f.details["label_from_node"] == "some_future_label"
    assert f.severity == "warning" and f.evidence == ("one line",)
    with pytest.raises(Exception):
        parse_doctor_json({"findings": []}, where="node x")


def test_unreported_nodes_are_rows_and_fail_the_run():
    m = Machine.load(FLEET / "gpu-a.json")
    r = FleetReport(source="test", nodes=[NodeReport(name="a", machine=m), NodeReport(name="b", state="timeout", reason="no report within 9 s")])
    differ.finish(r)
    assert not r.ok and r.differences == []
    top = render.on_top(r)
    assert top == [("error", "b: TIMED OUT: no report within 9 s")]
    md = render.markdown(r)
    assert "| b | TIMED OUT |  | no report within 9 s |  |" in md


def test_framework_verdicts():
    m = Machine.load(FLEET / "gpu-d.json")
    torch = m.framework("torch")
    finding = Finding("cpu_only_build", "warning", f"PyTorch {torch.version}", "cpu")
    assert differ.framework_verdict(torch, (finding,)) == "cpu_only_build"
    assert differ.framework_verdict(torch) == "CPU-only build"
    assert differ.framework_fact(None) == "not installed"


# --- the node runner (what a Ray task runs on each node) ---------------------------------------


def test_noderun_reports_the_doctor_json(monkeypatch):
    monkeypatch.setenv(noderun.MACHINE_ENV, str(FLEET / "gpu-c.json"))
    env = noderun.doctor_here({"timeout": 60})
    assert env["error"] == "" and env["exit_code"] == 1 and env["machine_override"].endswith("gpu-c.json")
    machine, findings = parse_doctor_json(env["doctor"], where="t")
    assert machine.gpus[0].compute_capability == "8.6" and findings


def test_noderun_without_gpuready(tmp_path):
    bare = Path("/usr/bin/python3")
    if not bare.is_file() or subprocess.run([str(bare), "-c", "import gpuready"], capture_output=True).returncode == 0:
        pytest.skip("needs a Python without gpuready")
    env = noderun.doctor_here({"timeout": 30, "gpuready_python": str(bare)})
    assert env["doctor"] is None and env["error"] == f"gpuready is not installed in {bare}"


def test_noderun_timeout_kills_the_doctor(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(DATA / "slow_torch"))
    monkeypatch.setenv("GPUREADY_FLEET_SLOW", "60")
    start = time.monotonic()
    env = noderun.doctor_here({"timeout": 4, "framework_timeout": 60})
    assert env["timed_out"] and env["doctor"] is None and "did not finish within 4 s" in env["error"]
    assert time.monotonic() - start < 15
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", "gpuready doctor --json --timeout 60"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "the doctor (or its framework child) outlived the timeout"


def test_node_options_keep_imports_inside_the_node_timeout():
    from gpuready.fleet.ray_backend import node_options, node_tags

    o = node_options(180, None, None)
    assert o["timeout"] == 177 and o["framework_timeout"] == 60
    o = node_options(10, None, "/opt/venv/bin/python")
    assert o["framework_timeout"] < o["timeout"] < 10 and o["python"] == "/opt/venv/bin/python"
    assert node_tags({"CPU": 2, "node:1.2.3.4": 1, "node:__internal_head__": 1, "a100": 1, "memory": 5}) == ("head", "a100")


# --- fleet plan and build --for-fleet -------------------------------------------------------------


def test_fleet_plan_one_plan_per_kind_and_a_shared_build():
    r = run_cli("fleet", "plan", "torch", "dlib", "--machines", str(FLEET), "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    kinds = {tuple(k["machines"]): k for k in data["kinds"]}
    assert set(kinds) == {("gpu-a", "gpu-b"), ("gpu-c",), ("gpu-d",)}  # gpu-a and gpu-b are one kind: planned once
    assert kinds[("gpu-d",)]["plan"]["packages"][0]["variant"] != kinds[("gpu-a", "gpu-b")]["plan"]["packages"][0]["variant"]
    shared = [b for b in data["fleet_builds"] if b["shared"]]
    assert len(shared) == 1 and shared[0]["package"] == "dlib" and shared[0]["archs"] == ["8.6", "9.0"]
    assert set(shared[0]["kinds"]) == {kinds[("gpu-a", "gpu-b")]["name"], kinds[("gpu-c",)]["name"]}
    text = run_cli("fleet", "plan", "torch", "dlib", "--machines", str(FLEET))
    assert "one wheel for 2 kinds: dlib 20.0.1 for CC 8.6, 9.0" in text.stdout


def test_fleet_plan_shares_what_every_kind_installs_alike():
    from gpuready.fleet.kinds import fleet_plan

    a, c = Machine.load(FLEET / "gpu-a.json"), Machine.load(FLEET / "gpu-c.json")
    res = fleet_plan([("a", a), ("c", c)], ["torch"])
    assert len(res["kinds"]) == 2
    assert [s["package"] for s in res["shared"]] == ["torch"] and res["differs"] == []


def test_build_for_fleet_takes_the_union_of_the_archs():
    r = run_cli("build", "dlib", "--for-fleet", "--machines", str(FLEET), "--dry-run", "--json")
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    assert data["settings"]["cuda_arch_bin"] == ["8.6", "9.0"]
    assert "sm86.sm90" in data["cache_key"]["local_label"]
    assert "compute capability 8.6, 9.0 (from 4 saved machine(s))" not in r.stderr  # quiet with --json


@pytest.mark.parametrize("args, words", [
    (["--for-fleet", "--cuda-arch", "8.0", "--machines", str(FLEET)], "leave out --cuda-arch"),
    (["--machines", str(FLEET)], "go with --for-fleet"),
    (["--for-fleet"], "needs the fleet"),
    (["--for-fleet", "--machines", str(ROOT / "tests" / "machines" / "no-gpu.json")], "no GPU with a known compute capability"),
])
def test_build_for_fleet_bad_usage(args, words):
    r = run_cli("build", "dlib", "--dry-run", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert words in r.stderr


def test_no_cluster_anywhere_is_bad_usage(tmp_path):
    """No --ray address, no RAY_ADDRESS, no cluster `ray start` made here: say so (ray.init() would start a new one)."""
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["TMPDIR"] = str(tmp_path)  # where Ray looks for ray/ray_current_cluster
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor"], capture_output=True, text=True, timeout=60,
                       env=env, cwd=str(ROOT))
    assert r.returncode == 2 and "no Ray cluster found" in r.stderr, r.stderr
