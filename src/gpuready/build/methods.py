"""The two ways a recipe builds: `pip wheel` on an sdist, or CMake on a source tree.

pip-wheel: the package's own build (dlib's setup.py, opencv-python's scikit-build) with the
recipe's environment; verbose, so the CMake output lands in the log the reader checks.
cmake-tree: configure, build and install with CMake directly (a trimmed OpenCV tree has no
setup.py), then pack the installed Python package into a wheel.
Both get an environment built here: the chosen nvcc's folder and the target Python's bin folder
first on PATH (its cmake and ninja), Ninja as generator when there is one (N/M progress), and
pip told never to prompt.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gpuready.build import wheelfile
from gpuready.build.logread import LogReader
from gpuready.build.recipes import Recipe
from gpuready.build.runner import ProgressView, log_line, run_step
from gpuready.proc import IS_WINDOWS, MARK, Result, parse_marked_json, run_python, which

_FACTS_CODE = r"""
import importlib.util, json, os, sys, sysconfig
d = {"executable": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3],
     "impl": sys.implementation.name, "platform": sysconfig.get_platform().replace("-", "_").replace(".", "_"),
     "include": sysconfig.get_paths().get("include", ""), "bindir": os.path.dirname(sys.executable),
     "platlib": sysconfig.get_paths().get("platlib", "")}
libdir, ldlib = sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or ""
lib = os.path.join(libdir, ldlib) if libdir and ldlib else ""
d["library"] = lib if lib and os.path.exists(lib) else ""
d["modules"] = {m: importlib.util.find_spec(m) is not None for m in sys.argv[1:]}
try:
    import setuptools
    d["setuptools"] = setuptools.__version__
except Exception:
    d["setuptools"] = ""
try:
    import numpy
    d["numpy_include"] = numpy.get_include()
except Exception:
    d["numpy_include"] = ""
print(MARK + json.dumps(d))
"""


@dataclass
class PythonFacts:
    executable: str
    version: str = ""
    impl: str = "cpython"
    platform: str = ""
    include: str = ""
    library: str = ""
    bindir: str = ""
    numpy_include: str = ""
    setuptools: str = ""
    modules: dict = field(default_factory=dict)
    platlib: str = ""  # the site-packages a wheel installs into
    error: str = ""

    @property
    def tag(self) -> str:
        parts = self.version.split(".")
        return f"cp{parts[0]}{parts[1]}" if len(parts) >= 2 and self.impl == "cpython" else ""

    def context(self) -> dict[str, str]:
        return {"python": self.executable, "python_include": self.include, "python_library": self.library,
                "numpy_include": self.numpy_include}


def python_facts(python: str | None, modules: tuple[str, ...] = ()) -> PythonFacts:
    """The target interpreter's headers, library, platform and installed build modules (child process)."""
    exe = python or sys.executable
    res = run_python(f"MARK = {MARK!r}\n" + _FACTS_CODE, python=exe, timeout=60, args=list(modules))
    data = parse_marked_json(res.stdout)
    if not data:
        return PythonFacts(executable=exe, error=res.tail(4) or res.start_error or "no answer")
    return PythonFacts(**{k: v for k, v in data.items() if k in PythonFacts.__dataclass_fields__})


def can_skip_isolation(recipe: Recipe, facts: PythonFacts, env_path: str) -> tuple[bool, str]:
    """Can `pip wheel --no-build-isolation` work (offline-safe, uses the chosen cmake)? And why not."""
    missing = [m for m in recipe.build_modules if not facts.modules.get(m)]
    st = tuple(int(x) for x in facts.setuptools.split(".")[:2] if x.isdigit()) if facts.setuptools else ()
    if st and st < (70, 1) and not facts.modules.get("wheel"):
        missing.append("wheel (setuptools < 70.1 needs it for bdist_wheel)")
    if not which("cmake", env_path):
        missing.append("cmake")
    if missing:
        return False, "build isolation on (pip fetches the build requirements): the target Python lacks " + ", ".join(missing)
    return True, "no build isolation: the target Python has " + ", ".join(recipe.build_modules) + " and cmake (works offline)"


