#!/usr/bin/env python3
"""Check the knowledge against the real indexes, and write the dated snapshot CI checks plans against.

For every pin `gpuready plan` can print (package, version, variant, Python, OS/CPU; see knowcheck/rows.py)
this asks the index for a file that installs on each target: PyPI through its JSON Simple API, the PyTorch
index through the stored copies listed in tests/data/pytorch-index-evidence.toml (download.pytorch.org is
not reachable from the checking machine), JAX's release page likewise. For pins that carry extras or tight
pins (`jax[cuda13]` -> jax-cuda13-plugin==V, torch -> nvidia-cudnn-cu13==X) it reads the wheel's METADATA
over HTTP range requests and checks those too. With --archs it reads the GPU code (SASS/PTX targets) out of
the shared libraries of selected wheels, streamed, never stored.

    python tools/check_knowledge.py                 # check, write tests/data/index-snapshot.json
    python tools/check_knowledge.py --archs         # ... and read GPU code from the wheels (minutes)
    python tools/check_knowledge.py --offline       # re-evaluate from .cache/knowledge-check only

Exit status: 0 clean; 1 a row the data marks confirmed has no file for a target it claims (each listed),
or a build is not the variant the data says; 2 bad usage or no network.
Responses are cached under .cache/knowledge-check/ (git-ignored) for a week.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "tools"))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from packaging.requirements import Requirement  # noqa: E402
from packaging.version import InvalidVersion, Version  # noqa: E402

from knowcheck import deps as depmod  # noqa: E402
from knowcheck.http import CACHE, FetchError, simple_project  # noqa: E402
from knowcheck.match import canonical, file_fits, parse_file, version_matches  # noqa: E402
from knowcheck.rows import Pin, all_pins  # noqa: E402
from knowcheck.snapshot import EVIDENCE, SNAPSHOT, pin_key, target_key  # noqa: E402

PYPI = "https://pypi.org/simple"
AVAILABILITY = ROOT / "src" / "gpuready" / "knowledge" / "data" / "availability.json"
DEPS_FOR = {"jax", "torch", "torchvision", "torchaudio"}  # pure-Python or tightly pinned: their deps decide


class Checker:
    def __init__(self, offline: bool, verbose: bool):
        self.offline, self.verbose = offline, verbose
        self.listings: dict[str, dict | None] = {}
        self.kept: dict[str, dict[str, dict[str, list]]] = defaultdict(lambda: defaultdict(dict))
        self.requirements: dict[str, list[str]] = {}
        self.deps: dict[str, dict] = {}
        self.meta_cache_dir = CACHE / "metadata"
        self.problems: list[str] = []
        self.notes: list[str] = []

    # --- PyPI -------------------------------------------------------------------------------------------------

    def listing(self, dist: str) -> dict[str, list[list]] | None:
        """{version: [[filename, requires_python, upload_date, url, size]]} of a PyPI project, yanked files dropped."""
        name = canonical(dist)
        if name not in self.listings:
            data = simple_project(PYPI, name, offline=self.offline)
            if data is None:
                self.listings[name] = None
            else:
                by_version: dict[str, list[list]] = defaultdict(list)
                for f in data.get("files", []):
                    if f.get("yanked"):
                        continue
                    parsed = parse_file(f["filename"])
                    if parsed is None:
                        continue
                    by_version[parsed[1]].append([f["filename"], f.get("requires-python") or "",
                                                  (f.get("upload-time") or "")[:10], f["url"], f.get("size", 0)])
                self.listings[name] = dict(by_version)
        return self.listings[name]

    def keep(self, index: str, dist: str, version: str, entries: list[list]) -> None:
        self.kept[index][canonical(dist)][version] = [e[:3] for e in entries]

    def metadata(self, entry: list) -> dict:
        from knowcheck.wheels import metadata as read_metadata

        path = self.meta_cache_dir / (entry[0] + ".json")
        if path.exists():
            return json.loads(path.read_text())
        if self.offline:
            raise FetchError(f"{entry[0]}: metadata not cached and --offline given")
        meta = read_metadata(entry[3], entry[4])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(meta))
        return meta

    def newest_fitting(self, req: Requirement, python: str, os_name: str, arch: str) -> tuple[str, list] | None:
        listing = self.listing(req.name)
        if not listing:
            return None
        pre = any(Version(s.version).is_prerelease for s in req.specifier if _is_version(s.version))
        best: tuple[Version, str, list] | None = None
        for v, entries in listing.items():
            try:
                pv = Version(v)
            except InvalidVersion:
                continue
            if (pv.is_prerelease and not pre) or not req.specifier.contains(pv, prereleases=True):
                continue
            for e in entries:  # an sdist counts for a dependency: pip builds pure-Python ones (termcolor 1.1.0)
                if file_fits(e[0], e[1], python, os_name, arch, sdist_ok=True):
                    if best is None or pv > best[0]:
                        best = (pv, v, e)
                    break
        return (best[1], best[2]) if best else None

    # --- evaluating pins --------------------------------------------------------------------------------------

    def check_pypi_pin(self, pin: Pin) -> dict:
        listing = self.listing(pin.dist)
        result = {"missing": [], "ok": 0, "ok_targets": []}
        if listing is None:
            result["missing"] = sorted(target_key(*t) for t in pin.targets)
            result["no_project"] = True
            return result
        if pin.kind == "requirement":
            req = Requirement(pin.requirement)
            used: set[str] = set()
            for py, os_name, arch in sorted(pin.targets):
                found = self.newest_fitting(req, py, os_name, arch)
                if found is None:
                    result["missing"].append(target_key(py, os_name, arch))
                    continue
                used.add(found[0])
                result["ok"] += 1
            for v in used:
                self.keep("pypi", pin.dist, v, listing[v])
            self.requirements[pin_key(pin.index, pin.dist, pin.specifier, pin.extras, pin.kind)] = sorted(used)
            return result
        same = [(v, es) for v, es in listing.items() if version_matches(v, pin.version)]
        for v, es in same:
            self.keep("pypi", pin.dist, v, es)
        entries = [e for _, es in same for e in es]
        for py, os_name, arch in sorted(pin.targets):
            fit = next((e for e in entries if file_fits(e[0], e[1], py, os_name, arch, sdist_ok=pin.kind in ("sdist", "dep"))), None)
            if fit is None:
                result["missing"].append(target_key(py, os_name, arch))
            else:
                result["ok"] += 1
                result["ok_targets"].append((py, os_name, arch))
        if pin.kind == "wheel" and (pin.extras or pin.gpu or canonical(pin.dist) in DEPS_FOR) and entries:
            self.check_deps(pin, entries)
        return result

    def check_deps(self, pin: Pin, entries: list[list]) -> None:
        key = pin_key(pin.index, pin.dist, pin.version, pin.extras, pin.kind)
        record = self.deps.setdefault(key, {"checked": [], "missing": {}, "extras": []})
        by_platform: dict[tuple[str, str], list[str]] = defaultdict(list)
        for py, os_name, arch in pin.targets:
            by_platform[(os_name, arch)].append(py)
        for (os_name, arch), pys in sorted(by_platform.items()):
            for py in sorted(pys):
                fit = next((e for e in entries if file_fits(e[0], e[1], py, os_name, arch)), None)
                if fit is None:
                    continue
                try:
                    meta = self.metadata(fit)
                except (FetchError, OSError, KeyError, StopIteration, ValueError) as exc:
                    self.notes.append(f"{pin.requirement}: cannot read METADATA of {fit[0]} ({exc})")
                    continue
                missing_extras = [e for e in pin.extras if e not in {x.strip() for x in meta["provides_extra"]}]
                problems = [f"no extra [{e}] in {fit[0]}" for e in missing_extras]
                for req in depmod.relevant(meta["requires_dist"], pin.extras, py, os_name, arch):
                    if self.newest_fitting(req, py, os_name, arch) is None:
                        problems.append(f"{req} has no file for Python {py} {os_name} {arch}")
                tk = target_key(py, os_name, arch)
                record["checked"].append(tk)
                if problems:
                    record["missing"][tk] = problems
        record["checked"].sort()

    # --- PyPI wheels as variants: is PyPI's torch the CUDA build the data says? -------------------------------

    def pypi_variant(self, entry: list, os_name: str = "linux", arch: str = "x86_64") -> dict:
        """The CUDA a torch wheel on PyPI is built for: from the Requires-Dist that apply on its platform (markers
        evaluated: the aarch64 wheels of 2.5-2.10 carry the nvidia-* pins only for x86_64), or the runtime it bundles."""
        from knowcheck.wheels import members

        meta = self.metadata(entry)
        applying = []
        for line in meta["requires_dist"]:
            try:
                req = Requirement(line)
            except Exception:
                continue
            if req.marker is None or req.marker.evaluate(depmod.environment("3.12", os_name, arch)):
                applying.append(line)
        text = "\n".join(applying)
        m = (re.search(r"cuda-toolkit\[[^\]]*\]\s*\(?==(\d+\.\d+)", text)
             or re.search(r"nvidia-cuda-runtime-cu\d+\s*\(?==\s*(\d+\.\d+)", text))
        if m:
            return {"cuda": m.group(1), "evidence": "Requires-Dist " + re.search(r"(cuda-toolkit|nvidia-cuda-runtime-cu\d+)[^\n;]*", text).group(0)}
        path = self.meta_cache_dir / (entry[0] + ".members.json")
        if path.exists():
            names = json.loads(path.read_text())
        else:
            if self.offline:
                raise FetchError(f"{entry[0]}: member list not cached")
            names = [n for n, _ in members(entry[3], entry[4]) if re.search(r"cudart|torch_cuda|libcaffe2_gpu|nvrtc", n)]
            path.write_text(json.dumps(names))
        for n in names:
            m = re.search(r"cudart64_(\d+)\.dll", n) or re.search(r"cudart64_(\d+)_\d+\.dll", n)
            if m:
                d = m.group(1)
                return {"cuda": f"{d[:-1]}.{d[-1]}" if len(d) >= 3 else f"{d}.0", "evidence": f"bundles {n}"}
            m = re.search(r"libcudart[^/]*\.so\.(\d+)\.(\d+)", n)
            if m:  # from CUDA 11 the soname carries the major only (libcudart.so.11.0 for every 11.x)
                cuda = f"{m.group(1)}.{m.group(2)}" if int(m.group(1)) < 11 else f"{m.group(1)}.x"
                return {"cuda": cuda, "evidence": f"bundles {n}"}
        if any("torch_cuda" in n or "caffe2_gpu" in n for n in names):
            return {"cuda": "?", "evidence": "has CUDA libraries but no CUDA runtime name was recognised"}
        return {"cuda": "cpu", "evidence": "no CUDA runtime in the wheel and none in Requires-Dist"}


def _is_version(text: str) -> bool:
    try:
        Version(text)
        return True
    except InvalidVersion:
        return False


def _one_pin_per_line(data: dict) -> str:
    head = {k: v for k, v in data.items() if k != "pins"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + [' "pins": {']
    pins = list(data["pins"].items())
    lines += [f"  {json.dumps(k)}: {json.dumps(v, sort_keys=True)}" + ("," if i < len(pins) - 1 else "") for i, (k, v) in enumerate(pins)]
    return "\n".join(lines + [" }", "}"]) + "\n"


def load_evidence(path: Path = EVIDENCE) -> tuple[dict, dict]:
    """The stored copies of the PyTorch index: {index: {dist: {version: [[file, "", source_id]]}}}, sources."""
    if not path.exists():
        return {}, {}
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    files: dict = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    sources = {}
    for i, row in enumerate(data.get("copy", [])):
        sid = row.get("id") or f"copy-{i + 1}"
        sources[sid] = {k: row[k] for k in ("source", "seen", "note") if k in row}
        for fn in row.get("files", []):
            parsed = parse_file(fn)
            if parsed is None:
                raise SystemExit(f"{path}: {fn!r} is not a wheel file name")
            files[f"pytorch:{row['index']}"][canonical(parsed[0])][parsed[1]].append([fn, "", sid])
        for rel in row.get("releases", []):  # named by an install log: the release exists, its file names are not given
            dist, _, version = rel.partition("==")
            files[f"pytorch:{row['index']}"][canonical(dist)][version].append(["", "", sid])
    return files, sources


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--offline", action="store_true", help="use only cached responses")
    ap.add_argument("--archs", nargs="?", const="all", default="", help="read GPU code from wheels (all, or a comma list of dists)")
    ap.add_argument("--snapshot", type=Path, default=SNAPSHOT)
    ap.add_argument("--date", default=dt.date.today().isoformat(), help="the check date written into the snapshot")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)

    pins = all_pins().pins
    ck = Checker(args.offline, args.verbose)
    ev_files, ev_sources = load_evidence()
    rows: dict[str, dict] = {}
    avail: dict[str, dict] = {}
    try:
        for key, pin in sorted(pins.items()):
            k = pin_key(pin.index, pin.dist, pin.version or pin.specifier, pin.extras, pin.kind)
            if pin.index == "pypi":
                res = ck.check_pypi_pin(pin)
                status = "missing" if res.get("no_project") else ("confirmed" if not res["missing"] else "partial")
            elif pin.pypi_too and pin.index.startswith("pytorch:") and "+" not in pin.version and ck.listing(pin.dist) and any(
                    version_matches(v, pin.version) for v in ck.listing(pin.dist)):
                # `-f torch_stable.html` / `--extra-index-url`: pip looks on PyPI too, where an untagged
                # companion (torchaudio 0.7.2) is found
                res = ck.check_pypi_pin(pin)
                res["sources"] = {"pypi"}
                res["via"] = "pypi"
                status = "confirmed" if not res["missing"] else "partial"
            else:
                res = {"missing": [], "ok": 0, "inferred": [], "ok_targets": [], "sources": set()}
                listing = ev_files.get(pin.index, {}).get(canonical(pin.dist), {})
                same = [e for v, es in listing.items() if version_matches(v, pin.version) for e in es]
                res["sources"] = {e[2] for e in same}
                for py, os_name, arch in sorted(pin.targets):
                    if any(file_fits(e[0], "", py, os_name, arch) for e in same):
                        res["ok"] += 1
                        res["ok_targets"].append((py, os_name, arch))
                    elif same:
                        res["inferred"].append(target_key(py, os_name, arch))
                        res["ok_targets"].append((py, os_name, arch))
                    else:
                        res["missing"].append(target_key(py, os_name, arch))
                status = "unconfirmable" if not same else "confirmed"
            if pin.kind in ("wheel", "sdist") and res["ok_targets"]:
                ok: dict[str, list[int]] = defaultdict(list)
                for py, os_name, arch in res["ok_targets"]:
                    ok[f"{os_name}/{arch}"].append(int(py.split(".")[1]))
                avail[k] = {"ok": {p: ",".join(str(m) for m in sorted(set(ms))) for p, ms in sorted(ok.items())}}
                if res.get("sources"):
                    avail[k]["source"] = ", ".join(sorted(res["sources"]))
                    if res.get("inferred"):
                        avail[k]["inferred"] = True
            rows[k] = {"label": pin.label, "package": pin.package, "status": status, "data_confirmed": pin.confirmed,
                       "gpu": pin.gpu, "kind": pin.kind, **({"via": res["via"]} if res.get("via") else {}),
                       "targets": len(pin.targets), **{x: res[x] for x in ("missing", "inferred") if res.get(x)}}
    except FetchError as exc:
        print(f"check_knowledge: {exc}", file=sys.stderr)
        return 2

    # PyPI's torch wheels: which CUDA they really are
    from gpuready.knowledge.packages import builds

    variants = {}
    for b in builds("torch"):
        for flag, os_name, arch in (("pypi_default", "linux", "x86_64"), ("pypi_windows", "windows", "x86_64")):
            if not getattr(b, flag):
                continue
            listing = ck.listing("torch") or {}
            entries = listing.get(b.version, [])
            fit = next((e for py in ("3.12", "3.11", "3.10", "3.9", "3.8", "3.7", "3.6", "3.13", "3.14")
                        for e in entries if file_fits(e[0], e[1], py, os_name, arch)), None)
            label = f"torch {b.version} {os_name} {arch} (PyPI)"
            if fit is None:
                variants[label] = {"claimed": b.variant, "found": "no file"}
                continue
            found = ck.pypi_variant(fit, os_name, arch)
            want = b.cuda.rsplit(".", 1)[0] if b.cuda.count(".") > 1 else b.cuda
            found.update(claimed=b.variant, file=fit[0])
            variants[label] = found
            want_mm = ".".join(want.split(".")[:2])
            same = found["cuda"] == want_mm or (found["cuda"].endswith(".x") and found["cuda"].split(".")[0] == want_mm.split(".")[0])
            if found["cuda"] != "?" and not same:
                ck.problems.append(f"{label}: the data says PyPI's wheel is {b.variant}; {fit[0]} is CUDA {found['cuda']} ({found['evidence']})")
    for rel_version in sorted({b.version for b in builds("torch")}, key=Version):
        entries = (ck.listing("torch") or {}).get(rel_version, [])
        fit = next((e for e in entries if file_fits(e[0], e[1], "3.12", "linux", "aarch64") or file_fits(e[0], e[1], "3.10", "linux", "aarch64")
                    or file_fits(e[0], e[1], "3.8", "linux", "aarch64")), None)
        if fit is not None and Version(rel_version) >= Version("2.5"):
            found = ck.pypi_variant(fit, "linux", "aarch64")
            found["file"] = fit[0]
            variants[f"torch {rel_version} linux aarch64 (PyPI)"] = found

    # Data rows that disagree with the index. A GPU row must be right about every Python/platform it claims
    # (those are the facts people plan by); a CPU row's claims are broad ("every OS"), and the gaps the checker
    # finds are narrowed by data/availability.json, so they are listed as notes.
    narrowed: dict[str, int] = defaultdict(int)
    unconfirmable: dict[str, int] = defaultdict(int)
    gpu_targets = {pin_key(p.index, p.dist, p.version or p.specifier, p.extras, p.kind): {target_key(*t) for t in p.gpu_targets}
                   for p in pins.values()}
    for k, row in sorted(rows.items()):
        missing_all = row["status"] == "missing" or (row["status"] == "partial" and k not in avail and row.get("kind") in ("wheel", "sdist"))
        if row["data_confirmed"] and missing_all:
            if row["gpu"]:
                ck.problems.append(f"{row['label']} ({k}): no file on the index for any target it claims")
            else:  # a CPU build derived from a GPU row's versions (onnxruntime 1.20.2 has no CPU twin)
                ck.notes.append(f"{row['label']} ({k}): no file on the index; left out of plans (not in availability.json)")
        elif row["data_confirmed"] and row["status"] == "partial":
            # companions: the planner checks their files before it picks torch (plan/companions.py, with_companions)
            gpu_missing = [m for m in row["missing"] if m in gpu_targets[k]] if row["package"] not in ("torchvision", "torchaudio") else []
            if gpu_missing:
                ck.problems.append(f"{row['label']} ({k}): no file for {', '.join(gpu_missing[:8])}"
                                   + (f" and {len(gpu_missing) - 8} more" if len(gpu_missing) > 8 else ""))
            if len(gpu_missing) < len(row["missing"]):
                narrowed[row["package"]] += 1
        if row["status"] == "unconfirmable":
            unconfirmable[row["package"]] += 1
    for k, rec in sorted(ck.deps.items()):
        if rows.get(k, {}).get("data_confirmed") and rec["missing"]:
            gpu_missing = {t: v for t, v in rec["missing"].items() if t in gpu_targets[k]}
            first = next(iter((gpu_missing or rec["missing"]).items()))
            text = (f"{rows[k]['label']} ({k}): {len(gpu_missing or rec['missing'])} target(s) cannot install, "
                    f"e.g. {first[0]}: {'; '.join(first[1])}")
            (ck.problems if gpu_missing else ck.notes).append(text)
    for package, n in sorted(unconfirmable.items()):
        ck.notes.append(f"{package}: {n} pin(s) on an index no stored copy names (marked unconfirmable in the snapshot; "
                        "left out of plans unless pinned)")
    for package, n in sorted(narrowed.items()):
        ck.notes.append(f"{package}: {n} CPU pin(s) have no file for some OS/CPU/Python the row claims; plans use "
                        "data/availability.json, which lists only the targets with a file")

    for k, rec in ck.deps.items():
        if k in avail and rec["missing"]:
            for tk in rec["missing"]:
                py, os_name, arch = tk.split("/")
                plat = f"{os_name}/{arch}"
                minors = [m for m in avail[k]["ok"].get(plat, "").split(",") if m and m != py.split(".")[1]]
                if minors:
                    avail[k]["ok"][plat] = ",".join(minors)
                else:
                    avail[k]["ok"].pop(plat, None)
            if not avail[k]["ok"]:
                del avail[k]
    availability = {
        "checked": args.date,
        "generator": "tools/check_knowledge.py (from tests/data/index-snapshot.json); do not edit by hand",
        "source": f"{PYPI} (PEP 691 JSON, live); PyTorch index: stored copies in tests/data/pytorch-index-evidence.toml",
        "pins": dict(sorted(avail.items())),
    }
    AVAILABILITY.write_text(_one_pin_per_line(availability), encoding="utf-8")

    previous = {}
    if args.snapshot.exists():
        try:
            previous = json.loads(args.snapshot.read_text(encoding="utf-8"))
        except ValueError:
            previous = {}
    archs = previous.get("archs", {})
    if args.archs:
        from knowcheck.archs import read_archs

        archs.update(read_archs(ck, args.archs, args.date))
    from knowcheck.archs import primary

    for key, reading in archs.items():
        found = primary(key.split("==")[0], reading)
        if found is not None:
            reading["primary"] = found

    indexes = {"pypi": {"url": PYPI, "complete": True, "how": "PEP 691 JSON Simple API, live", "files": ck.kept["pypi"]}}
    for index, dists in sorted(ev_files.items()):
        indexes[index] = {"url": f"https://download.pytorch.org/whl/{index.split(':', 1)[1]}",
                          "how": "not reachable from the checking machine: files named by the stored copies in "
                                 "tests/data/pytorch-index-evidence.toml", "files": {d: dict(v) for d, v in dists.items()}}
    snapshot = {
        "checked": args.date,
        "generator": "tools/check_knowledge.py",
        "note": "What each index had for every pin gpuready plan can print, when checked. Re-run the checker after "
                "editing src/gpuready/knowledge/data/*.toml (docs/plan.md, 'Refreshing the knowledge').",
        "indexes": indexes,
        "sources": ev_sources,
        "requirements": ck.requirements,
        "deps": ck.deps,
        "pypi_builds": variants,
        "archs": archs,
        "rows": rows,
        "problems": ck.problems,
    }
    args.snapshot.parent.mkdir(parents=True, exist_ok=True)
    args.snapshot.write_text(json.dumps(snapshot, indent=1, sort_keys=True) + "\n", encoding="utf-8")

    counts: dict[str, int] = defaultdict(int)
    for row in rows.values():
        counts[row["status"]] += 1
    print(f"{len(rows)} pins checked on {args.date}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    unconf = [r for r in rows.values() if r["status"] in ("unconfirmable", "missing", "partial") and not r["data_confirmed"]]
    if unconf:
        print(f"{len(unconf)} pins without a file are marked unconfirmed in the data (planned only when pinned)")
    can_confirm = sorted({r["label"] for r in rows.values() if r["status"] == "confirmed" and not r["data_confirmed"]})
    if can_confirm:
        print("marked unconfirmed but found on the index: " + "; ".join(can_confirm[:20]))
    for n in ck.notes[:40]:
        print("note:", n)
    for p in ck.problems:
        print("PROBLEM:", p)
    print(f"snapshot written to {args.snapshot.relative_to(ROOT) if args.snapshot.is_relative_to(ROOT) else args.snapshot}")
    return 1 if ck.problems else 0


if __name__ == "__main__":
    sys.exit(main())
