"""This machine as conda's and pixi's solvers see it: the virtual packages, ready to reuse elsewhere.

conda and pixi pick CUDA builds by *virtual packages* detected at solve time: `__cuda` (the highest
CUDA the driver runs), `__glibc`, and, with the nvidia-virtual-packages plugin (conda CEP 46),
`__cuda_arch` (the lowest compute capability of the GPUs, build string = the GPU model). On a CI
runner or login node without a GPU none of them is detected, so the solve silently picks CPU builds.
The same facts given as CONDA_OVERRIDE_* variables (conda, mamba, pixi all read them) or as a pixi
platform entry make that solve match the GPU machine.

Sources (checked 2026-12-02):
- https://docs.conda.io/projects/conda/en/stable/user-guide/tasks/manage-virtual.html (__cuda,
  __glibc, CONDA_OVERRIDE_CUDA / CONDA_OVERRIDE_GLIBC; an empty CONDA_OVERRIDE_CUDA removes __cuda)
- https://conda.org/learn/ceps/cep-0046 and conda-incubator/nvidia-virtual-packages
  nvidia_virtual_packages/cuda/arch.py (__cuda_arch; CONDA_OVERRIDE_CUDA_ARCH="VERSION[=BUILD]";
  the build string is the device name without spaces and "NVIDIA")
- https://pixi.prefix.dev/v0.76.0/reference/cli/pixi/workspace/platform/add/ and pixi's manifest
  docs: rich entries on `[workspace] platforms`, `cuda = { driver, arch }` (pixi >= 0.71); the
  older `[system-requirements]` table (cuda, libc = { family, version }) is deprecated but read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from gpuready.knowledge.cuda import cc_int
from gpuready.machine import Machine

SUBDIRS = {
    ("linux", "x86_64"): "linux-64",
    ("linux", "aarch64"): "linux-aarch64",
    ("linux", "ppc64le"): "linux-ppc64le",
    ("windows", "x86_64"): "win-64",
    ("windows", "arm64"): "win-arm64",
    ("windows", "aarch64"): "win-arm64",
    ("macos", "arm64"): "osx-arm64",
    ("macos", "aarch64"): "osx-arm64",
    ("macos", "x86_64"): "osx-64",
}


@dataclass(frozen=True)
class VirtualPackages:
    subdir: str  # "linux-64"
    cuda: str  # "13.0"; "" when no driver (then __cuda is absent)
    glibc: str  # "2.39"; "" off Linux
    cuda_arch: str  # "9.0": the lowest compute capability of the GPUs
    cuda_arch_build: str  # "H200": the model of that GPU, as the conda plugin spells it
    notes: tuple[str, ...] = ()


def _model(name: str) -> str:
    return name.replace(" ", "").replace("NVIDIA", "")


def virtual_packages(machine: Machine, glibc: str = "") -> VirtualPackages:
    """The virtual packages conda would detect on `machine` (`glibc`: its glibc, when known)."""
    notes: list[str] = []
    subdir = SUBDIRS.get((machine.os.system, machine.os.arch or "x86_64"), "")
    if not subdir:
        notes.append(f"no conda subdir known for {machine.os.system} {machine.os.arch}")
    cuda = machine.driver.cuda_version if machine.driver.present else ""
    if not cuda:
        notes.append("no NVIDIA driver: __cuda is absent (conda and pixi then solve CPU builds)")
    gpus = [g for g in machine.gpus if g.compute_capability]
    arch = build = ""
    if gpus:
        low = min(gpus, key=lambda g: cc_int(g.compute_capability))
        arch, build = low.compute_capability, _model(low.name)
        if len({g.compute_capability for g in gpus}) > 1:
            notes.append(f"GPUs of several compute capabilities: __cuda_arch is the lowest ({arch}, GPU {low.index})")
    elif machine.gpus:
        notes.append("the GPUs' compute capability is unknown: no __cuda_arch")
    return VirtualPackages(subdir, cuda, glibc if machine.os.system == "linux" else "", arch, build, tuple(notes))


def conda_overrides(vp: VirtualPackages) -> list[str]:
    """KEY=VALUE lines (for `env`, `set -a; . FILE`, or $GITHUB_ENV)."""
    lines = [f"CONDA_OVERRIDE_CUDA={vp.cuda}"]
    if vp.glibc:
        lines.append(f"CONDA_OVERRIDE_GLIBC={vp.glibc}")
    if vp.cuda and vp.cuda_arch:
        lines.append(f"CONDA_OVERRIDE_CUDA_ARCH={vp.cuda_arch}" + (f"={vp.cuda_arch_build}" if vp.cuda_arch_build else ""))
    return lines


def conda_summary(vp: VirtualPackages) -> list[str]:
    """How the solver will see it, in conda's own spelling (name=version=build)."""
    pkgs = []
    if vp.cuda:
        pkgs.append(f"__cuda={vp.cuda}=0")
    if vp.glibc:
        pkgs.append(f"__glibc={vp.glibc}=0")
    if vp.cuda and vp.cuda_arch:
        pkgs.append(f"__cuda_arch={vp.cuda_arch}" + (f"={vp.cuda_arch_build}" if vp.cuda_arch_build else ""))
    return pkgs


def _q(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def pixi_toml(vp: VirtualPackages) -> str:
    """A pixi manifest fragment: this machine as a rich platform entry, plus the older form as comments."""
    fields = []
    model = re.sub(r"[^a-z0-9]+", "-", vp.cuda_arch_build.lower()).strip("-")
    name = f"{vp.subdir}-{model or 'cuda'}" if vp.cuda else vp.subdir
    fields.append(f"name = {_q(name)}")
    fields.append(f"platform = {_q(vp.subdir)}")
    if vp.cuda and vp.cuda_arch:
        fields.append(f"cuda = {{ driver = {_q(vp.cuda)}, arch = {_q(vp.cuda_arch)} }}")
    elif vp.cuda:
        fields.append(f"cuda = {_q(vp.cuda)}")
    if vp.glibc:
        fields.append(f"glibc = {_q(vp.glibc)}")
    out = [
        "# This machine as a pixi platform (pixi >= 0.71: rich entries on [workspace] platforms).",
        "# A lock solved with it on a machine without a GPU picks the same CUDA builds as on this one.",
        "[workspace]",
        "platforms = [",
        f"  {{ {', '.join(fields)} }},",
        "]",
        "",
        "# Older pixi (the [system-requirements] table, deprecated since 0.71):",
        "# [system-requirements]",
    ]
    if vp.cuda:
        out.append(f"# cuda = {_q(vp.cuda)}")
    if vp.glibc:
        out.append(f'# libc = {{ family = "glibc", version = {_q(vp.glibc)} }}')
    out += [f"# note: {n}" for n in vp.notes]
    return "\n".join(out) + "\n"
