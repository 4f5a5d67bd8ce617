"""End to end in throwaway venvs: failed installs, interrupts and kills leave the environment as it was.

Every test runs the real `gpuready install` CLI in a subprocess against a venv copied from a
session template, with tiny wheels/sdists made in-test and `--no-index --find-links` (no network).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gpuready.install.transaction import EnvLock
from tests.test_install_support import (  # noqa: F401 - fixtures
    ROOT, SLOW_BACKEND, isolated_env, make_sdist, make_wheel, pip_freeze, pip_install, python_of, run_gpuready,
    tree_state, venv, venv_template, write_plan,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths and signals")

HAS_UV = subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode == 0


def site_packages(v: Path) -> Path:
    return next((v / "lib").glob("python3*/site-packages"))


@pytest.fixture
def wheels(tmp_path) -> Path:
    w = tmp_path / "wheels"
    make_wheel(w, "pkga", "1.0")
    make_wheel(w, "pkga", "2.0", files={"pkga/__init__.py": "__version__ = '2.0'\n", "pkga/extra.py": "X = 1\n"})
    return w


def pkg(name: str, version: str, folder: Path, *extra: str) -> dict:
    return {"name": name, "version": version,
            "install": ["pip", "install", f"{name}=={version}", "--no-index", "--find-links", str(folder), *extra]}


def gpuready(tmp_path: Path, *args: str, **kw) -> subprocess.CompletedProcess:
    return run_gpuready(*args, env_extra={"GPUREADY_HOME": str(tmp_path / "home"), **kw.pop("env", {})}, **kw)


@pytest.mark.parametrize("installer", ["pip", pytest.param("uv", marks=pytest.mark.skipif(not HAS_UV, reason="uv not installed"))])
def test_failed_second_step_restores_the_first(venv, wheels, tmp_path, installer):
    py = python_of(venv)
    pip_install(py, "--find-links", str(wheels), "pkga==1.0")
    before, files = pip_freeze(py), tree_state(site_packages(venv))
    plan = write_plan(tmp_path / "plan.json", [pkg("pkga", "2.0", wheels), pkg("pkgb", "1.0", wheels)])
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", installer, "--json", "-q")
    assert res.returncode == 1, res.stderr
    rep = json.loads(res.stdout)
    assert rep["status"] == "rolled-back" and rep["failed_step"] == "install pkgb 1.0"
    assert rep["steps"][0]["ok"] is True and rep["steps"][1]["ok"] is False
    assert rep["rollback"]["exact"] is True and rep["rollback"]["freeze_identical"] is True
    assert rep["causes"] and rep["causes"][0]["label"] == "no_matching_distribution"
    assert pip_freeze(py) == before
    assert tree_state(site_packages(venv)) == files
    assert not list((venv / ".gpuready").glob("txn-*"))
    assert Path(rep["log"]).is_file() and "pkgb" in Path(rep["log"]).read_text()


def test_failed_build_of_an_sdist_restores(venv, wheels, tmp_path):
    py = python_of(venv)
    pip_install(py, "--find-links", str(wheels), "pkga==1.0")
    make_sdist(wheels, "broken", "1.0")
    before = pip_freeze(py)
    plan = write_plan(tmp_path / "plan.json", [pkg("pkga", "2.0", wheels), pkg("broken", "1.0", wheels)])
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip", "--json", "-q")
    assert res.returncode == 1
    rep = json.loads(res.stdout)
    assert rep["status"] == "rolled-back" and rep["rollback"]["exact"]
    assert "cannot be built" in Path(rep["log"]).read_text()
    assert pip_freeze(py) == before


def test_successful_install_reports_changes(venv, wheels, tmp_path):
    py = python_of(venv)
    pip_install(py, "--find-links", str(wheels), "pkga==1.0")
    plan = write_plan(tmp_path / "plan.json", [pkg("pkga", "2.0", wheels)])
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Installed into" in res.stdout and "pkga 1.0 -> 2.0" in res.stdout
    assert "pkga==2.0" in pip_freeze(py)
    assert not list((venv / ".gpuready").glob("txn-*"))


def test_new_venv_is_removed_when_the_install_fails(wheels, tmp_path):
    target = tmp_path / "newenv"
    plan = write_plan(tmp_path / "plan.json", [pkg("pkgb", "1.0", wheels)])
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--venv", str(target), "--no-verify", "--installer", "pip", "--json", "-q")
    assert res.returncode == 1, res.stderr
    rep = json.loads(res.stdout)
    assert rep["rollback"]["removed_venv"] == str(target)
    assert not target.exists()
    assert rep["steps"][0]["kind"] == "venv" and rep["steps"][0]["ok"] is True  # it was made, then removed


def test_competing_cv2_provider_is_replaced(venv, tmp_path):
    w = tmp_path / "w"
    make_wheel(w, "opencv-python-headless", "1.0", files={"cv2/__init__.py": "FLAVOUR = 'headless'\n"})
    make_wheel(w, "opencv-contrib-python", "1.0", files={"cv2/__init__.py": "FLAVOUR = 'contrib'\n"})
    py = python_of(venv)
    pip_install(py, "--find-links", str(w), "opencv-python-headless==1.0")
    before = pip_freeze(py)
    plan = write_plan(tmp_path / "plan.json", [dict(pkg("opencv-contrib-python", "1.0", w), dist="opencv-contrib-python")])
    # without consent (stdin is not a terminal): nothing happens
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip", "--json", "-q")
    assert res.returncode == 1 and json.loads(res.stdout)["status"] == "refused"
    assert pip_freeze(py) == before
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip", "--yes", "--json", "-q")
    assert res.returncode == 0, res.stdout + res.stderr
    rep = json.loads(res.stdout)
    assert rep["removals"][0]["dist"] == "opencv-python-headless"
    freeze = pip_freeze(py)
    assert "opencv-contrib-python==1.0" in freeze and not any(f.startswith("opencv-python-headless") for f in freeze)
    assert "contrib" in (site_packages(venv) / "cv2" / "__init__.py").read_text()


def test_network_failure_gets_a_mirror_hint(venv, tmp_path):
    py = python_of(venv)
    plan = write_plan(tmp_path / "plan.json", [{"name": "pkgz", "version": "1.0", "install": [
        "pip", "install", "pkgz==1.0", "--index-url", "http://127.0.0.1:9/simple", "--retries", "1", "--timeout", "2"]}])
    res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip", "--json", "-q")
    assert res.returncode == 1
    rep = json.loads(res.stdout)
    assert rep["causes"][0]["label"] == "network"
    assert any("--index-url" in h and "--mirror" in h for h in rep["hints"])


def test_second_install_waits_for_the_lock(venv, wheels, tmp_path):
    py = python_of(venv)
    plan = write_plan(tmp_path / "plan.json", [pkg("pkga", "1.0", wheels)])
    with EnvLock(venv / ".gpuready"):
        res = gpuready(tmp_path, "install", "--plan", str(plan), "--python", str(py), "--no-verify", "--installer", "pip", "--json", "-q")
    assert res.returncode == 1
    assert "another gpuready install" in json.loads(res.stdout)["error"]
    assert not any(f.startswith("pkga") for f in pip_freeze(py))


def _start_slow_install(venv: Path, wheels: Path, tmp_path: Path) -> tuple[subprocess.Popen, Path]:
    py = python_of(venv)
    pip_install(py, "--find-links", str(wheels), "pkga==1.0")
    make_sdist(wheels, "slowpkg", "1.0", backend=SLOW_BACKEND)
    plan = write_plan(tmp_path / "plan.json", [pkg("pkga", "2.0", wheels), pkg("slowpkg", "1.0", wheels)])
    started = tmp_path / "started"
    env = isolated_env({"GPUREADY_HOME": str(tmp_path / "home"), "GPUREADY_TEST_STARTED": str(started), "GPUREADY_TEST_SLEEP": "120"})
    proc = subprocess.Popen([sys.executable, "-m", "gpuready", "install", "--plan", str(plan), "--python", str(py), "--no-verify",
                             "--installer", "pip", "-q"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not started.exists():  # the slow build started: pkga 2.0 is already in
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.1)
    assert "pkga==2.0" in pip_freeze(py)
    return proc, py


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_a_slow_step_rolls_back(venv, wheels, tmp_path, sig):
    before_files = None
    proc, py = _start_slow_install(venv, wheels, tmp_path)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + sig, out + err  # 130 for Ctrl-C, 143 for SIGTERM
    assert "rolled back" in err
    assert "pkga==1.0" in pip_freeze(py) and not any(f.startswith("slowpkg") for f in pip_freeze(py))
    assert not list((venv / ".gpuready").glob("txn-*"))
    del before_files


def test_killed_install_is_recovered(venv, wheels, tmp_path):
    proc, py = _start_slow_install(venv, wheels, tmp_path)
    proc.kill()
    proc.communicate(timeout=60)
    assert "pkga==2.0" in pip_freeze(py)  # killed outright: nothing could roll back yet
    assert list((venv / ".gpuready").glob("txn-*"))
    res = gpuready(tmp_path, "install", "--recover", "--python", str(py))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "rolled back the interrupted install" in res.stdout
    assert "pkga==1.0" in pip_freeze(py)
    assert not list((venv / ".gpuready").glob("txn-*"))
    res = gpuready(tmp_path, "install", "--recover", "--python", str(py))
    assert res.returncode == 0 and "Nothing to recover" in res.stdout
