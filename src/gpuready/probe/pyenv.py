"""The operating system and the Python environment being inspected.

gpuready may run from its own virtual environment while the user's project lives in
another one, so every fact about "the Python" comes from the interpreter named by
`--python` (default: this one), asked in a child process when it is not this one.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from pathlib import Path

from gpuready.machine import OSInfo, PythonInfo
from gpuready.proc import parse_marked_json, run_python

_FACTS_CODE = r"""
import json, os, platform, struct, sys, sysconfig, site
prefix = sys.prefix
base = getattr(sys, "base_prefix", prefix)
conda = os.path.isdir(os.path.join(prefix, "conda-meta"))
kind = "conda" if conda else ("venv" if prefix != base else "system")
paths = [p for p in sys.path if p and os.path.isdir(p)]
sp = []
for p in paths:
    if p.rstrip("/\\").endswith(("site-packages", "dist-packages")) and p not in sp:
        sp.append(p)
try:
    user = site.getusersitepackages()
except Exception:
    user = ""
print("\x1eGPUREADY " + json.dumps({
    "version": platform.python_version(),
    "implementation": sys.implementation.name,
    "executable": sys.executable,
    "bits": struct.calcsize("P") * 8,
    "env_kind": kind,
    "prefix": prefix,
    "platform": sysconfig.get_platform(),
    "sys_path": paths,
    "site_packages": sp,
}))
"""


def normalise_system(name: str) -> str:
    name = name.lower()
    if name.startswith("win") or name.startswith("cygwin") or name.startswith("msys"):
        return "windows"
    if name == "darwin":
        return "macos"
    return name


def normalise_arch(machine: str) -> str:
    m = machine.lower()
    return {"amd64": "x86_64", "x64": "x86_64", "arm64": "aarch64" if sys.platform != "darwin" else "arm64"}.get(m, m)


def platform_tag(sysconfig_platform: str) -> str:
    """sysconfig's "linux-x86_64" / "win-amd64" / "macosx-14.0-arm64" as a wheel-tag-ish name."""
    return re.sub(r"[-.]", "_", sysconfig_platform)


def read_os_release(path: str = "/etc/os-release") -> str:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    m = re.search(r'^PRETTY_NAME="?([^"\n]*)"?', text, re.M)
    return m.group(1) if m else ""


def probe_os() -> OSInfo:
    system = normalise_system(platform.system())
    distro = ""
    wsl = False
    container = False
    if system == "linux":
        distro = read_os_release()
        try:
            wsl = "microsoft" in Path("/proc/sys/kernel/osrelease").read_text().lower()
        except OSError:
            pass
        container = os.path.exists("/.dockerenv") or os.path.exists("/run/.containerenv")
    elif system == "windows":
        rel, ver, _csd, _ptype = platform.win32_ver()
        distro = f"Windows {rel} ({ver})" if rel else "Windows"
    elif system == "macos":
        distro = "macOS " + platform.mac_ver()[0]
    return OSInfo(
        system=system,
        release=platform.release(),
        distro=distro,
        arch=normalise_arch(platform.machine()),
        wsl=wsl,
        container=container,
    )


def python_facts(python: str | None = None, timeout: float = 20.0) -> tuple[PythonInfo, list[str], str]:
    """(PythonInfo, sys.path of that interpreter, error). In-process when `python` is this interpreter."""
    # Compare paths, not files: every venv's bin/python is a link to the same base interpreter, but each
    # one has its own sys.path, so a link to it is another environment.
    if python is None or os.path.abspath(python) == os.path.abspath(sys.executable):
        ns: dict = {}
        import contextlib
        import io

        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            exec(_FACTS_CODE, ns)  # noqa: S102 - our own constant code, shared with the child path
        text = buf.getvalue()
    else:
        res = run_python(_FACTS_CODE, python=python, timeout=timeout)
        if not res.ok:
            why = res.start_error or (f"timed out after {timeout:.0f} s" if res.timed_out else res.tail(3)) or f"exit status {res.returncode}"
            return PythonInfo(version="", executable=python), [], f"cannot run {python}: {why}"
        text = res.stdout
        if parse_marked_json(text) is None:
            return PythonInfo(version="", executable=python), [], f"{python} did not answer like a Python interpreter"
    data = parse_marked_json(text) or {}
    info = PythonInfo(
        version=data.get("version", ""),
        implementation=data.get("implementation", ""),
        executable=data.get("executable", python or ""),
        bits=data.get("bits", 64),
        env_kind=data.get("env_kind", ""),
        prefix=data.get("prefix", ""),
        platform_tag=platform_tag(data.get("platform", "")),
        site_packages=tuple(data.get("site_packages", [])),
    )
    return info, list(data.get("sys_path", [])), ""
