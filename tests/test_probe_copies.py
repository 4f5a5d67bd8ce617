"""Copies of a module: sys.path order, distribution (dist-info or conda-meta), origin, CUDA from the files."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from gpuready.knowledge.frameworks import frameworks
from gpuready.probe.cudafiles import copy_has_cuda
from gpuready.probe.frameworks import entry_origin, find_copies, probe_frameworks

DLIB = frameworks()["dlib"]


def dlib_copy(site, cuda, version, *, record=True, installer="pip"):
    """A stand-in dlib package: DLIB_USE_CUDA spelled out, with a dist-info (RECORD optional, like a setup.py install)."""
    pkg = site / "dlib"
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(f"DLIB_USE_CUDA = {cuda}\n__version__ = '{version}'\n")
    info = site / f"dlib-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dlib\nVersion: {version}\n")
    (info / "INSTALLER").write_text(installer + "\n")
    if record:
        (info / "RECORD").write_text(f"dlib/__init__.py,,\ndlib-{version}.dist-info/METADATA,,\n")
    return site


def test_cpu_copy_on_pythonpath_before_cuda_copy_in_site_packages(tmp_path):
    cpu = dlib_copy(tmp_path / "cpu-dlib", False, "19.24.0", record=False)
    cuda = dlib_copy(tmp_path / "venv" / "lib" / "python3.12" / "site-packages", True, "20.0.1")
    env = {"PYTHONPATH": str(cpu)}
    first, second = find_copies(DLIB, [str(cpu), str(cuda)], {}, env=env)
    # Both have metadata (RECORD is optional), both say whether they have CUDA, and the first is the one import takes.
    assert (first.dist, first.version, first.cuda, first.origin, first.active) == ("dlib", "19.24.0", False, "PYTHONPATH", True)
    assert (second.dist, second.version, second.cuda, second.origin, second.active) == ("dlib", "20.0.1", True, "site-packages", False)
    assert "DLIB_USE_CUDA = True" in second.cuda_evidence and first.installer == "pip"
    assert first.meta.endswith("dlib-19.24.0.dist-info")


def test_conda_meta_claims_a_copy_without_dist_info(tmp_path):
    prefix = tmp_path / "miniconda3" / "envs" / "cv"
    site = prefix / "lib" / "python3.12" / "site-packages"
    (site / "dlib").mkdir(parents=True)
    (site / "dlib" / "__init__.py").write_text("from _dlib_pybind11 import *\n")
    (prefix / "conda-meta").mkdir()
    record = {"name": "dlib", "version": "19.24.6", "build": "cuda126py312h1234567_0", "files": ["lib/python3.12/site-packages/dlib/__init__.py"]}
    (prefix / "conda-meta" / "dlib-19.24.6-cuda126py312h1234567_0.json").write_text(json.dumps(record))
    (prefix / "conda-meta" / "numpy-2.0.0-py312.json").write_text("{not read: its name does not mention dlib")
    (copy,) = find_copies(DLIB, [str(site)], {}, env={})
    assert (copy.dist, copy.version, copy.installer, copy.origin, copy.origin_detail) == ("dlib", "19.24.6", "conda", "conda", str(prefix))
    assert copy.cuda is True and "cuda126" in copy.cuda_evidence and copy.meta.endswith(".json")


def test_pth_egg_user_site_and_bare_folder_origins(tmp_path):
    site = tmp_path / "env" / "lib" / "python3.12" / "site-packages"
    site.mkdir(parents=True)
    extra = tmp_path / "src-checkout"
    extra.mkdir()
    (site / "easy.pth").write_text(f"# comment\nimport os\n{extra}\n")
    pth = {os.path.realpath(str(extra)): str(site / "easy.pth")}
    assert entry_origin(str(extra), {}, pth) == (".pth", str(site / "easy.pth"))
    egg = tmp_path / "dlib-19.24.0-py3.12-linux-x86_64.egg"
    assert entry_origin(str(egg), {}, {})[0] == "egg"
    assert entry_origin("/home/ana/.local/lib/python3.12/site-packages", {}, {})[0] == "user site"
    assert entry_origin(str(site), {}, {})[0] == "site-packages"
    assert entry_origin(str(tmp_path / "somewhere"), {}, {})[0] == "folder"
    assert entry_origin(str(extra), {"PYTHONPATH": f"/x{os.pathsep}{extra}"}, pth)[0] == "PYTHONPATH"  # PYTHONPATH says it first


def test_torch_tensorflow_cv2_onnxruntime_cupy_jax_file_checks(tmp_path):
    torch = tmp_path / "torch"
    torch.mkdir()
    (torch / "version.py").write_text("__version__ = '2.11.0+cu130'\ncuda: Optional[str] = '13.0'\n")
    assert copy_has_cuda("torch", str(torch), str(tmp_path)) == (True, "torch/version.py: cuda = '13.0'")
    (torch / "version.py").write_text("cuda = None\n")
    assert copy_has_cuda("torch", str(torch), str(tmp_path))[0] is False

    tf = tmp_path / "tensorflow" / "python" / "platform"
    tf.mkdir(parents=True)
    (tf / "build_info.py").write_text("build_info = {'cuda_version': '12.5.1', 'is_cuda_build': True}\n")
    assert copy_has_cuda("tensorflow", str(tmp_path / "tensorflow"), str(tmp_path))[0] is True

    cv2 = tmp_path / "cv2"
    cv2.mkdir()
    (cv2 / "cv2.abi3.so").write_bytes(b"\x00junk\x00  NVIDIA CUDA:                   YES (ver 12.4, CUFFT CUBLAS)\n  NVIDIA GPU arch: 86\x00")
    ok, why = copy_has_cuda("cv2", str(cv2), str(tmp_path))
    assert ok is True and "YES (ver 12.4" in why
    (cv2 / "cv2.abi3.so").write_bytes(b"\x00  NVIDIA CUDA:                   NO\n\x00")
    assert copy_has_cuda("cv2", str(cv2), str(tmp_path))[0] is False

    ort = tmp_path / "onnxruntime" / "capi"
    ort.mkdir(parents=True)
    assert copy_has_cuda("onnxruntime", str(ort.parent), str(tmp_path))[0] is False
    (ort / "libonnxruntime_providers_cuda.so").write_bytes(b"")
    assert copy_has_cuda("onnxruntime", str(ort.parent), str(tmp_path))[0] is True

    assert copy_has_cuda("cupy", str(tmp_path / "cupy"), str(tmp_path), "cupy-cuda13x") == (True, "distribution cupy-cuda13x")
    (tmp_path / "jax_plugins" / "xla_cuda13").mkdir(parents=True)
    assert copy_has_cuda("jax", str(tmp_path / "jax"), str(tmp_path))[0] is True
    assert copy_has_cuda("pytensor", str(tmp_path), str(tmp_path)) == (None, "")


CC = shutil.which("cc") or shutil.which("gcc")


@pytest.mark.skipif(not CC or sys.platform != "linux", reason="needs a C compiler on Linux")
def test_dlib_extension_needed_libraries_tell_cuda(tmp_path):
    """A real ELF extension: NEEDED libcudnn/libcublas = a CUDA dlib; none = a CPU dlib."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    for lib in ("libcudnn.so.9", "libcublas.so.12"):
        (stubs / "s.c").write_text("int stub_%s(void) { return 0; }\n" % lib.split(".")[0][3:])
        subprocess.run([CC, "-shared", "-fPIC", "-o", str(stubs / lib), f"-Wl,-soname,{lib}", str(stubs / "s.c")], check=True)
        os.symlink(lib, stubs / (lib.split(".so")[0] + ".so"))
    (stubs / "m.c").write_text("int PyInit__dlib_pybind11(void) { return 0; }\n")
    for name, libs in (("cuda", ["-lcudnn", "-lcublas"]), ("cpu", [])):
        site = tmp_path / name
        (site / "dlib").mkdir(parents=True)
        (site / "dlib" / "__init__.py").write_text("from _dlib_pybind11 import *\n")
        so = site / "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so"
        subprocess.run([CC, "-shared", "-fPIC", "-o", str(so), str(stubs / "m.c"), f"-L{stubs}", "-Wl,--no-as-needed", *libs], check=True)
    (a,) = find_copies(DLIB, [str(tmp_path / "cuda")], {}, env={})
    (b,) = find_copies(DLIB, [str(tmp_path / "cpu")], {}, env={})
    assert a.cuda is True and "libcudnn.so.9" in a.cuda_evidence and "libcublas.so.12" in a.cuda_evidence
    assert a.path.endswith("dlib") and a.extra_paths == (str(tmp_path / "cuda" / "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so"),)
    assert b.cuda is False and "NEEDED no CUDA library" in b.cuda_evidence


def test_the_child_says_which_copy_import_took(tmp_path, monkeypatch):
    """sys.path order is a guess; the child's dlib.__file__ is the fact (and decides `active`)."""
    cpu = dlib_copy(tmp_path / "cpu-dlib", False, "19.24.0", record=False)
    cuda = dlib_copy(tmp_path / "venv" / "lib" / "python3.12" / "site-packages", True, "20.0.1")
    monkeypatch.setenv("PYTHONPATH", str(cpu))
    (fw,) = probe_frameworks([str(cpu), str(cuda)], sys.executable, only=("dlib",), timeout=30)
    assert fw.status == "ok" and fw.cuda_build is False and fw.module_file.startswith(str(cpu))
    assert [c.active for c in fw.copies] == [True, False] and [c.cuda for c in fw.copies] == [False, True]
    assert fw.dist == "dlib" and fw.version == "19.24.0"
