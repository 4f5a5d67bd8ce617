"""Which builds of each GPU package exist: typed rows from the package TOML files, expanded to `Build`s.

Every package publishes its GPU builds differently (torch: one wheel per CUDA variant on its own
index; tensorflow: an `[and-cuda]` extra or a system CUDA; jax: one extra per CUDA major; cupy: one
distribution per CUDA major; onnxruntime-gpu: one CUDA per release). Each `*.toml` keeps that
package's facts in its own natural shape (one row per release or variant, each with a source); the
expanders below turn them into one uniform list of `Build`s, newest first, so that the planner asks
the same questions of every package. A new release or variant is a data edit; only a new *kind* of
package needs an expander.
"""



import dataclasses
import functools
import json
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gpuready.knowledge import pep440
from gpuready.knowledge.cuda import arch_list, cc_str, cuda_mm, vtuple
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


def check_specifier(text: str, where: str) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet  # validation runs only when the TOML is read

    try:
        SpecifierSet(text)
    except InvalidSpecifier:
        raise ValueError(f"{where}: {text!r} is not a version specifier") from None


def _versions_ok(versions: tuple[str, ...]) -> None:
    from packaging.version import InvalidVersion, Version

    if not versions:
        raise ValueError("versions must not be empty")
    for v in versions:
        try:
            Version(v)
        except InvalidVersion:
            raise ValueError(f"{v!r} is not a version") from None


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


@functools.lru_cache(maxsize=None)
def package_info(name: str) -> PackageInfo:
    cached = _disk_cache()
    if cached is not None and name in cached.get("info", {}):
        d = cached["info"][name]
        return PackageInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
    return package_info_uncached(name)


def package_info_uncached(name: str) -> PackageInfo:
    rows = load_table(f"{name}.toml", "package", PackageInfo)
    if len(rows) != 1:
        raise KnowledgeError(f"knowledge file {name}.toml: expected exactly one [[package]] row, found {len(rows)}")
    return rows[0]


# --- torch -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TorchRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    variants: tuple[str, ...]
    source: str
    windows_variants: tuple[str, ...] = ()
    stable: tuple[str, ...] = ()
    pypi_linux: str = ""
    pypi_windows: str = ""
    install: str = "index-url"
    torchvision: dict[str, str] = field(default_factory=dict)
    torchaudio: dict[str, str] = field(default_factory=dict)
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")
        if self.install not in ("index-url", "extra-index-url", "find-links"):
            raise ValueError(f"install must be index-url, extra-index-url or find-links, not {self.install!r}")
        for v in (*self.stable, self.pypi_linux, self.pypi_windows, *self.windows_variants):
            if v and v not in self.variants:
                raise ValueError(f"variant {v!r} is not in variants")
        for pairs in (self.torchvision, self.torchaudio):
            for v in pairs:
                if v not in self.versions:
                    raise ValueError(f"pairing for {v} but {v} is not in versions")


@dataclass(frozen=True)
class TorchVariant:
    name: str
    cuda: str
    torch: str  # specifier over torch versions this row describes
    archs: tuple[str, ...]
    source: str
    platform: str = "x86_64"
    cudnn_major: int = 0
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        check_specifier(self.torch, "torch")
        if not re.fullmatch(r"cu\d{2,3}", self.name):
            raise ValueError(f"variant name {self.name!r} is not cuXY")
        if self.name != "cu" + cuda_mm(self.cuda).replace(".", ""):
            raise ValueError(f"variant {self.name} does not match cuda {self.cuda}")
        for a in self.archs:
            if not re.fullmatch(r"(sm|compute)_\d+[af]?", a):
                raise ValueError(f"arch {a!r} is not sm_XY or compute_XY")


@functools.lru_cache(maxsize=None)
def torch_releases() -> tuple[TorchRelease, ...]:
    return load_table("torch.toml", "release", TorchRelease)


