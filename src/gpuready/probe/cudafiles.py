"""Does this copy of a framework have CUDA? Answered from its files, without importing it.

Only one copy of a module can be imported into one process, and the probe imports the one
`import` takes; the copies behind it (the CUDA dlib that a CPU dlib on PYTHONPATH hides) are
judged here, cheaply, from what their files say:

- dlib: the extension's DT_NEEDED list names libcudart/libcublas/libcudnn (ELF), or the
  Windows module's import table names cudnn64_N.dll/cublas64_N.dll;
- torch: `cuda = '13.0'` (or None) in torch/version.py;
- tensorflow: `'is_cuda_build': True` in tensorflow/python/platform/build_info.py;
- cv2: the "NVIDIA CUDA: YES/NO" line of the build information string inside the extension;
- onnxruntime: capi/ holds the CUDA execution provider library, or not;
- cupy: every cupy distribution of the registry is a CUDA build (cupy-cudaNNx);
- jax: a CUDA plugin (jax_plugins/xla_cuda*) beside it, or a jaxlib whose version says +cuda.

Each answer comes with the line that proves it, so a finding can show its evidence. None means
the files do not say (a pure-Python stand-in, an unreadable file), never "no".
"""

from __future__ import annotations

import glob
import mmap
import os
import re
from typing import Callable

from gpuready.elf import read_elf

# Libraries a CUDA build of a native module links (dlib, OpenCV): any of them in DT_NEEDED is proof.
CUDA_NEEDED = ("libcudart", "libcublas", "libcudnn", "libcurand", "libcusolver", "libcufft", "libnppc")
CUDA_DLLS = (b"cudart64_", b"cublas64_", b"cudnn64_", b"curand64_", b"cusolver64_")

Answer = tuple["bool | None", str]


def _elf_needed(path: str) -> tuple[str, ...] | None:
    info = read_elf(path, scan_markers=False)
    return None if info is None else info.needed


def _grep(path: str, needles: tuple[bytes, ...], limit: int = 512 * 1024 * 1024) -> tuple[bytes, int] | None:
    """(needle, offset) of the first of `needles` found in the file, without reading it into memory."""
    try:
        size = os.path.getsize(path)
        if size == 0 or size > limit:
            return None
        with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            for needle in needles:
                pos = mm.find(needle)
                if pos >= 0:
                    return needle, pos
    except (OSError, ValueError):
        return None
    return None


def _line_at(path: str, offset: int, length: int = 160) -> str:
    try:
        with open(path, "rb") as fh:
            fh.seek(offset)
            raw = fh.read(length)
    except OSError:
        return ""
    return raw.split(b"\n")[0].split(b"\x00")[0].decode("ascii", "replace").strip()


def _native_cuda(files: list[str]) -> Answer:
    """A native extension links CUDA (ELF DT_NEEDED, or a DLL name in a Windows module)."""
    for f in files:
        if f.endswith(".pyd") or f.endswith(".dll"):
            hit = _grep(f, CUDA_DLLS)
            if hit:
                return True, f"{os.path.basename(f)} imports {hit[0].decode()}*.dll"
            return False, f"{os.path.basename(f)} imports no CUDA DLL"
        needed = _elf_needed(f)
        if needed is None:
            continue
        cuda = [n for n in needed if n.startswith(CUDA_NEEDED)]
        if cuda:
            return True, f"{os.path.basename(f)} NEEDED {', '.join(cuda)}"
        return False, f"{os.path.basename(f)} NEEDED no CUDA library ({', '.join(n for n in needed[:6])})"
    return None, ""


def _literal(path: str, pattern: str) -> re.Match | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read(256 * 1024)
    except OSError:
        return None
    return re.search(pattern, text, re.M)


