"""The node under the frameworks, from NVML and the kernel log: each fact with a plain sentence and a fix."""

import dataclasses

from gpuready.doctor.checks import diagnose
from gpuready.probe.driver import device_node_facts, gpu_from_facts, nouveau_loaded, visibility_facts, xid_lines
from tests.conftest import load_machine

DMESG = """\
[    5.123] nvidia: loading out-of-tree module taints kernel.
[81234.5] NVRM: GPU at PCI:0000:00:06: GPU-17b23fdd-3193-ebb6-20f2-e0760dfd3c11
[81234.6] NVRM: Xid (PCI:0000:00:06): 79, pid=4242, name=python3, GPU has fallen off the bus.
[81300.1] NVRM: Xid (PCI:0000:00:06): 31, pid=5151, name=python3, Ch 00000008, intr 00000000. MMU Fault: ENGINE GRAPHICS
[81301.1] NVRM: Xid (PCI:0000:00:06): 31, pid=5151, name=python3, Ch 00000008, intr 00000000. MMU Fault: ENGINE GRAPHICS
"""


def h200_gpu(**fields):
    m = load_machine("h200-driver580")
    return dataclasses.replace(m, gpus=(dataclasses.replace(m.gpus[0], **fields),))


def by_subject(findings, subject):
    return [f for f in findings if f.subject.startswith(subject)]


def test_nvml_child_facts_become_gpu_fields():
    g = gpu_from_facts({"index": 0, "name": "NVIDIA H200", "persistence_mode": False, "ecc_uncorrected_volatile": 2, "ecc_uncorrected_aggregate": 5,
                        "remap_pending": True, "remap_failed": False, "throttle_mask": 0x1 | 0x8,
                        "processes": [{"pid": 4242, "mib": 61440, "name": "python3"}, {"pid": 7, "mib": None, "name": ""}]}, 0)
    assert (g.persistence_mode, g.ecc_uncorrected_volatile, g.remap_pending, g.throttle_reasons) == (False, 2, True, ("gpu_idle", "hw_slowdown"))
    assert g.processes == ("pid 4242 python3 (61440 MiB)", "pid 7 ?")
    assert gpu_from_facts({"name": "x", "persistence_mode": "yes"}, 3).persistence_mode is None  # odd values are dropped, not trusted


def test_ecc_remap_throttle_processes_and_persistence():
    m = h200_gpu(ecc_uncorrected_volatile=2, remap_pending=True, throttle_reasons=("gpu_idle", "hw_slowdown"),
                 processes=("pid 4242 python3 (130000 MiB)",), persistence_mode=False)
    f = by_subject(diagnose(m), "GPU 0")
    words = {x.message.split(":")[0][:40]: x for x in f}
    ecc = next(x for x in f if "ECC" in x.message)
    assert ecc.severity == "error" and "wrong numbers" in ecc.message and "nvidia-smi -r -i 0" in ecc.fix
    remap = next(x for x in f if "row remap" in x.message)
    assert remap.severity == "warning" and "reset" in remap.message
    slow = next(x for x in f if "below its clocks" in x.message)
    assert slow.severity == "warning" and "hardware slowdown" in slow.message and "gpu_idle" in slow.evidence[0]
    busy = next(x for x in f if "other process" in x.message)
    assert busy.label == "out_of_memory" and busy.severity == "warning" and "pid 4242" in busy.evidence[0]
    pm = next(x for x in f if "Persistence mode" in x.message)
    assert pm.severity == "info" and "nvidia-smi -pm 1" in pm.fix
    assert len(words) == 5


def test_healthy_node_says_nothing():
    m = h200_gpu(persistence_mode=True, ecc_uncorrected_volatile=0, ecc_uncorrected_aggregate=0, retired_pages_pending=False,
                 remap_pending=False, remap_failed=False, throttle_reasons=("gpu_idle",), processes=())
    assert by_subject(diagnose(m), "GPU 0") == []


def test_xid_lines_from_the_kernel_log():
    lines = xid_lines(DMESG)
    assert len(lines) == 3 and all("NVRM: Xid" in ln for ln in lines)
    m = load_machine("h200-driver580")
    m = dataclasses.replace(m, driver=dataclasses.replace(m.driver, xid=lines, kernel_log="dmesg"))
    f79, = by_subject(diagnose(m), "Xid 79")
    assert f79.severity == "error" and "fallen off the bus" in f79.message and "power" in f79.fix
    f31, = by_subject(diagnose(m), "Xid 31")
    assert f31.severity == "info" and "2 NVRM Xid 31" in f31.message and "CUDA_LAUNCH_BLOCKING=1" in f31.fix


def test_device_nodes_permissions_and_nouveau(tmp_path, monkeypatch):
    for n in ("nvidia0", "nvidiactl", "nvidia-uvm", "nvidia-modeset"):
        (tmp_path / n).write_text("")
    (tmp_path / "nvidia-caps").mkdir()
    real_access = __import__("os").access
    monkeypatch.setattr("os.access", lambda p, mode: not str(p).endswith("nvidia0") and real_access(p, mode))
    present, denied = device_node_facts(str(tmp_path))
    assert [p.rsplit("/", 1)[1] for p in present] == ["nvidia-modeset", "nvidia-uvm", "nvidia0", "nvidiactl"]
    assert len(denied) == 1 and denied[0].startswith(str(tmp_path / "nvidia0") + " (-rw")
    mods = tmp_path / "modules"
    mods.write_text("nvidia_uvm 1 0 - Live 0x0\nnouveau 2 0 - Live 0x0\n")
    assert nouveau_loaded(str(mods), str(tmp_path / "none")) and not nouveau_loaded(str(tmp_path / "x"), str(tmp_path / "none"))


def test_visibility_facts_read_the_environment():
    facts = visibility_facts({"CUDA_VISIBLE_DEVICES": "", "NVIDIA_VISIBLE_DEVICES": "void"})
    assert facts["cuda_visible_devices"] == "" and facts["nvidia_visible_devices"] == "void"
    assert visibility_facts({})["cuda_visible_devices"] is None
