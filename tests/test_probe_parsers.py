"""The probe's parsers against recorded outputs of the real tools (see tests/data/recorded/README.md)."""

import json
from pathlib import Path

import pytest

from gpuready.probe import compilers, cudnn, driver, toolkits

REC = Path(__file__).parent / "data" / "recorded"


def rec(name: str) -> str:
    return (REC / name).read_text()


def test_nvidia_smi_query_h200():
    drv, gpus = driver.parse_smi_csv(rec("nvidia-smi-query-h200.csv"))
    assert drv == "580.159.04"
    assert len(gpus) == 1
    g = gpus[0]
    assert (g.name, g.compute_capability, g.memory_mib, g.pci_bus_id) == ("NVIDIA H200", "9.0", 143771, "00000000:00:06.0")
    assert g.uuid.startswith("GPU-17b23fdd")


def test_nvidia_smi_query_without_compute_cap_column():
    drv, gpus = driver.parse_smi_csv(rec("nvidia-smi-query-old-driver.csv"))
    assert drv == "410.79"
    assert gpus[0].name == "Tesla V100-SXM2-16GB" and gpus[0].compute_capability == "" and gpus[0].memory_mib == 16160


@pytest.mark.parametrize(
    "name, driver_version, cuda",
    [("nvidia-smi-h200.txt", "580.159.04", "13.0"), ("nvidia-smi-win-411.txt", "411.70", "10.0"), ("nvidia-smi-failed.txt", "", "")],
)
def test_nvidia_smi_banner(name, driver_version, cuda):
    assert driver.parse_smi_banner(rec(name)) == (driver_version, cuda)


@pytest.mark.parametrize(
    "name, version",
    [("proc-driver-version-h200.txt", "580.159.04"), ("proc-driver-version-proprietary.txt", "535.104.05")],
)
def test_proc_driver_version(name, version):
    assert driver.parse_proc_version(rec(name)) == version


def test_cuda_driver_int():
    assert driver.cuda_from_int(13000) == "13.0"
    assert driver.cuda_from_int(12020) == "12.2"
    assert driver.cuda_from_int(0) == ""


def test_pci_scan(tmp_path):
    for i, (vendor, klass) in enumerate([("0x10de", "0x030200"), ("0x10de", "0x040300"), ("0x8086", "0x030000"), ("0x10de", "0x030000")]):
        d = tmp_path / f"0000:00:0{i}.0"
        d.mkdir()
        (d / "vendor").write_text(vendor + "\n")
        (d / "class").write_text(klass + "\n")
    assert driver.count_nvidia_pci_devices(str(tmp_path)) == 2  # the NVIDIA audio function is not a GPU


@pytest.mark.parametrize("name, version", [("nvcc-13.0.txt", "13.0.88"), ("nvcc-10.0.txt", "10.0.130")])
def test_nvcc_version(name, version):
    assert toolkits.parse_nvcc_version(rec(name)) == version


def test_toolkit_version_files():
    assert toolkits.parse_version_txt(rec("cuda-version-10.0.txt")) == "10.0.130"
    assert toolkits.parse_version_json(rec("cuda-version-12.2.json")) == "12.2.140"
    assert toolkits.parse_version_json("not json") == ""
    assert toolkits.parse_cudart_header("#define CUDART_VERSION 13000\n") == "13.0"


def test_nvcc_dryrun_sees_through_wrappers():
    text = "#$ _NVVM_BRANCH_=nvvm\n#$ _HERE_=/usr/local/cuda-13.0/bin\n#$ _THERE_=/usr/local/cuda-13.0/bin\n"
    assert toolkits.parse_dryrun_here(text) == "/usr/local/cuda-13.0/bin"


@pytest.mark.parametrize("name, version", [("cudnn_version-9.14.h", "9.14.0"), ("cudnn-7.6.5.h", "7.6.5")])
def test_cudnn_header(name, version):
    assert cudnn.parse_cudnn_header(rec(name)) == version


@pytest.mark.parametrize(
    "path, version",
    [
        ("/usr/lib/x86_64-linux-gnu/libcudnn.so.9.14.0", "9.14.0"),
        ("/x/nvidia/cudnn/lib/libcudnn.so.9", "9"),
        (r"C:\Program Files\NVIDIA\CUDNN\v9.1\bin\12.4\cudnn64_9.dll", "9"),
        ("/usr/lib/libcudnn.so", ""),
    ],
)
def test_cudnn_library_names(path, version):
    assert cudnn.version_from_library_name(path) == version


@pytest.mark.parametrize(
    "name, kind, version",
    [
        ("gcc-ubuntu-13.txt", "gcc", "13.3.0"),
        ("gcc-rhel-11.txt", "gcc", "11.4.1"),
        ("gcc-conda.txt", "gcc", "12.3.0"),
        ("clang-ubuntu-18.txt", "clang", "18.1.3"),
    ],
)
def test_gnu_like_versions(name, kind, version):
    text = rec(name)
    if kind == "gcc":
        assert compilers.parse_gcc_version(text) == version
        assert compilers.parse_clang_version(text) == ""
    else:
        assert compilers.parse_clang_version(text) == version
        assert compilers.parse_gcc_version(text) == ""
        assert compilers.parse_target(text) == "x86_64-pc-linux-gnu"


def test_cl_banner():
    assert compilers.parse_cl_banner(rec("cl-vs2022-17.10.txt")) == ("19.40.33811", 1940)
    assert compilers.parse_cl_banner(rec("cl-vs2019.txt")) == ("19.29.30154", 1929)
    assert compilers.parse_cl_banner("garbage") == ("", 0)


