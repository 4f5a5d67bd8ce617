"""`build_wheel`: one source build, from settings to a checked wheel in the cache.

Order matters and is the point: settings and the cache key first (a cached wheel ends the work in
seconds), then blockers (reported before anything is downloaded or compiled), then the toolkit
(assembled from pip wheels if needed), the source (checked against its pinned sha256), the build
with its log read live, and only a wheel whose log confirms CUDA, whose binary links cuDNN,
cuBLAS and a shared libstdc++, and whose import says "built with CUDA" goes into the cache. A
failure keeps the full log, runs it through `explain` when that stage is installed, and names
the missing piece.
"""

from __future__ import annotations

import dataclasses
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from gpuready import paths
from gpuready.build import cache
from gpuready.build import toolkit as tkmod
from gpuready.build.checks import check_wheel
from gpuready.build.logread import LogReader
from gpuready.build.methods import python_facts, run_cmake_tree, run_pip_wheel
from gpuready.build.portable import make_portable
from gpuready.build.recipes import get_recipe
from gpuready.build.runner import ProgressView, log_line
from gpuready.build.settings import build_settings
from gpuready.build.source import SourceError, cached_sdist, fetch_sdist, identify, unpack
from gpuready.machine import Machine


@dataclass
class BuildResult:
    ok: bool
    wheel: Path | None
    log: Path
    cached: bool
    cuda_enabled: bool | None
    seconds: float
    problems: list[str] = field(default_factory=list)
    cause: dict | None = None  # the first cause `gpuready explain` found in the log (set by the command that explains it)
    package: str = ""
    version: str = ""  # the wheel's version, with its local label
    requirement: str = ""  # "dlib==20.0.1+cu130.cudnn9.sm90.r1": what an installer pins
    label: str = ""  # the cause label gpuready's own log reader gives (when explain has none)
    fix: str = ""
    missing: str = ""
    warnings: list[str] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # seconds per step
    settings: dict = field(default_factory=dict)
    verdict: dict = field(default_factory=dict)
    check: dict = field(default_factory=dict)
    source: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        d["wheel"] = str(self.wheel) if self.wheel else None
        d["log"] = str(self.log)
        return d


