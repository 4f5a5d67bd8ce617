"""Recipes on saved machines: the settings they produce, the reasons, and what blocks a build."""

from __future__ import annotations

import dataclasses

import pytest

from gpuready.build import toolchain
from gpuready.build.recipes import (
    companion_requirements,
    find_recipe,
    known_sources,
    log_signatures,
    recipes,
    settings_rows,
    toolkit_wheels,
    version_limits,
)
from gpuready.build.settings import build_settings, pick_version
from gpuready.build.toolchain import BuildSettingsError, parse_archs
from gpuready.machine import GPU, Compiler, CudaToolkit
from tests.conftest import load_machine

PIP_CUDNN = "/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn"


@pytest.fixture
def h200():
    return load_machine("h200-driver580")


def test_every_row_has_a_source():
    for rows in (recipes(), known_sources(), settings_rows(), version_limits(), toolkit_wheels(), log_signatures()):
        assert rows
        for r in rows:
            assert r.source.strip(), r


def test_recipe_lookup_by_dist_import_and_alias():
    assert find_recipe("dlib").name == "dlib"
    assert find_recipe("face_recognition").name == "dlib"
    for name in ("opencv", "cv2", "opencv-python", "opencv_contrib_python_headless", "OpenCV-Contrib-Python"):
        assert find_recipe(name).name == "opencv"
    assert find_recipe("torch") is None


def test_contract_keys(h200):
    s = build_settings(h200, "dlib")
    for key in ("recipe", "version", "cuda_arch_bin", "cuda_root", "nvcc", "cuda_version", "cudnn", "host_compiler",
                "host_compiler_ok", "env", "cmake_args", "toolkit_source", "reasons", "problems"):
        assert key in s
    assert set(s["cudnn"]) >= {"version", "include_dir", "library"}
    assert s["toolkit_source"] in ("system", "conda", "pip-wheels")


def test_dlib_on_h200(h200):
    s = build_settings(h200, "dlib")
    assert s["problems"] == []
    assert s["version"] == "20.0.1"
    assert s["cuda_arch_bin"] == ["9.0"]
    env = s["env"]
    assert env["DLIB_USE_CUDA"] == "ON"
    assert env["CUDAARCHS"] == "90"
    # The machine's environment has CC/CXX at /opt/gcc (the toolchain that built crashing modules): not chosen.
    assert any(c.path.startswith("/opt/gcc") for c in h200.compilers)
    assert (env["CC"], env["CXX"], env["CUDAHOSTCXX"]) == ("/usr/bin/gcc", "/usr/bin/g++", "/usr/bin/g++")
    assert s["host_compiler_ok"] is True
    assert s["toolkit_source"] == "system" and s["cuda_version"] == "13.0.88"
    assert env["CUDACXX"] == s["nvcc"] and env["CUDAToolkit_ROOT"] == s["cuda_root"]
    # Two cuDNNs there: header and library from one copy (the env's pip 9.19), CUDNN_ROOT makes it win.
    assert s["cudnn"]["version"] == "9.19.0"
    assert env["CUDNN_ROOT"] == PIP_CUDNN
    assert env["CUDNN_INCLUDE_DIR"] == PIP_CUDNN + "/include"
    assert env["CUDNN_LIBRARY"] == PIP_CUDNN + "/lib"
    assert s["cudnn"]["link"] == PIP_CUDNN + "/lib/libcudnn.so"
    assert "DLIB_GIF_SUPPORT" not in env  # Windows only
    assert any("not from 9.14.0 (system)" in r for r in s["reasons"])


