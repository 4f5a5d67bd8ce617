"""The CPU baseline bench makes itself for dlib and face_recognition: the best CPU dlib it can get.

A CUDA dlib runs only on the GPU, so "how much faster" needs a second, CPU-only dlib. The one
measured first (the `dlib-bin` wheel) is not a fair opponent: it has no BLAS, so the CNN's
convolutions (img2col + one matrix multiply per image) run in dlib's own single-threaded
multiply. The fair one is what a careful CPU user would build: dlib from its sdist with
- the widest SIMD this CPU has (/proc/cpuinfo: AVX-512, else AVX2+FMA, else SSE4.2; passed as
  compiler flags, since dlib's own switch stops at AVX), and
- a multi-threaded BLAS: OpenBLAS from the `scipy-openblas32` wheel (built with DYNAMIC_ARCH, so it
  picks its AVX-512/AVX2 kernels at run time; 32-bit ints, as dlib's cblas calls pass). That wheel
  prefixes its symbols (`scipy_cblas_sgemm`), so dlib's cblas names are mapped onto them with -D
  macros, and CMake finds the library through OPENBLAS_HOME.
It runs with one BLAS thread per core the process may use (OPENBLAS_NUM_THREADS), and bench says
which build and how many threads it used, next to every speedup that comes from it.

Where it lives: a throwaway venv under <gpuready home>/baselines/ that holds only the CPU dlib and
OpenBLAS; the checked environment's site-packages follow it on sys.path (a .pth file), so numpy,
face_recognition, the models and the test photo are the very ones the GPU run used. The built
wheel goes into the wheel cache under a CPU label (`dlib-20.0.1+cpu.avx512.openblas.r1`), so the
next venv takes seconds. When the source build cannot be made (no compiler, no network and no
--offline folder with the sdist and the BLAS wheel), the `dlib-bin` wheel is used instead, named
as such ("no BLAS: one thread"), never silently.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gpuready import paths
from gpuready.build import cache
from gpuready.machine import Machine
from gpuready.proc import MARK, parse_marked_json, run, run_python

DIST = "dlib"
RECIPE_VERSION = 1  # of the CPU build below: bump when its flags change (it is part of the cache label)
BLAS_DIST = "scipy-openblas32"
WHEEL_DIST = "dlib-bin"
MARKER = "gpuready-baseline.json"

# (label, what to call it, /proc/cpuinfo flags it needs (cumulative), compiler flags): x86-64 levels v4, v3, v2.
SIMD_LEVELS: tuple[tuple[str, str, frozenset[str], str], ...] = (
    ("avx512", "AVX-512", frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
     "-mavx512f -mavx512bw -mavx512cd -mavx512dq -mavx512vl"),
    ("avx2", "AVX2+FMA", frozenset({"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"}), "-mavx -mavx2 -mfma -mbmi -mbmi2 -mf16c -mmovbe"),
    ("sse4", "SSE4.2", frozenset({"sse4_1", "sse4_2", "ssse3", "popcnt"}), "-msse4.2 -mpopcnt"),
)

# dlib's headers that call cblas (their names are mapped onto the scipy_ prefix); dlib/external is not built.
CBLAS_HEADERS = ("dlib/matrix/matrix_blas_bindings.h", "dlib/matrix/matrix_trsm.h")


class BaselineError(RuntimeError):
    """No CPU baseline could be made; the message says why and what would fix it."""


@dataclass(frozen=True)
class Simd:
    label: str  # "avx512", "avx2", "sse4", "generic"
    words: str  # "AVX-512"
    flags: str  # compiler flags


@dataclass(frozen=True)
class CpuBaseline:
    python: str  # the interpreter the CPU-baseline children run in
    kind: str  # "source" (built by gpuready), "wheel" (dlib-bin), "given" (--cpu-python)
    description: str  # one line: which build, which SIMD, which BLAS, how many threads
    simd: str = ""
    blas: str = ""
    threads: int = 0
    env: dict[str, str] = field(default_factory=dict)  # for the baseline children
    wheel: str = ""
    cached: bool = False  # reused, not built now
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"notes": list(self.notes)}


@dataclass(frozen=True)
class CpuKey(cache.CacheKey):
    """A cache key for a CPU build: the local label names the SIMD level and the BLAS, not CUDA."""

    simd: str = ""
    blas: str = ""

    @property
    def local_label(self) -> str:
        return ".".join(p for p in ("cpu", self.simd, self.blas, f"r{self.recipe_version}") if p)


# --- this CPU -------------------------------------------------------------------------------------


def cpu_flags(text: str | None = None) -> frozenset[str]:
    """The first "flags" line of /proc/cpuinfo as a set; empty where there is none (not Linux)."""
    if text is None:
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def simd_level(flags: frozenset[str], arch: str = "x86_64") -> Simd:
    """The widest x86-64 level whose flags this CPU has (each level needs the ones below it too)."""
    if arch not in ("x86_64", "amd64", "AMD64"):
        return Simd("generic", "the compiler's default", "")
    for i, (label, words, need, flags_) in enumerate(SIMD_LEVELS):
        if all(lvl[2] <= flags for lvl in SIMD_LEVELS[i:]):
            return Simd(label, words, " ".join(lvl[3] for lvl in reversed(SIMD_LEVELS[i:])))
    return Simd("generic", "the compiler's default (SSE2)", "")


def cpu_threads() -> int:
    """Cores this process may run on (its affinity mask, as a container or taskset limits it)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def cblas_macros(sdist: Path) -> list[str]:
    """-Dcblas_x=scipy_cblas_x for every cblas function dlib's headers call (read from the sdist)."""
    names: set[str] = set()
    try:
        with tarfile.open(sdist, "r:*") as tf:
            for member in tf.getmembers():
                if member.name.endswith(CBLAS_HEADERS):
                    f = tf.extractfile(member)
                    if f:
                        names |= set(re.findall(r"\b(cblas_[sdcz][a-z0-9]+)\s*\(", f.read().decode("utf-8", "replace")))
    except (tarfile.TarError, OSError) as exc:
        raise BaselineError(f"{sdist}: not a readable sdist ({exc})") from None
    if not names:
        raise BaselineError(f"{sdist}: no cblas calls found in {', '.join(CBLAS_HEADERS)} (not a dlib sdist?)")
    return [f"-D{n}=scipy_{n}" for n in sorted(names)]


