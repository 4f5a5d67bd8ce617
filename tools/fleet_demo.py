#!/usr/bin/env python3
"""The docs/fleet.md run: a local Ray cluster on this machine, `gpuready fleet doctor` on it, and the
time it takes for N = 1, 2 and 4 nodes.

    .venv/bin/python tools/fleet_demo.py [--out DIR]

Starts the nodes with `ray start --block` through tests/ray_cluster.py (loopback addresses
127.0.0.2..., usage stats off), each with its own environment:

- head    : this environment as it is
- cpu     : a stand-in CPU-only torch on PYTHONPATH (tests/data/fleet/cpu_torch)
- h200    : GPUREADY_FLEET_MACHINE=tests/machines/h200-driver580.json (reports the H200 test machine)
- old     : GPUREADY_FLEET_MACHINE=tests/data/fleet/machines/gpu-d.json (driver 550, a CPU torch)

Prints (and writes into --out) the table, the Markdown and the JSON of the 4-node run, then the
timings: for each N a fresh cluster of N nodes (head first, then the others in the order above),
the first run (Ray starts a worker process on each node) and three more, wall clock of the whole
`gpuready fleet doctor --json` command (Python start, Ray import and connect included).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import ray_cluster  # noqa: E402

WORKERS = {
    "cpu": {"PYTHONPATH": str(ROOT / "tests" / "data" / "fleet" / "cpu_torch")},
    "h200": {"GPUREADY_FLEET_MACHINE": str(ROOT / "tests" / "machines" / "h200-driver580.json")},
    "old": {"GPUREADY_FLEET_MACHINE": str(ROOT / "tests" / "data" / "fleet" / "machines" / "gpu-d.json")},
}


def fleet(address: str, *args: str) -> tuple[float, subprocess.CompletedProcess]:
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "COLUMNS": "150"}
    env.pop("RAY_ADDRESS", None)
    start = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "gpuready", "fleet", "doctor", "--ray", address, *args], capture_output=True,
                       text=True, env=env, cwd=str(ROOT), timeout=600)
    return time.monotonic() - start, r


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    out = args.out
    if out:
        out.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, "
          f"{round(os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30)} GiB, load {os.getloadavg()[0]:.1f}, "
          f"{time.strftime('%Y-%m-%d %H:%M')}", flush=True)

    t0 = time.monotonic()
    cluster = ray_cluster.start_cluster(WORKERS)
    print(f"4-node cluster up in {time.monotonic() - t0:.1f} s at {cluster.address}", flush=True)
    try:
        for fmt, name in (((), "table.txt"), (("--markdown",), "table.md"), (("--json",), "fleet.json")):
            seconds, r = fleet(cluster.address, *fmt)
            print(f"\n$ gpuready fleet doctor --ray {cluster.address} {' '.join(fmt)}   # exit {r.returncode}, {seconds:.1f} s")
            print(r.stdout if name != "fleet.json" else r.stdout[:400] + " ...")
            if out:
                (out / name).write_text(r.stdout)
    finally:
        cluster.stop()

    timings: dict[int, list[float]] = {}
    for n in (1, 2, 4):
        workers = dict(list(WORKERS.items())[: n - 1])
        cluster = ray_cluster.start_cluster(workers)
        try:
            cold, _r = fleet(cluster.address, "--json")  # first run: Ray starts a worker process on each node
            runs = []
            for _ in range(args.repeat):
                seconds, r = fleet(cluster.address, "--json")
                data = json.loads(r.stdout)
                assert data["summary"]["reported"] == n, data["summary"]
                runs.append(seconds)
            timings[n] = [cold, *runs]
            print(f"N={n}: first run {cold:.2f} s; then " + ", ".join(f"{s:.2f}" for s in runs) + f" s (median {statistics.median(runs):.2f} s), "
                  f"load {os.getloadavg()[0]:.1f}", flush=True)
        finally:
            cluster.stop()
    if out:
        (out / "timings.json").write_text(json.dumps({str(k): v for k, v in timings.items()}, indent=2))


if __name__ == "__main__":
    main()