@functools.lru_cache(maxsize=None)
def torch_variants() -> tuple[TorchVariant, ...]:
    return load_table("torch.toml", "variant", TorchVariant)


def torch_variant(name: str, version: str, platform: str = "x86_64") -> TorchVariant | None:
    for row in torch_variants():
        if row.name == name and row.platform == platform and pep440.contains(row.torch, version):
            return row
    return None


def torch_companion(name: str, torch_version: str) -> str:
    """The torchvision/torchaudio version released with `torch_version`, "" when the data has none."""
    cached = _disk_cache()
    if cached is not None and name in cached.get("pairs", {}):
        return cached["pairs"][name].get(torch_version, "")
    return torch_companion_uncached(name, torch_version)


def torch_companion_uncached(name: str, torch_version: str) -> str:
    for rel in torch_releases():
        if torch_version in rel.versions:
            return (rel.torchvision if name == "torchvision" else rel.torchaudio).get(torch_version, "")
    return ""


def _torch_builds() -> list[Build]:
    info = package_info_uncached("torch")
    out: list[Build] = []
    for rel in torch_releases():
        notes = (rel.note,) if rel.note else ()
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            for name in rel.variants:
                oses = ("linux", "windows") if not rel.windows_variants or name in rel.windows_variants else ("linux",)
                for platform in ("x86_64", "aarch64"):
                    row = torch_variant(name, version, platform)
                    if row is None:
                        continue
                    out.append(
                        Build(
                            package="torch",
                            series=rel.version,
                            version=version,
                            variant=name,
                            dist="torch",
                            python=rel.python,
                            source=f"{rel.source}; archs: {row.source}",
                            gpu=True,
                            cuda=row.cuda,
                            cudnn_major=row.cudnn_major,
                            archs=row.archs,
                            os=oses if platform == "x86_64" else ("linux",),
                            platforms=(platform,),
                            index="pytorch",
                            index_style=rel.install,
                            local_tag=True,
                            pypi_default=(name == rel.pypi_linux and platform == "x86_64"),
                            pypi_windows=(name == rel.pypi_windows and platform == "x86_64"),
                            minor_compat=vtuple(row.cuda)[:1] >= (11,),
                            stable=not rel.stable or name in rel.stable,
                            confirmed=rel.confirmed and row.confirmed,
                            notes=notes + ((row.note,) if row.note else ()),
                        )
                    )
            # CPU: the PyTorch CPU index on Linux x86_64 (no 3 GB of CUDA wheels), PyPI elsewhere
            # (PyPI's Windows and macOS wheels are CPU builds).
            out.append(
                Build("torch", rel.version, version, "cpu", "torch", rel.python, f"{info.source}; {rel.source}",
                      os=("linux",), platforms=X86, index="pytorch", index_style=rel.install, local_tag=True,
                      confirmed=rel.confirmed, notes=notes)
            )
            out.append(
                Build("torch", rel.version, version, "cpu", "torch", rel.python, f"{info.source}; {rel.source}",
                      os=("windows", "macos"), platforms=ANY_ARCH, confirmed=rel.confirmed, notes=notes)
            )
            out.append(
                Build("torch", rel.version, version, "cpu", "torch", rel.python, f"{info.source}; {rel.source}",
                      os=("linux",), platforms=("aarch64",), confirmed=False,
                      notes=notes + ("whether PyPI's Linux aarch64 wheel of this release is CUDA-enabled is unconfirmed",))
            )
    return out


# --- tensorflow ------------------------------------------------------------------------------------

GPU_MODES = ("and-cuda", "system", "none")


@dataclass(frozen=True)
class TensorflowRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    cuda: str
    cudnn: str
    linux_gpu: str
    windows_gpu: str
    cc_min: str
    source: str
    wheel_cuda: str = ""
    dist: str = "tensorflow"
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")
        for mode in (self.linux_gpu, self.windows_gpu):
            if mode not in GPU_MODES:
                raise ValueError(f"GPU mode {mode!r} is not one of {', '.join(GPU_MODES)}")


