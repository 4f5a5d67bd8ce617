"""Installed GPU frameworks: every copy on sys.path, and the real build of the one import picks.

Finding copies is a file-system scan (no import, milliseconds). The build facts come from
one child process per installed framework, all in parallel, each with a timeout, so
`doctor` takes as long as the slowest import and a framework that segfaults or hangs
becomes a finding ("dlib crashed with SIGSEGV at import") instead of taking gpuready down.
"""

from __future__ import annotations

import dataclasses
import functools
import glob
import os
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from gpuready.knowledge.frameworks import FrameworkEntry, frameworks, module_of_dist
from gpuready.machine import Framework, FrameworkCopy
from gpuready.probe.cudafiles import copy_has_cuda
from gpuready.probe.libraries import loaded_from_payload, pathfinder_picks
from gpuready.proc import in_parallel, parse_marked_json, run

CHILD = Path(__file__).with_name("_framework_child.py")
PATHFINDER_LIBS = ("cudart", "cublas", "cublasLt", "cudnn", "nccl", "nvrtc", "nvJitLink", "cufft")




def _module_paths(entry: str, stem: str) -> list[str]:
    """Importable forms of `stem` directly inside one sys.path entry."""
    hits = []
    pkg = os.path.join(entry, stem)
    if os.path.isfile(os.path.join(pkg, "__init__.py")):
        hits.append(pkg)
    for pat in (f"{stem}.py", f"{stem}.*.so", f"{stem}.so", f"{stem}.*.pyd", f"{stem}.pyd"):
        hits.extend(glob.glob(os.path.join(entry, pat)))
    return hits


@dataclass(frozen=True)
class Claim:
    """A distribution that says it installed a module: from a .dist-info/.egg-info folder or a conda-meta record."""

    dist: str
    version: str
    installer: str = ""  # "pip", "uv", "conda", ...
    meta: str = ""  # the metadata folder or file
    build: str = ""  # conda build string ("cuda126py312h...")


def _dist_index(entry: str) -> dict[str, list[Claim]]:
    """Top-level module name -> the distributions installed in one site dir that claim it.

    Several distributions can claim one module (opencv-python and opencv-python-headless both
    install cv2/, and the last one unpacked wins file by file): the list keeps them all. RECORD and
    top_level.txt are optional (a `setup.py install`, a hand-copied build): a distribution that lists no
    files claims the module its own name spells ("dlib" -> dlib/).
    """
    from importlib import metadata  # not at module level: `probe --no-frameworks` never needs it

    index: dict[str, list[Claim]] = {}
    try:
        dists = list(metadata.distributions(path=[entry]))
    except Exception:
        return index
    for dist in dists:
        try:
            name = dist.metadata.get("Name", "") or ""
            version = dist.version or ""
        except Exception:
            continue
        tops: set[str] = set()
        try:
            text = dist.read_text("top_level.txt")
        except Exception:
            text = None
        if text:
            tops.update(t.strip() for t in text.splitlines() if t.strip())
        else:
            try:
                files = dist.files or ()
            except Exception:
                files = ()
            for f in files:
                first = str(f).replace("\\", "/").split("/")[0]
                if first and not first.endswith((".dist-info", ".data", ".egg-info")) and first != "..":
                    tops.add(re.split(r"[.]", first)[0])
        if not tops and name:
            tops.add(module_of_dist(name) or re.sub(r"[-.]", "_", name.lower()))
        try:
            installer = (dist.read_text("INSTALLER") or "").strip()
        except Exception:
            installer = ""
        meta = str(getattr(dist, "_path", "") or "")
        claim = Claim(name, version, installer, meta)
        for top in tops:
            if all((c.dist, c.version) != (name, version) for c in index.setdefault(top, [])):
                index[top].append(claim)
    return index


def conda_prefix_of(entry: str) -> str:
    """The conda environment a site-packages folder belongs to ("" when none): the prefix holding conda-meta/."""
    p = os.path.abspath(entry)
    for _ in range(4):  # PREFIX/lib/python3.12/site-packages, PREFIX\Lib\site-packages
        p = os.path.dirname(p)
        if os.path.isdir(os.path.join(p, "conda-meta")):
            return p
    return ""


def _conda_claims(prefix: str, entry: str, stems: tuple[str, ...], words: tuple[str, ...]) -> dict[str, list[Claim]]:
    """Module -> conda packages (conda-meta/*.json) whose file list puts it in `entry`.

    Only the records whose file name mentions the framework are read (a big environment has hundreds).
    """
    import json

    meta = os.path.join(prefix, "conda-meta")
    rel = os.path.relpath(os.path.abspath(entry), prefix).replace("\\", "/") + "/"
    out: dict[str, list[Claim]] = {}
    try:
        names = sorted(os.listdir(meta))
    except OSError:
        return out
    for fname in names:
        low = fname.lower()
        if not fname.endswith(".json") or not any(w in low for w in words):
            continue
        path = os.path.join(meta, fname)
        try:
            with open(path, encoding="utf-8") as fh:
                rec = json.load(fh)
        except (OSError, ValueError):
            continue
        files = rec.get("files") or []
        for stem in stems:
            if any(isinstance(f, str) and f.startswith(rel + stem) for f in files):
                claim = Claim(str(rec.get("name", "")), str(rec.get("version", "")), "conda", path, str(rec.get("build", "")))
                out.setdefault(stem, []).append(claim)
    return out