def test_opencv_on_h200_sdist_and_tree(h200):
    s = build_settings(h200, "opencv")
    assert s["method"] == "pip-wheel" and s["problems"] == []
    args = s["cmake_args"]
    for a in ("-DWITH_CUDA=ON", "-DWITH_CUDNN=ON", "-DOPENCV_DNN_CUDA=ON", "-DCUDA_ARCH_BIN=9.0", "-DCUDA_ARCH_PTX=",
              "-DBUILD_LIST=core,imgproc,imgcodecs,dnn,cudev,python3", f"-DCUDNN_LIBRARY={PIP_CUDNN}/lib/libcudnn.so.9",
              f"-DCUDNN_INCLUDE_DIR={PIP_CUDNN}/include", "-DCUDA_HOST_COMPILER=/usr/bin/g++"):
        assert a in args
    assert s["env"]["CMAKE_ARGS"] == " ".join(args)
    assert s["env"]["ENABLE_CONTRIB"] == "1"
    assert s["cudnn"]["link"] == ""  # OpenCV takes the versioned file
    t = build_settings(h200, "opencv", method="cmake-tree", context={"python": "/py", "python_include": "/inc",
                                                                     "python_library": "", "numpy_include": "/np",
                                                                     "contrib_modules": "/src/opencv_contrib/modules"})
    targs = t["cmake_args"]
    assert "-DBUILD_LIST=core,imgproc,dnn,cudev,python3" in targs
    assert "-DWITH_IPP=OFF" in targs and "-DWITH_TIFF=OFF" in targs and "-DBUILD_SHARED_LIBS=OFF" in targs
    assert "-DPYTHON3_INCLUDE_DIR=/inc" in targs and "-DOPENCV_EXTRA_MODULES_PATH=/src/opencv_contrib/modules" in targs
    assert not any(a.startswith("-DPYTHON3_LIBRARY=") for a in targs)  # empty value: the row is dropped
    rpath = next(a for a in targs if a.startswith("-DCMAKE_INSTALL_RPATH="))
    assert "$ORIGIN/../../nvidia/cu13/lib" in rpath and f"{PIP_CUDNN}/lib" in rpath
    assert "CMAKE_ARGS" not in t["env"]


def test_explicit_archs(h200):
    s = build_settings(h200, "dlib", cuda_archs=["8.6,9.0"])
    assert s["cuda_arch_bin"] == ["8.6", "9.0"] and s["env"]["CUDAARCHS"] == "86;90"
    o = build_settings(h200, "opencv", cuda_archs=["sm_86", "90"])
    assert "-DCUDA_ARCH_BIN=8.6;9.0" in o["cmake_args"]


@pytest.mark.parametrize("given,want", [("8.6", ["8.6"]), ("86,90", ["8.6", "9.0"]), ("sm_90a;sm_75", ["7.5", "9.0"]),
                                         ("12.0", ["12.0"]), ("120", ["12.0"]), ("9", ["9.0"])])
def test_parse_archs(given, want):
    assert parse_archs(given) == want


def test_parse_archs_rejects_junk():
    with pytest.raises(BuildSettingsError):
        parse_archs("ampere")


def test_no_gpu_needs_cuda_arch():
    m = load_machine("no-gpu")
    s = build_settings(m, "dlib")
    assert any("--cuda-arch" in p or "no GPU" in p for p in s["problems"])
    s = build_settings(m, "dlib", cuda_archs=["8.6"])
    assert not any("no GPU" in p for p in s["problems"])
    assert s["toolkit_source"] == "pip-wheels"  # no toolkit at all there


def test_old_gpu_moves_to_a_toolkit_that_still_builds_it(h200):
    # A V100 (7.0) on the H200's software: CUDA 13 can't build sm_70, the driver runs CUDA 12 wheels.
    m = dataclasses.replace(h200, gpus=(GPU(index=0, name="Tesla V100-SXM2-16GB", compute_capability="7.0"),))
    s = build_settings(m, "dlib")
    assert s["toolkit_source"] == "pip-wheels"
    assert s["cuda_version"].startswith("12.")
    assert any("cannot build for 7.0" in r for r in s["reasons"])


def test_gcc_too_new_for_nvcc_is_a_problem(h200):
    tk = CudaToolkit(root="/usr/local/cuda-12.2", version="12.2.140", nvcc="/usr/local/cuda-12.2/bin/nvcc", origin="system")
    m = dataclasses.replace(h200, toolkits=(tk,), compilers=(Compiler(kind="gcc", version="14.2.0", path="/usr/bin/g++"),))
    s = build_settings(m, "dlib", cuda_archs=["9.0"], toolkit="system")
    assert s["host_compiler_ok"] is False
    assert any("refuses gcc 14.2.0" in p and "gcc <= 12" in p for p in s["problems"])
    assert s["findings"][0]["label"] in ("host_compiler_unsupported", "build_cuda_not_found")