@functools.lru_cache(maxsize=None)
def tensorflow_releases() -> tuple[TensorflowRelease, ...]:
    return load_table("tensorflow.toml", "release", TensorflowRelease)


def _tensorflow_builds() -> list[Build]:
    out: list[Build] = []
    for rel in tensorflow_releases():
        notes = (rel.note,) if rel.note else ()
        cudnn_major = vtuple(rel.cudnn)[0] if vtuple(rel.cudnn) else 0
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            common = dict(package="tensorflow", series=rel.version, version=version, python=rel.python,
                          source=rel.source, confirmed=rel.confirmed)
            for os_name, mode in (("linux", rel.linux_gpu), ("windows", rel.windows_gpu)):
                if mode == "none":
                    continue
                out.append(
                    Build(**common, variant="and-cuda" if mode == "and-cuda" else "gpu",
                          dist="tensorflow" if mode == "and-cuda" else rel.dist,
                          extras=("and-cuda",) if mode == "and-cuda" else (), gpu=True,
                          cuda=(rel.wheel_cuda or rel.cuda) if mode == "and-cuda" else rel.cuda,
                          cudnn=rel.cudnn, cudnn_major=cudnn_major, cc_min=rel.cc_min, os=(os_name,),
                          platforms=X86, system_cuda=(mode == "system"),
                          minor_compat=vtuple(rel.cuda)[:1] >= (11,), notes=notes)
                )
            out.append(Build(**common, variant="cpu", dist="tensorflow", os=ALL_OS, platforms=ANY_ARCH))
    return out


# --- jax -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JaxRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    extras: tuple[str, ...]
    cudnn: str
    source: str
    unconfirmed_extras: tuple[str, ...] = ()
    built_with: dict[str, str] = field(default_factory=dict)
    find_links: str = ""
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")


@dataclass(frozen=True)
class JaxExtra:
    name: str
    cuda: str
    cc_min: str
    source: str


@functools.lru_cache(maxsize=None)
def jax_releases() -> tuple[JaxRelease, ...]:
    return load_table("jax.toml", "release", JaxRelease)


@functools.lru_cache(maxsize=None)
def jax_extras() -> dict[str, JaxExtra]:
    return {e.name: e for e in load_table("jax.toml", "extra", JaxExtra)}


def _jax_builds() -> list[Build]:
    extras = jax_extras()
    out: list[Build] = []
    for rel in jax_releases():
        notes = (rel.note,) if rel.note else ()
        cudnn_major = vtuple(rel.cudnn)[0] if vtuple(rel.cudnn) else 0
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            for name in (*rel.extras, *rel.unconfirmed_extras):
                extra = extras.get(name)
                if extra is None:
                    raise KnowledgeError(f"knowledge file jax.toml [[release]] version={rel.version!r}: unknown extra {name!r}")
                confirmed = rel.confirmed and name not in rel.unconfirmed_extras
                out.append(
                    Build("jax", rel.version, version, name.replace("_pip", ""), "jax", rel.python,
                          f"{rel.source}; {extra.source}", extras=(name,), gpu=True,
                          cuda=rel.built_with.get(name, extra.cuda), cudnn=rel.cudnn, cudnn_major=cudnn_major,
                          cc_min=extra.cc_min, os=("linux",), platforms=("x86_64", "aarch64"),
                          index="find-links" if rel.find_links else "pypi", find_links=rel.find_links,
                          confirmed=confirmed,
                          notes=notes + (() if confirmed else (f"the {name} extra is not confirmed for jax {rel.version}",)))
                )
            out.append(Build("jax", rel.version, version, "cpu", "jax", rel.python, rel.source, os=ALL_OS,
                             platforms=ANY_ARCH, confirmed=rel.confirmed))
    return out


