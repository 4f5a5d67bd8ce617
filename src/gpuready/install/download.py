"""`gpuready download`: everything a plan needs, fetched into one folder, for a machine without network.

For each planned package:

* **binary** (a wheel exists): `pip download --only-binary=:all:` with the *target's* tags
  (`--python-version 3.12 --implementation cp --abi cp312 --platform manylinux_2_39_x86_64 ...`),
  from the plan's own index options, with dependencies. Source-built packages take part in that
  resolution as stub wheels (metadata only, in a private --find-links folder, deleted afterwards),
  so `face_recognition` (which needs `dlib>=19.7`) resolves against the dlib that will be built
  instead of failing on "no wheel for dlib".
* **source** (built on the target): the pinned sdist (`pip download --no-deps --no-binary NAME`;
  `--no-binary :all:` would also force the build requirements to be built from source), its
  build requirements (`[build-system] requires` of the sdist) as target wheels, and the wheels of
  a CUDA toolkit assembled from pip when the plan's build needs one.
* a dependency that exists only as an sdist (face_recognition_models) is fetched as an sdist, with
  setuptools and wheel to build it on the target.

Every pip call has retries and a timeout; a failure goes through `explain`, and network trouble
(or a slow index) gets a hint about mirrors. `gpuready-offline.json` records the plan and the
files (offline.py).
"""

from __future__ import annotations

import re
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from gpuready.install import knowledge, offline
from gpuready.install.executor import Command, NetOptions, apply_network, requirements_of, split_pip_argv
from gpuready.install.knowledge import canonical
from gpuready.install.progress import Download, OutputParser, ProgressView
from gpuready.install.runlog import RunLog
from gpuready.install.runner import run_step
from gpuready.machine import Machine
from gpuready.plan.model import PackagePlan, Plan
from gpuready.proc import Result

_NO_MATCH = re.compile(r"No matching distribution found for ([A-Za-z0-9_.\-]+)")


class DownloadError(RuntimeError):
    pass


