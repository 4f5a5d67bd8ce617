"""The knowledge checker's offline parts: fatbin headers, wheel-tag matching, pins from the data, Jetson probing."""

from __future__ import annotations

import json
import struct
import sys

import pytest

from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))

from knowcheck.fatbin import FatbinScanner, scan  # noqa: E402
from knowcheck.match import file_fits, interpreter_fits, platform_fits, requires_python_fits, version_matches  # noqa: E402


def _fatbin(entries: list[tuple[int, int, int]]) -> bytes:
    """A fatbin container laid out as nvcc 13.0 writes it: (kind, arch, payload size) per entry."""
    body = b""
    for kind, arch, size in entries:
        header = struct.pack("<HHIQIIHHI", kind, 0x0101, 64, size, 0, 0, 0, 8, arch).ljust(64, b"\0")
        body += header + b"\xab" * size
    return struct.pack("<IHHQ", 0xBA55ED50, 1, 16, len(body)) + body


def test_fatbin_scanner_reads_sass_and_ptx_targets_in_any_chunking():
    blob = b"\x7fELF junk" * 100 + _fatbin([(2, 75, 1472), (2, 86, 1472)]) + b"pad" * 50 + _fatbin([(1, 90, 256)])
    for size in (1, 7, 64, 4096, len(blob)):
        code = scan(blob[i:i + size] for i in range(0, len(blob), size))
        assert code.archs() == ["sm_75", "sm_86", "compute_90"], size
        assert code.containers == 2


def test_fatbin_scanner_ignores_a_stray_magic():
    s = FatbinScanner()
    s.feed(struct.pack("<IHH", 0xBA55ED50, 7, 99) + b"\0" * 40)  # wrong version and header size
    s.feed(_fatbin([(2, 120, 10)]))
    assert s.code.archs() == ["sm_120"]


def test_tensorflow_221_reading_is_in_the_snapshot():
    """The issue's TF 2.21 facts come from the wheel, not from docs (cuobjdump agreed: 249 cubins per target)."""
    snap = json.loads((ROOT / "tests" / "data" / "index-snapshot.json").read_text())
    reading = snap["archs"]["tensorflow==2.21.0 linux x86_64"]
    assert reading["archs"] == ["sm_60", "sm_70", "sm_80", "sm_89", "sm_90", "compute_90"]
    assert reading["file"].startswith("tensorflow-2.21.0-") and reading["checked"]


@pytest.mark.parametrize("filename,rp,python,os_name,arch,ok", [
    ("torch-2.14.1-cp310-cp310-manylinux_2_28_x86_64.whl", ">=3.10", "3.10", "linux", "x86_64", True),
    ("torch-2.14.1-cp310-cp310-manylinux_2_28_x86_64.whl", ">=3.10", "3.11", "linux", "x86_64", False),
    ("torch-2.14.1-cp310-cp310-manylinux_2_28_x86_64.whl", ">=3.10", "3.10", "linux", "aarch64", False),
    ("torchvision-0.29.2-py3-none-manylinux_2_28_x86_64.whl", ">=3.10,!=3.14.1", "3.14", "linux", "x86_64", True),
    ("jax-0.11.2-py3-none-any.whl", ">=3.12", "3.11", "windows", "x86_64", False),
    ("jax-0.11.2-py3-none-any.whl", ">=3.12", "3.12", "macos", "arm64", True),
    ("cupy_cuda12x-14.2.0-cp314-cp314t-manylinux2014_x86_64.whl", "", "3.14", "linux", "x86_64", False),  # free-threaded
    ("x-1.0-cp38-abi3-win_amd64.whl", "", "3.12", "windows", "x86_64", True),
    ("torch-1.10.2-cp38-none-macosx_11_0_arm64.whl", "", "3.8", "macos", "arm64", True),
    ("dlib-20.0.1.tar.gz", "", "3.12", "linux", "x86_64", False),
])
def test_file_fits(filename, rp, python, os_name, arch, ok):
    assert file_fits(filename, rp, python, os_name, arch) is ok


def test_matching_helpers():
    assert file_fits("dlib-20.0.1.tar.gz", "", "3.12", "windows", "x86_64", sdist_ok=True)
    assert platform_fits("macosx_10_9_universal2", "macos", "arm64") and not platform_fits("win_amd64", "linux", "x86_64")
    assert interpreter_fits("py3", "none", 15) and not interpreter_fits("cp312", "cp312", 13)
    assert requires_python_fits(">=3.10,!=3.14.1", "3.14") and not requires_python_fits("<3.14", "3.14")
    assert version_matches("2.14.1+cu126", "2.14.1") and not version_matches("2.14.1", "2.14.1+cu126")


def test_pins_come_from_the_planners_own_commands():
    from knowcheck.rows import all_pins

    pins = all_pins().pins
    keys = {(p.index, p.dist, p.version) for p in pins.values()}
    assert ("pypi", "torch", "2.14.1") in keys  # PyPI's own build of 2.14.1 (cu130) on Linux x86_64
    assert ("pytorch:cu126", "torch", "2.14.1+cu126") in keys
    assert ("pypi", "jax", "0.11.2") in keys
    assert not any(p.dist == "jax" and p.version == "0.7.1" and "cuda13" in p.extras for p in pins.values())
    audio = [p for p in pins.values() if p.dist == "torchaudio" and p.version == "2.11.1"]
    assert audio and all(p.index == "pypi" for p in audio)  # the stable-ABI torchaudio comes from PyPI for every variant


# --- Jetson ---------------------------------------------------------------------------------------------


def test_tegra_probe_reads_the_release_file_and_board(tmp_path):
    from gpuready.probe.tegra import jetson_gpu, parse_nv_tegra_release, probe_tegra

    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "nv_tegra_release").write_text(
        "# R36 (release), REVISION: 4.3, GCID: 38968081, BOARD: generic, EABI: aarch64, DATE: Wed Jan  8 01:49:37 UTC 2025\n")
    (tmp_path / "proc" / "device-tree").mkdir(parents=True)
    (tmp_path / "proc" / "device-tree" / "model").write_bytes(b"NVIDIA Jetson AGX Orin Developer Kit\x00")
    tegra = probe_tegra(str(tmp_path))
    assert tegra is not None and tegra.l4t == "36.4.3" and tegra.model == "NVIDIA Jetson AGX Orin Developer Kit"
    gpu = jetson_gpu(tegra)
    assert gpu is not None and gpu.compute_capability == "8.7"
    assert parse_nv_tegra_release("# R32 (release), REVISION: 7.1, GCID: 29818004") == "32.7.1"
    assert parse_nv_tegra_release("not a release file") == ""


def test_no_tegra_on_an_ordinary_machine(tmp_path):
    from gpuready.probe.tegra import probe_tegra

    assert probe_tegra(str(tmp_path)) is None


def test_machine_with_tegra_round_trips():
    from gpuready.machine import GPU, Machine, OSInfo, PythonInfo, Tegra

    m = Machine(os=OSInfo("linux", arch="aarch64"), python=PythonInfo("3.10.12"), gpus=(GPU(0, "Jetson AGX Orin", compute_capability="8.7"),),
                tegra=Tegra(l4t="36.4.3", model="NVIDIA Jetson AGX Orin Developer Kit", source="/etc/nv_tegra_release"))
    again = Machine.from_json(m.to_json())
    assert again == m and again.tegra.l4t == "36.4.3"
    old = json.loads(m.to_json())
    del old["tegra"]  # a machine file written before the field existed still loads
    assert Machine.from_dict(old).tegra is None
