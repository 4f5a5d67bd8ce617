"""tools/gpu_dlib_bench.sh, the one-call device script of issue 15, in its dry mode (GR_DRY=1: fake gpuready
commands that sleep): every step is time-boxed against one deadline, results land in $OUT as they exist, a step
that overruns is stopped and the later ones still run (or say they were skipped), at most 8 files come back."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "gpu_dlib_bench.sh"
pytestmark = pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")


def _run(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, float, str, Path]:
    carry = tmp_path / "carry"
    carry.mkdir()
    for name in ("dlib-20.0.1.tar.gz", "dlib_bin-20.0.1.post1-cp312-cp312-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
                 "mmod_human_face_detector.dat"):
        (carry / name).write_bytes(b"x")
    out = tmp_path / "out"
    full = {**os.environ, "GR_DRY": "1", "GR_PYTHON": sys.executable, "GR_WORK": str(tmp_path / "w"), "OUT": str(out),
            "GR_CARRY": str(carry), **env}
    start = time.monotonic()
    res = subprocess.run(["bash", str(SCRIPT)], cwd=SCRIPT.parents[1], env=full, capture_output=True, text=True, timeout=120, check=False)
    return res, time.monotonic() - start, (out / "steps.txt").read_text(), out


def test_all_steps_run_in_order_and_eight_files_come_back(tmp_path):
    res, _took, steps, out = _run(tmp_path, GR_DEADLINE="40", GR_RESERVE="15", GR_VERIFY_RESERVE="8", GR_DRY_BUILD="1", GR_DRY_VERIFY="1",
                                 GR_DRY_DOCTOR="1", GR_DRY_BENCH="1")
    assert res.returncode == 0, res.stderr
    for name in ("build", "install", "verify", "doctor", "bench"):
        assert re.search(rf"\] {name}: rc=0 in \d+ s", steps), (name, steps)
    assert steps.index("build: rc=0") < steps.index("install: rc=0") < steps.index("bench: start")
    assert steps.index("bench: rc=") < steps.index("doctor: start") and steps.index("bench: rc=") < steps.index("verify: start")  # bench alone
    assert "CPU baseline: dlib-bin wheel" in steps and "built wheel: " in steps and "NONE" not in steps
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bench-scaling.png", "bench.json", "bench.png", "build.json", "doctor.json", "logs.tar.gz", "steps.txt", "verify.json"]
    assert all(p.stat().st_size < 16 * 2**20 for p in out.iterdir())


@pytest.mark.slow
def test_an_overrunning_build_and_bench_are_stopped_before_the_deadline(tmp_path):
    _res, took, steps, out = _run(tmp_path, GR_DEADLINE="30", GR_RESERVE="16", GR_VERIFY_RESERVE="8", GR_DRY_BUILD="100",
                                 GR_DRY_VERIFY="1", GR_DRY_DOCTOR="1", GR_DRY_BENCH="100")
    assert took < 30 + 6, steps  # the deadline holds (timeout -k 5 at most past it)
    assert "build: rc=124" in steps and "TIMED OUT" in steps and "built wheel: NONE" in steps
    assert "install:" not in steps  # nothing to install
    assert re.search(r"bench: (rc=124|SKIPPED)", steps)
    assert "verify: rc=0" in steps and "doctor: rc=0" in steps  # the later steps still ran, in the time kept for them
    assert (out / "build.json").exists() and (out / "logs.tar.gz").exists() and "done:" in steps
