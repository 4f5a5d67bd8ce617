"""The uniform shape of package knowledge: a `Build` (one installable build of one version) and the
`[[package]]` row every package file starts with. packages.py and package_rows.py both build on it.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from gpuready.knowledge import pep440
from gpuready.knowledge.cuda import cuda_mm, vtuple
from gpuready.knowledge.loader import KnowledgeError, load_table

ALL_OS = ("linux", "windows", "macos")
X86 = ("x86_64",)
ANY_ARCH = ("x86_64", "aarch64", "arm64")


# --- the uniform result ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Build:
    """One installable build of one package version: what it needs and how it is installed."""

    package: str  # canonical name: "torch", "tensorflow", "jax", "cupy", "onnxruntime", "dlib", ...
    series: str
    version: str
    variant: str  # "cu126", "cpu", "cuda12", "cuda12x", "and-cuda", "gpu", "source", "noarch"
    dist: str  # what pip installs: "torch", "tensorflow-gpu", "cupy-cuda12x", "onnxruntime-gpu"
    python: str  # PEP 440 specifier of the Python versions with wheels
    source: str
    extras: tuple[str, ...] = ()
    gpu: bool = False
    cuda: str = ""  # CUDA the build needs at run time ("12.8"); "" for CPU builds
    cudnn: str = ""  # cuDNN it was built/tested with ("9.3"), "" when none or unknown
    cudnn_major: int = 0  # 0: no cuDNN in the process, or unknown
    archs: tuple[str, ...] = ()  # GPU code it carries (sm_XY / compute_XY); () when not published
    cc_min: str = ""  # oldest compute capability it supports, for builds that publish a floor
    os: tuple[str, ...] = ALL_OS
    platforms: tuple[str, ...] = X86
    index: str = "pypi"  # "pypi", "pytorch" (the PyTorch wheel index), "find-links"
    index_style: str = ""  # torch: "index-url", "extra-index-url", "find-links"
    find_links: str = ""
    local_tag: bool = False  # pin as version+variant (PyTorch index wheels)
    pypi_default: bool = False  # PyPI's Linux x86_64 wheel of this version *is* this variant
    pypi_windows: bool = False  # ... and PyPI's Windows wheel (torch <= 1.10 had CUDA wheels on PyPI for Windows)
    system_cuda: bool = False  # uses a CUDA toolkit/cuDNN installed on the machine (not pip wheels)
    minor_compat: bool = True  # may run on an older driver of the same CUDA major (CUDA 11+)
    stable: bool = True
    confirmed: bool = True
    source_build: bool = False
    no_deps: bool = False
    companions: tuple[str, ...] = ()  # more requirement strings installed with it
    notes: tuple[str, ...] = ()

    # cached_property writes the instance __dict__ directly, so it works on a frozen dataclass; the planner
    # asks these thousands of times per plan.
    @functools.cached_property
    def cuda_major(self) -> int:
        t = vtuple(self.cuda)
        return t[0] if t else 0

    @functools.cached_property
    def key(self) -> pep440.V:
        return parse_version(self.version)

    @property
    def label(self) -> str:
        """How a person would name this build: "torch 2.9.1+cu128", "jax[cuda13] 0.11.2"."""
        if self.local_tag or (self.package == "torch" and self.variant not in ("cpu", "")):
            return f"{self.package} {self.version}+{self.variant}"
        name = self.dist + (f"[{','.join(self.extras)}]" if self.extras else "")
        if self.source_build:
            return f"{name} {self.version} (source build, CUDA {cuda_mm(self.cuda)})"
        return f"{name} {self.version}"


def parse_version(text: str) -> pep440.V:
    return pep440.version(text)


# --- rows shared by every package file -------------------------------------------------------------


@dataclass(frozen=True)
class PackageInfo:
    """The [[package]] row of a file: what the package is and where its facts come from."""

    name: str
    display: str
    source: str
    index: str = ""
    companions: tuple[str, ...] = ()
    gpu_dist: str = ""
    cpu_dist: str = ""
    cpu_version: str = ""
    rides_on: str = ""
    replaced_by: tuple[str, ...] = ()
    reason: str = ""
    gpu_backend: str = ""


def package_info_uncached(name: str) -> PackageInfo:
    rows = load_table(f"{name}.toml", "package", PackageInfo)
    if len(rows) != 1:
        raise KnowledgeError(f"knowledge file {name}.toml: expected exactly one [[package]] row, found {len(rows)}")
    return rows[0]