def build_env(settings: dict, facts: PythonFacts, *, generator: bool = True) -> tuple[dict[str, str], list[str]]:
    """The environment for a build step, and notes on what was set beyond the recipe's settings."""
    env = dict(os.environ)
    notes: list[str] = []
    # An inherited compiler or CMake setting would fight the recipe's explicit choice.
    for var in ("CMAKE_ARGS", "CUDAARCHS", "CMAKE_CUDA_ARCHITECTURES", "CUDNN_INCLUDE_DIR", "CUDNN_LIBRARY", "CUDNN_ROOT"):
        if var in env and var not in settings["env"]:
            notes.append(f"unset inherited {var}={env.pop(var)}")
    env.update(settings["env"])
    front = [p for p in (os.path.dirname(settings.get("nvcc") or ""), facts.bindir) if p]
    env["PATH"] = os.pathsep.join(front + [env.get("PATH", "")])
    env["PIP_NO_INPUT"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PYTHONUNBUFFERED"] = "1"
    if generator and not IS_WINDOWS and "CMAKE_GENERATOR" not in os.environ:
        ninja = which("ninja", env["PATH"])
        if ninja:
            env["CMAKE_GENERATOR"] = "Ninja"
            notes.append(f"CMAKE_GENERATOR=Ninja ({ninja})")
    return env, notes


@dataclass
class MethodResult:
    ok: bool
    wheel: Path | None = None
    steps: list[tuple[str, Result]] = field(default_factory=list)  # (step name, how it went)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_pip_wheel(
    recipe: Recipe, settings: dict, source: Path, facts: PythonFacts, work: Path, log: Path, reader: LogReader,
    view: ProgressView | None, *, isolation: bool | None, pip_args: tuple[str, ...], timeout: float | None,
) -> MethodResult:
    env, notes = build_env(settings, facts)
    out = work / "wheelhouse"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    if isolation is None:
        skip, why = can_skip_isolation(recipe, facts, env["PATH"])
        isolation = not skip
        notes.append(why)
    argv = [facts.executable, "-m", "pip", "wheel", "--no-deps", "--no-cache-dir", "-v", "-w", str(out)]
    if not isolation:
        argv.append("--no-build-isolation")
    argv += [*pip_args, str(source)]
    for n in notes:
        log_line(log, n)
    step = run_step("build", argv, log=log, reader=reader, env=env, cwd=work, timeout=timeout, view=view)
    res = MethodResult(ok=step.ok, steps=[("build", step)], notes=notes)
    if not step.ok:
        res.problems.append(_step_failure("build", step))
        return res
    wheels = sorted(out.glob("*.whl"))
    if not wheels:
        res.ok = False
        res.problems.append(f"pip wheel succeeded but left no wheel in {out}")
        return res
    res.wheel = wheels[0]
    return res


def run_cmake_tree(
    recipe: Recipe, settings: dict, root: Path, facts: PythonFacts, work: Path, log: Path, reader: LogReader,
    view: ProgressView | None, *, timeout: float | None, version: str,
) -> MethodResult:
    env, notes = build_env(settings, facts)
    for n in notes:
        log_line(log, n)
    cmake = which("cmake", env["PATH"]) or "cmake"
    src = root / "opencv" if (root / "opencv" / "CMakeLists.txt").is_file() else root
    build, stage = work / "build", work / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    configure = [cmake, "-S", str(src), "-B", str(build), f"-DCMAKE_INSTALL_PREFIX={stage}", *settings["cmake_args"]]
    res = MethodResult(ok=False, notes=notes)
    steps = [
        ("configure", configure),
        ("compile", [cmake, "--build", str(build), "--parallel", str(settings["jobs"])]),
        ("install", [cmake, "--install", str(build)]),
    ]
    for name, argv in steps:
        step = run_step(name, argv, log=log, reader=reader, env=env, cwd=work, timeout=timeout, view=view)
        res.steps.append((name, step))
        if not step.ok:
            res.problems.append(_step_failure(name, step))
            return res
        if name == "configure":
            v = reader.verdict(finished=False)
            if v.cuda_enabled is not True:
                # Don't spend an hour compiling a CPU-only OpenCV.
                res.problems.append("configure did not enable CUDA: " + (v.missing_piece or "the summary lacks NVIDIA CUDA: YES"))
                return res
    if view:
        view.step("wheel")
    wheel, problems = assemble_cv2_wheel(recipe, settings, stage, work, facts, version)
    res.problems.extend(problems)
    res.wheel = wheel
    res.ok = wheel is not None and not problems
    log_line(log, f"assembled {wheel}" if wheel else "wheel assembly failed: " + "; ".join(problems))
    return res


def assemble_cv2_wheel(
    recipe: Recipe, settings: dict, stage: Path, work: Path, facts: PythonFacts, version: str,
) -> tuple[Path | None, list[str]]:
    """Pack `cmake --install` output (stage/python/cv2) into a platform wheel named like the sdist's."""
    pkg = stage / "python" / "cv2"
    if not (pkg / "__init__.py").is_file():
        found = sorted(stage.rglob("cv2/__init__.py"))
        if not found:
            return None, [f"no cv2 package under {stage} after install (was python3 built? see 'To be built')"]
        pkg = found[0].parent
    tree = work / "wheeltree"
    shutil.rmtree(tree, ignore_errors=True)
    shutil.copytree(pkg, tree / "cv2", symlinks=False)
    modules = sorted((tree / "cv2").rglob(recipe.binary_glob))
    if not modules:
        return None, [f"no compiled cv2 module ({recipe.binary_glob}) in {pkg}"]
    tag = f"{facts.tag}-{facts.tag}-{facts.platform}" if facts.tag and facts.platform else ""
    if not tag:
        return None, [f"cannot tell the wheel tag of {facts.executable} ({facts.error or 'no version/platform'})"]
    build_info = {"recipe": recipe.name, "cmake_args": settings["cmake_args"], "cuda": settings["cuda_version"],
                  "cudnn": settings["cudnn"], "archs": settings["cuda_arch_bin"]}
    out = work / "wheelhouse"
    out.mkdir(parents=True, exist_ok=True)
    wheel = wheelfile.make_wheel(
        tree, recipe.dist, version, tag, out, requires=("numpy",),
        summary=f"OpenCV {settings.get('library_version', '')} with the CUDA dnn backend (built by gpuready)",
        extra={"gpuready_build.json": json.dumps(build_info, indent=2).encode()},
    )
    return wheel, []


def _step_failure(name: str, step: Result) -> str:
    if step.start_error:
        return f"{name}: could not start ({step.start_error})"
    if step.timed_out:
        return f"{name}: stopped after {step.seconds:.0f} s (time limit)"
    return f"{name}: exit {step.returncode} after {step.seconds:.0f} s"
