"""Probe and doctor speed, against the framework imports and torch's collect_env (issue 2).

Run on the machine to measure (the numbers only mean something there):
    python benchmarks/bench_probe.py [--repeat 5] [--json]
It times, in this order, each as wall-clock of a fresh process where the user would pay that:
  - `gpuready probe --no-frameworks --json` (CLI, so interpreter start-up is included) and the in-process
    `probe_machine(frameworks=False)` call;
  - `import X` alone for each installed GPU framework (the slowest one bounds doctor);
  - `gpuready doctor --json` (all frameworks, inspected in parallel children);
  - `python -m torch.utils.collect_env` when torch is installed (the closest existing tool).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from gpuready.probe import probe_machine  # noqa: E402
from gpuready.probe.frameworks import SPECS, find_copies  # noqa: E402
from gpuready.probe.pyenv import python_facts  # noqa: E402

IMPORT_NAME = {"cv2": "cv2"}


def wall(argv: list[str], repeat: int, env: dict | None = None) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, timeout=600)
        times.append(time.perf_counter() - start)
    return times


def summary(times: list[float]) -> dict:
    return {"median_s": round(statistics.median(times), 3), "min_s": round(min(times), 3), "runs": len(times)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    py = sys.executable
    result: dict = {}

    probe_machine(frameworks=False)  # warm the file-system caches once
    inproc = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        probe_machine(frameworks=False)
        inproc.append(time.perf_counter() - start)
    result["probe_no_frameworks_in_process"] = summary(inproc)
    result["probe_no_frameworks_cli"] = summary(wall([py, "-m", "gpuready", "probe", "--no-frameworks", "--json"], args.repeat, env))

    _, sys_path, _ = python_facts()
    installed = [s.name for s in SPECS if find_copies(s, sys_path, {})]
    imports = {}
    for name in installed:
        imports[name] = summary(wall([py, "-c", f"import {IMPORT_NAME.get(name, name)}"], max(1, args.repeat // 2)))
    result["framework_import"] = imports
    slowest = max((v["median_s"] for v in imports.values()), default=0.0)
    result["slowest_import_s"] = slowest
    result["doctor_cli"] = summary(wall([py, "-m", "gpuready", "doctor", "--json"], max(1, args.repeat // 2), env))
    result["doctor_budget_s"] = round(slowest + 1.0, 3)
    result["doctor_within_budget"] = result["doctor_cli"]["median_s"] <= result["doctor_budget_s"]
    if "torch" in installed:
        result["torch_collect_env"] = summary(wall([py, "-m", "torch.utils.collect_env"], max(1, args.repeat // 2)))
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for key, value in result.items():
            print(f"{key}: {value}")


if __name__ == "__main__":
    main()
