"""Why a GPU is hidden, and a driver that does not answer: one finding per cause, the same in doctor and verify."""

import dataclasses
import json

import pytest

from gpuready.diagnosis import gpu_unreachable, hidden_cause, visible_gpus
from gpuready.doctor.checks import diagnose
from gpuready.machine import GPU, Driver, Framework, ProbeNote
from gpuready.verify.runner import ChildRun
from gpuready.verify.verdicts import judge
from tests.conftest import MACHINES, load_machine

UUID = "GPU-17b23fdd-3193-ebb6-20f2-e0760dfd3c11"


def h200(**driver):
    m = load_machine("h200-driver580")
    return dataclasses.replace(m, driver=dataclasses.replace(m.driver, **driver))


def no_gpu_frameworks(m):
    """torch, JAX and CuPy as they look with the GPU hidden: CUDA builds that see no device."""
    fws = tuple(dataclasses.replace(f, sees_gpu=False, device_count=0, error="RuntimeError: No CUDA GPUs are available")
                for f in m.frameworks if f.name in ("torch", "jax", "cupy"))
    return dataclasses.replace(m, frameworks=fws)


@pytest.mark.parametrize("value, words", [("", "set but empty"), ("-1", "negative index"), ("GPU-00000000-dead-beef-0000-000000000000", "not the UUID of a GPU"), ("3", "starts with '3'")])
def test_cuda_visible_devices_hides_every_gpu(value, words):
    m = no_gpu_frameworks(h200(cuda_visible_devices=value))
    findings = diagnose(m)
    (f,) = [x for x in findings if x.subject == "CUDA_VISIBLE_DEVICES"]
    assert f.label == "env_mismatch" and f.severity == "error" and words in f.message and "The driver is fine" in f.message
    assert "unset CUDA_VISIBLE_DEVICES" in f.fix and UUID in f.fix
    # one fact, one finding: the frameworks point at it instead of three failures, and nobody says "install the driver"
    fw = [x for x in findings if x.subject.split()[0] in ("PyTorch", "JAX", "CuPy")]
    assert len(fw) == 3 and all(x.severity == "info" and "CUDA_VISIBLE_DEVICES" in x.message for x in fw)
    assert not [x for x in findings if x.label == "driver_missing"]
    assert sum(x.is_problem for x in findings if x.subject != "cuDNN" and not x.label == "cpu_only_build") == 1


def test_valid_values_hide_nothing_and_partial_lists_warn():
    assert visible_gpus("0", load_machine("h200-driver580").gpus)[0][0].uuid == UUID
    assert visible_gpus(UUID[:10], load_machine("h200-driver580").gpus)[1] == ""  # a unique UUID prefix is fine
    assert not [x for x in diagnose(h200(cuda_visible_devices="0")) if x.subject == "CUDA_VISIBLE_DEVICES"]
    (f,) = [x for x in diagnose(h200(cuda_visible_devices="0,5")) if x.subject == "CUDA_VISIBLE_DEVICES"]
    assert f.severity == "warning" and "'5'" in f.message


def test_verify_names_the_same_cause_not_driver_missing():
    m = h200(cuda_visible_devices="")
    run = ChildRun(name="torch", mode="verify", outcome="result", payload={"status": "no_gpu", "message": "torch 2.11.0 (CUDA 13.0) cannot use a GPU: torch.cuda.is_available() is False",
                                                         "evidence": ["RuntimeError: No CUDA GPUs are available"]}, returncode=0)
    r = judge(run, m, display="PyTorch", version="2.11.0+cu130", install="pip install torch")
    assert r.label == "env_mismatch" and "unset CUDA_VISIBLE_DEVICES" in r.fix and "install or load the NVIDIA driver" not in r.fix
    assert any("CUDA_VISIBLE_DEVICES=''" in e for e in r.evidence)
    assert hidden_cause(m).label == r.label  # the very finding doctor shows


def test_nvidia_visible_devices_void_in_a_container():
    m = dataclasses.replace(load_machine("h200-driver580"), gpus=(), driver=Driver(nvidia_visible_devices="void", nodes_checked=True))
    (f,) = [x for x in diagnose(m) if x.subject == "container"]
    assert f.label == "driver_missing" and f.severity == "error" and "--gpus all" in f.fix and "void" in f.message
    assert not [x for x in diagnose(m) if x.subject == "NVIDIA driver"]  # not a second "no driver" finding


