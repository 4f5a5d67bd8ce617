"""Child-process script: ask NVML and libcuda about the driver and GPUs, print one JSON line.

Run as `python _gpu_child.py` by probe.driver, never imported: NVML and
cuDriverGetVersion talk to the kernel driver, and a wedged driver makes them hang,
so the parent runs this with a timeout (as conda's cuda virtual package does).
Uses only the standard library plus nvidia-ml-py when it is importable.
"""

import ctypes
import json
import os
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
            node_facts(pynvml, h, g)
            gpus.append(g)
        out["gpus"] = gpus
    except Exception as exc:
        out["nvml_error"] = "%s: %s" % (type(exc).__name__, exc)
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass


def node_facts(pynvml, h, g):
    """The node's health for one GPU: each question on its own, since every one can be unsupported here."""

    def ask(key, fn):
        try:
            value = fn()
        except Exception:  # NVMLError_NotSupported on consumer GPUs, NoPermission in containers, old drivers
            return
        if value is not None:
            g[key] = value

    enabled = getattr(pynvml, "NVML_FEATURE_ENABLED", 1)
    ask("persistence_mode", lambda: pynvml.nvmlDeviceGetPersistenceMode(h) == enabled)
    uncorrected = getattr(pynvml, "NVML_MEMORY_ERROR_TYPE_UNCORRECTED", 1)
    ecc_on = None
    try:
        ecc_on = pynvml.nvmlDeviceGetEccMode(h)[0] == enabled
    except Exception:
        pass
    if ecc_on:
        ask("ecc_uncorrected_volatile", lambda: int(pynvml.nvmlDeviceGetTotalEccErrors(h, uncorrected, getattr(pynvml, "NVML_VOLATILE_ECC", 0))))
        ask("ecc_uncorrected_aggregate", lambda: int(pynvml.nvmlDeviceGetTotalEccErrors(h, uncorrected, getattr(pynvml, "NVML_AGGREGATE_ECC", 1))))
        ask("retired_pages_pending", lambda: pynvml.nvmlDeviceGetRetiredPagesPendingStatus(h) == enabled)

    def remap():
        rows = pynvml.nvmlDeviceGetRemappedRows(h)  # (corrected rows, uncorrected rows, pending, failure)
        g["remap_failed"] = bool(rows[3])
        return bool(rows[2])

    ask("remap_pending", remap)
    for fn in ("nvmlDeviceGetCurrentClocksEventReasons", "nvmlDeviceGetCurrentClocksThrottleReasons"):
        if hasattr(pynvml, fn):
            ask("throttle_mask", lambda: int(getattr(pynvml, fn)(h)))
            break
    procs = []
    me = os.getpid()
    for fn in ("nvmlDeviceGetComputeRunningProcesses", "nvmlDeviceGetGraphicsRunningProcesses"):
        try:
            found = getattr(pynvml, fn)(h)
        except Exception:
            continue
        for p in found or []:
            pid = int(getattr(p, "pid", 0) or 0)
            if pid == me or any(x["pid"] == pid for x in procs) or _ours(pid):
                continue
            used = getattr(p, "usedGpuMemory", None)
            procs.append({"pid": pid, "mib": int(used // (1024 * 1024)) if isinstance(used, int) and used >= 0 else None, "name": _process_name(pynvml, pid)})
    g["processes"] = procs


OUR_CHILDREN = ("_framework_child.py", "gpuready_child.py", "_pathfinder_child.py")


def _ours(pid):
    """A framework child gpuready itself started (the probe runs them beside this one): not "another process"."""
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as fh:
            cmd = fh.read().decode("utf-8", "replace")
    except OSError:
        return False
    return any(name in cmd for name in OUR_CHILDREN)


def _process_name(pynvml, pid):
    try:
        with open("/proc/%d/comm" % pid) as fh:
            return fh.read().strip()
    except OSError:
        pass
    try:
        return os.path.basename(_s(pynvml.nvmlSystemGetProcessName(pid)))
    except Exception:
        return ""


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
