"""A stand-in for dlib, for verify's CI tests: behaviour from $GPUREADY_FAKE (see ../../README.md)."""
import os
import signal

MODE = os.environ.get("GPUREADY_FAKE", "works")
__version__ = "20.0.1"
DLIB_USE_CUDA = MODE != "cpu"


class cuda:  # noqa: N801 - mirrors the dlib.cuda submodule
    @staticmethod
    def get_num_devices():
        if MODE == "nodriver":
            raise RuntimeError(
                "Error while calling cudaGetDeviceCount(&num_devices) in file /tmp/dlib/cuda/cuda_dlib.cu:51. "
                "code: 35, reason: CUDA driver version is insufficient for CUDA runtime version"
            )
        return 1

    @staticmethod
    def set_device(index):
        pass


class cnn_face_detection_model_v1:  # noqa: N801
    def __init__(self, path):
        if MODE == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        self.path = path

    def __call__(self, img, upsample=0, batch_size=None):
        """No face in a synthetic frame; a batch gets one (empty) list per image, as dlib's does."""
        if isinstance(img, list):
            return [[] for _ in img]
        return []
