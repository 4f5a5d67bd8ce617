"""Child-process script: ask cuda-pathfinder which copy of each CUDA library it would load here.

Run as `python _pathfinder_child.py PATHFINDER_HOME NAME...` by probe.libraries, in the
interpreter being inspected: pathfinder searches that interpreter's site-packages and conda
prefix, and dlopens what it finds, so it must run there and never inside gpuready. When the
environment has no cuda-pathfinder of its own, gpuready's copy (pure Python) is lent to it from
PATHFINDER_HOME without putting the rest of gpuready's site-packages on sys.path.
"""

import json
import os
import sys
import types

MARK = "\x1eGPUREADY "


def _pathfinder(home):
    try:
        import cuda.pathfinder as pf

        return pf
    except Exception:
        pass
    for name in [m for m in sys.modules if m == "cuda" or m.startswith("cuda.")]:
        del sys.modules[name]
    stub = types.ModuleType("cuda")
    stub.__path__ = [os.path.join(home, "cuda")]
    sys.modules["cuda"] = stub
    import cuda.pathfinder as pf

    return pf


def _version(name, handle_path):
    """The version the library reports (cudnnGetVersion), or its file name's; "" when neither says."""
    import re

    base = os.path.basename(os.path.realpath(handle_path))
    m = re.search(r"\.so\.(\d+(?:\.\d+)*)$", base)
    version = m.group(1) if m else ""
    if name == "cudnn":
        try:
            import ctypes

            fn = ctypes.CDLL(handle_path).cudnnGetVersion
            fn.restype = ctypes.c_size_t
            v = int(fn())
            version = "%d.%d.%d" % (v // 10000, (v % 10000) // 100, v % 100) if v >= 10000 else "%d.%d.%d" % (v // 1000, (v % 1000) // 100, v % 100)
        except Exception:
            pass
    return version


def main():
    home, names = sys.argv[1], sys.argv[2:]
    out = {}
    try:
        pf = _pathfinder(home)
    except Exception as exc:
        sys.stdout.write(MARK + json.dumps({"_error": {"error": "%s: %s" % (type(exc).__name__, exc)}}) + "\n")
        return
    for name in names:
        try:
            dl = pf.load_nvidia_dynamic_lib(name)
            out[name] = {"path": dl.abs_path or "", "found_via": dl.found_via, "version": _version(name, dl.abs_path or "")}
        except Exception as exc:
            out[name] = {"error": "%s: %s" % (type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "")}
    sys.stdout.write(MARK + json.dumps(out) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