def build_wheel(
    machine: Machine,
    package: str,
    *,
    version: str | None = None,
    sdist: Path | None = None,
    cuda_archs: list[str] | None = None,
    python: str | None = None,
    jobs: int | None = None,
    progress: bool = True,
    use_cache: bool = True,
    method: str | None = None,
    out_dir: Path | None = None,
    pip_args: tuple[str, ...] = (),
    isolation: bool | None = None,
    toolkit: str = "auto",
    cuda_major: int | None = None,
    verify: bool = True,
    keep_work: bool = False,
    timeout: float | None = 4 * 3600.0,
    cache_directory: Path | None = None,
) -> BuildResult:
    """Build `package` (dlib, opencv) with CUDA for `machine`; see the module docstring for the order.

    Raises only for bad input (an unknown package, an unreadable --cuda-arch, a source of another
    package): `BuildSettingsError`/`SourceError`. KeyboardInterrupt propagates after the build is
    stopped and its half-written files are removed.
    """
    start = time.monotonic()
    recipe = get_recipe(package)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log = paths.logs_dir() / f"build-{recipe.name}-{stamp}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(f"gpuready build {recipe.name} ({time.strftime('%Y-%m-%d %H:%M:%S %Z')})\n", encoding="utf-8")
    steps: dict[str, float] = {}

    src = identify(Path(sdist).expanduser().resolve(), recipe) if sdist else None  # steps run in the work folder
    if src is not None:
        method = method or ("cmake-tree" if src.kind == "tree" else "pip-wheel")
        if src.kind == "tree" and method != "cmake-tree":
            raise SourceError(f"{src.path.name} is a source tree: it builds with --method cmake-tree")
        version = version or src.version or src.library_version or None
    facts = python_facts(python, recipe.build_modules + ("wheel",))
    if facts.error:
        res = BuildResult(False, None, log, False, None, time.monotonic() - start, package=recipe.name,
                          problems=[f"cannot run the target Python {facts.executable}: {facts.error}"], label="env_mismatch")
        log_line(log, res.problems[0])
        return res

    def settings_now() -> dict:
        return build_settings(machine, recipe.name, version, cuda_archs, method=method, jobs=jobs,
                              context=facts.context(), toolkit=toolkit, cuda_major=cuda_major)

    settings = settings_now()
    # The wheel is for the target interpreter: its own tag and platform win over the machine's.
    if facts.tag:
        settings["python_tag"] = facts.tag
    if facts.platform:
        settings["platform"] = facts.platform
    key = cache.key_from_settings(settings)
    result = BuildResult(False, None, log, False, None, 0.0, package=recipe.name, version=key.wheel_version,
                         requirement=key.requirement, settings=settings, warnings=list(settings["warnings"]))
    _log_settings(log, settings, key)

    def done(ok: bool) -> BuildResult:
        result.ok = ok
        result.seconds = time.monotonic() - start
        result.steps = steps
        if not ok and result.problems:
            log_line(log, "FAILED: " + " | ".join(result.problems))
        return result

    if use_cache:
        hit = cache.lookup(key, cache_directory)
        if hit is not None:
            result.wheel, result.cached, result.cuda_enabled = hit.path, True, True
            log_line(log, f"cache hit: {hit.path}")
            _copy_out(result, out_dir)
            return done(True)

    if settings["problems"]:
        result.problems = list(settings["problems"])
        first = settings["findings"][0] if settings["findings"] else {}
        result.label, result.fix = first.get("label", ""), first.get("fix", "")
        return done(False)

    work = paths.work_dir() / f"{recipe.name}-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    try:
        with ProgressView(progress, f"{recipe.name} {version or recipe.default_version}") as view:
            # 1. toolkit from pip wheels, when that is the choice and it is not there yet
            if settings["toolkit_source"] == "pip-wheels" and settings["toolkit_pending"]:
                view.step("toolkit (pip wheels)")
                t0 = time.monotonic()
                tk = tkmod.assemble(settings["cuda_version"], extras=tuple(settings["toolkit_extras"]),
                                    cudnn=True, pip_args=pip_args)
                steps["toolkit"] = time.monotonic() - t0
                log_line(log, f"toolkit from pip wheels: {tk.root} ({'ok' if tk.ok else '; '.join(tk.problems)}; log {tk.log})")
                if not tk.ok:
                    result.problems = tk.problems
                    result.label = "build_cuda_not_found"
                    return done(False)
                settings = settings_now()
                settings["python_tag"], settings["platform"] = key.python_tag, key.platform
                result.settings = settings
                if settings["problems"]:
                    result.problems = list(settings["problems"])
                    return done(False)
            # 2. source
            if src is None:
                view.step("source")
                t0 = time.monotonic()
                path = cached_sdist(recipe, settings["version"]) or fetch_sdist(recipe, settings["version"], pip_args=pip_args,
                                                                                 python=facts.executable)
                steps["source"] = time.monotonic() - t0
                src_now = identify(path, recipe)
            else:
                src_now = src
            result.source = src_now.to_dict()
            if src_now.verified is None and src_now.kind == "sdist":
                result.warnings.append(f"{src_now.path.name}: no pinned sha256 for this file; built as given")
            log_line(log, f"source: {src_now.path} ({src_now.kind}, sha256 {src_now.sha256 or '?'}, "
                          f"{'matches the pinned checksum' if src_now.verified else 'not pinned'})")
            # 3. cuDNN link (pip wheel ships only libcudnn.so.N)
            link = settings["cudnn"].get("link")
            if link:
                made = tkmod.ensure_cudnn_link(Path(link).parent)
                if made is None:
                    result.problems = [f"cannot create {link} (cuDNN's wheel has no libcudnn.so; the folder is not writable?)"]
                    result.label = "permission"
                    return done(False)
                log_line(log, f"cuDNN link: {made} -> {made.resolve().name}")
            # 4. build
            reader = LogReader(recipe.name, settings["cudnn"])
            t0 = time.monotonic()
            if settings["method"] == "cmake-tree":
                view.step("unpack")
                root = unpack(src_now, work)
                settings = build_settings(machine, recipe.name, version, cuda_archs, method="cmake-tree", jobs=jobs,
                                          context={**facts.context(), "contrib_modules": str(_contrib(root))}, toolkit=toolkit,
                                          cuda_major=cuda_major)
                settings["python_tag"], settings["platform"] = key.python_tag, key.platform
                result.settings = settings
                mres = run_cmake_tree(recipe, settings, root, facts, work, log, reader, view, timeout=timeout,
                                      version=key.version)
            else:
                mres = run_pip_wheel(recipe, settings, src_now.path, facts, work, log, reader, view,
                                     isolation=isolation, pip_args=pip_args, timeout=timeout)
            for step_name, s in mres.steps:
                steps[step_name] = s.seconds
            steps["build_total"] = time.monotonic() - t0
            verdict = reader.verdict()
            result.verdict = verdict.to_dict()
            result.cuda_enabled = verdict.cuda_enabled
            result.missing = verdict.missing_piece
            if not mres.ok:
                result.problems = mres.problems + ([f"missing: {verdict.missing_piece}"] if verdict.missing_piece else [])
                result.label, result.fix = verdict.label, verdict.fix
                return done(False)
            if verdict.cuda_enabled is not True:
                result.problems = [f"the build finished but CUDA is not in it: {verdict.missing_piece or 'the log does not confirm CUDA'}"]
                result.label, result.fix = verdict.label or "cpu_only_build", verdict.fix
                return done(False)
            blocking = [p for p in verdict.problems if p.id in ("two-cudnns", "cudnn-version")]
            if blocking:
                result.problems = [blocking[0].missing]
                result.label, result.fix = blocking[0].label, blocking[0].fix
                return done(False)
            # 5. the wheel itself
            view.step("check")
            t0 = time.monotonic()
            expect_gpu = bool(machine.gpus) and machine.driver.present
            chk = check_wheel(mres.wheel, recipe, work, python=facts.executable, expect_gpu=expect_gpu,
                              do_import=verify, site=facts.platlib)
            steps["check"] = time.monotonic() - t0
            result.check = chk.to_dict()
            log_line(log, f"wheel check: module {chk.module}, NEEDED {', '.join(chk.needed)}; RUNPATH {':'.join(chk.runpath)}; "
                          f"import {chk.report or chk.crash or '-'}")
            if chk.problems:
                result.problems = chk.problems
                result.label = chk.labels[0] if chk.labels else "other"
                return done(False)
            # 5b. RUNPATH folders of this environment -> $ORIGIN, so the cached wheel works in other environments
            port = make_portable(mres.wheel, chk.module, chk.runpath, facts.platlib, settings["cuda_version"], work)
            if port.wheel is not None:
                chk2 = check_wheel(port.wheel, recipe, work, python=facts.executable, expect_gpu=expect_gpu,
                                   do_import=verify, site=facts.platlib)
                if chk2.problems:
                    result.warnings.append(f"kept the built RUNPATH: the rewritten module failed its check ({chk2.problems[0]})")
                    log_line(log, f"portable RUNPATH rejected: {chk2.problems}")
                else:
                    mres.wheel, chk = port.wheel, chk2
                    log_line(log, port.note)
            else:
                log_line(log, port.note)
            result.check = chk.to_dict()
            # 6. into the cache
            entry = cache.store(mres.wheel, key, info={
                "recipe": recipe.name, "method": settings["method"], "toolkit_source": settings["toolkit_source"],
                "cuda_version": settings["cuda_version"], "cudnn": settings["cudnn"], "host_compiler": settings["host_compiler"],
                "gpus": sorted({g.name for g in machine.gpus}), "seconds": round(time.monotonic() - start, 1),
                "log": str(log), "needed": chk.needed, "runpath": chk.runpath, "import": chk.report,
                "source": result.source,
            }, directory=cache_directory)
            result.wheel = entry.path
            log_line(log, f"stored in the cache: {entry.path}")
            _copy_out(result, out_dir)
            return done(True)
    except KeyboardInterrupt:
        log_line(log, "interrupted: nothing was stored in the cache")
        raise
    finally:
        if not keep_work:
            shutil.rmtree(work, ignore_errors=True)


