"""Why a GPU the machine has is not usable by this process: one finding per cause, with its fix.

The driver sees a GPU (NVML lists it) and yet torch, JAX and CuPy see none: that is rarely the
driver. It is one environment variable (CUDA_VISIBLE_DEVICES empty, -1, an index or UUID that does
not exist), a container started without GPU access (NVIDIA_VISIBLE_DEVICES=void, no /dev/nvidia*),
a device file this user may not open, WSL without the Windows driver's libcuda, or the nouveau
module holding the card. Each is read off the Machine (probe/driver.py records the facts), so doctor
and verify name the same cause with the same label and fix, and a saved machine is judged the same
way as a live one.

Also here: a driver that does not answer at all (nvidia-smi hung, "couldn't communicate with the
NVIDIA driver", NVML failing to initialise) is a problem, never "no problems found".
"""

from __future__ import annotations

import re

from gpuready.findings import Finding
from gpuready.machine import GPU, Machine

HANG_WORDS = ("did not answer within",)
NO_TALK_WORDS = (
    "couldn't communicate with the nvidia driver",
    "driver not loaded",
    "driver_not_loaded",
    "library not found",
)


# --- CUDA_VISIBLE_DEVICES -----------------------------------------------------------------------------


def visible_gpus(value: str | None, gpus: tuple[GPU, ...]) -> tuple[list[GPU], str]:
    """The GPUs CUDA shows for this CUDA_VISIBLE_DEVICES value, and the first entry it stopped at ("" if none).

    CUDA's rule: a comma-separated list of indices or (prefixes of) GPU UUIDs; the list ends at the
    first entry that is not a device, so "0,7,1" on a one-GPU machine shows GPU 0 only and "-1" or ""
    shows nothing. MIG UUIDs cannot be checked from NVML's GPU list and are taken as valid.
    """
    if value is None:
        return list(gpus), ""
    out: list[GPU] = []
    entries = [e.strip() for e in value.split(",")] if value.strip() else [""]
    for entry in entries:
        gpu = _match(entry, gpus)
        if gpu is None:
            return out, entry
        if gpu not in out:
            out.append(gpu)
    return out, ""


def _match(entry: str, gpus: tuple[GPU, ...]) -> GPU | None:
    if re.fullmatch(r"\d+", entry):
        i = int(entry)
        return next((g for g in gpus if g.index == i), None)
    low = entry.lower()
    if low.startswith("mig-"):
        return GPU(index=-1, name=entry, uuid=entry)
    if low.startswith("gpu-") and len(low) > 4:
        hits = [g for g in gpus if g.uuid.lower().startswith(low)]
        return hits[0] if len(hits) == 1 else None
    return None


def _gpu_list(gpus: tuple[GPU, ...]) -> str:
    return "; ".join(f"{g.index} = {g.uuid or g.name}" for g in gpus) or "none"


def _unset(m: Machine, var: str) -> str:
    if m.os.system == "windows":
        return f"`set {var}=` (cmd) or `Remove-Item Env:{var}` (PowerShell), and remove it from the system environment variables"
    return f"`unset {var}` (and remove it from ~/.bashrc, the job script or the IDE's run configuration)"


