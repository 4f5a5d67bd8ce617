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
    # The parent sets PYTORCH_NVML_BASED_CUDA_CHECK=1: is_available() then asks NVML instead of creating a
    # CUDA context (seconds saved; proof that kernels run is verify's job, not the probe's).
    available = _try(torch.cuda.is_available, False)
    f["sees_gpu"] = bool(available)
    f["device_count"] = _try(torch.cuda.device_count, 0) if available else 0
    return f


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
    cudnn = _try(lambda: __import__("cupy.cuda.cudnn", fromlist=["x"]).getVersion())
    if cudnn:
        f["cudnn_version"] = _cudnn_int(cudnn)
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


def main():
    name = sys.argv[1]
    for pre in sys.argv[2:]:  # modules real programs import first (numpy, torch), when asked
        _try(lambda: __import__(pre))
    try:
        out = FACTS[name]()
        out["status"] = "ok"
    except BaseException as exc:  # ImportError, OSError from a missing .so, SystemExit from quit()
        out = {"status": "import_error", "error": "%s: %s" % (type(exc).__name__, exc)}
    sys.stdout.write(MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
