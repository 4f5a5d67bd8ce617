"""A stand-in torch whose import takes $GPUREADY_FLEET_SLOW seconds (default 30): the node that is
still busy when the fleet tests kill it, or that runs past the per-node timeout."""
import os
import time

time.sleep(float(os.environ.get("GPUREADY_FLEET_SLOW", "30")))
__version__ = "2.5.1+cu124"


class version:  # noqa: N801
    cuda = "12.4"
    hip = None


class _Cuda:
    def is_available(self):
        return False

    def device_count(self):
        return 0

    def get_arch_list(self):
        return ["sm_80", "sm_90"]


cuda = _Cuda()


class _Cudnn:
    def version(self):
        return 90100


class backends:  # noqa: N801
    cudnn = _Cudnn()