def check_cuda_visible_devices(m: Machine) -> list[Finding]:
    value = m.driver.cuda_visible_devices
    if value is None:
        return []
    shown, stopped = visible_gpus(value, m.gpus)
    listing = _gpu_list(m.gpus)
    evidence = (f"CUDA_VISIBLE_DEVICES={value!r}", f"GPUs the driver sees: {listing}")
    if shown:
        if not stopped:
            return []
        return [
            Finding(
                "env_mismatch",
                "warning",
                "CUDA_VISIBLE_DEVICES",
                f"CUDA_VISIBLE_DEVICES={value!r}: CUDA stops reading the list at {stopped!r} (no such GPU), so only "
                f"{', '.join(str(g.index) for g in shown)} of the listed devices are visible.",
                evidence=evidence,
                fix=f"List only GPUs that exist ({listing}), e.g. `export CUDA_VISIBLE_DEVICES={','.join(str(g.index) for g in m.gpus) or '0'}`.",
            )
        ]
    if value.strip() == "":
        why = "is set but empty: CUDA hides every GPU from this process"
    elif value.strip().startswith("-"):
        why = f"is {value!r}: a negative index hides every GPU (the usual way to force the CPU)"
    elif stopped.lower().startswith("gpu-"):
        why = f"names {stopped!r}, which is not the UUID of a GPU here, so CUDA hides every GPU"
    else:
        why = f"starts with {stopped!r}, which is no GPU here (CUDA stops at the first bad entry), so every GPU is hidden"
    have = f"the driver sees {len(m.gpus)} GPU(s)" if m.gpus else "CUDA programs see no GPU"
    example = m.gpus[0].index if m.gpus else 0
    return [
        Finding(
            "env_mismatch",
            "error" if m.has_gpu else "info",
            "CUDA_VISIBLE_DEVICES",
            f"CUDA_VISIBLE_DEVICES {why}; {have}, but torch, JAX, CuPy and the others see none. The driver is fine.",
            evidence=evidence,
            fix=f"{_unset(m, 'CUDA_VISIBLE_DEVICES')[0].upper()}{_unset(m, 'CUDA_VISIBLE_DEVICES')[1:]}; or set it to GPUs that exist "
            f"(`CUDA_VISIBLE_DEVICES={example}`; indices and UUIDs from `nvidia-smi -L`: {listing}).",
        )
    ]


# --- containers, device files, WSL, nouveau -----------------------------------------------------------

HIDING_NVIDIA_VISIBLE = ("void", "none", "")


def check_container(m: Machine) -> list[Finding]:
    d = m.driver
    nvd = d.nvidia_visible_devices
    if nvd is not None and nvd.strip().lower() in HIDING_NVIDIA_VISIBLE and not m.gpus:
        return [
            Finding(
                "driver_missing",
                "error",
                "container",
                f"NVIDIA_VISIBLE_DEVICES={nvd!r}: the NVIDIA container runtime gives this container no GPU "
                "(the image asks for GPUs, the container was started without them).",
                evidence=(f"NVIDIA_VISIBLE_DEVICES={nvd!r}",),
                fix="Start the container with GPUs: `docker run --gpus all ...` (or `--gpus device=0`); in Kubernetes request "
                "`nvidia.com/gpu: 1` in the pod's resources; do not set NVIDIA_VISIBLE_DEVICES=void/none.",
            )
        ]
    if m.os.container and d.nodes_checked and not _gpu_nodes(m) and not m.gpus:
        cuda = [f for f in m.frameworks if f.status == "ok" and f.cuda_build]
        if not (cuda or d.present or d.nvidia_pci_devices or nvd is not None):
            return []  # a CPU container on a CPU host: nothing is hidden
        return [
            Finding(
                "driver_missing",
                "error" if (d.present or d.nvidia_pci_devices or nvd is not None) else "warning",
                "container",
                "This is a container without GPU access: there is no /dev/nvidia* device in it"
                + (f", so the CUDA builds installed ({', '.join(f.name for f in cuda)}) run on the CPU." if cuda else "."),
                evidence=("no /dev/nvidia0, /dev/nvidiactl",) + ((f"NVIDIA_VISIBLE_DEVICES={nvd!r}",) if nvd is not None else ()),
                fix="Start it with GPU access: `docker run --gpus all ...` (NVIDIA Container Toolkit installed on the host; "
                "`podman run --device nvidia.com/gpu=all ...` with CDI); in Kubernetes request `nvidia.com/gpu`.",
            )
        ]
    return []


def _gpu_nodes(m: Machine) -> list[str]:
    return [n for n in m.driver.device_nodes if re.search(r"/nvidia\d+$", n)]


