"""The whole set resolved once, for the target machine, before anything changes.

A plan is per package (torch from its index, numpy as written, dlib built from source); installed
one command after another, a later command can quietly change what an earlier one chose, and a
conflict shows only half-way through. Here the plan's requirements (with the packages gpuready
builds standing in as their cached wheels, or as metadata-only stubs) go to one resolver run:

* uv: `uv pip compile --format pylock.toml --python-version X.Y.Z --python-platform TRIPLE` with the
  plan's indexes (`--index-strategy unsafe-best-match`, i.e. pip's rule: the best version from any
  of the indexes, since the plan mixes the PyTorch index and the user's own);
* pip (no uv): `pip install --dry-run --ignore-installed --report` (the target's own pip when the
  target is this machine, else with `--platform/--python-version/--only-binary=:all:`).

The answer is a PEP 751 lock (a dict) with every file's URL and hash. Then the CUDA runtime wheels
whose version is a CUDA version (knowledge/data/cuda_wheels.toml) are held to the plan's CUDA minor
with constraints, where the framework allows it; a resolution that fails shows the resolver's own
explanation of the conflict.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gpuready.install import knowledge, offline
from gpuready.install.download import stub_wheel
from gpuready.install.executor import ExecutorError, find_uv, requirements_of, split_pip_argv
from gpuready.knowledge.cuda import vtuple
from gpuready.knowledge.loader import load_table
from gpuready.machine import Machine
from gpuready.plan.model import PackagePlan, Plan
from gpuready.proc import CommandLog, run

RESOLVERS = ("auto", "uv", "pip")


class ResolveError(RuntimeError):
    """No resolver can run here (no uv, no pip), or its output cannot be read."""


@dataclass(frozen=True)
class VersionedWheel:
    cuda_major: int
    names: tuple[str, ...]
    source: str


@functools.lru_cache(maxsize=None)
def versioned_wheels() -> tuple[VersionedWheel, ...]:
    return load_table("cuda_wheels.toml", "versioned_wheel", VersionedWheel)


def cuda_versioned(cuda_major: int) -> tuple[str, ...]:
    return tuple(n for row in versioned_wheels() if row.cuda_major == cuda_major for n in row.names)


@dataclass(frozen=True)
class Built:
    """A package gpuready builds from source: its cached wheel when there is one, else a stub for resolving."""

    name: str  # plan package ("dlib")
    dist: str  # distribution ("dlib", "opencv-contrib-python")
    version: str  # what the resolver sees ("20.0.1+cu130.cudnn9.sm90.r1" for a cached wheel, "20.0.1" for a stub)
    wheel: str = ""  # the cached wheel's path ("" when it is not built yet)

    @property
    def requirement(self) -> str:
        return f"{self.dist}=={self.version}"


@dataclass(frozen=True)
class ResolveInput:
    requirements: tuple[str, ...]
    constraints: tuple[str, ...] = ()
    index_url: str = ""
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    trusted_hosts: tuple[str, ...] = ()
    no_index: bool = False
    built: tuple[Built, ...] = ()

    def index_args(self) -> list[str]:
        args: list[str] = []
        if self.no_index:
            args.append("--no-index")
        elif self.index_url:
            args += ["--index-url", self.index_url]
        if not self.no_index:
            for u in self.extra_index_urls:
                args += ["--extra-index-url", u]
        for u in self.find_links:
            args += ["--find-links", u]
        return args


@dataclass
class Resolution:
    ok: bool
    tool: str = ""  # "uv 0.13.9", "pip 25.3"
    lock: dict = field(default_factory=dict)  # PEP 751 as a TOML dict
    conflict: str = ""  # the resolver's explanation when it failed
    constraints: list[str] = field(default_factory=list)  # the CUDA pins that held
    notes: list[str] = field(default_factory=list)
    command: str = ""
    built: tuple[Built, ...] = ()
    input: ResolveInput | None = None

    def pins(self) -> dict[str, str]:
        return {canonicalize_name(p["name"]): str(p.get("version", "")) for p in self.lock.get("packages", [])}

    def to_dict(self) -> dict:
        return {"ok": self.ok, "tool": self.tool, "conflict": self.conflict, "constraints": list(self.constraints),
                "notes": list(self.notes), "command": self.command,
                "packages": [{"name": n, "version": v} for n, v in sorted(self.pins().items())]}


# --- from the plan to the resolver's input --------------------------------------------------------


def _is_source(p: PackagePlan) -> bool:
    return p.variant == "source" or bool(p.install and p.install[0] == "gpuready")


def built_packages(plan: Plan, cache_dir: Path | None = None) -> list[Built]:
    """The plan's source builds, each as its cached wheel (exact build key) or as a stub to be built."""
    from gpuready.build import cache

    out = []
    for p in plan.packages:
        if not _is_source(p) or not p.version:
            continue
        dist = p.dist or p.name
        entry = None
        if p.build:
            try:
                entry = cache.lookup(cache.key_from_settings(p.build), cache_dir)
            except (KeyError, TypeError, ValueError):
                entry = None
        if entry is not None:
            out.append(Built(p.name, dist, entry.version, str(entry.path)))
        else:
            out.append(Built(p.name, dist, p.version))
    return out


