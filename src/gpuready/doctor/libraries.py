"""What each framework really loaded: a cuDNN/cuBLAS other than the one it was built for, or than its neighbours.

The probe lists the CUDA libraries each framework child mapped after a real operation, each with
the loader rule that picked it (probe/libraries.py). Two copies of cuDNN on disk are harmless; a
framework that loads the wrong one is not, and neither are two frameworks of one environment that
load different ones (in one program, whichever is imported first decides for both: a process has
one libcudnn.so.9). The fix follows the rule: LD_LIBRARY_PATH is edited, a missing wheel installed, and a
copy that fits but is not reached is named (installing it again would change nothing). With LD_LIBRARY_PATH
putting another copy first while one that fits is installed, the label is shadowed_install, as verify and
explain call torch's own message for it.
"""

from __future__ import annotations

import os

from gpuready.findings import Finding
from gpuready.knowledge.cuda import vtuple
from gpuready.knowledge.frameworks import display
from gpuready.machine import Framework, LoadedLibrary, Machine

WATCHED = {"cudnn": "cuDNN", "cublas": "cuBLAS"}


def loaded_lines(fw: Framework) -> tuple[str, ...]:
    """Evidence lines: "loads cuDNN 9.19.0 from PATH (RUNPATH ... of torch/lib/libtorch_cuda.so)"."""
    return tuple(f"loads {lib.name} {lib.version or '?'} from {lib.path} ({lib.rule_detail or lib.rule})" for lib in fw.loaded)


def _lib(fw: Framework, name: str) -> LoadedLibrary | None:
    return next((lib for lib in fw.loaded if lib.name == name), None)


def built_for(fw: Framework, name: str) -> str:
    """The cuDNN/cuBLAS version the framework was compiled against, when it says."""
    if name == "cudnn":
        if fw.built_cudnn:
            return fw.built_cudnn
        if fw.name in ("tensorflow", "onnxruntime", "cv2"):  # their cudnn_version is the build's
            return fw.cudnn_version
        return ""
    return fw.built_cublas if name == "cublas" else ""


def incompatible(built: str, loaded: str) -> str:
    """Why a runtime of version `loaded` cannot serve a build for `built` ("" when it can).

    cuDNN's rule (torch and JAX check it at start): the same major, and a minor at least the build's.
    A build that names only its major ("9") is checked on the major.
    """
    b, l = vtuple(built), vtuple(loaded)
    if not b or not l:
        return ""
    if b[0] != l[0]:
        return f"another major ({loaded} vs {built}): a different ABI"
    if len(b) > 1 and len(l) > 1 and l[1] < b[1]:
        return f"an older minor ({loaded} < {built})"
    return ""


def _cuda_major(m: Machine, fw: Framework) -> str:
    return (fw.cuda_version or m.driver.cuda_version or "12").split(".")[0]


def fitting_copy(m: Machine, lib: LoadedLibrary, want: str) -> str:
    """The folder of a copy on this machine that would serve a build for `want` ("" when none is known)."""
    if lib.name != "cudnn":
        return ""
    here = os.path.dirname(lib.path)
    for copy in m.cudnns:
        folder = os.path.dirname(copy.library)
        if copy.library and copy.version and folder != here and not incompatible(want, copy.version):
            return folder
    return ""


def _label_for(m: Machine, lib: LoadedLibrary, want: str) -> str:
    """One label for one fact: a copy that fits is installed, and an environment variable's search order put
    another one first -> shadowed_install (what verify and explain call torch's "conflicting cuDNN in
    LD_LIBRARY_PATH"); otherwise the loaded copy is simply not the one the build needs."""
    if lib.rule in ("LD_LIBRARY_PATH", "PATH") and fitting_copy(m, lib, want):
        return "shadowed_install"
    return "library_version_mismatch"


def _fix_for(m: Machine, fw: Framework, lib: LoadedLibrary, want: str) -> str:
    folder = os.path.dirname(lib.path)
    wheel = "nvidia-cudnn-cu" if lib.name == "cudnn" else "nvidia-cublas-cu"
    pip = f"`{m.python.executable or 'python'} -m pip install -U '{wheel}{_cuda_major(m, fw)}>={want}'`"
    fits = fitting_copy(m, lib, want)
    if fits and lib.rule not in ("LD_LIBRARY_PATH", "PATH", "RUNPATH", "wheel"):
        # the copy it needs is installed, but its search never reaches it (a wheel installed with --target or
        # outside the environment whose nvidia/ folder its $ORIGIN RUNPATH names): installing it again changes nothing
        return (
            f"A cuDNN that fits is already installed in {fits}, but {display(fw.name)} ({fw.module_file or fw.name}) does not "
            f"reach it: its RUNPATH does not lead there, so the loader falls back to {folder}. Install {fw.dist or display(fw.name)} "
            f"into the environment that holds that copy (a wheel's `$ORIGIN/../../nvidia/cudnn/lib` RUNPATH is read from its own "
            f"site-packages), or start it with `LD_LIBRARY_PATH={fits}`."
        )
    if lib.rule in ("LD_LIBRARY_PATH", "PATH"):
        var = lib.rule
        return (
            f"Take {folder} off {var} (it is searched before the framework's own RUNPATH, so it wins): remove it where {var} is set "
            f"(~/.bashrc, the module system, the job script); the framework then loads the copy its wheel brought."
        )
    if lib.rule in ("RUNPATH", "wheel"):
        return f"The wheel's own copy is too old for this {display(fw.name)}: {pip}."
    return f"Install the copy it was built for, which it finds before the system one: {pip}."