def _contrib(root: Path) -> Path:
    return root / "opencv_contrib" / "modules"


def _copy_out(result: BuildResult, out_dir: Path | None) -> None:
    if out_dir and result.wheel:
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        dest = out_dir / result.wheel.name
        if dest.resolve() != result.wheel.resolve():
            shutil.copy2(result.wheel, dest)
        result.wheel = dest


def _log_settings(log: Path, settings: dict, key: cache.CacheKey) -> None:
    lines = [f"recipe {settings['recipe']} (v{settings['recipe_version']}), method {settings['method']}, version {settings['version']}",
             f"cache key: {key.wheel_version} ({key.python_tag}, {key.platform})",
             f"toolkit: {settings['toolkit_source']} {settings['cuda_version']} at {settings['cuda_root']}",
             f"cuDNN: {settings['cudnn']}", f"host compiler: {settings['host_compiler']} ok={settings['host_compiler_ok']}"]
    lines += [f"why: {r}" for r in settings["reasons"]]
    lines += [f"env {k}={v}" for k, v in settings["env"].items()]
    lines += [f"cmake {a}" for a in settings["cmake_args"]]
    lines += [f"warning: {w}" for w in settings["warnings"]]
    lines += [f"problem: {p}" for p in settings["problems"]]
    for line in lines:
        log_line(log, line)
