"""Shared fixtures: saved machines, the shared/ material, and the `gpu` marker's skip rule."""

from __future__ import annotations

import functools
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

from gpuready.machine import Machine

ROOT = Path(__file__).resolve().parents[1]
MACHINES = ROOT / "tests" / "machines"
SHARED = ROOT.parent / "shared"  # the developers' shared material, when this checkout has it beside it

# A test run started in the background by a non-interactive shell (`pytest &`) inherits SIGINT as
# ignored, and so would every gpuready it starts: the Ctrl-C tests would then test nothing but that.
# Give the run (and, through exec, its children) the interactive default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@functools.lru_cache(maxsize=None)
def gpu_available() -> bool:
    smi = shutil.which("nvidia-smi")
    if not smi:
        return False
    try:
        out = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def pytest_collection_modifyitems(config, items):
    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU with a working driver")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _private_gpuready_settings(monkeypatch, tmp_path_factory):
    """No test sees the developer's own `gpuready config` settings (a torch-mirror would change plans)."""
    monkeypatch.setenv("GPUREADY_CONFIG_DIR", str(tmp_path_factory.mktemp("gpuready-config", numbered=True)))
    monkeypatch.delenv("GPUREADY_TORCH_MIRROR", raising=False)


def load_machine(name: str) -> Machine:
    return Machine.load(MACHINES / f"{name}.json")


@pytest.fixture
def machine():
    """machine("h200-driver580") -> the saved Machine."""
    return load_machine
