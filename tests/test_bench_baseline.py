"""bench's own CPU baseline for dlib/face_recognition: which CPU build, its cache label, the build's
environment, the venv it lives in, and how its CPU times reach the GPU rows."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready.bench import baseline as bl
from gpuready.bench import cpubuild as cb
from gpuready.bench import bench, merge_baseline
from gpuready.bench.results import rows_from
from gpuready.cli import main
from gpuready.machine import Compiler
from gpuready.verify.verdicts import VerifyResult
from tests.conftest import load_machine

FAKES = Path(__file__).parent / "data" / "verify" / "fakes"

CPUINFO_SPR = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu sse sse2 ssse3 sse4_1 sse4_2 popcnt avx avx2 fma bmi1 bmi2 f16c movbe avx512f avx512bw avx512cd avx512dq avx512vl amx_tile
processor\t: 1
flags\t\t: fpu
"""


def test_simd_level_from_cpuinfo():
    flags = cb.cpu_flags(CPUINFO_SPR)
    assert "avx512f" in flags and "fpu" in flags
    top = cb.simd_level(flags)
    assert top.label == "avx512" and "-mavx512f" in top.flags and "-mavx2" in top.flags and "-msse4.2" in top.flags
    assert cb.simd_level(flags - {"avx512vl"}).label == "avx2"  # one missing AVX-512 flag: the level below
    assert cb.simd_level(frozenset({"sse4_1", "sse4_2", "ssse3", "popcnt"})).label == "sse4"
    assert cb.simd_level(frozenset({"avx512f"})).label == "generic"  # a level needs the ones below it too
    assert cb.simd_level(flags, "aarch64").label == "generic"
    assert cb.cpu_flags("no flags here") == frozenset()
    assert cb.cpu_threads() >= 1


def _sdist(path: Path, headers: dict[str, str], setup: str = "") -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, text in {**headers, **({"setup.py": setup} if setup else {})}.items():
            data = text.encode()
            info = tarfile.TarInfo(f"{path.name[:-7]}/{name}")
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return path


def test_cblas_macros_map_dlib_calls_onto_the_scipy_prefix(tmp_path):
    sdist = _sdist(tmp_path / "dlib-20.0.1.tar.gz", {
        "dlib/matrix/matrix_blas_bindings.h": "void cblas_sgemm( int a);\n float cblas_sdot(const int N);\n cblas_constants x;",
        "dlib/matrix/matrix_trsm.h": "void cblas_strsm(int);",
        "dlib/external/cblas/cblas_zzz.c": "void cblas_zzz(int);",  # not built: not mapped
    })
    assert cb.cblas_macros(sdist) == ["-Dcblas_ddot=scipy_cblas_ddot", "-Dcblas_sdot=scipy_cblas_sdot", "-Dcblas_sgemm=scipy_cblas_sgemm", "-Dcblas_strsm=scipy_cblas_strsm"]
    with pytest.raises(bl.BaselineError, match="no cblas calls"):
        cb.cblas_macros(_sdist(tmp_path / "other-1.0.tar.gz", {"README": "x"}))
    with pytest.raises(bl.BaselineError, match="not a readable sdist"):
        cb.cblas_macros(tmp_path / "missing.tar.gz")


def _wheel(dest: Path, dist: str, version: str, files: dict[str, bytes], tag: str) -> Path:
    from gpuready.build import wheelfile

    tree = dest / f"tree-{dist}"
    for name, data in files.items():
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        (tree / name).write_bytes(data)
    return wheelfile.make_wheel(tree, dist, version, tag, dest)


def _ctx(machine, tmp_path, simd=None):
    return bl._Ctx(machine, sys.executable, None, lambda _m: None, 4, simd or cb.simd_level(cb.cpu_flags(CPUINFO_SPR)), 60)


