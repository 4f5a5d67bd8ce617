"""Which toolchain a source build uses on one machine: GPU architectures, CUDA toolkit, cuDNN, host compiler.

These are the choices that, made carelessly, make a build quietly drop CUDA, target the wrong GPU,
mix two cuDNNs or need a compiler nvcc refuses. Each is made here on purpose, from the `Machine` and
the recipe data, with a reason for it and a problem for each thing that would block the build;
`build.settings.build_settings` (the one source-build decision) asks these functions and turns the
answer into CMake arguments and environment variables. Nothing here runs a build or changes the
machine; it only looks at the file system to check what a saved machine cannot say (does this
toolkit have libcublas.so?), and only when the paths exist here (`is_local`).
"""

from __future__ import annotations

import glob
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path

from gpuready.build import toolkit as tkmod
from gpuready.build.recipes import Recipe, toolkit_for_major, toolkit_wheels
from gpuready.knowledge.cuda import (
    arch_list,
    cc_int,
    cc_str,
    compiler_accepted,
    cuda_mm,
    driver_runs_cuda,
    host_compiler_limit,
    known_archs,
    vtuple,
)
from gpuready.knowledge.package_rows import toolkit_wheels as knowledge_toolkit_wheels
from gpuready.machine import Compiler, CudaToolkit, Cudnn, Machine

# Toolkit origins in the order a deliberate choice outranks an incidental one.
_ORIGIN_RANK = {"CUDA_HOME": 0, "CUDA_PATH": 0, "CUDA_ROOT": 0, "CUDAToolkit_ROOT": 0, "CUDA_TOOLKIT_ROOT_DIR": 0,
                "PATH": 1, "conda": 2, "system": 3, "pip": 4}


class BuildSettingsError(ValueError):
    """Asked for a package no recipe builds, or an unreadable --cuda-arch value."""


def is_local(machine: Machine) -> bool:
    """Is `machine` this machine? Only then may a path in it be looked at here: a saved machine's
    /usr/local/cuda is not this host's /usr/local/cuda (hostnames alone repeat: "vm", "localhost")."""
    if not machine.hostname or machine.hostname != socket.gethostname():
        return False
    if machine.python.executable and not os.path.exists(machine.python.executable):
        return False
    return all(os.path.isdir(tk.root) for tk in machine.toolkits)


# --- architectures -------------------------------------------------------------------------------


def parse_archs(values: list[str] | tuple[str, ...] | str | None) -> list[str]:
    """ "8.6,9.0" / ["86", "sm_90"] -> ["8.6", "9.0"] (sorted, unique). Raises BuildSettingsError."""
    if values is None:
        return []
    if isinstance(values, str):
        values = [values]
    out: set[int] = set()
    for chunk in values:
        for item in re.split(r"[,;\s]+", str(chunk).strip()):
            if not item:
                continue
            m = re.fullmatch(r"(?:sm_|compute_)?(\d{1,3})(?:\.(\d))?[af]?", item.strip().lower())
            if not m:
                raise BuildSettingsError(f"not a CUDA architecture: {item!r} is no compute capability (use 8.6, 86 or sm_86)")
            num = int(m.group(1)) * 10 + int(m.group(2)) if m.group(2) is not None else int(m.group(1))
            if num < 10 and m.group(2) is None:  # "9" -> 9.0
                num *= 10
            known = known_archs()
            if num not in known:
                raise BuildSettingsError(f"{item!r} is not a compute capability any NVIDIA GPU has "
                                         f"(known: {cc_str(min(known))} to {cc_str(max(known))}, e.g. 8.6, 9.0)")
            out.add(num)
    return [cc_str(n) for n in sorted(out)]


def machine_archs(machine: Machine) -> list[str]:
    return sorted({g.compute_capability for g in machine.gpus if g.compute_capability}, key=cc_int)


def format_archs(archs: list[str], style: str, sep: str) -> str:
    if style == "sm":
        return sep.join(str(cc_int(a)) for a in archs)
    return sep.join(archs)


# --- toolkit -------------------------------------------------------------------------------------


@dataclass
class ToolkitChoice:
    source: str  # "system", "conda", "pip-wheels", or "" when none
    root: str = ""
    nvcc: str = ""
    version: str = ""
    lib_dir: str = ""
    pending: bool = False  # pip-wheels: not assembled yet
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def toolkit_lib_dir(root: str) -> str:
    for sub in ("lib64", "lib", os.path.join("lib", "x64"), os.path.join("targets", "x86_64-linux", "lib")):
        if os.path.isdir(os.path.join(root, sub)):
            return os.path.join(root, sub)
    return os.path.join(root, "lib64")


