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
next venv takes seconds.

When the source build cannot be made, the `dlib-bin` wheel is used at once, named as such, never
silently. "Cannot be made" is found out early and cheaply wherever possible: no C compiler or cmake,
no sdist/BLAS wheel (offline folder or network), or a BLAS that does not link -- a ten-line C
program calling cblas_ddot through the same -D macros is compiled, linked against the OpenBLAS and
run *before* the build, because the one way this failed on the H200 (dlib's CMake printed
"Looking for cblas_ddot - not found", 2026-12) was found only after minutes of compiling, and then
bench ran the same build again and timed out. So a failed source build is recorded (FAILED, beside
the venv: why, when) and skipped by later runs until that folder is removed; within one bench run
the baseline is made once. Every build is capped (`timeout`, DEFAULT_TIMEOUT seconds).

Which build is named in every figure (`build`, one of BUILDS): source-with-BLAS, source-without-BLAS,
the dlib-bin wheel, or an interpreter the user gave; with dlib's own compile flags as a child reads
them (DLIB_USE_CUDA, DLIB_USE_BLAS, DLIB_USE_LAPACK, USE_AVX_INSTRUCTIONS, USE_SSE4_INSTRUCTIONS,
where the module has them) and the threads its CNN can use.

Why source-without-BLAS is not the automatic fallback: dlib-bin 20.0.1.post1 is itself a no-BLAS
build with USE_AVX_INSTRUCTIONS on (read from the wheel, 2026-12-02). Without BLAS dlib's CPU
convolution is its own single-threaded matrix multiply either way, so a no-BLAS source build gains
only the compiler's AVX2/AVX-512 auto-vectorisation over AVX -- a small change to a one-thread
figure -- for minutes of compiling. It is there on request (prefer "source-noblas"), and as the
last resort of "auto" when no wheel can be had but a compiler and the sdist can.

How the build is made right for this CPU (its SIMD level, the -D macros onto scipy-openblas32's names, the cblas
probe, the early stop): gpuready.bench.cpubuild.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from gpuready import paths
from gpuready.bench.cpubuild import (
    BaselineError, BuildFailed, Simd, blas_probe, build_modules_ok, cblas_macros, cpu_flags, cpu_threads, run_build,
    simd_level,
)
from gpuready.build import cache
from gpuready.machine import Machine
from gpuready.proc import MARK, parse_marked_json, run, run_python

DIST = "dlib"
RECIPE_VERSION = 1  # of the CPU build below: bump when its flags change (it is part of the cache label)
BLAS_DIST = "scipy-openblas32"
WHEEL_DIST = "dlib-bin"
MARKER = "gpuready-baseline.json"
FAILED = "gpuready-baseline-failed.json"  # a source build that failed: later runs skip it until the folder is removed
DEFAULT_TIMEOUT = 900.0  # seconds a baseline (build included) may take; bench --baseline-timeout changes it

# kind -> the name bench prints and writes next to every figure from it
BUILDS = {
    "source": "source-with-BLAS",
    "source-noblas": "source-without-BLAS",
    "wheel": "dlib-bin wheel",
    "given": "given (--cpu-python)",
}
# dlib's compile-time switches, as its Python module exposes them (each only where that build has it)
FLAG_NAMES = ("DLIB_USE_CUDA", "DLIB_USE_BLAS", "DLIB_USE_LAPACK", "USE_AVX_INSTRUCTIONS", "USE_SSE4_INSTRUCTIONS",
              "USE_NEON_INSTRUCTIONS")


