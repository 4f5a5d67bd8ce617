"""Which builds of each GPU package exist, as one uniform list of `Build`s per package.

Every package publishes its GPU builds differently (torch: one wheel per CUDA variant on its own
index; tensorflow: an `[and-cuda]` extra or a system CUDA; jax: one extra per CUDA major; cupy: one
distribution per CUDA major; onnxruntime-gpu: one CUDA per release). Each `*.toml` keeps that
package's facts in its own natural shape (one row per release or variant, each with a source);
`package_rows` reads them into typed rows and expands them into `Build`s, newest first, so that the
planner asks the same questions of every package. A new release or variant is a data edit; only a
new *kind* of package needs an expander. The expanded builds are cached on disk (below).
"""

import dataclasses
import functools
import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

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
    ptx_jit_fails_from: str = ""  # GPUs of this capability or newer cannot JIT its PTX (known failure), "" when none
    ptx_jit_source: str = ""
    os: tuple[str, ...] = ALL_OS
    platforms: tuple[str, ...] = X86
    index: str = "pypi"  # "pypi", "pytorch" (the PyTorch wheel index), "find-links"
    index_style: str = ""  # torch: "index-url", "extra-index-url", "find-links"
    find_links: str = ""
    local_tag: bool = False  # pin as version+variant (PyTorch index wheels)
    pypi_default: bool = False  # PyPI's Linux x86_64 wheel of this version *is* this variant
    pypi_windows: bool = False  # ... and PyPI's Windows wheel (no torch release so far: PyPI's Windows torch is CPU)
    pypi_aarch64: bool = False  # ... and PyPI's Linux aarch64 wheel (torch >= 2.11: CUDA for SBSA servers)
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
    checked: str = ""
    no_toolkit_fix: str = ""  # source-built packages: what to do when no CUDA toolkit can build here (per OS: "windows: ...")
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


def torch_companion(name: str, torch_version: str) -> str:
    """The torchvision/torchaudio version released with `torch_version`, "" when the data has none."""
    cached = _disk_cache()
    if cached is not None and name in cached.get("pairs", {}):
        return cached["pairs"][name].get(torch_version, "")
    from gpuready.knowledge.package_rows import torch_companion_uncached

    return torch_companion_uncached(name, torch_version)


def torch_companion_on_pypi(name: str, torch_version: str) -> bool:
    """Is the companion paired with `torch_version` one stable-ABI wheel on PyPI (installed untagged from PyPI)?"""
    cached = _disk_cache()
    if cached is not None and name in cached.get("pypi_pairs", {}):
        return torch_version in cached["pypi_pairs"][name]
    from gpuready.knowledge.package_rows import torch_releases

    return any(torch_version in rel.versions and name in rel.pypi_companions for rel in torch_releases())



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



def _builds_uncached(name: str) -> tuple[Build, ...]:
    from gpuready.knowledge import package_rows as rows

    kind = KINDS.get(name)
    if kind == "wheel":
        out = rows.EXPANDERS[name]()
    elif kind == "source":
        out = rows._source_cpu_builds(name)
    elif kind == "plain":
        out = rows._plain_builds(name)
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

CACHE_FORMAT = 3  # bump when Build's fields or the expanders change shape (the key covers data files, not code)
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
        "pairs": _pairs(),
        "pypi_pairs": _pypi_pairs(),
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


def _pypi_pairs() -> dict[str, list[str]]:
    from gpuready.knowledge.package_rows import torch_releases

    return {n: [v for rel in torch_releases() if n in rel.pypi_companions for v in rel.versions]
            for n in ("torchvision", "torchaudio")}


def _pairs() -> dict[str, dict[str, str]]:
    from gpuready.knowledge.package_rows import torch_companion_uncached, torch_releases

    return {n: {v: torch_companion_uncached(n, v) for rel in torch_releases() for v in rel.versions}
            for n in ("torchvision", "torchaudio")}


def __getattr__(name: str):
    """Row classes and their loaders live in package_rows (imported on first use)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from gpuready.knowledge import package_rows

    try:
        return getattr(package_rows, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def all_knowledge() -> dict[str, int]:
    """Load and check every package file (for tests and `gpuready plan --check-data`): name -> build count."""
    from gpuready.knowledge import package_rows as rows

    counts: dict[str, int] = {}
    for name, kind in KINDS.items():
        package_info_uncached(name)
        if kind == "source":
            rows.source_releases(name)
        if kind == "dead":
            rows.plain_releases(name)
        counts[name] = len(_builds_uncached(name))
    rows.toolkit_wheels()
    return counts
