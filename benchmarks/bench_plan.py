#!/usr/bin/env python3
"""How fast `gpuready plan` answers for five packages (the issue's budget: <= 200 ms).

Measured four ways, each in fresh interpreters where it matters, median of N runs:
  cold, no cache    first-ever plan: imports + parsing every TOML file + planning (GPUREADY_NO_CACHE=1)
  cold, cached      a new process with the knowledge cache warm: imports + planning (the normal case)
  warm              make_plan again in the same process (what doctor/install pay after the first plan)
  CLI               `python -m gpuready plan --machine M --json PKGS` wall time, interpreter start included

Usage: python benchmarks/bench_plan.py [--runs N] [--machine FILE] [--json] [PKG ...]
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
DEFAULT_MACHINE = ROOT / "tests" / "machines" / "h200-driver580.json"
DEFAULT_PACKAGES = ["torch", "tensorflow", "jax", "cupy", "onnxruntime"]

CHILD = r"""
import sys, time, json
t0 = time.perf_counter()
from gpuready.machine import Machine
from gpuready.plan import make_plan
from gpuready.plan.indexes import IndexConfig
m = Machine.load(sys.argv[1])
t1 = time.perf_counter()
plan = make_plan(m, sys.argv[2:], index_config=IndexConfig())
t2 = time.perf_counter()
print(json.dumps({"total": t2 - t0, "plan": t2 - t1, "cuda": plan.cuda}))
"""


def child(machine: Path, pkgs: list[str], *, no_cache: bool) -> dict:
    env = dict(os.environ)
    if no_cache:
        env["GPUREADY_NO_CACHE"] = "1"
    out = subprocess.run([sys.executable, "-c", CHILD, str(machine), *pkgs], capture_output=True, text=True, env=env,
                         timeout=120, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def cli(machine: Path, pkgs: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "gpuready", "plan", "--machine", str(machine), "--json", *pkgs],
                          capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"gpuready plan failed ({proc.returncode}): {proc.stderr[-500:]}")
    return elapsed


def warm(machine: Path, pkgs: list[str], runs: int) -> list[float]:
    from gpuready.machine import Machine
    from gpuready.plan import make_plan
    from gpuready.plan.indexes import IndexConfig

    m = Machine.load(machine)
    make_plan(m, pkgs, index_config=IndexConfig())
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        make_plan(m, pkgs, index_config=IndexConfig())
        times.append(time.perf_counter() - t0)
    return times


def ms(values: list[float]) -> dict:
    return {"median_ms": round(statistics.median(values) * 1000, 1), "min_ms": round(min(values) * 1000, 1),
            "max_ms": round(max(values) * 1000, 1), "runs": len(values)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("packages", nargs="*", default=DEFAULT_PACKAGES)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--machine", type=Path, default=DEFAULT_MACHINE)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    pkgs = args.packages
    child(args.machine, pkgs, no_cache=False)  # make sure the knowledge cache exists
    results = {
        "cold_no_cache": ms([child(args.machine, pkgs, no_cache=True)["total"] for _ in range(args.runs)]),
        "cold_cached": ms([child(args.machine, pkgs, no_cache=False)["total"] for _ in range(args.runs)]),
        "warm": ms(warm(args.machine, pkgs, max(args.runs, 20))),
        "cli_json": ms([cli(args.machine, pkgs) for _ in range(args.runs)]),
    }
    info = {
        "packages": pkgs,
        "machine_file": str(args.machine.relative_to(ROOT) if args.machine.is_relative_to(ROOT) else args.machine),
        "python": platform.python_version(),
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "date": time.strftime("%Y-%m-%d"),
        "budget_ms": 200,
        "results": results,
    }
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"gpuready plan {' '.join(pkgs)}  (machine {info['machine_file']}, Python {info['python']}, "
              f"{info['cores']} cores, {info['date']})")
        for name, label in (("cold_no_cache", "cold, no cache (imports + TOML + plan)"),
                            ("cold_cached", "cold, knowledge cache warm (imports + plan)"),
                            ("warm", "warm (same process)"),
                            ("cli_json", "CLI --json (interpreter start included)")):
            r = results[name]
            print(f"  {label:46s} median {r['median_ms']:7.1f} ms  (min {r['min_ms']}, max {r['max_ms']}, n={r['runs']})")
        ok = results["cold_cached"]["median_ms"] <= 200
        print(f"  budget: a fresh process plans five packages in <= 200 ms: {'yes' if ok else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
