"""Every --json output carries schema and schema_version and validates against docs/schemas/<kind>.schema.json.

The outputs are the real ones: each command run as `python -m gpuready ...` on saved machines (and on
this machine where a command only runs here), the way a script or a fleet view would read them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from gpuready.findings import LABELS
from gpuready.report.jsonout import SCHEMA_VERSIONS
from tests.conftest import MACHINES, ROOT

SCHEMAS = ROOT / "docs" / "schemas"
FAKES = ROOT / "tests" / "data" / "verify" / "fakes"


def _registry() -> Registry:
    resources = []
    for path in SCHEMAS.glob("*.schema.json"):
        resource = Resource.from_contents(json.loads(path.read_text()))
        resources += [(path.name, resource), (resource.contents["$id"], resource)]
    return Registry().with_resources(resources)


REGISTRY = _registry()


def validate(kind: str, data: dict) -> None:
    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    errors = sorted(Draft202012Validator(schema, registry=REGISTRY).iter_errors(data), key=lambda e: list(e.path))
    assert not errors, f"{kind}: " + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in errors[:5])
    assert data["schema"] == f"gpuready.{kind}" and isinstance(data["schema_version"], int)


def gpuready(*args: str, env: dict | None = None, stdin: str | None = None, cwd: Path | None = None) -> dict:
    full = {**os.environ, "PYTHONIOENCODING": "utf-8", **(env or {})}
    res = subprocess.run([sys.executable, "-m", "gpuready", *args], capture_output=True, text=True, env=full, input=stdin,
                         timeout=300, cwd=cwd or ROOT)
    assert res.stdout.strip().startswith("{"), (args, res.returncode, res.stdout[-500:], res.stderr[-1500:])
    return json.loads(res.stdout)


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    monkeypatch.setenv("GPUREADY_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path


def test_every_kind_has_a_schema_and_the_labels_are_the_taxonomy():
    kinds = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert set(SCHEMA_VERSIONS) | {"machine", "plan"} <= kinds
    doctor = json.loads((SCHEMAS / "doctor.schema.json").read_text())
    enum = doctor["properties"]["findings"]["items"]["properties"]["label"]["anyOf"][0]["enum"]
    assert enum == list(LABELS)


MACHINE_FILES = sorted(MACHINES.glob("*.json"))


@pytest.mark.parametrize("path", MACHINE_FILES, ids=[p.stem for p in MACHINE_FILES])
def test_saved_machines_doctor_and_plan(path, home):
    validate("machine", json.loads(path.read_text()))
    validate("doctor", gpuready("doctor", "--json", "--machine", str(path)))
    validate("plan", gpuready("plan", "torch", "dlib", "--json", "--machine", str(path)))


def test_probe_build_install_cache_config(home):
    h200 = str(MACHINES / "h200-driver580.json")
    validate("machine", gpuready("probe", "--json", "--no-frameworks"))
    validate("build-settings", gpuready("build", "dlib", "--dry-run", "--json", "--machine", h200))
    validate("install", gpuready("install", "torch", "--dry-run", "--json", "--machine", h200))
    validate("cache", gpuready("cache", "list", "--json"))
    validate("config", gpuready("config", "show", "--json"))


def test_explain_file_and_command(home):
    validate("explain", gpuready("explain", "--json", "-", stdin="RuntimeError: CUDA error: no kernel image is available for execution on the device\n"))
    validate("explain", gpuready("explain", "--json", "-", stdin="all good\n"))
    out = gpuready("explain", "--json", "--", sys.executable, "-c", "import sys; print('libcudnn.so.9: cannot open shared object file'); sys.exit(3)")
    validate("explain", out)
    assert out["command"]["exit_code"] == 3


def test_verify_and_bench_with_stand_in_frameworks(home):
    env = {"PYTHONPATH": str(FAKES), "GPUREADY_FAKE": "works"}
    validate("verify", gpuready("verify", "torch", "--json", env=env))
    validate("bench", gpuready("bench", "torch", "--json", "--quick", env=env))
    empty = {"PYTHONPATH": str(ROOT / "tests" / "data" / "verify" / "empty")}
    validate("verify", gpuready("verify", "--json", env=empty))
    validate("bench", gpuready("bench", "--json", env=empty))