# --- cupy ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CupyRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    packages: dict[str, str]  # distribution -> "12.0-12.9"
    source: str
    ctk: bool = False
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")
        for dist, span in self.packages.items():
            if not re.fullmatch(r"\d+\.\d+-\d+\.\d+", span):
                raise ValueError(f"{dist}: CUDA range {span!r} is not 'X.Y-X.Y'")


@functools.lru_cache(maxsize=None)
def cupy_releases() -> tuple[CupyRelease, ...]:
    return load_table("cupy.toml", "release", CupyRelease)


def _cupy_builds() -> list[Build]:
    out: list[Build] = []
    for rel in cupy_releases():
        notes = (rel.note,) if rel.note else ()
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            for dist, span in sorted(rel.packages.items(), key=lambda kv: vtuple(kv[1].split("-")[1]), reverse=True):
                low, high = span.split("-")
                row = arch_list(low)
                note = f"{dist} supports CUDA {low}" + (f" to {high}" if high != low else "")
                out.append(
                    Build("cupy", rel.version, version, dist.removeprefix("cupy-"), dist, rel.python, rel.source,
                          extras=("ctk",) if rel.ctk else (), gpu=True, cuda=low,
                          cc_min=cc_str(row.lowest) if row else "", os=("linux", "windows"), platforms=X86,
                          system_cuda=not rel.ctk, minor_compat=vtuple(low)[:1] >= (11,),
                          confirmed=rel.confirmed, notes=notes + (note,))
                )
    return out


# --- onnxruntime -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OnnxruntimeRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    cuda: str
    cudnn: str
    source: str
    extras: str = ""
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")


@functools.lru_cache(maxsize=None)
def onnxruntime_releases() -> tuple[OnnxruntimeRelease, ...]:
    return load_table("onnxruntime.toml", "release", OnnxruntimeRelease)


def _onnxruntime_builds() -> list[Build]:
    info = package_info_uncached("onnxruntime")
    out: list[Build] = []
    for rel in onnxruntime_releases():
        notes = (rel.note,) if rel.note else ()
        row = arch_list(rel.cuda)
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            out.append(
                Build("onnxruntime", rel.version, version, "gpu", info.gpu_dist, rel.python, rel.source,
                      extras=tuple(e for e in rel.extras.split(",") if e), gpu=True, cuda=rel.cuda, cudnn=rel.cudnn,
                      cudnn_major=int(rel.cudnn.split(".")[0]) if rel.cudnn else 0,
                      cc_min=cc_str(row.lowest) if row else "", os=("linux", "windows"), platforms=X86,
                      system_cuda=not rel.extras, minor_compat=vtuple(rel.cuda)[:1] >= (11,),
                      confirmed=rel.confirmed, notes=notes)
            )
            out.append(Build("onnxruntime", rel.version, version, "cpu", info.cpu_dist, rel.python, rel.source,
                             os=ALL_OS, platforms=ANY_ARCH, confirmed=rel.confirmed))
    return out


# --- source-built packages (dlib, opencv): releases only; the Builds depend on the machine's toolkit ----


@dataclass(frozen=True)
class SourceRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    source: str
    gpu: bool = True
    cuda_majors: tuple[int, ...] = ()
    needs_cudnn: bool = True
    cudnn_min_major: int = 0
    cudnn_max_major: int = 0
    build_minutes: int = 0
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")
        if self.gpu and not self.cuda_majors:
            raise ValueError("a GPU-capable release needs cuda_majors")


@functools.lru_cache(maxsize=None)
def source_releases(name: str) -> tuple[SourceRelease, ...]:
    return load_table(f"{name}.toml", "release", SourceRelease)


