"""bench's CPU baseline when the source build cannot be made: the dlib-bin wheel at once, never the same build
twice, a BLAS that does not link found in a second (not after minutes), and every figure naming its build
(source-with-BLAS / source-without-BLAS / dlib-bin wheel), dlib's compile flags and the threads."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready.bench import baseline as bl
from gpuready.bench import cpubuild as cb
from gpuready.cli import main
from tests.conftest import load_machine

FAKES = Path(__file__).parent / "data" / "verify" / "fakes"
CC = shutil.which("gcc") or shutil.which("cc")


def _wheel_base(**kw) -> bl.CpuBaseline:
    fields = {"python": sys.executable, "kind": "wheel", "description": "dlib-bin wheel: dlib 20.0.1 from PyPI's dlib-bin (no BLAS)",
              "threads": 1, "cores": 16, "flags": {"DLIB_USE_CUDA": False, "DLIB_USE_BLAS": False, "USE_AVX_INSTRUCTIONS": True}}
    return bl.CpuBaseline(**{**fields, **kw})


def test_every_kind_has_a_name_and_old_markers_still_read(tmp_path):
    assert [bl.CpuBaseline(python="p", kind=k, description="d").build for k in ("source", "source-noblas", "wheel", "given")] == [
        "source-with-BLAS", "source-without-BLAS", "dlib-bin wheel", "given (--cpu-python)"]
    assert _wheel_base().flags_text() == "DLIB_USE_CUDA=0 DLIB_USE_BLAS=0 USE_AVX_INSTRUCTIONS=1"
    old = {"python": sys.executable, "kind": "wheel", "description": "d", "simd": "", "blas": "", "threads": 1, "env": {},
           "wheel": "", "cached": False, "seconds": 1.0, "notes": [], "a_field_of_a_later_version": 1}
    (tmp_path / bl.MARKER).write_text(json.dumps(old))
    again = bl._reuse(tmp_path)
    assert again is not None and again.build == "dlib-bin wheel" and again.flags == {}
    assert bl.given("/x/python").build == "given (--cpu-python)" and bl.given("/x/python").description.startswith("given")


def test_a_failed_source_build_falls_back_at_once_and_is_not_tried_again(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    calls = {"source": 0, "wheel": 0}

    def source(ctx, version, *, blas=True):
        calls["source"] += 1
        raise bl.BuildFailed("no usable BLAS for the source build: cblas_ddot does not link")

    def wheel(ctx):
        calls["wheel"] += 1
        return _wheel_base()

    monkeypatch.setattr(bl, "from_source", source)
    monkeypatch.setattr(bl, "from_wheel", wheel)
    machine = load_machine("h200-driver580")
    base = bl.make_baseline(machine, python=sys.executable, prefer="auto", version="20.0.1")
    assert base.kind == "wheel" and base.build == "dlib-bin wheel" and calls == {"source": 1, "wheel": 1}
    assert any("source-with-BLAS" in n and "cblas_ddot does not link" in n for n in base.notes)
    failed = list((tmp_path / "home" / "baselines").glob(f"*openblas*/{bl.FAILED}"))
    assert len(failed) == 1 and "cblas_ddot" in json.loads(failed[0].read_text())["error"]
    # the next run (bench after a separate baseline step, as on the H200): the wheel, no second build
    again = bl.make_baseline(machine, python=sys.executable, prefer="auto", version="20.0.1")
    assert again.kind == "wheel" and calls["source"] == 1
    # asked for the source build by name: still not rebuilt, said why
    (failed[0].parent.parent / f"dlib-bin-{machine.python.minor or 'py'}" / bl.MARKER).unlink()
    third = bl.make_baseline(machine, python=sys.executable, prefer="source", version="20.0.1")
    assert calls["source"] == 1 and any("skipped, it failed before" in n and "remove" in n for n in third.notes)


def test_missing_files_are_not_recorded_as_a_failed_build(tmp_path, monkeypatch):
    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    (tmp_path / "off").mkdir()
    monkeypatch.setattr(bl, "from_wheel", lambda ctx: _wheel_base())
    base = bl.make_baseline(load_machine("h200-driver580"), python=sys.executable, offline=tmp_path / "off", version="20.0.1")
    assert base.kind == "wheel" and any("lacks dlib-20.0.1.tar.gz" in n for n in base.notes)
    assert not list((tmp_path / "home").rglob(bl.FAILED))  # bring the files and the next run builds


def test_source_noblas_is_last_in_auto_and_first_on_request():
    assert bl.ROUTES["auto"] == ("source", "wheel", "source-noblas")
    assert bl.ROUTES["source-noblas"][0] == "source-noblas" and bl.ROUTES["wheel"] == ("wheel",)


def test_the_build_stops_at_dlibs_no_blas_line(tmp_path):
    noisy = ("import sys, time\n"
             "print('-- Looking for cblas_ddot - not found', flush=True)\n"  # the pkg-config check: always, no proof
             "print('-- BLAS library does not have cblas symbols, so dlib will not use BLAS or LAPACK', flush=True)\n"
             "time.sleep(60)\n")
    res, found, stopped = cb.run_build([sys.executable, "-c", noisy], dict(os.environ), tmp_path / "b.log", timeout=90, blas=True)
    assert stopped.startswith("-- BLAS library does not have") and not found and res.seconds < 30
    assert "cblas_ddot - not found" in (tmp_path / "b.log").read_text()
    fine = "print('-- Looking for cblas_ddot - not found'); print('-- Looking for cblas_ddot - found')"
    res, found, stopped = cb.run_build([sys.executable, "-c", fine], dict(os.environ), tmp_path / "c.log", timeout=60, blas=True)
    assert res.ok and found and not stopped


def test_no_time_left_is_a_recorded_failure():
    ctx = bl._Ctx(load_machine("h200-driver580"), sys.executable, None, lambda _m: None, 2, cb.Simd("sse4", "SSE4.2", ""), 40)
    with pytest.raises(bl.BuildFailed, match="no time left"):
        bl._remaining(ctx, bl.time.monotonic() - 20, "the CPU dlib build")


def test_build_env_puts_our_openblas_before_the_systems(tmp_path, monkeypatch):
    monkeypatch.setenv("PKG_CONFIG_PATH", "/usr/lib/pkgconfig")
    ctx = bl._Ctx(load_machine("h200-driver580"), sys.executable, None, lambda _m: None, 4, cb.Simd("avx2", "AVX2+FMA", "-mavx2"), 60)
    env = bl.build_env(ctx, tmp_path, ["-Dcblas_ddot=scipy_cblas_ddot"])
    assert env["CMAKE_LIBRARY_PATH"].split(os.pathsep)[0] == str(tmp_path / "blas" / "lib") and "PKG_CONFIG_PATH" not in env
    plain = bl.build_env(ctx, tmp_path, [], blas=False)
    assert plain["DLIB_USE_BLAS"] == "OFF" and "OPENBLAS_HOME" not in plain and "CFLAGS" not in plain and "-mavx2" in plain["CXXFLAGS"]


@pytest.mark.skipif(CC is None or sys.platform != "linux", reason="needs a C compiler on Linux")
def test_blas_probe_links_a_prefixed_library_through_the_macros(tmp_path):
    lib = tmp_path / "blas" / "lib"
    lib.mkdir(parents=True)
    src = tmp_path / "fake.c"
    src.write_text("double scipy_cblas_ddot(int n, const double *x, int ix, const double *y, int iy)"
                   "{ double s = 0; for (int i = 0; i < n; i++) s += x[i * ix] * y[i * iy]; return s; }\n")
    subprocess.run([CC, "-shared", "-fPIC", "-o", str(lib / "libscipy_openblas.so"), str(src)], check=True)
    (lib / "libopenblas.so").symlink_to(lib / "libscipy_openblas.so")
    env = dict(os.environ, CC=CC, CFLAGS="-Dcblas_ddot=scipy_cblas_ddot")
    assert cb.blas_probe(env, tmp_path, lib) == ""
    why = cb.blas_probe(dict(env, CFLAGS=""), tmp_path, lib)  # no macros: the plain name is not there
    assert "does not link" in why and "cblas_ddot" in why


def test_bench_names_the_build_flags_threads_and_why_not_better(monkeypatch, tmp_path):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))
    monkeypatch.setenv("GPUREADY_FAKE", "works")
    why = "source-with-BLAS (source build): no usable BLAS for the source build: cblas_ddot does not link"
    monkeypatch.setattr(bl, "make_baseline", lambda machine, **kw: _wheel_base(env={"GPUREADY_FAKE": "cpu"}, notes=(why,)))
    model = tmp_path / "mmod_human_face_detector.dat"
    model.write_bytes(b"x" * 10)
    args = ["bench", "--quick", "--repeats", "1", "--warmup", "0", "--model", str(model), "dlib"]
    res = CliRunner().invoke(main, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "build: dlib-bin wheel; threads: 1 of 16 cores; dlib flags: DLIB_USE_CUDA=0 DLIB_USE_BLAS=0 USE_AVX_INSTRUCTIONS=1" in text
    assert "not used: source-with-BLAS" in text
    res = CliRunner().invoke(main, [*args, "--json"], catch_exceptions=False)
    data = json.loads(res.output)
    assert data["cpu_baseline"]["build"] == "dlib-bin wheel" and data["cpu_baseline"]["flags"]["USE_AVX_INSTRUCTIONS"] is True
    assert data["cpu_baseline"]["threads"] == 1 and data["cpu_baseline"]["cores"] == 16
    assert all(r["note"].startswith("CPU: dlib-bin wheel") for r in data["rows"])


@pytest.mark.slow
def test_real_dlib_bin_wheel_as_the_fallback(tmp_path, monkeypatch):
    """With a real dlib-bin wheel (GPUREADY_TEST_DLIB_BIN: a folder holding dlib_bin-*.whl for this Python), offline:
    auto tries the source build (the folder has no sdist: fails in no time), then installs and names the wheel."""
    folder = os.environ.get("GPUREADY_TEST_DLIB_BIN")
    tag = f"cp{sys.version_info[0]}{sys.version_info[1]}"
    if not folder or not list(Path(folder).glob(f"dlib_bin-*-{tag}-*.whl")):
        pytest.skip("set GPUREADY_TEST_DLIB_BIN to a folder with a dlib_bin wheel for this Python")
    from gpuready.verify.local import local_machine

    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    off = tmp_path / "off"
    off.mkdir()
    for whl in Path(folder).glob(f"dlib_bin-*-{tag}-*.whl"):
        shutil.copy(whl, off)
    base = bl.make_baseline(local_machine(None), offline=off)
    assert base.kind == "wheel" and base.build == "dlib-bin wheel" and base.flags.get("DLIB_USE_CUDA") is False
    assert "DLIB_USE_BLAS" in base.flags and base.threads == (base.cores if base.flags["DLIB_USE_BLAS"] else 1)
    assert any("lacks dlib-" in n for n in base.notes) and base.description.startswith("dlib-bin wheel: dlib 20.")
    out = subprocess.run([base.python, "-c", "import dlib; print(dlib.__file__)"], capture_output=True, text=True,
                         env={**os.environ, **base.env}, check=False)
    assert out.returncode == 0 and out.stdout.strip().startswith(str(tmp_path / "home")), out.stderr
    again = bl.make_baseline(local_machine(None), offline=off)
    assert again.cached and again.python == base.python


@pytest.mark.gpu
@pytest.mark.slow
def test_bench_dlib_on_the_gpu_names_its_cpu_build():
    """On a machine with a CUDA dlib: plain `bench dlib --json` has a CPU time on every row, from a named build."""
    from gpuready.verify.local import local_machine

    machine = local_machine(None)
    probe = subprocess.run([machine.python.executable, "-c", "import dlib; print(dlib.DLIB_USE_CUDA)"], capture_output=True, text=True, check=False)
    if probe.stdout.strip() != "True":
        pytest.skip("no CUDA dlib in this interpreter")
    res = CliRunner().invoke(main, ["bench", "dlib", "--json", "--quick", "--repeats", "2"], catch_exceptions=False)
    data = json.loads(res.output)
    assert data["cpu_baseline"]["build"] in bl.BUILDS.values()
    assert all(r["cpu_s"] and r["gpu_s"] for r in data["rows"])
