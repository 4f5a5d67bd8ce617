"""A CPU-only dlib on PYTHONPATH in front of the CUDA dlib: one label and one fix in doctor and in verify.

Built from the H200 run of 2026-12-02 (docs/evidence/doctor-cases-h200-2026-12-02/, tools/gpu_doctor_cases.sh
section 2): doctor said shadowed_install for dlib (right), verify said cpu_only_build with "gpuready build dlib"
(a build that changes nothing: the CPU copy still wins), and doctor labelled face_recognition's import error
(it imports the CPU stub) library_version_mismatch. The machine is tests/machines/h200-shadowed-dlib.json,
the doctor's own machine of shadow-doctor.json; the verify payloads are what shadow-verify.txt shows.
"""

import dataclasses
import json
import sys

from click.testing import CliRunner

from gpuready.cli import main
from gpuready.diagnosis import shadow_cause
from gpuready.doctor.checks import diagnose
from gpuready.knowledge import frameworks as registry
from gpuready.machine import Framework
from gpuready.verify.runner import ChildRun
from gpuready.verify.verdicts import judge, to_finding
from tests.conftest import ROOT, load_machine

EVIDENCE = ROOT / "docs" / "evidence" / "doctor-cases-h200-2026-12-02"
CPU = "/tmp/gr-doctor-VmnE/cpu-dlib/dlib"
CUDA = "/opt/torch/.venv/lib/python3.12/site-packages/dlib"
BUILD = "gpuready build dlib --version 20.0.1 --cuda-arch 9.0"  # what verify told the user to run


def doctor_machine():
    return load_machine("h200-shadowed-dlib")


def verify_machine():
    """The machine as verify builds it (verify/local.py): the frameworks from a file scan, copies only, no import."""
    m = doctor_machine()
    fws = tuple(Framework(name=f.name, dist=f.copies[0].dist, version=f.copies[0].version, copies=f.copies) for f in m.frameworks)
    return dataclasses.replace(m, frameworks=fws)


def doctor_dlib_finding():
    (f,) = [x for x in diagnose(doctor_machine()) if x.label == "shadowed_install" and x.subject == "dlib"]
    return f


def dlib_run():
    """The dlib child's result in the shadowed environment (shadow-verify.txt)."""
    return ChildRun(name="dlib", mode="verify", outcome="result", returncode=0, payload={
        "status": "cpu_only", "version": "19.24.0", "label": "cpu_only_build",
        "message": "dlib 19.24.0 is built without CUDA (dlib.DLIB_USE_CUDA is False)",
        "evidence": ["dlib.DLIB_USE_CUDA = False", f"dlib 19.24.0 at {CPU}/__init__.py"]})


def test_the_saved_machine_is_the_evidence():
    doc = json.loads((EVIDENCE / "shadow-doctor.json").read_text())
    saved = json.loads((ROOT / "tests" / "machines" / "h200-shadowed-dlib.json").read_text())
    assert saved["frameworks"] == doc["machine"]["frameworks"] and saved["driver"] == doc["machine"]["driver"]
    assert "the copy import takes" in (EVIDENCE / "shadow-doctor.txt").read_text()
    assert "cpu_only_build" in (EVIDENCE / "shadow-verify.txt").read_text()  # what this fixes


def test_doctor_one_error_for_dlib_and_face_recognition_points_at_it():
    findings = diagnose(doctor_machine())
    mine = [f for f in findings if f.subject.split()[0] in ("dlib", "face_recognition")]
    problems = [f for f in mine if f.is_problem]
    assert [(f.label, f.subject) for f in problems] == [("shadowed_install", "dlib")]
    f = problems[0]
    assert f.severity == "error" and CPU in f.message and CUDA in f.message
    assert f.fix.startswith("Remove the CPU copy, not the CUDA one: take /tmp/gr-doctor-VmnE/cpu-dlib off PYTHONPATH: "
                            "`export PYTHONPATH='/work/main/src:/tmp/site'`")
    # the same fix doctor printed on the H200
    assert "export PYTHONPATH='/work/main/src:/tmp/site'" in (EVIDENCE / "shadow-doctor.txt").read_text()
    (fr,) = [x for x in mine if x.subject.startswith("face_recognition")]
    assert fr.severity == "info" and not fr.label and not fr.fix
    assert "`import dlib` takes the CPU-only copy at " + CPU in fr.message and "dlib shadowed_install finding above" in fr.message
    assert fr.evidence == ("AttributeError: module 'dlib' has no attribute 'get_frontal_face_detector'",)
    assert not [x for x in findings if x.label in ("cpu_only_build", "library_version_mismatch") and x.subject.split()[0] in ("dlib", "face_recognition")]


def test_verify_dlib_says_shadowed_install_with_doctors_fix():
    m = verify_machine()
    r = judge(dlib_run(), m, display="dlib", version="19.24.0", install=f"no CUDA wheels of dlib exist: a source build: {BUILD}")
    doctor = doctor_dlib_finding()
    assert r.status == "cpu_only" and r.verdict == "CPU-only"  # what was measured stays
    assert r.label == "shadowed_install" and r.fix == doctor.fix and "gpuready build" not in r.fix
    assert r.message.startswith("dlib 19.24.0 is built without CUDA (dlib.DLIB_USE_CUDA is False). Cause: ") and doctor.message in r.message
    assert "dlib.DLIB_USE_CUDA = False" in r.evidence and set(doctor.evidence) <= set(r.evidence)
    f = to_finding(r, m)
    assert (f.label, f.severity, f.fix) == ("shadowed_install", "error", doctor.fix)
    assert f.details["verify_status"] == "cpu_only" and f.details["shadowing"] == CPU


