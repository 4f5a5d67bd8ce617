"""The facts issue 10 found wrong, each as checked on 2026-12-02 against PyPI, the wheels and NVIDIA's tables."""

from __future__ import annotations

import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import pytest

from gpuready.knowledge import availability
from gpuready.knowledge.cuda import gpu_model, min_driver_for_cuda, minor_compat_floor
from gpuready.knowledge.packages import builds, torch_companion, torch_companion_on_pypi
from gpuready.knowledge.package_rows import jetpack_for, torch_variant
from gpuready.plan.target import OverrideError, apply_overrides, parse_gpu
from tests.conftest import ROOT, load_machine

DATA = ROOT / "src" / "gpuready" / "knowledge" / "data"
PACKAGE_FILES = ("torch", "tensorflow", "jax", "cupy", "onnxruntime", "pytensor", "theano", "dlib", "opencv",
                 "face_recognition", "jetson")


@pytest.mark.parametrize("name", PACKAGE_FILES)
def test_every_package_row_has_a_source_and_a_check_date(name):
    data = tomllib.loads((DATA / f"{name}.toml").read_text(encoding="utf-8"))
    for table, rows in data.items():
        for row in rows:
            where = f"{name}.toml [[{table}]] {row.get('version') or row.get('name') or row.get('package')}"
            assert row.get("source"), where
            assert row.get("checked", "") >= "2026-12-02", where


def _versions(package, dist=None):
    return {b.version for b in builds(package) if dist is None or b.dist == dist}


def test_torch_companions_are_the_releases_pypi_has():
    assert torch_companion("torchvision", "2.14.1") == "0.29.1"
    assert torch_companion("torchvision", "2.15.0") == "0.29.2" and torch_companion_on_pypi("torchvision", "2.15.0")
    for v in ("2.12.0", "2.12.1", "2.13.0", "2.14.0", "2.14.1", "2.15.0"):  # no torchaudio 2.12-2.15 exists
        assert torch_companion("torchaudio", v) == "2.11.1" and torch_companion_on_pypi("torchaudio", v)
    assert torch_companion("torchaudio", "2.11.0") == "2.11.0" and not torch_companion_on_pypi("torchaudio", "2.11.0")
    assert "2.12.1" in _versions("torch")


def test_onnxruntime_gpu_versions_and_pythons_are_pypis():
    gpu = [b for b in builds("onnxruntime") if b.gpu]
    versions = {b.version for b in gpu}
    assert not versions & {"1.17.3", "1.20.1", "1.24.0", "1.27.0", "1.10.0", "1.0.0"}
    assert {"1.23.2", "1.24.1", "1.31.1"} <= versions
    py = {b.version: b.python for b in gpu}
    assert py["1.23.2"] == ">=3.10,<3.14" and py["1.24.1"] == ">=3.11,<3.15"


def test_jax_cuda13_starts_at_072_and_012_has_cuda12():
    cuda13 = {b.version for b in builds("jax") if b.variant == "cuda13"}
    assert "0.7.2" in cuda13 and not cuda13 & {"0.7.0", "0.7.1"}
    assert not {b.version for b in builds("jax") if b.variant == "cuda12"} & {"0.8.0", "0.8.3"}  # no jax-cuda12-plugin 0.8
    j012 = [b for b in builds("jax") if b.version == "0.12.0.1" and b.variant == "cuda12"]
    assert j012 and j012[0].confirmed


def test_pytensor_python_floors():
    rows = {b.version: b.python for b in builds("pytensor")}
    assert rows["3.3.8"] == ">=3.12,<3.15" and rows["3.0.7"] == ">=3.11,<3.15" and rows["2.34.0"] == ">=3.10,<3.14"


def test_tensorflow_221_code_read_from_the_wheel():
    b = next(b for b in builds("tensorflow") if b.version == "2.21.0" and b.gpu)
    assert b.archs == ("sm_60", "sm_70", "sm_80", "sm_89", "sm_90", "compute_90")
    assert b.ptx_jit_fails_from == "12.0" and "tensorflow/issues/90291" in b.ptx_jit_source
    b216 = next(b for b in builds("tensorflow") if b.version == "2.16.2" and b.gpu)
    assert "sm_50" in b216.archs  # the last TensorFlow with Maxwell code


def test_cuda_110_runs_from_its_ga_driver():
    assert min_driver_for_cuda("11.0") == "450.51.05"
    assert min_driver_for_cuda("11.8") == "450.80.02" and minor_compat_floor(11) == "450.80.02"
    assert min_driver_for_cuda("12.6") == "525.60.13"


@pytest.mark.parametrize("name,cc", [
    ("NVIDIA GeForce GTX 780", "3.5"), ("GeForce GTX 780 Ti", "3.5"), ("NVIDIA GeForce GTX TITAN Black", "3.5"),
    ("GeForce GTX 770", "3.0"), ("Tesla K40m", "3.5"), ("Tesla K20Xm", "3.5"), ("Quadro K6000", "3.5"),
    ("Quadro M4000", "5.2"), ("Quadro K620", "5.0"), ("GeForce GTX 970M", "5.2"), ("Quadro P4000", "6.1"),
    ("NVIDIA TITAN X (Pascal)", "6.1"), ("GeForce GTX TITAN X", "5.2"), ("Quadro GV100", "7.0"),
])
def test_kepler_maxwell_pascal_names(name, cc):
    assert gpu_model(name).cc == cc
    assert parse_gpu(name, 0).compute_capability == cc


