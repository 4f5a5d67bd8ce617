"""A lock out, a lock in: the resolved plan as PEP 751 pylock.toml or a hashed requirements file.

Written by `gpuready plan --format pylock` / `--format requirements --hashes`, read by
`gpuready install --lock FILE` on another machine of the same kind:

* every file is pinned with its sha256 (the resolver's, from the index), so the second machine gets
  byte-identical wheels or nothing (`pip --require-hashes`; uv checks them too);
* the CUDA runtime wheels are held to the plan's CUDA minor (gpuready.install.resolve);
* gpuready's own builds (dlib, OpenCV with CUDA) are entries with a local `path`: the wheel is copied
  from the wheel cache next to the lock (`<lock dir>/wheels/`), so lock and wheels travel together; a
  package not built yet is listed under `[tool.gpuready]` and built on install;
* `[tool.gpuready]` says what kind of machine the lock is for (OS, CPU, Python, glibc, the driver the
  plan's CUDA needs, the GPUs the builds target), and install refuses another kind with the reason.
  PEP 751's own `environments` marker carries the OS/CPU/Python part for any installer.

https://peps.python.org/pep-0751/ ; read and validated with packaging.pylock (packaging >= 26.1).

This module holds what a lock is (its schema, the machine it is for) and reads one in; writing one out is
gpuready.install.lockwrite.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gpuready.install import knowledge, offline
from gpuready.install.resolve import uv_platform
from gpuready.knowledge.cuda import cc_int, min_driver_for_cuda, vtuple
from gpuready.machine import Machine
from gpuready.plan.model import PackagePlan, Plan

SCHEMA = "gpuready.lock"
SCHEMA_VERSION = 1
HEADER = "# gpuready-lock: "
WHEELS = "wheels"


class LockError(ValueError):
    """A lock file that cannot be read, is not gpuready's, or names files that are not there (exit 2)."""


# --- the machine a lock is for --------------------------------------------------------------------


def target_of(machine: Machine, plan: Plan, glibc: str = "") -> dict:
    """What a second machine must match: the lock's [tool.gpuready.target]."""
    m = machine
    glibc = glibc or (knowledge.glibc_for_distro(m.os.distro or "") if m.os.system == "linux" else "")
    t: dict[str, Any] = {
        "os": m.os.system, "arch": m.os.arch or "x86_64", "python": m.python.minor,
        "implementation": m.python.implementation or "cpython", "platform": uv_platform(m, glibc),
    }
    if glibc:
        t["glibc"] = glibc
    if m.os.distro:
        t["distro"] = m.os.distro
    if plan.cuda and any(p.gpu for p in plan.packages):
        t["cuda"] = plan.cuda
        floor = min_driver_for_cuda(plan.cuda, "windows" if m.os.system == "windows" else "linux")
        if floor:
            t["driver_min"] = floor
    archs = sorted({a for p in plan.packages if p.build for a in (p.build.get("cuda_arch_bin") or [])}, key=cc_int)
    if archs:
        t["gpu_archs"] = archs  # the compute capabilities gpuready's own builds carry code for
    return t


def environment_marker(target: dict) -> str:
    """PEP 751 `environments`: the OS, CPU and Python the lock was resolved for."""
    sys_platform = {"linux": "linux", "windows": "win32", "macos": "darwin"}.get(target["os"], target["os"])
    arch = target["arch"]
    if target["os"] == "windows":
        arch = {"x86_64": "AMD64", "aarch64": "ARM64", "arm64": "ARM64"}.get(arch, arch)
    return f"sys_platform == '{sys_platform}' and platform_machine == '{arch}' and python_version == '{target['python']}'"