def test_verify_face_recognition_on_the_stub_dlib_is_the_same_fact():
    m = verify_machine()
    doctor = doctor_dlib_finding()
    broken = ChildRun(name="face_recognition", mode="verify", outcome="result", returncode=0, payload={
        "status": "import_error", "error": "AttributeError: module 'dlib' has no attribute 'get_frontal_face_detector'",
        "message": "import face_recognition failed: AttributeError: module 'dlib' has no attribute 'get_frontal_face_detector'"})
    cpu = ChildRun(name="face_recognition", mode="verify", outcome="result", returncode=0, payload={
        "status": "cpu_only", "version": "1.3.0", "message": "face_recognition's dlib 19.24.0 is built without CUDA (dlib.DLIB_USE_CUDA is False)",
        "evidence": ["dlib.DLIB_USE_CUDA = False"]})
    for run in (broken, cpu):
        r = judge(run, m, display="face_recognition", version="1.3.0", install="pip install face_recognition && " + BUILD)
        assert r.label == "shadowed_install" and r.fix == doctor.fix, run.payload["status"]
        assert "face_recognition reaches the GPU through dlib, and `import dlib` takes the CPU-only copy" in r.message
        assert r.details["through"] == "dlib"
    assert any("get_frontal_face_detector" in e for e in judge(broken, m, display="face_recognition").evidence)


def test_the_dependency_comes_from_the_registry():
    assert registry.get("face_recognition").gpu_through == ("dlib",)
    assert shadow_cause(doctor_machine(), "face_recognition").owner == "dlib"
    assert shadow_cause(doctor_machine(), "torch") is None


def test_without_a_cuda_copy_behind_it_stays_cpu_only_build():
    m = verify_machine()
    dlib = m.framework("dlib")
    alone = dataclasses.replace(m, frameworks=(dataclasses.replace(dlib, copies=dlib.copies[:1]),))
    r = judge(dlib_run(), alone, display="dlib", install=BUILD)
    assert (r.label, r.fix) == ("cpu_only_build", BUILD)
    assert to_finding(r, alone).label == "cpu_only_build"


def test_measured_cpu_settles_a_copy_whose_files_cannot_tell():
    m = verify_machine()
    dlib = m.framework("dlib")
    unknown = dataclasses.replace(dlib.copies[0], cuda=None, cuda_evidence="")
    m = dataclasses.replace(m, frameworks=(dataclasses.replace(dlib, copies=(unknown, dlib.copies[1])),))
    assert shadow_cause(m, "dlib") is None  # the files alone say nothing
    r = judge(dlib_run(), m, display="dlib", install=BUILD)  # the child imported it and saw DLIB_USE_CUDA False
    assert r.label == "shadowed_install" and "take /tmp/gr-doctor-VmnE/cpu-dlib off PYTHONPATH" in r.fix


def test_doctor_verify_keeps_one_finding_for_the_fact(monkeypatch):
    from gpuready.doctor.command import merge_verify

    m = doctor_machine()
    vm = verify_machine()
    fr_run = ChildRun(name="face_recognition", mode="verify", outcome="result", returncode=0, payload={
        "status": "import_error", "error": "AttributeError: module 'dlib' has no attribute 'get_frontal_face_detector'",
        "message": "import face_recognition failed: AttributeError: module 'dlib' has no attribute 'get_frontal_face_detector'"})
    measured = [to_finding(judge(dlib_run(), vm, display="dlib", install=BUILD), vm),
                to_finding(judge(fr_run, vm, display="face_recognition", version="1.3.0", install=BUILD), vm)]
    monkeypatch.setattr("gpuready.verify.verify_findings", lambda machine, python=None, timeout=0: measured)
    merged = merge_verify(m, diagnose(m), None, 10)
    mine = [f for f in merged if f.subject.split()[0] in ("dlib", "face_recognition")]
    assert [(f.label, f.subject) for f in mine if f.is_problem] == [("shadowed_install", "dlib 19.24.0")]
    assert mine[0].fix == doctor_dlib_finding().fix
    (fr,) = [f for f in mine if f.subject.startswith("face_recognition")]
    assert fr.severity == "info" and not fr.fix and "dlib shadowed_install finding above" in fr.message


def test_verify_command_end_to_end_on_a_stand_in(tmp_path, monkeypatch):
    """`gpuready verify dlib --json` for real: a CPU dlib stub on PYTHONPATH, a CUDA-marked dlib behind it; its child imports the stub."""
    def copy(site, cuda, version):
        (site / "dlib").mkdir(parents=True)
        (site / "dlib" / "__init__.py").write_text(f"DLIB_USE_CUDA = {cuda}\n__version__ = '{version}'\n")
        info = site / f"dlib-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dlib\nVersion: {version}\n")
        (info / "INSTALLER").write_text("pip\n")
        return site

    cpu = copy(tmp_path / "cpu-dlib", False, "19.24.0")
    cuda = copy(tmp_path / "env" / "site-packages", True, "20.0.1")
    monkeypatch.syspath_prepend(str(cuda))
    monkeypatch.syspath_prepend(str(cpu))
    monkeypatch.setenv("PYTHONPATH", f"{cpu}:{cuda}")
    monkeypatch.setattr(sys, "executable", sys.executable)
    res = CliRunner().invoke(main, ["verify", "dlib", "--json"], catch_exceptions=False)
    assert res.exit_code == 1, res.output
    (r,) = json.loads(res.output)["results"]
    assert r["status"] == "cpu_only" and r["label"] == "shadowed_install", r
    assert f"take {cpu} off PYTHONPATH: `export PYTHONPATH='{cuda}'`" in r["fix"] and f"keeps the CUDA build at {cuda / 'dlib'}" in r["fix"]
    assert "gpuready build" not in r["fix"]
