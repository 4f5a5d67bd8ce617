"""CUDA facts from knowledge/data/cuda.toml and gpus.toml, checked against NVIDIA's tables."""

import pytest

from gpuready.knowledge import cuda
from gpuready.knowledge.loader import KnowledgeError, build, load_table


@pytest.mark.parametrize(
    "driver, os_name, expected",
    [
        ("410.48", "linux", "10.0"),
        ("411.31", "windows", "10.0"),
        ("470.82.01", "linux", "11.4"),
        ("535.104.05", "linux", "12.2"),
        ("570.124.06", "linux", "12.8"),
        ("580.159.04", "linux", "13.0"),
        ("595.71.05", "linux", "13.2"),
        ("384.81", "linux", "9.0"),
        ("300.00", "linux", ""),
        ("", "linux", ""),
    ],
)
def test_max_cuda_for_driver(driver, os_name, expected):
    assert cuda.max_cuda_for_driver(driver, os_name) == expected


@pytest.mark.parametrize(
    "cuda_version, os_name, minor_ok, expected",
    [
        ("12.6", "linux", True, "525.60.13"),
        ("12.6", "windows", True, "527.41"),
        ("11.8", "linux", True, "450.80.02"),
        ("13.0", "linux", True, "580.65.06"),
        ("12.6", "linux", False, "560.28.03"),
        ("10.0", "linux", True, "410.48"),  # no minor-version compatibility before CUDA 11
    ],
)
def test_min_driver_for_cuda(cuda_version, os_name, minor_ok, expected):
    assert cuda.min_driver_for_cuda(cuda_version, os_name, minor_compat_ok=minor_ok) == expected


def test_driver_versions_compare_field_by_field():
    assert cuda.vtuple("570.124.06") > cuda.vtuple("570.26")
    assert cuda.driver_runs_cuda("535.104.05", "12.8")  # minor-version compatibility
    assert not cuda.driver_runs_cuda("535.104.05", "13.0")
    assert not cuda.driver_runs_cuda("470.82.01", "12.1")


@pytest.mark.parametrize(
    "toolkit, cc, ok",
    [("13.0", "6.1", False), ("13.0", "7.5", True), ("12.8", "12.0", True), ("12.6", "12.0", False), ("11.0", "3.0", False), ("10.2", "3.0", True), ("11.8", "9.0", True)],
)
def test_toolkit_targets(toolkit, cc, ok):
    assert cuda.toolkit_can_target(toolkit, cc) is ok


@pytest.mark.parametrize(
    "name, cc",
    [
        ("NVIDIA GeForce RTX 3060", "8.6"),
        ("NVIDIA GeForce RTX 3060 Ti", "8.6"),
        ("Tesla V100-SXM2-16GB", "7.0"),
        ("NVIDIA H100 80GB HBM3", "9.0"),
        ("NVIDIA H200", "9.0"),
        ("GeForce GTX 1060 6GB", "6.1"),
        ("NVIDIA GeForce GTX 1080 Ti", "6.1"),
        ("NVIDIA GeForce RTX 5090", "12.0"),
        ("NVIDIA A100-SXM4-80GB", "8.0"),
        ("NVIDIA RTX 6000 Ada Generation", "8.9"),
        ("Tesla T4", "7.5"),
        ("Something Else", ""),
    ],
)
def test_gpu_names(name, cc):
    assert cuda.gpu_cc(name) == cc


@pytest.mark.parametrize(
    "archs, cc, ok",
    [
        (("sm_80",), "8.6", True),  # same major, higher minor: SASS compatible
        (("sm_86",), "8.0", False),
        (("sm_75", "sm_80", "sm_86", "sm_90"), "12.0", False),
        (("sm_75", "compute_90"), "12.0", True),  # PTX JIT
        (("sm_90a",), "9.0", True),
        (("sm_90a",), "10.0", False),
        (("sm_50", "sm_60", "sm_70"), "6.1", True),
        ((), "9.0", None),
    ],
)
def test_build_runs_on(archs, cc, ok):
    assert cuda.build_runs_on(archs, cc) is ok


def test_host_compiler_limits():
    lim = cuda.host_compiler_limit("12.2.140")
    assert lim.gcc_max == 12 and lim.msvc_max_exclusive == 1940
    assert cuda.host_compiler_limit("13.0").gcc_max == 15


def test_every_row_has_a_source():
    for rows in (cuda.driver_floors(), cuda.minor_compat(), cuda.arch_support(), cuda.host_compiler_limits(), cuda.gpu_models()):
        assert rows and all(r.source for r in rows)


def test_loader_names_file_and_entry_on_bad_rows():
    with pytest.raises(KnowledgeError, match=r"x.toml \[\[arch\]\] cuda='9.9': sm: expected a list"):
        build(cuda.ArchSupport, {"cuda": "9.9", "sm": "30 35", "source": "s"}, "x.toml [[arch]] cuda='9.9'")
    with pytest.raises(KnowledgeError, match="unknown key"):
        build(cuda.ArchSupport, {"cuda": "9.9", "sm": [30], "source": "s", "smm": 1}, "x")
    with pytest.raises(KnowledgeError, match="missing key 'source'"):
        build(cuda.ArchSupport, {"cuda": "9.9", "sm": [30]}, "x")
    with pytest.raises(KnowledgeError, match="cannot read"):
        load_table("no-such-file.toml", "x", cuda.ArchSupport)
