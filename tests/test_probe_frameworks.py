"""Framework inspection in child processes: crashes, hangs, import errors and CPU-only builds become facts."""

import os
import sys

import pytest

from gpuready.knowledge.frameworks import frameworks
from gpuready.probe.frameworks import find_copies, probe_frameworks


def fake_site(tmp_path, name, body, dist=None, version="1.0"):
    site = tmp_path / "site"
    pkg = site / name
    pkg.mkdir(parents=True, exist_ok=True)
    (pkg / "__init__.py").write_text(body)
    for d in [dist] if isinstance(dist, str) else (dist or []):
        info = site / f"{d.replace('-', '_')}-{version}.dist-info"
        info.mkdir(exist_ok=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {d}\nVersion: {version}\n")
        (info / "top_level.txt").write_text(name + "\n")
    return site


@pytest.fixture
def on_path(monkeypatch):
    def add(site):
        monkeypatch.setenv("PYTHONPATH", str(site) + os.pathsep + os.environ.get("PYTHONPATH", ""))
        return [str(site)]

    return add


def inspect_one(name, sys_path, timeout=20.0):
    (fw,) = probe_frameworks(sys_path, sys.executable, only=(name,), timeout=timeout)
    return fw


def test_cpu_only_dlib(tmp_path, on_path):
    site = fake_site(tmp_path, "dlib", "DLIB_USE_CUDA = False\n__version__ = '20.0.1'\n", "dlib", "20.0.1")
    fw = inspect_one("dlib", on_path(site))
    assert fw.status == "ok" and fw.cuda_build is False and fw.version == "20.0.1" and fw.dist == "dlib"


def test_segfault_at_import_is_a_crash(tmp_path, on_path):
    site = fake_site(tmp_path, "dlib", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n", "dlib")
    fw = inspect_one("dlib", on_path(site))
    assert fw.status == "crashed" and fw.signal == "SIGSEGV"


def test_hang_at_import_is_a_timeout(tmp_path, on_path):
    site = fake_site(tmp_path, "cupy", "import time\ntime.sleep(60)\n", "cupy-cuda12x")
    fw = inspect_one("cupy", on_path(site), timeout=2)
    assert fw.status == "timeout" and "2 s" in fw.error


def test_import_error_keeps_the_message(tmp_path, on_path):
    site = fake_site(
        tmp_path, "torch", "raise OSError('libcudnn.so.9: cannot open shared object file: No such file or directory')\n", "torch", "2.4.1"
    )
    fw = inspect_one("torch", on_path(site))
    assert fw.status == "import_error" and "libcudnn.so.9" in fw.error and fw.version == "2.4.1"


def test_garbage_output_is_an_error_not_a_crash_of_gpuready(tmp_path, on_path):
    site = fake_site(tmp_path, "cv2", "import sys\nsys.stdout.write('\\x1eGPUREADY {broken json\\n')\nsys.stdout.flush()\nimport os\nos._exit(3)\n", "opencv-python")
    fw = inspect_one("cv2", on_path(site))
    assert fw.status == "error" and "exit status 3" in fw.error


def test_face_recognition_quit_is_an_import_error(tmp_path, on_path):
    site = fake_site(tmp_path, "dlib", "DLIB_USE_CUDA = True\n", "dlib")
    fake_site(
        tmp_path,
        "face_recognition",
        "print('Please install `face_recognition_models` with this command before using `face_recognition`:')\nquit()\n",
        "face_recognition",
    )
    fw = inspect_one("face_recognition", on_path(site))
    assert fw.status == "import_error" and "quit()" in fw.error


def test_two_providers_of_cv2_in_one_place(tmp_path):
    site = fake_site(tmp_path, "cv2", "", ["opencv-python", "opencv-python-headless"], "4.14.0.94")
    (copy,) = find_copies(frameworks()["cv2"], [str(site)], {})
    assert copy.dist == "opencv-python,opencv-python-headless"


def test_a_second_copy_is_found(tmp_path):
    a = fake_site(tmp_path / "a", "dlib", "", "dlib", "19.24.0")
    b = fake_site(tmp_path / "b", "dlib", "", "dlib", "20.0.1")
    copies = find_copies(frameworks()["dlib"], [str(a), str(b)], {})
    assert [c.version for c in copies] == ["19.24.0", "20.0.1"] and copies[0].active and not copies[1].active


def test_nothing_installed_means_no_children(tmp_path):
    assert probe_frameworks([str(tmp_path)], sys.executable) == ()
