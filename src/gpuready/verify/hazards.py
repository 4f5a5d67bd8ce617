"""Native-extension hazards: C++ modules that will not share one libstdc++ with numpy and torch.

On the H100/H200 test machine a CUDA dlib built with a second toolchain (/opt/gcc) said
`DLIB_USE_CUDA == True` and then died with SIGSEGV next to numpy: its extension carried a
static libstdc++. `doctor` finds that before anything crashes, by reading the installed
extension modules' dynamic sections (our own ELF reader: no binutils needed), and names the
compiler to rebuild with. The rules, their labels and wording live in hazards.toml.

Works on the saved Machine's paths only where they exist: a machine saved on another host
is skipped silently, as are non-Linux systems.
"""

from __future__ import annotations

import functools
import glob
import os
from dataclasses import dataclass, field

from gpuready.findings import Finding
from gpuready.knowledge.frameworks import display, get as framework_entry
from gpuready.knowledge.loader import load_table
from gpuready.machine import Framework, Machine
from gpuready.elf import ElfInfo, glibcxx_versions, read_elf, version_name

LIBSTDCXX = "libstdc++.so.6"
TRIPLETS = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu", "ppc64le": "powerpc64le-linux-gnu"}


@dataclass(frozen=True)
class HazardRule:
    id: str
    label: str
    severity: str
    message: str
    fix: str
    source: str
    see_also: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtensionGlob:
    framework: str
    globs: tuple[str, ...]
    source: str


@dataclass(frozen=True)
class LibDir:
    path: str
    source: str


@dataclass(frozen=True)
class Hazard:
    rule: HazardRule
    framework: str  # import name
    module: str  # path of the extension module
    values: dict[str, str] = field(default_factory=dict)  # the placeholders' values
    evidence: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        return self.rule.message.format(**self.values)

    @property
    def fix(self) -> str:
        return self.rule.fix.format(**self.values)

    def finding(self) -> Finding:
        # The subject must not start with the framework's name: `doctor --verify` replaces findings
        # whose first word matches a verified framework, and this one must survive that.
        return Finding(
            self.rule.label,
            self.rule.severity,
            f"Native module {os.path.basename(self.module)}",
            self.message,
            evidence=self.evidence,
            fix=self.fix,
            details={"rule": self.rule.id, "framework": self.framework, "module": self.module, "source": self.rule.source},
        )


@functools.lru_cache(maxsize=None)
def rules() -> dict[str, HazardRule]:
    return {r.id: r for r in load_table("hazards.toml", "rule", HazardRule)}


@functools.lru_cache(maxsize=None)
def extension_globs() -> dict[str, ExtensionGlob]:
    return {e.framework: e for e in load_table("hazards.toml", "extension", ExtensionGlob)}


@functools.lru_cache(maxsize=None)
def libdirs() -> tuple[LibDir, ...]:
    return load_table("hazards.toml", "libdir", LibDir)


def check_native_extensions(machine: Machine) -> list[Finding]:
    """doctor's check: one finding per hazardous extension module of an installed GPU framework."""
    return [h.finding() for h in scan(machine)]


def scan(machine: Machine, only: tuple[str, ...] = ()) -> list[Hazard]:
    if machine.os.system != "linux":
        return []
    out: list[Hazard] = []
    seen: set[str] = set()
    runtime = None  # the environment's libstdc++, looked up once when a module needs it
    for fw in machine.frameworks:
        if only and fw.name not in only:
            continue
        for module in extension_modules(fw):
            real = os.path.realpath(module)
            if real in seen:
                continue
            seen.add(real)
            info = read_elf(module)
            if info is None:
                continue
            if runtime is None:
                runtime = environment_libstdcxx(machine)
            out.extend(judge(machine, fw, info, runtime))
    return out


def extension_modules(fw: Framework) -> list[str]:
    """The extension files of `fw`'s active copy that exist on this host ([] for other hosts' paths)."""
    spec = extension_globs().get(fw.name)
    if spec is None:
        return []
    places: list[str] = []
    active = [c for c in fw.copies if c.active] or list(fw.copies[:1])
    places.extend(c.path for c in active)
    module = (fw.details or {}).get("module", "")
    if module:
        places.append(module)
    found: list[str] = []
    for place in places:
        if not place or not os.path.exists(place):
            continue
        base = os.path.dirname(place.rstrip("/\\"))
        for pattern in spec.globs:
            for path in sorted(glob.glob(os.path.join(base, pattern))):
                if os.path.isfile(path) and path not in found:
                    found.append(path)
    return found


