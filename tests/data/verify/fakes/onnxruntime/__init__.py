"""A stand-in for onnxruntime, for verify's CI tests: "cpu" (CPU package) or "fallback" (CUDA EP fails to load)."""
import os

MODE = os.environ.get("GPUREADY_FAKE", "cpu")
__version__ = "1.20.0"


def get_available_providers():
    if MODE == "cpu":
        return ["AzureExecutionProvider", "CPUExecutionProvider"]
    return ["CUDAExecutionProvider", "CPUExecutionProvider"]


class SessionOptions:
    log_severity_level = 3

    def add_session_config_entry(self, key, value):
        pass


class InferenceSession:
    def __init__(self, model, sess_options=None, providers=()):
        if "CUDAExecutionProvider" in providers:
            os.write(2, b"[E:onnxruntime:Default, provider_bridge_ort.cc:1862 TryGetProviderInfo_CUDA] "
                        b"libcudnn.so.9: cannot open shared object file: No such file or directory\n"
                        b"[W:onnxruntime:Default, onnxruntime_pybind_state.cc:993 CreateExecutionProviderInstance] "
                        b"Failed to create CUDAExecutionProvider. Require cuDNN 9.* and CUDA 12.*\n")
        self.model = model

    def get_providers(self):
        return ["CPUExecutionProvider"]
