"""The parts of bench's fair CPU dlib build that need no venv and no baseline state: this CPU's SIMD level and
cores, dlib's cblas calls mapped onto scipy-openblas32's prefixed names, a ten-line C probe of that mapping, and
the build run that stops at dlib's "no BLAS after all" line. gpuready.bench.baseline puts them together (the
venv, the routes, the cache, the failure records).

Why the -D macros and not an unprefixed OpenBLAS: scipy-openblas32 exports only `scipy_cblas_*`
(checked with nm, 0.3.34.481.3), and dlib's find_blas.cmake looks only for the plain names. The
macros reach CMake's check through CFLAGS (CMAKE_C_FLAGS; seen working with CMake 3.25 and 4.4 on
a stand-alone copy of dlib's check, 2026-12-02). The H200 failure is not explained by a log (none
came back); two things in find_blas.cmake fit it and are handled: (1) its first cblas_ddot check
(for a pkg-config cblas) always prints "not found" when there is none, so that line is no proof
-- the build is stopped only on "BLAS library does not have cblas symbols" or "No BLAS library
found" (NO_BLAS_LINES); (2) its find_library(openblasp openblas PATHS $OPENBLAS_HOME/lib) searches
the system's folders before PATHS, so a system libopenblas (no scipy_ symbols) would win and fail
the check: CMAKE_LIBRARY_PATH now puts our folder first, with an openblasp link too. A trampoline
library (`cblas_x: jmp scipy_cblas_x`, assembled per symbol) would remove the macros altogether;
not done: the probe and the early stop are the cheaper guards.
"""

from __future__ import annotations

import os
import re
import shutil
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

from gpuready.proc import Result, run, run_python

# (label, what to call it, /proc/cpuinfo flags it needs (cumulative), compiler flags): x86-64 levels v4, v3, v2.
SIMD_LEVELS: tuple[tuple[str, str, frozenset[str], str], ...] = (
    ("avx512", "AVX-512", frozenset({"avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"}),
     "-mavx512f -mavx512bw -mavx512cd -mavx512dq -mavx512vl"),
    ("avx2", "AVX2+FMA", frozenset({"avx", "avx2", "fma", "bmi1", "bmi2", "f16c", "movbe"}), "-mavx -mavx2 -mfma -mbmi -mbmi2 -mf16c -mmovbe"),
    ("sse4", "SSE4.2", frozenset({"sse4_1", "sse4_2", "ssse3", "popcnt"}), "-msse4.2 -mpopcnt"),
)

# dlib's headers that call cblas (their names are mapped onto the scipy_ prefix); dlib/external is not built.
CBLAS_HEADERS = ("dlib/matrix/matrix_blas_bindings.h", "dlib/matrix/matrix_trsm.h")


# The errors of making a CPU baseline (gpuready.bench.baseline raises them too).
class BaselineError(RuntimeError):
    """No CPU baseline could be made; the message says why and what would fix it."""


class BuildFailed(BaselineError):
    """The source build was tried and failed (no usable BLAS, the compiler, a timeout): recorded, not retried."""


@dataclass(frozen=True)
class Simd:
    label: str  # "avx512", "avx2", "sse4", "generic"
    words: str  # "AVX-512"
    flags: str  # compiler flags



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
    names.add("cblas_ddot")  # what dlib's CMake checks for, whether or not the headers call it
    return [f"-D{n}=scipy_{n}" for n in sorted(names)]


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


PROBE_C = """\
#include <stdio.h>
double cblas_ddot(const int n, const double *x, const int incx, const double *y, const int incy);
int main(void) {
    double x[3] = {1.0, 2.0, 3.0}, y[3] = {4.0, 5.0, 6.0};
    double d = cblas_ddot(3, x, 1, y, 1);
    printf("%s %g\\n", d == 32.0 ? "ok" : "wrong", d);
    return d == 32.0 ? 0 : 1;
}
"""


def blas_probe(env: dict[str, str], root: Path, lib_dir: Path) -> str:
    """Compile, link and run cblas_ddot through the build's own CC, CFLAGS (the macros) and OpenBLAS: the
    question dlib's CMake asks, answered in a second instead of after the build. "" when it works, else why."""
    cc = env.get("CC") or shutil.which("cc", path=env.get("PATH")) or shutil.which("gcc", path=env.get("PATH"))
    if not cc:
        return "no C compiler (cc/gcc) to build with"
    work = root / "probe"
    work.mkdir(parents=True, exist_ok=True)
    src, exe = work / "probe.c", work / "probe"
    src.write_text(PROBE_C, encoding="utf-8")
    argv = [cc, *env.get("CFLAGS", "").split(), str(src), "-o", str(exe), f"-L{lib_dir}", "-lopenblas", f"-Wl,-rpath,{lib_dir}"]
    res = run(argv, timeout=60, env=env)
    if not res.ok:
        return f"cblas_ddot does not link against {lib_dir}/libopenblas.so: {res.start_error or res.tail(3)}"
    res = run([str(exe)], timeout=60, env={**env, "OPENBLAS_NUM_THREADS": "1"})
    if not res.ok or not res.stdout.startswith("ok"):
        return f"cblas_ddot links but does not run right: {res.signal or res.tail(2)}"
    return ""


# Lines of dlib's CMake (dlib/cmake_utils/find_blas.cmake, dlib/CMakeLists.txt, 20.0.1) that mean "no BLAS after all":
# the build is stopped when one appears, seconds in, not after minutes. ("Looking for cblas_ddot - not found" alone
# is no such line: the first check, for a pkg-config cblas, always prints it when there is none.)
NO_BLAS_LINES = ("BLAS library does not have cblas symbols", "No BLAS library found so using dlib's built in BLAS")
BLAS_FOUND_LINE = "Looking for cblas_ddot - found"


class _NoBlas(Exception):
    pass


def run_build(argv: list[str], env: dict[str, str], log: Path, *, timeout: float, blas: bool):
    """Run the build, every line into `log` as it comes; (result, saw the cblas check pass, the line that stopped it)."""
    seen = {"found": False}
    with open(log, "w", encoding="utf-8", errors="replace") as fh:
        fh.write(f"$ {' '.join(argv)}\n")

        def on_line(line: str) -> None:
            fh.write(line + "\n")
            if BLAS_FOUND_LINE in line:
                seen["found"] = True
            elif blas and any(m in line for m in NO_BLAS_LINES):
                raise _NoBlas(line.strip())

        start = time.monotonic()
        try:
            return run(argv, timeout=timeout, env=env, on_line=on_line, keep_lines=400), seen["found"], ""
        except _NoBlas as exc:  # run() has stopped the build's whole process tree
            return Result(tuple(argv), None, seconds=time.monotonic() - start), False, str(exc)