def resolve_input(plan: Plan, *, constraints: Sequence[str] = (), cache_dir: Path | None = None) -> ResolveInput:
    """Everything the plan installs, with the plan's index options merged the way its commands use them."""
    torch_base = str(plan.index.get("pytorch_index") or "https://download.pytorch.org/whl").split("{", 1)[0].rstrip("/")
    reqs: list[str] = []
    primary = ""
    extras: list[str] = []
    links: list[str] = []
    hosts: list[str] = []
    no_index = False
    for p in plan.packages:
        if not p.install or _is_source(p):
            continue
        try:
            verb, args = split_pip_argv(p.install)
        except ExecutorError:
            continue
        if verb != "install":
            continue
        i = 0
        while i < len(args):
            a = args[i]
            opt, eq, val = a.partition("=")
            if opt in ("--index-url", "-i", "--extra-index-url", "--find-links", "-f", "--trusted-host", "-e", "--editable") \
                    and (eq or i + 1 < len(args)):
                url = val if eq else args[i + 1]
                i += 1 if eq else 2
                if opt in ("-e", "--editable"):
                    reqs.append(url)
                elif opt in ("--index-url", "-i"):
                    if url.startswith(torch_base):
                        extras.append(url)  # the PyTorch index is one of several here: pins carry +cuXY
                    else:
                        primary = primary or url
                elif opt == "--extra-index-url":
                    extras.append(url)
                elif opt in ("--find-links", "-f"):
                    links.append(url)
                else:
                    hosts.append(url)
                continue
            if a == "--no-index":
                no_index = True
            i += 1
        reqs += [r for r in requirements_of(args)]
        reqs += list(knowledge.companions_for(p.name))
    built = built_packages(plan, cache_dir)
    reqs += [b.requirement for b in built]
    return ResolveInput(
        requirements=tuple(dict.fromkeys(reqs)), constraints=tuple(constraints), index_url=primary,
        extra_index_urls=tuple(u for u in dict.fromkeys(extras) if u != primary), find_links=tuple(dict.fromkeys(links)),
        trusted_hosts=tuple(dict.fromkeys(hosts)), no_index=no_index, built=tuple(built))


# --- running a resolver ---------------------------------------------------------------------------


def target_glibc(machine: Machine, *, here: bool) -> tuple[str, str]:
    """(glibc, how it is known): this host's own when the machine is this one, else its distribution's."""
    import os

    if machine.os.system != "linux":
        return "", ""
    if here:
        try:
            text = os.confstr("CS_GNU_LIBC_VERSION") or ""  # "glibc 2.39"
        except (ValueError, OSError, AttributeError):
            text = ""
        if text.startswith("glibc "):
            return text.split()[1], "this machine's C library"
    distro = machine.os.distro or ""
    return knowledge.glibc_for_distro(distro), f"the glibc of {distro or 'an unknown distribution (a floor)'}"