@dataclass(frozen=True)
class CpuBaseline:
    python: str  # the interpreter the CPU-baseline children run in
    kind: str  # "source", "source-noblas" (built by gpuready), "wheel" (dlib-bin), "given" (--cpu-python)
    description: str  # one line: which build, which SIMD, which BLAS, how many threads
    build: str = ""  # BUILDS[kind]: what bench prints as the CPU build's name
    flags: dict[str, bool] = field(default_factory=dict)  # dlib's compile switches, read in a child
    cores: int = 0  # the cores this process may use (threads is what the CNN can use of them)
    simd: str = ""
    blas: str = ""
    threads: int = 0
    env: dict[str, str] = field(default_factory=dict)  # for the baseline children
    wheel: str = ""
    cached: bool = False  # reused, not built now
    seconds: float = 0.0
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.build:
            object.__setattr__(self, "build", BUILDS.get(self.kind, self.kind))

    def to_dict(self) -> dict:
        return dataclasses.asdict(self) | {"notes": list(self.notes)}

    def flags_text(self) -> str:
        """"DLIB_USE_BLAS=0 USE_AVX_INSTRUCTIONS=1 ..." (what the child read; empty where nothing was)."""
        return " ".join(f"{k}={int(bool(v))}" for k, v in self.flags.items())


@dataclass(frozen=True)
class CpuKey(cache.CacheKey):
    """A cache key for a CPU build: the local label names the SIMD level and the BLAS, not CUDA."""

    simd: str = ""
    blas: str = ""

    @property
    def local_label(self) -> str:
        return ".".join(p for p in ("cpu", self.simd, self.blas, f"r{self.recipe_version}") if p)


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
        "flags = {k: bool(getattr(dlib, k)) for k in %r if hasattr(dlib, k)}\n"
        "print(%r + json.dumps({'version': getattr(dlib, '__version__', ''), 'file': dlib.__file__, 'flags': flags,"
        " 'cuda': flags.get('DLIB_USE_CUDA', False), 'blas': flags.get('DLIB_USE_BLAS', False),"
        " 'avx': flags.get('USE_AVX_INSTRUCTIONS', False)}))\n" % (FLAG_NAMES, MARK)
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


def _build_tools(ctx: _Ctx, env: dict[str, str]) -> bool:
    """Whether `pip wheel --no-build-isolation` can run in the checked interpreter (its modules, and cmake on PATH)."""
    return build_modules_ok(ctx.python) and bool(shutil.which("cmake", path=env.get("PATH")))


def build_env(ctx: _Ctx, root: Path, macros: list[str], *, blas: bool = True) -> dict[str, str]:
    """The environment of the CPU build: CUDA off, BLAS from OPENBLAS_HOME only (or none), the SIMD flags, all cores."""
    from gpuready.build.settings import choose_compiler

    env = dict(os.environ)
    for var in ("CFLAGS", "CXXFLAGS", "CUDAARCHS", "CUDACXX", "CMAKE_ARGS"):
        env.pop(var, None)
    empty = root / "no-pkgconfig"
    empty.mkdir(parents=True, exist_ok=True)
    bindir = os.path.dirname(ctx.python)
    env.update({
        "DLIB_USE_CUDA": "0",
        "DLIB_USE_BLAS": "ON" if blas else "OFF",
        "DLIB_USE_LAPACK": "OFF",  # the CNN needs none; the wheel's LAPACK symbols are prefixed too
        "PKG_CONFIG_LIBDIR": str(empty),  # no system cblas.pc: the macros assume our OpenBLAS
        "CXXFLAGS": " ".join([*ctx.simd.flags.split(), *macros]),
        "CMAKE_BUILD_PARALLEL_LEVEL": str(ctx.threads),
        "PATH": bindir + os.pathsep + env.get("PATH", ""),
    })
    env.pop("PKG_CONFIG_PATH", None)  # searched before PKG_CONFIG_LIBDIR: a cblas.pc there would be used
    if blas:
        env["OPENBLAS_HOME"] = str(root / "blas")  # dlib's find_blas.cmake looks in $OPENBLAS_HOME/lib ...
        # ... but only after the system's folders (find_library's PATHS come last): a system libopenblas(p).so,
        # which has no scipy_ symbols, would be taken and fail the cblas_ddot check. CMAKE_LIBRARY_PATH is searched first.
        old = env.get("CMAKE_LIBRARY_PATH", "")
        env["CMAKE_LIBRARY_PATH"] = str(root / "blas" / "lib") + (os.pathsep + old if old else "")
        env["CFLAGS"] = " ".join(macros)  # CMake's check_function_exists(cblas_ddot) is C
    compiler = choose_compiler(ctx.machine, "")
    if compiler.ok and compiler.cxx and os.name != "nt":
        env["CC"], env["CXX"] = compiler.cc, compiler.cxx  # the distribution's own, not a second toolchain
    return env