def test_an_unknown_gpu_name_is_still_an_override_error():
    with pytest.raises(OverrideError):
        parse_gpu("NVIDIA GeForce GTX 9999", 0)


@pytest.mark.parametrize("variant,version", [("cu92", "1.7.1"), ("cu100", "1.4.0"), ("cu101", "1.8.1"), ("cu102", "1.12.1"),
                                             ("cu110", "1.7.1"), ("cu111", "1.10.2"), ("cu113", "1.11.0"), ("cu117", "1.13.1")])
def test_kepler_sm35_in_the_cu9x_cu10x_cu11x_builds(variant, version):
    assert "sm_35" in torch_variant(variant, version).archs  # moi90/pytorch_compute_capabilities (cuobjdump)


def test_cu113_of_112_dropped_sm35():
    assert "sm_35" not in torch_variant("cu113", "1.12.1").archs


def test_cupy_has_aarch64_wheels_from_v12():
    aarch64 = {(b.version, b.dist) for b in builds("cupy") if "aarch64" in b.platforms}
    assert ("14.2.0", "cupy-cuda13x") in aarch64 and ("12.3.0", "cupy-cuda102") in aarch64
    assert not {v for v, _ in aarch64} & {"11.6.0", "10.6.0"}


def test_jetpack_from_l4t():
    assert jetpack_for("36.4.3").jetpack == "6" and jetpack_for("36.4.3").cuda_major == 12
    assert jetpack_for("35.4.1").jetpack == "5" and jetpack_for("32.7.1").cuda_major == 10
    assert jetpack_for("40.0") is None


def test_a_windows_target_gets_a_windows_platform_tag():
    m = apply_overrides(load_machine("h200-driver580"), os_name="windows", python="3.11")
    assert m.python.platform_tag == "win_amd64" and m.python.version == "3.11"
    assert apply_overrides(load_machine("no-gpu"), os_name="macos").python.platform_tag.startswith("macosx_")


def test_windows_dlib_plans_no_pip_toolkit():
    from gpuready.plan import make_plan
    from gpuready.plan.indexes import IndexConfig
    from gpuready.machine import Compiler, CudaToolkit

    import dataclasses

    base = apply_overrides(load_machine("h200-driver580"), os_name="windows", driver="560.94", python="3.11")
    tk = CudaToolkit(r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.6", "12.6.85",
                     r"C:\Program Files\NVIDIA GPU Computing Toolkit\CUDA\v12.6\bin\nvcc.exe", "system", True)
    msvc = Compiler("msvc", "19.40.33811", r"C:\VS\VC\Tools\MSVC\14.40.33807\bin\Hostx64\x64\cl.exe", msc_ver=1940)
    plan = make_plan(dataclasses.replace(base, toolkits=(tk,), compilers=(msvc,)), ["dlib"], index_config=IndexConfig())
    p = plan.package("dlib")
    assert p.gpu and "--toolkit" not in p.install
    blocked = make_plan(base, ["dlib"], index_config=IndexConfig())
    assert blocked.package("dlib").variant == "cpu" and "CUDA Toolkit for Windows" in blocked.blocked[0].fix


def test_availability_table_is_loaded_and_dated():
    assert availability.loaded() and availability.checked() == "2026-12-02"
    assert availability.entry("pypi|jax[cuda13]|0.7.0|wheel") is None  # no jax-cuda13-plugin 0.7.0
    assert availability.pythons(availability.entry("pypi|onnxruntime-gpu|1.23.2|wheel"), "linux", "x86_64") == (10, 11, 12, 13)


def test_arch_lists_equal_what_the_wheels_carry():
    """Every wheel the checker read (tools/check_knowledge.py --archs) must agree with the data's list for that build."""
    import json

    snap = json.loads((ROOT / "tests" / "data" / "index-snapshot.json").read_text())
    compared = 0
    for key, reading in snap["archs"].items():
        dist_version, os_name, arch = key.split()
        dist, version = dist_version.split("==")
        code = reading.get("primary") or reading.get("archs")
        if not code or dist.startswith("cupy"):  # CuPy compiles its kernels at run time (NVRTC): no floor from its wheel
            continue
        package = {"tensorflow-gpu": "tensorflow", "onnxruntime-gpu": "onnxruntime"}.get(dist, dist)
        mine = [b for b in builds(package) if b.gpu and b.version == version and arch in b.platforms and os_name in b.os
                and (package != "torch" or (b.pypi_aarch64 if arch == "aarch64" else b.pypi_default))]
        assert mine, key
        for b in mine:
            if os_name == "windows" and package == "onnxruntime":  # the Windows wheel adds compute_120: the Linux list is a safe subset
                assert set(b.archs) <= set(code), key
                continue
            assert set(b.archs) == set(code), f"{key}: data {b.archs} != wheel {code}"
        compared += 1
    assert compared >= 40