def check_machine(target: dict, machine: Machine, glibc: str = "") -> list[str]:
    """Why `machine` is not the kind of machine the lock was made for (empty: it is)."""
    from gpuready.knowledge.cuda import build_runs_on, driver_runs_cuda

    m = machine
    problems = []
    if target.get("os") and m.os.system != target["os"]:
        problems.append(f"the lock is for {target['os']}, this machine runs {m.os.system}")
    if target.get("arch") and (m.os.arch or "x86_64") != target["arch"]:
        problems.append(f"the lock is for {target['arch']} CPUs, this machine is {m.os.arch}")
    if target.get("python") and m.python.minor != target["python"]:
        problems.append(f"the lock is for Python {target['python']}, this environment has Python {m.python.minor or '?'}")
    if target.get("implementation") and (m.python.implementation or "cpython") != target["implementation"]:
        problems.append(f"the lock is for {target['implementation']}, this Python is {m.python.implementation}")
    want_glibc = target.get("glibc")
    if want_glibc and m.os.system == "linux":
        have = glibc or knowledge.glibc_for_distro(m.os.distro or "")
        if have and vtuple(have) < vtuple(want_glibc):
            problems.append(f"the lock's wheels may need glibc {want_glibc} (resolved for {target.get('platform')}); "
                            f"this machine has {have}")
    cuda = target.get("cuda")
    if cuda:
        os_name = "windows" if m.os.system == "windows" else "linux"
        if not m.driver.present:
            problems.append(f"the lock's GPU packages use CUDA {cuda}, which needs an NVIDIA driver "
                            f">= {target.get('driver_min') or '?'}; this machine has no NVIDIA driver")
        elif not driver_runs_cuda(m.driver.version, cuda, os_name):
            problems.append(f"the lock's GPU packages use CUDA {cuda}, which needs an NVIDIA driver >= "
                            f"{target.get('driver_min') or '?'}; this machine has {m.driver.version}")
    archs = target.get("gpu_archs") or []
    if archs and m.gpus:
        for g in m.gpus:
            if g.compute_capability and build_runs_on(tuple(f"sm_{cc_int(a)}" for a in archs), g.compute_capability) is False:
                problems.append(f"gpuready's builds in the lock carry code for compute capability {', '.join(archs)}; "
                                f"GPU {g.index} ({g.name}) is {g.compute_capability}: rebuild for it")
    return problems


# --- reading ---------------------------------------------------------------------------------------


def _toml_loads(text: str) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    return tomllib.loads(text)


def validate(text: str):
    """The lock as a packaging.pylock.Pylock (raises LockError when it is not valid PEP 751)."""
    from packaging.pylock import Pylock, PylockValidationError

    try:
        return Pylock.from_dict(_toml_loads(text))
    except (ValueError, PylockValidationError) as exc:
        raise LockError(f"not a valid PEP 751 lock: {exc}") from None


@dataclass
class LockFile:
    path: Path
    kind: str  # "pylock" or "requirements"
    tool: dict  # [tool.gpuready] (or the requirements file's gpuready-lock line)
    pylock: Any = None  # packaging.pylock.Pylock for a pylock file
    notes: list[str] = field(default_factory=list)
    full_plan: Plan | None = None  # the whole plan, when the lock was made here for this install (install -r)

    @property
    def target(self) -> dict:
        return dict(self.tool.get("target") or {})

    def plan(self) -> Plan:
        """The plan the install follows (what to verify, what to build); the files come from the lock.

        A package gpuready built and the lock holds (its wheel, by hash) is installed from the lock like the
        rest; one it did not hold is built on install, as in any plan."""
        locked = {e["name"]: e for e in self.tool.get("packages") or [] if e.get("wheel_version")}
        if self.full_plan is not None:
            pkgs = []
            for p in self.full_plan.packages:
                e = locked.get(p.name)
                if e is not None:
                    p = dataclasses.replace(p, variant="locked", install=("pip", "install", f"{p.dist_name}=={e['wheel_version']}"))
                pkgs.append(p)
            return self.full_plan.with_packages(tuple(pkgs))
        pkgs = []
        for e in self.tool.get("packages") or []:
            dist = e.get("dist") or e["name"]
            common = dict(name=e["name"], dist=dist, version=e.get("version") or None, gpu=bool(e.get("gpu")),
                          label=e.get("label") or e["name"], cuda=e.get("cuda"), conflicts=tuple(e.get("conflicts") or ()),
                          reasons=(f"from the lock {self.path.name}",))
            if e.get("built") and not e.get("wheel_version"):
                pkgs.append(PackagePlan(variant="source", install=tuple(e.get("install") or ("gpuready", "build", e["name"])),
                                        build={"cuda_arch_bin": list(e.get("cuda_arch_bin") or [])}, **common))
            else:
                version = e.get("wheel_version") or e.get("version")
                argv = ("pip", "install", *(["-e", e["editable"]] if e.get("editable") else [f"{dist}=={version}" if version else dist]))
                pkgs.append(PackagePlan(variant="locked" if e.get("built") else e.get("variant", ""), install=argv, **common))
        return Plan(cuda=self.tool.get("cuda") or None, cudnn=self.tool.get("cudnn") or None, packages=tuple(pkgs), blocked=(),
                    notes=(f"installing the lock {self.path}",))


def covered_by_lock(p: PackagePlan) -> bool:
    """Installed by the one hash-checked lock step (not a source build, not an editable project)."""
    return not p.is_source and "-e" not in p.install and "--editable" not in p.install


