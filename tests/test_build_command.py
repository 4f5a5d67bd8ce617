"""`gpuready build` / `gpuready cache` from the command line: dry runs, bad input, the cache verbs, --trim."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready import elf
from gpuready.build import cache, checks, trim
from gpuready.cli import main

MACHINES = Path(__file__).parent / "machines"


def invoke(*args, **kw):
    return CliRunner().invoke(main, list(args), catch_exceptions=False, **kw)


def test_dry_run_json_on_a_saved_machine():
    r = invoke("build", "dlib", "--machine", str(MACHINES / "h200-driver580.json"), "--dry-run", "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    assert data["settings"]["env"]["CUDAARCHS"] == "90"
    assert data["cache_key"]["wheel_version"] == "20.0.1+cu130.cudnn9.sm90.r1"
    assert any("pip wheel" in c for c in data["commands"])


def test_dry_run_terminal_and_blocked_exit_1():
    r = invoke("build", "dlib", "--machine", str(MACHINES / "no-gpu.json"), "--dry-run")
    assert r.exit_code == 1
    assert "--cuda-arch" in r.output
    r = invoke("build", "opencv", "--machine", str(MACHINES / "no-gpu.json"), "--dry-run", "--cuda-arch", "8.6")
    assert r.exit_code == 0, r.output
    assert "-DCUDA_ARCH_BIN=8.6" in r.output


@pytest.mark.parametrize("args,needle", [
    (("build", "tensorflow"), "no build recipe"),
    (("build", "dlib", "--cuda-arch", "ampere", "--dry-run"), "not a CUDA architecture"),
    (("build", "dlib", "--machine", str(MACHINES / "h200-driver580.json")), "--dry-run only"),
])
def test_bad_usage_exits_2(args, needle):
    r = invoke(*args)
    assert r.exit_code == 2
    assert needle in r.output


def test_unreadable_machine_file_exits_2(tmp_path):
    import subprocess

    bad = tmp_path / "m.json"
    bad.write_text("{not json")
    res = subprocess.run([sys.executable, "-m", "gpuready", "build", "dlib", "--machine", str(bad), "--dry-run"],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stderr
    assert "not valid JSON" in res.stderr and "Traceback" not in res.stderr


def test_cache_verbs(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    r = invoke("cache", "path")
    assert r.output.strip() == str(tmp_path / "wheels")
    assert "no wheels" in invoke("cache", "list").output
    from tests.test_cache import _key, _tiny_wheel

    cache.store(_tiny_wheel(tmp_path), _key(), directory=tmp_path / "wheels")
    data = json.loads(invoke("cache", "list", "--json").output)
    assert data["entries"][0]["local_label"] == "cu130.cudnn9.sm90.r1"
    assert "tinypkg" in invoke("cache", "list").output
    r = invoke("cache", "clear")  # not a terminal: needs --yes
    assert r.exit_code == 2 and "--yes" in r.output
    r = invoke("cache", "clear", "--yes")
    assert r.exit_code == 0 and "removed 1 wheel" in r.output
    assert cache.list_entries() == []


def _fake_opencv_sdist(tmp_path: Path, name: str = "opencv_contrib_python_headless-9.9.9.1.tar.gz") -> Path:
    files = {
        "setup.py": b"", "opencv/CMakeLists.txt": b"x", "opencv/modules/core/src/a.cpp": b"x",
        "opencv/modules/core/test/t.cpp": b"x", "opencv/modules/python/test/t.py": b"x", "opencv/modules/video/v.cpp": b"x",
        "opencv/samples/s.cpp": b"x", "opencv/3rdparty/libtiff/t.c": b"x", "opencv/3rdparty/zlib/z.c": b"x",
        "opencv_contrib/modules/cudev/include/c.hpp": b"x", "opencv_contrib/modules/cudev/test/t.cpp": b"x",
        "opencv_contrib/modules/xfeatures2d/x.cpp": b"x",
    }
    out = tmp_path / name
    with tarfile.open(out, "w:gz") as tf:
        for rel, data in files.items():
            info = tarfile.TarInfo(f"{name[:-7]}/{rel}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return out


def test_trim(tmp_path):
    sdist = _fake_opencv_sdist(tmp_path)
    r = invoke("build", "opencv", "--trim", str(sdist), "--out", str(tmp_path / "out"), "--json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.output)
    with tarfile.open(data["path"]) as tf:
        names = {n.split("/", 1)[1] for n in tf.getnames() if "/" in n}
    assert {"opencv/CMakeLists.txt", "opencv/modules/core/src/a.cpp", "opencv/modules/python/test/t.py",
            "opencv/3rdparty/zlib/z.c", "opencv_contrib/modules/cudev/include/c.hpp", trim.MANIFEST} <= names
    for dropped in ("opencv/modules/core/test/t.cpp", "opencv/modules/video/v.cpp", "opencv/samples/s.cpp",
                    "opencv/3rdparty/libtiff/t.c", "opencv_contrib/modules/cudev/test/t.cpp", "setup.py"):
        assert dropped not in names
    assert data["manifest"]["version"] == "9.9.9.1"


def test_trim_rejects_a_pinned_file_with_the_wrong_checksum(tmp_path):
    sdist = _fake_opencv_sdist(tmp_path, "opencv_contrib_python_headless-4.14.0.94.tar.gz")
    with pytest.raises(ValueError, match="does not match the pinned"):
        trim.trim_sdist(sdist, tmp_path / "o.tar.gz")
    r = invoke("build", "opencv", "--trim", str(sdist), "--out", str(tmp_path))
    assert r.exit_code == 2


def test_trimmed_tree_is_identified_as_a_tree(tmp_path):
    from gpuready.build.recipes import get_recipe
    from gpuready.build.source import identify

    res = trim.trim_sdist(_fake_opencv_sdist(tmp_path), tmp_path / "t.tar.gz")
    src = identify(res.path, get_recipe("opencv"))
    assert src.kind == "tree" and src.version == "9.9.9.1"
    sd = identify(_fake_opencv_sdist(tmp_path, "opencv_contrib_python_headless-9.9.9.2.tar.gz"), get_recipe("opencv"))
    assert sd.kind == "sdist" and sd.verified is None
    r = invoke("build", "opencv", "--machine", str(MACHINES / "h200-driver580.json"), "--dry-run", "--json",
               "--sdist", str(res.path))
    assert json.loads(r.output)["settings"]["method"] == "cmake-tree"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads a Linux extension module")
def test_elf_reader_on_a_real_module():
    import _ctypes  # a compiled stdlib module that needs libc (lib-dynload); on a static build, skip

    path = getattr(_ctypes, "__file__", None)
    if not path or not path.endswith(".so"):
        pytest.skip("no shared _ctypes module here")
    info = elf.parse_elf(path)
    assert any(n.startswith("libc.so") or n.startswith("libffi") for n in info.needed)
    assert checks.check_module(path, ("libnothing.so.",))[0].startswith(Path(path).name)


def test_elf_reader_rejects_non_elf(tmp_path):
    p = tmp_path / "x.so"
    p.write_bytes(b"not an elf")
    with pytest.raises(elf.NotELF):
        elf.parse_elf(p)