def test_container_started_without_gpu_access():
    m = load_machine("h200-driver580")
    m = dataclasses.replace(m, gpus=(), driver=Driver(nodes_checked=True, nvidia_visible_devices=None), os=dataclasses.replace(m.os, container=True))
    (f,) = [x for x in diagnose(m) if x.label == "driver_missing"]
    assert f.subject == "container" and "no /dev/nvidia* device" in f.message and "--gpus all" in f.fix


def test_device_file_without_permission():
    m = h200(nodes_checked=True, device_nodes=("/dev/nvidia0", "/dev/nvidiactl"), nodes_denied=("/dev/nvidia0 (crw-rw---- root:video)",))
    (f,) = [x for x in diagnose(m) if x.label == "permission"]
    assert f.severity == "error" and "usermod -aG video" in f.fix and "/dev/nvidia0" in f.message


def test_module_loaded_but_no_device_files():
    m = load_machine("h200-driver580")
    m = dataclasses.replace(m, os=dataclasses.replace(m.os, container=False), driver=dataclasses.replace(m.driver, nodes_checked=True, device_nodes=("/dev/nvidiactl",)))
    (f,) = [x for x in diagnose(m) if x.subject == "/dev/nvidia*"]
    assert f.label == "driver_missing" and "nvidia-modprobe" in f.fix


def test_wsl_without_the_windows_driver_libcuda():
    m = load_machine("no-gpu")
    m = dataclasses.replace(m, os=dataclasses.replace(m.os, wsl=True), driver=Driver(wsl_libcuda=""))
    (f,) = [x for x in diagnose(m) if x.subject == "WSL"]
    assert f.label == "driver_missing" and "/usr/lib/wsl/lib/libcuda.so.1" in f.message and "wsl --update" in f.fix


def test_nouveau_holds_the_card():
    m = dataclasses.replace(load_machine("no-gpu"), driver=Driver(nvidia_pci_devices=1, nouveau_loaded=True))
    findings = diagnose(m)
    (f,) = [x for x in findings if x.label == "driver_missing"]
    assert "nouveau" in f.message and "blacklist nouveau" in f.fix


def test_each_cause_is_its_own_finding():
    m = h200(cuda_visible_devices="-1", nodes_checked=True, nodes_denied=("/dev/nvidiactl (crw-rw---- root:video)",))
    subjects = [f.subject for f in gpu_unreachable(m)]
    assert subjects == ["/dev/nvidia*", "CUDA_VISIBLE_DEVICES"]


# --- honest verdicts ---------------------------------------------------------------------------------


def test_hung_nvidia_smi_is_a_problem_not_no_problems_found(tmp_path):
    m = dataclasses.replace(
        load_machine("no-gpu"),
        driver=Driver(version="580.159.04", source="proc", kernel_module_version="580.159.04"),
        notes=(ProbeNote("driver", "NVML/libcuda did not answer within 15 s: the driver may be wedged", "warning"),
               ProbeNote("nvidia-smi", "nvidia-smi did not answer within 10 s: the driver may be wedged", "warning")),
    )
    findings = diagnose(m)
    (f,) = [x for x in findings if x.label == "driver_missing"]
    assert f.severity == "error" and "does not answer" in f.message and "nvidia-smi -r" in f.fix
    assert not [x for x in findings if x.severity == "ok" and x.subject == "NVIDIA driver"]
    path = tmp_path / "m.json"
    m.save(path)
    from tests.test_cli import gpuready

    res = gpuready("doctor", "--machine", str(path))
    assert res.returncode == 1 and "No problems found" not in res.stdout


def test_nvidia_smi_cannot_communicate_with_the_driver():
    msg = ("NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver "
           "is installed and running.")
    base = load_machine("no-gpu")
    for driver, container in ((Driver(), True), (Driver(nvidia_pci_devices=0, version="550.54.14", source="proc", kernel_module_version="550.54.14"), False)):
        m = dataclasses.replace(base, driver=driver, notes=(ProbeNote("nvidia-smi", msg, "warning"),), os=dataclasses.replace(base.os, container=container))
        (f,) = [x for x in diagnose(m) if x.label == "driver_missing"]
        assert f.severity == "error" and "couldn't communicate" in f.evidence[0] and "dkms" in f.fix
    # a host with nvidia-smi installed and no NVIDIA card at all: said, but not a problem
    m = dataclasses.replace(base, driver=Driver(), notes=(ProbeNote("nvidia-smi", msg, "warning"),), os=dataclasses.replace(base.os, container=False, wsl=False))
    assert not [x for x in diagnose(m) if x.is_problem] and [x for x in diagnose(m) if "no NVIDIA GPU on its PCI bus" in x.message]


