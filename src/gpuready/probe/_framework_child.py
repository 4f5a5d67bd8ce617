"""Child-process script: import ONE GPU framework and report its real build, as one JSON line.

Run as `python _framework_child.py NAME` by probe.frameworks, in the interpreter being
inspected (which may not have gpuready installed: standard library only). Imports hang,
segfault and print noise; the parent gives each child a timeout and reads only the
line after MARK. Every question is asked defensively: an old version missing an API
must still yield the facts the others give.
"""

import json
import os
import re
import sys

MARK = "\x1eGPUREADY "


def _try(fn, default=None):
    try:
        return fn()
    except Exception:
        return default


def _dist_version(*names):
    try:
        from importlib import metadata
    except ImportError:
        return "", ""
    for name in names:
        try:
            return name, metadata.version(name)
        except Exception:
            continue
    return "", ""


def torch_facts():
    import torch

    cuda = getattr(torch.version, "cuda", None)
    f = {
        "version": torch.__version__,
        "cuda_build": bool(cuda),
        "cuda_version": cuda or "",
        "archs": list(_try(torch.cuda.get_arch_list, []) or []),
    }
    if getattr(torch.version, "hip", None):
        f["details"] = {"hip": str(torch.version.hip)}
    cudnn = _try(torch.backends.cudnn.version)
    if cudnn:
        f["cudnn_version"] = _cudnn_int(cudnn)
    built = _try(lambda: torch._C._cudnn.getCompileVersion())
    if built:
        f["built_cudnn"] = ".".join(str(x) for x in built)
    # The parent sets PYTORCH_NVML_BASED_CUDA_CHECK=1: is_available() then asks NVML instead of creating a
    # CUDA context (seconds saved; proof that kernels run is verify's job, not the probe's).
    available = _try(torch.cuda.is_available, False)
    f["sees_gpu"] = bool(available)
    f["device_count"] = _try(torch.cuda.device_count, 0) if available else 0
    return f