def read_lock(path: Path) -> LockFile:
    """A pylock.toml or a hashed requirements file written by gpuready."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LockError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LockError(f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None
    if path.suffix == ".toml":
        lock = validate(text)
        tool = dict((lock.tool or {}).get("gpuready") or {})
        if tool.get("schema") != SCHEMA:
            raise LockError(f"{path}: a PEP 751 lock, but not one gpuready wrote (no [tool.gpuready]); install it with "
                            "`uv pip sync` or `pip install -r` directly")
        if tool.get("schema_version") != SCHEMA_VERSION:
            raise LockError(f"{path}: lock schema {tool.get('schema_version')!r} is not supported (this gpuready reads {SCHEMA_VERSION})")
        return LockFile(path, "pylock", tool, lock)
    for line in text.splitlines():
        if line.startswith(HEADER):
            try:
                tool = json.loads(line[len(HEADER):])
            except ValueError as exc:
                raise LockError(f"{path}: its gpuready-lock line is damaged ({exc})") from None
            if not isinstance(tool, dict) or tool.get("schema") != SCHEMA:
                break
            if "--hash=" not in text:
                raise LockError(f"{path}: no --hash values: not a lock (write one with `gpuready plan ... --format requirements --hashes`)")
            return LockFile(path, "requirements", tool)
    raise LockError(f"{path}: not a lock written by gpuready (write one with `gpuready plan -r requirements.txt --format pylock`)")


def _target_tags(target: dict, machine: Machine):
    """packaging.tags for the lock's target Python on this machine (to pick each package's wheel)."""
    from packaging import tags

    t = offline.target_tags(machine)
    py = tuple(int(x) for x in (target.get("python") or machine.python.minor).split("."))
    return list(tags.cpython_tags(py, abis=[t.abi, "abi3", "none"], platforms=list(t.platforms))) + \
        list(tags.compatible_tags(py, platforms=list(t.platforms)))


def requirements_for_installer(lock: LockFile, machine: Machine, out: Path) -> Path:
    """The file `pip install --no-deps --require-hashes -r` (or uv) installs exactly the locked files from."""
    if lock.kind == "requirements":
        return lock.path
    from packaging.pylock import PylockSelectError

    from gpuready.plan.projectinput import marker_environment

    base = lock.path.resolve().parent
    env = marker_environment(machine)
    lines = []
    try:
        chosen = list(lock.pylock.select(environment=env, tags=_target_tags(lock.target, machine)))
    except PylockSelectError as exc:
        raise LockError(f"{lock.path}: {exc}") from None
    from packaging.pylock import PackageDirectory, PackageVcs

    idx = lock.tool.get("indexes") or {}
    if idx.get("no_index"):
        lines.append("--no-index")
    elif idx.get("index_url"):
        lines.append(f"--index-url {idx['index_url']}")
    lines += [f"--extra-index-url {u}" for u in idx.get("extra_index_urls") or []]
    lines += [f"--find-links {u}" for u in idx.get("find_links") or [] if "://" in u or Path(u).is_dir()]
    lines += [f"--trusted-host {h}" for h in idx.get("trusted_hosts") or []]
    for pkg, dist in chosen:
        if isinstance(dist, (PackageDirectory, PackageVcs)):
            continue  # an editable project or a checkout: installed by its own step, never hash-locked
        if not getattr(dist, "hashes", None):
            raise LockError(f"{lock.path}: {pkg.name} has no hash: gpuready installs only hash-pinned files")
        if dist.path:  # a local file (gpuready's own build): by its path
            p = Path(dist.path)
            p = p if p.is_absolute() else base / p
            if not p.exists():
                from gpuready.build import cache

                alt = cache.cache_dir() / p.name
                if not alt.exists():
                    raise LockError(f"{lock.path}: {pkg.name} {pkg.version}: {p} is missing (copy the lock's {WHEELS}/ folder "
                                    "along with it, or put the wheel in the wheel cache)")
                p = alt
            hashes = " ".join(f"--hash={a}:{d}" for a, d in dist.hashes.items())
            lines.append(f"{pkg.name} @ {p.resolve().as_uri()} {hashes}")
            continue
        if not dist.url:
            raise LockError(f"{lock.path}: {pkg.name}: neither url nor path")
        # from the index, by version, with the hash of every file the lock lists for it (the installer may pick
        # another of the package's wheels than this one; each is pinned)
        every = [*(pkg.wheels or []), *([pkg.sdist] if pkg.sdist else [])]
        hashes = " ".join(dict.fromkeys(f"--hash={a}:{d}" for f in every for a, d in f.hashes.items()))
        lines.append(f"{pkg.name}=={pkg.version} {hashes}")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


def lock_command_args(lock_requirements: Path) -> list[str]:
    """pip install arguments that install exactly the locked files (uv takes the same)."""
    return ["--no-deps", "--require-hashes", "-r", str(lock_requirements)]
