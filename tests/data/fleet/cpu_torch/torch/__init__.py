"""A stand-in for a CPU-only torch wheel (what `pip install torch` gives from the CPU index), for the
fleet tests: put this folder on one Ray node's PYTHONPATH and that node's doctor finds torch 2.5.1+cpu."""
__version__ = "2.5.1+cpu"


class version:  # noqa: N801 - mirrors torch.version
    cuda = None
    hip = None


class _Cuda:
    def is_available(self):
        return False

    def device_count(self):
        return 0

    def get_arch_list(self):
        return []


cuda = _Cuda()


class _Cudnn:
    def version(self):
        return None


class backends:  # noqa: N801
    cudnn = _Cudnn()