# --- the venv -------------------------------------------------------------------------------------


def baseline_dir(key: CpuKey | str) -> Path:
    name = key if isinstance(key, str) else f"{key.package}-{key.version}-{key.local_label}-{key.python_tag}"
    return paths.base_dir() / "baselines" / name


def _venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def _purelib(python: Path) -> Path:
    res = run_python("import sysconfig, json; print(%r + json.dumps({'purelib': sysconfig.get_paths()['purelib']}))" % MARK,
                     python=str(python), timeout=60)
    data = parse_marked_json(res.stdout) or {}
    if not res.ok or not data.get("purelib"):
        raise BaselineError(f"the new venv's interpreter {python} does not run: {res.start_error or res.tail(3)}")
    return Path(data["purelib"])


def checked_path(python: str) -> list[str]:
    """The checked interpreter's sys.path as a program there sees it (PYTHONPATH entries included), folders only."""
    code = "import sys, json; print(%r + json.dumps({'path': [p for p in sys.path if p]}))" % MARK
    data = parse_marked_json(run_python(code, python=python, timeout=60).stdout) or {}
    return [p for p in data.get("path", []) if os.path.isdir(p)]


def share_path(site: Path, entries: list[str]) -> None:
    """Make the venv's sys.path continue with the checked environment's: its CPU dlib is found first (its own
    site-packages come before any .pth entry, and PYTHONPATH is cleared for its children), everything else
    (numpy, face_recognition, the models, the test photo) is the very copy the GPU run used."""
    own = str(site)
    lines = [f"import site; site.addsitedir({p!r})" for p in entries if os.path.normpath(p) != os.path.normpath(own)]
    tmp = site / "zz-gpuready-shared.pth.partial"
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, site / "zz-gpuready-shared.pth")


