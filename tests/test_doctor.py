"""doctor on the saved machines: the expected findings, labels and fixes."""

import dataclasses

from gpuready.doctor.checks import diagnose
from gpuready.machine import Compiler, CudaToolkit, Driver, Framework, FrameworkCopy, ProbeNote
from tests.conftest import load_machine


def by_label(findings):
    out = {}
    for f in findings:
        out.setdefault(f.label, []).append(f)
    return out


def problems(findings):
    return [f for f in findings if f.is_problem]


def test_no_gpu_machine_has_no_problems():
    findings = diagnose(load_machine("no-gpu"))
    assert problems(findings) == []
    cpu = by_label(findings)["cpu_only_build"]
    assert {f.severity for f in cpu} == {"info"}  # a CPU build is right when there is no GPU


def test_v100_driver_410_torch_cu121_is_driver_too_old():
    findings = diagnose(load_machine("ubuntu1804-v100-cuda10"))
    (f,) = by_label(findings)["driver_too_old"]
    assert f.severity == "error" and f.subject.startswith("PyTorch 2.4.1")
    assert "410.79" in f.message and "CUDA <= 10.0" in f.message and "12.1" in f.message
    assert "upgrade the driver" in f.fix or ">= 525.60.13" in f.fix


def test_rtx5090_torch_cu118_lacks_sm120():
    findings = diagnose(load_machine("rtx5090-torch-cu118"))
    (f,) = by_label(findings)["arch_unsupported"]
    assert "sm_120" in f.message and f.severity == "error"
    assert "driver_too_old" not in by_label(findings)  # 575 runs CUDA 11.8 fine: the arch is the problem


def test_windows_gtx1060_tensorflow_import_error_and_old_msvc():
    m = load_machine("win10-gtx1060-driver411")
    findings = diagnose(m)
    tf = [f for f in findings if f.subject.startswith("TensorFlow")]
    assert tf and tf[0].severity == "error" and "cudart64_101.dll" in " ".join(tf[0].evidence)
    host = by_label(findings)["host_compiler_unsupported"]
    assert "1916" in host[0].message  # VS 2017 15.9 is newer than CUDA 9.0's header accepts (< 1912)


def test_h200_real_probe():
    findings = diagnose(load_machine("h200-driver580"))
    labels = by_label(findings)
    ok = {f.subject.split()[0] for f in findings if f.severity == "ok"}
    assert {"PyTorch", "JAX", "CuPy", "NVIDIA"} <= ok
    cpu = {f.subject.split()[0] for f in labels["cpu_only_build"]}
    assert cpu == {"ONNX", "OpenCV"}
    assert all(f.severity == "warning" for f in labels["cpu_only_build"])
    (cudnn,) = [f for f in labels["shadowed_install"] if f.subject == "cuDNN"]
    assert "9.14.0" in cudnn.message and "9.19.0" in cudnn.message


def test_missing_driver_with_card_on_the_bus():
    m = dataclasses.replace(load_machine("no-gpu"), driver=Driver(nvidia_pci_devices=1))
    (f,) = by_label(diagnose(m))["driver_missing"]
    assert f.severity == "error" and "dkms" in f.fix


def test_driver_library_mismatch_from_nvml_note():
    m = load_machine("h200-driver580")
    m = dataclasses.replace(m, notes=(ProbeNote("nvml", "NVMLError_LibRmVersionMismatch: RM has detected an NVML/RM version mismatch.", "warning"),))
    assert "driver_library_mismatch" in by_label(diagnose(m))
    m2 = dataclasses.replace(load_machine("h200-driver580"), driver=Driver("580.159.04", "13.0", "nvml", "575.57.08", 1))
    (f,) = by_label(diagnose(m2))["driver_library_mismatch"]
    assert "575.57.08" in f.evidence[0]


def test_cuda_build_in_container_without_gpu_access():
    m = load_machine("h200-driver580")
    m = dataclasses.replace(m, gpus=(), driver=Driver(), os=dataclasses.replace(m.os, container=True))
    (f,) = by_label(diagnose(m))["driver_missing"]
    assert f.severity == "warning" and "--gpus all" in f.fix


def test_shadowed_dlib_copies():
    m = load_machine("no-gpu")
    dl = Framework(
        "dlib",
        "dlib",
        "19.24.0",
        cuda_build=False,
        copies=(
            FrameworkCopy("/home/ana/miniconda3/lib/python3.12/site-packages/dlib", "19.24.0", "dlib", True),
            FrameworkCopy("/home/ana/.local/lib/python3.12/site-packages/dlib", "20.0.1", "dlib"),
        ),
    )
    m = dataclasses.replace(m, frameworks=(dl,))
    (f,) = by_label(diagnose(m))["shadowed_install"]
    assert "miniconda3" in f.message and len(f.evidence) == 2