def _remaining(ctx: _Ctx, start: float, what: str) -> float:
    left = ctx.timeout - (time.monotonic() - start)
    if left < 30:
        raise BuildFailed(f"no time left for {what} (the baseline may take {ctx.timeout:.0f} s)")
    return left


def from_source(ctx: _Ctx, version: str, *, blas: bool = True) -> CpuBaseline:
    """dlib built here for this CPU (or its cached wheel), with OpenBLAS (or, blas=False, without), in a fresh venv."""
    from gpuready.build.settings import choose_compiler

    kind = "source" if blas else "source-noblas"
    if sys.platform != "linux":
        raise BaselineError("the CPU source build is made on Linux only (elsewhere the dlib-bin wheel is used)")
    start = time.monotonic()
    key = _key(ctx, version, "openblas" if blas else "noblas")
    root = baseline_dir(key)
    hit = cache.lookup(key)
    if ctx.offline is not None:  # the files first, all of them: a missing one fails before any work
        lacks = [what for what, patterns, needed in (
            (f"dlib-{version}.tar.gz (the sdist)", (f"dlib-{version}.tar.gz", f"dlib-{version}.*"), hit is None),
            ("scipy_openblas32-*.whl (OpenBLAS)", ("scipy_openblas32-*.whl",), blas)) if needed and _find(ctx.offline, patterns) is None]
        if lacks:
            raise BaselineError(f"the offline folder {ctx.offline} lacks {' and '.join(lacks)} for the CPU build")
    if hit is None:  # the tools next: seconds, before any venv or download
        if not choose_compiler(ctx.machine, "").ok and not (shutil.which("c++") or shutil.which("g++")):
            raise BaselineError("no C++ compiler (g++) to build dlib with")
        if not _build_tools(ctx, dict(os.environ, PATH=os.path.dirname(ctx.python) + os.pathsep + os.environ.get("PATH", ""))) \
                and ctx.offline is None and not shutil.which("cmake"):
            raise BaselineError(f"no cmake on PATH (nor next to {ctx.python}) to build dlib with")
    sdist = _sdist(ctx, version) if hit is None else None
    blas_whl = _blas_wheel(ctx) if blas else None
    vpy, site = make_venv(root / "venv", ctx.python)
    blas_lib: Path | None = None
    if blas_whl is not None:
        _pip_install(ctx.python, site, [str(blas_whl)], None)
        blas_lib = site / "scipy_openblas32" / "lib"
        lib = blas_lib / "libscipy_openblas.so"
        if not lib.is_file():
            raise BaselineError(f"{blas_whl.name} has no scipy_openblas32/lib/libscipy_openblas.so")
        (root / "blas" / "lib").mkdir(parents=True, exist_ok=True)
        for link in ("libopenblasp.so", "libopenblas.so", "libscipy_openblas.so"):  # dlib asks for openblasp first
            dest = root / "blas" / "lib" / link
            if dest.is_symlink() or dest.exists():
                dest.unlink()
            dest.symlink_to(lib)
    cached = hit is not None
    log = root / "build.log"
    if hit is None:
        assert sdist is not None
        env = build_env(ctx, root, cblas_macros(sdist) if blas else [], blas=blas)
        if blas:
            why = blas_probe(env, root, root / "blas" / "lib")
            if why:
                raise BuildFailed(f"no usable BLAS for the source build: {why}")
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
        what = "OpenBLAS" if blas else "no BLAS"
        ctx.progress(f"building a CPU dlib {version} for the baseline ({ctx.simd.words}, {what}, {ctx.threads} jobs; "
                     f"minutes, once: the wheel is cached)")
        res, found, stopped = run_build(argv, env, log, timeout=_remaining(ctx, start, "the CPU dlib build"), blas=blas)
        if stopped:
            raise BuildFailed(f"dlib's CMake did not take OpenBLAS ({stopped!r}), so the build was stopped at its configure "
                              f"step after {res.seconds:.0f} s (log: {log}); it would have been single-threaded")
        if not res.ok:
            why = f"timed out after {res.seconds:.0f} s" if res.timed_out else f"exit {res.returncode}"
            raise BuildFailed(f"the CPU dlib build failed ({why}; log: {log}): {res.tail(3)}")
        if blas and not found:
            raise BuildFailed(f"the CPU dlib build did not find OpenBLAS (log: {log}); it would be single-threaded")
        wheels = sorted(out.glob("dlib-*.whl"))
        if not wheels:
            raise BuildFailed(f"pip wheel reported success but left no dlib wheel in {out} (log: {log})")
        info = {"role": "cpu-baseline", "simd": ctx.simd.label, "simd_flags": ctx.simd.flags, "blas": blas_whl.name if blas_whl else "",
                "cc": env.get("CC", ""), "cxx": env.get("CXX", ""), "build_seconds": round(res.seconds, 1), "log": str(log)}
        hit = cache.store(wheels[0], key, info)
    _pip_install(ctx.python, site, [str(hit.path)], None)
    threads = ctx.threads if blas else 1
    env = _runtime_env(threads, blas_lib)
    facts = _import_facts(vpy, env)
    simd = f"{ctx.simd.words}{' (' + ctx.simd.flags + ')' if ctx.simd.flags else ''}"
    if blas:
        if not facts.get("blas"):
            raise BuildFailed(f"the CPU dlib in {vpy} reports DLIB_USE_BLAS False: it would be single-threaded")
        blas_name = "OpenBLAS " + blas_whl.name.split("-")[1] + f" ({BLAS_DIST}, run-time kernel choice)" if blas_whl else "OpenBLAS"
        tail = f"{blas_name}, {threads} threads"
    else:
        blas_name = ""
        tail = "no BLAS: the CNN's matrix multiplies run on one thread"
    desc = f"{BUILDS[kind]}: dlib {facts.get('version') or version} built from source by gpuready for this CPU: {simd}, {tail}"
    return CpuBaseline(python=str(vpy), kind=kind, description=desc, flags=facts.get("flags", {}), cores=ctx.threads,
                       simd=ctx.simd.label, blas=blas_name, threads=threads, env=env, wheel=str(hit.path), cached=cached,
                       seconds=round(time.monotonic() - start, 1))