def _extensions(where: str, stems: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for stem in stems:
        for ext in ("*.so", "*.pyd"):
            out.extend(sorted(glob.glob(os.path.join(where, stem + ext))))
            out.extend(sorted(glob.glob(os.path.join(where, stem + "." + ext))))
    return list(dict.fromkeys(out))


def dlib_cuda(path: str, entry: str, dist: str) -> Answer:
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    files = [path] if os.path.isfile(path) and path.endswith((".so", ".pyd")) else []
    files += _extensions(entry, ("_dlib_pybind11",)) + _extensions(folder, ("_dlib_pybind11", "dlib"))
    answer = _native_cuda(list(dict.fromkeys(files)))
    if answer[0] is not None:
        return answer
    init = os.path.join(folder, "__init__.py")
    m = _literal(init, r"^DLIB_USE_CUDA\s*=\s*(True|False)\s*(?:#.*)?$")
    if m:
        return m.group(1) == "True", f"dlib/__init__.py: DLIB_USE_CUDA = {m.group(1)}"
    return None, ""


def torch_cuda(path: str, entry: str, dist: str) -> Answer:
    m = _literal(os.path.join(path, "version.py"), r"^cuda\s*(?::[^=\n]*)?=\s*(None|['\"]([^'\"]*)['\"])")
    if m:
        if m.group(1) == "None":
            return False, "torch/version.py: cuda = None"
        return True, f"torch/version.py: cuda = '{m.group(2)}'"
    return None, ""


def tensorflow_cuda(path: str, entry: str, dist: str) -> Answer:
    m = _literal(os.path.join(path, "python", "platform", "build_info.py"), r"['\"]is_cuda_build['\"]\s*:\s*(True|False)")
    if m:
        return m.group(1) == "True", f"tensorflow build_info.py: is_cuda_build = {m.group(1)}"
    return None, ""


def cv2_cuda(path: str, entry: str, dist: str) -> Answer:
    folder = path if os.path.isdir(path) else os.path.dirname(path)
    files = [path] if os.path.isfile(path) else []
    files += sorted(glob.glob(os.path.join(folder, "cv2*.so")) + glob.glob(os.path.join(folder, "cv2*.pyd")))
    files += sorted(glob.glob(os.path.join(folder, "python-3*", "cv2*.so")) + glob.glob(os.path.join(folder, "python-3*", "cv2*.pyd")))
    files.append(os.path.join(folder, "__init__.py"))  # a stand-in that returns its build information from Python
    for f in dict.fromkeys(files):
        hit = _grep(f, (b"NVIDIA CUDA:",))
        if hit:
            line = _line_at(f, hit[1])
            value = line.split(":", 1)[1].strip() if ":" in line else ""
            return value.upper().startswith("YES"), f"{os.path.basename(f)}: {' '.join(line.split())}"
    return _native_cuda([f for f in files if f.endswith((".so", ".pyd"))])


def onnxruntime_cuda(path: str, entry: str, dist: str) -> Answer:
    capi = os.path.join(path, "capi")
    if not os.path.isdir(capi):
        return None, ""
    for name in ("libonnxruntime_providers_cuda.so", "onnxruntime_providers_cuda.dll"):
        if os.path.isfile(os.path.join(capi, name)):
            return True, f"onnxruntime/capi/{name} present"
    return False, "onnxruntime/capi has no CUDA execution provider library"


def cupy_cuda(path: str, entry: str, dist: str) -> Answer:
    if dist.startswith("cupy") and "rocm" not in dist:
        return True, f"distribution {dist}"
    return None, ""


def jax_cuda(path: str, entry: str, dist: str) -> Answer:
    plugins = sorted(glob.glob(os.path.join(entry, "jax_plugins", "xla_cuda*")))
    if plugins:
        return True, f"CUDA plugin {os.path.basename(plugins[0])} beside it"
    legacy = sorted(glob.glob(os.path.join(entry, "jaxlib-*+cuda*.dist-info")))
    if legacy:
        return True, os.path.basename(legacy[0])
    if glob.glob(os.path.join(entry, "jaxlib")):
        return False, "jaxlib without a CUDA plugin beside it"
    return None, ""


CHECKS: dict[str, Callable[[str, str, str], Answer]] = {
    "dlib": dlib_cuda,
    "torch": torch_cuda,
    "tensorflow": tensorflow_cuda,
    "cv2": cv2_cuda,
    "onnxruntime": onnxruntime_cuda,
    "cupy": cupy_cuda,
    "jax": jax_cuda,
}


def copy_has_cuda(framework: str, path: str, entry: str, dist: str = "") -> Answer:
    """(True/False/None, the evidence line) for one copy of `framework` at `path` (in sys.path entry `entry`)."""
    check = CHECKS.get(framework)
    if check is None:
        return None, ""
    try:
        return check(path, entry, dist)
    except Exception:  # an odd file must not take the probe down: the copy is simply "unknown"
        return None, ""
