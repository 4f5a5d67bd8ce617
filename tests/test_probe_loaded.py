"""What a framework's process really loaded: /proc/self/maps parsing, versions, the loader rule, cuda-pathfinder."""

import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

from gpuready.probe.frameworks import probe_frameworks
from gpuready.probe.libraries import loaded_from_payload, pathfinder_picks, pick_rule

spec = importlib.util.spec_from_file_location("fw_child", os.path.join(os.path.dirname(__file__), "..", "src", "gpuready", "probe", "_framework_child.py"))
child = importlib.util.module_from_spec(spec)
spec.loader.exec_module(child)

SP = "/opt/torch/.venv/lib/python3.12/site-packages"
MAPS = f"""\
55d0c0a00000-55d0c0a01000 r--p 00000000 08:01 1234 /opt/torch/.venv/bin/python3.12
7f0000000000-7f0000100000 r-xp 00000000 08:01 11 {SP}/torch/lib/libtorch_cuda.so
7f0000100000-7f0000200000 r--p 00100000 08:01 11 {SP}/torch/lib/libtorch_cuda.so
7f0000200000-7f0000300000 r-xp 00000000 08:01 12 {SP}/nvidia/cudnn/lib/libcudnn.so.9
7f0000300000-7f0000400000 r-xp 00000000 08:01 13 {SP}/nvidia/cudnn/lib/libcudnn_graph.so.9
7f0000400000-7f0000500000 r-xp 00000000 08:01 14 {SP}/nvidia/cu13/lib/libcublasLt.so.13
7f0000500000-7f0000600000 r-xp 00000000 08:01 15 {SP}/nvidia/cu13/lib/libcublas.so.13
7f0000600000-7f0000700000 r-xp 00000000 08:01 16 /usr/lib/x86_64-linux-gnu/libcuda.so.580.159.04
7f0000700000-7f0000800000 r-xp 00000000 08:01 17 /usr/lib/x86_64-linux-gnu/libnccl.so.2.27.3 (deleted)
7f0000800000-7f0000801000 rw-p 00000000 00:00 0 [heap]
7f0000900000-7f0000901000 rw-s 00000000 00:05 99 /dev/nvidiactl
"""


def test_maps_are_read_into_cuda_libraries_and_other_objects():
    paths = child.parse_maps(MAPS)
    assert paths.count(f"{SP}/torch/lib/libtorch_cuda.so") == 1  # one entry per file
    libs, others = child.classify(paths)
    assert [n for n, _ in libs] == ["cudnn", "cublasLt", "cublas", "cuda", "nccl"]
    assert f"{SP}/nvidia/cudnn/lib/libcudnn_graph.so.9" in others and f"{SP}/torch/lib/libtorch_cuda.so" in others
    assert "[heap]" not in " ".join(paths) and "/usr/lib/x86_64-linux-gnu/libnccl.so.2.27.3" in paths


def test_windows_module_names_are_recognised():
    libs, _ = child.classify([r"C:\env\Lib\site-packages\torch\lib\cudnn64_9.dll", r"C:\Windows\System32\nvcuda.dll", r"C:\x\cublasLt64_12.dll"], windows=True)
    assert [n for n, _ in libs] == ["cudnn", "cuda", "cublasLt"]


def test_version_from_file_name_when_the_library_cannot_say():
    assert child._file_version("/usr/lib/x86_64-linux-gnu/libcudnn.so.9.14.0") == "9.14.0"
    assert child._file_version(r"C:\x\cudart64_12.dll") == "12"


def test_rule_ld_library_path_beats_everything():
    lib = "/usr/lib/x86_64-linux-gnu/libcudnn.so.9"
    rule, why = pick_rule(lib, [], {"LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu:/opt/x"}, system_dirs=[])
    assert rule == "LD_LIBRARY_PATH" and "before any RUNPATH" in why


def test_rule_wheel_folder_and_system_cache():
    assert pick_rule(f"{SP}/nvidia/cudnn/lib/libcudnn.so.9", [], {}, system_dirs=[])[0] == "wheel"
    rule, why = pick_rule("/usr/lib/x86_64-linux-gnu/libcudnn.so.9", [], {}, system_dirs=["/usr/lib/x86_64-linux-gnu"])
    assert rule == "system" and "ld.so.conf" in why
    assert pick_rule("/srv/odd/libcudnn.so.9", [], {}, system_dirs=[])[0] == "path"
    assert pick_rule(r"C:\env\Lib\site-packages\nvidia\cudnn\bin\cudnn64_9.dll", [], {"PATH": r"C:\Windows"}, windows=True)[0] == "wheel"


CC = shutil.which("cc") or shutil.which("gcc")
needs_cc = pytest.mark.skipif(not CC or sys.platform != "linux", reason="needs a C compiler on Linux")


def _stub_cudnn(folder, version=91400):
    folder.mkdir(parents=True, exist_ok=True)
    src = folder / "cudnn.c"
    src.write_text("#include <stddef.h>\nsize_t cudnnGetVersion(void) { return %d; }\n" % version)
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(folder / "libcudnn.so.9"), "-Wl,-soname,libcudnn.so.9", str(src)], check=True)
    return folder / "libcudnn.so.9"


