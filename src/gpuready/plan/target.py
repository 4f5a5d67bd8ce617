"""What the planner needs to know about the machine, and the overrides that plan for another one.

`plan --os windows --python 3.11 --driver 535.104.05 --gpu "NVIDIA GeForce RTX 3060"` plans for a
machine you are not on: the overrides are applied to the (probed or saved) Machine with
`dataclasses.replace`, so every later step sees one consistent Machine and never a mix of flags.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from gpuready.knowledge.cuda import cc_int, cc_str, cuda_mm, gpu_cc, gpu_model, max_cuda_for_driver, vtuple
from gpuready.machine import GPU, Driver, Machine, OSInfo

OS_NAMES = ("linux", "windows", "macos")


class OverrideError(ValueError):
    """An override value that cannot be understood (an unknown GPU name, a malformed driver version)."""


@dataclass(frozen=True)
class TargetGPU:
    index: int
    name: str
    cc: str  # "8.6", "" when unknown

    @property
    def sm(self) -> str:
        return f"sm_{cc_int(self.cc)}" if self.cc else "sm_?"

    def describe(self) -> str:
        return f"{self.name} ({self.sm})" if self.name else self.sm


@dataclass(frozen=True)
class Target:
    """The facts every check compares a build against, derived once from the Machine."""

    machine: Machine
    os: str  # "linux", "windows", "macos"; WSL counts as linux
    wsl: bool
    arch: str  # "x86_64", "aarch64", "arm64"
    python: str  # "3.12.3"
    driver: str  # "" when no driver
    driver_cuda: str  # newest CUDA the driver runs natively ("12.2"), "" when unknown
    gpus: tuple[TargetGPU, ...]
    nvidia_devices: int  # GPUs seen on the PCI bus with or without a driver

    @property
    def tegra(self):
        """The Jetson facts (machine.Tegra) when this is an NVIDIA Jetson board, else None."""
        return getattr(self.machine, "tegra", None)

    @property
    def python_minor(self) -> str:
        return ".".join(self.python.split(".")[:2])

    @property
    def has_gpu(self) -> bool:
        return bool(self.gpus) or self.nvidia_devices > 0 or self.tegra is not None

    @property
    def driver_os(self) -> str:
        """Whose driver numbering applies: WSL runs on the Windows driver."""
        return "windows" if self.os == "windows" or self.wsl else "linux"

    @property
    def ccs(self) -> tuple[str, ...]:
        return tuple(sorted({g.cc for g in self.gpus if g.cc}, key=cc_int))

    def describe_os(self) -> str:
        return f"{self.os}{' (WSL2)' if self.wsl else ''} {self.arch}"


def target_from_machine(m: Machine) -> Target:
    gpus = tuple(TargetGPU(g.index, g.name, g.compute_capability or gpu_cc(g.name)) for g in m.gpus)
    driver = m.driver.version
    driver_cuda = m.driver.cuda_version or (max_cuda_for_driver(driver, "windows" if m.os.system == "windows" or m.os.wsl else "linux") if driver else "")
    return Target(
        machine=m,
        os=m.os.system if m.os.system in OS_NAMES else "linux",
        wsl=m.os.wsl,
        arch=m.os.arch or "x86_64",
        python=m.python.version or "3",
        driver=driver,
        driver_cuda=cuda_mm(driver_cuda) if driver_cuda else "",
        gpus=gpus,
        nvidia_devices=m.driver.nvidia_pci_devices,
    )


# --- overrides -------------------------------------------------------------------------------------

_SM_RE = re.compile(r"^(?:sm_?)?(\d{2,3})$", re.I)
_CC_RE = re.compile(r"^(\d{1,2})\.(\d)$")


def _known_or_fail(sm: int, text: str) -> None:
    from gpuready.knowledge.cuda import known_archs

    known = known_archs()
    if sm not in known:
        raise OverrideError(f"--gpu {text!r}: no NVIDIA GPU has compute capability {cc_str(sm)} "
                            f"(known: {cc_str(min(known))} to {cc_str(max(known))})")


def parse_gpu(text: str, index: int) -> GPU:
    """ "NVIDIA GeForce RTX 3060", "Tesla V100-SXM2-16GB", "sm_86", "86" or "8.6" -> a GPU."""
    text = text.strip()
    if not text:
        raise OverrideError("--gpu needs a GPU name (as nvidia-smi prints it) or a target like sm_86")
    m = _SM_RE.match(text)
    if m:
        _known_or_fail(int(m.group(1)), text)
        cc = cc_str(int(m.group(1)))
        return GPU(index=index, name=f"sm_{m.group(1)}", compute_capability=cc)
    m = _CC_RE.match(text)
    if m:
        _known_or_fail(int(m.group(1)) * 10 + int(m.group(2)), text)
        return GPU(index=index, name=f"sm_{m.group(1)}{m.group(2)}", compute_capability=text)
    model = gpu_model(text)
    if model is None:
        raise OverrideError(
            f"--gpu {text!r}: not a GPU gpuready knows; give its name as nvidia-smi prints it "
            "(\"NVIDIA GeForce RTX 3060\") or its compute capability as sm_XY (sm_86)"
        )
    return GPU(index=index, name=text, compute_capability=model.cc)


def parse_python(text: str) -> str:
    if not re.fullmatch(r"3\.\d{1,2}(\.\d+)?", text.strip()):
        raise OverrideError(f"--python {text!r}: expected a Python version like 3.11")
    return text.strip()


def parse_driver(text: str) -> str:
    text = text.strip()
    if not re.fullmatch(r"\d{3}(\.\d{1,3}){0,2}", text):
        raise OverrideError(f"--driver {text!r}: expected an NVIDIA driver version like 535.104.05")
    return text


def apply_overrides(
    m: Machine,
    *,
    os_name: str | None = None,
    python: str | None = None,
    driver: str | None = None,
    gpus: tuple[str, ...] | list[str] = (),
) -> Machine:
    """A copy of `m` with the given facts replaced; facts that belong to the old OS are dropped."""
    changes: dict = {}
    if os_name:
        os_name = os_name.lower()
        if os_name not in OS_NAMES:
            raise OverrideError(f"--os {os_name!r}: expected one of {', '.join(OS_NAMES)}")
        if os_name != m.os.system:
            # Toolkits, cuDNN copies and compilers of another OS say nothing about this one.
            arch = "arm64" if os_name == "macos" and m.os.arch in ("arm64", "aarch64") else (m.os.arch or "x86_64")
            changes.update(os=OSInfo(system=os_name, arch=arch), toolkits=(), cudnns=(), compilers=(), cmake="", tegra=None)
            # The interpreter's platform tag belongs to the old OS too: a build planned for Windows must not be
            # tagged linux_x86_64 (build settings and wheel names read it).
            changes["python"] = dataclasses.replace(m.python, platform_tag=platform_tag_for(os_name, arch))
    if python:
        version = parse_python(python)
        changes["python"] = dataclasses.replace(changes.get("python", m.python), version=version)
    if gpus:
        changes["gpus"] = tuple(parse_gpu(g, i) for i, g in enumerate(gpus))
    if driver:
        version = parse_driver(driver)
        os_for_table = (changes.get("os") or m.os).system
        changes["driver"] = Driver(
            version=version,
            cuda_version=max_cuda_for_driver(version, "windows" if os_for_table == "windows" else "linux"),
            source="override",
            nvidia_pci_devices=max(m.driver.nvidia_pci_devices, len(changes.get("gpus", m.gpus))),
        )
    if "gpus" in changes and "driver" not in changes:
        drv = m.driver
        changes["driver"] = dataclasses.replace(drv, nvidia_pci_devices=max(drv.nvidia_pci_devices, len(changes["gpus"])))
    if not changes:
        return m
    desc = m.description
    note = ", ".join(f"{k}={v}" for k, v in (("os", os_name), ("python", python), ("driver", driver)) if v)
    if gpus:
        note += (", " if note else "") + "gpu=" + "+".join(gpus)
    changes["description"] = (desc + "; " if desc else "") + f"plan overrides: {note}"
    return dataclasses.replace(m, **changes)


PLATFORM_TAGS = {
    ("linux", "x86_64"): "linux_x86_64",
    ("linux", "aarch64"): "linux_aarch64",
    ("windows", "x86_64"): "win_amd64",
    ("windows", "arm64"): "win_arm64",
    ("macos", "arm64"): "macosx_11_0_arm64",
    ("macos", "x86_64"): "macosx_10_9_x86_64",
}


def platform_tag_for(os_name: str, arch: str) -> str:
    """The platform tag a CPython of this OS/CPU reports (as probe.pyenv.platform_tag writes it)."""
    return PLATFORM_TAGS.get((os_name, arch), f"{os_name}_{arch}")


def driver_at_least(driver: str, floor: str) -> bool:
    return bool(driver) and bool(floor) and vtuple(driver) >= vtuple(floor)