def test_cache_label_and_build_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path))
    machine = load_machine("h200-driver580")
    ctx = _ctx(machine, tmp_path)
    key = bl._key(ctx, "20.0.1")
    assert key.wheel_version == "20.0.1+cpu.avx512.openblas.r1" and key.python_tag == "cp312"
    assert bl.baseline_dir(key) == tmp_path / "baselines" / "dlib-20.0.1-cpu.avx512.openblas.r1-cp312"
    monkeypatch.setenv("CFLAGS", "-O0 -g")  # the user's flags do not leak into the baseline build
    env = bl.build_env(ctx, tmp_path, ["-Dcblas_sgemm=scipy_cblas_sgemm"])
    assert env["DLIB_USE_CUDA"] == "0" and env["DLIB_USE_BLAS"] == "ON" and env["DLIB_USE_LAPACK"] == "OFF"
    assert env["OPENBLAS_HOME"] == str(tmp_path / "blas") and env["CMAKE_BUILD_PARALLEL_LEVEL"] == "4"
    assert env["CFLAGS"] == "-Dcblas_sgemm=scipy_cblas_sgemm" and "-mavx512f" in env["CXXFLAGS"] and "-Dcblas_sgemm=" in env["CXXFLAGS"]
    assert Path(env["PKG_CONFIG_LIBDIR"]).is_dir()
    gcc = [c for c in machine.compilers if c.kind == "gcc"]
    if gcc:  # the distribution's compiler, not the /opt/gcc toolchain of the test machine
        assert env["CXX"].startswith("/usr/bin/")
    runtime = bl._runtime_env(16, tmp_path / "lib")
    assert runtime["OPENBLAS_NUM_THREADS"] == "16" and runtime["LD_LIBRARY_PATH"].startswith(str(tmp_path / "lib"))


def test_cpu_wheel_is_cached_under_its_label(tmp_path, monkeypatch):
    from gpuready.build import cache

    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    ctx = _ctx(load_machine("h200-driver580"), tmp_path)
    key = bl._key(ctx, "20.0.1")
    built = _wheel(tmp_path, "dlib", "20.0.1", {"dlib/__init__.py": b"DLIB_USE_CUDA = False\n"}, "cp312-cp312-linux_x86_64")
    entry = cache.store(built, key, {"role": "cpu-baseline"})
    assert entry.path.name == "dlib-20.0.1+cpu.avx512.openblas.r1-cp312-cp312-linux_x86_64.whl"
    assert cache.lookup(key) is not None and entry.info["key"]["simd"] == "avx512"
    other = bl._key(_ctx(load_machine("h200-driver580"), tmp_path, cb.Simd("avx2", "AVX2+FMA", "-mavx2")), "20.0.1")
    assert cache.lookup(other) is None  # another SIMD level is another wheel


def test_merge_names_the_cpu_build_in_every_row():
    gpu = VerifyResult(name="dlib", display="dlib", version="20.0.1", status="works", device="H200", rows=(
        {"workload": "CNN faces per frame: 4 (1024x1024)", "unit": "frames/s", "work": 1, "gpu_s": 0.004, "gpu_runs": 10,
         "note": "CPU time: from the CPU baseline; 4 of 4 faces found", "group": "scaling", "series": "dlib CNN face detection", "x": 4},
    ))
    cpu = VerifyResult(name="dlib", display="dlib", version="20.0.1", status="works", device="CPU", rows=(
        {"workload": "CNN faces per frame: 4 (1024x1024)", "unit": "frames/s", "work": 1, "cpu_s": 0.8, "cpu_runs": 3,
         "cpu_min_s": 0.7, "cpu_max_s": 0.9, "note": "4 of 4 faces found"},
    ))
    base = bl.CpuBaseline(python="/b/python", kind="source", description="dlib 20.0.1 built from source by gpuready for this CPU: AVX-512, OpenBLAS, 16 threads",
                          threads=16, notes=("source build: x",))
    [row] = rows_from([merge_baseline(gpu, cpu, base)])
    assert row.speedup == pytest.approx(200.0) and row.cpu_min_s == 0.7 and row.cpu_max_s == 0.9
    assert row.note.startswith("CPU: dlib 20.0.1 built from source") and "16 threads" in row.note
    assert "CPU run: 4 of 4 faces found" in row.note and "GPU run: 4 of 4 faces found" in row.note
    assert row.group == "scaling" and row.x == 4
    merged = merge_baseline(gpu, cpu, base)
    assert any(n.startswith("CPU baseline: dlib 20.0.1 built") for n in merged.notes) and "CPU baseline: source build: x" in merged.notes


