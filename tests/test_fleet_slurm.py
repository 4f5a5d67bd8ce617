"""`gpuready fleet doctor --slurm`: srun's labelled output put back together per node.

The recordings in tests/data/fleet/srun/ were made on a real single-node Slurm 22.05 (Debian's
slurm-wlm, started by tools/slurm-local.sh) on the no-GPU dev box, 2026-12-02. A real Slurm run is
opt-in: GPUREADY_TEST_SLURM=1 (tools/slurm-local.sh start first; `.ci/run` does both when
GPUREADY_TEST_SLURM=1 is set).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpuready.fleet import differ, slurm
from gpuready.fleet.model import NO_GPUREADY, OK, TIMEOUT

ROOT = Path(__file__).resolve().parents[1]
REC = ROOT / "tests" / "data" / "fleet" / "srun"
FLEET = ROOT / "tests" / "data" / "fleet" / "machines"


def recorded(name: str) -> tuple[str, str]:
    return (REC / f"{name}.out").read_text(), (REC / f"{name}.err").read_text()


def test_one_real_node():
    out, err = recorded("one-node-cpu-torch")
    r = slurm.parse(out, err, 1, source="slurm")
    assert [n.state for n in r.nodes] == [OK]
    node = r.nodes[0]
    assert node.name == "vm" and node.node_id == "task 0"
    assert node.machine.framework("torch").version == "2.5.1+cpu"


def test_gpuready_missing_on_the_node():
    out, err = recorded("not-on-path")
    r = slurm.parse(out, err, 1, source="slurm")
    assert [n.state for n in r.nodes] == [NO_GPUREADY]
    assert r.nodes[0].name == "vm" and "not on the PATH there" in r.nodes[0].reason
    assert "No such file or directory" in r.nodes[0].reason


def test_no_allocation_before_the_timeout():
    out, err = recorded("two-nodes-queued")
    r = slurm.parse(out, err, 2, source="slurm", timed_out=True, timeout=6)
    assert [n.state for n in r.nodes] == [TIMEOUT, TIMEOUT]
    assert "queued and waiting for resources" in r.nodes[0].reason or "not available" in r.nodes[0].reason


def _doctor_json(machine: Path) -> str:
    res = subprocess.run([sys.executable, "-m", "gpuready", "doctor", "--json", "--no-redact", "--machine", str(machine)],
                         capture_output=True, text=True, timeout=120)
    return res.stdout


def test_interleaved_tasks_are_put_back_together():
    """srun interleaves the tasks' lines; --label keeps them apart (three tasks, round-robin)."""
    texts = [_doctor_json(FLEET / f"{n}.json").splitlines() for n in ("gpu-a", "gpu-c", "gpu-d")]
    lines = []
    for i in range(max(len(t) for t in texts)):
        for task, t in enumerate(texts):
            if i < len(t):
                lines.append(f"{task}: {t[i]}")
    err = "srun: error: gpu-d: task 2: Exited with exit code 1\n"
    r = slurm.parse("\n".join(lines) + "\n", err, 3, source="slurm")
    assert [n.state for n in r.nodes] == [OK, OK, OK]
    assert [n.name for n in r.nodes] == ["gpu-a", "gpu-c", "gpu-d"]  # the machines' own host names
    differ.finish(r)
    keys = {d.key: d for d in r.differences}
    assert keys["driver"].odd_nodes == ("gpu-d",) and keys["gpus"].odd_nodes == ("gpu-c",)


def test_task_errors_name_nodes_and_ranges():
    err = "srun: error: n1: tasks 0-1,3: Exited with exit code 1\nsrun: error: n2: task 2: Killed\n"
    assert slurm.task_errors(err) == {0: ("n1", "Exited with exit code 1"), 1: ("n1", "Exited with exit code 1"),
                                       3: ("n1", "Exited with exit code 1"), 2: ("n2", "Killed")}


def test_srun_command_line():
    argv = slurm.srun_argv(4, "gpu", 180, "/opt/venv/bin/python", None, "gpuready-fleet-x")
    assert argv[:6] == ["srun", "--nodes", "4", "--ntasks-per-node", "1", "--label"]
    assert "--partition" in argv and argv[argv.index("--partition") + 1] == "gpu"
    assert "--time=3" in argv and "--cpus-per-task=1" in argv and not any(a.startswith("--gres") for a in argv)
    assert argv[argv.index("gpuready"):] == ["gpuready", "doctor", "--json", "--no-redact", "--timeout", "60", "--python", "/opt/venv/bin/python"]


def test_cli_through_a_recorded_srun(tmp_path):
    argv_file = tmp_path / "argv"
    env = {**os.environ, "GPUREADY_FAKE_SRUN": "one-node-cpu-torch", "GPUREADY_FAKE_SRUN_ARGV": str(argv_file)}
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--slurm", "--nodes", "1", "--partition", "debug",
                        "--srun", str(REC / "fake-srun"), "--json"], capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["source"] == "slurm (1 node(s), partition debug)" and data["nodes"][0]["state"] == OK
    sent = argv_file.read_text().split()
    assert sent[:5] == ["--nodes", "1", "--ntasks-per-node", "1", "--label"] and "gpuready" in sent


def test_cli_without_srun_is_bad_usage():
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--slurm", "--srun", "/nonexistent/srun"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "not found" in r.stderr


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("GPUREADY_TEST_SLURM") != "1", reason="real Slurm: set GPUREADY_TEST_SLURM=1 (tools/slurm-local.sh start)")
def test_real_slurm_single_node(tmp_path):
    if not shutil.which("srun") or subprocess.run(["sinfo", "-h"], capture_output=True, timeout=20).returncode != 0:
        pytest.fail("GPUREADY_TEST_SLURM=1 but no Slurm answers here (run tools/slurm-local.sh start)")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
           "PYTHONPATH": str(ROOT / "tests" / "data" / "fleet" / "cpu_torch")}
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--slurm", "--nodes", "1", "--timeout", "60", "--json"],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode in (0, 1), r.stderr
    data = json.loads(r.stdout)
    node = data["nodes"][0]
    assert node["state"] == OK, node
    assert any(f["name"] == "torch" and f["version"] == "2.5.1+cpu" for f in node["machine"]["frameworks"])
    # more nodes than the cluster has: a row per task that says so, and no job left behind
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--slurm", "--nodes", "2", "--timeout", "8", "--json"],
                       capture_output=True, text=True, timeout=60, env=env)
    data = json.loads(r.stdout)
    assert r.returncode == 1 and [n["state"] for n in data["nodes"]] == [TIMEOUT, TIMEOUT]
    queue = subprocess.run(["squeue", "-h", "-n", "gpuready-fleet"], capture_output=True, text=True, timeout=20)
    left = subprocess.run(["squeue", "-h", "-o", "%j"], capture_output=True, text=True, timeout=20).stdout
    assert queue.returncode == 0 and "gpuready-fleet-" not in left


@pytest.mark.skipif(os.environ.get("GPUREADY_TEST_SLURM") != "1", reason="real Slurm: set GPUREADY_TEST_SLURM=1 (tools/slurm-local.sh start)")
def test_real_slurm_refusal_is_bad_usage():
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--slurm", "--partition", "no-such-partition"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "Invalid partition" in r.stderr, (r.stdout, r.stderr)
