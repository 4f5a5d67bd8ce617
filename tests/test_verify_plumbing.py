"""verify's child-process plumbing, end to end, without a GPU: the real child scripts run against
stand-in frameworks (tests/data/verify/fakes) that work, are CPU-only, compute wrong numbers,
crash, hang, print garbage or fail to import; each must give the right verdict and message."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from gpuready.machine import Framework, FrameworkCopy
from gpuready.verify import run_framework, verify, verify_findings
from tests.conftest import load_machine

DATA = Path(__file__).parent / "data" / "verify"
FAKES = DATA / "fakes"


@pytest.fixture
def fake(monkeypatch):
    """fake(mode, folder=FAKES): put the stand-ins on the child's PYTHONPATH, behaving as `mode`."""

    def use(mode: str, folder: Path = FAKES) -> None:
        monkeypatch.setenv("PYTHONPATH", str(folder))
        monkeypatch.setenv("GPUREADY_FAKE", mode)

    monkeypatch.setattr("gpuready.verify.verdicts.explain_label", lambda text, machine: "")
    return use


def gpu_machine(*names: str):
    """The saved H200 machine, run with this interpreter, with only `names` installed."""
    m = load_machine("h200-driver580")
    fws = tuple(Framework(name=n, version="", copies=(FrameworkCopy(path=str(FAKES / n), active=True),)) for n in names)
    py = dataclasses.replace(m.python, executable=sys.executable)
    return dataclasses.replace(m, frameworks=fws, python=py)


def one(mode: str, name: str = "torch", timeout: float = 60, **kw):
    return run_framework(gpu_machine(name), name, "verify", python=sys.executable, timeout=timeout, **kw)


def test_works(fake):
    fake("works")
    r = one("works")
    assert r.status == "works" and r.ok and r.verdict == "works"
    assert r.device == "Fake GPU (sm_90)"
    assert [c.ok for c in r.checks] == [True, True, True, True]
    assert "matmul" in r.checks[1].name and "cuDNN" in r.checks[3].name
    assert r.label == "" and r.fix == ""


def test_cpu_only_build(fake):
    fake("cpu")
    r = one("cpu")
    assert r.status == "cpu_only" and r.verdict == "CPU-only"
    assert r.label == "cpu_only_build"
    assert "torch.version.cuda is None" in r.message
    assert r.fix  # doctor's install hint


def test_wrong_numbers_are_broken(fake):
    fake("wrong")
    r = one("wrong")
    assert r.status == "wrong" and r.verdict == "broken"
    assert any("matmul" in e and "2.50e-01" in e for e in r.evidence)
    assert not r.checks[1].ok


def test_missing_arch_is_arch_unsupported(fake):
    fake("noarch")
    r = one("noarch")
    assert r.verdict == "broken" and r.label == "arch_unsupported"
    assert "sm_90" in r.message and "sm_80" in r.message
    assert r.fix.startswith("Install a build that carries code for this GPU")


def test_crash_names_signal_step_and_last_lines(fake):
    fake("crash")
    r = one("crash")
    assert r.status == "crashed" and r.signal == "SIGSEGV"
    assert r.step == "matmul 512x512 fp32 on cuda (cuBLAS)"
    assert "crashed with SIGSEGV during 'matmul 512x512 fp32 on cuda (cuBLAS)'" in r.message
    assert any("Segmentation fault" in e for e in r.evidence)  # faulthandler's report, as evidence
    assert r.label == "other" and r.fix


def test_crash_at_import(fake):
    fake("crash_import")
    r = one("crash_import")
    assert r.status == "crashed" and r.step == "import torch"


def test_hang_is_a_hang(fake):
    fake("hang")
    r = one("hang", timeout=4)
    assert r.status == "hung" and r.verdict == "broken"
    assert "did not finish within 4 s in 'find the CUDA device'" in r.message
    assert r.seconds < 30


def test_garbage_output_and_exit_status(fake):
    fake("garbage")
    r = one("garbage")
    assert r.status == "no_result"
    assert "exited with status 3 without a result" in r.message
    assert any("garbage" in e for e in r.evidence)


def test_import_error_label_comes_from_explain(fake, monkeypatch):
    fake("importerror")
    seen = []

    def top(text, machine):
        seen.append(text)
        return "runtime_lib_missing" if "cannot open shared object" in text else ""

    monkeypatch.setattr("gpuready.verify.verdicts.explain_label", top)
    r = one("importerror")
    assert r.status == "import_error" and r.label == "runtime_lib_missing"
    assert "libcudart.so.12" in r.evidence[0]
    assert "pip CUDA wheels" in r.fix or "library" in r.fix
    assert seen