def check_device_nodes(m: Machine) -> list[Finding]:
    d = m.driver
    out: list[Finding] = []
    if d.nodes_denied:
        groups = sorted({g.group(1) for n in d.nodes_denied for g in [re.search(r":(\S+)\)$", n)] if g and g.group(1) != "root"})
        group = groups[0] if groups else "video"
        out.append(
            Finding(
                "permission",
                "error",
                "/dev/nvidia*",
                f"This user cannot open {', '.join(n.split(' (')[0] for n in d.nodes_denied)}: CUDA sees no GPU for this user "
                "although the driver is loaded.",
                evidence=d.nodes_denied,
                fix=f"Add yourself to the group that owns the device files: `sudo usermod -aG {group} $USER`, then log out and in "
                "(check with `id`); or have the administrator set the driver's device file mode "
                "(`options nvidia NVreg_DeviceFileMode=0666` in /etc/modprobe.d/, then reboot).",
            )
        )
    elif (
        d.nodes_checked
        and not m.os.container
        and not m.os.wsl
        and d.kernel_module_version
        and not _gpu_nodes(m)
    ):
        out.append(
            Finding(
                "driver_missing",
                "error",
                "/dev/nvidia*",
                f"The NVIDIA kernel module {d.kernel_module_version} is loaded but /dev/nvidia0 does not exist, so no "
                "program can open the GPU.",
                evidence=("present: " + (", ".join(d.device_nodes) or "no /dev/nvidia* at all"),),
                fix="Create the device files: `sudo nvidia-modprobe -c 0 -u` (or run `sudo nvidia-smi` once); if they vanish "
                "after a reboot, install the driver's udev rules/nvidia-persistenced, or reinstall the driver.",
            )
        )
    return out


def check_wsl(m: Machine) -> list[Finding]:
    if not m.os.wsl or m.driver.wsl_libcuda is None:
        return []
    out = []
    if m.driver.wsl_libcuda == "":
        out.append(
            Finding(
                "driver_missing",
                "error",
                "WSL",
                "This is WSL, but /usr/lib/wsl/lib/libcuda.so.1 is missing: the Windows NVIDIA driver's WSL support does "
                "not reach this distribution, so CUDA finds no GPU.",
                evidence=("no /usr/lib/wsl/lib/libcuda.so.1",),
                fix="On Windows: install or update the NVIDIA driver (the Windows one; do not install a Linux NVIDIA driver "
                "inside WSL), then `wsl --update` and `wsl --shutdown`; the distribution must be WSL 2 (`wsl -l -v`).",
            )
        )
        return out
    # A Linux driver's libcuda installed inside WSL shadows the Windows driver's one.
    for fw in m.frameworks:
        for lib in fw.loaded:
            if lib.name == "cuda" and not lib.path.startswith("/usr/lib/wsl/"):
                out.append(
                    Finding(
                        "shadowed_install",
                        "error",
                        "WSL",
                        f"{fw.name} loads libcuda from {lib.path}, not the Windows driver's /usr/lib/wsl/lib/libcuda.so.1: "
                        "a Linux NVIDIA driver (or its libcuda) was installed inside WSL.",
                        evidence=(lib.path, lib.rule_detail),
                        fix="Remove the Linux driver packages inside WSL (`sudo apt remove --purge '^libnvidia-.*' '^nvidia-driver-.*'`) "
                        "and keep /usr/lib/wsl/lib first (`sudo ldconfig`).",
                    )
                )
                return out
    return out


def check_nouveau(m: Machine) -> list[Finding]:
    if not m.driver.nouveau_loaded or m.driver.present:
        return []
    return [
        Finding(
            "driver_missing",
            "error",
            "NVIDIA driver",
            "The open-source nouveau kernel module has the NVIDIA card; it has no CUDA, and while it is loaded the NVIDIA "
            "driver cannot load.",
            evidence=("nouveau is in /proc/modules",),
            fix="Blacklist nouveau and install the NVIDIA driver: `printf 'blacklist nouveau\\noptions nouveau modeset=0\\n' | "
            "sudo tee /etc/modprobe.d/blacklist-nouveau.conf && sudo update-initramfs -u` (dracut -f on Fedora), then "
            "`sudo ubuntu-drivers install` (or your distribution's NVIDIA driver package) and reboot.",
        )
    ]