def make_venv(venv: Path, python: str) -> tuple[Path, Path]:
    """A fresh venv of `python` with no packages, whose sys.path continues with the checked env's."""
    shutil.rmtree(venv, ignore_errors=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    res = run([python, "-m", "venv", "--without-pip", str(venv)], timeout=120)
    if not res.ok:
        raise BaselineError(f"could not create a venv with {python}: {res.start_error or res.tail(3)}")
    vpy = _venv_python(venv)
    site = _purelib(vpy)
    site.mkdir(parents=True, exist_ok=True)
    share_path(site, checked_path(python))
    return vpy, site


def _pip_install(python: str, target: Path, args: list[str], offline: Path | None, timeout: float = 600) -> None:
    index = ["--no-index", "--find-links", str(offline)] if offline else []
    argv = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--no-deps", "--upgrade",
            "--target", str(target), *index, *args]
    res = run(argv, timeout=timeout)
    if not res.ok:
        why = "timed out" if res.timed_out else res.tail(4)
        raise BaselineError(f"pip could not install {' '.join(args)} into {target}: {why}")


def _import_facts(vpy: Path, env: dict[str, str]) -> dict:
    code = (
        "import json, numpy, dlib\n"
        "print(%r + json.dumps({'version': getattr(dlib, '__version__', ''), 'file': dlib.__file__,"
        " 'cuda': bool(getattr(dlib, 'DLIB_USE_CUDA', False)), 'blas': bool(getattr(dlib, 'DLIB_USE_BLAS', False)),"
        " 'avx': bool(getattr(dlib, 'USE_AVX_INSTRUCTIONS', False))}))\n" % MARK
    )
    res = run_python(code, python=str(vpy), timeout=120, env={**os.environ, **env})
    data = parse_marked_json(res.stdout)
    if not data:
        why = res.signal or ("timed out" if res.timed_out else res.tail(4))
        raise BaselineError(f"the CPU dlib in {vpy} does not import: {why}")
    if data.get("cuda"):
        raise BaselineError(f"the dlib in {vpy} is a CUDA build ({data.get('file')}), not a CPU one")
    if not str(data.get("file", "")).startswith(str(vpy.parent.parent)):
        raise BaselineError(f"{vpy} imports dlib from {data.get('file')}, not from its own site-packages")
    return data


def _runtime_env(threads: int, blas_lib: Path | None) -> dict[str, str]:
    # PYTHONPATH cleared: an entry there would come before the venv's own CPU dlib (the .pth carries it instead)
    env = {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads), "PYTHONPATH": ""}
    if blas_lib is not None:
        old = os.environ.get("LD_LIBRARY_PATH", "")
        env["LD_LIBRARY_PATH"] = str(blas_lib) + (os.pathsep + old if old else "")
    return env


def _find(offline: Path | None, patterns: tuple[str, ...]) -> Path | None:
    if offline is None:
        return None
    for pattern in patterns:
        hits = sorted(offline.glob(pattern))
        if hits:
            return hits[-1]
    return None


def _download(python: str, dist: str, dest: Path, *, binary: bool, timeout: float = 600) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    kind = ["--only-binary", ":all:"] if binary else ["--no-binary", dist]
    res = run([python, "-m", "pip", "download", "--disable-pip-version-check", "--no-input", "--no-deps", *kind, "-d", str(dest), dist],
              timeout=timeout)
    if not res.ok:
        from gpuready.build.source import network_hint

        hint = network_hint(res.output, res.timed_out) or res.tail(3)
        raise BaselineError(f"could not download {dist}: {hint}")
    canon = dist.replace("-", "_").lower()
    hits = sorted(p for p in dest.iterdir() if p.name.lower().replace("-", "_").startswith(canon + "-"))
    if not hits:
        raise BaselineError(f"pip reported success but no {dist} file is in {dest}")
    return hits[-1]


# --- the two routes -------------------------------------------------------------------------------


@dataclass
class _Ctx:
    machine: Machine
    python: str
    offline: Path | None
    progress: Callable[[str], None]
    threads: int
    simd: Simd
    timeout: float


def _key(ctx: _Ctx, version: str, blas: str = "openblas") -> CpuKey:
    from gpuready.build.settings import python_tag

    base = cache.cache_key(DIST, version, python_tag(ctx.machine), ctx.machine.python.platform_tag or "", "", "", (), RECIPE_VERSION)
    return CpuKey(**{f.name: getattr(base, f.name) for f in dataclasses.fields(cache.CacheKey)}, simd=ctx.simd.label, blas=blas)


