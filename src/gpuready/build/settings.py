"""The settings of one source build on one machine: toolkit, cuDNN, compiler, archs, env, CMake args.

This is the one source-build decision: `plan` calls `build_settings` to fill its "build" entry and
`build_wheel` runs what it returns. The toolchain is chosen in `build.toolchain` (architectures,
toolkit, cuDNN, host compiler, each with its reasons and problems); here the recipe's version limits
are applied and its setting rows (knowledge/data/build_<recipe>.toml) are rendered into CMake
arguments and environment variables for that toolchain. Nothing here runs a build or changes the machine.
"""

from __future__ import annotations

import os
import re
import shlex
from typing import Any

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from gpuready.build import toolkit as tkmod
from gpuready.build.recipes import (
    Recipe,
    Setting,
    find_recipe,
    known_source,
    recipes,
    settings_rows,
    sources_for,
    toolkit_for_major,
    version_limits,
)
from gpuready.build.toolchain import (
    BuildSettingsError,
    CudnnChoice,
    ToolkitChoice,
    choose_compiler,
    choose_cudnn,
    choose_toolkit,
    format_archs,
    is_local,
    machine_archs,
    parse_archs,
)
from gpuready.knowledge.cuda import vtuple
from gpuready.machine import Machine

# --- limits, conditions, rendering ----------------------------------------------------------------


def library_version(recipe: Recipe, version: str) -> str:
    known = known_source(recipe.name, version)
    if known and known.library_version:
        return known.library_version
    parts = version.split("+")[0].split(".")
    if recipe.name == "opencv" and len(parts) == 4:  # opencv-python's 4th field is its packaging revision
        return ".".join(parts[:3])
    return version


def _in(spec: str, version: str) -> bool | None:
    if not spec:
        return True
    if not version:
        return None
    try:
        return Version(version) in SpecifierSet(spec)
    except (InvalidSpecifier, InvalidVersion):
        return None


def check_limits(recipe: Recipe, version: str, cuda: str, cudnn: str, os_name: str) -> list[dict]:
    """The recipe's version limits that apply here: [{severity, label, message, fix, source}]."""
    lib = library_version(recipe, version)
    hits = []
    for lim in version_limits():
        if lim.recipe != recipe.name:
            continue
        if lim.os and lim.os != os_name:
            continue
        if not _in(lim.versions, lib) or _in(lim.cuda, cuda) is not True or _in(lim.cudnn, cudnn) is not True:
            continue
        hits.append({
            "severity": lim.severity, "label": lim.label, "message": lim.message.format(version=version),
            "fix": lim.fix, "source": lim.source,
        })
    return hits


def pick_version(machine: Machine, package: str, cuda: str = "", cudnn: str = "") -> str:
    """The newest pinned source version of `package` that no "error" limit blocks here ("" if none)."""
    recipe = find_recipe(package)
    if recipe is None:
        return ""
    versions = sorted({s.version for s in sources_for(recipe.name)} | {recipe.default_version},
                      key=lambda v: Version(v), reverse=True)
    clean = []
    for v in versions:
        hits = check_limits(recipe, v, cuda, cudnn, machine.os.system)
        if any(h["severity"] == "error" for h in hits):
            continue
        clean.append((any(h["severity"] == "warning" for h in hits), v))
    if not clean:
        return ""
    clean.sort(key=lambda wv: (wv[0], [-x for x in Version(wv[1]).release]))
    return clean[0][1]


def condition_holds(when: str, facts: set[str]) -> bool:
    for cond in (c.strip() for c in when.split(",") if c.strip()):
        neg = cond.startswith("!")
        name = cond[1:] if neg else cond
        if (name in facts) == neg:
            return False
    return True