def test_reuse_reads_the_marker(tmp_path):
    base = bl.CpuBaseline(python=sys.executable, kind="source", description="d", threads=2, notes=("n",))
    (tmp_path / bl.MARKER).write_text(json.dumps(base.to_dict()))
    again = bl._reuse(tmp_path)
    assert again is not None and again.cached and again.notes == ("n",)
    (tmp_path / bl.MARKER).write_text(json.dumps({**base.to_dict(), "python": str(tmp_path / "gone")}))
    assert bl._reuse(tmp_path) is None  # a venv that is gone is made again
    (tmp_path / bl.MARKER).write_text("{not json")
    assert bl._reuse(tmp_path) is None


def test_offline_folder_without_the_files_says_what_to_bring(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    (tmp_path / "off").mkdir()
    machine = load_machine("h200-driver580")
    with pytest.raises(bl.BaselineError) as err:
        bl.make_baseline(machine, python=sys.executable, offline=tmp_path / "off", prefer="auto")
    text = str(err.value)
    assert "scipy_openblas32" in text and "dlib_bin" in text and "source build" in text and "dlib-bin wheel" in text


@pytest.mark.slow
def test_source_route_end_to_end_with_a_stub_sdist(tmp_path, monkeypatch):
    """The real route (venv, OpenBLAS wheel, pip wheel with the build env, cache, import check) on a stub sdist whose
    setup.py records what it was given, so no compiler is needed."""
    from gpuready.verify.local import local_machine

    if not cb.build_modules_ok(sys.executable):
        pytest.skip("setuptools with bdist_wheel is not in this interpreter")

    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    off = tmp_path / "off"
    off.mkdir()
    _wheel(off, "scipy-openblas32", "0.3.34", {"scipy_openblas32/__init__.py": b"", "scipy_openblas32/lib/libscipy_openblas.so": b""},
           "py3-none-any")
    setup = (
        "import os\nfrom setuptools import setup\n"
        "print('Looking for cblas_ddot - found')\n"
        "os.makedirs('dlib', exist_ok=True)\n"
        "open('dlib/__init__.py', 'w').write('DLIB_USE_CUDA = False\\nDLIB_USE_BLAS = %r == \"ON\"\\nUSE_AVX_INSTRUCTIONS = True\\n'"
        " '__version__ = \"0.0.1\"\\nCXXFLAGS = %r\\n' % (os.environ.get('DLIB_USE_BLAS'), os.environ.get('CXXFLAGS')))\n"
        "setup(name='dlib', version='0.0.1', packages=['dlib'])\n"
    )
    _sdist(off / "dlib-0.0.1.tar.gz", {"dlib/matrix/matrix_blas_bindings.h": "void cblas_sgemm(int);"}, setup)
    monkeypatch.setattr(bl, "_build_tools", lambda ctx, env: True)
    monkeypatch.setattr(bl, "blas_probe", lambda env, root, lib: "")  # the stub .so is empty: the real probe is tested apart
    machine = local_machine(None)
    messages: list[str] = []
    base = bl.make_baseline(machine, offline=off, prefer="source", progress=messages.append, version="0.0.1")
    assert base.kind == "source" and not base.cached and "built from source" in base.description
    assert f"{base.threads} threads" in base.description and base.env["OPENBLAS_NUM_THREADS"] == str(base.threads)
    assert any("building a CPU dlib" in m for m in messages)
    assert Path(base.wheel).name.startswith("dlib-0.0.1+cpu.") and Path(base.wheel).parent == tmp_path / "wheels"
    import subprocess

    out = subprocess.run([base.python, "-c", "import dlib; print(dlib.CXXFLAGS); import numpy"], capture_output=True, text=True, env={**base.env})
    assert out.returncode == 0, out.stderr
    assert "-Dcblas_sgemm=scipy_cblas_sgemm" in out.stdout  # the macros reached the compiler flags
    again = bl.make_baseline(machine, offline=off, prefer="source", version="0.0.1")
    assert again.cached and again.python == base.python  # reused: no second build


def test_bench_uses_the_baseline_it_makes(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("GPUREADY_FAKE", "works")
    made = []

    def fake_make(machine, **kw):
        made.append(kw)
        return bl.CpuBaseline(python=sys.executable, kind="source", description="dlib 20.0.1 built from source by gpuready for this CPU: "
                              "AVX-512, OpenBLAS, 2 threads", threads=2, env={"GPUREADY_FAKE": "cpu"})

    monkeypatch.setattr(bl, "make_baseline", fake_make)
    model = tmp_path / "mmod_human_face_detector.dat"
    model.write_bytes(b"x" * 10)
    res = CliRunner().invoke(main, ["bench", "--json", "--quick", "--repeats", "1", "--warmup", "0", "--model", str(model), "dlib"],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert len(made) == 1 and made[0]["prefer"] == "auto"
    assert data["cpu_baseline"]["kind"] == "source"
    rows = {r["workload"]: r for r in data["rows"]}
    curve = [r for r in data["rows"] if r["group"] == "scaling"]
    assert [r["x"] for r in curve] == [1.0, 4.0]  # --quick: 1 and 4 faces per frame
    assert all(r["speedup"] and r["cpu_s"] and r["gpu_s"] for r in rows.values())
    assert all("built from source" in r["note"] for r in rows.values())
    assert curve[1]["workload"].startswith("CNN faces per frame: 4 (")


def test_no_baseline_leaves_cpu_times_out(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("GPUREADY_FAKE", "works")
    monkeypatch.setattr(bl, "make_baseline", lambda *a, **k: pytest.fail("no baseline was asked for"))
    model = tmp_path / "m.dat"
    model.write_bytes(b"x")
    results = bench(load_machine_local(), only=("dlib",), quick=True, repeats=1, warmup=0, model=str(model), cpu_baseline="none")
    assert results[0].ok and all(r.get("cpu_s") is None for r in results[0].rows)


def load_machine_local():
    from gpuready.verify.local import local_machine

    return local_machine(None)


def test_failed_baseline_is_a_note_not_a_crash(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("GPUREADY_FAKE", "works")

    def broken(*a, **k):
        raise bl.BaselineError("source build: no compiler; dlib-bin wheel: no network")

    monkeypatch.setattr(bl, "make_baseline", broken)
    model = tmp_path / "m.dat"
    model.write_bytes(b"x")
    res = CliRunner().invoke(main, ["bench", "--quick", "--repeats", "1", "--warmup", "0", "--model", str(model), "dlib"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "CPU baseline could not be made" in res.output and "no compiler" in res.output and "Traceback" not in res.output


def test_compiler_choice_is_the_distributions(tmp_path):
    import dataclasses

    machine = dataclasses.replace(load_machine("h200-driver580"), compilers=(
        Compiler(kind="gcc", version="13.3.0", path="/opt/gcc/bin/g++", origin="/opt/gcc"),
        Compiler(kind="gcc", version="13.3.0", path="/usr/bin/g++", origin="PATH"),
    ))
    env = bl.build_env(_ctx(machine, tmp_path), tmp_path, ["-Dcblas_sgemm=scipy_cblas_sgemm"])
    assert env["CXX"] == "/usr/bin/g++" and env["CC"] == "/usr/bin/gcc"
