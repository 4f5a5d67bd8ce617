"""Competing cv2 providers, shadowing dlib copies, and the order of install steps."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from gpuready.install import knowledge
from gpuready.install.conflicts import conda_paths, find_conflicts, module_of, remove_files
from gpuready.install.envinfo import Dist, TargetEnv
from gpuready.install.executor import Installer, NetOptions
from gpuready.install.steps import (
    built_wheel_steps, order_packages, package_step, removal_steps, request_key, select_packages, wheel_requirements,
)
from gpuready.plan.model import PackagePlan, Plan
from gpuready.machine import Framework, FrameworkCopy
from tests.conftest import load_machine
from tests.test_install_support import make_wheel

SP = "/opt/torch/.venv/lib/python3.12/site-packages"
PIP = Installer("pip", "/opt/torch/.venv/bin/python3", version="24.0")


def h200_env(extra_dists=(), sys_path=None) -> TargetEnv:
    dists = (Dist("opencv-python-headless", "5.0.0", f"{SP}/opencv_python_headless-5.0.0.dist-info", SP, "pip", top_level=("cv2",)),
             Dist("torch", "2.11.0+cu130", f"{SP}/torch-2.11.0.dist-info", SP, "pip", top_level=("torch",))) + tuple(extra_dists)
    return TargetEnv(python="/opt/torch/.venv/bin/python3", version="3.12.3", prefix="/opt/torch/.venv", base_prefix="/usr",
                     env_kind="venv", purelib=SP, platlib=SP, scripts="/opt/torch/.venv/bin", data="/opt/torch/.venv",
                     sys_path=tuple(sys_path or ("/usr/lib/python312.zip", SP)), dists=dists, platform="linux-x86_64")


OPENCV = PackagePlan.from_dict({"name": "opencv", "dist": "opencv-contrib-python-headless", "version": "4.14.0.94", "variant": "source", "gpu": True,
          "install": ["gpuready", "build", "opencv", "--version", "4.14.0.94"], "build": {"cuda_arch_bin": ["9.0"]}})
DLIB = PackagePlan.from_dict({"name": "dlib", "dist": "dlib", "version": "20.0.1", "variant": "source", "gpu": True,
        "install": ["gpuready", "build", "dlib", "--version", "20.0.1"], "build": {"cuda_arch_bin": ["9.0"]}})
FACE = PackagePlan.from_dict({"name": "face_recognition", "dist": "face_recognition", "version": "1.3.0", "variant": "noarch", "gpu": True,
        "install": ["pip", "install", "--no-deps", "face_recognition==1.3.0", "face_recognition_models==0.3.0"]})


def test_knowledge_loads_with_sources():
    assert knowledge.competing_group("opencv-python").module == "cv2"
    assert knowledge.competing_group("OpenCV_Contrib_Python_Headless").module == "cv2"
    assert knowledge.competing_group("numpy") is None
    assert knowledge.companions_for("face-recognition") == ("setuptools<82",)
    assert knowledge.glibc_for_distro("Ubuntu 24.04.3 LTS") == "2.39"
    assert knowledge.glibc_for_distro("Gentoo") == knowledge.setting("default_glibc")
    for rows in (knowledge.competing(), knowledge.shadow_checks(), knowledge.companions(), knowledge.indexes(),
                 knowledge.network_signatures(), knowledge.glibc_table()):
        assert rows and all(r.source.startswith(("http", "shared/")) for r in rows)


def test_module_of():
    assert module_of("opencv-contrib-python-headless") == "cv2"
    assert module_of("dlib-bin") == "dlib"
    assert module_of("face_recognition") == "face_recognition"
    assert module_of("torch") == "torch"
    assert module_of("some-pkg") == "some_pkg"


def test_cv2_provider_on_the_h200_is_uninstalled_first():
    machine = load_machine("h200-driver580")
    c = find_conflicts(h200_env(), machine, [OPENCV])
    assert [(r.dist, r.how) for r in c.removals] == [("opencv-python-headless", "uninstall")]
    assert "cv2" in c.removals[0].reason and c.removals[0].source.startswith("https://")
    steps = removal_steps(c, PIP)
    assert steps[0].command.argv[-2:] == ("-y", "opencv-python-headless")


def test_same_provider_is_not_a_conflict():
    machine = load_machine("h200-driver580")
    headless = dataclasses.replace(OPENCV, dist="opencv-python-headless")
    assert find_conflicts(h200_env(), machine, [headless]).removals == ()


def test_plan_conflicts_are_honoured():
    machine = load_machine("h200-driver580")
    pkg = PackagePlan.from_dict({"name": "onnxruntime", "dist": "onnxruntime-gpu", "install": ["pip", "install", "onnxruntime-gpu"],
           "conflicts": ["torch"]})
    c = find_conflicts(h200_env(), machine, [pkg])
    assert ("torch", "uninstall") in [(r.dist, r.how) for r in c.removals]


def _dlib_machine(copies):
    base = load_machine("no-gpu")
    fw = Framework(name="dlib", dist="dlib", version="19.24.0", copies=tuple(copies))
    return dataclasses.replace(base, frameworks=(fw,))


def test_shadowing_dlib_in_user_site_is_removed_by_its_record(tmp_path):
    user = tmp_path / "home" / ".local" / "lib" / "python3.12" / "site-packages"
    user.mkdir(parents=True)
    whl = make_wheel(tmp_path / "w", "dlib", "19.24.0", files={"dlib/__init__.py": "", "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so": "elf"})
    import zipfile

    zipfile.ZipFile(whl).extractall(user)
    (user / "dlib-19.24.0.dist-info" / "INSTALLER").write_text("pip\n")
    d = Dist("dlib", "19.24.0", str(user / "dlib-19.24.0.dist-info"), str(user), "pip", top_level=("dlib", "_dlib_pybind11"))
    env = h200_env([d], sys_path=("/usr/lib/python312.zip", str(user), SP))
    machine = _dlib_machine([FrameworkCopy(str(user / "dlib"), "19.24.0", "dlib", True)])
    c = find_conflicts(env, machine, [DLIB])
    (r,) = c.removals
    assert r.how == "files" and r.location == str(user) and "earlier on sys.path" in r.reason
    assert str(user / "dlib" / "__init__.py") in r.paths and str(user / "dlib-19.24.0.dist-info") in r.paths
    assert c.extra_roots == (str(user),)
    assert remove_files(r.paths, keep=(r.location,)) == []
    assert not (user / "dlib").exists() and not (user / "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so").exists()
    assert user.is_dir()  # the location itself stays


def test_copy_later_on_sys_path_is_left_alone(tmp_path):
    later = tmp_path / "later"
    (later / "dlib").mkdir(parents=True)
    env = h200_env(sys_path=("/usr/lib/python312.zip", SP, str(later)))
    machine = _dlib_machine([FrameworkCopy(str(later / "dlib"), "19.0", "", False)])
    c = find_conflicts(env, machine, [DLIB])
    assert c.removals == () and "left alone" in c.notes[0]


def test_conda_dlib_found_by_conda_meta(tmp_path):
    prefix = tmp_path / "conda"
    sp = prefix / "lib" / "python3.12" / "site-packages"
    (sp / "dlib").mkdir(parents=True)
    (sp / "dlib" / "__init__.py").write_text("")
    (sp / "_dlib_pybind11.so").write_text("")
    (prefix / "conda-meta").mkdir()
    files = ["lib/python3.12/site-packages/dlib/__init__.py", "lib/python3.12/site-packages/_dlib_pybind11.so", "lib/libdlib.so"]
    (prefix / "conda-meta" / "dlib-19.24.2-py312.json").write_text(json.dumps({"name": "dlib", "version": "19.24.2", "files": files}))
    name, version, paths = conda_paths(str(sp), "dlib")
    assert (name, version) == ("dlib", "19.24.2")
    assert str(prefix / "lib" / "libdlib.so") in paths and any(p.endswith(".json") for p in paths)
    env = h200_env(sys_path=(str(sp), SP))
    machine = _dlib_machine([FrameworkCopy(str(sp / "dlib"), "19.24.2", "", True)])
    (r,) = find_conflicts(env, machine, [DLIB]).removals
    assert r.how == "files" and "conda" in r.reason and len(r.paths) == 4


def test_bare_copy_without_metadata(tmp_path):
    pp = tmp_path / "pythonpath"
    (pp / "dlib").mkdir(parents=True)
    (pp / "dlib.cpython-312-x86_64-linux-gnu.so").write_text("")
    env = h200_env(sys_path=(str(pp), SP))
    machine = _dlib_machine([FrameworkCopy(str(pp / "dlib"), "", "", True)])
    (r,) = find_conflicts(env, machine, [DLIB]).removals
    assert r.dist == "" and set(r.paths) == {str(pp / "dlib"), str(pp / "dlib.cpython-312-x86_64-linux-gnu.so")}
    assert "no package metadata" in r.describe()


def test_request_keys_and_selection():
    assert request_key("cv2") == "opencv"
    assert request_key("opencv-python-headless>=4") == "opencv"
    assert request_key("Face-Recognition") == "face-recognition"
    numpy = PackagePlan.from_dict({"name": "numpy", "install": ["pip", "install", "numpy"], "requested": False})
    plan = Plan(cuda=None, cudnn=None, packages=(DLIB, FACE, OPENCV, numpy), blocked=())
    names = [p.name for p in select_packages(plan, ["face_recognition"])]
    assert names == ["face_recognition", "numpy"]
    assert len(select_packages(plan, [])) == 4


def test_source_builds_go_first():
    assert [p.name for p in order_packages([FACE, DLIB, OPENCV])] == ["dlib", "opencv", "face_recognition"]


def test_companion_added_once():
    step = package_step(PackagePlan.from_dict({"name": "face_recognition", "install": ["pip", "install", "face_recognition==1.3.0"]}), PIP, NetOptions())
    assert step.command.argv[-1] == "setuptools<82"
    step = package_step(PackagePlan.from_dict({"name": "face_recognition", "install": ["pip", "install", "face_recognition", "setuptools<81"]}), PIP, NetOptions())
    assert "setuptools<82" not in step.command.argv


def test_built_wheel_steps_force_the_wheel_after_its_dependencies(tmp_path):
    whl = make_wheel(tmp_path, "opencv-contrib-python-headless", "4.14.0.94", files={"cv2/__init__.py": ""},
                     requires=["numpy>=2; python_version >= '3.9'", "pywin32; sys_platform == 'win32'", "extra-thing; extra == 'x'"])
    env = h200_env()
    assert wheel_requirements(whl, env) == ["numpy>=2"]
    steps = built_wheel_steps(OPENCV, whl, env, PIP, NetOptions(offline_dir="/dl"))
    assert [s.kind for s in steps] == ["install", "install"]
    assert "numpy>=2" in steps[0].command.argv
    last = list(steps[1].command.argv)
    assert last[-3:] == ["--force-reinstall", "--no-deps", str(whl)]
    assert last[last.index("--find-links") + 1] == "/dl" and "--no-index" in last
    dry = built_wheel_steps(DLIB, None, env, PIP, NetOptions())
    assert len(dry) == 1 and "<the dlib wheel" in dry[0].display()
