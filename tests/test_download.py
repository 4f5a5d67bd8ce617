"""`gpuready download` and `install --offline`: target tags, sdists and stubs, the manifest, and a
download -> offline install round trip against a local package folder (no network)."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import gpuready.install.flow
from gpuready.plan.model import Plan
from gpuready.install import offline
from gpuready.install.download import build_requires, download, sdist_metadata, stub_wheel
from gpuready.install.executor import NetOptions
from gpuready.install.flow import run_install
from gpuready.install.model import InstallOptions
from gpuready.install.runlog import RunLog
from tests.conftest import load_machine
from tests.test_install_flow import FakeBuild, FakeUI
from tests.test_install_support import (  # noqa: F401 - fixtures
    clean_pip_env, isolated_env, make_sdist, make_wheel, pip_freeze, python_of, venv, venv_template,
)

WORKING_BACKEND = '''
import base64, hashlib, os, zipfile
NAME, VERSION = "@NAME@", "1.0"
def get_requires_for_build_wheel(config_settings=None):
    return []
def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    info = f"{NAME}-{VERSION}.dist-info"
    files = {f"{NAME}/__init__.py": "BUILT = True\\n", f"{info}/METADATA": f"Metadata-Version: 2.1\\nName: {NAME}\\nVersion: {VERSION}\\n",
             f"{info}/WHEEL": "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"}
    name = f"{NAME}-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as zf:
        rec = ""
        for p, t in files.items():
            zf.writestr(p, t)
            d = base64.urlsafe_b64encode(hashlib.sha256(t.encode()).digest()).rstrip(b"=").decode()
            rec += f"{p},sha256={d},{len(t.encode())}\\n"
        zf.writestr(f"{info}/RECORD", rec + f"{info}/RECORD,,\\n")
    return name
'''


def test_target_tags_for_the_h200():
    tags = offline.target_tags(load_machine("h200-driver580"))
    assert (tags.python, tags.implementation, tags.abi) == ("3.12", "cp", "cp312")
    assert tags.platforms[0] == "manylinux_2_39_x86_64"  # Ubuntu 24.04
    assert "manylinux_2_17_x86_64" in tags.platforms and "manylinux2014_x86_64" in tags.platforms
    assert "manylinux_2_16_x86_64" not in tags.platforms
    args = tags.pip_args()
    assert args[:4] == ["--python-version", "3.12", "--implementation", "cp"]
    assert args.count("--platform") == len(tags.platforms) and "abi3" in args
    old = offline.target_tags(load_machine("h200-driver580"), glibc_hint="glibc 2.28")
    assert old.platforms[0] == "manylinux_2_28_x86_64"


def test_target_tags_for_windows():
    tags = offline.target_tags(load_machine("win10-gtx1060-driver411"))
    assert tags.abi == "cp37" and tags.platforms == ("win_amd64",)


def test_sdist_reading(tmp_path):
    sd = make_sdist(tmp_path, "srcpkg", "1.0", requires=["numpy>=1.20"], build_requires=["setuptools>=61", "cmake"])
    assert build_requires(sd) == ["setuptools>=61", "cmake"]
    assert sdist_metadata(sd) == ("srcpkg", "1.0", ["numpy>=1.20"])
    legacy = tmp_path / "legacy-1.0.tar.gz"
    import io
    import tarfile

    with tarfile.open(legacy, "w:gz") as tf:
        data = b"from setuptools import setup\nsetup()\n"
        ti = tarfile.TarInfo("legacy-1.0/setup.py")
        ti.size = len(data)
        tf.addfile(ti, io.BytesIO(data))
    assert build_requires(legacy) == ["setuptools>=40.8.0", "wheel"]
    assert sdist_metadata(legacy) == ("", "", [])


def test_stub_wheel_is_accepted_by_pip(tmp_path):
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    stub_wheel(stubs, "dlib", "20.0.1", ["numpy"])
    make_wheel(stubs, "numpy", "9.9")
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-index", "--find-links", str(stubs),
                          "--target", str(tmp_path / "t"), "dlib==20.0.1"], capture_output=True, text=True, env=isolated_env())
    assert res.returncode == 0, res.stdout + res.stderr
    assert "dlib-20.0.1" in res.stdout and "numpy-9.9" in res.stdout


def test_manifest_round_trip_and_corruption(tmp_path):
    m = load_machine("h200-driver580")
    tags = offline.target_tags(m)
    (tmp_path / "a-1.0-py3-none-any.whl").write_bytes(b"wheel")
    (tmp_path / "b-1.0.tar.gz").write_bytes(b"sdist")
    data = offline.write_manifest(tmp_path, requests=["a"], plan=Plan.from_dict({"packages": [{"name": "a"}], "blocked": []}), tags=tags, machine=m,
                                  roles={"b-1.0.tar.gz": "b"})
    assert {f["file"]: f["kind"] for f in data["files"]} == {"a-1.0-py3-none-any.whl": "wheel", "b-1.0.tar.gz": "sdist"}
    assert offline.read_manifest(tmp_path)["requests"] == ["a"]
    assert offline.sdist_for(tmp_path, data, "b", "1.0") == tmp_path / "b-1.0.tar.gz"
    # a second download into the same folder merges
    data = offline.write_manifest(tmp_path, requests=["b"], plan=Plan.from_dict({"packages": [{"name": "b"}], "blocked": []}), tags=tags, machine=m)
    assert data["requests"] == ["a", "b"] and [p["name"] for p in data["plan"]["packages"]] == ["a", "b"]
    assert offline.check_target(data, "3.12.3", "linux_x86_64") == []
    assert "Python 3.12" in offline.check_target(data, "3.11.7", "linux_x86_64")[0]
    (tmp_path / "b-1.0.tar.gz").write_bytes(b"truncat")
    with pytest.raises(offline.OfflineError, match="corrupt"):
        offline.read_manifest(tmp_path)
    (tmp_path / "b-1.0.tar.gz").unlink()
    with pytest.raises(offline.OfflineError, match="missing"):
        offline.read_manifest(tmp_path)
    with pytest.raises(offline.OfflineError, match="already holds files for cp312"):
        offline.write_manifest(tmp_path, requests=[], plan={}, tags=offline.target_tags(load_machine("win10-gtx1060-driver411")), machine=m)
    (tmp_path / offline.MANIFEST).write_text("{}")
    with pytest.raises(offline.OfflineError, match="not a gpuready offline manifest"):
        offline.read_manifest(tmp_path)


@pytest.fixture
def local_index(tmp_path) -> Path:
    """A folder standing in for the index: pkga (wheel, needs srcpkg and an sdist-only package), srcpkg (sdist)."""
    idx = tmp_path / "index"
    make_wheel(idx, "pkga", "1.0", requires=["srcpkg>=1", "sdistonly"])
    make_sdist(idx, "srcpkg", "1.0", backend=WORKING_BACKEND.replace("@NAME@", "srcpkg"))
    make_sdist(idx, "sdistonly", "1.0", backend=WORKING_BACKEND.replace("@NAME@", "sdistonly"))
    return idx


PLAN = {"packages": [
    {"name": "srcpkg", "dist": "srcpkg", "version": "1.0", "variant": "source", "gpu": False,
     "install": ["gpuready", "build", "srcpkg", "--version", "1.0"], "build": None},
    {"name": "pkga", "dist": "pkga", "version": "1.0", "variant": "noarch", "gpu": False, "install": ["pip", "install", "pkga==1.0"]},
], "blocked": []}


def this_machine():
    m = load_machine("h200-driver580")
    return dataclasses.replace(m, python=dataclasses.replace(m.python, version="%d.%d.0" % sys.version_info[:2]))


def test_download_then_offline_install(local_index, tmp_path, venv, clean_pip_env, monkeypatch):
    dest = tmp_path / "dl"
    log = RunLog(tmp_path / "download.log")
    res = download(this_machine(), Plan.from_dict(PLAN), ["srcpkg", "pkga"], dest, net=NetOptions(offline_dir=str(local_index)), log=log)
    assert res.ok, [(w, r.output[-500:]) for w, r in res.failed]
    names = sorted(p.name for p in dest.iterdir())
    assert names == ["gpuready-offline.json", "pkga-1.0-py3-none-any.whl", "sdistonly-1.0.tar.gz", "srcpkg-1.0.tar.gz"]
    for p in dest.glob("*.whl"):  # no stub wheel left behind
        with zipfile.ZipFile(p) as zf:
            assert not any(b"gpuready-stub" in zf.read(n) for n in zf.namelist() if n.endswith("WHEEL"))
    manifest = offline.read_manifest(dest)
    roles = {f["file"]: f["for"] for f in manifest["files"]}
    assert roles["srcpkg-1.0.tar.gz"] == "srcpkg" and roles["pkga-1.0-py3-none-any.whl"] == "pkga"
    assert "--python-version" in log.text() and "--retries" in log.text()

    # ... and on the target: offline, the source package "built" by the (stubbed) build stage
    built = make_wheel(tmp_path / "built", "srcpkg", "1.0")
    seen = {}

    def fake_build(machine, package, **kw):
        seen["sdist"] = kw["sdist"]
        return FakeBuild(ok=True, wheel=str(built))

    monkeypatch.setattr(gpuready.install.flow, "build_wheel", fake_build, raising=False)
    py = python_of(venv)
    opts = InstallOptions(python=str(py), offline=dest, verify=False, installer="pip", progress=False)
    rep = run_install(["srcpkg", "pkga"], opts, FakeUI())
    assert rep.status == "installed", (rep.error, rep.causes, rep.log)
    # built from the hash-checked copy of the listed file (an unlisted file in dest is never seen)
    assert seen["sdist"].name == "srcpkg-1.0.tar.gz"
    assert seen["sdist"].read_bytes() == (dest / "srcpkg-1.0.tar.gz").read_bytes()
    freeze = pip_freeze(py)
    assert {"pkga==1.0", "sdistonly==1.0"} <= set(freeze)  # sdistonly was built by pip from the folder
    assert any(f.startswith("srcpkg @ file://") and "srcpkg-1.0-py3-none-any.whl" in f for f in freeze)


def test_download_failure_is_reported(local_index, tmp_path):
    plan = {"packages": [{"name": "nothere", "version": "1.0", "install": ["pip", "install", "nothere==1.0"]}], "blocked": []}
    res = download(this_machine(), Plan.from_dict(plan), ["nothere"], tmp_path / "dl", net=NetOptions(offline_dir=str(local_index)),
                   log=RunLog(tmp_path / "l.log"))
    assert not res.ok and res.failed[0][0] == "wheels: nothere"
    assert "No matching distribution" in res.failed[0][1].output
    assert (tmp_path / "dl" / offline.MANIFEST).is_file()  # what was fetched is still described


def test_offline_install_refuses_another_python(local_index, tmp_path, venv, clean_pip_env):
    from gpuready.install.model import InstallError

    dest = tmp_path / "dl"
    m = load_machine("h200-driver580")
    other = dataclasses.replace(m, python=dataclasses.replace(m.python, version="3.8.10"))
    offline.write_manifest(dest if dest.mkdir() is None else dest, requests=["pkga"], plan=Plan.from_dict(PLAN), tags=offline.target_tags(other), machine=other)
    opts = InstallOptions(python=str(python_of(venv)), offline=dest, verify=False, installer="pip", progress=False)
    with pytest.raises(InstallError, match="Python 3.8"):
        run_install(["pkga"], opts, FakeUI())


def test_exclude_leaves_out_what_the_target_has(local_index, tmp_path):
    make_wheel(local_index, "bigdep", "1.0")
    dest = tmp_path / "dl"
    dest.mkdir()
    mine = make_wheel(dest, "bigdep", "0.9")  # put there by hand: kept
    plan = {"packages": [{"name": "pkgb", "version": "1.0", "install": ["pip", "install", "--no-deps", "pkgb==1.0", "bigdep"]}],
            "blocked": []}
    make_wheel(local_index, "pkgb", "1.0")
    res = download(this_machine(), Plan.from_dict(plan), ["pkgb"], dest, net=NetOptions(offline_dir=str(local_index)), exclude=["BigDep"],
                   log=RunLog(tmp_path / "l.log"))
    assert res.ok
    assert sorted(p.name for p in dest.iterdir()) == sorted([mine.name, "pkgb-1.0-py3-none-any.whl", offline.MANIFEST])


def test_project_of():
    from gpuready.install.download import project_of

    assert project_of("Pillow-11.0.0-cp312-cp312-manylinux_2_28_x86_64.whl") == "Pillow"
    assert project_of("face_recognition_models-0.3.0.tar.gz") == "face_recognition_models"
    assert project_of("opencv-contrib-python-headless-4.14.0.94.tar.gz") == "opencv-contrib-python-headless"
