"""cuDNN facts as typed objects: which CUDA builds a cuDNN release has, its library names, its wheels.

A process can hold one cuDNN *major* (libcudnn.so.8 and libcudnn.so.9 are different ABIs), and
NVIDIA builds cuDNN per CUDA *major*; `plan` uses these facts to pick one cuDNN major that every
requested package can share, and a source build uses them to know which wheel gives a matching copy.
"""



import functools
from dataclasses import dataclass

from gpuready.knowledge.cuda import vtuple
from gpuready.knowledge.loader import load_table


@dataclass(frozen=True)
class CudnnBuild:
    """One CUDA-major build of a cuDNN release ("for CUDA 12.x": 12.0 to 12.9)."""

    cuda_major: int
    cuda_min: str
    cuda_max: str

    def validate(self) -> None:
        if not (vtuple(self.cuda_min) and vtuple(self.cuda_max)):
            raise ValueError("cuda_min and cuda_max must be versions")
        if vtuple(self.cuda_min)[0] != self.cuda_major or vtuple(self.cuda_max)[0] != self.cuda_major:
            raise ValueError(f"cuda_min/cuda_max must be CUDA {self.cuda_major}.x")


@dataclass(frozen=True)
class CudnnRelease:
    """A cuDNN release (or a range of releases sharing one support-matrix row)."""

    version: str  # first version of the row, "9.17.0"
    last: str  # last version of the row
    major: int
    builds: tuple[CudnnBuild, ...]
    linux_library: str
    windows_library: str
    source: str
    cc_min: str = ""
    cc_max: str = ""
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        if vtuple(self.version)[:1] != (self.major,) or vtuple(self.last)[:1] != (self.major,):
            raise ValueError(f"version/last must be cuDNN {self.major}.x")
        if vtuple(self.last) < vtuple(self.version):
            raise ValueError("last is older than version")
        if not self.source:
            raise ValueError("every row needs a source")

    def covers(self, version: str) -> bool:
        v = vtuple(version)[:3]
        return vtuple(self.version)[:3] <= v <= vtuple(self.last)[:3]

    def library(self, os_name: str) -> str:
        return self.windows_library if os_name == "windows" else self.linux_library


@dataclass(frozen=True)
class CudnnWheel:
    """NVIDIA's cuDNN wheel for one CUDA major, and where it puts headers and libraries."""

    cuda_major: int
    dist: str
    include_dir: str
    lib_dir: str
    source: str


@functools.lru_cache(maxsize=None)
def cudnn_releases() -> tuple[CudnnRelease, ...]:
    return load_table("cudnn.toml", "cudnn", CudnnRelease)


@functools.lru_cache(maxsize=None)
def cudnn_wheels() -> tuple[CudnnWheel, ...]:
    return load_table("cudnn.toml", "wheel", CudnnWheel)


def cudnn_release(version: str) -> CudnnRelease | None:
    """The support-matrix row for a cuDNN version ("9.19.0" -> the newest row not newer than it)."""
    best = None
    for row in cudnn_releases():
        if row.covers(version):
            return row
        if row.major == (vtuple(version) or (0,))[0] and vtuple(row.version) <= vtuple(version):
            if best is None or vtuple(row.version) > vtuple(best.version):
                best = row
    return best


def cudnn_has_build_for(version: str, cuda: str) -> bool | None:
    """Does cuDNN `version` have a build for CUDA `cuda`? None when the data does not say."""
    row = cudnn_release(version)
    if row is None or not row.builds:
        return None
    cv = vtuple(cuda)[:2]
    for b in row.builds:
        if vtuple(b.cuda_min)[:2] <= cv <= vtuple(b.cuda_max)[:2]:
            return True
    # A newer minor of a major the row supports still runs through minor-version compatibility,
    # but the matrix did not list it: say "unknown", not "no".
    if any(b.cuda_major == cv[0] for b in row.builds):
        return None
    return False


def library_name(major: int, os_name: str) -> str:
    """ "libcudnn.so.9" / "cudnn64_9.dll" for a cuDNN major (from the data, not a format string)."""
    for row in cudnn_releases():
        if row.major == major:
            return row.library(os_name)
    return ""


def cudnn_wheel(cuda_major: int) -> CudnnWheel | None:
    for w in cudnn_wheels():
        if w.cuda_major == cuda_major:
            return w
    return None