@pytest.mark.parametrize("toolset, cl, msc", [("14.40.33807", "19.40.33807", 1940), ("14.16.27023", "19.16.27023", 1916), ("14.29.30133", "19.29.30133", 1929), ("nonsense", "", 0)])
def test_msvc_toolset_to_msc_ver(toolset, cl, msc):
    assert compilers.msc_ver_from_toolset(toolset) == (cl, msc)


def test_vswhere_and_installation_layout(tmp_path):
    installs = compilers.parse_vswhere(rec("vswhere-two.json"))
    assert [i["displayName"] for i in installs] == ["Visual Studio Community 2022", "Visual Studio Build Tools 2019"]
    assert compilers.parse_vswhere("not json") == [] and compilers.parse_vswhere("{}") == []
    root = tmp_path / "VS2022"
    (root / "VC" / "Auxiliary" / "Build").mkdir(parents=True)
    (root / "VC" / "Auxiliary" / "Build" / "Microsoft.VCToolsVersion.default.txt").write_text("14.40.33807\n")
    comp = compilers.msvc_from_installation({"installationPath": str(root), "displayName": "VS 2022"})
    assert comp.kind == "msvc" and comp.msc_ver == 1940 and comp.version == "19.40.33807"
    assert compilers.msvc_from_installation({"installationPath": str(tmp_path / "missing")}) is None


def test_cmake_version():
    assert compilers.parse_cmake_version(rec("cmake-3.25.txt")) == "3.25.1"


def test_cudnn_probe_finds_every_copy(tmp_path, monkeypatch):
    """Two copies (a pip wheel and a toolkit copy) are both reported, each with its own header and library."""
    sp = tmp_path / "site-packages"
    (sp / "nvidia" / "cudnn" / "include").mkdir(parents=True)
    (sp / "nvidia" / "cudnn" / "lib").mkdir(parents=True)
    (sp / "nvidia" / "cudnn" / "include" / "cudnn_version.h").write_text(
        "#define CUDNN_MAJOR 9\n#define CUDNN_MINOR 19\n#define CUDNN_PATCHLEVEL 0\n"
    )
    (sp / "nvidia" / "cudnn" / "lib" / "libcudnn.so.9").write_bytes(b"")
    tk = tmp_path / "cuda-12.4"
    (tk / "include").mkdir(parents=True)
    (tk / "lib64").mkdir()
    (tk / "include" / "cudnn_version.h").write_text("#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 9\n#define CUDNN_PATCHLEVEL 7\n")
    (tk / "lib64" / "libcudnn.so.8.9.7").write_bytes(b"")
    for var in ("CUDNN_PATH", "CUDNN_HOME", "CUDNN_ROOT", "CUDNN_ROOT_DIR", "CONDA_PREFIX"):
        monkeypatch.delenv(var, raising=False)
    from gpuready.machine import CudaToolkit

    found = cudnn.probe_cudnn((CudaToolkit(str(tk), "12.4.131", "", "system"),), (str(sp),))
    mine = {c.version: c for c in found if str(tmp_path) in (c.library or c.header)}
    assert set(mine) == {"9.19.0", "8.9.7"}
    assert mine["9.19.0"].origin == "pip" and mine["9.19.0"].library.endswith("libcudnn.so.9")
    assert mine["8.9.7"].origin == "toolkit"


def test_toolkit_probe_reads_version_without_nvcc(tmp_path, monkeypatch):
    root = tmp_path / "cuda-10.0"
    (root / "lib64").mkdir(parents=True)
    (root / "lib64" / "libcudart.so.10.0").write_bytes(b"")
    (root / "version.txt").write_text(rec("cuda-version-10.0.txt"))
    monkeypatch.setenv("CUDA_HOME", str(root))
    found = {t.root: t for t in toolkits.probe_toolkits()}
    assert found[str(root)].version == "10.0.130" and found[str(root)].origin == "CUDA_HOME" and found[str(root)].nvcc == ""


def _fake_smi(tmp_path, body):
    smi = tmp_path / "nvidia-smi"
    smi.write_text("#!/bin/sh\n" + body)
    smi.chmod(0o755)
    return tmp_path


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="POSIX shell needed")
def test_a_hanging_nvidia_smi_is_a_note_not_a_hang(tmp_path, monkeypatch):
    import time

    monkeypatch.setenv("PATH", str(_fake_smi(tmp_path, "sleep 30\n")) + ":/usr/bin:/bin")
    monkeypatch.setattr(driver, "CHILD", tmp_path / "missing-child.py")  # NVML unavailable: force the fallback
    start = time.monotonic()
    drv, gpus, notes = driver.probe_driver(timeout=5, smi_timeout=1)
    assert time.monotonic() - start < 10
    assert not drv.present and gpus == ()
    assert any(n.subject == "nvidia-smi" and "did not answer within 1 s" in n.message for n in notes)


@pytest.mark.skipif(not Path("/bin/sh").exists(), reason="POSIX shell needed")
def test_nvidia_smi_fallback_reads_driver_and_gpus(tmp_path, monkeypatch):
    csv = (REC / "nvidia-smi-query-h200.csv").read_text().strip()
    banner = (REC / "nvidia-smi-h200.txt").read_text()
    script = f'case "$1" in --query-gpu=*) echo "{csv}";; *) cat <<"EOF"\n{banner}\nEOF\n;; esac\n'
    monkeypatch.setenv("PATH", str(_fake_smi(tmp_path, script)) + ":/usr/bin:/bin")
    monkeypatch.setattr(driver, "CHILD", tmp_path / "missing-child.py")
    drv, gpus, _notes = driver.probe_driver(timeout=5, smi_timeout=5)
    assert (drv.version, drv.cuda_version, drv.source) == ("580.159.04", "13.0", "nvidia-smi")
    assert gpus[0].name == "NVIDIA H200" and gpus[0].compute_capability == "9.0"
