"""A CUDA toolkit assembled from NVIDIA's pip wheels, in a cached folder CMake accepts.

Why: a source build needs nvcc, the CUDA headers and cuBLAS/cuRAND/cuSOLVER (and cuDNN), and
many machines have none of that, or half of it (a runtime-only toolkit, an nvcc without cuBLAS).
NVIDIA publishes every component as a wheel, and the `cuda-toolkit` meta-package pins the
components of one release exactly; so `pip install --target` gives a complete toolkit without a
multi-GB installer or root. The wheels' layout is not a toolkit's, though: this module lays out
`bin/` (a copy of nvcc's folder, so nvcc.profile's TOP is the root), `include/` and `lib64/` (links,
with the unversioned `libX.so` names CMake's find_library needs), `nvvm/`, and cuDNN in its own
wheel folder with the `libcudnn.so` link beside `libcudnn.so.9`.

The folder is built under a `.partial` name and renamed when complete, so an interrupted
assembly never looks finished.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gpuready import paths
from gpuready.build.recipes import ToolkitWheels, toolkit_for_major
from gpuready.knowledge.cuda import cuda_mm, vtuple
from gpuready.proc import run

MANIFEST = "gpuready-toolkit.json"
ALWAYS_EXTRAS = ("nvcc", "crt", "nvvm", "cudart")


@dataclass
class AssembledToolkit:
    root: Path
    cuda: str  # "13.0"
    nvcc: Path
    version: str = ""  # nvcc's own version, "13.0.88"
    cudnn_root: Path | None = None  # <site>/nvidia/cudnn, with lib/libcudnn.so linked
    cudnn_version: str = ""
    extras: tuple[str, ...] = ()
    packages: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    log: Path | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and self.nvcc.is_file()

    @property
    def lib_dir(self) -> Path:
        return self.root / "lib64"


def toolkit_root(cuda: str) -> Path:
    """The cached folder for CUDA `cuda` ("13.0")."""
    return paths.toolkits_dir() / f"cuda-{cuda_mm(cuda)}"


def cudnn_root_for(root: Path) -> Path:
    return root / "site" / "nvidia" / "cudnn"


def requirements(spec: ToolkitWheels, cuda: str, extras: tuple[str, ...], cudnn: bool) -> list[str]:
    """The pip requirement strings: the meta-package with its extras, pinned to the CUDA minor, and cuDNN."""
    wanted = sorted(set(ALWAYS_EXTRAS) | set(extras))
    reqs = [f"{spec.metapackage}[{','.join(wanted)}]=={cuda_mm(cuda)}.*"]
    if cudnn:
        reqs.append(f"{spec.cudnn_wheel}{spec.cudnn_spec}")
    return reqs


def load(root: Path) -> AssembledToolkit | None:
    """A finished toolkit folder, or None (missing, partial, or its nvcc gone)."""
    try:
        data = json.loads((root / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    nvcc = root / "bin" / ("nvcc.exe" if sys.platform == "win32" else "nvcc")
    if not nvcc.is_file():
        return None
    croot = cudnn_root_for(root)
    return AssembledToolkit(
        root=root,
        cuda=data.get("cuda", ""),
        nvcc=nvcc,
        version=data.get("version", ""),
        cudnn_root=croot if (croot / "include" / "cudnn.h").is_file() else None,
        cudnn_version=data.get("cudnn_version", ""),
        extras=tuple(data.get("extras", ())),
        packages=dict(data.get("packages", {})),
    )


def has_extras(tk: AssembledToolkit, extras: tuple[str, ...]) -> bool:
    return set(extras) <= set(tk.extras) | set(ALWAYS_EXTRAS)


def assemble(
    cuda: str,
    *,
    extras: tuple[str, ...] = (),
    cudnn: bool = True,
    dest: Path | None = None,
    python: str | None = None,
    pip_args: tuple[str, ...] = (),
    timeout: float = 3600.0,
    log: Path | None = None,
    reuse: bool = True,
) -> AssembledToolkit:
    """Install the CUDA `cuda` component wheels into `dest` and lay them out as a toolkit.

    `pip_args` carries the user's index/offline choices (`--no-index --find-links DIR`). Never
    raises for a failed download or a bad layout: the problems are in the result.
    """
    start = time.monotonic()
    mm = cuda_mm(cuda)
    root = Path(dest) if dest else toolkit_root(mm)
    major = vtuple(mm)[0] if vtuple(mm) else 0
    spec = toolkit_for_major(major)
    result = AssembledToolkit(root=root, cuda=mm, nvcc=root / "bin" / "nvcc", extras=tuple(extras))
    if spec is None:
        result.problems.append(f"no pip-wheel toolkit recipe for CUDA {major} (known: 12, 13)")
        return result
    if sys.platform == "win32" or sys.platform == "darwin":
        result.problems.append("a toolkit from pip wheels is assembled on Linux only")
        return result
    if reuse:
        existing = load(root)
        if existing and has_extras(existing, extras) and (existing.cudnn_root or not cudnn):
            return existing
    partial = root.with_name(root.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    site = partial / "site"
    site.mkdir(parents=True, exist_ok=True)
    log = log or (paths.logs_dir() / f"toolkit-cuda-{mm}-{time.strftime('%Y%m%d-%H%M%S')}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    result.log = log
    reqs = requirements(spec, mm, tuple(extras), cudnn)
    argv = [
        python or sys.executable, "-m", "pip", "install", "--target", str(site), "--no-compile",
        "--disable-pip-version-check", "--no-input", "--upgrade", *pip_args, *reqs,
    ]
    res = run(argv, timeout=timeout)
    log.write_text("$ " + " ".join(argv) + "\n" + res.output + "\n", encoding="utf-8")
    if not res.ok:
        from gpuready.build.source import network_hint

        hint = network_hint(res.output, res.timed_out)
        if hint:
            result.problems.append(
                f"could not download the CUDA {mm} wheels for a toolkit from pip: {hint}. To bring them: "
                f"`pip download {' '.join(repr(r) for r in reqs)} -d DIR` where there is network (full log: {log})")
        else:
            why = "timed out" if res.timed_out else (res.start_error or f"exit {res.returncode}")
            result.problems.append(f"pip could not install the CUDA {mm} wheels ({why}): {res.tail(6)} (full log: {log})")
        return result
    problems = layout(partial, spec)
    if problems:
        result.problems.extend(problems)
        return result
    version = nvcc_version(partial / "bin" / "nvcc")
    if not version:
        result.problems.append(f"the assembled nvcc does not run (see {log})")
        return result
    result.packages = installed_packages(site)
    cudnn_dir = cudnn_root_for(partial)
    result.cudnn_version = _cudnn_header_version(cudnn_dir / "include")
    manifest = {
        "cuda": mm,
        "version": version,
        "cudnn_version": result.cudnn_version,
        "extras": sorted(set(extras) | set(ALWAYS_EXTRAS)),
        "packages": result.packages,
        "requirements": reqs,
        "assembled_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (partial / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    if root.exists():
        shutil.rmtree(root)
    root.parent.mkdir(parents=True, exist_ok=True)
    os.replace(partial, root)  # every link inside is relative, so the rename keeps them valid
    done = load(root)
    if done is None:
        result.problems.append(f"the toolkit folder {root} is incomplete after assembly")
        return result
    done.log, done.seconds = log, time.monotonic() - start
    return done


def layout(root: Path, spec: ToolkitWheels) -> list[str]:
    """Turn `root/site` (pip --target output) into bin/ include/ lib64/ nvvm/ under `root`."""
    site = root / "site"
    comps = [site / d for d in spec.component_dirs if (site / d).is_dir()]
    if not comps:
        return [f"no CUDA component folders ({', '.join(spec.component_dirs)}) in {site}"]
    nvcc_home = next((c for c in comps if (c / "bin" / "nvcc").is_file()), None)
    if nvcc_home is None:
        return [f"no nvcc in the installed wheels under {site}"]
    # bin/ is a copy: nvcc finds its profile, cicc and headers relative to its own real path.
    shutil.copytree(nvcc_home / "bin", root / "bin", symlinks=True, dirs_exist_ok=True)
    if (nvcc_home / "nvvm").is_dir():
        _link(root / "nvvm", nvcc_home / "nvvm")
    inc, lib = root / "include", root / "lib64"
    inc.mkdir(exist_ok=True)
    lib.mkdir(exist_ok=True)
    for comp in comps:
        for entry in sorted((comp / "include").glob("*")) if (comp / "include").is_dir() else []:
            _link(inc / entry.name, entry)
        for entry in sorted((comp / "lib").glob("*")) if (comp / "lib").is_dir() else []:
            _link(lib / entry.name, entry)
    for so in sorted(lib.glob("lib*.so.*")):
        plain = lib / unversioned(so.name)
        if plain.name != so.name and not plain.exists():
            os.symlink(so.name, plain)
    _link(root / "lib", lib)
    croot = site / "nvidia" / "cudnn"
    if (croot / "lib").is_dir():
        ensure_cudnn_link(croot / "lib")
    return []


def unversioned(name: str) -> str:
    """ "libcublas.so.13" -> "libcublas.so"; "libnvvm.so.4" -> "libnvvm.so"."""
    return re.sub(r"(\.so)(\.\d+)+$", r"\1", name)


def ensure_cudnn_link(lib_dir: Path) -> Path | None:
    """Create `libcudnn.so -> libcudnn.so.N` inside cuDNN's own lib folder (build-recipes.md B).

    Inside, not in a staging folder: the built module's RUNPATH then points at a folder that holds
    libcudnn.so.N and the sub-libraries cuDNN dlopens. Returns the link, or None when there is no
    versioned library to point at (or the folder is not writable).
    """
    plain = lib_dir / "libcudnn.so"
    if plain.exists():
        return plain
    versioned = sorted(lib_dir.glob("libcudnn.so.*"), key=lambda p: len(p.name))
    if not versioned:
        return None
    try:
        os.symlink(versioned[0].name, plain)
    except OSError:
        return None
    return plain


def _link(dst: Path, target: Path) -> None:
    if dst.is_symlink() or dst.exists():
        return
    os.symlink(os.path.relpath(target, dst.parent), dst)


def nvcc_version(nvcc: Path) -> str:
    from gpuready.probe.toolkits import parse_nvcc_version

    res = run([str(nvcc), "--version"], timeout=30)
    return parse_nvcc_version(res.stdout) if res.ok else ""


def installed_packages(site: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for d in sorted(site.glob("*.dist-info")):
        m = re.match(r"(.+?)-([^-]+)\.dist-info$", d.name)
        if m:
            out[m.group(1).replace("_", "-").lower()] = m.group(2)
    return out


def _cudnn_header_version(include: Path) -> str:
    from gpuready.probe.cudnn import parse_cudnn_header

    for name in ("cudnn_version.h", "cudnn.h"):
        try:
            v = parse_cudnn_header((include / name).read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue
        if v:
            return v
    return ""


def describe(tk: AssembledToolkit) -> dict:
    d = asdict(tk)
    return {k: (str(v) if isinstance(v, Path) else v) for k, v in d.items()}