def toolkit_missing_libs(root: str, libs: tuple[str, ...], local: bool = True) -> list[str] | None:
    """The recipe's libraries this toolkit lacks, or None when that can't be looked at here."""
    if not local or not os.path.isdir(root):
        return None
    missing = []
    dirs = [os.path.join(root, d) for d in ("lib64", "lib", os.path.join("lib", "x64"), os.path.join("targets", "x86_64-linux", "lib"))]
    for lib in libs:
        pats = [f"lib{lib}.so*", f"{lib}.lib", f"{lib}64_*.dll"]
        if not any(glob.glob(os.path.join(d, p)) for d in dirs for p in pats):
            missing.append(lib)
    return missing


def _can_target(cuda: str, archs: list[str]) -> list[str]:
    """The archs this toolkit can't build for (empty: all fine, or the data doesn't say)."""
    row = arch_list(cuda)
    if row is None:
        return []
    return [a for a in archs if cc_int(a) not in row.sm]


def pip_toolkit_minors(machine: Machine, major: int) -> list[str]:
    """The CUDA minors of `major` that NVIDIA publishes nvcc wheels for (knowledge: cuda.toml [[toolkit_wheel]]),
    in the order a build should try them: the newest the driver runs natively first, then newer ones oldest
    first (each needs minor-version compatibility; a newer nvcc may accept a newer host compiler)."""
    minors = sorted((w.cuda for w in knowledge_toolkit_wheels() if vtuple(w.cuda)[:1] == (major,)), key=vtuple)
    driver_cuda = machine.driver.cuda_version
    if not minors:
        row = toolkit_for_major(major)
        minors = [row.default_minor] if row else []
    native = [m for m in minors if driver_cuda and vtuple(m) <= vtuple(driver_cuda)]
    return list(reversed(native)) + [m for m in minors if m not in native]


def choose_toolkit(machine: Machine, archs: list[str], recipe: Recipe, prefer: str = "auto", local: bool = True,
                   cuda_major: int | None = None) -> ToolkitChoice:
    """The toolkit a build uses: of CUDA `cuda_major` when a plan shares one between packages, else of any
    major. A system/conda toolkit when one fits (driver runs it, targets every GPU, has the libraries),
    else one assembled from NVIDIA's pip wheels; among those that fit, the first whose nvcc accepts a
    host compiler on this machine (a gcc 14 next to a system nvcc 12.4 gets CUDA 12.8 from pip wheels)."""
    os_name = machine.os.system
    driver = machine.driver.version
    rejected: list[str] = []
    fits: list[ToolkitChoice] = []
    cands = sorted(
        (tk for tk in machine.toolkits if tk.nvcc and tk.origin != "pip"
         and (cuda_major is None or vtuple(tk.version)[:1] == (cuda_major,))),
        key=lambda tk: (_ORIGIN_RANK.get(tk.origin, 3), tuple(-x for x in vtuple(tk.version))),
    )
    if prefer != "pip-wheels":
        for tk in cands:
            why = _toolkit_misfit(tk, machine, archs, recipe, local)
            if why:
                rejected.append(f"CUDA {tk.version or '?'} at {tk.root}: {why}")
                continue
            source = "conda" if tk.origin == "conda" else "system"
            libs = (f"has {', '.join(recipe.toolkit_libs)}" if local
                    else f"should have {', '.join(recipe.toolkit_libs)} (not checked: a saved machine)")
            why_chosen = (f"CUDA toolkit {tk.version} at {tk.root} ({tk.origin}): the driver runs it, it targets "
                          f"{', '.join(archs) or 'the requested GPUs'} and {libs}")
            fits.append(ToolkitChoice(source, tk.root, tk.nvcc, tk.version, toolkit_lib_dir(tk.root), reasons=[why_chosen]))
    pip_ok = prefer not in ("system", "conda") and os_name == "linux"
    if pip_ok:
        majors = [cuda_major] if cuda_major is not None else [row.cuda_major for row in sorted(toolkit_wheels(), key=lambda r: -r.cuda_major)]
        for major in majors:
            if toolkit_for_major(major) is None:
                continue
            for mm in pip_toolkit_minors(machine, major):
                if driver and not driver_runs_cuda(driver, mm, os_name):
                    rejected.append(f"CUDA {mm} from pip wheels: driver {driver} is too old for it")
                    continue
                bad = _can_target(mm, archs)
                if bad:
                    rejected.append(f"CUDA {mm} from pip wheels: it cannot build for {', '.join(bad)}")
                    continue
                fits.append(_pip_choice(mm, recipe, bool(cands)))
    # the first that fits and whose nvcc accepts a compiler here; else the first that fits (its compiler problem is reported)
    accepted = [c for c in fits if _accepts_some_compiler(machine, c.version) is not False]
    chosen = (accepted or fits or [None])[0]
    if chosen is not None:
        skipped = [c for c in fits if c is not chosen and fits.index(c) < fits.index(chosen)]
        chosen.reasons.extend(f"not chosen: CUDA {c.version} ({c.source}) at {c.root}: nvcc {cuda_mm(c.version)} accepts no host "
                              "compiler on this machine" for c in skipped)
        chosen.reasons.extend(f"not chosen: {r}" for r in rejected)
        return chosen
    problems: list[str] = []
    what = f"CUDA {cuda_major}" if cuda_major is not None else "CUDA"
    if prefer in ("system", "conda"):
        problems.append(f"no system or conda {what} toolkit fits: " + ("; ".join(rejected) or "none found"))
    elif os_name != "linux":
        problems.append(f"no {what} toolkit fits and a toolkit from pip wheels is assembled on Linux only; install the CUDA toolkit"
                        + (f" ({'; '.join(rejected)})" if rejected else ""))
    elif driver:
        problems.append(f"no {what} toolkit (system or from pip wheels) both runs on driver {driver} and builds for "
                        f"{', '.join(archs) or 'the requested GPUs'}" + (f" ({'; '.join(rejected)})" if rejected else ""))
    else:
        problems.append(f"no {what} toolkit from pip wheels builds for {', '.join(archs)}")
    return ToolkitChoice("", reasons=[f"not chosen: {r}" for r in rejected], problems=problems)