def test_older_supported_gcc_is_preferred_over_a_refused_newer_one(h200):
    tk = CudaToolkit(root="/usr/local/cuda-12.2", version="12.2.140", nvcc="/usr/local/cuda-12.2/bin/nvcc", origin="system")
    comps = (Compiler(kind="gcc", version="14.2.0", path="/usr/bin/g++"), Compiler(kind="gcc", version="12.3.0", path="/usr/bin/g++-12"))
    m = dataclasses.replace(h200, toolkits=(tk,), compilers=comps)
    s = build_settings(m, "dlib", toolkit="system")
    assert s["host_compiler"] == "/usr/bin/g++-12" and s["env"]["CC"] == "/usr/bin/gcc-12"
    assert s["host_compiler_ok"] is True


def test_version_limits(h200):
    s = build_settings(h200, "dlib", version="20.0.0")
    assert any("quietly builds without CUDA" in p for p in s["problems"])
    o = build_settings(h200, "opencv", version="4.9.0.80")
    assert any("cudnnSetRNNDescriptor_v6" in p for p in o["problems"])
    o5 = build_settings(h200, "opencv", version="5.0.0.93")
    assert o5["problems"] == [] and any("ENGINE_CLASSIC" in w for w in o5["warnings"])
    assert pick_version(h200, "opencv", cuda="13.0", cudnn="9.19.0") == "4.14.0.94"
    assert pick_version(h200, "dlib", cuda="13.0") == "20.0.1"


def test_windows(machine):
    m = machine("win10-gtx1060-driver411")
    o = build_settings(m, "opencv")
    assert any(f["label"] == "platform_unsupported" for f in o["findings"])
    d = build_settings(m, "dlib", cuda_archs=["6.1"])
    assert d["env"].get("DLIB_GIF_SUPPORT") == "OFF"
    assert "CC" not in d["env"]


def test_saved_machine_paths_are_not_looked_at_here(h200, tmp_path, monkeypatch):
    # Even where a saved machine's toolkit path exists on this host, it is not this host's toolkit.
    assert toolchain.is_local(h200) is False


def test_face_recognition_companion():
    (c,) = companion_requirements("face_recognition")
    assert "setuptools<82" in c.requires and "--no-deps" in c.install_args


def test_unknown_package_raises(h200):
    with pytest.raises(BuildSettingsError):
        build_settings(h200, "tensorflow")


def _local_machine(h200, tmp_path, libs):
    """The H200 machine as if it were this host, with a toolkit folder holding `libs`."""
    import socket
    import sys

    root = tmp_path / "cuda-13.0"
    (root / "lib64").mkdir(parents=True)
    for name in libs:
        (root / "lib64" / name).write_bytes(b"")
    tk = CudaToolkit(root=str(root), version="13.0.88", nvcc=str(root / "bin" / "nvcc"), origin="system")
    py = dataclasses.replace(h200.python, executable=sys.executable)
    return dataclasses.replace(h200, hostname=socket.gethostname(), python=py, toolkits=(tk,))


def test_local_toolkit_libraries_are_checked(h200, tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_TOOLKIT_DIR", str(tmp_path / "tk"))
    full = ["libcublas.so.13", "libcusolver.so.12", "libcurand.so.10", "libcufft.so.12", "libnppc.so.13", "libnppial.so.13"]
    m = _local_machine(h200, tmp_path, full)
    assert toolchain.is_local(m)
    assert build_settings(m, "dlib")["toolkit_source"] == "system"
    assert build_settings(m, "opencv")["toolkit_source"] == "system"  # NPP is libnppc.so..., there is no libnpp.so
    m2 = _local_machine(h200, tmp_path / "b", ["libcudart.so.13"])
    s = build_settings(m2, "dlib")
    assert s["toolkit_source"] == "pip-wheels" and s["toolkit_pending"]
    assert any("has no libcublas, libcusolver, libcurand" in r for r in s["reasons"])


def test_network_hints():
    from gpuready.build.source import network_hint

    assert "no network" in network_hint("Failed to establish a new connection: [Errno -3] Temporary failure in name resolution")
    assert "mirror" in network_hint("pip._vendor.urllib3.exceptions.ReadTimeoutError: HTTPSConnectionPool: Read timed out.")
    assert network_hint("ERROR: No matching distribution found for dlib==99") == ""
