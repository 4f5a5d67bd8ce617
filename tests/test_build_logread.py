"""The build-log reader on real configure logs (tests/data/build/README.md says how each was made)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuready.build.logread import LogReader, read_log, read_log_file
from gpuready.findings import LABELS

DATA = Path(__file__).parent / "data" / "build"
TK13_CUDNN = "/tmp/grb/tk13/site/nvidia/cudnn"  # the cuDNN wheel the logs were made with


def verdict(name: str, recipe: str, expected: dict | None = None):
    return read_log_file(str(DATA / name), recipe, expected)


def test_dlib_cuda_on():
    v = verdict("dlib-cuda-on.log", "dlib", {"library": f"{TK13_CUDNN}/lib/libcudnn.so.9", "include_dir": f"{TK13_CUDNN}/include"})
    assert v.cuda_enabled is True
    assert v.problems == [] and v.denied == []
    assert v.facts["archs"] == "90"
    assert v.facts["cudnn_library"] == f"{TK13_CUDNN}/lib/libcudnn.so"
    assert v.facts["nvcc_version"] == "13.0.88"
    assert v.configured


def test_dlib_cudnn_not_found_names_cudnn():
    v = verdict("dlib-cudnn-not-found.log", "dlib")
    assert v.cuda_enabled is False
    assert v.label == "build_cudnn_not_found"
    assert "CUDNN_LIBRARY_PATH" in v.missing_piece and "CUDNN_INCLUDE_PATH" in v.missing_piece
    assert any("DLIB WILL NOT USE CUDA" in e for e in v.evidence)


def test_dlib_wheel_without_unversioned_link():
    v = verdict("dlib-cudnn-no-link.log", "dlib")
    assert v.cuda_enabled is False
    assert v.label == "build_cudnn_not_found"
    assert v.missing_piece == "cuDNN (CUDNN_LIBRARY_PATH)"
    assert "libcudnn.so.9" in v.fix


def test_two_cudnns_are_caught():
    expected = {"library": f"{TK13_CUDNN}/lib/libcudnn.so.9", "include_dir": f"{TK13_CUDNN}/include"}
    v = verdict("dlib-two-cudnns.log", "dlib", expected)
    assert v.cuda_enabled is True  # CMake is happy: that is the trap
    assert v.problems[0].id == "two-cudnns"
    assert v.label == "shadowed_install"
    assert "/tmp/grb/sys2/lib/libcudnn.so" in v.missing_piece


def test_two_cudnns_fixed_by_cudnn_root():
    expected = {"library": f"{TK13_CUDNN}/lib/libcudnn.so.9", "include_dir": f"{TK13_CUDNN}/include"}
    v = verdict("dlib-two-cudnns-fixed.log", "dlib", expected)
    assert v.cuda_enabled is True and v.problems == []


def test_toolkit_without_cublas_multiline_cmake_error():
    v = verdict("dlib-no-cublas.log", "dlib")
    assert v.cuda_enabled is True
    assert v.problems[0].id == "cuda-target-missing"
    assert v.label == "build_cuda_not_found"
    assert v.missing_piece.startswith("cublas")


def test_native_arch_without_gpu():
    v = verdict("dlib-native-no-gpu.log", "dlib")
    assert v.label == "build_arch_unsupported"
    assert "CUDAARCHS" in v.missing_piece
    assert v.facts["archs"] == "native"


def test_old_dlib_on_cuda13_names_the_arch():
    v = verdict("dlib-20.0.0-cuda13.log", "dlib")
    assert v.cuda_enabled is False
    assert v.label == "build_arch_unsupported"
    assert "sm_50" in v.missing_piece
    ids = [p.id for p in v.problems]
    assert "dlib-old-cuda-test" in ids  # and its fix says: build dlib >= 20.0.1
    assert "20.0.1" in next(p.fix for p in v.problems if p.id == "dlib-old-cuda-test")


def test_opencv_cuda_on():
    v = verdict("opencv-cuda-on.log", "opencv", {"library": "/tmp/grb/tks/cuda-13.0/site/nvidia/cudnn/lib/libcudnn.so.9", "version": "9.28.0"})
    assert v.cuda_enabled is True, v.missing_confirms
    assert v.facts["modules"] == "core cudev dnn imgproc python3"
    assert v.facts["cuda_version"] == "13.0"
    assert v.facts["cudnn_version"] == "9.28.0"
    assert v.facts["archs"] == "9.0"
    assert v.problems == []


def test_opencv_h200_summary():
    v = verdict("opencv-h200-summary.log", "opencv", {"library": "/usr/lib/x86_64-linux-gnu/libcudnn.so.9.14.0", "version": "9.14.0"})
    assert v.cuda_enabled is True
    assert v.facts["cudnn_library"] == "/usr/lib/x86_64-linux-gnu/libcudnn.so"


def test_opencv_h200_summary_other_cudnn_version_is_a_mismatch():
    v = verdict("opencv-h200-summary.log", "opencv", {"library": "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "version": "9.19.0"})
    assert v.problems[0].id == "cudnn-version"
    assert v.label == "library_version_mismatch"


def test_opencv_cudnn_not_found():
    v = verdict("opencv-cudnn-not-found.log", "opencv")
    assert v.cuda_enabled is False
    assert v.label == "build_cudnn_not_found"
    ids = {p.id for p in v.problems}
    assert {"cudnn-missing-vars", "opencv-dnn-needs-cudnn", "opencv-pythonlibs"} <= ids
    assert [d.id for d in v.denied] == ["opencv-cudnn-no"]


def test_opencv_runtime_only_toolkit_names_npp():
    v = verdict("opencv-no-cublas-npp.log", "opencv")
    lib = next(p for p in v.problems if p.id == "opencv-cuda-lib-notfound")
    assert lib.missing == "libnppc (set to NOTFOUND)"


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("*.log")))
def test_every_label_is_from_the_taxonomy(name):
    recipe = "opencv" if name.startswith("opencv") else "dlib"
    v = verdict(name, recipe)
    for p in v.problems + v.denied:
        assert p.label in LABELS


def test_progress_ninja_make_and_phases():
    r = LogReader("dlib")
    assert r.feed("Invoking CMake setup: 'cmake /x/tools/python -DDLIB_USE_CUDA=ON'").phase == "configure"
    p = r.feed("[12/345] Building CXX object dlib_build/CMakeFiles/dlib.dir/cuda/cuda_dlib.cu.o")
    assert (p.phase, p.done, p.total) == ("compile", 12, 345)
    assert r.feed("[345/345] Linking CXX shared module /x/_dlib_pybind11.cpython-312-x86_64-linux-gnu.so").phase == "link"
    p = r.feed("[ 45%] Building CXX object dlib_build/CMakeFiles/dlib.dir/base64/base64_kernel_1.cpp.o")
    assert p.percent == 45.0
    assert r.feed("creating '/tmp/w/dlib-20.0.1-cp312-cp312-linux_x86_64.whl' and adding 'build/bdist' to it").phase == "wheel"
    assert r.feed("\x1b[32m-- Configuring done\x1b[0m") is None and r.configured


def test_log_ending_early_is_undecided():
    v = read_log("Processing ./dlib-20.0.1.tar.gz\n  Preparing metadata (pyproject.toml): started\n", "dlib")
    assert v.cuda_enabled is None or v.cuda_enabled is False
    v = LogReader("dlib").verdict(finished=False)
    assert v.cuda_enabled is None


def test_host_compiler_signature():
    v = read_log("/usr/local/cuda/include/crt/host_config.h:143:2: error: #error -- unsupported GNU version! "
                 "gcc versions later than 12 are not supported!", "dlib")
    assert v.label == "host_compiler_unsupported"
    assert v.missing_piece == "a host compiler nvcc accepts (gcc <= 12)"


def test_h200_dlib_build_log():
    """The configure part of the real dlib build on the H200 (docs/build.md): system CUDA 13.0, pip cuDNN 9.19."""
    pip = "/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn"
    v = verdict("dlib-h200-cuda-on.log", "dlib", {"library": f"{pip}/lib/libcudnn.so.9", "include_dir": f"{pip}/include"})
    assert v.cuda_enabled is True and v.problems == []
    assert v.facts["archs"] == "90" and v.facts["nvcc_version"].startswith("13.0")
    # The same log judged against the system cuDNN would be two cuDNNs.
    v = verdict("dlib-h200-cuda-on.log", "dlib", {"library": "/usr/lib/x86_64-linux-gnu/libcudnn.so.9"})
    assert v.label == "shadowed_install"


def test_h200_opencv_build_log():
    pip = "/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn"
    v = verdict("opencv-h200-cuda-on.log", "opencv", {"library": f"{pip}/lib/libcudnn.so.9", "version": "9.19.0"})
    assert v.cuda_enabled is True and v.problems == []
    assert v.facts["cudnn_version"] == "9.19.0" and v.facts["modules"] == "core cudev dnn imgproc python3"
