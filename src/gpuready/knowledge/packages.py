"""Which builds of each GPU package exist, as one uniform list of `Build`s per package.

Every package publishes its GPU builds differently (torch: one wheel per CUDA variant on its own
index; tensorflow: an `[and-cuda]` extra or a system CUDA; jax: one extra per CUDA major; cupy: one
distribution per CUDA major; onnxruntime-gpu: one CUDA per release). Each `*.toml` keeps that
package's facts in its own natural shape (one row per release or variant, each with a source);
`package_rows` reads them into typed rows and expands them into `Build`s, newest first, so that the
planner asks the same questions of every package. A new release or variant is a data edit; only a
new *kind* of package needs an expander. The expanded builds are cached on disk (below).
"""

import dataclasses
import functools
import json
import os
from pathlib import Path

from gpuready import paths
from gpuready.knowledge import package_rows as rows
from gpuready.knowledge.package_model import (  # noqa: F401 - the public names of package knowledge
    ALL_OS,
    ANY_ARCH,
    X86,
    Build,
    PackageInfo,
    package_info_uncached,
    parse_version,
)
from gpuready.knowledge.package_rows import (  # noqa: F401
    SourceRelease,
    source_releases,
    toolkit_wheels,
    torch_companion_uncached,
    torch_releases,
)

@functools.lru_cache(maxsize=None)
def package_info(name: str) -> PackageInfo:
    cached = _disk_cache()
    if cached is not None and name in cached.get("info", {}):
        d = cached["info"][name]
        return PackageInfo(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})
    return package_info_uncached(name)


def torch_companion(name: str, torch_version: str) -> str:
    """The torchvision/torchaudio version released with `torch_version`, "" when the data has none."""
    cached = _disk_cache()
    if cached is not None and name in cached.get("pairs", {}):
        return cached["pairs"][name].get(torch_version, "")

    return torch_companion_uncached(name, torch_version)



# --- the registry --------------------------------------------------------------------------------------

# How each package's builds are made. "source" packages get their GPU builds from the planner (they
# depend on the toolkit found on the machine); their CPU builds come from here.
KINDS: dict[str, str] = {
    "torch": "wheel",
    "tensorflow": "wheel",
    "jax": "wheel",
    "cupy": "wheel",
    "onnxruntime": "wheel",
    "dlib": "source",
    "opencv": "source",
    "face_recognition": "plain",
    "pytensor": "plain",
    "theano": "dead",
}



def _builds_uncached(name: str) -> tuple[Build, ...]:

    kind = KINDS.get(name)
    if kind == "wheel":
        out = rows.EXPANDERS[name]()
    elif kind == "source":
        out = rows._source_cpu_builds(name)
    elif kind == "plain":
        out = rows._plain_builds(name)
    elif kind == "dead":
        out = []
    else:
        raise KeyError(name)
    out.sort(key=lambda b: b.key, reverse=True)  # stable: keeps the file's variant order within a version
    return tuple(out)


@functools.lru_cache(maxsize=None)
def builds(name: str) -> tuple[Build, ...]:
    """Every known build of `name`, newest version first (GPU and CPU; source GPU builds excepted)."""
    if name not in KINDS:
        raise KeyError(name)
    cached = _disk_cache()
    if cached is not None and name in cached.get("builds", {}):
        try:
            return tuple(_build_from_dict(d) for d in cached["builds"][name])
        except (TypeError, ValueError, KeyError):  # a cache written by other code: rebuild from the TOML
            pass
    return _builds_uncached(name)


# --- a disk cache of the expanded knowledge ---------------------------------------------------------
# Parsing and checking every TOML row costs more than the planning itself; `plan` must answer in well
# under 200 ms. The expanded builds are kept as JSON (never pickle: nothing executable is read back) in
# the user's cache folder, keyed by gpuready's version and every data file's size and mtime, so an edit
# of any data file (or an upgrade) rebuilds it. Any failure just means "no cache".

CACHE_FORMAT = 2  # bump when Build's fields or the expanders change shape (the key covers data files, not code)
_TUPLE_FIELDS = {f.name for f in dataclasses.fields(Build) if str(f.type).startswith("tuple")}


def _build_from_dict(d: dict) -> Build:
    return Build(**{k: tuple(v) if k in _TUPLE_FIELDS else v for k, v in d.items()})


def _cache_key() -> str | None:
    try:
        from importlib import resources

        from gpuready import __version__

        folder = resources.files("gpuready.knowledge.data")
        parts = [__version__, str(CACHE_FORMAT), ",".join(f.name for f in dataclasses.fields(Build))]
        for entry in sorted(folder.iterdir(), key=lambda e: e.name):
            if entry.name.endswith(".toml"):
                st = os.stat(str(entry))
                parts.append(f"{entry.name}:{st.st_size}:{st.st_mtime_ns}")
        import zlib  # a stable, cheap fingerprint (hashlib costs more to import than this whole lookup)

        text = "|".join(parts).encode()
        return f"{zlib.crc32(text):08x}{zlib.adler32(text):08x}"
    except Exception:  # a zipped install, an unreadable folder: no cache
        return None


def _cache_path(key: str) -> Path | None:
    if os.environ.get("GPUREADY_NO_CACHE"):
        return None
    return paths.base_dir() / f"knowledge-{key}.json"


@functools.lru_cache(maxsize=None)
def _disk_cache() -> dict | None:
    key = _cache_key()
    path = _cache_path(key) if key else None
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("key") == key:
            return data
    except (OSError, ValueError):
        pass
    data = {
        "key": key,
        "builds": {n: [dataclasses.asdict(b) for b in _builds_uncached(n)] for n, k in KINDS.items() if k == "wheel"},
        "info": {n: dataclasses.asdict(package_info_uncached(n)) for n in KINDS},
        "pairs": _pairs(),
    }
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, path)
        for old in path.parent.glob("knowledge-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        pass
    return data


def _pairs() -> dict[str, dict[str, str]]:

    return {n: {v: torch_companion_uncached(n, v) for rel in torch_releases() for v in rel.versions}
            for n in ("torchvision", "torchaudio")}


def all_knowledge() -> dict[str, int]:
    """Load and check every package file (for tests and `gpuready plan --check-data`): name -> build count."""

    counts: dict[str, int] = {}
    for name, kind in KINDS.items():
        package_info_uncached(name)
        if kind == "source":
            rows.source_releases(name)
        if kind == "dead":
            rows.plain_releases(name)
        counts[name] = len(_builds_uncached(name))
    rows.toolkit_wheels()
    return counts
