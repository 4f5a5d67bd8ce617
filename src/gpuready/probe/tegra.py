"""NVIDIA Jetson (Tegra) boards: the L4T release and the board name.

A Jetson has an integrated GPU (no PCI device, often no NVML) and gets CUDA, cuDNN and its framework
wheels from JetPack, not from PyPI or the PyTorch index (whose aarch64 wheels are for SBSA servers
such as GH200). The two files NVIDIA's own tools read tell us we are on one: /etc/nv_tegra_release
("# R36 (release), REVISION: 4.0, GCID: ..., BOARD: generic, EABI: aarch64, ...") and the device-tree
model ("NVIDIA Jetson AGX Orin Developer Kit").
"""

from __future__ import annotations

import re
from pathlib import Path

from gpuready.machine import GPU, Tegra

RELEASE_FILE = "/etc/nv_tegra_release"
MODEL_FILE = "/proc/device-tree/model"


def parse_nv_tegra_release(text: str) -> str:
    """ "# R36 (release), REVISION: 4.0, ..." -> "36.4.0"; "" when the text is not one."""
    m = re.search(r"#\s*R(\d+)\s*\(release\),\s*REVISION:\s*(\d+)(?:\.(\d+))?", text)
    if not m:
        return ""
    return f"{m.group(1)}.{m.group(2)}.{m.group(3) or 0}"


def _read(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8", "replace").replace("\x00", "").strip()
    except OSError:
        return ""


def probe_tegra(root: str = "/") -> Tegra | None:
    """The Jetson facts of this machine, None when it is not a Jetson."""
    base = Path(root)
    release_text = _read(base / RELEASE_FILE.lstrip("/"))
    model = _read(base / MODEL_FILE.lstrip("/"))
    l4t = parse_nv_tegra_release(release_text)
    is_jetson = bool(l4t) or "jetson" in model.lower() or "tegra" in model.lower()
    if not is_jetson:
        return None
    sources = [p for p, v in ((RELEASE_FILE, l4t), (MODEL_FILE, model)) if v]
    return Tegra(l4t=l4t, model=model, source=", ".join(sources))


def jetson_gpu(tegra: Tegra) -> GPU | None:
    """The board's integrated GPU by its model name (NVIDIA's CUDA GPUs list), for boards NVML does not report."""
    from gpuready.knowledge.cuda import gpu_model

    name = tegra.model.replace("NVIDIA ", "").strip()
    model = gpu_model(name) if name else None
    if model is None:
        return None
    return GPU(index=0, name=model.name, compute_capability=model.cc)