def _source_cpu_builds(name: str) -> list[Build]:
    info = package_info_uncached(name)
    out: list[Build] = []
    if name == "dlib":
        # PyPI's dlib is an sdist only; dlib-bin is the CPU wheel of the same code.
        out.append(Build("dlib", info.cpu_version, info.cpu_version, "cpu", info.cpu_dist, ">=3.8", info.source,
                         os=("linux", "windows"), platforms=X86,
                         notes=("dlib-bin provides the dlib module but not the `dlib` distribution: "
                                "packages that require dlib (face_recognition) must be installed with --no-deps",)))
        for rel in source_releases(name):
            for version in sorted(rel.versions, key=parse_version, reverse=True):
                out.append(Build("dlib", rel.version, version, "cpu", "dlib", rel.python, rel.source, os=ALL_OS,
                                 platforms=ANY_ARCH, source_build=True,
                                 notes=("a CPU build from the sdist (needs CMake and a C++ compiler)",)))
        return out
    for rel in source_releases(name):
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            out.append(Build(name, rel.version, version, "cpu", info.cpu_dist, rel.python, rel.source, os=ALL_OS,
                             platforms=ANY_ARCH, notes=(rel.note,) if rel.note else ()))
    return out


# --- pure-Python packages that ride on another one ----------------------------------------------------


@dataclass(frozen=True)
class PlainRelease:
    version: str  # the release series ("2.14"): named `version` so load errors name the row by it
    versions: tuple[str, ...]
    python: str
    source: str
    companions: tuple[str, ...] = ()
    no_deps: bool = False
    confirmed: bool = True
    note: str = ""

    def validate(self) -> None:
        _versions_ok(self.versions)
        check_specifier(self.python, "python")


@functools.lru_cache(maxsize=None)
def plain_releases(name: str) -> tuple[PlainRelease, ...]:
    return load_table(f"{name}.toml", "release", PlainRelease)


def _plain_builds(name: str) -> list[Build]:
    out: list[Build] = []
    for rel in plain_releases(name):
        for version in sorted(rel.versions, key=parse_version, reverse=True):
            out.append(Build(name, rel.version, version, "noarch", name, rel.python, rel.source, os=ALL_OS,
                             platforms=ANY_ARCH, no_deps=rel.no_deps, companions=rel.companions,
                             confirmed=rel.confirmed, notes=(rel.note,) if rel.note else ()))
    return out


# --- CUDA toolkits as pip wheels (rows added to cuda.toml) ---------------------------------------------


@dataclass(frozen=True)
class ToolkitWheel:
    """An nvcc wheel on PyPI and the other wheels a CMake CUDA build needs next to it."""

    cuda: str
    nvcc: str
    packages: tuple[str, ...]
    root: str  # where bin/nvcc lands, relative to site-packages
    source: str

    def validate(self) -> None:
        if len(vtuple(self.cuda)) != 2:
            raise ValueError("cuda must be X.Y")


@functools.lru_cache(maxsize=None)
def toolkit_wheels() -> tuple[ToolkitWheel, ...]:
    return tuple(sorted(load_table("cuda.toml", "toolkit_wheel", ToolkitWheel), key=lambda w: vtuple(w.cuda), reverse=True))


# --- the registry --------------------------------------------------------------------------------------

# How each package's builds are made. "source" packages get their GPU builds from the planner (they
# depend on the toolkit found on the machine); their CPU builds come from here.
KINDS: dict[str, str] = {
    "torch": "wheel",
    "tensorflow": "wheel",
    "jax": "wheel",
    "cupy": "wheel",
    "onnxruntime": "wheel",
    "dlib": "source",
    "opencv": "source",
    "face_recognition": "plain",
    "pytensor": "plain",
    "theano": "dead",
}

_EXPANDERS = {
    "torch": _torch_builds,
    "tensorflow": _tensorflow_builds,
    "jax": _jax_builds,
    "cupy": _cupy_builds,
    "onnxruntime": _onnxruntime_builds,
}