def uv_platform(machine: Machine, glibc: str = "") -> str:
    """uv's --python-platform for the target: `x86_64-manylinux_2_39`, `x86_64-pc-windows-msvc`, ..."""
    arch = machine.os.arch or "x86_64"
    system = machine.os.system
    if system == "windows":
        return {"x86_64": "x86_64-pc-windows-msvc", "aarch64": "aarch64-pc-windows-msvc", "arm64": "aarch64-pc-windows-msvc"}.get(arch, "i686-pc-windows-msvc")
    if system == "macos":
        return "aarch64-apple-darwin" if arch in ("arm64", "aarch64") else "x86_64-apple-darwin"
    gl = glibc or knowledge.glibc_for_distro(machine.os.distro or "")
    try:
        minor = int(gl.split(".")[1])
    except (IndexError, ValueError):
        minor = 28
    # uv knows manylinux_2_17, 2_28 and 2_31 .. 2_40 (uv pip compile --help, uv 0.13.9)
    known = [m for m in (17, 28, *range(31, 41)) if m <= minor]
    if arch not in ("x86_64", "aarch64") or not known:
        return f"{arch}-unknown-linux-gnu"
    return f"{arch}-manylinux_2_{known[-1]}"


def _write_inputs(folder: Path, inp: ResolveInput) -> tuple[Path, Path | None]:
    reqs = folder / "requirements.in"
    reqs.write_text("\n".join(inp.requirements) + "\n", encoding="utf-8")
    cons = None
    if inp.constraints:
        cons = folder / "constraints.txt"
        cons.write_text("\n".join(inp.constraints) + "\n", encoding="utf-8")
    return reqs, cons


def _stub_folder(folder: Path, inp: ResolveInput) -> list[str]:
    """Find-links for the built packages: the cache folders of cached wheels, and a folder of stubs."""
    links: list[str] = []
    stubs = folder / "stubs"
    for b in inp.built:
        if b.wheel:
            d = str(Path(b.wheel).parent)
            if d not in links:
                links.append(d)
        else:
            stubs.mkdir(exist_ok=True)
            stub_wheel(stubs, b.dist, b.version)
    if stubs.is_dir():
        links.append(str(stubs))
    return links


def conflict_text(output: str) -> str:
    """The resolver's own explanation of a failed resolution (uv's `error:`/`cause:` block, pip's ERROR lines)."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("error:") or line.startswith("  × ") or "No solution found" in line:
            block = [l for l in lines[i:] if l.strip() and not l.startswith(("warning:", "WARNING:"))]
            return "\n".join(block[:30])
    keep = [l for l in lines if l.startswith("ERROR:") or l.strip().startswith(("The conflict is caused by", "The user requested"))
            or re.match(r"^\s+\S.* depends on ", l)]
    if keep:
        start = next((i for i, l in enumerate(lines) if l in keep), 0)
        return "\n".join(l for l in lines[start:start + 30] if l.strip())
    tail = [l for l in lines if l.strip() and not l.startswith(("warning:", "WARNING:"))]
    return "\n".join(tail[-12:])


def _uv_resolve(uv: tuple[str, ...], inp: ResolveInput, machine: Machine, work: Path, *, glibc: str, timeout: float,
                log: CommandLog | None) -> tuple[bool, dict, str, str]:
    reqs, cons = _write_inputs(work, inp)
    out = work / "pylock.toml"
    args = [*uv, "pip", "compile", str(reqs), "--format", "pylock.toml", "-o", str(out), "--no-header", "--quiet",
            "--python-version", machine.python.version or machine.python.minor,
            "--python-platform", uv_platform(machine, glibc), "--index-strategy", "unsafe-best-match", "--no-config",
            # the interpreter for sdist builds; naming it saves uv's interpreter discovery (6 s through pyenv shims)
            "--python", sys.executable]
    if cons is not None:
        args += ["-c", str(cons)]
    args += inp.index_args()
    for link in _stub_folder(work, inp):
        args += ["--find-links", link]
    for host in inp.trusted_hosts:
        args += ["--allow-insecure-host", host]
    env = {"UV_PYTHON_DOWNLOADS": "never", "NO_COLOR": "1"}
    res = run(args, timeout=timeout, env={**_os_env(), **env}, log=log, title="resolve (uv pip compile)")
    display = " ".join(args)
    if not res.ok:
        return False, {}, conflict_text(res.output) or res.describe(), display
    return True, _read_toml(out), "", display


def _os_env() -> dict[str, str]:
    import os

    return dict(os.environ)


def _read_toml(path: Path) -> dict:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResolveError(f"the resolver's lock {path} cannot be read: {exc}") from None


def _pip_resolve(python: str, native: bool, inp: ResolveInput, machine: Machine, work: Path, *, glibc: str,
                 timeout: float, log: CommandLog | None) -> tuple[bool, dict, str, str]:
    reqs, cons = _write_inputs(work, inp)
    report = work / "report.json"
    args = [python, "-m", "pip", "install", "--dry-run", "--ignore-installed", "--quiet", "--disable-pip-version-check",
            "--no-input", "--report", str(report), "-r", str(reqs)]
    if cons is not None:
        args += ["-c", str(cons)]
    if not native:
        tags = offline.target_tags(machine, glibc)
        args += ["--only-binary=:all:", "--target", str(work / "target"), *tags.pip_args()]
    args += inp.index_args()
    for link in _stub_folder(work, inp):
        args += ["--find-links", link]
    for host in inp.trusted_hosts:
        args += ["--trusted-host", host]
    res = run(args, timeout=timeout, env={**_os_env(), "PYTHONUNBUFFERED": "1"}, log=log, title="resolve (pip --dry-run --report)")
    display = " ".join(args)
    if not res.ok:
        return False, {}, conflict_text(res.output) or res.describe(), display
    try:
        data = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResolveError(f"pip's report {report} cannot be read: {exc}") from None
    return True, lock_from_pip_report(data, machine), "", display


def lock_from_pip_report(report: dict, machine: Machine) -> dict:
    """pip's installation report (https://pip.pypa.io/en/stable/reference/installation-report/) as a PEP 751 dict."""
    packages = []
    for item in report.get("install", []):
        meta = item.get("metadata") or {}
        info = item.get("download_info") or {}
        url = info.get("url", "")
        hashes = dict((info.get("archive_info") or {}).get("hashes") or {})
        if not hashes and (info.get("archive_info") or {}).get("hash"):
            algo, _, digest = info["archive_info"]["hash"].partition("=")
            hashes = {algo: digest}
        entry: dict = {"name": canonicalize_name(meta.get("name", "")), "version": str(meta.get("version", ""))}
        name = url.rsplit("/", 1)[-1]
        if "dir_info" in info or "vcs_info" in info:
            entry["archive" if "dir_info" not in info else "directory"] = (
                {"path": url.removeprefix("file://")} if "dir_info" in info else {"url": url, "hashes": hashes})
        elif name.endswith(".whl"):
            entry["wheels"] = [{"url": url, "hashes": hashes}]
        else:
            entry["sdist"] = {"url": url, "hashes": hashes}
        packages.append(entry)
    py = machine.python.minor
    return {"lock-version": "1.0", "created-by": "pip", "requires-python": f">={py}" if py else None, "packages": packages}


