"""A stand-in for torch, for verify's CI tests: behaviour from $GPUREADY_FAKE (see ../../README.md)."""
import os
import signal
import sys
import time

MODE = os.environ.get("GPUREADY_FAKE", "works")

if MODE == "crash_import":
    os.kill(os.getpid(), signal.SIGSEGV)
if MODE == "importerror":
    raise OSError("libcudart.so.12: cannot open shared object file: No such file or directory")
if MODE == "garbage":
    sys.stdout.write("\x00\x01 garbage {not json\n")
    sys.stdout.flush()
    os._exit(3)

__version__ = "2.5.0+cpu" if MODE == "cpu" else "2.5.0+cu124"


class version:  # noqa: N801 - mirrors torch.version
    cuda = None if MODE == "cpu" else "12.4"
    hip = None


class Tensor:
    def __init__(self, value, device="cpu"):
        self.value = float(value)
        self.device = device

    def to(self, device):
        if device == "cuda" and MODE == "crash":
            os.kill(os.getpid(), signal.SIGSEGV)
        return Tensor(self.value, device)

    def cpu(self):
        return Tensor(self.value)

    def __matmul__(self, other):
        bump = 1.0 if (MODE == "wrong" and self.device == "cuda") else 0.0
        return Tensor(self.value * other.value + bump, self.device)

    def __sub__(self, other):
        return Tensor(self.value - other.value, self.device)

    def abs(self):
        return Tensor(abs(self.value), self.device)

    def max(self):
        return self

    def item(self):
        return self.value


class Generator:
    def manual_seed(self, seed):
        return self


def randn(*shape, generator=None):
    return Tensor(2.0)


class _Cuda:
    def is_available(self):
        if MODE == "hang":
            time.sleep(600)
        return MODE not in ("cpu", "nodriver")

    def init(self):
        raise RuntimeError("Found no NVIDIA driver on your system. Please check that you have an NVIDIA GPU and installed a driver")

    def device_count(self):
        return 0 if MODE == "nodriver" else 1

    def get_device_capability(self, index=0):
        return (9, 0)

    def get_device_name(self, index=0):
        return "Fake GPU"

    def get_arch_list(self):
        return ["sm_80"] if MODE == "noarch" else ["sm_80", "sm_90"]

    def synchronize(self):
        pass


cuda = _Cuda()


class _Flags:
    allow_tf32 = True


class _Cudnn:
    allow_tf32 = True

    def is_available(self):
        return True

    def version(self):
        return 90100

    def flags(self, **kwargs):
        import contextlib

        return contextlib.nullcontext()


class backends:  # noqa: N801
    cuda = type("cuda", (), {"matmul": _Flags()})()
    cudnn = _Cudnn()


class _Functional:
    @staticmethod
    def conv2d(x, w, padding=0):
        bump = 1.0 if (MODE == "wrong" and x.device == "cuda") else 0.0
        return Tensor(x.value * w.value * 9 + bump, x.device)


class nn:  # noqa: N801
    functional = _Functional()


bfloat16 = "bfloat16"


class no_grad:  # noqa: N801
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