def _split_env_path(value: str) -> list[str]:
    return [os.path.realpath(p) for p in value.split(os.pathsep) if p]


def _pth_entries(sys_path: list[str]) -> dict[str, str]:
    """sys.path entry -> the .pth file that adds it (a `.pth` in a site-packages folder, one path a line)."""
    out: dict[str, str] = {}
    for site_dir in sys_path:
        if not site_dir.rstrip("/\\").endswith(("site-packages", "dist-packages")):
            continue
        for pth in sorted(glob.glob(os.path.join(site_dir, "*.pth"))):
            try:
                with open(pth, encoding="utf-8", errors="replace") as fh:
                    lines = fh.read(64 * 1024).splitlines()
            except OSError:
                continue
            for line in lines:
                line = line.strip()
                if not line or line.startswith(("#", "import ", "import\t")):
                    continue
                target = os.path.realpath(os.path.join(site_dir, line))
                out.setdefault(target, pth)
    return out


def _user_site_like(entry: str) -> bool:
    low = entry.replace("\\", "/").lower()
    return "/.local/lib/python" in low or "/appdata/roaming/python/" in low or "/library/python/" in low


def entry_origin(entry: str, env: Mapping[str, str], pth: Mapping[str, str], user_site: str = "") -> tuple[str, str]:
    """(origin, detail): why `entry` is on sys.path. Checked in the order that makes a fix exact."""
    real = os.path.realpath(entry)
    if real in _split_env_path(env.get("PYTHONPATH", "")):
        return "PYTHONPATH", env.get("PYTHONPATH", "")
    if entry.endswith(".egg") or ".egg" + os.sep in entry:
        return "egg", pth.get(real, "")
    if real in pth:
        return ".pth", pth[real]
    if (user_site and real == os.path.realpath(user_site)) or _user_site_like(entry):
        return "user site", ""
    prefix = conda_prefix_of(entry)
    if prefix and entry.rstrip("/\\").endswith("site-packages"):
        return "conda", prefix
    if entry.rstrip("/\\").endswith(("site-packages", "dist-packages")):
        return "site-packages", ""
    if real == os.path.realpath(os.getcwd()):
        return "current folder", ""
    return "folder", ""


def _framework_words(spec: FrameworkEntry) -> tuple[str, ...]:
    """Lower-case name fragments that a conda-meta record of this framework has in its file name."""
    words = {spec.name, spec.package, *spec.dists, *spec.modules}
    return tuple(sorted({w.lower().lstrip("_") for w in words if w}))


def find_copies(
    spec: FrameworkEntry,
    sys_path: list[str],
    indexes: dict[str, dict],
    *,
    env: Mapping[str, str] | None = None,
    user_site: str = "",
) -> tuple[FrameworkCopy, ...]:
    """Every importable copy of one framework, in sys.path order (the first is the one `import` takes).

    Each copy carries the distribution that claims it (dist-info or conda-meta), why its folder is on
    sys.path (PYTHONPATH, user site, a .pth, an egg, conda's site-packages, a bare folder) and whether
    its files say it was built with CUDA (probe.cudafiles: no import).
    """
    env = os.environ if env is None else env
    pth = indexes.setdefault("\0pth", _pth_entries(sys_path))
    found: list[tuple[str, str, list[Claim]]] = []  # (path, entry, claims)
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
                claims = list(indexes[entry].get(stem, []))
                if not claims:
                    prefix = conda_prefix_of(entry)
                    if prefix:
                        key = ("\0conda", entry, spec.name)
                        if key not in indexes:
                            indexes[key] = _conda_claims(prefix, entry, spec.modules, _framework_words(spec))  # type: ignore[index]
                        claims = list(indexes[key].get(stem, []))  # type: ignore[index]
                found.append((path, entry, claims))
                break  # one form per stem per entry (a package dir wins over a stray .so)
    # A package (dlib/) and its extension (_dlib_pybind11*.so) side by side are one copy, not two.
    merged: list[tuple[str, str, list[Claim]]] = []
    extras: dict[int, list[str]] = {}
    for path, entry, claims in found:
        if merged and os.path.dirname(merged[-1][0]) == os.path.dirname(path):
            if not merged[-1][2] and claims:
                merged[-1] = (merged[-1][0], merged[-1][1], claims)
            extras.setdefault(len(merged) - 1, []).append(path)
            continue
        merged.append((path, entry, claims))
    copies = []
    for i, (path, entry, claims) in enumerate(merged):
        dist = ",".join(sorted(c.dist for c in claims))  # "a,b" = competing providers
        first = claims[0] if claims else Claim("", "")
        cuda, evidence = copy_has_cuda(spec.name, path, entry, first.dist)
        if cuda is None and first.build:  # a conda build string that says which variant it is
            build = first.build.lower()
            if "cuda" in build:
                cuda, evidence = True, f"conda build {first.build}"
            elif "cpu" in build:
                cuda, evidence = False, f"conda build {first.build}"
        origin, detail = entry_origin(entry, env, pth, user_site)
        copies.append(
            FrameworkCopy(
                path=path,
                version=first.version,
                dist=dist,
                active=i == 0,
                cuda=cuda,
                cuda_evidence=evidence,
                entry=entry,
                origin=origin,
                origin_detail=detail,
                installer=first.installer,
                meta=first.meta,
                extra_paths=tuple(extras.get(i, ())),
            )
        )
    return tuple(copies)