def _pip_choice(mm: str, recipe: Recipe, machine_has_toolkits: bool) -> ToolkitChoice:
    root = tkmod.toolkit_root(mm)
    assembled = tkmod.load(root)
    pending = assembled is None or not tkmod.has_extras(assembled, recipe.toolkit_extras)
    why = "no toolkit of this machine fits (see below)" if machine_has_toolkits else "no CUDA toolkit with nvcc on this machine"
    reason = (f"CUDA {mm} from NVIDIA's pip wheels in {root} ({why}); "
              + ("to be assembled before the build (needs the wheels: network or --offline DIR)" if pending else "already assembled"))
    return ToolkitChoice("pip-wheels", str(root), str(root / "bin" / "nvcc"),
                         assembled.version if assembled and not pending else mm, str(root / "lib64"), pending=pending,
                         reasons=[reason])


def _accepts_some_compiler(machine: Machine, cuda: str) -> bool | None:
    """Does nvcc `cuda` accept at least one host compiler of this machine? None when the data has no limits."""
    kinds = ("msvc",) if machine.os.system == "windows" else ("gcc", "clang")
    verdicts = [compiler_accepted(c, cuda) for c in machine.compilers if c.kind in kinds]
    if any(v is True for v in verdicts):
        return True
    if verdicts and all(v is False for v in verdicts):
        return False
    return None


def _toolkit_misfit(tk: CudaToolkit, machine: Machine, archs: list[str], recipe: Recipe, local: bool) -> str:
    if not tk.version:
        return "version unknown"
    if machine.driver.version and not driver_runs_cuda(machine.driver.version, tk.version, machine.os.system):
        return f"driver {machine.driver.version} is too old for it"
    bad = _can_target(tk.version, archs)
    if bad:
        return f"it cannot build for {', '.join(bad)}"
    missing = toolkit_missing_libs(tk.root, recipe.toolkit_libs, local)
    if missing:
        return f"it has no {', '.join('lib' + m for m in missing)}"
    return ""


# --- cuDNN ---------------------------------------------------------------------------------------


@dataclass
class CudnnChoice:
    origin: str = ""  # "pip", "system", "toolkit", "conda", "pip-wheels"
    version: str = ""
    root: str = ""
    include_dir: str = ""
    library: str = ""  # the library file (libcudnn.so.9)
    library_dir: str = ""
    link: str = ""  # libcudnn.so to create (recipes that need the unversioned name)
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _cudnn_include_dir(c: Cudnn, local: bool) -> str:
    """The folder holding cudnn.h for this cuDNN (Debian's cudnn_version_v9.h sits in the triplet
    folder while cudnn.h is linked into /usr/include by alternatives)."""
    if not c.header:
        return ""
    d = os.path.dirname(c.header)
    if local and os.path.isfile(os.path.join(d, "cudnn.h")):
        return d
    if re.fullmatch(r"cudnn(?:_version)?_v\d+\.h", os.path.basename(c.header)):
        parent = os.path.dirname(d)
        if not local or os.path.isfile(os.path.join(parent, "cudnn.h")):
            return parent
    return d


