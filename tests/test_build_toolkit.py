"""The pip-wheel CUDA toolkit: layout on a fake wheel tree (CI), and the real thing when allowed.

The real assembly downloads about 3 GB of NVIDIA wheels, so it runs only with
GPUREADY_NETWORK_TESTS=1; it then compiles and links a cuBLAS program with the assembled nvcc
(no GPU needed to link).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gpuready.build import toolkit as tk
from gpuready.build.recipes import toolkit_for_major

NETWORK = bool(os.environ.get("GPUREADY_NETWORK_TESTS"))


def _fake_cu13_site(root: Path) -> None:
    site = root / "site" / "nvidia"
    cu = site / "cu13"
    (cu / "bin").mkdir(parents=True)
    nvcc = cu / "bin" / "nvcc"
    nvcc.write_text("#!/bin/sh\necho 'Cuda compilation tools, release 13.0, V13.0.88'\n")
    nvcc.chmod(0o755)
    (cu / "bin" / "nvcc.profile").write_text("TOP = $(_HERE_)/..\n")
    (cu / "include").mkdir()
    (cu / "include" / "cuda_runtime.h").write_text("/* */\n")
    (cu / "include" / "cublas_v2.h").write_text("/* */\n")
    (cu / "lib").mkdir()
    for name in ("libcublas.so.13", "libcublasLt.so.13", "libcudart.so.13", "libnvvm.so.4", "libcudart_static.a"):
        (cu / "lib" / name).write_bytes(b"\x7fELF")
    (cu / "nvvm" / "bin").mkdir(parents=True)
    cudnn = site / "cudnn"
    (cudnn / "include").mkdir(parents=True)
    (cudnn / "include" / "cudnn_version.h").write_text("#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 28\n#define CUDNN_PATCHLEVEL 0\n")
    (cudnn / "include" / "cudnn.h").write_text("/* */\n")
    (cudnn / "lib").mkdir()
    (cudnn / "lib" / "libcudnn.so.9").write_bytes(b"\x7fELF")


def test_requirements_pin_one_release():
    spec = toolkit_for_major(13)
    reqs = tk.requirements(spec, "13.0.88", ("cublas", "cusolver"), cudnn=True)
    assert reqs[0] == "cuda-toolkit[crt,cublas,cudart,cusolver,nvcc,nvvm]==13.0.*"
    assert reqs[1] == "nvidia-cudnn-cu13==9.*"
    assert tk.requirements(toolkit_for_major(12), "12.9", (), cudnn=False) == ["cuda-toolkit[crt,cudart,nvcc,nvvm]==12.9.*"]


@pytest.mark.skipif(sys.platform == "win32", reason="symlink layout is Linux-only")
def test_layout_makes_a_cmake_toolkit(tmp_path):
    root = tmp_path / "cuda-13.0"
    _fake_cu13_site(root)
    assert tk.layout(root, toolkit_for_major(13)) == []
    assert (root / "bin" / "nvcc").is_file() and not (root / "bin" / "nvcc").is_symlink()  # a copy: nvcc's TOP is the root
    assert (root / "include" / "cuda_runtime.h").exists()
    lib = root / "lib64"
    assert os.readlink(lib / "libcublas.so") == "libcublas.so.13"
    assert (lib / "libcublas.so").exists() and (lib / "libcudart.so").exists() and (lib / "libnvvm.so").exists()
    assert not (lib / "libcudart_static.a.so").exists()
    assert (root / "nvvm").is_symlink() and (root / "lib").is_symlink()
    # cuDNN keeps its own folder and gets the unversioned link inside it (build-recipes.md B).
    assert os.readlink(root / "site" / "nvidia" / "cudnn" / "lib" / "libcudnn.so") == "libcudnn.so.9"
    # every link is relative, so the folder survives a rename
    moved = tmp_path / "moved"
    shutil.move(str(root), moved)
    assert (moved / "lib64" / "libcublas.so").exists()
    assert (moved / "include" / "cublas_v2.h").exists()


def test_layout_reports_missing_nvcc(tmp_path):
    (tmp_path / "site" / "nvidia" / "cu13" / "lib").mkdir(parents=True)
    problems = tk.layout(tmp_path, toolkit_for_major(13))
    assert problems and "nvcc" in problems[0]


def test_unversioned():
    assert tk.unversioned("libcublas.so.13") == "libcublas.so"
    assert tk.unversioned("libcusolver.so.12.0.4") == "libcusolver.so"


def test_ensure_cudnn_link(tmp_path):
    (tmp_path / "libcudnn.so.9").write_bytes(b"")
    (tmp_path / "libcudnn_ops.so.9").write_bytes(b"")
    link = tk.ensure_cudnn_link(tmp_path)
    assert link == tmp_path / "libcudnn.so" and os.readlink(link) == "libcudnn.so.9"
    assert tk.ensure_cudnn_link(tmp_path) == link  # idempotent
    assert tk.ensure_cudnn_link(tmp_path / "nothing") is None


def test_load_needs_a_finished_folder(tmp_path):
    assert tk.load(tmp_path) is None  # no manifest: a partial or foreign folder is never taken


def test_assemble_refuses_unknown_major(tmp_path):
    res = tk.assemble("10.2", dest=tmp_path / "x")
    assert not res.ok and "no pip-wheel toolkit recipe" in res.problems[0]


@pytest.mark.skipif(not NETWORK, reason="downloads ~3 GB of NVIDIA wheels; set GPUREADY_NETWORK_TESTS=1")
@pytest.mark.skipif(not shutil.which("g++"), reason="needs a host C++ compiler")
def test_assemble_cuda13_and_link_cublas(tmp_path):
    res = tk.assemble("13.0", extras=("cublas", "curand", "cusolver", "cusparse", "nvjitlink", "cccl"), dest=tmp_path / "cuda-13.0",
                      reuse=False)
    assert res.ok, res.problems
    assert res.version.startswith("13.0")
    assert (res.cudnn_root / "lib" / "libcudnn.so").exists()
    src = tmp_path / "t.cu"
    src.write_text('#include <cublas_v2.h>\n__global__ void k(float* x){x[threadIdx.x]*=2.f;}\n'
                   'int main(){cublasHandle_t h; return (int)cublasCreate(&h);}\n')
    out = subprocess.run([str(res.nvcc), "-arch=sm_90", str(src), "-o", str(tmp_path / "t"), "-lcublas", "-ccbin", shutil.which("g++")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    from gpuready.elf import parse_elf

    assert any(n.startswith("libcublas.so.13") for n in parse_elf(tmp_path / "t").needed)