def inspect(name: str, python: str, timeout: float, preload: tuple[str, ...] = (), *, real_op: bool = False) -> Framework:
    """Run the child for one framework and turn what it said (or how it died) into a Framework."""
    start = time.monotonic()
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Cheap, side-effect-free inspection: torch asks NVML rather than creating a CUDA context, and JAX
    # must not grab 75% of the GPU's memory (its default) just to list devices.
    env.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    env.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    res = run([python, str(CHILD), name, *preload, *(["--op"] if real_op else [])], timeout=timeout, env=env)
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
    return _framework_from_payload(name, payload, took, env)


def _framework_from_payload(name: str, p: dict, took: float, env: Mapping[str, str] | None = None) -> Framework:
    details = {str(k): str(v) for k, v in (p.get("details") or {}).items()}
    if p.get("op"):
        details["op"] = str(p["op"])
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
        loaded=loaded_from_payload(p.get("loaded"), os.environ if env is None else env),
        module_file=str(p.get("module_file", "") or ""),
        built_cudnn=str(p.get("built_cudnn", "") or ""),
        built_cublas=str(p.get("built_cublas", "") or ""),
    )


def _mark_active(copies: tuple[FrameworkCopy, ...], module_file: str) -> tuple[FrameworkCopy, ...]:
    """The copy whose files hold the module `import` really took is the active one (sys.path order guessed it)."""
    if not module_file or not copies:
        return copies
    real = os.path.realpath(module_file)

    def holds(c: FrameworkCopy) -> bool:
        base = os.path.realpath(c.path)
        if real == base or real.startswith(base.rstrip(os.sep) + os.sep):
            return True
        # dlib's extension sits beside the package: entry/_dlib_pybind11*.so
        return bool(c.entry) and os.path.dirname(real) == os.path.realpath(c.entry)

    hits = [i for i, c in enumerate(copies) if holds(c)]
    if not hits:
        return copies
    return tuple(dataclasses.replace(c, active=(i == hits[0])) for i, c in enumerate(copies))


def probe_frameworks(
    sys_path: list[str],
    python: str | None = None,
    *,
    only: tuple[str, ...] = (),
    timeout: float = 60.0,
    preload: tuple[str, ...] = (),
    real_op: bool = False,
    user_site: str = "",
) -> tuple[Framework, ...]:
    """Every installed framework of the registry (or of `only`), inspected in parallel children.

    With `real_op`, each child runs one tiny GPU operation before listing the CUDA libraries it mapped
    (doctor asks for it; a plain probe creates no CUDA context).
    """
    python = python or sys.executable
    indexes: dict[str, dict] = {}
    installed: list[tuple[FrameworkEntry, tuple[FrameworkCopy, ...]]] = []
    for spec in frameworks().values():
        if only and spec.name not in only:
            continue
        copies = find_copies(spec, sys_path, indexes, user_site=user_site)
        if copies:
            installed.append((spec, copies))
    if not installed:
        return ()
    calls = [functools.partial(inspect, spec.name, python, timeout, preload, real_op=real_op) for spec, _ in installed]
    # cuda-pathfinder's picks, asked beside the framework children (it cannot know yet which libraries they load)
    calls.append(functools.partial(pathfinder_picks, python, PATHFINDER_LIBS, os.environ, min(timeout, 30.0)))
    *results, picks = in_parallel(calls)
    out = []
    for (spec, copies), fw in zip(installed, results):
        copies = _mark_active(copies, fw.module_file)
        active = next((c for c in copies if c.active), copies[0])
        would = tuple(picks[lib.name] for lib in fw.loaded if lib.name in picks)
        out.append(
            dataclasses.replace(
                fw,
                dist=active.dist,
                version=fw.version or active.version,
                copies=copies,
                would_load=would,
            )
        )
    return tuple(out)
