"""Helpers for the install/download tests: tiny wheels and sdists made in-test, throwaway venvs.

Nothing here needs the network or a build tool: wheels are zip files written by hand, and the
one venv with pip in it is made once per session and copied per test (a venv works from a copy
when it is run as `python -m pip`, which is how gpuready runs it).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def isolated_env(extra: dict | None = None) -> dict:
    """os.environ without the developer's pip/uv configuration (no pip.conf, no PIP_* finds)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "VIRTUAL_ENV", "CONDA_PREFIX"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["UV_NO_CONFIG"] = "1"
    env["PYTHONPATH"] = str(ROOT / "src")
    if extra:
        env.update(extra)
    return env


@pytest.fixture
def clean_pip_env(monkeypatch, tmp_path):
    """The same isolation for in-process tests, plus a private gpuready cache (logs, wheels)."""
    for k in list(os.environ):
        if k.startswith(("PIP_", "UV_")) or k in ("VIRTUAL_ENV", "CONDA_PREFIX"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("UV_NO_CONFIG", "1")
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "gpuready-home"))
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "gpuready-home" / "wheels"))
    return tmp_path


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def make_wheel(folder: Path, name: str, version: str, files: dict[str, str] | None = None,
               requires: list[str] | None = None, tag: str = "py3-none-any") -> Path:
    """A valid wheel: `files` maps paths inside site-packages to their text (default: NAME/__init__.py)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    files = files if files is not None else {f"{dist}/__init__.py": f"__version__ = {version!r}\n"}
    info = f"{dist}-{version}.dist-info"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires or [])
    wheel_meta = f"Wheel-Version: 1.0\nGenerator: gpuready-tests\nRoot-Is-Purelib: true\nTag: {tag}\n"
    contents = dict(files)
    contents[f"{info}/METADATA"] = meta
    contents[f"{info}/WHEEL"] = wheel_meta
    tops = sorted({p.split("/")[0].split(".")[0] for p in files})
    contents[f"{info}/top_level.txt"] = "\n".join(tops) + "\n"
    record = "".join(f"{p},{_record_hash(t.encode())},{len(t.encode())}\n" for p, t in contents.items())
    record += f"{info}/RECORD,,\n"
    path = folder / f"{dist}-{version}-{tag}.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for p, t in contents.items():
            zf.writestr(p, t)
        zf.writestr(f"{info}/RECORD", record)
    return path


SLOW_BACKEND = '''
import os, time
def _sleep():
    marker = os.environ.get("GPUREADY_TEST_STARTED")
    if marker:
        open(marker, "w").write("started")
    time.sleep(float(os.environ.get("GPUREADY_TEST_SLEEP", "60")))
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    _sleep()
    raise RuntimeError("slow backend: never finishes")
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    _sleep()
    raise RuntimeError("slow backend: never finishes")
def build_sdist(sdist_directory, config_settings=None):
    raise RuntimeError("no")
'''

FAILING_BACKEND = '''
def get_requires_for_build_wheel(config_settings=None):
    return []
def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    raise RuntimeError("error: this package cannot be built (test)")
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("error: this package cannot be built (test)")
'''


def make_sdist(folder: Path, name: str, version: str, backend: str = "", requires: list[str] | None = None,
               build_requires: list[str] | None = None) -> Path:
    """An sdist with an in-tree build backend (no build requirements to fetch: works offline)."""
    folder.mkdir(parents=True, exist_ok=True)
    dist = name.replace("-", "_")
    root = f"{dist}-{version}"
    pyproject = "[build-system]\nrequires = %s\nbuild-backend = \"backend\"\nbackend-path = [\".\"]\n" % json.dumps(build_requires or [])
    pkg_info = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires or [])
    members = {f"{root}/pyproject.toml": pyproject, f"{root}/PKG-INFO": pkg_info, f"{root}/backend.py": backend or FAILING_BACKEND}
    path = folder / f"{root}.tar.gz"
    with tarfile.open(path, "w:gz") as tf:
        for p, t in members.items():
            data = t.encode()
            ti = tarfile.TarInfo(p)
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return path


_TEMPLATE: dict[str, Path] = {}


@pytest.fixture(scope="session")
def venv_template(tmp_path_factory) -> Path:
    """One venv with pip, made once per session (about 5 s)."""
    if "v" not in _TEMPLATE:
        path = tmp_path_factory.mktemp("venv-template") / "venv"
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True, env=isolated_env(), timeout=300)
        _TEMPLATE["v"] = path
    return _TEMPLATE["v"]


def python_of(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if sys.platform == "win32" else "bin/python")


@pytest.fixture
def venv(venv_template, tmp_path) -> Path:
    """A throwaway venv of this test (a copy of the template)."""
    dest = tmp_path / "venv"
    shutil.copytree(venv_template, dest, symlinks=True)
    return dest


def pip_freeze(python: Path) -> list[str]:
    out = subprocess.run([str(python), "-m", "pip", "freeze", "--all"], capture_output=True, text=True,
                         env=isolated_env(), timeout=120, check=True)
    return sorted(line for line in out.stdout.splitlines() if line.strip())


def pip_install(python: Path, *args: str) -> None:
    subprocess.run([str(python), "-m", "pip", "install", "--no-index", "-q", *args], check=True, env=isolated_env(),
                   timeout=300, capture_output=True)


def tree_state(root: Path) -> dict[str, tuple]:
    """Every file under root (no __pycache__) with its size and content hash: "byte for byte"."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d != "__pycache__"]
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink():
                out[str(p.relative_to(root))] = ("link", os.readlink(p))
            else:
                out[str(p.relative_to(root))] = (p.stat().st_size, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def write_plan(path: Path, packages: list[dict]) -> Path:
    full = []
    for p in packages:
        full.append({"variant": "noarch", "gpu": False, "index_url": None, "build": None, "reasons": [], "requested": True, **p})
    path.write_text(json.dumps({"cuda": None, "cudnn": None, "packages": full, "blocked": []}), encoding="utf-8")
    return path


def run_gpuready(*args: str, env_extra: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gpuready", *args], capture_output=True, text=True,
                          env=isolated_env(env_extra), timeout=timeout)