def _lib_int(v):
    """cuBLAS/cuFFT-style ints: 130100 -> "13.1.0" (M*10000+m*100+p)."""
    v = int(v)
    return "%d.%d.%d" % (v // 10000, (v % 10000) // 100, v % 100)


def _cudnn_int(v):
    """torch/cupy cuDNN ints: 91900 -> "9.19.0" (9.x: M*10000+m*100+p), 8902 -> "8.9.2" (8.x: M*1000+m*100+p)."""
    v = int(v)
    if v >= 10000:
        return "%d.%d.%d" % (v // 10000, (v % 10000) // 100, v % 100)
    return "%d.%d.%d" % (v // 1000, (v % 1000) // 100, v % 100)


def tensorflow_facts():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    info = _try(tf.sysconfig.get_build_info, {}) or {}
    f = {
        "version": tf.__version__,
        "cuda_build": bool(_try(tf.test.is_built_with_cuda, False)),
        "cuda_version": str(info.get("cuda_version", "") or ""),
        "cudnn_version": str(info.get("cudnn_version", "") or ""),
        "archs": [str(a) for a in (info.get("cuda_compute_capabilities") or [])],
    }
    gpus = _try(lambda: tf.config.list_physical_devices("GPU"), []) or []
    f["sees_gpu"] = bool(gpus)
    f["device_count"] = len(gpus)
    return f


def jax_facts():
    import jax

    f = {"version": jax.__version__, "details": {}}
    jaxlib = _dist_version("jaxlib")[1]
    if jaxlib:
        f["details"]["jaxlib"] = jaxlib
    plugin_dist, plugin_version = _dist_version("jax-cuda13-plugin", "jax-cuda12-plugin", "jax_cuda13_plugin", "jax_cuda12_plugin")
    legacy_cuda = "+cuda" in jaxlib
    f["cuda_build"] = bool(plugin_dist) or legacy_cuda
    if plugin_dist:
        f["details"]["plugin"] = "%s %s" % (plugin_dist, plugin_version)
        f["cuda_version"] = re.search(r"cuda(\d+)", plugin_dist).group(1)
        pjrt = _dist_version(plugin_dist.replace("plugin", "pjrt"))[1]
        if pjrt:
            f["details"]["pjrt"] = pjrt
    devices = _try(lambda: jax.devices("gpu"), None)
    if devices is None:
        devices = [d for d in (_try(jax.devices, []) or []) if getattr(d, "platform", "") in ("gpu", "cuda")]
    f["sees_gpu"] = bool(devices)
    f["device_count"] = len(devices)
    f["details"]["backend"] = str(_try(jax.default_backend, ""))
    versions = _try(lambda: __import__("jax._src.lib", fromlist=["cuda_versions"]).cuda_versions)
    if versions is not None:
        built = _try(versions.cudnn_build_version)
        if built:
            f["built_cudnn"] = _cudnn_int(built)
        built = _try(versions.cublas_build_version)
        if built:
            f["built_cublas"] = _lib_int(built)
    return f


def cupy_facts():
    import cupy

    f = {"version": cupy.__version__, "cuda_build": True}
    rt = _try(cupy.cuda.runtime.runtimeGetVersion)
    if rt:
        f["cuda_version"] = "%d.%d" % (rt // 1000, (rt % 1000) // 10)
    drv = _try(cupy.cuda.runtime.driverGetVersion)
    if drv:
        f["details"] = {"driver_cuda": "%d.%d" % (drv // 1000, (drv % 1000) // 10)}
    count = _try(cupy.cuda.runtime.getDeviceCount)
    if count is None:
        try:
            cupy.cuda.runtime.getDeviceCount()
        except Exception as exc:
            f["error"] = "%s: %s" % (type(exc).__name__, exc)
        count = 0
    f["sees_gpu"] = count > 0
    f["device_count"] = count
    cudnn_mod = _try(lambda: __import__("cupy.cuda.cudnn", fromlist=["x"]))
    cudnn = _try(cudnn_mod.getVersion) if cudnn_mod is not None else None
    if cudnn:
        f["cudnn_version"] = _cudnn_int(cudnn)
    built = _try(cudnn_mod.get_build_version) if cudnn_mod is not None else None
    if built:
        f["built_cudnn"] = _cudnn_int(built)
    return f


def onnxruntime_facts():
    import onnxruntime as ort

    providers = list(_try(ort.get_available_providers, []) or [])
    f = {
        "version": ort.__version__,
        "cuda_build": "CUDAExecutionProvider" in providers or "TensorrtExecutionProvider" in providers,
        "details": {"providers": ",".join(providers), "device": str(_try(ort.get_device, ""))},
    }
    info = _try(lambda: __import__("onnxruntime.capi.build_and_package_info", fromlist=["x"]))
    if info is not None:
        f["cuda_version"] = str(getattr(info, "cuda_version", "") or "")
        f["cudnn_version"] = str(getattr(info, "cudnn_version", "") or "")
    # Whether the CUDA provider can really load its libraries is verify's question (it needs a session).
    f["sees_gpu"] = None
    return f


_BI_LINES = ("NVIDIA CUDA", "NVIDIA GPU arch", "NVIDIA PTX archs", "cuDNN", "C++ Compiler", "To be built")


def cv2_facts():
    import cv2

    f = {"version": cv2.__version__, "details": {}}
    bi = _try(cv2.getBuildInformation, "") or ""
    for line in bi.splitlines():
        key, _, value = line.strip().partition(":")
        if key.strip() in _BI_LINES:
            f["details"][key.strip()] = value.strip()
    cuda_line = f["details"].get("NVIDIA CUDA", "")
    f["cuda_build"] = cuda_line.upper().startswith("YES")
    m = re.search(r"ver\s+([\d.]+)", cuda_line)
    if m:
        f["cuda_version"] = m.group(1)
    m = re.search(r"ver\s+([\d.]+)", f["details"].get("cuDNN", ""))
    if m:
        f["cudnn_version"] = m.group(1)
    archs = ["sm_" + a for a in f["details"].get("NVIDIA GPU arch", "").split()]
    archs += ["compute_" + a for a in f["details"].get("NVIDIA PTX archs", "").split()]
    f["archs"] = archs
    count = _try(cv2.cuda.getCudaEnabledDeviceCount, 0)
    f["details"]["cuda_device_count"] = str(count)
    f["sees_gpu"] = bool(count and count > 0)
    f["device_count"] = max(count or 0, 0)
    return f


def dlib_facts():
    import dlib

    use_cuda = bool(getattr(dlib, "DLIB_USE_CUDA", False))
    f = {"version": getattr(dlib, "__version__", ""), "cuda_build": use_cuda}
    if use_cuda:
        n = _try(dlib.cuda.get_num_devices, 0)
        f["sees_gpu"] = bool(n)
        f["device_count"] = n or 0
    else:
        f["sees_gpu"] = False
    f["details"] = {"module": str(getattr(sys.modules.get("_dlib_pybind11"), "__file__", "") or getattr(dlib, "__file__", ""))}
    return f


def face_recognition_facts():
    import builtins

    # face_recognition calls quit() (exit status 0) when its models package fails to import.
    def refuse(*_a, **_k):
        raise RuntimeError("face_recognition called quit(): face_recognition_models failed to import")

    builtins.quit = builtins.exit = refuse
    import dlib
    import face_recognition  # noqa: F401

    dist, version = _dist_version("face_recognition", "face-recognition")
    use_cuda = bool(getattr(dlib, "DLIB_USE_CUDA", False))
    f = {"version": version, "cuda_build": use_cuda, "details": {"dlib": getattr(dlib, "__version__", "")}}
    if use_cuda:
        n = _try(dlib.cuda.get_num_devices, 0)
        f["sees_gpu"] = bool(n)
        f["device_count"] = n or 0
    else:
        f["sees_gpu"] = False
    return f


def pytensor_facts():
    import pytensor

    f = {"version": pytensor.__version__, "cuda_build": False, "sees_gpu": False}
    f["details"] = {"mode": str(_try(lambda: pytensor.config.mode, "")), "note": "PyTensor reaches the GPU only through its JAX or PyTorch backend"}
    return f


def theano_facts():
    import theano

    device = str(_try(lambda: theano.config.device, ""))
    f = {"version": theano.__version__, "details": {"device": device}}
    f["cuda_build"] = device.startswith(("cuda", "gpu"))
    f["sees_gpu"] = f["cuda_build"]
    return f


# --- a real operation, so that the libraries it needs are really mapped -----------------------------
#
# Importing a framework maps only part of its CUDA stack: cuDNN's engines, cuBLASLt or NVRTC are
# opened at first use. `doctor` asks for one tiny operation (a matmul, a 3x3 convolution) before the
# mapped libraries are listed; the probe alone does not (it creates no CUDA context).


def torch_op():
    import torch

    a = torch.ones(16, 16, device="cuda")
    (a @ a).sum().item()
    x = torch.ones(1, 1, 8, 8, device="cuda")
    torch.nn.functional.conv2d(x, torch.ones(1, 1, 3, 3, device="cuda")).sum().item()


def jax_op():
    import jax
    import jax.numpy as jnp

    a = jnp.ones((16, 16))
    (a @ a).block_until_ready()
    x = jnp.ones((1, 1, 8, 8))
    jax.lax.conv(x, jnp.ones((1, 1, 3, 3)), (1, 1), "SAME").block_until_ready()


def cupy_op():
    import cupy

    a = cupy.ones((16, 16), dtype=cupy.float32)
    float((a @ a).sum())


def tensorflow_op():
    import tensorflow as tf

    with tf.device("/GPU:0"):
        a = tf.ones((16, 16))
        float(tf.reduce_sum(tf.matmul(a, a)))


def cv2_op():
    import cv2
    import numpy

    m = cv2.cuda_GpuMat()
    m.upload(numpy.ones((8, 8), dtype=numpy.float32))
    m.download()


def dlib_op():
    import dlib

    dlib.cuda.get_num_devices()


OPS = {"torch": torch_op, "jax": jax_op, "cupy": cupy_op, "tensorflow": tensorflow_op, "cv2": cv2_op, "dlib": dlib_op}


# --- the CUDA libraries this process mapped ----------------------------------------------------------

# (name, Linux file-name pattern, Windows DLL pattern, how to ask the library its own version)
CUDA_LIBS = (
    ("cudart", r"libcudart\.so(\.[\d.]+)?$", r"cudart64_\d+\.dll$", "cudart"),
    ("cublasLt", r"libcublasLt\.so(\.[\d.]+)?$", r"cublasLt64_\d+\.dll$", "prop:cublasLtGetProperty"),
    ("cublas", r"libcublas\.so(\.[\d.]+)?$", r"cublas64_\d+\.dll$", "prop:cublasGetProperty"),
    ("cudnn", r"libcudnn\.so(\.[\d.]+)?$", r"cudnn64_\d+\.dll$", "cudnn"),
    ("nccl", r"libnccl\.so(\.[\d.]+)?$", r"nccl\d*\.dll$", "nccl"),
    ("nvrtc", r"libnvrtc\.so(\.[\d.]+)?$", r"nvrtc64_\d+(_0)?\.dll$", "pair:nvrtcVersion"),
    ("nvJitLink", r"libnvJitLink\.so(\.[\d.]+)?$", r"nvJitLink_\d+(_0)?\.dll$", "pair:nvJitLinkVersion"),
    ("cufft", r"libcufft\.so(\.[\d.]+)?$", r"cufft64_\d+\.dll$", "prop:cufftGetProperty"),
    ("cuda", r"libcuda\.so(\.[\d.]+)?$", r"nvcuda\.dll$", "driver"),
)


def parse_maps(text):
    """The file paths in /proc/self/maps content, once each, in order of first mapping."""
    seen = []
    got = set()
    for line in text.splitlines():
        parts = line.split(None, 5)
        if len(parts) < 6:
            continue
        path = parts[5].strip()
        if path.endswith(" (deleted)"):
            path = path[: -len(" (deleted)")]
        if not path.startswith("/") or path in got:
            continue
        got.add(path)
        seen.append(path)
    return seen


def windows_modules():
    """The DLLs loaded into this process (EnumProcessModules), as full paths."""
    import ctypes
    from ctypes import wintypes

    psapi = ctypes.WinDLL("psapi")
    kernel32 = ctypes.WinDLL("kernel32")
    kernel32.GetCurrentProcess.restype = wintypes.HANDLE
    psapi.EnumProcessModules.argtypes = [wintypes.HANDLE, ctypes.POINTER(wintypes.HMODULE), wintypes.DWORD, ctypes.POINTER(wintypes.DWORD)]
    psapi.EnumProcessModules.restype = wintypes.BOOL
    psapi.GetModuleFileNameExW.argtypes = [wintypes.HANDLE, wintypes.HMODULE, wintypes.LPWSTR, wintypes.DWORD]
    psapi.GetModuleFileNameExW.restype = wintypes.DWORD
    process = kernel32.GetCurrentProcess()
    count = 1024
    while True:
        handles = (wintypes.HMODULE * count)()
        needed = wintypes.DWORD(0)
        if not psapi.EnumProcessModules(process, handles, ctypes.sizeof(handles), ctypes.byref(needed)):
            return []
        if needed.value <= ctypes.sizeof(handles):
            break
        count = needed.value // ctypes.sizeof(wintypes.HMODULE) + 16
    out = []
    buf = ctypes.create_unicode_buffer(32768)
    for i in range(needed.value // ctypes.sizeof(wintypes.HMODULE)):
        if psapi.GetModuleFileNameExW(process, handles[i], buf, len(buf)):
            out.append(buf.value)
    return out


def mapped_files():
    if sys.platform == "win32":
        return _try(windows_modules, []) or []
    try:
        with open("/proc/self/maps") as fh:
            return parse_maps(fh.read())
    except OSError:
        return []


def classify(paths, windows=False):
    """[(name, path)] for the CUDA libraries among `paths`, plus the other shared objects (for RUNPATH)."""
    libs = []
    others = []
    for path in paths:
        base = re.split(r"[\\/]", path)[-1]
        hit = None
        for name, linux, win, _how in CUDA_LIBS:
            if re.match(win if windows else linux, base, re.I if windows else 0):
                hit = name
                break
        if hit:
            libs.append((hit, path))
        elif ".so" in base or base.lower().endswith((".pyd", ".dll")):
            others.append(path)
    return libs, others


def _ask_version(path, how):
    import ctypes

    mode = getattr(os, "RTLD_NOLOAD", 0) | getattr(os, "RTLD_LAZY", 1)
    lib = ctypes.WinDLL(path) if sys.platform == "win32" else ctypes.CDLL(path, mode=mode)
    if how == "cudnn":
        fn = lib.cudnnGetVersion
        fn.restype = ctypes.c_size_t
        return _cudnn_int(fn())
    value = ctypes.c_int(0)
    if how in ("cudart", "driver", "nccl"):
        fn = {"cudart": "cudaRuntimeGetVersion", "driver": "cuDriverGetVersion", "nccl": "ncclGetVersion"}[how]
        if getattr(lib, fn)(ctypes.byref(value)) != 0 or not value.value:
            return ""
        v = value.value
        if how == "nccl":
            return "%d.%d.%d" % (v // 10000, (v % 10000) // 100, v % 100) if v >= 10000 else "%d.%d.%d" % (v // 1000, (v % 1000) // 100, v % 100)
        return "%d.%d" % (v // 1000, (v % 1000) // 10)
    kind, _, fn = how.partition(":")
    if kind == "pair":
        a, b = ctypes.c_int(0), ctypes.c_int(0)
        if getattr(lib, fn)(ctypes.byref(a), ctypes.byref(b)) != 0:
            return ""
        return "%d.%d" % (a.value, b.value)
    if kind == "prop":  # MAJOR_VERSION=0, MINOR_VERSION=1, PATCH_LEVEL=2
        parts = []
        for prop in (0, 1, 2):
            if getattr(lib, fn)(prop, ctypes.byref(value)) != 0:
                return ""
            parts.append(str(value.value))
        return ".".join(parts)
    return ""


def _file_version(path):
    base = os.path.basename(os.path.realpath(path))
    m = re.search(r"\.so\.(\d+(?:\.\d+)*)$", base) or re.search(r"_(\d+(?:_\d+)*)\.dll$", base, re.I)
    return m.group(1).replace("_", ".") if m else ""


# cuDNN 9 is a front library (libcudnn.so.9) that dlopen()s its engines by soname at run time
# (libcudnn_graph.so.9, libcudnn_ops.so.9, ...; cudnn_graph64_9.dll, ...). That dlopen searches
# LD_LIBRARY_PATH before the front's own RUNPATH, so with a system cuDNN on LD_LIBRARY_PATH a wheel's
# front runs another copy's engines: cudnnGetVersion() answers for the engines (seen on the H200,
# 2026-12-02: the wheel's 9.19 front with the system's 9.14 engines; torch refuses it).
CUDNN_PARTS = (r"libcudnn_[a-z_]+\.so(\.[\d.]+)?$", r"cudnn_[a-z_]+64_\d+\.dll$")


def _folder(path, windows=False):
    if os.path.exists(path):
        return os.path.dirname(os.path.realpath(path))
    folder = re.split(r"[\\/][^\\/]*$", path)[0]
    return folder.lower() if windows else folder


def cudnn_engines(front, others, windows=False):
    """The cuDNN engine libraries among `others` that live in another folder than the front library `front`."""
    pattern = CUDNN_PARTS[1] if windows else CUDNN_PARTS[0]
    flags = re.I if windows else 0
    home = _folder(front, windows)
    return [p for p in others if re.match(pattern, re.split(r"[\\/]", p)[-1], flags) and _folder(p, windows) != home]


def loaded_libraries(paths=None):
    """{"libs": [{name, path, version}], "objects": [other shared objects]} of this process.

    When cuDNN's engines come from another copy than its front library, the cudnn entry names the
    engines' copy (whose code runs, and whose version cudnnGetVersion reports) and keeps the front's
    path under "front"."""
    windows = sys.platform == "win32"
    libs, others = classify(mapped_files() if paths is None else paths, windows)
    out = []
    how = {name: h for name, _l, _w, h in CUDA_LIBS}
    for name, path in libs:
        asked = _try(lambda: _ask_version(path, how[name]), "")
        item = {"name": name, "path": path, "version": asked or _file_version(path)}
        engines = cudnn_engines(path, others, windows) if name == "cudnn" else []
        if engines:  # cudnnGetVersion answers for the engines; their file name when it cannot be asked
            item = {"name": name, "path": engines[0], "version": asked or _file_version(engines[0]), "front": path,
                    "front_version": _file_version(path)}
        out.append(item)
    return {"libs": out, "objects": others[:800]}


FACTS = {
    "torch": torch_facts,
    "tensorflow": tensorflow_facts,
    "jax": jax_facts,
    "cupy": cupy_facts,
    "onnxruntime": onnxruntime_facts,
    "cv2": cv2_facts,
    "dlib": dlib_facts,
    "face_recognition": face_recognition_facts,
    "pytensor": pytensor_facts,
    "theano": theano_facts,
}


def _module_file(name):
    mod = sys.modules.get(name)
    if name == "dlib" and sys.modules.get("_dlib_pybind11") is not None:
        mod = sys.modules["_dlib_pybind11"]
    return str(getattr(mod, "__file__", "") or "")


def main():
    name = sys.argv[1]
    args = sys.argv[2:]
    real_op = "--op" in args
    for pre in [a for a in args if a != "--op"]:  # modules real programs import first (numpy, torch), when asked
        _try(lambda: __import__(pre))
    try:
        out = FACTS[name]()
        out["status"] = "ok"
    except BaseException as exc:  # ImportError, OSError from a missing .so, SystemExit from quit()
        out = {"status": "import_error", "error": "%s: %s" % (type(exc).__name__, exc)}
    out["module_file"] = _module_file(name)
    if real_op and out.get("status") == "ok" and out.get("sees_gpu") and name in OPS:
        try:
            OPS[name]()
            out["op"] = "ok"
        except BaseException as exc:
            out["op"] = "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")
    out["loaded"] = _try(loaded_libraries, {"libs": [], "objects": []})
    sys.stdout.write(MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
