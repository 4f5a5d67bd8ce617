"""Child-process script: ask NVML and libcuda about the driver and GPUs, print one JSON line.

Run as `python _gpu_child.py` by probe.driver, never imported: NVML and
cuDriverGetVersion talk to the kernel driver, and a wedged driver makes them hang,
so the parent runs this with a timeout (as conda's cuda virtual package does).
Uses only the standard library plus nvidia-ml-py when it is importable.
"""

import ctypes
import json
import sys

MARK = "\x1eGPUREADY "


def nvml_facts(out):
    try:
        import pynvml
    except Exception as exc:  # nvidia-ml-py missing from this interpreter
        out["nvml_error"] = "pynvml not importable: %s" % exc
        return
    try:
        pynvml.nvmlInit()
    except Exception as exc:
        out["nvml_error"] = "%s: %s" % (type(exc).__name__, exc)
        return
    try:
        out["driver"] = _s(pynvml.nvmlSystemGetDriverVersion())
        try:
            v = pynvml.nvmlSystemGetCudaDriverVersion()
            out["nvml_cuda"] = v
        except Exception:
            pass
        gpus = []
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            g = {"index": i, "name": _s(pynvml.nvmlDeviceGetName(h))}
            for key, fn in (
                ("uuid", lambda: _s(pynvml.nvmlDeviceGetUUID(h))),
                ("cc", lambda: "%d.%d" % tuple(pynvml.nvmlDeviceGetCudaComputeCapability(h))),
                ("memory_mib", lambda: int(pynvml.nvmlDeviceGetMemoryInfo(h).total // (1024 * 1024))),
                ("pci_bus_id", lambda: _s(pynvml.nvmlDeviceGetPciInfo(h).busId)),
            ):
                try:
                    g[key] = fn()
                except Exception:
                    pass
            gpus.append(g)
        out["gpus"] = gpus
    except Exception as exc:
        out["nvml_error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def cuda_driver_version(out):
    names = ["nvcuda.dll"] if sys.platform == "win32" else ["libcuda.so.1", "libcuda.so", "libcuda.dylib"]
    for name in names:
        try:
            lib = ctypes.WinDLL(name) if sys.platform == "win32" else ctypes.CDLL(name)
        except OSError as exc:
            out.setdefault("libcuda_error", str(exc))
            continue
        version = ctypes.c_int(0)
        status = lib.cuDriverGetVersion(ctypes.byref(version))
        if status == 0:
            out["cuda_driver"] = version.value
            out.pop("libcuda_error", None)
        else:
            out["libcuda_error"] = "cuDriverGetVersion returned %d" % status
        return


def _s(value):
    return value.decode() if isinstance(value, bytes) else str(value)


def main():
    # The parent runs us with -S (no site: tens of ms saved in big environments) and passes the
    # directory that holds pynvml, so nvidia-ml-py is still importable.
    for extra in sys.argv[1:]:
        sys.path.insert(0, extra)
    out = {}
    nvml_facts(out)
    cuda_driver_version(out)
    sys.stdout.write(MARK + json.dumps(out) + "\n")


if __name__ == "__main__":
    main()