class _Ctx(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def render(rows: list[Setting], ctx: dict[str, str]) -> tuple[dict[str, str], list[str], list[dict]]:
    """(env, cmake args, explained rows) for the rows whose conditions hold; CMake rows first, so
    an env value may embed the CMake args ({cmake_args})."""
    fill = _Ctx(ctx)
    cmake_args: list[str] = []
    explained: list[dict] = []
    for r in rows:
        if r.kind == "cmake":
            value = r.value.format_map(fill)
            cmake_args.append(f"-D{r.name}={value}")
            explained.append({"kind": "cmake", "name": r.name, "value": value, "why": r.why, "source": r.source})
    fill["cmake_args"] = " ".join(cmake_args)
    env: dict[str, str] = {}
    for r in rows:
        if r.kind == "env":
            value = r.value.format_map(fill)
            env[r.name] = value
            explained.append({"kind": "env", "name": r.name, "value": value, "why": r.why, "source": r.source})
    return env, cmake_args, explained


def python_tag(machine: Machine) -> str:
    v = vtuple(machine.python.version)
    impl = {"cpython": "cp", "pypy": "pp"}.get(machine.python.implementation.lower(), "cp")
    return f"{impl}{v[0]}{v[1]}" if len(v) >= 2 else ""


def origin_rpath(toolkit_version: str) -> str:
    """$ORIGIN-relative folders where a pip-installed CUDA runtime lives, seen from site-packages/cv2/python-3.X/."""
    major = vtuple(toolkit_version)[:1]
    row = toolkit_for_major(major[0]) if major else None
    if row is None:
        return ""
    return ";".join(f"$ORIGIN/../../{d}" for d in row.pip_lib_dirs)


# --- the contract ------------------------------------------------------------------------------


def build_settings(
    machine: Machine,
    package: str,
    version: str | None = None,
    cuda_archs: list[str] | None = None,
    *,
    method: str | None = None,
    jobs: int | None = None,
    context: dict[str, str] | None = None,
    toolkit: str = "auto",
    cuda_major: int | None = None,
) -> dict[str, Any]:
    """Everything needed to build `package` with CUDA on `machine`, with reasons and blockers.

    `context` adds build-time facts (python, python_include, python_library, numpy_include,
    contrib_modules) the builder knows and a plan does not; placeholders with no value render as
    "<name>". `toolkit` forces "system", "conda" or "pip-wheels" ("auto": system when one fits).
    `cuda_major` keeps the toolkit on one CUDA major (a plan that shares CUDA 12 between TensorFlow and
    dlib); this function is the one source-build decision: `gpuready plan` shows its answer and
    `gpuready install` builds it.
    """
    recipe = find_recipe(package)
    if recipe is None:
        raise BuildSettingsError(f"no build recipe for {package!r}; gpuready builds: {', '.join(r.name for r in recipes())}")
    method = method or recipe.default_method
    if method not in recipe.methods:
        raise BuildSettingsError(f"recipe {recipe.name} has no method {method!r} (it has {', '.join(recipe.methods)})")
    version = version or recipe.default_version
    os_name = machine.os.system
    reasons: list[str] = []
    problems: list[str] = []
    warnings: list[str] = []
    labelled: list[dict] = []

    def block(label: str, message: str, fix: str = "") -> None:
        problems.append(message)
        labelled.append({"label": label, "severity": "error", "message": message, "fix": fix})

    if os_name not in recipe.platforms:
        block("platform_unsupported", f"gpuready's {recipe.name} recipe does not build on {os_name} "
              f"({'no CUDA on macOS' if os_name == 'macos' else 'supported: ' + ', '.join(recipe.platforms)})")

    # GPU architectures
    explicit = parse_archs(cuda_archs) if cuda_archs else []
    archs = explicit or machine_archs(machine)
    if explicit:
        reasons.append(f"GPU architectures {', '.join(archs)} as asked (--cuda-arch)")
    elif archs:
        names = ", ".join(sorted({f'{g.name} ({g.compute_capability})' for g in machine.gpus if g.compute_capability}))
        reasons.append(f"GPU architectures {', '.join(archs)} from this machine's GPUs: {names}")
    else:
        block("build_arch_unsupported", "no GPU with a known compute capability here, and no --cuda-arch: "
              "nothing to build for (CMake's 'native' fails without a GPU)", "pass --cuda-arch, e.g. --cuda-arch 8.6,9.0")

    # toolkit, cuDNN, compiler
    local = is_local(machine)
    tk = choose_toolkit(machine, archs, recipe, prefer=toolkit, local=local, cuda_major=cuda_major)
    reasons.extend(tk.reasons)
    for p in tk.problems:
        block("build_cuda_not_found", p)
    cudnn = choose_cudnn(machine, tk, recipe, local) if tk.source else CudnnChoice()
    reasons.extend(cudnn.reasons)
    for p in cudnn.problems:
        block("build_cudnn_not_found", p)
    comp = choose_compiler(machine, tk.version)
    reasons.extend(comp.reasons)
    for p in comp.problems:
        block("host_compiler_unsupported" if comp.compiler else "build_toolchain", p)
    if method == "cmake-tree":
        if not machine.cmake:
            block("build_toolchain", "no cmake on PATH: `pip install cmake ninja` (the cmake-tree build runs CMake directly)")
        elif vtuple(machine.cmake) < vtuple(recipe.min_cmake):
            block("build_toolchain", f"cmake {machine.cmake} is older than {recipe.min_cmake}: `pip install -U cmake`")

    # version limits
    lib_version = library_version(recipe, version)
    for hit in check_limits(recipe, version, tk.version, cudnn.version, os_name):
        if hit["severity"] == "error":
            block(hit["label"], hit["message"], hit["fix"])
        else:
            warnings.append(f"{hit['message']} ({hit['fix']})")
            labelled.append({"label": hit["label"], "severity": "warning", "message": hit["message"], "fix": hit["fix"]})

    # render the recipe's settings
    facts = {f"os:{os_name}", f"method:{method}"}
    if cudnn.origin:
        facts.add(f"cudnn:{cudnn.origin}")
    if tk.source:
        facts.add(f"toolkit:{tk.source}")
    ctx_in = dict(context or {})
    if ctx_in.get("python"):
        facts.add("python_known")
    rows = [r for r in settings_rows() if r.recipe == recipe.name and condition_holds(r.when, facts)]
    jobs = jobs or os.cpu_count() or 2
    ctx = {
        "archs_sm": format_archs(archs, "sm", recipe.arch_separator),
        "archs_dotted": format_archs(archs, "dotted", recipe.arch_separator),
        "cc": comp.cc, "cxx": comp.cxx, "cuda_host_cxx": comp.cxx,
        "nvcc": tk.nvcc, "cuda_root": tk.root, "cuda_lib_dir": tk.lib_dir,
        "cudnn_root": cudnn.root, "cudnn_include_dir": cudnn.include_dir,
        "cudnn_library": cudnn.library, "cudnn_library_dir": cudnn.library_dir,
        "jobs": str(jobs),
        "install_rpath": ";".join(p for p in (origin_rpath(tk.version), tk.lib_dir, cudnn.library_dir) if p),
        **ctx_in,
    }
    # Rows whose value would be empty because a choice failed are dropped (their problem is reported).
    rows = [r for r in rows if not _empty_placeholder(r.value, ctx)]
    env, cmake_args, explained = render(rows, ctx)
    if method == "pip-wheel" and any(re.search(r"\s", a) for a in cmake_args):
        warnings.append("a CMake value contains a space; scikit-build splits CMAKE_ARGS on whitespace, so that path will break")
    return {
        "recipe": recipe.name,
        "recipe_version": recipe.recipe_version,
        "dist": recipe.dist,
        "import_name": recipe.import_name,
        "method": method,
        "version": version,
        "library_version": lib_version,
        "cuda_arch_bin": archs,
        "cuda_root": tk.root,
        "nvcc": tk.nvcc,
        "cuda_version": tk.version,
        "cuda_lib_dir": tk.lib_dir,
        "toolkit_source": tk.source,
        "toolkit_pending": tk.pending,
        "toolkit_extras": list(recipe.toolkit_extras),
        "toolkit_requirements": _toolkit_requirements(tk, recipe, cudnn),
        "cudnn": {
            "version": cudnn.version, "origin": cudnn.origin, "root": cudnn.root, "include_dir": cudnn.include_dir,
            "library": cudnn.library, "library_dir": cudnn.library_dir, "link": cudnn.link,
        },
        "host_compiler": comp.cxx,
        "host_compiler_version": f"{comp.compiler.kind} {comp.compiler.version}" if comp.compiler else "",
        "host_compiler_ok": comp.ok,
        "cc": comp.cc,
        "python_tag": python_tag(machine),
        "platform": machine.python.platform_tag,
        "jobs": jobs,
        "env": env,
        "cmake_args": cmake_args,
        "explained": explained,
        "reasons": reasons,
        "warnings": warnings,
        "problems": problems,
        "findings": labelled,
    }


def _toolkit_requirements(tk: ToolkitChoice, recipe: Recipe, cudnn: CudnnChoice) -> list[str]:
    """The NVIDIA wheels a pip-wheel toolkit is assembled from (what `download` fetches for it); [] otherwise."""
    spec = toolkit_for_major(vtuple(tk.version)[0]) if tk.source == "pip-wheels" and vtuple(tk.version) else None
    if spec is None:
        return []
    return tkmod.requirements(spec, tk.version, recipe.toolkit_extras, cudnn=cudnn.origin == "pip-wheels")


def _empty_placeholder(value: str, ctx: dict[str, str]) -> bool:
    names = re.findall(r"\{(\w+)\}", value)
    return any(n in ctx and not ctx[n] for n in names)


def env_for_display(settings: dict) -> str:
    """The settings as shell lines (for --dry-run and docs)."""
    lines = [f"export {k}={shlex.quote(v)}" for k, v in settings["env"].items()]
    return "\n".join(lines)
