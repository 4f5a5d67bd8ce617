"""Checks on a built wheel before it is called a success: the binary, then an import.

A build can finish, print "DLIB WILL USE CUDA", and still produce a module that crashes next to
numpy (libstdc++ linked statically by a second toolchain) or lacks cuDNN. So the extension
module's NEEDED entries are read (libstdc++.so.6, libcudnn.so.N, libcublas.so.N), and the wheel is
imported in a child process of the target Python, numpy first, asking the module itself whether
it was built with CUDA and how many GPUs it sees. A crash is reported as a crash.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from gpuready.build.recipes import Recipe
from gpuready.elf import NotELF, fatbin_archs, parse_elf
from gpuready.proc import MARK, parse_marked_json, run_python


@dataclass
class WheelCheck:
    module: str = ""
    needed: list[str] = field(default_factory=list)
    runpath: list[str] = field(default_factory=list)
    imported: bool | None = None
    cuda_build: bool | None = None
    devices: int | None = None
    report: dict = field(default_factory=dict)
    crash: str = ""
    problems: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # the cause label of each problem (taxonomy)
    gpu_code: list[str] = field(default_factory=list)  # GPU code read from the modules' .nv_fatbin (static check)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return dict(self.__dict__)

    def fail(self, label: str, message: str) -> None:
        self.labels.append(label)
        self.problems.append(message)


def unpack_wheel(wheel: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(dest)
        for info in zf.infolist():  # keep the execute bits (zipfile drops them)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                os.chmod(dest / info.filename, mode)
    return dest


def missing_libraries(name: str, needed: Sequence[str], prefixes: Sequence[str]) -> list[tuple[str, str]]:
    """(cause label, problem) for each library prefix ("libstdc++.so.6", "libcudnn.so.") the module `name`
    does not need: no libstdc++ means it was linked statically, no cuDNN/cuBLAS that CUDA is not really in it."""
    out = []
    for prefix in prefixes:
        if any(n.startswith(prefix) for n in needed):
            continue
        if prefix.startswith("libstdc++"):
            out.append(("env_mismatch", (
                f"{name} does not need {prefix}: libstdc++ was linked statically (a second toolchain such as "
                "/opt/gcc); such modules crash next to numpy/torch. Rebuild with the system g++")))
        else:
            out.append(("cpu_only_build", f"{name} does not link {prefix}* (NEEDED: {', '.join(needed) or 'none'}): CUDA is not really in it"))
    return out


def check_module(path: str | Path, needed_prefixes: Sequence[str]) -> list[str]:
    """The problems of one built extension module's NEEDED entries (or why it cannot be read)."""
    try:
        info = parse_elf(path, scan_markers=False)
    except (NotELF, OSError) as exc:
        return [str(exc)]
    return [problem for _label, problem in missing_libraries(Path(path).name, info.needed, needed_prefixes)]


def check_wheel(
    wheel: Path, recipe: Recipe, work: Path, *, python: str | None, expect_gpu: bool, do_import: bool = True,
    timeout: float = 180.0, site: str | None = None, static_archs: tuple[str, ...] = (),
) -> WheelCheck:
    """`site`: the target environment's site-packages; its nvidia/ folder is linked next to the
    unpacked wheel so `$ORIGIN/nvidia/...` RUNPATH entries resolve as they will once installed.

    `static_archs` ("8.0", ...): a build for GPUs this machine does not have. No GPU run can prove
    it, so the modules' own GPU code is read (.nv_fatbin) and must hold SASS for each of them."""
    out = WheelCheck()
    tree = unpack_wheel(wheel, work / "check")
    if site and (Path(site) / "nvidia").is_dir() and not (tree / "nvidia").exists():
        try:
            os.symlink(Path(site) / "nvidia", tree / "nvidia")
        except OSError:
            pass
    mods = sorted(p for p in tree.rglob(recipe.binary_glob) if p.is_file())
    if not mods:
        out.fail("other", f"the wheel has no {recipe.binary_glob} module")
        return out
    mod = mods[0]
    out.module = str(mod.relative_to(tree))
    if mod.suffix == ".so" or ".so" in mod.name:
        readable = False
        try:
            info = parse_elf(mod, scan_markers=False)
            out.needed, out.runpath = list(info.needed), list(info.runpath)
            readable = True
        except (OSError, ValueError) as exc:
            out.fail("other", f"cannot read {mod.name}: {exc}")
        if readable:
            for label, problem in missing_libraries(mod.name, out.needed, recipe.needed_libs):
                out.fail(label, problem)
    if static_archs:
        _check_gpu_code(out, tree, static_archs)
    if not do_import:
        return out
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree)] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    res = run_python(f"MARK = {MARK!r}\n" + recipe.verify_code, python=python, timeout=timeout, env=env)
    data = parse_marked_json(res.stdout)
    if res.signal:
        out.imported = False
        out.crash = res.signal
        static = any("libstdc++" in p for p in out.problems)
        out.fail("env_mismatch" if static else "other",
                 f"importing the built {recipe.import_name} (after numpy) crashed with {res.signal}: {res.tail(3)}")
        return out
    if res.timed_out:
        out.imported = False
        out.fail("other", f"importing the built {recipe.import_name} hung for {timeout:.0f} s")
        return out
    if not data:
        out.imported = False
        out.fail("runtime_lib_missing" if "cannot open shared object" in res.output or "DLL load failed" in res.output else "other",
                 f"importing the built {recipe.import_name} failed: {res.tail(4) or res.start_error}")
        return out
    out.imported = True
    out.report = data
    out.cuda_build = bool(data.get("cuda_build"))
    out.devices = int(data.get("devices") or 0)
    if not out.cuda_build:
        out.fail("cpu_only_build", f"the built {recipe.import_name} says it was built without CUDA")
    elif expect_gpu and out.devices < 1:
        err = data.get("device_error") or data.get("dnn_error") or ""
        out.fail("driver_too_old" if "insufficient" in err else "other",
                 f"the built {recipe.import_name} has CUDA but sees no GPU here" + (f": {err}" if err else ""))
    elif recipe.name == "opencv" and expect_gpu and not data.get("dnn_cuda_targets"):
        out.fail("cpu_only_build", "cv2.dnn lists no CUDA targets: the dnn CUDA backend is missing")
    return out


def _check_gpu_code(out: WheelCheck, tree: Path, archs: tuple[str, ...]) -> None:
    """Every requested architecture has SASS in some module of the wheel (read, not run)."""
    found: set[str] = set()
    for path in sorted(tree.rglob("*.so*")):
        if not path.is_file() or path.is_symlink():
            continue
        try:
            found.update(fatbin_archs(path))
        except (OSError, NotELF):
            continue
    out.gpu_code = sorted(found)
    if not found:
        out.fail("cpu_only_build", "no module in the wheel carries GPU code (no .nv_fatbin section): CUDA is not really in it")
        return
    want = {a: "sm_" + a.replace(".", "") for a in archs}
    missing = [a for a, sm in want.items() if sm not in found]
    if missing:
        out.fail("build_arch_unsupported", f"the wheel's GPU code is {', '.join(sorted(found))}: nothing for "
                                           f"{', '.join(missing)} (asked for with --cuda-arch)")
