"""conda-meta versions for conda toolkits and cuDNN, and `probe --format conda-overrides / pixi`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

from gpuready.probe import condameta
from gpuready.probe.cudnn import probe_cudnn
from gpuready.probe.toolkits import probe_toolkits
from gpuready.probe.virtualpkgs import conda_overrides, pixi_toml, virtual_packages
from tests.conftest import MACHINES, load_machine

ROOT = Path(__file__).resolve().parents[1]


def conda_prefix(root: Path, packages: dict[str, str], libs: tuple[str, ...]) -> Path:
    (root / "conda-meta").mkdir(parents=True)
    for name, version in packages.items():
        rec = {"name": name, "version": version, "build": "h0", "channel": "https://conda.anaconda.org/conda-forge"}
        (root / "conda-meta" / f"{name}-{version}-h0.json").write_text(json.dumps(rec))
    (root / "conda-meta" / "history").write_text("")  # conda keeps this file too: not a record
    (root / "conda-meta" / "broken-1.0-h0.json").write_text("{half")  # an interrupted write
    (root / "lib").mkdir()
    for lib in libs:
        (root / "lib" / lib).write_bytes(b"\x7fELF")
    return root


def test_conda_cudatoolkit_gets_its_version_from_conda_meta(tmp_path, monkeypatch):
    prefix = conda_prefix(tmp_path / "env", {"cudatoolkit": "11.8.0", "python": "3.10.14"}, ("libcudart.so.11.0",))
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    for var in ("CUDA_HOME", "CUDA_PATH", "CUDA_ROOT", "CUDA_TOOLKIT_ROOT_DIR", "CUDAToolkit_ROOT"):
        monkeypatch.delenv(var, raising=False)
    conda = [tk for tk in probe_toolkits() if tk.origin == "conda"]
    assert [(tk.root, tk.version, tk.nvcc) for tk in conda] == [(str(prefix), "11.8.0", "")]


def test_cuda_12_packages_and_the_version_metapackage(tmp_path):
    prefix = conda_prefix(tmp_path / "env", {"cuda-version": "12.4", "cuda-cudart": "12.4.127"}, ())
    assert condameta.cuda_version(str(prefix)) == "12.4.127"  # the runtime itself beats the metapackage
    only_meta = conda_prefix(tmp_path / "env2", {"cuda-version": "12.6"}, ())
    assert condameta.cuda_version(str(only_meta)) == "12.6"
    assert condameta.cuda_version(str(tmp_path)) == ""  # not a conda prefix
    # Windows keeps the libraries in PREFIX\\Library, conda-meta beside it
    assert condameta.cuda_version(str(prefix / "Library")) == "12.4.127"


def test_conda_cudnn_without_headers_gets_the_full_version(tmp_path, monkeypatch):
    prefix = conda_prefix(tmp_path / "env", {"libcudnn": "9.3.0.75"}, ("libcudnn.so.9",))
    monkeypatch.setenv("CONDA_PREFIX", str(prefix))
    for var in ("CUDNN_PATH", "CUDNN_HOME", "CUDNN_ROOT", "CUDNN_ROOT_DIR"):
        monkeypatch.delenv(var, raising=False)
    conda = [c for c in probe_cudnn() if c.origin == "conda"]
    assert [(c.version, c.major) for c in conda] == [("9.3.0.75", "9")]


def test_virtual_packages_of_the_h200():
    vp = virtual_packages(load_machine("h200-driver580"), "2.39")
    assert conda_overrides(vp) == ["CONDA_OVERRIDE_CUDA=13.0", "CONDA_OVERRIDE_GLIBC=2.39", "CONDA_OVERRIDE_CUDA_ARCH=9.0=H200"]
    data = tomllib.loads(pixi_toml(vp))
    assert data["workspace"]["platforms"] == [
        {"name": "linux-64-h200", "platform": "linux-64", "cuda": {"driver": "13.0", "arch": "9.0"}, "glibc": "2.39"}]


def test_no_driver_removes_cuda_and_windows_has_no_glibc():
    vp = virtual_packages(load_machine("no-gpu"), "2.39")
    assert conda_overrides(vp) == ["CONDA_OVERRIDE_CUDA=", "CONDA_OVERRIDE_GLIBC=2.39"]  # empty: no __cuda
    assert "cuda" not in tomllib.loads(pixi_toml(vp))["workspace"]["platforms"][0]
    win = virtual_packages(load_machine("win10-gtx1060-driver411"), "2.39")
    assert win.subdir == "win-64" and win.glibc == "" and win.cuda_arch == "6.1"


def test_probe_command_formats(tmp_path):
    env_py = [sys.executable, "-m", "gpuready", "probe", "--machine", str(MACHINES / "h200-driver580.json")]
    res = subprocess.run([*env_py, "--format", "conda-overrides"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == ["CONDA_OVERRIDE_CUDA=13.0", "CONDA_OVERRIDE_GLIBC=2.39", "CONDA_OVERRIDE_CUDA_ARCH=9.0=H200"]
    assert "__cuda=13.0=0" in res.stderr
    res = subprocess.run([*env_py, "--format", "pixi"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 0 and tomllib.loads(res.stdout)["workspace"]["platforms"][0]["cuda"]["arch"] == "9.0"
    res = subprocess.run([*env_py, "--format", "pixi", "--json"], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert res.returncode == 2 and "cannot be combined" in res.stderr