def _cudnn_root(c: Cudnn, include_dir: str) -> str:
    if c.origin == "pip":
        return os.path.dirname(include_dir)
    if include_dir.startswith("/usr/include"):
        return "/usr"
    return os.path.dirname(include_dir)


def _pip_cudnn_cuda_major(c: Cudnn, local: bool) -> int | None:
    """For a pip cuDNN: the CUDA major of the wheel (nvidia_cudnn_cu13-*.dist-info), None when unknown."""
    sp = c.library.split(os.sep + "nvidia" + os.sep)[0] if os.sep + "nvidia" + os.sep in c.library else ""
    if not local or not sp or not os.path.isdir(sp):
        return None
    for d in glob.glob(os.path.join(sp, "nvidia_cudnn_cu*.dist-info")):
        m = re.search(r"nvidia_cudnn_cu(\d+)-", os.path.basename(d))
        if m:
            return int(m.group(1))
    return None


def choose_cudnn(machine: Machine, tk: ToolkitChoice, recipe: Recipe, local: bool = True) -> CudnnChoice:
    """One cuDNN, header and library from the same copy.

    Preference: the cuDNN in the target environment's site-packages (the copy torch & co. load, so
    one process gets one cuDNN), then a system/toolkit/conda copy, then the cuDNN wheel of a
    pip-wheel toolkit. Each copy must match the toolkit's CUDA major where that can be told.
    """
    want_major = vtuple(tk.version)[:1]
    ok: list[tuple[int, Cudnn]] = []
    notes: list[str] = []
    for c in machine.cudnns:
        if not c.header or not c.library:
            notes.append(f"cuDNN {c.version or '?'} ({c.origin}) lacks {'its header' if not c.header else 'its library'}")
            continue
        if vtuple(c.version) < vtuple(recipe.cudnn_min):
            notes.append(f"cuDNN {c.version} ({c.origin}) is older than {recipe.cudnn_min}")
            continue
        if c.origin == "pip":
            major = _pip_cudnn_cuda_major(c, local)
            if major is not None and want_major and major != want_major[0]:
                notes.append(f"cuDNN {c.version} (pip) is built for CUDA {major}, the toolkit is CUDA {tk.version}")
                continue
        rank = {"pip": 0, "CUDNN_PATH": 1, "CUDNN_HOME": 1, "CUDNN_ROOT": 1, "CUDNN_ROOT_DIR": 1,
                "system": 2, "toolkit": 2, "conda": 3}.get(c.origin, 4)
        ok.append((rank, c))
    if ok:
        ok.sort(key=lambda rc: (rc[0], tuple(-x for x in vtuple(rc[1].version))))
        c = ok[0][1]
        inc = _cudnn_include_dir(c, local)
        libdir = os.path.dirname(c.library)
        choice = CudnnChoice(
            origin=c.origin, version=c.version, root=_cudnn_root(c, inc), include_dir=inc,
            library=c.library, library_dir=libdir,
        )
        others = [f"{o.version} ({o.origin})" for _, o in ok[1:]]
        why = "the copy in this environment's site-packages, the one frameworks load" if c.origin == "pip" else f"{c.origin} copy"
        choice.reasons.append(f"cuDNN {c.version} from {inc} and {c.library}: {why}"
                              + (f"; header and library both from this copy, not from {', '.join(others)}" if others else ""))
        _cudnn_library_checks(choice, recipe, local)
        choice.reasons.extend(f"not chosen: {n}" for n in notes)
        return choice
    if tk.source == "pip-wheels":
        root = tkmod.cudnn_root_for(Path(tk.root))
        spec = toolkit_for_major(want_major[0]) if want_major else None
        assembled = tkmod.load(Path(tk.root))
        choice = CudnnChoice(
            origin="pip-wheels", version=(assembled.cudnn_version if assembled and assembled.cudnn_version else "9"), root=str(root), include_dir=str(root / "include"),
            library=str(root / "lib" / "libcudnn.so.9"), library_dir=str(root / "lib"),
            link=str(root / "lib" / "libcudnn.so") if recipe.cudnn_link else "",
        )
        choice.reasons.append(f"cuDNN from the {spec.cudnn_wheel if spec else 'nvidia-cudnn'} wheel of the assembled toolkit ({root})")
        choice.reasons.extend(f"not chosen: {n}" for n in notes)
        return choice
    choice = CudnnChoice()
    fix = (f"install nvidia-cudnn-cu{want_major[0]} into this environment, or the system cuDNN package"
           if want_major and want_major[0] >= 11 else f"install a cuDNN >= {recipe.cudnn_min} for CUDA {tk.version or '?'}")
    choice.problems.append("no usable cuDNN (header + library, >= " + recipe.cudnn_min + ")"
                           + (": " + "; ".join(notes) if notes else "") + "; " + fix)
    return choice