def _tool(kind: str, uv: tuple[str, ...], python: str) -> str:
    res = run([*uv, "--version"] if kind == "uv" else [python, "-m", "pip", "--version"], timeout=30)
    words = res.stdout.split()
    return f"{kind} {words[1]}" if res.ok and len(words) > 1 else kind


def cuda_pins(lock: dict, cuda: str | None) -> dict[str, str]:
    """{name: constraint} for the CUDA-versioned wheels of `lock` that left the plan's CUDA minor."""
    if not cuda:
        return {}
    want = vtuple(cuda)[:2]
    if len(want) < 2:
        return {}
    names = set(cuda_versioned(want[0]))
    out = {}
    for p in lock.get("packages", []):
        name = canonicalize_name(p.get("name", ""))
        if name not in names:
            continue
        try:
            got = Version(str(p.get("version", ""))).release[:2]
        except InvalidVersion:
            continue
        if got[:1] == want[:1] and got != want:
            out[name] = f"{name}=={want[0]}.{want[1]}.*"
    return out


def resolve(plan: Plan, machine: Machine, *, tool: str = "auto", constraints: Sequence[str] = (), glibc: str = "",
            native_python: str | None = None, cache_dir: Path | None = None, timeout: float = 600.0,
            log: CommandLog | None = None, pin_cuda: bool = True,
            user_hashes: Mapping[str, Sequence[str]] | None = None) -> Resolution:
    """Resolve everything `plan` installs for `machine`; pin the CUDA-versioned wheels to the plan's CUDA.

    `native_python`: the target interpreter when it runs here (pip then resolves natively, sdists included).
    `user_hashes`: {project: ["sha256:..."]} from the user's requirements file; a resolved package none of whose
    files has one of them is a conflict (the file asked for other bytes).
    """
    uv = find_uv() if tool in ("auto", "uv") else ()
    if tool == "uv" and not uv:
        raise ResolveError("--resolver uv: uv is not installed here (pip install uv)")
    kind = "uv" if uv else "pip"
    python = native_python or sys.executable
    inp = resolve_input(plan, constraints=constraints, cache_dir=cache_dir)
    if not inp.requirements:
        return Resolution(True, tool=kind, lock={"lock-version": "1.0", "created-by": "gpuready", "packages": []}, input=inp)
    work = Path(tempfile.mkdtemp(prefix="gpuready-resolve-"))
    try:
        def attempt(extra: Sequence[str]) -> tuple[bool, dict, str, str]:
            sub = work / f"try{len(list(work.iterdir()))}"
            sub.mkdir()
            with_pins = ResolveInput(inp.requirements, (*inp.constraints, *extra), inp.index_url, inp.extra_index_urls,
                                     inp.find_links, inp.trusted_hosts, inp.no_index, inp.built)
            if kind == "uv":
                return _uv_resolve(uv, with_pins, machine, sub, glibc=glibc, timeout=timeout, log=log)
            return _pip_resolve(python, native_python is not None, with_pins, machine, sub, glibc=glibc, timeout=timeout, log=log)

        ok, lock, conflict, display = attempt(())
        res = Resolution(ok, tool=_tool(kind, uv, python), lock=lock, conflict=conflict, command=display, built=inp.built, input=inp)
        if kind == "pip" and native_python is None:
            res.notes.append("resolved by pip for another machine: wheels only (--only-binary=:all:); install uv for sdists too")
        if ok and user_hashes:
            bad = hash_mismatches(lock, user_hashes)
            if bad:
                res.ok, res.conflict = False, "\n".join(bad)
                return res
        if not ok or not pin_cuda:
            return res
        pins = cuda_pins(lock, plan.cuda)
        if not pins:
            return res
        ok2, lock2, _, display2 = attempt(tuple(pins.values()))
        held = dict(pins)
        if not ok2:  # some framework needs a newer one: keep the pins that do hold, one at a time
            held = {}
            for name, pin in pins.items():
                trial = (*held.values(), pin)
                ok_one, lock_one, _, display_one = attempt(trial)
                if ok_one:
                    held[name] = pin
                    lock2, display2 = lock_one, display_one
                else:
                    got = res.pins().get(name, "?")
                    res.notes.append(f"{name} stays {got}: the plan's CUDA {plan.cuda} is not allowed by what the packages require "
                                     f"(`{pin}` does not resolve)")
            ok2 = bool(held)
        if ok2:
            res.lock, res.command = lock2, display2
            res.constraints = sorted(held.values())
            moved = ", ".join(f"{n} {_version_in(lock, n)} -> {_version_in(lock2, n)}" for n in held)
            res.notes.append(f"held the CUDA runtime wheels to the plan's CUDA {plan.cuda}: {moved}")
        return res
    finally:
        shutil.rmtree(work, ignore_errors=True)


def hash_mismatches(lock: dict, user_hashes: Mapping[str, Sequence[str]]) -> list[str]:
    """Packages whose resolved files carry none of the hashes the user's requirements file gives for them."""
    out = []
    for p in lock.get("packages", []):
        name = canonicalize_name(p.get("name", ""))
        want = {h.replace("=", ":", 1) if ":" not in h else h for h in user_hashes.get(name, ())}
        if not want:
            continue
        files = [*(p.get("wheels") or []), p.get("sdist") or {}, p.get("archive") or {}]
        have = {f"{a}:{d}" for f in files for a, d in (f.get("hashes") or {}).items()}
        if not want & have:
            out.append(f"{name} {p.get('version')}: none of its files has a hash your requirements file gives "
                       f"({', '.join(sorted(want))[:200]}); the index's files are {', '.join(sorted(have))[:200] or 'unhashed'}")
    return out


def _version_in(lock: dict, name: str) -> str:
    for p in lock.get("packages", []):
        if canonicalize_name(p.get("name", "")) == name:
            return str(p.get("version", ""))
    return "?"


def requirement_name(text: str) -> str:
    try:
        return canonicalize_name(Requirement(text).name)
    except InvalidRequirement:
        return ""
