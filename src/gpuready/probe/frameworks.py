"""Installed GPU frameworks: every copy on sys.path, and the real build of the one import picks.

Finding copies is a file-system scan (no import, milliseconds). The build facts come from
one child process per installed framework, all in parallel, each with a timeout, so
`doctor` takes as long as the slowest import and a framework that segfaults or hangs
becomes a finding ("dlib crashed with SIGSEGV at import") instead of taking gpuready down.
"""

from __future__ import annotations

import functools
import glob
import os
import re
import sys
import time
from pathlib import Path

from gpuready.knowledge.frameworks import FrameworkEntry, frameworks
from gpuready.machine import Framework, FrameworkCopy
from gpuready.proc import in_parallel, parse_marked_json, run

CHILD = Path(__file__).with_name("_framework_child.py")




def _module_paths(entry: str, stem: str) -> list[str]:
    """Importable forms of `stem` directly inside one sys.path entry."""
    hits = []
    pkg = os.path.join(entry, stem)
    if os.path.isfile(os.path.join(pkg, "__init__.py")):
        hits.append(pkg)
    for pat in (f"{stem}.py", f"{stem}.*.so", f"{stem}.so", f"{stem}.*.pyd", f"{stem}.pyd"):
        hits.extend(glob.glob(os.path.join(entry, pat)))
    return hits


def _dist_index(entry: str) -> dict[str, list[tuple[str, str]]]:
    """Top-level module name -> [(dist name, version)] for the distributions installed in one site dir.

    Several distributions can claim one module (opencv-python and opencv-python-headless both
    install cv2/, and the last one unpacked wins file by file): the list keeps them all.
    """
    from importlib import metadata  # not at module level: `probe --no-frameworks` never needs it

    index: dict[str, list[tuple[str, str]]] = {}
    try:
        dists = list(metadata.distributions(path=[entry]))
    except Exception:
        return index
    for dist in dists:
        name = dist.metadata.get("Name", "") or ""
        tops: set[str] = set()
        try:
            text = dist.read_text("top_level.txt")
        except Exception:
            text = None
        if text:
            tops.update(t.strip() for t in text.splitlines() if t.strip())
        else:
            for f in dist.files or ():
                first = str(f).replace("\\", "/").split("/")[0]
                if first and not first.endswith((".dist-info", ".data")) and first != "..":
                    tops.add(re.split(r"[.]", first)[0])
        for top in tops:
            if (name, dist.version) not in index.setdefault(top, []):
                index[top].append((name, dist.version))
    return index


def find_copies(spec: FrameworkEntry, sys_path: list[str], indexes: dict[str, dict]) -> tuple[FrameworkCopy, ...]:
    copies: list[FrameworkCopy] = []
    seen: set[str] = set()
    for entry in sys_path:
        for stem in spec.modules:
            for path in _module_paths(entry, stem):
                real = os.path.realpath(path)
                if real in seen:
                    continue
                seen.add(real)
                if entry not in indexes:
                    indexes[entry] = _dist_index(entry)
                claims = indexes[entry].get(stem, [])
                dist = ",".join(sorted(n for n, _ in claims))  # "a,b" = competing providers
                version = claims[0][1] if claims else ""
                copies.append(FrameworkCopy(path=path, version=version, dist=dist, active=not copies))
                break  # one form per stem per entry (a package dir wins over a stray .so)
    # A package (dlib/) and its extension (_dlib_pybind11*.so) side by side are one copy, not two.
    merged: list[FrameworkCopy] = []
    for c in copies:
        if merged and os.path.dirname(merged[-1].path) == os.path.dirname(c.path):
            continue
        merged.append(c)
    return tuple(merged)


def inspect(name: str, python: str, timeout: float, preload: tuple[str, ...] = ()) -> Framework:
    """Run the child for one framework and turn what it said (or how it died) into a Framework."""
    start = time.monotonic()
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Cheap, side-effect-free inspection: torch asks NVML rather than creating a CUDA context, and JAX
    # must not grab 75% of the GPU's memory (its default) just to list devices.
    env.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    res = run([python, str(CHILD), name, *preload], timeout=timeout, env=env)
    took = time.monotonic() - start
    if res.timed_out:
        return Framework(name=name, status="timeout", error=f"import did not finish within {timeout:.0f} s", seconds=took)
    payload = parse_marked_json(res.stdout)
    if payload is None:
        if res.signal:
            return Framework(name=name, status="crashed", signal=res.signal, error=res.tail(), seconds=took)
        tail = res.tail().replace("\x1e", "")
        why = res.start_error or f"exit status {res.returncode}" + (f": {tail}" if tail else "")
        return Framework(name=name, status="error", error=why, seconds=took)
    return _framework_from_payload(name, payload, took)


def _framework_from_payload(name: str, p: dict, took: float) -> Framework:
    details = {str(k): str(v) for k, v in (p.get("details") or {}).items()}
    sees = p.get("sees_gpu")
    return Framework(
        name=name,
        version=str(p.get("version", "") or ""),
        status=str(p.get("status", "ok")),
        cuda_build=p.get("cuda_build") if isinstance(p.get("cuda_build"), bool) else None,
        cuda_version=str(p.get("cuda_version", "") or ""),
        cudnn_version=str(p.get("cudnn_version", "") or ""),
        archs=tuple(str(a) for a in p.get("archs", []) or []),
        sees_gpu=sees if isinstance(sees, bool) else None,
        device_count=int(p.get("device_count", 0) or 0),
        error=str(p.get("error", "") or ""),
        details=details,
        seconds=round(took, 3),
    )


def probe_frameworks(
    sys_path: list[str],
    python: str | None = None,
    *,
    only: tuple[str, ...] = (),
    timeout: float = 60.0,
    preload: tuple[str, ...] = (),
) -> tuple[Framework, ...]:
    """Every installed framework of the registry (or of `only`), inspected in parallel children."""
    python = python or sys.executable
    indexes: dict[str, dict] = {}
    installed: list[tuple[FrameworkEntry, tuple[FrameworkCopy, ...]]] = []
    for spec in frameworks().values():
        if only and spec.name not in only:
            continue
        copies = find_copies(spec, sys_path, indexes)
        if copies:
            installed.append((spec, copies))
    if not installed:
        return ()
    results = in_parallel([functools.partial(inspect, spec.name, python, timeout, preload) for spec, _ in installed])
    out = []
    for (spec, copies), fw in zip(installed, results):
        active = copies[0]
        out.append(
            Framework(
                **{
                    **fw.__dict__,
                    "dist": active.dist,
                    "version": fw.version or active.version,
                    "copies": copies,
                }
            )
        )
    return tuple(out)
