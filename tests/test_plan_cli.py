"""`gpuready plan` on the command line: formats, overrides, exit codes, bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from gpuready.cli import main
from tests.conftest import MACHINES, ROOT


@pytest.fixture(autouse=True)
def clean_index_env(monkeypatch, tmp_path):
    """The host's pip/uv configuration must not leak into these tests."""
    for var in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_INDEX", "PIP_CONFIG_FILE", "VIRTUAL_ENV", "PIP_FIND_LINKS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / ".config"))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(tmp_path / "xdg"))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no pip file at all, /etc/pip.conf included
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.chdir(tmp_path)


def run(*args: str):
    return CliRunner().invoke(main, ["plan", *args], catch_exceptions=False)


def test_json_on_a_saved_machine():
    r = run("--machine", str(MACHINES / "rtx5090-torch-cu118.json"), "torch", "torchvision", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert d["cuda"] == "12.8" and d["cudnn"] == "9" and d["blocked"] == []
    torch = d["packages"][0]
    assert torch["install"] == ["pip", "install", "torch==2.11.0+cu128", "--index-url", "https://download.pytorch.org/whl/cu128"]


def test_text_output_mentions_choice_and_reason():
    r = run("--machine", str(MACHINES / "ubuntu1804-v100-cuda10.json"), "torch")
    assert r.exit_code == 0, r.output
    assert "torch 1.7.1+cu92" in r.output
    assert "CUDA 12.x builds need driver >= 525.60.13" in r.output


def test_requirements_format():
    r = run("--machine", str(MACHINES / "rtx5090-torch-cu118.json"), "torch", "jax", "--format", "requirements")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert "--extra-index-url https://download.pytorch.org/whl/cu128" in lines
    assert "torch==2.11.0+cu128" in lines
    assert "jax[cuda12]==0.10.2" in lines
    assert not any(line.startswith("--index-url") for line in lines)


def test_requirements_with_a_user_index_and_a_source_build():
    r = run("--machine", str(MACHINES / "h200-driver580.json"), "torch", "dlib", "--format", "requirements",
            "--index-url", "https://mirror.example/simple")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines.count("--index-url https://mirror.example/simple") == 1
    assert "torch==2.15.0" in lines  # PyPI's own cu132 build, through the user's mirror
    assert any(line.startswith("# dlib: source build") and "gpuready build dlib" in line for line in lines)


def test_script_format_and_mirror():
    r = run("--machine", str(MACHINES / "no-gpu.json"), "torch", "--format", "script",
            "--mirror", "https://mirrors.example/pytorch-wheels")
    assert r.exit_code == 0, r.output
    assert r.output.startswith("#!/bin/sh")
    assert "python -m pip install torch==2.14.1+cpu --index-url https://mirrors.example/pytorch-wheels/cpu" in r.output


def test_overrides_plan_for_another_machine():
    r = run("--machine", str(MACHINES / "no-gpu.json"), "torch", "--os", "windows", "--python", "3.11",
            "--driver", "560.94", "--gpu", "NVIDIA GeForce RTX 3060", "--json")
    assert r.exit_code == 0, r.output
    torch = json.loads(r.output)["packages"][0]
    assert (torch["version"], torch["variant"], torch["gpu"]) == ("2.14.1", "cu126", True)


def test_gpu_override_by_sm_and_several_gpus():
    r = run("--machine", str(MACHINES / "no-gpu.json"), "torch", "--driver", "580.95.05", "--gpu", "sm_61",
            "--gpu", "Tesla V100-SXM2-16GB", "--json")
    assert r.exit_code == 0, r.output
    torch = json.loads(r.output)["packages"][0]
    assert torch["variant"] == "cu126"


def test_gpu_without_driver_is_blocked_with_exit_1():
    r = run("--machine", str(MACHINES / "no-gpu.json"), "torch", "--gpu", "sm_86", "--json")
    assert r.exit_code == 1
    d = json.loads(r.output)
    assert d["blocked"][0]["package"] == "torch" and "install the NVIDIA driver" in d["blocked"][0]["fix"]


def test_output_file(tmp_path):
    out = tmp_path / "req.txt"
    r = run("--machine", str(MACHINES / "no-gpu.json"), "torch", "--format", "requirements", "-o", str(out))
    assert r.exit_code == 0
    assert "torch==2.14.1+cpu" in out.read_text()


@pytest.mark.parametrize(
    "args,message",
    [
        (["torch", "-r", "/nonexistent/req.txt"], "no such file"),  # a package gpuready does not plan passes through (test_project.py)
        (["torch", "--gpu", "Voodoo 5 5500"], "not a GPU gpuready knows"),
        (["torch", "--driver", "latest"], "expected an NVIDIA driver version"),
        (["torch>>2"], "is not a package requirement"),
        (["torch", "--index-url", "mirror.example"], "expected an http(s):// or file:// URL"),
        (["torch", "--os", "beos"], "Invalid value for '--os'"),
    ],
)
def test_bad_input_is_a_usage_error(args, message):
    r = CliRunner().invoke(main, ["plan", "--machine", str(MACHINES / "no-gpu.json"), *args])
    assert r.exit_code == 2, r.output
    assert message in r.output


def test_python_interpreter_that_does_not_exist_exits_2(tmp_path):
    r = CliRunner().invoke(main, ["plan", "torch", "--python", str(tmp_path / "no-python")])
    assert r.exit_code == 2, r.output
    # Said by the shared machine loader (cli.get_machine) before plan gets to it: the path and why.
    assert "--python" in r.output and "no-python" in r.output and "not found" in r.output


def test_unreadable_machine_file_exits_2(tmp_path):
    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "gpuready", "plan", "--machine", str(bad), "torch"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert proc.returncode == 2
    assert "not valid JSON" in proc.stderr and "Traceback" not in proc.stderr
