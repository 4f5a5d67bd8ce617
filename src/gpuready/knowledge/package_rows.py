"""The package TOML rows as typed, validated dataclasses, and their expansion into `Build`s.

Only needed when the knowledge is read from the TOML files (the first run, or after a data edit):
`gpuready.knowledge.packages` keeps the expanded builds in a disk cache and imports this module
lazily, so a plan does not pay for defining and checking a dozen row classes it never builds.
"""

import functools
import re
from dataclasses import dataclass, field

from gpuready.knowledge import pep440
from gpuready.knowledge.cuda import arch_list, cc_str, cuda_mm, vtuple
from gpuready.knowledge.loader import KnowledgeError, load_table
from gpuready.knowledge.package_model import (
    ALL_OS,
    ANY_ARCH,
    X86,
    Build,
    package_info_uncached,
    parse_version,
)

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


EXPANDERS = {
    "torch": _torch_builds,
    "tensorflow": _tensorflow_builds,
    "jax": _jax_builds,
    "cupy": _cupy_builds,
    "onnxruntime": _onnxruntime_builds,
}
