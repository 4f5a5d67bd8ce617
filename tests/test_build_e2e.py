"""`build_wheel` end to end on a tiny local package, no GPU, no network, no compiler.

The package's in-tree PEP 517 backend behaves like dlib's setup.py: it reads the recipe's
environment, prints CMake-like lines ("TINY WILL USE CUDA" or "TINY WILL NOT USE CUDA", ninja
progress) and writes a wheel. A test recipe with its own settings and log signatures is swapped
in for the real ones, so everything else is the real code: settings, pip wheel, live log
reading, the import check in a child process, the cache, and pip installing from the cache.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from gpuready.build import builder, cache, logread, recipes, settings
from gpuready.build.recipes import LogSignature, Recipe, Setting
from gpuready.machine import GPU, Compiler, CudaToolkit, Cudnn
from tests.conftest import load_machine

BACKEND = r'''
import base64, hashlib, os, sys, zipfile

def get_requires_for_build_wheel(config_settings=None):
    return []

def _rec(data):
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    cuda = os.environ.get("TINY_CUDA") == "ON"
    print("-- The CXX compiler identification is GNU 12.2.0", flush=True)
    print("-- TINY ARCHS=" + os.environ.get("CUDAARCHS", "?") + " CC=" + os.environ.get("CC", "?"), flush=True)
    print("-- TINY WILL USE CUDA" if cuda else "-- TINY WILL NOT USE CUDA", flush=True)
    print("-- Build files have been written to: /tmp/tiny", flush=True)
    print("[1/2] Building CXX object tiny.o", flush=True)
    print("[2/2] Linking CXX shared module tiny.so", flush=True)
    files = {"tinycuda/__init__.py": ("CUDA = %r\nARCHS = %r\n" % (cuda, os.environ.get("CUDAARCHS"))).encode(),
             "tinycuda-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinycuda\nVersion: 1.0\n",
             "tinycuda-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tiny\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    name = "tinycuda-1.0-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        record = ""
        for arc, data in files.items():
            zf.writestr(arc, data)
            record += "%s,%s,%d\n" % (arc, _rec(data), len(data))
        zf.writestr("tinycuda-1.0.dist-info/RECORD", record + "tinycuda-1.0.dist-info/RECORD,,\n")
    print("creating '%s' and adding 'build' to it" % name, flush=True)
    return name
'''

PYPROJECT = '[build-system]\nrequires = []\nbuild-backend = "tiny_backend"\nbackend-path = ["."]\n\n[project]\nname = "tinycuda"\nversion = "1.0"\n'

TINY = Recipe(
    name="tinycuda", recipe_version=1, dist="tinycuda", import_name="tinycuda", methods=("pip-wheel",), default_version="1.0",
    arch_style="sm", arch_separator=";", min_cmake="3.5", cudnn_min="7.5", toolkit_libs=(), toolkit_extras=(),
    platforms=("linux", "windows", "macos"), binary_glob="tinycuda/__init__.py", needed_libs=(),
    verify_code="import json, tinycuda\nprint(MARK + json.dumps({'cuda_build': tinycuda.CUDA, 'devices': 0, 'archs': tinycuda.ARCHS}))\n",
    source="test",
)


def _rows(cuda: str) -> tuple[Setting, ...]:
    return (
        Setting("tinycuda", "env", "TINY_CUDA", cuda, "test", "test"),
        Setting("tinycuda", "env", "CUDAARCHS", "{archs_sm}", "test", "test"),
        Setting("tinycuda", "env", "CC", "{cc}", "test", "test"),
    )


SIGS = (
    LogSignature("tiny-on", ("tinycuda",), "confirm", "TINY WILL USE CUDA", "test", missing="the line 'TINY WILL USE CUDA'"),
    LogSignature("tiny-off", ("tinycuda",), "deny", "TINY WILL NOT USE CUDA", "test", label="cpu_only_build",
                 missing="CUDA support (TINY WILL NOT USE CUDA)", fix="give it CUDA"),
)


@pytest.fixture
def tiny_sdist(tmp_path) -> Path:
    src = tmp_path / "tinycuda-1.0"
    src.mkdir()
    (src / "pyproject.toml").write_text(PYPROJECT)
    (src / "tiny_backend.py").write_text(BACKEND)
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinycuda\nVersion: 1.0\n")
    out = tmp_path / "tinycuda-1.0.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src, arcname="tinycuda-1.0")
    return out


@pytest.fixture
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    monkeypatch.setattr(recipes, "recipes", lambda: (TINY,))
    monkeypatch.setattr(settings, "version_limits", lambda: ())
    sigs = tuple(s for s in recipes.log_signatures() if "*" in s.recipes) + tuple(
        dataclasses.replace(s) for s in SIGS)
    for s in sigs:
        s.validate()
    monkeypatch.setattr(logread, "log_signatures", lambda: sigs)

    def use(cuda: str) -> None:
        monkeypatch.setattr(settings, "settings_rows", lambda: _rows(cuda))

    use("ON")
    return use


@pytest.fixture
def machine():
    m = load_machine("h200-driver580")
    return dataclasses.replace(
        m, hostname="elsewhere", driver=dataclasses.replace(m.driver, version="", cuda_version=""),
        gpus=(GPU(index=0, name="NVIDIA H200", compute_capability="9.0"),),
        toolkits=(CudaToolkit(root="/opt/cuda-13.0", version="13.0.88", nvcc="/opt/cuda-13.0/bin/nvcc", origin="system"),),
        cudnns=(Cudnn(version="9.14.0", header="/opt/cudnn/include/cudnn_version.h", library="/opt/cudnn/lib/libcudnn.so.9", origin="system"),),
        compilers=(Compiler(kind="gcc", version="13.3.0", path="/usr/bin/g++"),),
    )


def test_build_store_reuse_install(env, machine, tiny_sdist, tmp_path):
    r = builder.build_wheel(machine, "tinycuda", sdist=tiny_sdist, progress=False, isolation=False)
    assert r.ok, (r.problems, r.log.read_text()[-3000:])
    assert r.cuda_enabled is True and not r.cached
    assert r.version == "1.0+cu130.cudnn9.sm90.r1" and r.requirement == "tinycuda==1.0+cu130.cudnn9.sm90.r1"
    assert r.wheel.parent == tmp_path / "wheels" and r.wheel.name.startswith("tinycuda-1.0+cu130.cudnn9.sm90.r1-")
    assert r.check["report"]["archs"] == "90"  # the recipe's env reached the build
    assert "build" in r.steps
    log = r.log.read_text()
    assert "TINY ARCHS=90 CC=/usr/bin/gcc" in log and "stored in the cache" in log
    # Second time: the cache answers, nothing is built.
    again = builder.build_wheel(machine, "tinycuda", sdist=tiny_sdist, progress=False, isolation=False)
    assert again.ok and again.cached and again.wheel == r.wheel and again.seconds < r.seconds
    # pip takes it from the cache folder, offline.
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-index", "--disable-pip-version-check",
                          "--find-links", str(cache.cache_dir()), "--target", str(target), r.requirement],
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    out = subprocess.run([sys.executable, "-c", "import tinycuda; print(tinycuda.CUDA)"], capture_output=True, text=True,
                         env={"PYTHONPATH": str(target)}, timeout=60)
    assert out.stdout.strip() == "True"


def test_a_build_that_drops_cuda_fails_loudly(env, machine, tiny_sdist, tmp_path):
    env("OFF")
    r = builder.build_wheel(machine, "tinycuda", sdist=tiny_sdist, progress=False, isolation=False)
    assert not r.ok
    assert r.cuda_enabled is False
    assert r.label == "cpu_only_build"
    assert "TINY WILL NOT USE CUDA" in r.missing
    assert any("CUDA is not in it" in p for p in r.problems)
    assert cache.list_entries() == []  # nothing stored
    assert r.log.is_file() and "FAILED" in r.log.read_text()


def test_blocked_build_stops_before_work(env, machine, tiny_sdist):
    m = dataclasses.replace(machine, gpus=())
    r = builder.build_wheel(m, "tinycuda", sdist=tiny_sdist, progress=False, isolation=False)
    assert not r.ok and r.label == "build_arch_unsupported"
    assert r.steps == {}


def test_wrong_source_is_bad_input(env, machine, tmp_path):
    from gpuready.build.source import SourceError

    bogus = tmp_path / "other-2.0.tar.gz"
    with tarfile.open(bogus, "w:gz") as tf:
        p = tmp_path / "PKG-INFO"
        p.write_text("x")
        tf.add(p, arcname="other-2.0/PKG-INFO")
    with pytest.raises(SourceError):
        builder.build_wheel(machine, "tinycuda", sdist=bogus, progress=False)
