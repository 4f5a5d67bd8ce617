"""The seed's own trap: a CPU-only copy shadowing a CUDA build. One finding, both paths, the fix that keeps the CUDA copy."""

import dataclasses
import os
import sys

from gpuready.doctor.checks import diagnose
from gpuready.machine import Framework, FrameworkCopy
from gpuready.probe.frameworks import probe_frameworks
from tests.conftest import load_machine

SITE = "/opt/torch/.venv/lib/python3.12/site-packages"


def h200_with(*frameworks):
    return dataclasses.replace(load_machine("h200-driver580"), frameworks=tuple(frameworks))


def dlib(copies, cuda_build=False):
    return Framework("dlib", "dlib", "19.24.0", cuda_build=cuda_build, sees_gpu=False, copies=tuple(copies))


CPU_ON_PYTHONPATH = FrameworkCopy("/home/ana/cpu-dlib/dlib", "19.24.0", "dlib", True, cuda=False, cuda_evidence="_dlib_pybind11.so NEEDED no CUDA library",
                                  entry="/home/ana/cpu-dlib", origin="PYTHONPATH", origin_detail="/home/ana/cpu-dlib:/home/ana/tools", installer="pip",
                                  meta="/home/ana/cpu-dlib/dlib-19.24.0.dist-info")
CUDA_IN_SITE = FrameworkCopy(f"{SITE}/dlib", "20.0.1", "dlib", False, cuda=True, cuda_evidence="_dlib_pybind11.so NEEDED libcudnn.so.9, libcublas.so.13",
                             entry=SITE, origin="site-packages", installer="pip", meta=f"{SITE}/dlib-20.0.1.dist-info")


def test_cpu_dlib_on_pythonpath_hides_the_cuda_build():
    findings = diagnose(h200_with(dlib([CPU_ON_PYTHONPATH, CUDA_IN_SITE])))
    shadow = [f for f in findings if f.label == "shadowed_install" and f.subject == "dlib"]
    assert len(shadow) == 1
    (f,) = shadow
    assert f.severity == "error"
    assert CPU_ON_PYTHONPATH.path in f.message and CUDA_IN_SITE.path in f.message
    assert "CPU-only copy" in f.message and "CUDA build at" in f.message
    # both copies with their metadata, which one has CUDA and why
    assert any("import takes /home/ana/cpu-dlib/dlib (dlib 19.24.0" in e and "CPU-only" in e for e in f.evidence)
    assert any("hidden: " + CUDA_IN_SITE.path in e and "CUDA build" in e and "libcudnn" in e for e in f.evidence)
    # the fix un-paths the shadowing copy, exactly, and never touches the CUDA one
    assert "export PYTHONPATH='/home/ana/tools'" in f.fix and "keeps the CUDA build at " + CUDA_IN_SITE.path in f.fix
    assert "uninstall" not in f.fix.split("keeps")[0] or CUDA_IN_SITE.path not in f.fix.split("keeps")[0]
    assert "no metadata" not in " ".join(f.evidence)
    # and no contradictory "rebuild dlib" next to it
    assert not [x for x in findings if x.label == "cpu_only_build" and x.subject.startswith("dlib")]
    assert [x for x in findings if x.subject.startswith("dlib 19.24.0") and x.severity == "info" and "no rebuild needed" in x.message]


def test_conda_dlib_in_front_is_removed_with_conda_remove_p():
    prefix = "/home/ana/miniconda3/envs/cv"
    conda = FrameworkCopy(f"{prefix}/lib/python3.12/site-packages/dlib", "19.24.6", "dlib", True, cuda=False, entry=f"{prefix}/lib/python3.12/site-packages",
                          origin="conda", origin_detail=prefix, installer="conda", meta=f"{prefix}/conda-meta/dlib-19.24.6-py312_0.json")
    cuda = dataclasses.replace(CUDA_IN_SITE, path="/home/ana/.local/lib/python3.12/site-packages/dlib", entry="/home/ana/.local/lib/python3.12/site-packages", origin="user site")
    (f,) = [x for x in diagnose(h200_with(dlib([conda, cuda]))) if x.label == "shadowed_install" and x.subject == "dlib"]
    assert f"`conda remove -p {prefix} dlib`" in f.fix and cuda.path in f.fix.split("keeps")[1]


