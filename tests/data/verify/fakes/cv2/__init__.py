"""A stand-in for OpenCV, for verify's CI tests: behaviour from $GPUREADY_FAKE (see ../../README.md).

Default: a CPU-only build (like opencv-python-headless). "noarch": a CUDA build whose code is for
sm_80 only (CUDA_ARCH_BIN=8.0, no PTX) on an sm_90 GPU: OpenCV then offers no CUDA target to dnn
and DeviceInfo.isCompatible() is False, as the real one does (cuda4dnn::isDeviceCompatible).
"""
import os

MODE = os.environ.get("GPUREADY_FAKE", "cpu")
CUDA = MODE == "noarch"
__version__ = "4.10.0"


def getBuildInformation():  # noqa: N802
    if CUDA:
        return ("General configuration for OpenCV 4.10.0\n  NVIDIA CUDA:                   YES (ver 12.4, CUFFT CUBLAS)\n"
                "    NVIDIA GPU arch:             80\n    NVIDIA PTX archs:\n\n  cuDNN:                         YES (ver 9.1.0)\n")
    return "General configuration for OpenCV 4.10.0\n  Other third-party libraries:\n    Lapack: NO\n"


class cuda:  # noqa: N801
    @staticmethod
    def getCudaEnabledDeviceCount():  # noqa: N802
        return 1 if CUDA else 0

    class DeviceInfo:
        def __init__(self, device=0):
            if not CUDA:
                raise RuntimeError("OpenCV(4.10.0) error: (-216:No CUDA support) The library is compiled without CUDA support")

        def name(self):
            return "Fake GPU"

        def majorVersion(self):  # noqa: N802
            return 9

        def minorVersion(self):  # noqa: N802
            return 0

        def isCompatible(self):  # noqa: N802
            return False


class dnn:  # noqa: N801
    DNN_BACKEND_CUDA = 5

    @staticmethod
    def getAvailableTargets(backend):  # noqa: N802
        return []