def from_wheel(ctx: _Ctx) -> CpuBaseline:
    """PyPI's CPU wheel `dlib-bin`, named as what it is (its own SIMD choice, usually no BLAS)."""
    start = time.monotonic()
    root = baseline_dir(_wheel_dir(ctx.machine))
    wheel = _find(ctx.offline, ("dlib_bin-*.whl",))
    if ctx.offline is not None and wheel is None:
        raise BaselineError(f"the offline folder {ctx.offline} has no dlib_bin-*.whl")
    vpy, site = make_venv(root / "venv", ctx.python)
    ctx.progress("installing the dlib-bin CPU wheel for the baseline")
    _pip_install(ctx.python, site, [str(wheel) if wheel else WHEEL_DIST], ctx.offline, timeout=max(60.0, min(600.0, ctx.timeout)))
    facts = _import_facts(vpy, _runtime_env(ctx.threads, None))
    threads = ctx.threads if facts.get("blas") else 1
    env = _runtime_env(threads, None)
    flags = facts.get("flags", {})
    simd = "AVX" if facts.get("avx") else "SSE4" if flags.get("USE_SSE4_INSTRUCTIONS") else "no AVX"
    blas = "BLAS" if facts.get("blas") else "no BLAS: the CNN's matrix multiplies run on one thread"
    desc = (f"{BUILDS['wheel']}: dlib {facts.get('version', '')} from PyPI's dlib-bin "
            f"({Path(str(wheel)).name if wheel else WHEEL_DIST}; a generic CPU build: {simd}, {blas})")
    return CpuBaseline(python=str(vpy), kind="wheel", description=desc, flags=flags, cores=ctx.threads,
                       simd="avx" if facts.get("avx") else "generic", blas="" if not facts.get("blas") else "yes", threads=threads,
                       env=env, wheel=str(wheel or WHEEL_DIST), seconds=round(time.monotonic() - start, 1))