def test_no_driver_without_explain_falls_back_on_machine_facts(fake):
    fake("nodriver")
    m = gpu_machine("torch")
    m = dataclasses.replace(m, driver=dataclasses.replace(m.driver, version=""), gpus=())
    r = run_framework(m, "torch", python=sys.executable)
    assert r.status == "no_gpu" and r.label == "driver_missing"
    assert "Found no NVIDIA driver" in r.evidence[0]


def test_not_installed(monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(DATA / "empty"))
    r = run_framework(gpu_machine("face_recognition"), "face_recognition", python=sys.executable)
    assert r.status == "not_installed" and r.verdict == "not installed"


def test_preload_order_exposes_the_mixed_runtime_crash(fake):
    fake("works", DATA / "numpy_first")
    m = gpu_machine("dlib")
    r = run_framework(m, "dlib", python=sys.executable)
    assert r.status == "crashed" and r.signal == "SIGSEGV"
    assert r.step == "import dlib"
    assert "after importing numpy 2.0.0-fake first" in r.message
    # Without numpy first the same module imports (and is judged on its own: a CPU-only build here).
    r2 = run_framework(m, "dlib", python=sys.executable, preload=())
    assert r2.status == "cpu_only"


def test_onnxruntime_cpu_package(fake):
    fake("cpu")
    r = one("cpu", "onnxruntime")
    assert r.status == "cpu_only" and "not onnxruntime-gpu" in r.message


def test_onnxruntime_silent_cpu_fallback_is_broken(fake, monkeypatch):
    fake("fallback")
    monkeypatch.setattr("gpuready.verify.verdicts.explain_label", lambda t, m: "runtime_lib_missing" if "libcudnn.so.9" in t else "")
    r = one("fallback", "onnxruntime")
    assert r.status == "failed" and r.verdict == "broken"
    assert "fell back to the CPU" in r.message
    assert any("libcudnn.so.9: cannot open shared object file" in e for e in r.evidence)
    assert r.label == "runtime_lib_missing"


def test_opencv_cpu_only(fake):
    fake("cpu")
    r = one("cpu", "cv2")
    assert r.status == "cpu_only" and "built without CUDA" in r.message


def test_dlib_without_model_is_unverified(fake, monkeypatch):
    fake("works")
    monkeypatch.setenv("GPUREADY_MODEL_DIR", str(DATA / "empty"))
    r = one("works", "dlib")
    assert r.status == "unverified" and r.verdict == "unverified"
    assert "CNN detector check was skipped" in r.message and "--model" in r.message


def test_dlib_crash_in_detector_with_model(fake, tmp_path):
    fake("crash")
    model = tmp_path / "mmod_human_face_detector.dat"
    model.write_bytes(b"\0" * 16)
    r = one("crash", "dlib", model=str(model))
    assert r.status == "crashed" and r.step.startswith("load the CNN face detector")


def test_dlib_driver_error_label_from_explain(fake, monkeypatch):
    fake("nodriver")
    monkeypatch.setattr("gpuready.verify.verdicts.explain_label", lambda t, m: "driver_too_old" if "code: 35" in t else "")
    r = one("nodriver", "dlib")
    assert r.status == "no_gpu" and r.label == "driver_too_old"
    assert "code: 35" in r.evidence[0]


def test_verify_runs_installed_frameworks_one_after_another(fake):
    fake("cpu")
    seen = []
    results = verify(gpu_machine("torch", "cv2", "pytensor"), python=sys.executable, progress=seen.append)
    assert seen == ["torch", "cv2"]  # pytensor has no GPU of its own: not verified
    assert [r.status for r in results] == ["cpu_only", "cpu_only"]


def test_verify_findings_contract(fake):
    fake("works")
    m = gpu_machine("torch")
    [f] = verify_findings(m, python=sys.executable, timeout=60)
    assert f.severity == "ok" and f.label == ""
    from gpuready.knowledge.frameworks import display

    assert f.subject.split(" ")[0] == display("torch")
    fake("cpu")
    [f] = verify_findings(m, python=sys.executable)
    assert (f.severity, f.label) == ("warning", "cpu_only_build")
    fake("crash")
    [f] = verify_findings(m, python=sys.executable)
    assert f.severity == "error" and f.label in ("other",) and "SIGSEGV" in f.message and f.evidence


def test_doctor_verify_replaces_the_static_verdict(fake):
    from gpuready.doctor.checks import diagnose
    from gpuready.doctor.command import merge_verify

    fake("crash")
    m = gpu_machine("torch")
    m = dataclasses.replace(m, frameworks=(dataclasses.replace(m.frameworks[0], version="2.5.0+cu124", cuda_build=True, sees_gpu=True, cuda_version="12.4"),))
    merged = merge_verify(m, diagnose(m), sys.executable, 60)
    torch = [f for f in merged if f.subject.startswith("PyTorch")]
    assert len(torch) == 1 and "SIGSEGV" in torch[0].message