@needs_cc
def test_rule_runpath_of_the_module_that_needs_it(tmp_path):
    lib = _stub_cudnn(tmp_path / "site-packages" / "nvidia" / "cudnn" / "lib")
    os.symlink("libcudnn.so.9", lib.parent / "libcudnn.so")
    mod_dir = tmp_path / "site-packages" / "torch" / "lib"
    mod_dir.mkdir(parents=True)
    (mod_dir / "m.c").write_text("int f(void) { return 0; }\n")
    mod = mod_dir / "libtorch_cuda.so"
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(mod), str(mod_dir / "m.c"), f"-L{lib.parent}", "-Wl,--no-as-needed", "-lcudnn",
                    "-Wl,--enable-new-dtags,-rpath,$ORIGIN/../../nvidia/cudnn/lib"], check=True)
    rule, why = pick_rule(str(lib), [str(mod)], {}, system_dirs=[])
    assert rule == "RUNPATH" and "$ORIGIN/../../nvidia/cudnn/lib" in why and "torch/lib/libtorch_cuda.so" in why and "nvidia/" in why
    # ... unless LD_LIBRARY_PATH names the folder: then that is the rule that picked it
    assert pick_rule(str(lib), [str(mod)], {"LD_LIBRARY_PATH": str(lib.parent)}, system_dirs=[])[0] == "LD_LIBRARY_PATH"


@needs_cc
def test_child_lists_the_cudnn_it_loaded_with_its_own_version(tmp_path, monkeypatch):
    """A stand-in torch that loads a stub libcudnn.so.9 (cudnnGetVersion = 9.14.0) from a folder on LD_LIBRARY_PATH."""
    lib = _stub_cudnn(tmp_path / "syslib")
    site = tmp_path / "site"
    (site / "torch").mkdir(parents=True)
    (site / "torch" / "__init__.py").write_text(
        "import ctypes\n_h = ctypes.CDLL('libcudnn.so.9')\n__version__ = '2.11.0+cu130'\n"
        "class version:\n    cuda = '13.0'\n"
        "class cuda:\n    @staticmethod\n    def is_available():\n        return False\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(site))
    monkeypatch.setenv("LD_LIBRARY_PATH", str(lib.parent))
    (fw,) = probe_frameworks([str(site)], sys.executable, only=("torch",), timeout=30)
    (cudnn,) = [x for x in fw.loaded if x.name == "cudnn"]
    assert cudnn.path == str(lib) and cudnn.version == "9.14.0" and cudnn.rule == "LD_LIBRARY_PATH"


@needs_cc
def test_pathfinder_says_which_copy_it_would_load(tmp_path):
    """cuda-pathfinder, lent to the inspected interpreter, finds a conda environment's cuDNN ($CONDA_PREFIX/lib)."""
    lib = _stub_cudnn(tmp_path / "conda-env" / "lib", 91900)
    (lib.parent / "lt.c").write_text("int cublasLtGetVersion(void) { return 130100; }\n")  # cuDNN's one required dependency
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(lib.parent / "libcublasLt.so.13"), "-Wl,-soname,libcublasLt.so.13", str(lib.parent / "lt.c")], check=True)
    env = {**os.environ, "CONDA_PREFIX": str(tmp_path / "conda-env")}
    env.pop("LD_LIBRARY_PATH", None)
    picks = pathfinder_picks(sys.executable, ["cudnn"], env)
    if not picks:
        pytest.skip("this environment's own NVIDIA wheels answer first, or pathfinder cannot run here")
    pick = picks["cudnn"]
    if os.path.realpath(pick.path) != os.path.realpath(lib):
        pytest.skip(f"pathfinder found another cuDNN first: {pick.path}")
    assert pick.version == "9.19.0" and "conda" in pick.rule_detail and pick.rule_detail.startswith("cuda-pathfinder")


def test_payload_without_libraries_is_empty():
    assert loaded_from_payload(None, {}) == () and loaded_from_payload({"libs": [{"name": "cudnn"}]}, {}) == ()


def test_cudnn_engines_from_another_folder_name_the_copy_that_runs():
    sys_dir = "/usr/lib/x86_64-linux-gnu"
    paths = [f"{SP}/torch/lib/libtorch_cuda.so", f"{SP}/nvidia/cudnn/lib/libcudnn.so.9", f"{sys_dir}/libcudnn_graph.so.9.14.0"]
    (lib,) = child.loaded_libraries(paths)["libs"]
    assert lib["path"] == f"{sys_dir}/libcudnn_graph.so.9.14.0" and lib["front"] == f"{SP}/nvidia/cudnn/lib/libcudnn.so.9"
    assert lib["version"] == "9.14.0"  # the engines' file name, when the front cannot be asked
    same = child.loaded_libraries([f"{SP}/nvidia/cudnn/lib/libcudnn.so.9", f"{SP}/nvidia/cudnn/lib/libcudnn_graph.so.9"])["libs"]
    assert same[0]["path"].endswith("libcudnn.so.9") and "front" not in same[0]
    assert child.cudnn_engines(r"C:\e\torch\lib\cudnn64_9.dll", [r"C:\Windows\System32\cudnn_graph64_9.dll", r"C:\e\torch\lib\cudnn_ops64_9.dll"], windows=True) == [r"C:\Windows\System32\cudnn_graph64_9.dll"]
