"""What each framework really loaded: the cuDNN/cuBLAS it was built for, its neighbours', and by which rule."""

import dataclasses

from gpuready.doctor.checks import diagnose
from gpuready.machine import LoadedLibrary
from tests.conftest import load_machine

SP = "/opt/torch/.venv/lib/python3.12/site-packages"
WHEEL = LoadedLibrary("cudnn", f"{SP}/nvidia/cudnn/lib/libcudnn.so.9", "9.19.0", "RUNPATH",
                      "RUNPATH $ORIGIN/../../nvidia/cudnn/lib of torch/lib/libtorch_cuda.so (a wheel's nvidia/ folder)")
SYSTEM = LoadedLibrary("cudnn", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "9.14.0", "LD_LIBRARY_PATH",
                       "/usr/lib/x86_64-linux-gnu is on LD_LIBRARY_PATH, which the loader searches before any RUNPATH")


def h200(torch_libs, jax_libs=(), **torch_fields):
    m = load_machine("h200-driver580")
    fws = []
    for fw in m.frameworks:
        if fw.name == "torch":
            fw = dataclasses.replace(fw, loaded=tuple(torch_libs), built_cudnn="9.19.0", **torch_fields)
        elif fw.name == "jax":
            fw = dataclasses.replace(fw, loaded=tuple(jax_libs), built_cudnn="9.8.0")
        fws.append(fw)
    return dataclasses.replace(m, frameworks=tuple(fws))


def test_torch_loads_an_older_cudnn_through_ld_library_path():
    # The wheel's 9.19 copy is installed; LD_LIBRARY_PATH put the system's 9.14 first: shadowed_install, the label
    # verify and explain give torch's own "conflicting cuDNN in LD_LIBRARY_PATH" error (H200, 2026-12-02).
    findings = diagnose(h200([SYSTEM]))
    (f,) = [x for x in findings if x.subject.startswith("PyTorch") and x.severity == "error"]
    assert f.label == "shadowed_install"
    assert "built for cuDNN 9.19.0 but loads cuDNN 9.14.0" in f.message and "LD_LIBRARY_PATH" in f.message
    assert "Take /usr/lib/x86_64-linux-gnu off LD_LIBRARY_PATH" in f.fix


def test_older_cudnn_through_ld_library_path_with_no_copy_that_fits_is_a_version_mismatch():
    m = h200([SYSTEM])
    m = dataclasses.replace(m, cudnns=tuple(c for c in m.cudnns if c.version.startswith("9.14")))
    (f,) = [x for x in diagnose(m) if x.subject.startswith("PyTorch") and x.severity == "error"]
    assert f.label == "library_version_mismatch" and "off LD_LIBRARY_PATH" in f.fix


def test_cudnn_engines_from_another_copy_than_the_front_library():
    # H200, 2026-12-02, LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu: torch mapped the wheel's libcudnn.so.9 (9.19) but its
    # engines (libcudnn_graph.so.9 ...) from the system's 9.14, and refused to start cuDNN. The probe names the engines' copy.
    from gpuready.probe.libraries import loaded_from_payload

    payload = {"libs": [{"name": "cudnn", "path": "/usr/lib/x86_64-linux-gnu/libcudnn_graph.so.9.14.0", "version": "9.14.0",
                         "front": f"{SP}/nvidia/cudnn/lib/libcudnn.so.9", "front_version": "9"}], "objects": []}
    (lib,) = loaded_from_payload(payload, {"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu"}, windows=False)
    assert lib.rule == "LD_LIBRARY_PATH" and "front library" in lib.rule_detail and "libcudnn.so.9" in lib.rule_detail
    (f,) = [x for x in diagnose(h200([lib])) if x.subject.startswith("PyTorch") and x.severity == "error"]
    assert f.label == "shadowed_install" and "Take /usr/lib/x86_64-linux-gnu off LD_LIBRARY_PATH" in f.fix


def test_a_copy_that_fits_but_is_not_reached_is_named_not_installed_again():
    # OpenCV built by gpuready against the wheel's cuDNN 9.19, installed with --target outside that environment: its
    # $ORIGIN RUNPATH finds nothing, the system cache gives 9.14 (H200, 2026-12-02). `pip install -U` would change nothing.
    cached = dataclasses.replace(SYSTEM, rule="system", rule_detail="the system loader's cache")
    (f,) = [x for x in diagnose(h200([cached])) if x.subject.startswith("PyTorch") and x.severity == "error"]
    assert f.label == "library_version_mismatch"
    assert "already installed in " + SP + "/nvidia/cudnn/lib" in f.fix and "pip install" not in f.fix


def test_matching_cudnn_is_listed_as_evidence_of_what_works():
    findings = diagnose(h200([WHEEL]))
    assert not [x for x in findings if x.label == "library_version_mismatch"]
    (ok,) = [x for x in findings if x.subject.startswith("PyTorch") and x.severity == "ok"]
    assert any("loads cudnn 9.19.0 from " + WHEEL.path in e and "RUNPATH" in e for e in ok.evidence)


def test_other_major_from_the_system_cache_asks_for_the_wheel():
    old = LoadedLibrary("cudnn", "/usr/lib/x86_64-linux-gnu/libcudnn.so.8", "8.9.7", "system", "the system loader's cache")
    m = h200([old])
    m = dataclasses.replace(m, cudnns=tuple(c for c in m.cudnns if not c.version.startswith("9.19")))  # no copy that fits
    (f,) = [x for x in diagnose(m) if x.label == "library_version_mismatch"]
    assert "another major" in f.message and "nvidia-cudnn-cu13>=9.19.0" in f.fix


def test_two_frameworks_load_different_cudnn_copies():
    jax_sys = dataclasses.replace(SYSTEM, rule="system", rule_detail="the system loader's cache")
    findings = diagnose(h200([WHEEL], [jax_sys]))
    (f,) = [x for x in findings if x.label == "shadowed_install" and x.subject == "cuDNN" and "load different" in x.message]
    assert f.severity == "warning" and "9.14.0, 9.19.0" in f.message
    assert any(e.startswith("PyTorch loads cuDNN 9.19.0") for e in f.evidence) and any(e.startswith("JAX loads cuDNN 9.14.0") for e in f.evidence)
    assert "nvidia-cudnn-cu13" in f.fix


def test_pathfinder_pick_that_differs_is_a_note():
    pick = LoadedLibrary("cudnn", "/usr/lib/x86_64-linux-gnu/libcudnn.so.9", "9.14.0", "system", "cuda-pathfinder: the system loader's cache")
    findings = diagnose(h200([WHEEL], would_load=(pick,)))
    (f,) = [x for x in findings if "cuda-pathfinder" in x.message]
    assert f.severity == "info" and "9.14.0" in f.message
