"""A stand-in for OpenCV, for verify's CI tests: a CPU-only build (like opencv-python-headless)."""
__version__ = "4.10.0"


def getBuildInformation():  # noqa: N802
    return "General configuration for OpenCV 4.10.0\n  Other third-party libraries:\n    Lapack: NO\n"


class cuda:  # noqa: N801
    @staticmethod
    def getCudaEnabledDeviceCount():  # noqa: N802
        return 0


class dnn:  # noqa: N801
    DNN_BACKEND_CUDA = 5

    @staticmethod
    def getAvailableTargets(backend):  # noqa: N802
        return []