@dataclass(frozen=True)
class Runtime:
    """The libstdc++ a process of this environment loads, and the GLIBCXX versions it defines."""

    path: str = ""
    versions: tuple[tuple[int, ...], ...] = ()

    @property
    def newest(self) -> tuple[int, ...]:
        return max(self.versions) if self.versions else ()


def environment_libstdcxx(machine: Machine) -> Runtime:
    """conda's own libstdc++ (python's RPATH finds it first), else the system one."""
    candidates: list[str] = []
    if machine.python.env_kind == "conda" and machine.python.prefix:
        candidates.append(os.path.join(machine.python.prefix, "lib", LIBSTDCXX))
    triplet = TRIPLETS.get(machine.os.arch, f"{machine.os.arch}-linux-gnu")
    candidates.extend(os.path.join(d.path.format(triplet=triplet), LIBSTDCXX) for d in libdirs())
    for path in candidates:
        if os.path.exists(path):
            info = read_elf(path, scan_markers=False)
            if info is not None:
                return Runtime(path=os.path.realpath(path), versions=tuple(sorted(glibcxx_versions(info.version_defs))))
    return Runtime()


def system_compilers(machine: Machine) -> tuple[str, str]:
    """(CC, CXX) of the distribution's own GCC: the one numpy/torch-compatible modules are built with."""
    for comp in machine.compilers:
        if comp.kind != "gcc" or not comp.path:
            continue
        path = comp.path
        if path.startswith(("/usr/bin/", "/bin/")) and os.path.basename(path).startswith(("g++", "c++")):
            cc = os.path.join(os.path.dirname(path), os.path.basename(path).replace("g++", "gcc").replace("c++", "cc"))
            return cc, path
    return "/usr/bin/gcc", "/usr/bin/g++"


def built_by(info: ElfInfo) -> str:
    gcc = [c for c in info.comment if c.startswith(("GCC:", "clang", "Ubuntu clang", "GNU"))]
    return ("built by " + " / ".join(gcc)) if gcc else "its compiler is not recorded in the file"


def judge(machine: Machine, fw: Framework, info: ElfInfo, runtime: Runtime) -> list[Hazard]:
    """The hazards of one extension module."""
    cc, cxx = system_compilers(machine)
    values = {
        "module": info.path,
        "framework": f"{display(fw.name)} {fw.version}".strip(),
        "built_by": built_by(info),
        "cc": cc,
        "cxx": cxx,
        "needed": "",
        "provided": "",
        "libstdcxx": runtime.path or "not found",
    }
    evidence = [f"NEEDED: {', '.join(info.needed) or '(none)'}"]
    if info.comment:
        evidence.append(f".comment: {' | '.join(info.comment[:3])}")
    others = [c for c in machine.compilers if c.kind in ("gcc", "clang") and c.path and c.path != cxx]
    if others:
        evidence.append("other compilers here: " + ", ".join(f"{c.path} ({c.kind} {c.version}, {c.origin})" for c in others[:4]))
    out: list[Hazard] = []
    shared_cxx = info.needs("libstdc++.so") or info.needs("libc++.so")
    if not shared_cxx and info.cxx_runtime_inside:
        rule = rules()["static_libstdcxx"]
        out.append(Hazard(rule, fw.name, info.path, values, tuple(evidence)))
    needed = glibcxx_versions(info.version_needs.get(LIBSTDCXX, ()))
    if needed and runtime.versions:
        top = max(needed)
        if top > runtime.newest:
            rule = rules()["glibcxx_too_new"]
            vals = dict(values, needed=version_name(top), provided=version_name(runtime.newest))
            ev = tuple(evidence) + (f"{runtime.path} defines up to {version_name(runtime.newest)}",)
            out.append(Hazard(rule, fw.name, info.path, vals, ev))
    return out


def hazards_for(machine: Machine, name: str) -> list[Hazard]:
    """Hazards of one framework's modules (verify uses them to explain a crash)."""
    try:
        entry = framework_entry(name)  # and the frameworks it reaches the GPU through (face_recognition -> dlib)
        return scan(machine, only=(name, *(entry.gpu_through if entry else ())))
    except Exception:  # a hazard scan must never take a verdict down
        return []