def _cudnn_library_checks(choice: CudnnChoice, recipe: Recipe, local: bool) -> None:
    if not recipe.cudnn_link:
        return
    plain = os.path.join(choice.library_dir, "libcudnn.so")
    if local and os.path.exists(plain):
        return
    if choice.origin == "pip":
        choice.link = plain
        choice.reasons.append(f"the cuDNN wheel ships only {os.path.basename(choice.library)}: the link {plain} is "
                              "created before the build, inside the wheel's own folder so the module finds cuDNN at import")
    elif local and os.path.isdir(choice.library_dir):
        choice.problems.append(f"{choice.library_dir} has no libcudnn.so (only {os.path.basename(choice.library)}): "
                               "install the cuDNN development package (libcudnn9-dev-cuda-NN), or nvidia-cudnn-cuNN into this environment")


# --- host compiler -------------------------------------------------------------------------------


@dataclass
class CompilerChoice:
    compiler: Compiler | None = None
    cc: str = ""
    cxx: str = ""
    ok: bool = False
    reasons: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def c_driver_for(cxx: str) -> str:
    """ "/usr/bin/g++" -> "/usr/bin/gcc", "g++-12" -> "gcc-12", "clang++-17" -> "clang-17", "c++" -> "cc"."""
    d, name = os.path.split(cxx)
    for cpp, c in (("g++", "gcc"), ("clang++", "clang"), ("c++", "cc")):
        if name.startswith(cpp):
            return os.path.join(d, c + name[len(cpp):])
    return cxx


def choose_compiler(machine: Machine, cuda: str) -> CompilerChoice:
    """The host compiler, chosen on purpose: one nvcc accepts, the distribution's own (/usr/bin)
    before any other toolchain (a second toolchain in /opt/gcc built modules that crash next to
    numpy on the test machine), the newest such."""
    windows = machine.os.system == "windows"
    kinds = ("msvc",) if windows else ("gcc", "clang")
    cands = [c for c in machine.compilers if c.kind in kinds]
    if not cands:
        what = "Visual Studio (MSVC)" if windows else "a C++ compiler (g++)"
        return CompilerChoice(problems=[f"no {what} found: install one ({'build-essential' if not windows else 'VS Build Tools'})"])
    lim = host_compiler_limit(cuda) if cuda else None

    def rank(c: Compiler) -> tuple:
        accepted = compiler_accepted(c, cuda) if cuda else None
        distro = c.path.startswith("/usr/bin/")
        return (0 if accepted is not False else 1, 0 if (distro or windows) else 1, 0 if c.kind == kinds[0] else 1,
                tuple(-x for x in vtuple(c.version)))

    cands.sort(key=rank)
    best = cands[0]
    accepted = compiler_accepted(best, cuda) if cuda else None
    cxx = best.path or ("cl" if windows else "g++")
    choice = CompilerChoice(compiler=best, cxx=cxx, cc=cxx if windows else c_driver_for(cxx))
    if accepted is False:
        limit = (f"gcc <= {lim.gcc_max}" if best.kind == "gcc" and lim and lim.gcc_max else
                 f"clang <= {lim.clang_max}" if best.kind == "clang" and lim and lim.clang_max else
                 f"Visual Studio {lim.visual_studio}" if lim else "another version")
        choice.problems.append(f"nvcc {cuda_mm(cuda)} refuses {best.kind} {best.version} ({cxx}); it accepts {limit}: "
                               f"install one and rerun (it is then picked up), or use a newer CUDA toolkit")
        return choice
    choice.ok = True
    if accepted is None:
        choice.reasons.append(f"host compiler {best.kind} {best.version} ({cxx}); the data has no host-compiler limit for CUDA {cuda_mm(cuda) or '?'}")
    else:
        choice.reasons.append(f"host compiler {best.kind} {best.version} ({cxx}): nvcc {cuda_mm(cuda)} accepts it")
    others = [c for c in cands[1:] if c.path != best.path]
    if others:
        choice.reasons.append("not chosen: " + ", ".join(f"{c.kind} {c.version} ({c.path})" for c in others))
    return choice
