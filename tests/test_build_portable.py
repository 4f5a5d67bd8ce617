"""RUNPATH folders of the build environment become $ORIGIN-relative, so a cached wheel works elsewhere."""

from __future__ import annotations

import ctypes
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gpuready import elf
from gpuready.build import wheelfile
from gpuready.build.portable import make_portable, portable_runpath

SITE = "/opt/torch/.venv/lib/python3.12/site-packages"


def test_portable_runpath_dlib_layout():
    got = portable_runpath([f"{SITE}/nvidia/cudnn/lib", "/usr/local/cuda/lib64"],
                           "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so", SITE, "13.0.88")
    assert got == ["$ORIGIN/nvidia/cudnn/lib", "/usr/local/cuda/lib64", "$ORIGIN/nvidia/cu13/lib"]


def test_portable_runpath_cv2_layout_dedups():
    got = portable_runpath(["$ORIGIN/../../nvidia/cu13/lib", "$ORIGIN/../../nvidia/cudnn/lib", "/usr/local/cuda/lib64",
                            f"{SITE}/nvidia/cudnn/lib"], "cv2/python-3.12/cv2.cpython-312-x86_64-linux-gnu.so", SITE, "13.0")
    assert got == ["$ORIGIN/../../nvidia/cu13/lib", "$ORIGIN/../../nvidia/cudnn/lib", "/usr/local/cuda/lib64"]


def test_nothing_inside_the_environment_is_left_alone():
    rp = ["/usr/local/cuda/lib64", "/usr/lib/x86_64-linux-gnu"]
    assert portable_runpath(rp, "m.so", SITE, "")[:2] == rp


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("gcc"), reason="needs Linux and gcc")
def test_rewritten_module_loads_from_another_environment(tmp_path):
    build_site = tmp_path / "build-env" / "site-packages"
    lib = build_site / "nvidia" / "foo" / "lib"
    lib.mkdir(parents=True)
    (tmp_path / "foo.c").write_text("int foo(void){return 42;}\n")
    (tmp_path / "bar.c").write_text("int foo(void); int bar(void){return foo()+1;}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib / "libfoo.so.1"), "-Wl,-soname,libfoo.so.1", str(tmp_path / "foo.c")], check=True)
    (lib / "libfoo.so").symlink_to("libfoo.so.1")
    tree = tmp_path / "tree"
    tree.mkdir()
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tree / "bar.so"), str(tmp_path / "bar.c"), f"-L{lib}", "-lfoo",
                    f"-Wl,-rpath,{lib}:/usr/local/cuda/lib64", "-Wl,--enable-new-dtags"], check=True)
    wheel = wheelfile.make_wheel(tree, "bar", "1.0", "py3-none-linux_x86_64", tmp_path / "built")
    res = make_portable(wheel, "bar.so", [str(lib), "/usr/local/cuda/lib64"], str(build_site), "13.0", tmp_path / "work")
    assert res.wheel is not None, res.note
    assert res.after[:2] == ["$ORIGIN/nvidia/foo/lib", "/usr/local/cuda/lib64"]
    # Install into another environment that has its own copy of the library; the build env is gone.
    other = tmp_path / "other-env" / "site-packages"
    shutil.copytree(build_site / "nvidia", other / "nvidia")
    shutil.rmtree(tmp_path / "build-env")
    with zipfile.ZipFile(res.wheel) as zf:
        zf.extractall(other)
    assert elf.parse_elf(other / "bar.so").runpath[0] == "$ORIGIN/nvidia/foo/lib"
    assert ctypes.CDLL(str(other / "bar.so")).bar() == 43
    # The RECORD of the rewritten wheel matches the new bytes.
    with zipfile.ZipFile(res.wheel) as zf:
        record = zf.read("bar-1.0.dist-info/RECORD").decode()
        import base64
        import hashlib

        digest = base64.urlsafe_b64encode(hashlib.sha256(zf.read("bar.so")).digest()).rstrip(b"=").decode()
        assert f"bar.so,sha256={digest}," in record


@pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("gcc"), reason="needs Linux and gcc")
def test_check_flags_a_module_without_shared_libstdcxx(tmp_path):
    """The /opt/gcc hazard: a module that does not need libstdc++.so.6 is refused (env_mismatch)."""
    import dataclasses

    from gpuready.build.checks import check_wheel
    from gpuready.build.recipes import get_recipe

    tree = tmp_path / "tree"
    tree.mkdir()
    (tmp_path / "m.c").write_text("int x(void){return 1;}\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(tree / "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so"), str(tmp_path / "m.c")], check=True)
    wheel = wheelfile.make_wheel(tree, "dlib", "20.0.1", "cp312-cp312-linux_x86_64", tmp_path / "w")
    recipe = dataclasses.replace(get_recipe("dlib"))
    chk = check_wheel(wheel, recipe, tmp_path / "work", python=sys.executable, expect_gpu=False, do_import=False)
    assert chk.labels[0] == "env_mismatch" and "libstdc++" in chk.problems[0]
    assert "cpu_only_build" in chk.labels  # no libcudnn / libcublas either