def _wheel_dir(machine: Machine) -> str:
    return f"dlib-bin-{machine.python.minor or 'py'}"


def _reuse(root: Path) -> CpuBaseline | None:
    marker = root / MARKER
    try:
        data = json.loads(marker.read_text(encoding="utf-8"))
        names = {f.name for f in dataclasses.fields(CpuBaseline)}
        base = CpuBaseline(**{k: (tuple(v) if k == "notes" else v) for k, v in data.items() if k in names})
    except (OSError, ValueError, TypeError):
        return None
    return dataclasses.replace(base, cached=True, seconds=0.0) if Path(base.python).is_file() else None


def failed_before(root: Path) -> str:
    """Why the source build in `root` failed on an earlier run ("" when it did not, or the record is unreadable)."""
    try:
        data = json.loads((root / FAILED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return f"{data.get('error', '?')} (on {data.get('date', '?')})" if isinstance(data, dict) else ""


def _record_failure(root: Path, error: str) -> None:
    try:
        root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        (root / FAILED).write_text(json.dumps({"error": error, "date": stamp + " UTC"}, indent=2), encoding="utf-8")
    except OSError:
        pass  # unrecorded: the next run tries again, no worse than before


# prefer -> the routes tried, in order (the first that works is used; each failure becomes a note)
ROUTES = {
    "auto": ("source", "wheel", "source-noblas"),
    "source": ("source", "wheel"),
    "source-noblas": ("source-noblas", "wheel"),
    "wheel": ("wheel",),
}


def make_baseline(
    machine: Machine,
    *,
    python: str | None = None,
    offline: Path | None = None,
    prefer: str = "auto",
    progress: Callable[[str], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    version: str | None = None,
) -> CpuBaseline:
    """The CPU baseline for `python`'s dlib workloads: reused, built from source, or (prefer "wheel", or as soon
    as the build cannot be made) the dlib-bin wheel. A source build that failed is recorded and not tried again
    (not in this run, not in later ones) until its folder is removed. Raises BaselineError when nothing can be had."""
    from gpuready.build.recipes import get_recipe

    py = python or machine.python.executable or sys.executable
    ctx = _Ctx(machine, py, Path(offline) if offline else None, progress or (lambda _m: None), cpu_threads(),
               simd_level(cpu_flags(), machine.os.arch or "x86_64"), timeout)
    version = version or get_recipe(DIST).default_version
    errors = []
    for kind in ROUTES[prefer]:
        source = kind.startswith("source")
        root = baseline_dir(_key(ctx, version, "openblas" if kind == "source" else "noblas")) if source else baseline_dir(_wheel_dir(machine))
        reused = _reuse(root)
        if reused is not None:
            try:  # the checked environment's path may have changed since (another PYTHONPATH)
                share_path(_purelib(Path(reused.python)), checked_path(py))
            except BaselineError:
                reused = None
        if reused is not None:
            return dataclasses.replace(reused, notes=reused.notes + tuple(errors)) if errors else reused
        label = f"{BUILDS[kind]} ({'source build' if source else 'wheel'})"
        earlier = failed_before(root) if source else ""
        if earlier:
            errors.append(f"{label}: skipped, it failed before: {earlier}; remove {root} to try again")
            continue
        try:
            base = from_source(ctx, version, blas=kind == "source") if source else from_wheel(ctx)
        except BaselineError as exc:
            if isinstance(exc, BuildFailed):
                _record_failure(root, str(exc))
            errors.append(f"{label}: {exc}")
            continue
        if errors:
            base = dataclasses.replace(base, notes=base.notes + tuple(errors))
        root.mkdir(parents=True, exist_ok=True)
        (root / MARKER).write_text(json.dumps(base.to_dict(), indent=2), encoding="utf-8")
        return base
    raise BaselineError("; ".join(errors))


def given(python: str) -> CpuBaseline:
    """--cpu-python PY: the user's own CPU dlib; the child reports its build."""
    return CpuBaseline(python=python, kind="given", description=f"{BUILDS['given']}: the dlib in {python}", threads=cpu_threads(),
                       cores=cpu_threads(), env={"OPENBLAS_NUM_THREADS": str(cpu_threads())})
