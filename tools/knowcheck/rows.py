"""Every pin the planner can print, from the knowledge data, with the targets it can be printed for.

A *pin* is what a plan's install command names: a requirement (`torch==2.14.1+cu126`,
`jax[cuda13]==0.11.2`, `dlib==20.0.1` for a source build) on one index (PyPI, one PyTorch variant
index, JAX's release page), for a set of *targets* (Python minor, OS, CPU). Pins are derived with the
planner's own code (`plan.installs.install_for`), so what is checked is exactly what `plan` prints.
Used by tools/check_knowledge.py (with network) and by tests/test_index_snapshot.py (offline).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from gpuready.knowledge import pep440
from gpuready.knowledge.packages import KINDS, Build, builds, package_info
from gpuready.machine import Machine, OSInfo, PythonInfo
from gpuready.plan.indexes import PYTORCH, IndexConfig
from gpuready.plan.installs import install_for
from gpuready.plan.target import Target

# The (OS, CPU) pairs people plan for, and the Python minors a row is checked for.
TARGETS = (("linux", "x86_64"), ("linux", "aarch64"), ("windows", "x86_64"), ("macos", "arm64"), ("macos", "x86_64"))
PY_MINORS = tuple(f"3.{m}" for m in range(5, 16))


@dataclass
class Pin:
    package: str  # the knowledge package the row belongs to ("torch", "torchvision", "tensorflow", ...)
    dist: str
    version: str  # as pinned, "2.14.1+cu126"; "" for a requirement with another specifier
    extras: tuple[str, ...]
    index: str  # "pypi", "pytorch:cu126", "pytorch:cpu", "pytorch:stable", "find-links:<url>"
    kind: str = "wheel"  # "wheel", "sdist" (a source build), "requirement" (a specifier, not a pin)
    specifier: str = ""  # for kind == "requirement"
    confirmed: bool = True  # what the data says about the row
    gpu: bool = False
    label: str = ""
    source: str = ""
    targets: set[tuple[str, str, str]] = field(default_factory=set)  # (python minor, os, arch)
    gpu_targets: set[tuple[str, str, str]] = field(default_factory=set)  # the targets a GPU build claims
    pypi_too: bool = False  # the PyTorch index is named with --find-links/--extra-index-url: pip searches PyPI as well

    @property
    def key(self) -> tuple[str, str, str, tuple[str, ...], str]:
        return (self.index, self.dist, self.version or self.specifier, self.extras, self.kind)

    @property
    def requirement(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.dist}{extras}" + (f"=={self.version}" if self.version else self.specifier)


def python_minors(spec: str) -> list[str]:
    return [m for m in PY_MINORS if not spec or pep440.contains(spec, m + ".0") or pep440.contains(spec, m + ".99")]


def target_for(os_name: str, arch: str, python: str) -> Target:
    """A bare Target: what install_for reads (OS, CPU, Python) and nothing else."""
    m = Machine(os=OSInfo(system=os_name, arch=arch), python=PythonInfo(version=python + ".0"))
    return Target(machine=m, os=os_name, wsl=False, arch=arch, python=python + ".0", driver="", driver_cuda="",
                  gpus=(), nvidia_devices=0)


def index_key(url: str | None, style: str = "") -> str:
    if not url:
        return "pypi"
    if url.startswith(PYTORCH):
        rest = url[len(PYTORCH):].strip("/")
        return "pytorch:stable" if rest.endswith("torch_stable.html") else f"pytorch:{rest}"
    return f"find-links:{url}"


_REQ = re.compile(r"^([A-Za-z0-9._-]+)(?:\[([^\]]*)\])?(==|<|>|~=|!=|<=|>=)?(.*)$")


def searches_pypi(argv: list[str] | tuple[str, ...]) -> bool:
    """Does pip also search PyPI for this command (no --index-url naming another index)?"""
    return "--index-url" not in argv


def parse_argv(argv: list[str] | tuple[str, ...]) -> tuple[list[tuple[str, tuple[str, ...], str, str]], str]:
    """(requirements as (dist, extras, op, version), index key) of a `pip install ...` argv from the planner."""
    reqs: list[tuple[str, tuple[str, ...], str, str]] = []
    index = "pypi"
    args = list(argv[2:])
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("--index-url", "--extra-index-url", "--find-links", "-f"):
            url = args[i + 1]
            if url.startswith(PYTORCH) or a == "--find-links":
                index = index_key(url)
            i += 2
            continue
        if a.startswith("-"):
            i += 1
            continue
        m = _REQ.match(a)
        if m:
            extras = tuple(e for e in (m.group(2) or "").split(",") if e)
            reqs.append((m.group(1), extras, m.group(3) or "", m.group(4) or ""))
        i += 1
    return reqs, index


class PinSet:
    def __init__(self) -> None:
        self.pins: dict[tuple, Pin] = {}

    def add(self, pin: Pin, target: tuple[str, str, str]) -> None:
        have = self.pins.get(pin.key)
        if have is None:
            have = self.pins[pin.key] = pin
        else:
            have.confirmed = have.confirmed and pin.confirmed
            have.gpu = have.gpu or pin.gpu
            have.pypi_too = have.pypi_too or pin.pypi_too
        have.targets.add(target)
        if pin.gpu:
            have.gpu_targets.add(target)

    def add_argv(self, argv, build: Build, target: tuple[str, str, str], *, package: str = "", label: str = "") -> None:
        reqs, index = parse_argv(argv)
        for n, (dist, extras, op, version) in enumerate(reqs):
            main = n == 0
            # a source build installs from the sdist; a companion requirement may be an sdist (pip builds it)
            kind = ("sdist" if build.source_build else "wheel") if main and op == "==" else ("dep" if op == "==" else "requirement")
            self.add(Pin(package=package or build.package, dist=dist, version=version if op == "==" else "",
                         specifier="" if op == "==" else f"{op}{version}", extras=extras,
                         index=index if main else "pypi", kind=kind, confirmed=build.confirmed,
                         gpu=build.gpu and main, label=label or build.label, source=build.source,
                         pypi_too=main and index != "pypi" and searches_pypi(argv)), target)


def _targets(b: Build):
    for os_name, arch in TARGETS:
        if os_name in b.os and arch in b.platforms:
            for py in python_minors(b.python):
                yield os_name, arch, py


def all_pins() -> PinSet:
    """Every pin plan can print, from the data as it is now."""
    ps = PinSet()
    idx = IndexConfig()
    for name, kind in KINDS.items():
        if kind == "dead":
            continue
        for b in _spellings(name, builds(name)):
            for os_name, arch, py in _targets(b):
                t = target_for(os_name, arch, py)
                argv, _, _ = install_for(b, t, idx, b.companions)
                ps.add_argv(argv, b, (py, os_name, arch))
                if name == "torch":
                    _companions(ps, b, t, idx, (py, os_name, arch))
    _source_builds(ps)
    _toolkit_wheels(ps)
    return ps


def _spellings(name: str, bs) -> list[Build]:
    """OpenCV is planned under the distribution the user typed (opencv-python, -contrib-, -headless): all of them."""
    out = list(bs)
    if name == "opencv":
        from gpuready.plan.candidates import OPENCV_DISTS

        for gpu_dist, cpu_dist in OPENCV_DISTS.values():
            out += [dataclasses.replace(b, dist=gpu_dist if b.gpu else cpu_dist) for b in bs]
    return out


def _companions(ps: PinSet, b: Build, t: Target, idx: IndexConfig, target) -> None:
    """torchvision/torchaudio exactly as the planner installs them next to torch build `b`."""
    from gpuready.plan.companions import companion_install

    for comp_name in ("torchvision", "torchaudio"):
        found = companion_install(comp_name, b, t, idx)
        if found is None:
            continue
        version, argv, _, _, _ = found
        comp = dataclasses.replace(b, package=comp_name, dist=comp_name, version=version)
        ps.add_argv(argv, comp, target, package=comp_name, label=f"{comp_name} {version} (with {b.label})")


def _source_builds(ps: PinSet) -> None:
    """dlib/OpenCV GPU builds are `gpuready build` from the sdist: the sdist must exist."""
    from gpuready.knowledge.package_rows import source_releases

    from gpuready.plan.candidates import OPENCV_DISTS

    for name in ("dlib", "opencv"):
        info = package_info(name)
        dists = {info.gpu_dist or name} | ({g for g, _ in OPENCV_DISTS.values()} if name == "opencv" else set())
        for rel in source_releases(name):
            if not rel.gpu:
                continue
            for version in rel.versions:
                for dist in sorted(dists):
                    for os_name in ("linux", "windows"):
                        for py in python_minors(rel.python):
                            ps.add(Pin(package=name, dist=dist, version=version, extras=(), index="pypi", kind="sdist",
                                       confirmed=rel.confirmed, gpu=True, label=f"{dist} {version} (source build)",
                                       source=rel.source), (py, os_name, "x86_64"))


def _toolkit_wheels(ps: PinSet) -> None:
    """The CUDA toolkit a source build assembles from NVIDIA's pip wheels (Linux x86_64)."""
    from gpuready.knowledge.cudnn import cudnn_wheels
    from gpuready.knowledge.package_rows import toolkit_wheels

    for w in toolkit_wheels():
        for req in w.packages:
            m = _REQ.match(req)
            if not m:
                continue
            exact = m.group(3) == "==" and "*" not in m.group(4)
            pin = Pin(package="cuda-toolkit", dist=m.group(1), version=m.group(4) if exact else "",
                      specifier="" if exact else (m.group(3) or "") + (m.group(4) or ""), extras=(), index="pypi",
                      kind="wheel" if exact else "requirement", label=f"CUDA {w.cuda} toolkit wheels: {req}",
                      source=w.source)
            for py in python_minors(">=3.8"):
                ps.add(pin, (py, "linux", "x86_64"))
    for cw in cudnn_wheels():
        pin = Pin(package="cudnn", dist=cw.dist, version="", specifier="", extras=(), index="pypi", kind="requirement",
                  label=f"{cw.dist} (a source build's cuDNN)", source=cw.source)
        for py in python_minors(">=3.8"):
            ps.add(pin, (py, "linux", "x86_64"))