def test_user_site_and_pth_and_bare_folder_fixes():
    user = dataclasses.replace(CPU_ON_PYTHONPATH, path="/home/ana/.local/lib/python3.12/site-packages/dlib", entry="/home/ana/.local/lib/python3.12/site-packages", origin="user site", origin_detail="")
    (f,) = [x for x in diagnose(h200_with(dlib([user, CUDA_IN_SITE]))) if x.label == "shadowed_install" and x.subject == "dlib"]
    assert "-m pip uninstall -y dlib` (once: pip removes the first dlib on sys.path, which is this copy, /home/ana/.local" in f.fix
    pth = dataclasses.replace(CPU_ON_PYTHONPATH, origin=".pth", origin_detail=f"{SITE}/cpu.pth", entry="/srv/dlib-cpu")
    (f,) = [x for x in diagnose(h200_with(dlib([pth, CUDA_IN_SITE]))) if x.label == "shadowed_install" and x.subject == "dlib"]
    assert f"delete the line `/srv/dlib-cpu` from {SITE}/cpu.pth" in f.fix
    bare = dataclasses.replace(CPU_ON_PYTHONPATH, dist="", version="", meta="", installer="", origin="current folder", origin_detail="", entry="/home/ana/proj")
    (f,) = [x for x in diagnose(h200_with(dlib([bare, CUDA_IN_SITE]))) if x.label == "shadowed_install" and x.subject == "dlib"]
    assert "mv '/home/ana/cpu-dlib/dlib'" in f.fix and "no metadata" in " ".join(f.evidence)


def test_face_recognition_on_a_shadowed_dlib_is_not_told_to_rebuild():
    fr = Framework("face_recognition", "face_recognition", "1.3.0", cuda_build=False, sees_gpu=False)
    findings = diagnose(h200_with(dlib([CPU_ON_PYTHONPATH, CUDA_IN_SITE]), fr))
    assert not [x for x in findings if x.label == "cpu_only_build"]


def test_cuda_copy_in_front_is_only_a_note():
    front = dataclasses.replace(CUDA_IN_SITE, active=True)
    behind = dataclasses.replace(CPU_ON_PYTHONPATH, active=False)
    fw = Framework("dlib", "dlib", "20.0.1", cuda_build=True, sees_gpu=True, device_count=1, copies=(front, behind))
    (f,) = [x for x in diagnose(h200_with(fw)) if x.label == "shadowed_install" and x.subject == "dlib"]
    assert f.severity == "info" and "export PYTHONPATH='/home/ana/tools'" in f.fix


def test_unknown_copies_stay_a_warning_with_exact_fixes():
    a = FrameworkCopy("/a/site-packages/dlib", "19.24.0", "dlib", True, entry="/a/site-packages", origin="site-packages", installer="pip")
    b = FrameworkCopy("/b/site-packages/dlib", "20.0.1", "dlib", False, entry="/b/site-packages", origin="site-packages", installer="pip")
    fw = Framework("dlib", "dlib", "19.24.0", cuda_build=None, copies=(a, b))
    (f,) = [x for x in diagnose(h200_with(fw)) if x.label == "shadowed_install" and x.subject == "dlib"]
    # pip would remove the FIRST dlib on sys.path (the other one): the hidden copy gets its exact files instead
    assert f.severity == "warning" and "rm -rf '/b/site-packages/dlib'" in f.fix and "pip uninstall" not in f.fix


def test_stand_in_environment_end_to_end(tmp_path, monkeypatch):
    """Real probe of a stand-in: CPU dlib on PYTHONPATH, CUDA dlib in a site-packages folder, then doctor."""
    def copy(site, cuda, version):
        (site / "dlib").mkdir(parents=True)
        (site / "dlib" / "__init__.py").write_text(f"DLIB_USE_CUDA = {cuda}\n__version__ = '{version}'\n")
        info = site / f"dlib-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: dlib\nVersion: {version}\n")
        return site

    cpu = copy(tmp_path / "cpu-dlib", False, "19.24.0")
    cuda = copy(tmp_path / "env" / "lib" / "python3.12" / "site-packages", True, "20.0.1")
    monkeypatch.setenv("PYTHONPATH", str(cpu))
    fws = probe_frameworks([str(cpu), str(cuda)], sys.executable, only=("dlib",), timeout=30)
    findings = diagnose(h200_with(*fws))
    (f,) = [x for x in findings if x.label == "shadowed_install" and x.subject == "dlib"]
    assert str(cpu / "dlib") in f.message and str(cuda / "dlib") in f.message and f.severity == "error"
    assert "unset PYTHONPATH" in f.fix and os.path.join(str(cuda), "dlib") in f.fix.split("keeps")[1]
    assert not [x for x in findings if x.label == "cpu_only_build" and x.subject.startswith("dlib")]