def _sdist(ctx: _Ctx, version: str) -> Path:
    from gpuready.build import source
    from gpuready.build.recipes import get_recipe, known_source
    from gpuready.build.trim import sha256_file

    recipe = get_recipe(DIST)
    path = _find(ctx.offline, (f"dlib-{version}.tar.gz", f"dlib-{version}.*"))
    if path is None and ctx.offline is not None:
        raise BaselineError(f"the offline folder {ctx.offline} has no dlib-{version}.tar.gz (the sdist for the CPU build)")
    if path is None:
        path = source.cached_sdist(recipe, version)
    if path is None:
        ctx.progress(f"downloading the dlib {version} sdist")
        try:
            path = source.fetch_sdist(recipe, version, python=ctx.python)
        except source.SourceError as exc:
            raise BaselineError(str(exc)) from None
    known = known_source(recipe.name, version)
    if known and known.sha256 and sha256_file(path) != known.sha256:
        raise BaselineError(f"{path} does not match the pinned sha256 of dlib {version} ({known.sha256[:12]}...): a stale or altered file")
    return path


def _blas_wheel(ctx: _Ctx) -> Path:
    path = _find(ctx.offline, ("scipy_openblas32-*.whl",))
    if path is None and ctx.offline is not None:
        raise BaselineError(f"the offline folder {ctx.offline} has no scipy_openblas32-*.whl (OpenBLAS for the CPU build)")
    if path is None:
        path = _find(paths.sources_dir(), ("scipy_openblas32-*.whl",))
    if path is None:
        ctx.progress("downloading OpenBLAS (scipy-openblas32)")
        path = _download(ctx.python, BLAS_DIST, paths.sources_dir(), binary=True)
    return path


_BUILD_MODULES = """
import setuptools, packaging
try:
    from setuptools.command.bdist_wheel import bdist_wheel  # setuptools >= 70.1
except ImportError:
    import wheel
"""


def build_modules_ok(python: str) -> bool:
    """setuptools (with bdist_wheel) and packaging importable in `python`: dlib's setup.py needs no more."""
    return run_python(_BUILD_MODULES, python=python, timeout=60).ok


def _build_tools(ctx: _Ctx, env: dict[str, str]) -> bool:
    """Whether `pip wheel --no-build-isolation` can run in the checked interpreter (its modules, and cmake on PATH)."""
    return build_modules_ok(ctx.python) and bool(shutil.which("cmake", path=env.get("PATH")))


def build_env(ctx: _Ctx, root: Path, macros: list[str]) -> dict[str, str]:
    """The environment of the CPU build: CUDA off, BLAS from OPENBLAS_HOME only, the SIMD flags, all cores."""
    from gpuready.build.settings import choose_compiler

    env = dict(os.environ)
    for var in ("CFLAGS", "CXXFLAGS", "CUDAARCHS", "CUDACXX", "CMAKE_ARGS"):
        env.pop(var, None)
    empty = root / "no-pkgconfig"
    empty.mkdir(parents=True, exist_ok=True)
    bindir = os.path.dirname(ctx.python)
    env.update({
        "DLIB_USE_CUDA": "0",
        "DLIB_USE_BLAS": "ON",
        "DLIB_USE_LAPACK": "OFF",  # the CNN needs none; the wheel's LAPACK symbols are prefixed too
        "OPENBLAS_HOME": str(root / "blas"),  # dlib's find_blas.cmake looks in $OPENBLAS_HOME/lib
        "PKG_CONFIG_LIBDIR": str(empty),  # no system cblas.pc: the macros assume our OpenBLAS
        "CFLAGS": " ".join(macros),  # CMake's check_function_exists(cblas_ddot) is C
        "CXXFLAGS": " ".join([*ctx.simd.flags.split(), *macros]),
        "CMAKE_BUILD_PARALLEL_LEVEL": str(ctx.threads),
        "PATH": bindir + os.pathsep + env.get("PATH", ""),
    })
    compiler = choose_compiler(ctx.machine, "")
    if compiler.ok and compiler.cxx and os.name != "nt":
        env["CC"], env["CXX"] = compiler.cc, compiler.cxx  # the distribution's own, not a second toolchain
    return env


