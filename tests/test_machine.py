import json

import pytest

from gpuready.machine import GPU, Machine, MachineFormatError, OSInfo, PythonInfo
from tests.conftest import MACHINES, load_machine


def test_every_saved_machine_round_trips():
    files = sorted(MACHINES.glob("*.json"))
    assert len(files) >= 5
    for path in files:
        m = Machine.load(path)
        assert Machine.from_json(m.to_json()) == m, path.name


def test_gpu_sm_name():
    assert GPU(0, "NVIDIA H200", compute_capability="9.0").sm == "sm_90"
    assert GPU(0, "RTX 5090", compute_capability="12.0").sm == "sm_120"
    assert GPU(0, "?").sm == ""


@pytest.mark.parametrize(
    "text, message",
    [
        ("not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ('{"schema": "conda.env"}', "not a gpuready machine file"),
        ('{"schema": "gpuready.machine", "schema_version": 99}', "schema version 99"),
        ('{"schema": "gpuready.machine", "schema_version": 1}', "missing required field 'os'"),
        (
            '{"schema": "gpuready.machine", "schema_version": 1, "os": {"system": "linux"}, "python": {"version": "3.12"}, "gpus": [{"index": "zero", "name": "x"}]}',
            "gpus[0].index: expected an integer",
        ),
        (
            '{"schema": "gpuready.machine", "schema_version": 1, "os": {"system": "linux", "colour": 1}, "python": {"version": "3.12"}}',
            "unknown field(s) colour",
        ),
    ],
)
def test_malformed_machine_files_say_what_is_wrong(text, message):
    with pytest.raises(MachineFormatError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        Machine.from_json(text)


def test_load_reports_unreadable_file(tmp_path):
    with pytest.raises(MachineFormatError, match="cannot read"):
        Machine.load(tmp_path / "missing.json")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(MachineFormatError):
        Machine.load(binary)


def test_schema_header_present():
    m = Machine(os=OSInfo("linux"), python=PythonInfo("3.12.3"))
    data = json.loads(m.to_json())
    assert data["schema"] == "gpuready.machine" and data["schema_version"] == 1


def test_h200_machine_facts():
    m = load_machine("h200-driver580")
    assert m.gpus[0].compute_capability == "9.0"
    assert {c.version for c in m.cudnns} == {"9.14.0", "9.19.0"}
