"""The command line: exit codes, JSON/Markdown shapes, bad input never gives a traceback."""

import json
import subprocess
import sys

import pytest

from tests.conftest import MACHINES, ROOT


def gpuready(*args, input_text=None):
    return subprocess.run(
        [sys.executable, "-m", "gpuready", *args], capture_output=True, text=True, cwd=ROOT, input=input_text, timeout=120
    )


def test_doctor_json_schema_and_exit_code():
    res = gpuready("doctor", "--json", "--machine", str(MACHINES / "ubuntu1804-v100-cuda10.json"))
    assert res.returncode == 1
    data = json.loads(res.stdout)
    assert set(data) == {"schema", "schema_version", "machine", "findings"}
    for f in data["findings"]:
        assert set(f) >= {"label", "severity", "subject", "message", "evidence", "fix"}


def test_doctor_clean_machine_exits_zero():
    assert gpuready("doctor", "--machine", str(MACHINES / "no-gpu.json")).returncode == 0


def test_doctor_markdown():
    res = gpuready("doctor", "--markdown", "--machine", str(MACHINES / "rtx5090-torch-cu118.json"))
    assert res.returncode == 1 and "`arch_unsupported`" in res.stdout and res.stdout.startswith("## gpuready doctor")


@pytest.mark.parametrize(
    "content, message",
    [("not json at all", "not valid JSON"), ('{"schema": "other"}', "not a gpuready machine file"), ("\x00\x01\x02", "not valid JSON")],
)
def test_bad_machine_files(tmp_path, content, message):
    path = tmp_path / "m.json"
    path.write_text(content)
    res = gpuready("doctor", "--machine", str(path))
    assert res.returncode == 2 and message in res.stderr and "Traceback" not in res.stderr


def test_missing_machine_file(tmp_path):
    res = gpuready("doctor", "--machine", str(tmp_path / "nope.json"))
    assert res.returncode == 2 and "cannot read" in res.stderr and "Traceback" not in res.stderr


def test_bad_usage_is_exit_2():
    assert gpuready("doctor", "--json", "--markdown", "--machine", str(MACHINES / "no-gpu.json")).returncode == 2
    assert gpuready("no-such-command").returncode == 2


def test_probe_save_and_reload(tmp_path):
    out = tmp_path / "m.json"
    res = gpuready("probe", "--no-frameworks", "--save", str(out))
    assert res.returncode == 0 and out.exists()
    res = gpuready("doctor", "--json", "--machine", str(out))
    assert res.returncode in (0, 1) and json.loads(res.stdout)["machine"]["schema"] == "gpuready.machine"


@pytest.mark.parametrize("command", ["probe", "doctor"])
def test_an_interpreter_that_cannot_be_inspected_is_bad_usage(command):
    for python in ("/nonexistent/python3", "/bin/false"):
        res = gpuready(command, "--python", python)
        assert res.returncode == 2, res.stderr
        assert f"--python {python}" in res.stderr and "Traceback" not in res.stderr
