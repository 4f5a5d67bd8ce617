"""`gpuready fleet doctor --ray` on a real local Ray cluster of four nodes (tests/ray_cluster.py):

- head: this environment as it is (no GPU framework);
- cpu: a stand-in CPU-only torch on its PYTHONPATH: the node the table must flag;
- h200: GPUREADY_FLEET_MACHINE set, so its doctor reports the saved H200 machine (driver 580,
  an H200, torch cu130, a second cuDNN): another driver than every other node;
- slow: a torch whose import takes 40 s: a hung import, the node that runs past --timeout, the
  one interrupted with Ctrl-C, and the one killed mid-run.

One cluster for the module (starting it is most of the time: ~30 s on the 2-core CI box); the
test that kills a node runs last.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests import ray_cluster

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "fleet"
H200 = ROOT / "tests" / "machines" / "h200-driver580.json"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster():
    if not ray_cluster.ray_available():
        if os.environ.get("CI"):
            pytest.fail("Ray is not installed: the test extra must bring it (pip install -e '.[test]')")
        pytest.skip("Ray is not installed")
    if not ray_cluster.loopback_ok():
        pytest.skip("127.0.0.2 is not a loopback address here")
    c = ray_cluster.start_cluster({
        "cpu": {"PYTHONPATH": str(DATA / "cpu_torch")},
        "h200": {"GPUREADY_FLEET_MACHINE": str(H200)},
        "slow": {"PYTHONPATH": str(DATA / "slow_torch"), "GPUREADY_FLEET_SLOW": "40"},
    })
    yield c
    c.stop()


def fleet(cluster, *args: str, **kw) -> subprocess.Popen:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    env.update(kw.pop("env", {}))
    return subprocess.Popen([sys.executable, "-m", "gpuready", "fleet", "doctor", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT), start_new_session=True)


def finish(p: subprocess.Popen, timeout: float = 90) -> tuple[int, str, str]:
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        out, err = p.communicate()
        pytest.fail(f"fleet doctor hung:\n{err[-3000:]}")
    return p.returncode, out, err


def by_tag(data: dict) -> dict:
    return {next((t for t in n["tags"] if not t.startswith("machine=")), n["name"]): n for n in data["nodes"]}


def test_table_flags_the_odd_nodes(cluster):
    # --ray alone finds the cluster through RAY_ADDRESS, as ray.init() does
    start = time.monotonic()
    code, out, err = finish(fleet(cluster, "--ray", "--json", "--import-timeout", "4", env={"RAY_ADDRESS": cluster.address}))
    seconds = time.monotonic() - start
    assert code == 1, err  # the H200 machine has problems (a CPU-only OpenCV, two cuDNNs)
    data = json.loads(out)
    nodes = by_tag(data)
    assert set(nodes) == {"head", "cpu", "h200", "slow"} and all(n["state"] == "ok" for n in nodes.values()), out[-2000:]
    diffs = {d["key"]: d for d in data["differences"]}
    torch = diffs["framework:torch"]
    odd = {o["node"]: o["value"] for o in torch["odd"]}
    cpu_name, h200_name, slow_name = nodes["cpu"]["name"], nodes["h200"]["name"], nodes["slow"]["name"]
    assert "2.5.1+cpu: CPU-only build" in (odd.get(cpu_name) or torch["common"])
    assert "import hung" in (odd.get(slow_name) or "")  # the hung import is the node's finding, not a lost node
    assert [o["node"] for o in diffs["driver"]["odd"]] == [h200_name] and diffs["driver"]["common"] == "none"
    assert "2 copies" in {o["node"]: o["value"] for o in diffs["cudnn"]["odd"]}[h200_name]
    assert data["source"] == f"ray {cluster.address}"
    assert seconds < 60


def test_a_node_past_the_timeout_is_a_row_that_says_so(cluster):
    start = time.monotonic()
    code, out, err = finish(fleet(cluster, "--ray", cluster.address, "--json", "--timeout", "8", "--import-timeout", "60"))
    assert code == 1, err
    nodes = by_tag(json.loads(out))
    assert nodes["slow"]["state"] == "timeout" and "within" in nodes["slow"]["reason"]
    assert all(nodes[t]["state"] == "ok" for t in ("head", "cpu", "h200"))
    assert time.monotonic() - start < 40


def test_ctrl_c_stops_cleanly(cluster):
    p = fleet(cluster, "--ray", cluster.address, "--import-timeout", "61")
    time.sleep(8)  # connected, tasks running; the slow node is in its 40 s import
    sent = time.monotonic()
    os.killpg(p.pid, signal.SIGINT)
    code, out, err = finish(p, timeout=30)
    assert code == 130 and "interrupted" in err, (code, err[-2000:])
    assert time.monotonic() - sent < 10
    time.sleep(1)
    left = subprocess.run(["pgrep", "-f", "gpuready doctor --json --timeout 61"], capture_output=True, text=True)
    assert left.stdout.strip() == "", "a node's doctor outlived the interrupted run"


def test_a_node_killed_mid_run_is_a_row_that_says_so(cluster):
    p = fleet(cluster, "--ray", cluster.address, "--json", "--timeout", "60", "--import-timeout", "50")
    time.sleep(8)
    killed = time.monotonic()
    cluster.node("slow").kill()
    code, out, err = finish(p)
    assert code == 1, err[-2000:]
    nodes = by_tag(json.loads(out))
    slow = nodes.get("slow") or next(n for n in json.loads(out)["nodes"] if n["address"] == "127.0.0.5")
    assert slow["state"] in ("died", "down"), slow
    assert "died" in slow["reason"] or "dead" in slow["reason"] or "down" in slow["reason"]
    assert all(nodes[t]["state"] == "ok" for t in ("head", "cpu", "h200"))
    assert time.monotonic() - killed < 40  # well before the 60 s timeout: the death is noticed, not waited out