# --- a driver that does not answer ------------------------------------------------------------------


def check_driver_answers(m: Machine) -> list[Finding]:
    """A hung nvidia-smi/NVML, or a driver that cannot be talked to: a problem, whatever else was found."""
    hung = [n for n in m.notes if n.subject in ("driver", "nvidia-smi") and any(w in n.message for w in HANG_WORDS)]
    if hung:
        return [
            Finding(
                "driver_missing",
                "error",
                "NVIDIA driver",
                "The NVIDIA driver does not answer: " + "; ".join(n.message for n in hung) + ". Every CUDA program "
                "will hang or fail the same way.",
                evidence=tuple(n.message for n in hung) + m.driver.xid[-3:],
                fix="Look for `NVRM: Xid` lines in `sudo dmesg`; stop the processes that hold the GPU (`sudo fuser -v /dev/nvidia*`), "
                "then reset the GPU (`sudo nvidia-smi -r`) or reboot. If it keeps happening, enable persistence mode "
                "(`sudo nvidia-smi -pm 1`) and check the GPU's power and cooling.",
            )
        ]
    if m.driver.present and m.driver.source not in ("proc", "saved"):
        return []
    if m.driver.nvidia_pci_devices and not m.driver.present:
        return []  # doctor's check_driver names this one: a card with no driver
    no_talk = [
        n
        for n in m.notes
        if n.subject in ("driver", "nvidia-smi", "nvml")
        and any(w in n.message.lower() for w in NO_TALK_WORDS)
        and "mismatch" not in n.message.lower()
    ]
    if not no_talk:
        return []
    v = m.driver.kernel_module_version
    if not v and not m.driver.nvidia_pci_devices and m.os.system == "linux" and not (m.os.container or m.os.wsl):
        # nvidia-smi is installed on a host whose PCI bus shows no NVIDIA card: nothing to talk to
        return [Finding("", "info", "NVIDIA driver", "nvidia-smi is installed but this machine has no NVIDIA GPU on its PCI bus and no NVIDIA kernel module.",
                        evidence=tuple(_talk_line(n.message) for n in no_talk))]
    msg = (f"The NVIDIA kernel module {v} is loaded, but no program can talk to the driver" if v else "No program can talk to the NVIDIA driver")
    return [
        Finding(
            "driver_missing",
            "error",
            "NVIDIA driver",
            msg + " (nvidia-smi and NVML fail), so no CUDA program will see the GPU.",
            evidence=tuple(_talk_line(n.message) for n in no_talk),
            fix="Check that the driver's kernel module matches the running kernel (`sudo dkms status`; rebuild with "
            "`sudo dkms autoinstall`), then `sudo modprobe nvidia` or reboot; in a container, start it with `--gpus all`.",
        )
    ]


def _talk_line(message: str) -> str:
    lines = [ln.strip() for ln in message.splitlines() if ln.strip()]
    return next((ln for ln in lines if any(w in ln.lower() for w in NO_TALK_WORDS)), lines[-1] if lines else message)


# --- all of them ----------------------------------------------------------------------------------


CHECKS = (check_driver_answers, check_nouveau, check_wsl, check_container, check_device_nodes, check_cuda_visible_devices)


def gpu_unreachable(m: Machine) -> list[Finding]:
    """Every reason this process cannot reach a GPU the machine has, most basic first."""
    out: list[Finding] = []
    for check in CHECKS:
        out.extend(check(m))
    return out


def hidden_cause(m: Machine) -> Finding | None:
    """The one cause verify names when a framework sees no GPU: the most basic problem finding, or None."""
    return next((f for f in gpu_unreachable(m) if f.severity == "error"), None)
