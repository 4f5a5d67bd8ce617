"""The ELF reader and the native-extension hazard check (doctor), on synthetic and real ELF files."""

from __future__ import annotations

import dataclasses
import glob
import os
import re
import shutil
import struct
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from gpuready.machine import Compiler, Framework, FrameworkCopy
from gpuready import elf
from gpuready.verify.hazards import check_native_extensions, environment_libstdcxx, hazards_for, rules, scan
from tests.conftest import load_machine


def make_elf(
    path: Path,
    *,
    needed=(),
    version_needs=None,
    version_defs=(),
    comment: str | None = None,
    soname: str = "",
    runpath: str = "",
    extra: bytes = b"",
) -> Path:
    """Write a minimal little-endian ELF64 shared object with the given dynamic-section facts."""
    version_needs = version_needs or {}
    strings = bytearray(b"\0")
    offsets: dict[str, int] = {}

    def s(text: str) -> int:
        if text not in offsets:
            offsets[text] = len(strings)
            strings.extend(text.encode() + b"\0")
        return offsets[text]

    for n in needed:
        s(n)
    for lib, names in version_needs.items():
        s(lib)
        for n in names:
            s(n)
    for n in version_defs:
        s(n)
    if soname:
        s(soname)
    if runpath:
        s(runpath)
    head = 64 + 2 * 56
    dynstr_off = head
    verneed_off = dynstr_off + len(strings)
    verneed = bytearray()
    libs = list(version_needs.items())
    for i, (lib, names) in enumerate(libs):
        size = 16 + 16 * len(names)
        verneed += struct.pack("<HHIII", 1, len(names), s(lib), 16, size if i < len(libs) - 1 else 0)
        for j, n in enumerate(names):
            verneed += struct.pack("<IHHII", 0, 0, j + 2, s(n), 16 if j < len(names) - 1 else 0)
    verdef_off = verneed_off + len(verneed)
    verdef = bytearray()
    for i, n in enumerate(version_defs):
        verdef += struct.pack("<HHHHIII", 1, 0, i + 1, 1, 0, 20, 28 if i < len(version_defs) - 1 else 0)
        verdef += struct.pack("<II", s(n), 0)
    dyn_off = verdef_off + len(verdef)
    entries = [(elf.DT_NEEDED, s(n)) for n in needed]
    if soname:
        entries.append((elf.DT_SONAME, s(soname)))
    if runpath:
        entries.append((elf.DT_RUNPATH, s(runpath)))
    entries += [(elf.DT_STRTAB, dynstr_off), (elf.DT_STRSZ, len(strings))]
    if libs:
        entries += [(elf.DT_VERNEED, verneed_off), (elf.DT_VERNEEDNUM, len(libs))]
    if version_defs:
        entries += [(elf.DT_VERDEF, verdef_off), (elf.DT_VERDEFNUM, len(version_defs))]
    entries.append((elf.DT_NULL, 0))
    dynamic = b"".join(struct.pack("<qQ", t, v) for t, v in entries)
    comment_off = dyn_off + len(dynamic)
    comment_bytes = (comment.encode() + b"\0") if comment else b""
    extra_off = comment_off + len(comment_bytes)
    shstr = b"\0.comment\0.shstrtab\0"
    shstr_off = extra_off + len(extra)
    shoff = shstr_off + len(shstr)
    sections = [struct.pack("<IIQQQQIIQQ", 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    if comment:
        sections.append(struct.pack("<IIQQQQIIQQ", 1, 1, 0x30, 0, comment_off, len(comment_bytes), 0, 0, 1, 1))
    sections.append(struct.pack("<IIQQQQIIQQ", 10, 3, 0, 0, shstr_off, len(shstr), 0, 0, 1, 0))
    total = shoff + 64 * len(sections)
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + b"\0" * 8
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, 64, shoff, 0, 64, 56, 2, 64, len(sections), len(sections) - 1)
    phdrs = struct.pack("<IIQQQQQQ", elf.PT_LOAD, 5, 0, 0, 0, total, total, 0x1000)
    phdrs += struct.pack("<IIQQQQQQ", elf.PT_DYNAMIC, 6, dyn_off, dyn_off, dyn_off, len(dynamic), len(dynamic), 8)
    blob = header + phdrs + bytes(strings) + bytes(verneed) + bytes(verdef) + dynamic + comment_bytes + extra + shstr + b"".join(sections)
    assert len(blob) == total
    path.write_bytes(blob)
    return path


# --- the ELF reader ----------------------------------------------------------------------------


def test_reads_synthetic_dynamic_section(tmp_path):
    p = make_elf(
        tmp_path / "m.so",
        needed=("libstdc++.so.6", "libc.so.6"),
        version_needs={"libstdc++.so.6": ("GLIBCXX_3.4", "GLIBCXX_3.4.32", "CXXABI_1.3"), "libc.so.6": ("GLIBC_2.34",)},
        comment="GCC: (GNU) 14.2.0",
        soname="m.so",
        runpath="$ORIGIN/lib:/opt/x",
    )
    info = elf.read_elf(str(p))
    assert info.bits == 64 and info.machine == 62
    assert info.needed == ("libstdc++.so.6", "libc.so.6") and info.soname == "m.so"
    assert info.runpath == ("$ORIGIN/lib", "/opt/x")
    assert info.version_needs["libstdc++.so.6"] == ("GLIBCXX_3.4", "GLIBCXX_3.4.32", "CXXABI_1.3")
    assert info.version_needs["libc.so.6"] == ("GLIBC_2.34",)
    assert info.comment == ("GCC: (GNU) 14.2.0",)
    assert info.needs("libstdc++.so") and not info.cxx_runtime_inside
    assert elf.glibcxx_versions(info.version_needs["libstdc++.so.6"]) == [(3, 4), (3, 4, 32)]


def test_version_definitions_and_markers(tmp_path):
    p = make_elf(tmp_path / "libstdc++.so.6", version_defs=("libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.30", "CXXABI_1.3"), extra=b"St9exception\0")
    info = elf.read_elf(str(p))
    assert info.version_defs == ("libstdc++.so.6", "GLIBCXX_3.4", "GLIBCXX_3.4.30", "CXXABI_1.3")
    assert info.cxx_runtime_inside
    assert max(elf.glibcxx_versions(info.version_defs)) == (3, 4, 30)


def test_bad_files_never_raise(tmp_path):
    assert elf.read_elf(str(tmp_path / "missing.so")) is None
    (tmp_path / "text.so").write_text("not an elf file at all, but long enough to be read" * 3)
    assert elf.read_elf(str(tmp_path / "text.so")) is None
    good = make_elf(tmp_path / "g.so", needed=("libc.so.6",), version_needs={"libc.so.6": ("GLIBC_2.2.5",)}, comment="GCC: x").read_bytes()
    for cut in range(0, len(good), 7):  # every truncation: None or a partial answer, no exception
        (tmp_path / "cut.so").write_bytes(good[:cut])
        info = elf.read_elf(str(tmp_path / "cut.so"))
        assert info is None or isinstance(info, elf.ElfInfo)
    corrupt = bytearray(good)
    corrupt[64 + 56 + 8 : 64 + 56 + 16] = struct.pack("<Q", 2**60)  # PT_DYNAMIC offset far past the end
    (tmp_path / "corrupt.so").write_bytes(bytes(corrupt))
    assert elf.read_elf(str(tmp_path / "corrupt.so")) is not None


def _real_extension() -> str:
    """A real extension module of this Python (the standard library builds several as .so files)."""
    import importlib

    for name in ("_ssl", "_ctypes", "_json", "_socket", "select", "math"):
        try:
            path = getattr(importlib.import_module(name), "__file__", "") or ""
        except ImportError:
            continue
        if path.endswith(".so"):
            return path
    hits = glob.glob(os.path.join(sysconfig.get_paths()["platstdlib"], "lib-dynload", "*.so"))
    return hits[0] if hits else ""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF files are Linux's")
def test_real_extension_module_matches_readelf():
    path = _real_extension()
    if not path:
        pytest.skip("this Python has no lib-dynload extension modules")
    info = elf.read_elf(path)
    assert info is not None and info.bits in (32, 64)
    if shutil.which("readelf"):
        out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
        assert list(info.needed) == re.findall(r"\(NEEDED\)\s+Shared library: \[(.*?)\]", out)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF files are Linux's")
def test_system_libstdcxx_defines_glibcxx():
    m = dataclasses.replace(load_machine("no-gpu"), python=dataclasses.replace(load_machine("no-gpu").python, env_kind="venv"))
    m = dataclasses.replace(m, os=dataclasses.replace(m.os, system="linux", arch=os.uname().machine))
    runtime = environment_libstdcxx(m)
    if not runtime.path:
        pytest.skip("no system libstdc++.so.6 here")
    assert runtime.newest >= (3, 4, 19)


# --- the hazard check --------------------------------------------------------------------------


def machine_with_dlib(tmp_path: Path, module_kwargs: dict, *, conda_libstdcxx: tuple[str, ...] = ()):
    site = tmp_path / "site"
    (site / "dlib").mkdir(parents=True)
    (site / "dlib" / "__init__.py").write_text("")
    make_elf(site / "_dlib_pybind11.cpython-312-x86_64-linux-gnu.so", **module_kwargs)
    m = load_machine("h200-driver580")
    py = m.python
    if conda_libstdcxx:
        (tmp_path / "conda" / "lib").mkdir(parents=True)
        make_elf(tmp_path / "conda" / "lib" / "libstdc++.so.6", version_defs=conda_libstdcxx)
        py = dataclasses.replace(py, env_kind="conda", prefix=str(tmp_path / "conda"))
    fw = Framework(name="dlib", version="20.0.1", copies=(FrameworkCopy(path=str(site / "dlib"), active=True),))
    compilers = (
        Compiler(kind="gcc", version="13.3.0", path="/opt/gcc/bin/g++", origin="CXX"),
        Compiler(kind="gcc", version="13.3.0", path="/usr/bin/g++", origin="PATH"),
    )
    return dataclasses.replace(m, frameworks=(fw,), python=py, compilers=compilers)


STATIC = dict(needed=("libgcc_s.so.1", "libc.so.6"), comment="GCC: (Ubuntu 13.3.0-6ubuntu2~24.04) 13.3.0", extra=b"__gxx_personality_v0\0")


def test_static_libstdcxx_is_found_with_the_compiler_to_use(tmp_path):
    m = machine_with_dlib(tmp_path, STATIC)
    [f] = check_native_extensions(m)
    assert (f.label, f.severity) == ("env_mismatch", "warning")
    assert f.subject == "Native module _dlib_pybind11.cpython-312-x86_64-linux-gnu.so"
    assert "does not need libstdc++.so.6" in f.message and "dlib 20.0.1" in f.message
    assert "CC=/usr/bin/gcc CXX=/usr/bin/g++ CUDAHOSTCXX=/usr/bin/g++" in f.fix
    assert any("NEEDED: libgcc_s.so.1, libc.so.6" == e for e in f.evidence)
    assert any("/opt/gcc/bin/g++" in e for e in f.evidence)
    assert f.details["source"] == rules()["static_libstdcxx"].source


def test_dynamic_libstdcxx_is_fine(tmp_path):
    m = machine_with_dlib(tmp_path, dict(needed=("libstdc++.so.6", "libc.so.6"), extra=b"__gxx_personality_v0"))
    assert check_native_extensions(m) == []


def test_plain_c_module_is_not_cxx(tmp_path):
    m = machine_with_dlib(tmp_path, dict(needed=("libc.so.6",)))
    assert check_native_extensions(m) == []


def test_glibcxx_newer_than_the_environment(tmp_path):
    m = machine_with_dlib(
        tmp_path,
        dict(needed=("libstdc++.so.6",), version_needs={"libstdc++.so.6": ("GLIBCXX_3.4", "GLIBCXX_3.4.32")}),
        conda_libstdcxx=("GLIBCXX_3.4", "GLIBCXX_3.4.29"),
    )
    [f] = check_native_extensions(m)
    assert (f.label, f.severity) == ("env_mismatch", "error")
    assert "GLIBCXX_3.4.32" in f.message and "GLIBCXX_3.4.29" in f.message
    assert str(tmp_path / "conda" / "lib" / "libstdc++.so.6") in f.message


def test_other_hosts_and_other_systems_are_skipped(tmp_path):
    assert check_native_extensions(load_machine("h200-driver580")) == []  # its paths are not on this host
    m = machine_with_dlib(tmp_path, STATIC)
    assert check_native_extensions(dataclasses.replace(m, os=dataclasses.replace(m.os, system="windows"))) == []
    assert hazards_for(m, "dlib") and hazards_for(m, "torch") == []
    assert len(scan(m, only=("dlib",))) == 1


def test_doctor_runs_the_check():
    from gpuready.doctor.checks import CHECKS

    assert check_native_extensions in CHECKS


def test_crash_verdict_uses_the_hazard(tmp_path, monkeypatch):
    """A crash in a module with a static libstdc++ gets the hazard's label and fix."""
    from gpuready.proc import Result
    from gpuready.verify.runner import classify
    from gpuready.verify.verdicts import judge

    m = machine_with_dlib(tmp_path, STATIC)
    run = classify("dlib", "verify", Result(("py",), -11, "", "gpuready-step: import numpy (imported first, as real programs do)\n"
                                            "gpuready-step: preloaded: numpy 2.5.2\ngpuready-step: import dlib"), 60)
    r = judge(run, m, display="dlib", version="20.0.1", hazards=hazards_for(m, "dlib"))
    assert r.status == "crashed" and r.label == "env_mismatch"
    assert "after importing numpy 2.5.2 first" in r.message and "static libstdc++" in r.message
    assert "CXX=/usr/bin/g++" in r.fix
