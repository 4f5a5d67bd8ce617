"""The target environment as the installer sees it: where files go, and which distributions are there.

gpuready usually runs from its own environment while it installs into another one, so these
facts come from the target interpreter itself, asked in a child process (standard library only,
Python 3.7+, so that any interpreter the user points at can answer). The Machine already says
which frameworks are installed; this says what a transaction must protect (the install
directories, the scripts directory, the user site) and what pip would see (every distribution
with its metadata directory, installer and top-level names).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from gpuready.install.knowledge import canonical
from gpuready.proc import parse_marked_json, run_python

_CHILD = r'''
import json, os, site, sys, sysconfig
def _meta(path):
    for name in ("METADATA", "PKG-INFO"):
        p = os.path.join(path, name)
        if os.path.isfile(p):
            out = {}
            with open(p, encoding="utf-8", errors="replace") as f:
                for line in f:
                    if not line.strip():
                        break
                    k, _, v = line.partition(":")
                    if k in ("Name", "Version") and k not in out:
                        out[k] = v.strip()
            return out
    return {}
def _read(path, name):
    try:
        with open(os.path.join(path, name), encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
def _dists(entry):
    out = []
    try:
        names = sorted(os.listdir(entry))
    except OSError:
        return out
    for n in names:
        if not (n.endswith(".dist-info") or n.endswith(".egg-info")):
            continue
        p = os.path.join(entry, n)
        if not os.path.isdir(p):
            continue
        m = _meta(p)
        if not m.get("Name"):
            continue
        top = [t.strip() for t in _read(p, "top_level.txt").splitlines() if t.strip()]
        out.append({
            "name": m["Name"], "version": m.get("Version", ""), "path": p, "location": entry,
            "installer": _read(p, "INSTALLER").strip(), "kind": "dist-info" if n.endswith(".dist-info") else "egg-info",
            "has_record": os.path.isfile(os.path.join(p, "RECORD")), "top_level": top,
        })
    return out
paths = sysconfig.get_paths()
try:
    user_site = site.getusersitepackages()
except Exception:
    user_site = ""
try:
    user_base = site.getuserbase()
except Exception:
    user_base = ""
prefix = sys.prefix
base = getattr(sys, "base_prefix", prefix)
conda = os.path.isdir(os.path.join(prefix, "conda-meta"))
entries = []
for p in [paths.get("purelib"), paths.get("platlib")] + [x for x in sys.path if x]:
    if p and os.path.isdir(p) and p not in entries:
        entries.append(p)
dists = []
for e in entries:
    dists.extend(_dists(e))
try:
    glibc = os.confstr("CS_GNU_LIBC_VERSION") or ""
except (AttributeError, ValueError, OSError):
    glibc = ""
print("\x1eGPUREADY " + json.dumps({
    "python": sys.executable, "version": "%d.%d.%d" % sys.version_info[:3],
    "implementation": sys.implementation.name, "prefix": prefix, "base_prefix": base,
    "env_kind": "conda" if conda else ("venv" if prefix != base else "system"),
    "purelib": paths.get("purelib", ""), "platlib": paths.get("platlib", ""),
    "scripts": paths.get("scripts", ""), "data": paths.get("data", ""),
    "user_site": user_site or "", "user_base": user_base or "",
    "user_site_enabled": bool(getattr(site, "ENABLE_USER_SITE", False)),
    "sys_path": [p for p in sys.path if p], "dists": dists, "glibc": glibc,
    "platform": sysconfig.get_platform(),
}))
'''


class EnvError(RuntimeError):
    """The target interpreter could not be run or did not answer."""


@dataclass(frozen=True)
class Dist:
    """One installed distribution (its .dist-info or .egg-info directory)."""

    name: str
    version: str
    path: str  # the metadata directory
    location: str  # the sys.path entry it lives in
    installer: str = ""  # "pip", "uv", "conda", "" (INSTALLER file)
    kind: str = "dist-info"
    has_record: bool = True
    top_level: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return canonical(self.name)


@dataclass(frozen=True)
class TargetEnv:
    python: str
    version: str
    prefix: str
    base_prefix: str
    env_kind: str
    purelib: str
    platlib: str
    scripts: str
    data: str
    user_site: str = ""
    user_base: str = ""
    user_site_enabled: bool = False
    implementation: str = "cpython"
    sys_path: tuple[str, ...] = ()
    dists: tuple[Dist, ...] = ()
    glibc: str = ""  # "glibc 2.39"
    platform: str = ""  # sysconfig platform, "linux-x86_64"
    extra: dict = field(default_factory=dict)

    @property
    def install_dirs(self) -> tuple[str, ...]:
        """Where pip puts packages (purelib and platlib are usually the same directory)."""
        out: list[str] = []
        for d in (self.purelib, self.platlib):
            if d and d not in out:
                out.append(d)
        return tuple(out)

    def installed(self, name: str) -> list[Dist]:
        """Every installed distribution of that name (several when copies live in several sys.path entries)."""
        key = canonical(name)
        return [d for d in self.dists if d.key == key]

    def in_install_dir(self, path: str) -> bool:
        return any(_same(os.path.dirname(path.rstrip("/\\")), d) or _same(path, d) for d in self.install_dirs)

    @property
    def pip_version(self) -> str:
        for d in self.dists:
            if d.key == "pip" and any(_same(d.location, x) for x in self.install_dirs):
                return d.version
        return ""

    @property
    def python_tag(self) -> str:
        """ "cp312" """
        major, minor = self.version.split(".")[:2]
        impl = {"cpython": "cp", "pypy": "pp"}.get(self.implementation, "cp")
        return f"{impl}{major}{minor}"


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def inspect_env(python: str, timeout: float = 60.0) -> TargetEnv:
    """Ask `python` about its install directories and distributions. Raises EnvError with the reason."""
    res = run_python(_CHILD, python=python, timeout=timeout)
    data = parse_marked_json(res.stdout) if res.ok else None
    if data is None:
        why = res.start_error or (f"timed out after {timeout:.0f} s" if res.timed_out else res.tail(5) or f"exit {res.returncode}")
        raise EnvError(f"cannot inspect the Python environment of {python}: {why}")
    dists = tuple(
        Dist(
            name=d["name"],
            version=d.get("version", ""),
            path=d["path"],
            location=d["location"],
            installer=d.get("installer", ""),
            kind=d.get("kind", "dist-info"),
            has_record=bool(d.get("has_record", True)),
            top_level=tuple(d.get("top_level", ())),
        )
        for d in data.get("dists", [])
    )
    return TargetEnv(
        python=data.get("python") or python,
        version=data.get("version", ""),
        prefix=data.get("prefix", ""),
        base_prefix=data.get("base_prefix", ""),
        env_kind=data.get("env_kind", ""),
        purelib=data.get("purelib", ""),
        platlib=data.get("platlib", ""),
        scripts=data.get("scripts", ""),
        data=data.get("data", ""),
        user_site=data.get("user_site", ""),
        user_base=data.get("user_base", ""),
        user_site_enabled=bool(data.get("user_site_enabled")),
        implementation=data.get("implementation", "cpython"),
        sys_path=tuple(data.get("sys_path", ())),
        dists=dists,
        glibc=data.get("glibc", ""),
        platform=data.get("platform", ""),
    )


def venv_python(venv: str | Path) -> Path:
    """The interpreter of a virtual environment directory (bin/python, or Scripts\\python.exe on Windows)."""
    venv = Path(venv)
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def default_target() -> str:
    """The environment `install` works on when no --python/--venv is given: the active one.

    An activated virtual environment or conda environment is what the user means by "the current
    environment", even when gpuready itself was installed elsewhere (pipx); without one, the
    interpreter running gpuready.
    """
    for var in ("VIRTUAL_ENV", "CONDA_PREFIX"):
        root = os.environ.get(var)
        if root:
            cand = venv_python(root)
            if var == "CONDA_PREFIX" and sys.platform == "win32":
                cand = Path(root) / "python.exe"
            if cand.exists():
                return str(cand)
    return sys.executable