def from_source(ctx: _Ctx, version: str) -> CpuBaseline:
    """dlib built here for this CPU (or its cached wheel), with OpenBLAS, in a fresh venv."""
    if sys.platform != "linux":
        raise BaselineError("the CPU source build is made on Linux only (elsewhere the dlib-bin wheel is used)")
    start = time.monotonic()
    key = _key(ctx, version)
    root = baseline_dir(key)
    hit = cache.lookup(key)
    if ctx.offline is not None:  # the files first, all of them: a missing one fails before any work
        lacks = [what for what, patterns, needed in (
            (f"dlib-{version}.tar.gz (the sdist)", (f"dlib-{version}.tar.gz", f"dlib-{version}.*"), hit is None),
            ("scipy_openblas32-*.whl (OpenBLAS)", ("scipy_openblas32-*.whl",), True)) if needed and _find(ctx.offline, patterns) is None]
        if lacks:
            raise BaselineError(f"the offline folder {ctx.offline} lacks {' and '.join(lacks)} for the CPU build")
    sdist = _sdist(ctx, version) if hit is None else None
    blas_whl = _blas_wheel(ctx)
    vpy, site = make_venv(root / "venv", ctx.python)
    _pip_install(ctx.python, site, [str(blas_whl)], None)
    blas_lib = site / "scipy_openblas32" / "lib"
    lib = blas_lib / "libscipy_openblas.so"
    if not lib.is_file():
        raise BaselineError(f"{blas_whl.name} has no scipy_openblas32/lib/libscipy_openblas.so")
    (root / "blas" / "lib").mkdir(parents=True, exist_ok=True)
    for link in ("libopenblas.so", "libscipy_openblas.so"):
        dest = root / "blas" / "lib" / link
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        dest.symlink_to(lib)
    cached = hit is not None
    log = root / "build.log"
    if hit is None:
        assert sdist is not None
        env = build_env(ctx, root, cblas_macros(sdist))
        out = root / "wheel"
        shutil.rmtree(out, ignore_errors=True)
        if _build_tools(ctx, env):
            isolation = ["--no-build-isolation"]  # setuptools, packaging and cmake are there: nothing to fetch
        elif ctx.offline:
            isolation = ["--no-index", "--find-links", str(ctx.offline)]  # the build requirements from the folder
        else:
            isolation = []  # pip fetches them
        argv = [ctx.python, "-m", "pip", "wheel", "--disable-pip-version-check", "--no-input", "--no-deps", "-v", "-w", str(out),
                *isolation, str(sdist)]
        ctx.progress(f"building a CPU dlib {version} for the baseline ({ctx.simd.words}, OpenBLAS, {ctx.threads} jobs; "
                     f"minutes, once: the wheel is cached)")
        res = run(argv, timeout=ctx.timeout, env=env)
        log.write_text(f"$ {' '.join(argv)}\n{res.output}\n", encoding="utf-8", errors="replace")
        if not res.ok:
            why = "timed out" if res.timed_out else f"exit {res.returncode}"
            raise BaselineError(f"the CPU dlib build failed ({why}; log: {log}): {res.tail(3)}")
        if "Looking for cblas_ddot - found" not in res.output:
            raise BaselineError(f"the CPU dlib build did not find OpenBLAS (log: {log}); it would be single-threaded")
        wheels = sorted(out.glob("dlib-*.whl"))
        if not wheels:
            raise BaselineError(f"pip wheel reported success but left no dlib wheel in {out} (log: {log})")
        info = {"role": "cpu-baseline", "simd": ctx.simd.label, "simd_flags": ctx.simd.flags, "blas": f"{blas_whl.name}",
                "cc": env.get("CC", ""), "cxx": env.get("CXX", ""), "build_seconds": round(res.seconds, 1), "log": str(log)}
        hit = cache.store(wheels[0], key, info)
    _pip_install(ctx.python, site, [str(hit.path)], None)
    env = _runtime_env(ctx.threads, blas_lib)
    facts = _import_facts(vpy, env)
    if not facts.get("blas"):
        raise BaselineError(f"the CPU dlib in {vpy} reports DLIB_USE_BLAS False: it would be single-threaded")
    blas = "OpenBLAS " + blas_whl.name.split("-")[1] + f" ({BLAS_DIST}, run-time kernel choice)"
    desc = (f"dlib {facts.get('version') or version} built from source by gpuready for this CPU: {ctx.simd.words}"
            f"{' (' + ctx.simd.flags + ')' if ctx.simd.flags else ''}, {blas}, {ctx.threads} threads")
    return CpuBaseline(python=str(vpy), kind="source", description=desc, simd=ctx.simd.label, blas=blas, threads=ctx.threads,
                       env=env, wheel=str(hit.path), cached=cached, seconds=round(time.monotonic() - start, 1))


