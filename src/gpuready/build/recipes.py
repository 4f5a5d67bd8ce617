"""Source-build recipes as typed data: what to build, with which settings, and what its log must say.

The recipes live in `knowledge/data/build_*.toml` so that a new dlib or OpenCV release, a new
failure signature or a new CUDA major is a data edit with a source next to it; this module only
turns the rows into frozen dataclasses (through `knowledge.loader.load_table`, which checks names
and types) and answers lookups ("which recipe builds opencv-python?").
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from gpuready.findings import LABELS
from gpuready.knowledge.loader import KnowledgeError, load_table

RECIPE_FILES = ("build_dlib.toml", "build_opencv.toml")
METHODS = ("pip-wheel", "cmake-tree")
EFFECTS = ("confirm", "deny", "problem", "fact", "phase")
PHASES = ("prepare", "configure", "compile", "link", "install", "wheel")


@dataclass(frozen=True)
class Recipe:
    name: str  # "dlib", "opencv"
    recipe_version: int  # part of the cache key: bump when the settings change what gets built
    dist: str  # the wheel's distribution name
    import_name: str
    methods: tuple[str, ...]  # the first is the default
    default_version: str
    arch_style: str  # "sm" -> "90", "dotted" -> "9.0"
    arch_separator: str
    min_cmake: str
    cudnn_min: str
    toolkit_libs: tuple[str, ...]  # libraries the toolkit must have ("cublas", ...)
    toolkit_extras: tuple[str, ...]  # cuda-toolkit[...] extras for a pip-wheel toolkit
    platforms: tuple[str, ...]
    binary_glob: str  # the extension module inside the wheel
    needed_libs: tuple[str, ...]  # DT_NEEDED prefixes the module must have
    verify_code: str  # run in a child with the built wheel on sys.path; prints MARK + JSON
    source: str
    aliases: tuple[str, ...] = ()
    build_modules: tuple[str, ...] = ()  # what `pip wheel --no-build-isolation` needs importable in the target Python
    cudnn_link: bool = False  # needs a file literally named libcudnn.so (find_library(cudnn))
    note: str = ""

    def validate(self) -> None:
        bad = [m for m in self.methods if m not in METHODS]
        if not self.methods or bad:
            raise ValueError(f"methods must be some of {METHODS}, got {list(self.methods)}")
        if self.arch_style not in ("sm", "dotted"):
            raise ValueError(f"arch_style must be 'sm' or 'dotted', got {self.arch_style!r}")

    @property
    def default_method(self) -> str:
        return self.methods[0]


@dataclass(frozen=True)
class KnownSource:
    """A pinned source archive: the exact file a recipe was checked with."""

    recipe: str
    dist: str
    version: str
    filename: str
    sha256: str
    size: int
    source: str
    library_version: str = ""  # the library inside ("4.14.0" for opencv-python 4.14.0.94)


@dataclass(frozen=True)
class Setting:
    recipe: str
    kind: str  # "env" or "cmake"
    name: str
    value: str  # may hold {placeholders}
    why: str
    source: str
    when: str = ""  # comma-separated conditions, all must hold; "!" negates

    def validate(self) -> None:
        if self.kind not in ("env", "cmake"):
            raise ValueError(f"kind must be 'env' or 'cmake', got {self.kind!r}")


@dataclass(frozen=True)
class VersionLimit:
    recipe: str
    versions: str  # PEP 440 specifier on the package version
    severity: str  # "error" blocks the build, "warning" is reported
    label: str
    message: str
    fix: str
    source: str
    cuda: str = ""  # specifier on the toolkit version ("" = any)
    cudnn: str = ""  # specifier on the cuDNN version
    os: str = ""  # "linux", "windows" ("" = any)

    def validate(self) -> None:
        if self.severity not in ("error", "warning"):
            raise ValueError(f"severity must be 'error' or 'warning', got {self.severity!r}")
        if self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")


@dataclass(frozen=True)
class Companion:
    recipe: str
    package: str
    requires: tuple[str, ...]
    why: str
    source: str
    install_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class TrimRule:
    recipe: str
    top: str
    keep: tuple[str, ...]
    source: str
    drop: tuple[str, ...] = ()
    keep_again: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolkitWheels:
    cuda_major: int
    metapackage: str
    default_minor: str
    cudnn_wheel: str
    cudnn_spec: str
    component_dirs: tuple[str, ...]  # site-packages folders holding bin/include/lib of the components
    pip_lib_dirs: tuple[str, ...]  # where a pip-installed runtime keeps the libraries (for $ORIGIN RPATHs)
    source: str
    note: str = ""


@dataclass(frozen=True)
class LogSignature:
    id: str
    recipes: tuple[str, ...]
    effect: str
    pattern: str
    source: str
    label: str = ""
    missing: str = ""
    fix: str = ""
    phase: str = ""
    priority: int = 50
    ignore_case: bool = False
    window: int = 0  # >0: match the last `window` non-empty lines joined by spaces (CMake's multi-line errors)
    regex: re.Pattern = field(default=None, compare=False, repr=False)  # type: ignore[assignment]

    def validate(self) -> None:
        if self.effect not in EFFECTS:
            raise ValueError(f"effect must be one of {EFFECTS}, got {self.effect!r}")
        if self.label and self.label not in LABELS:
            raise ValueError(f"unknown cause label {self.label!r}")
        if self.effect == "phase" and self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        try:
            compiled = re.compile(self.pattern, re.I if self.ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"bad regex {self.pattern!r}: {exc}") from None
        object.__setattr__(self, "regex", compiled)

    def applies_to(self, recipe: str) -> bool:
        return "*" in self.recipes or recipe in self.recipes


# --- loading -----------------------------------------------------------------------------------


@functools.lru_cache(maxsize=None)
def recipes() -> tuple[Recipe, ...]:
    out: list[Recipe] = []
    for f in RECIPE_FILES:
        out.extend(load_table(f, "recipe", Recipe))
    return tuple(out)


def _rows(table: str, cls: type, required: bool = False) -> tuple:
    out: list = []
    for f in RECIPE_FILES:
        out.extend(load_table(f, table, cls, required=required))
    return tuple(out)


@functools.lru_cache(maxsize=None)
def known_sources() -> tuple[KnownSource, ...]:
    return _rows("sdist", KnownSource)


@functools.lru_cache(maxsize=None)
def settings_rows() -> tuple[Setting, ...]:
    return _rows("setting", Setting)


@functools.lru_cache(maxsize=None)
def version_limits() -> tuple[VersionLimit, ...]:
    return _rows("limit", VersionLimit)


@functools.lru_cache(maxsize=None)
def companions() -> tuple[Companion, ...]:
    return _rows("companion", Companion)


@functools.lru_cache(maxsize=None)
def trim_rules() -> tuple[TrimRule, ...]:
    return _rows("trim", TrimRule)


@functools.lru_cache(maxsize=None)
def toolkit_wheels() -> tuple[ToolkitWheels, ...]:
    return load_table("build_toolkit.toml", "toolkit", ToolkitWheels)


@functools.lru_cache(maxsize=None)
def log_signatures() -> tuple[LogSignature, ...]:
    return load_table("build_logs.toml", "signature", LogSignature)


# --- lookups -----------------------------------------------------------------------------------


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.strip().lower())


def find_recipe(package: str) -> Recipe | None:
    """The recipe that builds `package` (a recipe name, a distribution or an import name)."""
    want = _norm(package)
    for r in recipes():
        if want in {_norm(r.name), _norm(r.dist), _norm(r.import_name), *(_norm(a) for a in r.aliases)}:
            return r
    return None


def get_recipe(package: str) -> Recipe:
    r = find_recipe(package)
    if r is None:
        names = ", ".join(r.name for r in recipes())
        raise KnowledgeError(f"no build recipe for {package!r} (recipes: {names})")
    return r


def sources_for(recipe: str) -> tuple[KnownSource, ...]:
    return tuple(s for s in known_sources() if s.recipe == recipe)


def known_source(recipe: str, version: str) -> KnownSource | None:
    for s in sources_for(recipe):
        if s.version == version or s.library_version == version:
            return s
    return None


def toolkit_for_major(major: int) -> ToolkitWheels | None:
    for t in toolkit_wheels():
        if t.cuda_major == major:
            return t
    return None


def companion_requirements(package: str) -> tuple[Companion, ...]:
    """What must be installed with `package` for it to work on top of a recipe's wheel (face_recognition -> setuptools<82)."""
    want = _norm(package)
    return tuple(c for c in companions() if _norm(c.package) == want)