def test_two_nvccs_and_cuda_home_disagreeing_with_path():
    m = dataclasses.replace(
        load_machine("h200-driver580"),
        toolkits=(
            CudaToolkit("/usr/local/cuda-11.8", "11.8.89", "/usr/local/cuda-11.8/bin/nvcc", "PATH", True),
            CudaToolkit("/usr/local/cuda-12.4", "12.4.131", "/usr/local/cuda-12.4/bin/nvcc", "CUDA_HOME", False),
        ),
    )
    (f,) = [x for x in diagnose(m) if x.subject == "CUDA toolkit"]
    assert f.label == "shadowed_install" and "CUDA_HOME points at CUDA 12.4.131" in f.fix


def test_gcc_too_new_for_nvcc_names_a_usable_one():
    m = dataclasses.replace(
        load_machine("h200-driver580"),
        toolkits=(CudaToolkit("/usr/local/cuda-12.2", "12.2.140", "/usr/local/cuda-12.2/bin/nvcc", "PATH", True),),
        compilers=(Compiler("gcc", "13.2.0", "/usr/bin/g++", origin="PATH"), Compiler("gcc", "12.3.0", "/usr/bin/g++-12", origin="PATH")),
        driver=Driver("580.159.04", "13.0", "nvml", "580.159.04", 1),
    )
    (f,) = by_label(diagnose(m))["host_compiler_unsupported"]
    assert "gcc <= 12" in f.message and "CUDAHOSTCXX=/usr/bin/g++-12" in f.fix


def test_toolkit_newer_than_driver():
    m = dataclasses.replace(
        load_machine("ubuntu1804-v100-cuda10"),
        toolkits=(CudaToolkit("/usr/local/cuda-12.4", "12.4.131", "/usr/local/cuda-12.4/bin/nvcc", "PATH", True),),
        frameworks=(),
    )
    (f,) = by_label(diagnose(m))["driver_too_old"]
    assert f.subject == "CUDA toolkit 12.4.131" and ">= 525.60.13" in f.fix


def test_32bit_python():
    m = load_machine("win10-gtx1060-driver411")
    m = dataclasses.replace(m, python=dataclasses.replace(m.python, bits=32))
    assert "platform_mismatch" in by_label(diagnose(m))


def test_crashed_framework_is_broken_with_signal():
    m = dataclasses.replace(load_machine("h200-driver580"), frameworks=(Framework("dlib", "dlib", "20.0.1", status="crashed", signal="SIGSEGV", error="Segmentation fault"),))
    (f,) = [x for x in diagnose(m) if x.subject.startswith("dlib")]
    assert f.severity == "error" and "SIGSEGV" in f.message


def test_jax_plugin_skew():
    m = load_machine("h200-driver580")
    jax = Framework("jax", "jax", "0.11.2", cuda_build=True, cuda_version="13", sees_gpu=False, details={"jaxlib": "0.11.2", "plugin": "jax-cuda13-plugin 0.10.0", "pjrt": "0.10.0"})
    m = dataclasses.replace(m, frameworks=(jax,))
    assert "library_version_mismatch" in by_label(diagnose(m))


def test_jax_cuda11_plugin_needs_the_minor_compat_floor_not_the_11_0_ga_driver():
    # A CUDA 11 plugin is built with some 11.x: 450.51.05 (the 11.0 GA driver) is too old, 450.80.02 is the floor.
    m = load_machine("h200-driver580")
    jax = Framework("jax", "jax", "0.4.20", cuda_build=True, cuda_version="11.8", sees_gpu=False,
                    details={"jaxlib": "0.4.20", "plugin": "jax-cuda11-plugin 0.4.20", "pjrt": "0.4.20"})
    for driver, too_old in (("450.51.06", True), ("450.80.02", False)):
        mm = dataclasses.replace(m, frameworks=(jax,), driver=dataclasses.replace(m.driver, version=driver, cuda_version="11.0"))
        hits = [f for f in diagnose(mm) if f.label == "driver_too_old" and "jax CUDA 11 plugin" in f.message]
        assert bool(hits) is too_old, (driver, hits)
        if too_old:
            assert "450.80.02" in hits[0].message


def test_every_finding_has_a_known_label_and_problems_have_fixes():
    for name in ("no-gpu", "win10-gtx1060-driver411", "ubuntu1804-v100-cuda10", "rtx5090-torch-cu118", "h200-driver580"):
        for f in diagnose(load_machine(name)):
            if f.is_problem:
                assert f.label and f.fix, (name, f)
