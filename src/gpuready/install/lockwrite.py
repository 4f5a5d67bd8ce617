"""A lock out: the resolved plan written as PEP 751 pylock.toml or as a hashed requirements file
(`gpuready plan --format pylock` / `--format requirements --hashes`).

Every file is pinned with its sha256; gpuready's own builds are entries with a local `path` (the wheel
copied next to the lock, `<lock dir>/wheels/`), or listed under `[tool.gpuready]` to be built on install.
What the lock is and how it is read back in: gpuready.install.lock.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Sequence
from urllib.parse import unquote, urlsplit

from packaging.utils import canonicalize_name

from gpuready import __version__
from gpuready.install.lock import HEADER, SCHEMA, SCHEMA_VERSION, WHEELS, environment_marker, target_of, validate
from gpuready.install.resolve import Resolution
from gpuready.machine import Machine
from gpuready.plan.model import Plan


# --- TOML writing (PEP 751 needs a writer; tomllib only reads) -------------------------------------


_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, _dt.datetime):
        return v.isoformat().replace("+00:00", "Z")
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + " }"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v) + "]"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, dict) for x in v)


def toml_text(data: dict, _prefix: str = "") -> str:
    """TOML for the shapes a lock holds. Under `tool` every table is a [table] and `packages` an array of
    tables; elsewhere tables are inline (`sdist = { url = ..., hashes = { ... } }`, as uv writes them), and a
    list of several inline tables (`wheels`) takes one line per entry."""
    in_tool = _prefix == "tool" or _prefix.startswith("tool.")
    lines: list[str] = []
    subs: list[tuple[str, Any]] = []
    for k, v in data.items():
        if v is None:
            continue
        if isinstance(v, dict) and (in_tool or (not _prefix and k == "tool")):
            subs.append((k, v))
        elif _is_table_array(v) and k == "packages" and (not _prefix or in_tool):
            subs.append((k, v))
        elif _is_table_array(v) and len(v) > 1:
            lines.append(f"{_key(k)} = [")
            lines += [f"    {_value(x)}," for x in v]
            lines.append("]")
        else:
            lines.append(f"{_key(k)} = {_value(v)}")
    blocks = ["\n".join(lines)] if lines else []
    for k, v in subs:
        name = f"{_prefix}.{_key(k)}" if _prefix else _key(k)
        if isinstance(v, dict):
            blocks.append(f"[{name}]\n" + toml_text(v, name).rstrip("\n"))
        else:
            for item in v:
                blocks.append(f"[[{name}]]\n" + toml_text(item, name if name == "tool.gpuready.packages" else "packages").rstrip("\n"))
    return "\n\n".join(b for b in blocks if b.strip()) + "\n"


# --- writing ---------------------------------------------------------------------------------------


def _file_path(url: str) -> str:
    return unquote(urlsplit(url).path) if url.startswith("file:") else ""


def _gpuready_packages(plan: Plan, res: Resolution, locked_built: dict[str, str]) -> list[dict]:
    out = []
    built = {b.name: b for b in res.built}
    for p in plan.packages:
        entry: dict[str, Any] = {"name": p.name, "dist": p.dist or p.name, "version": p.version or "", "variant": p.variant,
                                 "gpu": p.gpu, "label": p.label or p.name}
        if p.cuda:
            entry["cuda"] = p.cuda
        b = built.get(p.name)
        if b is not None:
            entry["built"] = True
            if p.name in locked_built:
                entry["wheel_version"] = locked_built[p.name]
            else:
                entry["install"] = list(p.install)  # gpuready build ...: run on install
            archs = (p.build or {}).get("cuda_arch_bin") or []
            if archs:
                entry["cuda_arch_bin"] = list(archs)
        if p.conflicts:
            entry["conflicts"] = list(p.conflicts)
        if "-e" in p.install:
            entry["editable"] = p.install[p.install.index("-e") + 1]
        out.append(entry)
    return out


def _prepare(plan: Plan, res: Resolution, machine: Machine, out_dir: Path | None, glibc: str) -> tuple[list[dict], dict, list[str]]:
    """(pylock packages, [tool.gpuready], notes): stubs dropped, built wheels copied next to the lock."""
    notes = list(res.notes)
    stub_names = {canonicalize_name(b.dist) for b in res.built if not b.wheel}
    built_by_dist = {canonicalize_name(b.dist): b for b in res.built if b.wheel}
    locked_built: dict[str, str] = {}
    packages = []
    for p in res.lock.get("packages", []):
        name = canonicalize_name(p.get("name", ""))
        if name in stub_names:
            continue  # built on the target: listed in [tool.gpuready] instead
        p = dict(p)
        for key in ("wheels",):
            files = []
            for w in p.get(key) or []:
                w = dict(w)
                path = _file_path(w.get("url", ""))
                if path:
                    w.pop("url")
                    if name in built_by_dist and out_dir is not None:
                        dest = out_dir / WHEELS / Path(path).name
                        if Path(path).resolve() != dest.resolve():
                            dest.parent.mkdir(parents=True, exist_ok=True)
                            shutil.copy2(path, dest)
                        w["path"] = f"{WHEELS}/{Path(path).name}"
                    else:
                        w["path"] = path
                    w.setdefault("name", Path(path).name)
                files.append(w)
            if files:
                p[key] = files
        for key in ("sdist", "archive"):
            if isinstance(p.get(key), dict) and _file_path(p[key].get("url", "")):
                d = dict(p[key])
                d["path"] = _file_path(d.pop("url"))
                p[key] = d
        if name in built_by_dist:
            b = built_by_dist[name]
            locked_built[b.name] = str(p.get("version", b.version))
            notes.append(f"{b.dist} {p.get('version')}: gpuready's own build, from the wheel cache"
                         + (f", copied to {out_dir / WHEELS}" if out_dir is not None else f" ({b.wheel})"))
        packages.append(p)
    for b in res.built:
        if not b.wheel:
            notes.append(f"{b.dist} {b.version} is not in the wheel cache yet: it is built from source on install "
                         f"(not hash-locked); to lock the built wheel, `gpuready build {b.name}` first and write the lock again")
    target = target_of(machine, plan, glibc)
    tool = {
        "schema": SCHEMA, "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "gpuready_version": __version__, "resolver": res.tool,
        "cuda": plan.cuda or "", "cudnn": plan.cudnn or "",
        "constraints": list(res.constraints),
        "indexes": _indexes(res) or None,
        "target": target,
        "packages": _gpuready_packages(plan, res, locked_built),
    }
    return packages, tool, notes


def _indexes(res: Resolution) -> dict:
    """The indexes the resolution used: the install fetches the locked files from them (by hash)."""
    inp = res.input
    if inp is None:
        return {}
    out: dict[str, Any] = {}
    if inp.index_url:
        out["index_url"] = inp.index_url
    if inp.extra_index_urls:
        out["extra_index_urls"] = list(inp.extra_index_urls)
    links = [u for u in inp.find_links]
    if links:
        out["find_links"] = links
    if inp.trusted_hosts:
        out["trusted_hosts"] = list(inp.trusted_hosts)
    if inp.no_index:
        out["no_index"] = True
    return out


def pylock_text(plan: Plan, res: Resolution, machine: Machine, *, out_dir: Path | None = None, glibc: str = "") -> str:
    """PEP 751 pylock.toml for the resolved plan (validated with packaging.pylock before it is returned)."""
    packages, tool, notes = _prepare(plan, res, machine, out_dir, glibc)
    data: dict[str, Any] = {
        "lock-version": "1.0",
        "environments": [environment_marker(tool["target"])],
        "requires-python": res.lock.get("requires-python") or f"=={tool['target']['python']}.*",
        "created-by": "gpuready",
        "packages": packages,
        "tool": {"gpuready": tool},
    }
    text = "".join(f"# {line}\n" for line in _header_lines(plan, notes)) + toml_text(data)
    validate(text)
    return text


def _header_lines(plan: Plan, notes: Sequence[str]) -> list[str]:
    lines = ["gpuready plan: " + (f"CUDA {plan.cuda}" if plan.cuda else "no CUDA") + (f", cuDNN {plan.cudnn}" if plan.cudnn else "")]
    lines += list(plan.machine)
    lines += [f"note: {n}" for n in notes]
    lines.append("install on a machine of the same kind: gpuready install --lock THIS_FILE [--venv DIR]")
    return [ln.replace("\n", " ") for ln in lines]


def requirements_text(plan: Plan, res: Resolution, machine: Machine, *, out_dir: Path | None = None, glibc: str = "") -> str:
    """A requirements file with every file's hash (pip install --require-hashes -r FILE)."""
    packages, tool, notes = _prepare(plan, res, machine, out_dir, glibc)
    inp = res.input
    lines = [f"# {ln}" for ln in _header_lines(plan, notes)]
    lines.append(HEADER + json.dumps(tool, separators=(",", ":")))
    if inp is not None:
        if inp.no_index:
            lines.append("--no-index")
        elif inp.index_url:
            lines.append(f"--index-url {inp.index_url}")
        lines += [f"--extra-index-url {u}" for u in inp.extra_index_urls]
        lines += [f"--find-links {u}" for u in inp.find_links]
        lines += [f"--trusted-host {h}" for h in inp.trusted_hosts]
    local_dirs = []
    for p in packages:
        for w in p.get("wheels") or []:
            if w.get("path"):
                d = str(Path(w["path"]).parent)
                if d not in local_dirs:
                    local_dirs.append(d)
    lines += [f"--find-links {d}" for d in local_dirs]
    for p in packages:
        hashes = []
        for f in [*(p.get("wheels") or []), p.get("sdist") or {}, p.get("archive") or {}]:
            for algo, digest in (f.get("hashes") or {}).items():
                hashes.append(f"--hash={algo}:{digest}")
        req = f"{p['name']}=={p['version']}"
        if p.get("directory"):
            lines.append(f"# {p['name']}: a local folder ({p['directory'].get('path')}): not hash-locked, install it separately")
            continue
        lines.append(" \\\n    ".join([req, *dict.fromkeys(hashes)]))
    for e in tool["packages"]:
        if e.get("built") and not e.get("wheel_version"):
            lines.append(f"# {e['name']}: built from source on install: {' '.join(e.get('install') or [])}")
    return "\n".join(lines) + "\n"


def write_lock_file(text: str, output: Path) -> None:
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, output)
