"""One fact, one label, one fix: doctor, verify and explain decide a cause through the same knowledge.

The case of the issue: OpenCV built with code for sm_80 only (CUDA_ARCH_BIN=8.0, no PTX), on the
H200 (sm_90). explain reads OpenCV's own error (-216 "not built to work with the selected device"),
verify's cv2 check sees the build's arch list and DeviceInfo.isCompatible() and reports that fact in
OpenCV's words (the label then comes from explain, not from the child), doctor compares the probed
arch list with the GPU. All three must say arch_unsupported, and all three fixes must be the same
concrete rebuild for compute capability 9.0 (`gpuready build opencv ... --cuda-arch 9.0`).
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

from gpuready.doctor.checks import check_framework
from gpuready.explain import explain_text, top_cause, top_label
from gpuready.machine import Framework, FrameworkCopy
from gpuready.verify import run_framework
from tests.conftest import load_machine

FAKES = Path(__file__).parent / "data" / "verify" / "fakes"
OPENCV_ERROR = (
    "cv2.error: OpenCV(4.10.0) /io/opencv/modules/dnn/src/net_impl_backend.cpp:130: error: (-216:No CUDA support) "
    "OpenCV was not built to work with the selected device. Please check CUDA_ARCH_PTX or CUDA_ARCH_BIN in your "
    "build configuration. in function 'initCUDABackend'"
)
REBUILD = "--cuda-arch 9.0"


def _h200_with_cv2(archs: tuple[str, ...] = ("sm_80",)):
    m = load_machine("h200-driver580")
    cv2 = Framework(name="cv2", dist="opencv-contrib-python", version="4.10.0", status="ok", cuda_build=True,
                    cuda_version="12.4", archs=archs, sees_gpu=True, device_count=1,
                    copies=(FrameworkCopy(path=str(FAKES / "cv2"), active=True),))
    return dataclasses.replace(m, frameworks=(cv2,), python=dataclasses.replace(m.python, executable=sys.executable))


def test_explain_reads_opencv_216_as_arch_unsupported():
    m = _h200_with_cv2()
    causes = explain_text(OPENCV_ERROR, m)
    assert causes[0].label == "arch_unsupported"
    assert "CUDA_ARCH_BIN=9.0" in causes[0].fix and REBUILD in causes[0].fix
    # without a machine the fix still names the setting, and the label does not change
    assert explain_text(OPENCV_ERROR)[0].label == "arch_unsupported"
    assert top_label(OPENCV_ERROR, m) == "arch_unsupported"
    assert top_cause(OPENCV_ERROR, m).fix == causes[0].fix


def test_opencv_built_without_cuda_is_still_cpu_only():
    text = "cv2.error: OpenCV(4.10.0) error: (-216:No CUDA support) The library is compiled without CUDA support in function 'throw_no_cuda'"
    assert explain_text(text)[0].label == "cpu_only_build"


def test_doctor_gives_the_same_label_and_fix():
    m = _h200_with_cv2()
    findings = [f for f in check_framework(m, m.frameworks[0]) if f.label]
    assert findings and findings[0].label == "arch_unsupported"
    assert REBUILD in findings[0].fix


def test_verify_gives_the_same_label_and_fix(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("GPUREADY_FAKE", "noarch")
    m = _h200_with_cv2()
    r = run_framework(m, "cv2", "verify", python=sys.executable, timeout=60)
    assert r.label == "arch_unsupported", (r.status, r.message)
    assert "not built to work with the selected device" in r.message and "sm_90" in r.message
    assert REBUILD in r.fix
