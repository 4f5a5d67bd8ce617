"""Offline for real: `gpuready download` adds what a new venv on the target lacks (pip, setuptools, wheel) and
the build tools of the source builds (the recipe's build modules, cmake, ninja), from a local package folder."""

from __future__ import annotations

import dataclasses
import sys

from gpuready.install import offline
from gpuready.install.download import download, target_environment_requirements
from gpuready.install.executor import NetOptions
from gpuready.install.runlog import RunLog
from gpuready.plan.model import PackagePlan, Plan
from tests.conftest import load_machine
from tests.test_download import WORKING_BACKEND
from tests.test_install_support import make_sdist, make_wheel


def this_machine():
    m = load_machine("h200-driver580")
    return dataclasses.replace(m, python=dataclasses.replace(m.python, version="%d.%d.0" % sys.version_info[:2]))


def test_what_a_new_venv_and_the_recipes_need():
    dlib = PackagePlan("dlib", "20.0.1", "source", True, ("gpuready", "build", "dlib"), ())
    opencv = PackagePlan("opencv", "4.14.0.94", "source", True, ("gpuready", "build", "opencv"), (), dist="opencv-contrib-python")
    assert target_environment_requirements() == ["pip", "setuptools", "wheel"]
    assert target_environment_requirements([dlib]) == ["pip", "setuptools", "wheel", "packaging", "cmake>=3.17", "ninja"]
    assert target_environment_requirements([dlib, opencv]) == [
        "pip", "setuptools", "wheel", "packaging", "cmake>=3.17", "ninja", "scikit-build", "numpy"]


def test_download_fetches_the_venv_tools_and_build_tools(tmp_path):
    idx = tmp_path / "index"
    for name, version in (("pip", "26.3"), ("setuptools", "84.2.1"), ("wheel", "0.48.0"), ("packaging", "26.4"),
                          ("cmake", "4.2.0"), ("ninja", "1.13.0"), ("pkga", "1.0")):
        make_wheel(idx, name, version)
    make_sdist(idx, "dlib", "20.0.1", build_requires=["setuptools", "wheel", "packaging", "cmake"],
               backend=WORKING_BACKEND.replace("@NAME@", "dlib").replace('"1.0"', '"20.0.1"'))
    plan = Plan(cuda="13.0", cudnn="9", blocked=(), packages=(
        PackagePlan("dlib", "20.0.1", "source", True, ("gpuready", "build", "dlib", "--version", "20.0.1"), (), dist="dlib"),
        PackagePlan("pkga", "1.0", "noarch", False, ("pip", "install", "pkga==1.0"), ())))
    dest = tmp_path / "dl"
    res = download(this_machine(), plan, ["dlib", "pkga"], dest, net=NetOptions(offline_dir=str(idx)), log=RunLog(tmp_path / "l.log"))
    assert res.ok and not res.notes, ([(w, r.output[-500:]) for w, r in res.failed], res.notes)
    names = sorted(p.name for p in dest.iterdir())
    for want in ("pip-26.3-", "setuptools-84.2.1-", "wheel-0.48.0-", "packaging-26.4-", "cmake-4.2.0-", "ninja-1.13.0-", "dlib-20.0.1.tar.gz"):
        assert any(n.startswith(want) for n in names), (want, names)
    roles = {f["file"]: f["for"] for f in offline.read_manifest(dest)["files"]}
    assert roles["pip-26.3-py3-none-any.whl"] == roles["ninja-1.13.0-py3-none-any.whl"] == "target environment"


def test_a_folder_without_pip_is_not_a_failed_download(tmp_path):
    idx = tmp_path / "index"
    make_wheel(idx, "pkga", "1.0")
    plan = Plan(cuda=None, cudnn=None, blocked=(), packages=(PackagePlan("pkga", "1.0", "noarch", False, ("pip", "install", "pkga==1.0"), ()),))
    res = download(this_machine(), plan, ["pkga"], tmp_path / "dl", net=NetOptions(offline_dir=str(idx)), log=RunLog(tmp_path / "l.log"))
    assert res.ok and any("only the pip bundled" in n for n in res.notes), res.notes