def check_built_for(m: Machine) -> list[Finding]:
    out: list[Finding] = []
    for fw in m.frameworks:
        for name, word in WATCHED.items():
            lib = _lib(fw, name)
            want = built_for(fw, name)
            if lib is None or not want or not lib.version:
                continue
            why = incompatible(want, lib.version)
            if not why:
                continue
            subject = f"{display(fw.name)} {fw.version}".strip()
            out.append(
                Finding(
                    _label_for(m, lib, want),
                    "error",
                    subject,
                    f"{subject} was built for {word} {want} but loads {word} {lib.version}, {why}, from {lib.path}: "
                    f"picked by {lib.rule_detail or lib.rule}.",
                    evidence=(f"built for {word} {want}", f"loaded {lib.path} ({lib.version})", f"rule: {lib.rule_detail or lib.rule}"),
                    fix=_fix_for(m, fw, lib, want),
                )
            )
    return out


def check_neighbours(m: Machine) -> list[Finding]:
    """Frameworks of one environment loading different copies (and versions) of cuDNN or cuBLAS."""
    out: list[Finding] = []
    for name, word in WATCHED.items():
        users = [(fw, lib) for fw in m.frameworks for lib in fw.loaded if lib.name == name and lib.version]
        versions = {lib.version for _, lib in users}
        if len(versions) < 2:
            continue
        by_version = sorted(users, key=lambda p: vtuple(p[1].version))
        newest = by_version[-1][1]
        evidence = tuple(f"{display(fw.name)} loads {word} {lib.version} from {lib.path} ({lib.rule_detail or lib.rule})" for fw, lib in users)
        via_env = [lib for _, lib in users if lib.rule in ("LD_LIBRARY_PATH", "PATH")]
        if via_env:
            fix = (
                f"Take {os.path.dirname(via_env[0].path)} off {via_env[0].rule}: each framework then loads the copy its wheel "
                "brought; or put one copy first for all of them."
            )
        else:
            fix = (
                f"Make them share one {word}: `{m.python.executable or 'python'} -m pip install -U "
                f"'{'nvidia-cudnn-cu' if name == 'cudnn' else 'nvidia-cublas-cu'}{(m.driver.cuda_version or '12').split('.')[0]}'` "
                f"(the newest, {newest.version}, serves older builds of the same major); in one program import the framework "
                f"that loads {newest.version} first."
            )
        out.append(
            Finding(
                "shadowed_install",
                "warning",
                word,
                f"The frameworks of this environment load different {word} copies ({', '.join(sorted(versions, key=vtuple))}): "
                f"in one program the one imported first decides for all (a process holds one {word}), so the others run on "
                "a copy they were not tested with.",
                evidence=evidence,
                fix=fix,
            )
        )
    return out


def check_pathfinder(m: Machine) -> list[Finding]:
    """cuda-pathfinder (CuPy >= 14, cuda-python, numba-cuda) would pick another cuDNN/cuBLAS than a framework loads."""
    out: list[Finding] = []
    seen: set[tuple[str, str, str]] = set()
    for fw in m.frameworks:
        for pick in fw.would_load:
            lib = _lib(fw, pick.name)
            if pick.name not in WATCHED or lib is None or not pick.version or not lib.version:
                continue
            if pick.version == lib.version or os.path.realpath(pick.path) == os.path.realpath(lib.path):
                continue
            key = (pick.name, lib.path, pick.path)
            if key in seen:
                continue
            seen.add(key)
            word = WATCHED[pick.name]
            out.append(
                Finding(
                    "",
                    "info",
                    word,
                    f"{display(fw.name)} loads {word} {lib.version} from {lib.path}; code that searches like NVIDIA's own "
                    f"libraries (cuda-pathfinder: CuPy 14, cuda-python, numba-cuda) would load {pick.version} from {pick.path}.",
                    evidence=(f"{fw.name}: {lib.rule_detail or lib.rule}", pick.rule_detail),
                )
            )
    return out


def check_loaded(m: Machine) -> list[Finding]:
    return check_built_for(m) + check_neighbours(m) + check_pathfinder(m)