def from_wheel(ctx: _Ctx) -> CpuBaseline:
    """PyPI's CPU wheel `dlib-bin`, named as what it is (its own SIMD choice, usually no BLAS)."""
    start = time.monotonic()
    root = baseline_dir(f"dlib-bin-{ctx.machine.python.minor or 'py'}")
    wheel = _find(ctx.offline, ("dlib_bin-*.whl",))
    if ctx.offline is not None and wheel is None:
        raise BaselineError(f"the offline folder {ctx.offline} has no dlib_bin-*.whl")
    vpy, site = make_venv(root / "venv", ctx.python)
    ctx.progress("installing the dlib-bin CPU wheel for the baseline")
    _pip_install(ctx.python, site, [str(wheel) if wheel else WHEEL_DIST], ctx.offline)
    env = _runtime_env(ctx.threads, None)
    facts = _import_facts(vpy, env)
    blas = "BLAS" if facts.get("blas") else "no BLAS: the CNN's matrix multiplies run on one thread"
    desc = (f"the dlib-bin {facts.get('version', '')} wheel from PyPI (a generic CPU build: "
            f"{'AVX' if facts.get('avx') else 'no AVX'}, {blas})")
    return CpuBaseline(python=str(vpy), kind="wheel", description=desc, simd="avx" if facts.get("avx") else "generic",
                       blas="" if not facts.get("blas") else "yes", threads=ctx.threads if facts.get("blas") else 1, env=env,
                       wheel=str(wheel or WHEEL_DIST), seconds=round(time.monotonic() - start, 1))


def _reuse(root: Path) -> CpuBaseline | None:
    marker = root / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        base = CpuBaseline(**{k: (tuple(v) if k == "notes" else v) for k, v in data.items()})
    except (OSError, ValueError, TypeError):
        return None
    return dataclasses.replace(base, cached=True, seconds=0.0) if Path(base.python).is_file() else None


def make_baseline(
    machine: Machine,
    *,
    python: str | None = None,
    offline: Path | None = None,
    prefer: str = "auto",
    progress: Callable[[str], None] | None = None,
    timeout: float = 3600.0,
    version: str | None = None,
) -> CpuBaseline:
    """The CPU baseline for `python`'s dlib workloads: reused, built from source, or (prefer "wheel", or when
    the build cannot be made) the dlib-bin wheel. Raises BaselineError when neither can be had."""
    from gpuready.build.recipes import get_recipe

    py = python or machine.python.executable or sys.executable
    ctx = _Ctx(machine, py, Path(offline) if offline else None, progress or (lambda _m: None), cpu_threads(),
               simd_level(cpu_flags(), machine.os.arch or "x86_64"), timeout)
    version = version or get_recipe(DIST).default_version
    routes = {"source": [from_source], "wheel": [from_wheel], "auto": [from_source, from_wheel]}[prefer]
    errors = []
    for route in routes:
        if route is from_source:
            root = baseline_dir(_key(ctx, version))
        else:
            root = baseline_dir(f"dlib-bin-{machine.python.minor or 'py'}")
        reused = _reuse(root)
        if reused is not None:
            try:  # the checked environment's path may have changed since (another PYTHONPATH)
                share_path(_purelib(Path(reused.python)), checked_path(py))
            except BaselineError:
                reused = None
        if reused is not None:
            return reused
        try:
            base = route(ctx, version) if route is from_source else route(ctx)
        except BaselineError as exc:
            errors.append(f"{'source build' if route is from_source else 'dlib-bin wheel'}: {exc}")
            continue
        if errors:
            base = dataclasses.replace(base, notes=base.notes + tuple(errors))
        (root / MARKER).write_text(json.dumps(base.to_dict(), indent=2), encoding="utf-8")
        return base
    raise BaselineError("; ".join(errors))


def given(python: str) -> CpuBaseline:
    """--cpu-python PY: the user's own CPU dlib; the child reports its build."""
    return CpuBaseline(python=python, kind="given", description=f"the dlib in {python} (--cpu-python)", threads=cpu_threads(),
                       env={"OPENBLAS_NUM_THREADS": str(cpu_threads())})