def _builds_uncached(name: str) -> tuple[Build, ...]:
    kind = KINDS.get(name)
    if kind == "wheel":
        out = _EXPANDERS[name]()
    elif kind == "source":
        out = _source_cpu_builds(name)
    elif kind == "plain":
        out = _plain_builds(name)
    elif kind == "dead":
        out = []
    else:
        raise KeyError(name)
    out.sort(key=lambda b: b.key, reverse=True)  # stable: keeps the file's variant order within a version
    return tuple(out)


@functools.lru_cache(maxsize=None)
def builds(name: str) -> tuple[Build, ...]:
    """Every known build of `name`, newest version first (GPU and CPU; source GPU builds excepted)."""
    if name not in KINDS:
        raise KeyError(name)
    cached = _disk_cache()
    if cached is not None and name in cached.get("builds", {}):
        try:
            return tuple(_build_from_dict(d) for d in cached["builds"][name])
        except (TypeError, ValueError, KeyError):  # a cache written by other code: rebuild from the TOML
            pass
    return _builds_uncached(name)


# --- a disk cache of the expanded knowledge ---------------------------------------------------------
# Parsing and checking every TOML row costs more than the planning itself; `plan` must answer in well
# under 200 ms. The expanded builds are kept as JSON (never pickle: nothing executable is read back) in
# the user's cache folder, keyed by gpuready's version and every data file's size and mtime, so an edit
# of any data file (or an upgrade) rebuilds it. Any failure just means "no cache".

CACHE_FORMAT = 2  # bump when Build's fields or the expanders change shape (the key covers data files, not code)
_TUPLE_FIELDS = {f.name for f in dataclasses.fields(Build) if str(f.type).startswith("tuple")}


def _build_from_dict(d: dict) -> Build:
    return Build(**{k: tuple(v) if k in _TUPLE_FIELDS else v for k, v in d.items()})


def _cache_key() -> str | None:
    try:
        from importlib import resources

        from gpuready import __version__

        folder = resources.files("gpuready.knowledge.data")
        parts = [__version__, str(CACHE_FORMAT), ",".join(f.name for f in dataclasses.fields(Build))]
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                st = os.stat(str(entry))
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        import zlib  # a stable, cheap fingerprint (hashlib costs more to import than this whole lookup)

        text = "|".join(parts).encode()
        return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    except Exception:  # a zipped install, an unreadable folder: no cache
        return None


def _cache_path(key: str) -> Path | None:
    if os.environ.get("GPUREADY_NO_CACHE"):
        return None
    # platformdirs' rules, without importing it (it costs more than reading the cache)
    if os.environ.get("XDG_CACHE_HOME"):
        base = Path(os.environ["XDG_CACHE_HOME"])
    elif os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "gpuready" / "Cache"
        return base / f"knowledge-{key}.json"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path.home() / ".cache"
    return base / "gpuready" / f"knowledge-{key}.json"


@functools.lru_cache(maxsize=None)
def _disk_cache() -> dict | None:
    key = _cache_key()
    path = _cache_path(key) if key else None
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return data
    except (OSError, ValueError):
        pass
    data = {
        "key": key,
        "builds": {n: [dataclasses.asdict(b) for b in _builds_uncached(n)] for n, k in KINDS.items() if k == "wheel"},
        "info": {n: dataclasses.asdict(package_info_uncached(n)) for n in KINDS},
        "pairs": {n: {v: torch_companion_uncached(n, v) for rel in torch_releases() for v in rel.versions}
                  for n in ("torchvision", "torchaudio")},
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        for old in path.parent.glob("knowledge-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return data


def all_knowledge() -> dict[str, int]:
    """Load and check every package file (for tests and `gpuready plan --check-data`): name -> build count."""
    counts: dict[str, int] = {}
    for name, kind in KINDS.items():
        package_info_uncached(name)
        if kind == "source":
            source_releases(name)
        if kind == "dead":
            plain_releases(name)
        counts[name] = len(_builds_uncached(name))
    toolkit_wheels()
    return counts
