"""`gpuready verify` on the command line: exit codes, JSON, bad input (exit 2, no traceback)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready.cli import main

FAKES = Path(__file__).parent / "data" / "verify" / "fakes"


@pytest.fixture
def fakes(monkeypatch):
    """The stand-in frameworks, visible both to the file scan (sys.path) and to the children (PYTHONPATH)."""
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setattr("gpuready.verify.verdicts.explain_label", lambda text, machine: "")

    def mode(value: str) -> None:
        monkeypatch.setenv("GPUREADY_FAKE", value)

    return mode


def invoke(*args: str):
    return CliRunner().invoke(main, ["verify", *args], catch_exceptions=False)


def test_works_exits_0_and_prints_a_table(fakes):
    fakes("works")
    res = invoke("torch")
    assert res.exit_code == 0, res.output
    assert "PyTorch 2.5.0+cu124" in res.output and "works" in res.output
    assert "conv2d" in res.output and "work on the GPU" in res.output


def test_cpu_only_exits_1_with_the_fix(fakes):
    fakes("cpu")
    res = invoke("pytorch", "opencv")
    assert res.exit_code == 1
    assert "cpu_only_build" in res.output and "fix:" in res.output
    assert "2 of 2 framework(s) not working on the GPU" in res.output


def test_json(fakes):
    fakes("crash")
    res = invoke("--json", "torch")
    assert res.exit_code == 1
    data = json.loads(res.output)
    [r] = data["results"]
    assert r["status"] == "crashed" and r["signal"] == "SIGSEGV" and r["verdict"] == "broken"
    [f] = data["findings"]
    assert f["severity"] == "error" and f["subject"].startswith("PyTorch")
    assert "python" in data and "date" in data


def test_unverified_dlib_exits_0(fakes, monkeypatch, tmp_path):
    fakes("works")
    monkeypatch.setenv("GPUREADY_MODEL_DIR", str(tmp_path))
    res = invoke("dlib")
    assert res.exit_code == 0, res.output
    assert "unverified" in res.output and "--model" in res.output


def test_default_is_every_installed_framework(fakes):
    fakes("cpu")
    res = invoke("--json")
    names = [r["name"] for r in json.loads(res.output)["results"]]
    assert {"torch", "onnxruntime", "cv2", "dlib"} <= set(names)


@pytest.mark.parametrize(
    "args, message",
    [
        (["nope"], "unknown framework(s): nope"),
        (["--machine", "tests/machines/no-gpu.json"], "cannot use a saved --machine"),
        (["--model", "/does/not/exist.dat"], "does not exist"),
        (["--timeout", "0"], "--timeout"),
        (["--python", "/does/not/exist/python"], "cannot run /does/not/exist/python"),
    ],
)
def test_bad_usage_exits_2(args, message):
    res = CliRunner().invoke(main, ["verify", *args])
    assert res.exit_code == 2, res.output
    assert message in res.output
    assert "Traceback" not in res.output
