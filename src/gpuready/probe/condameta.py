"""What conda installed into a prefix, read from its `conda-meta/*.json` records.

A conda CUDA is often invisible to the usual version sources: the old `cudatoolkit` package
(CUDA <= 11.8) ships the runtime libraries without nvcc, version.json or headers, and the CUDA 12+
packages (`cuda-cudart`, `cuda-version`, ...) keep their headers under `targets/<triplet>/include`.
A conda cuDNN 9 from conda-forge is split into `libcudnn` (the .so) and `libcudnn-dev` (the
headers), so without the -dev package only the soname's major is left. conda itself records every
package it installed in `<prefix>/conda-meta/<name>-<version>-<build>.json` (with "name" and
"version" keys), so that is where the version is read: the same answer `conda list` gives.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

# Most specific first: the package that *is* the runtime or compiler, then the metapackages that only
# constrain the version (cuda-version 12.4 pins every CUDA component to 12.4.x).
CUDA_PACKAGES = ("cuda-cudart", "cuda-nvcc", "cudatoolkit", "cuda-runtime", "cuda-toolkit", "cuda-version")
CUDNN_PACKAGES = ("cudnn", "libcudnn", "libcudnn-dev")


def meta_dir(root: str) -> Path | None:
    """The conda-meta folder of the prefix `root` belongs to (`root`, or its parent for Windows' Library)."""
    for prefix in (Path(root), Path(root).parent):
        d = prefix / "conda-meta"
        if d.is_dir():
            return d
    return None


@functools.lru_cache(maxsize=64)
def _records(folder: str) -> dict[str, str]:
    out: dict[str, str] = {}
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return out
    for name in names:
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(folder, name), encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            continue  # a half-written record (conda interrupted) says nothing
        if isinstance(data, dict) and isinstance(data.get("name"), str) and isinstance(data.get("version"), str):
            out[data["name"].lower()] = data["version"]
    return out


def installed(root: str) -> dict[str, str]:
    """{package name: version} of the conda prefix holding `root` (empty when it is not a conda prefix)."""
    d = meta_dir(root)
    return dict(_records(str(d))) if d is not None else {}


def _first(root: str, names: tuple[str, ...]) -> tuple[str, str]:
    pkgs = installed(root)
    for name in names:
        if pkgs.get(name):
            return pkgs[name], name
    return "", ""


def cuda_version(root: str) -> str:
    """The CUDA version conda installed in this prefix ("11.8.0", "12.4.127"), or ""."""
    return _first(root, CUDA_PACKAGES)[0]


def cudnn_version(root: str) -> str:
    """The cuDNN version conda installed in this prefix ("8.9.7.29", "9.3.0.75"), or ""."""
    return _first(root, CUDNN_PACKAGES)[0]