@dataclass
class DownloadResult:
    ok: bool
    folder: Path
    manifest: dict = field(default_factory=dict)
    failed: list[tuple[str, Result]] = field(default_factory=list)
    slow: list[Download] = field(default_factory=list)
    steps: list[tuple[str, Result]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what the folder lacks without failing the download


# --- reading sdists ----------------------------------------------------------------------------


def _sdist_member(path: Path, suffix: str) -> bytes | None:
    """The first member ending with /<suffix> at the sdist's top level (pyproject.toml, PKG-INFO)."""
    try:
        if path.name.endswith(".zip"):
            with zipfile.ZipFile(path) as zf:
                for n in zf.namelist():
                    if n.count("/") == 1 and n.endswith("/" + suffix):
                        return zf.read(n)
            return None
        with tarfile.open(path) as tf:
            for m in tf:
                if m.isfile() and m.name.count("/") == 1 and m.name.endswith("/" + suffix):
                    fh = tf.extractfile(m)
                    return fh.read() if fh else None
    except (OSError, tarfile.TarError, zipfile.BadZipFile):
        return None
    return None


def build_requires(sdist: Path) -> list[str]:
    """`[build-system] requires` of an sdist; setuptools + wheel for a setup.py-only one (pip's default)."""
    data = _sdist_member(sdist, "pyproject.toml")
    if data:
        if sys.version_info >= (3, 11):
            import tomllib
        else:  # pragma: no cover
            import tomli as tomllib
        try:
            req = tomllib.loads(data.decode("utf-8", errors="replace")).get("build-system", {}).get("requires")
            if isinstance(req, list):
                return [str(r) for r in req]
        except ValueError:
            pass
    return ["setuptools>=40.8.0", "wheel"]


def sdist_metadata(sdist: Path) -> tuple[str, str, list[str]]:
    """(name, version, Requires-Dist) from an sdist's PKG-INFO."""
    data = _sdist_member(sdist, "PKG-INFO") or b""
    name = version = ""
    requires: list[str] = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            break
        key, _, value = line.partition(":")
        if key == "Name" and not name:
            name = value.strip()
        elif key == "Version" and not version:
            version = value.strip()
        elif key == "Requires-Dist":
            requires.append(value.strip())
    return name, version, requires


def stub_wheel(folder: Path, name: str, version: str, requires: Sequence[str] = ()) -> Path:
    """A metadata-only wheel, so pip's resolver sees a package that will be built on the target."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    meta = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n" + "".join(f"Requires-Dist: {r}\n" for r in requires)
    wheel = "Wheel-Version: 1.0\nGenerator: gpuready-stub\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(f"{info}/METADATA", meta)
        zf.writestr(f"{info}/WHEEL", wheel)
        zf.writestr(f"{info}/RECORD", f"{info}/METADATA,,\n{info}/WHEEL,,\n{info}/RECORD,,\n")
    return path


def toolkit_requirements(build: dict | None) -> list[str]:
    """The NVIDIA wheels of a CUDA toolkit the build assembles from pip (empty when it uses a system one):
    the build stage's own list, from the plan's build settings."""
    return list((build or {}).get("toolkit_requirements") or [])


# A new venv made offline (`python -m venv`) has only the pip bundled with its Python (ensurepip, PEP 453);
# setuptools is not seeded since Python 3.12 (https://docs.python.org/3/library/venv.html, "Changed in version
# 3.12: setuptools is no longer a core venv dependency") and wheel never was. These are fetched for the target
# so the offline folder can upgrade pip and build setup.py-only sdists there.
VENV_TOOLS = ("pip", "setuptools", "wheel")
# import name in a recipe's build_modules -> its distribution on PyPI
_MODULE_DISTS = {"skbuild": "scikit-build", "cv2": "opencv-python"}


def target_environment_requirements(source_pkgs: Sequence[PackagePlan] = ()) -> list[str]:
    """pip, setuptools and wheel for a new venv; with source builds, each recipe's build modules plus cmake
    (at least the recipe's min_cmake) and ninja, so a build without isolation works from the folder too."""
    from gpuready.build.recipes import find_recipe

    reqs = list(VENV_TOOLS)
    for pkg in source_pkgs:
        recipe = find_recipe(pkg.name)
        if recipe is None:
            continue
        reqs += [_MODULE_DISTS.get(m, m) for m in recipe.build_modules]
        reqs += [f"cmake>={recipe.min_cmake}" if recipe.min_cmake else "cmake", "ninja"]
    out: dict[str, str] = {}
    for r in reqs:
        out.setdefault(canonical(_project_name(r)), r)
    return list(out.values())


def _project_name(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0]


def project_of(filename: str) -> str:
    """ "Pillow-11.0-cp312-….whl" -> "Pillow"; "face_recognition_models-0.3.0.tar.gz" -> "face_recognition_models"."""
    if filename.endswith(".whl"):
        return filename.split("-")[0]
    stem = re.sub(r"\.(tar\.gz|tar\.bz2|tgz|zip)$", "", filename)
    return stem.rsplit("-", 1)[0]


# --- the download itself -------------------------------------------------------------------------


def _pip() -> tuple[str, ...]:
    return (sys.executable, "-m", "pip")


def _pip_download(args: Sequence[str], dest: Path, net: NetOptions) -> Command:
    retries = str(net.retries or knowledge.setting("pip_retries"))
    timeout = str(net.timeout or knowledge.setting("pip_timeout"))
    return Command(
        (*_pip(), "download", "--disable-pip-version-check", "--no-input", "--retries", retries, "--timeout", timeout,
         "-d", str(dest), *args),
        {"PYTHONUNBUFFERED": "1"},
    )


def download(
    machine: Machine,
    plan: Plan,
    requests: Sequence[str],
    dest: Path,
    *,
    net: NetOptions = NetOptions(),
    build_deps: bool = True,
    exclude: Sequence[str] = (),
    log: RunLog,
    view: ProgressView | None = None,
    glibc_hint: str = "",
    locked: Path | None = None,
) -> DownloadResult:
    """Fetch every file `plan` needs on `machine` into `dest`, and write the manifest.

    `exclude`: projects the target already has (numpy, Pillow ...): not fetched, and files of them
    left by pip's resolution are removed, so the folder stays small enough to carry.
    `locked`: the hashed requirements of a lock (gpuready.install.lock): exactly those files are fetched
    (`pip download --no-deps --require-hashes`) instead of resolving the plan's binary packages again.
    """
    skip = {canonical(x) for x in exclude}
    dest.mkdir(parents=True, exist_ok=True)
    had = {p.name for p in dest.iterdir()}  # files already there (a wheel the user put in) are never removed
    dest.mkdir(parents=True, exist_ok=True)
    tags = offline.target_tags(machine, glibc_hint)
    result = DownloadResult(ok=True, folder=dest)
    roles: dict[str, str] = {}
    stubs = Path(tempfile.mkdtemp(prefix="gpuready-stubs-"))
    packages = [p for p in plan.packages if p.install]
    binary_only = tags.pip_args()
    jobs: list[tuple[str, list[str]]] = []  # (what, pip download args)
    source_pkgs = [p for p in packages if p.is_source]
    extra_sdists: list[str] = []
    planned_steps = len(source_pkgs) * (2 if build_deps else 1) + len([p for p in packages if not p.is_source]) + 1

    def run(what: str, args: list[str]) -> tuple[Result, list[Path]]:
        before = {p.name for p in dest.iterdir()}
        cmd = _pip_download(args, dest, net)
        n = len(result.steps) + 1
        if view is not None:
            view.start_step(n, max(n, planned_steps), what)
        parser = OutputParser()
        res = run_step(cmd, log, view, parser=parser)
        if view is not None:
            view.end_step(res.ok)
        result.steps.append((what, res))
        result.slow.extend(parser.slow_downloads(float(knowledge.setting("slow_download_kbps"))))
        new = sorted(p for p in dest.iterdir() if p.name not in before)
        for p in new:
            roles.setdefault(p.name, "target environment" if what.startswith("target environment") else what.split(":", 1)[-1].strip())
        return res, new

    # 1. sdists of the packages built on the target
    for pkg in source_pkgs:
        dist = pkg.dist_name
        version = pkg.version
        spec = f"{dist}=={version}" if version else dist
        res, new = run(f"sdist: {dist}", apply_network(["--no-deps", "--no-binary", dist, spec], net))
        if not res.ok:
            result.failed.append((spec, res))
            continue
        sdist = next((p for p in new if offline.file_kind(p.name) == "sdist"), None)
        if sdist is None:  # already in the folder from an earlier download
            sdist = offline.sdist_for(dest, {"files": [{"file": p.name, "kind": offline.file_kind(p.name)} for p in dest.iterdir()]}, dist, version)
        if sdist is None:
            continue
        roles[sdist.name] = dist
        name, ver, requires = sdist_metadata(sdist)
        stub_wheel(stubs, name or dist, ver or version or "0", requires)
        if build_deps:
            breq = build_requires(sdist) + toolkit_requirements(pkg.build)
            jobs.append((f"build requirements: {dist}", breq))
    # 1b. what a new environment on the target lacks: `python -m venv` (the only way to make one offline) brings
    #     just its bundled pip; a build without isolation needs the recipe's modules and cmake/ninja in it
    tools = target_environment_requirements(source_pkgs if build_deps else ())
    jobs.append(("target environment: " + ", ".join(_project_name(r) for r in tools), tools))
    # 2. wheels of the binary packages (dependencies included), grouped by their index options
    for pkg in packages:
        if pkg.is_source:
            continue
        if locked is not None and "-e" not in pkg.install:
            continue  # the lock names its files: fetched below, by hash
        try:
            _, args = split_pip_argv(list(pkg.install))
        except ValueError as exc:
            result.failed.append((pkg.name, Result((), None, start_error=str(exc))))
            continue
        reqs = requirements_of(args)
        for extra in knowledge.companions_for(pkg.name):
            if not any(canonical(re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0]) == canonical(re.split(r"[<>=!~\[; ]", extra, maxsplit=1)[0]) for r in reqs):
                args = [*args, extra]
        keep = [a for a in args if a not in ("--upgrade", "-U", "--force-reinstall", "--no-build-isolation", "--user")]
        keep = [a for a in keep if a not in reqs or canonical(re.split(r"[<>=!~\[; @]", a, maxsplit=1)[0]) not in skip]
        if not requirements_of(keep):
            continue
        jobs.append((f"wheels: {pkg.name}", keep))
    if locked is not None:
        jobs.append(("locked files", ["--no-deps", "--require-hashes", "-r", str(locked)]))
    for what, args in jobs:
        if not requirements_of(args) and what != "locked files":
            continue  # an sdist with no build requirements (an in-tree backend)
        # --no-deps lets pip take the lock's sdists for another platform; everything else is wheels only
        full = apply_network([*([] if what == "locked files" else ["--only-binary=:all:"]), *binary_only, *args], net)
        if not what.startswith("build requirements"):
            full += ["--find-links", str(stubs)]  # after apply_network: an offline source folder drops other find-links
        res, _ = run(what, full)
        if not res.ok and what.startswith("target environment"):
            # not fatal: installing into an existing environment needs none of them
            m = _NO_MATCH.search(res.output)
            result.notes.append(f"the index has no {m.group(1) if m else ', '.join(_project_name(a) for a in requirements_of(args))} "
                                "for the target: a new venv made offline from this folder has only the pip bundled with its Python"
                                + (", and source builds need their build tools on the target" if len(requirements_of(args)) > 3 else ""))
            continue
        tries = 0
        while not res.ok and tries < 5:
            # a requirement with no wheel for the target: take its sdist (pure-python ones build anywhere)
            m = _NO_MATCH.search(res.output)
            if not m or canonical(m.group(1)) in extra_sdists:
                break
            missing = m.group(1)
            extra_sdists.append(canonical(missing))
            sres, new = run(f"sdist: {missing}", apply_network(["--no-deps", "--no-binary", missing, missing], net))
            if not sres.ok:
                break
            for p in new:
                if offline.file_kind(p.name) == "sdist":
                    n, v, r = sdist_metadata(p)
                    stub_wheel(stubs, n or missing, v or "0", r)
                    if build_deps and build_requires(p):
                        bres, _ = run(f"build requirements: {missing}",
                                      apply_network(["--only-binary=:all:", *binary_only, *build_requires(p)], net))
                        if not bres.ok:
                            result.failed.append((f"build requirements: {missing}", bres))
            res, _ = run(what, full)
            tries += 1
        if not res.ok:
            result.failed.append((what, res))
    # 3. excluded projects and stubs never stay in the folder
    for p in dest.iterdir():
        if skip and p.name not in had and offline.file_kind(p.name) in ("wheel", "sdist") and canonical(project_of(p.name)) in skip:
            p.unlink()
    stub_names = {p.name for p in stubs.iterdir()}
    for p in dest.iterdir():
        if p.name in stub_names:
            with zipfile.ZipFile(p) as zf:
                is_stub = any(n.endswith("/WHEEL") and b"gpuready-stub" in zf.read(n) for n in zf.namelist())
            if is_stub:
                p.unlink()
    for p in stubs.iterdir():
        p.unlink()
    stubs.rmdir()
    result.ok = not result.failed
    result.manifest = offline.write_manifest(dest, requests=list(requests), plan=plan, tags=tags, machine=machine, roles=roles)
    return result