def test_nvml_init_failure_with_a_module_loaded():
    m = dataclasses.replace(load_machine("no-gpu"), driver=Driver(version="550.54.14", source="proc", kernel_module_version="550.54.14"),
                            notes=(ProbeNote("nvml", "NVMLError_DriverNotLoaded: Driver Not Loaded", "warning"),))
    (f,) = [x for x in diagnose(m) if x.label == "driver_missing"]
    assert "550.54.14 is loaded" in f.message


def test_old_machine_files_still_load_and_new_fields_round_trip(tmp_path):
    old = [p for p in MACHINES.glob("*.json") if "cuda_visible_devices" not in json.loads(p.read_text())["driver"]]
    assert len(old) >= 5  # written before these fields existed (h200-shadowed-dlib.json, of 2026-12-02, has them)
    for path in old:
        load_machine(path.stem)
    m = h200(cuda_visible_devices="", xid=("NVRM: Xid (PCI:0000:00:06): 79, GPU has fallen off the bus.",))
    m = dataclasses.replace(m, gpus=(GPU(0, "NVIDIA H200", UUID, "9.0", 143771, remap_pending=True, throttle_reasons=("hw_slowdown",), processes=("pid 7 python3 (100 MiB)",)),))
    m = dataclasses.replace(m, frameworks=(Framework("dlib", copies=()),))
    p = tmp_path / "m.json"
    m.save(p)
    assert type(m).load(p) == m


def test_doctor_verify_points_framework_failures_at_the_one_cause(monkeypatch):
    from gpuready.doctor import command
    from gpuready.findings import Finding

    m = h200(cuda_visible_devices="")
    measured = [Finding("env_mismatch", "error", "PyTorch 2.11.0+cu130", "no GPU", fix="unset CUDA_VISIBLE_DEVICES"),
                Finding("", "ok", "CuPy 14.2.0", "works")]
    monkeypatch.setattr("gpuready.verify.verify_findings", lambda *a, **k: measured)
    merged = command.merge_verify(m, diagnose(m), None, 10)
    torch = [f for f in merged if f.subject.startswith("PyTorch")]
    assert len(torch) == 1 and torch[0].severity == "info" and "see CUDA_VISIBLE_DEVICES" in torch[0].message
    assert [f for f in merged if f.subject == "CUDA_VISIBLE_DEVICES" and f.severity == "error"]


FR_ERROR = ("RuntimeError: Error while calling cudaGetDevice(&the_device_id) in file /tmp/pip-req-build-unahl_f4/dlib/cuda/"
            "gpu_data.cpp:204. code: 100, reason: no CUDA-capable device is detected")


def test_an_import_that_asks_for_the_hidden_gpu_points_at_the_cause():
    # H200, 2026-12-02, CUDA_VISIBLE_DEVICES='' / -1 / a wrong UUID: face_recognition (CUDA dlib) fails at import with
    # "no CUDA-capable device is detected"; doctor called it driver_missing next to the env_mismatch finding.
    m = h200(cuda_visible_devices="")
    fr = Framework(name="face_recognition", dist="face-recognition", version="1.3.0", status="import_error", error=FR_ERROR)
    m = dataclasses.replace(m, frameworks=m.frameworks + (fr,))
    findings = diagnose(m)
    assert not [x for x in findings if x.label == "driver_missing"]
    (f,) = [x for x in findings if x.subject.startswith("face_recognition")]
    assert f.severity == "info" and "CUDA_VISIBLE_DEVICES" in f.message
    run = ChildRun(name="face_recognition", mode="verify", outcome="result", payload={"status": "import_error", "error": FR_ERROR}, returncode=0)
    r = judge(run, m, display="face_recognition", version="1.3.0", install="pip install face_recognition")
    assert r.label == "env_mismatch" and "unset CUDA_VISIBLE_DEVICES" in r.fix
