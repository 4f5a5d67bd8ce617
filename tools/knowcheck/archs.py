"""Read the GPU code (SASS and PTX targets) of selected wheels, for the rows of the data that claim archs.

Wheels are streamed member by member over HTTP range requests and scanned for fatbin headers
(knowcheck/fatbin.py); nothing is written to disk. A multi-GB torch wheel takes 30-60 s.
"""

from __future__ import annotations

import sys

from knowcheck.match import file_fits
from knowcheck.wheels import gpu_code

# (dist, version, OS, CPU): the wheels whose GPU code the data states (tensorflow.toml `archs`,
# torch.toml [[variant]] rows for PyPI's own builds, cupy/onnxruntime floors).
READS: tuple[tuple[str, str, str, str], ...] = (
    *(("tensorflow", v, "linux", "x86_64") for v in (
        "2.21.0", "2.20.0", "2.19.1", "2.18.1", "2.17.1", "2.16.2", "2.15.1", "2.14.1", "2.13.1", "2.12.1",
        "2.11.1", "2.10.1", "2.9.3", "2.8.4", "2.7.4", "2.6.5", "2.5.3", "2.4.4", "2.3.4", "2.2.3", "2.1.4")),
    *(("tensorflow", v, "windows", "x86_64") for v in ("2.10.1", "2.4.4")),
    *(("torch", v, "linux", "x86_64") for v in (
        "2.15.0", "2.14.1", "2.13.0", "2.12.1", "2.11.0", "2.10.0", "2.9.1", "2.8.0", "2.7.1", "2.6.0", "2.5.1",
        "2.4.1", "2.3.1", "2.2.2", "2.1.2", "2.0.1", "1.13.1")),
    *(("torch", v, "linux", "aarch64") for v in ("2.15.0", "2.14.1", "2.11.0")),
    ("tensorflow-gpu", "2.0.0", "linux", "x86_64"),
    ("tensorflow-gpu", "1.15.0", "linux", "x86_64"),
    ("cupy-cuda13x", "14.2.0", "linux", "x86_64"),
    ("cupy-cuda12x", "14.2.0", "linux", "x86_64"),
    ("cupy-cuda12x", "14.2.0", "linux", "aarch64"),
    ("cupy-cuda11x", "13.6.0", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.31.1", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.31.1", "linux", "aarch64"),
    ("onnxruntime-gpu", "1.30.0", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.26.0", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.19.2", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.16.3", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.14.1", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.12.1", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.11.1", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.31.1", "windows", "x86_64"),
    ("onnxruntime-gpu", "1.23.2", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.20.0", "linux", "x86_64"),
    ("onnxruntime-gpu", "1.18.1", "linux", "x86_64"),
)


# The library whose code decides whether the framework runs on a GPU: other members are bundled third-party
# libraries (cuSPARSELt, NVSHMEM, linalg helpers) built for their own lists.
PRIMARY = {
    "torch": ("torch/lib/libtorch_cuda.so", "torch/lib/libtorch_cuda_cu.so"),
    "tensorflow": ("tensorflow/libtensorflow_cc.so.2", "tensorflow/python/_pywrap_tensorflow_internal.so"),
    "tensorflow-gpu": ("tensorflow_core/python/_pywrap_tensorflow_internal.so",),
    "onnxruntime-gpu": ("onnxruntime/capi/libonnxruntime_providers_cuda.so", "onnxruntime/capi/onnxruntime_providers_cuda.dll"),
}


def primary(dist: str, reading: dict) -> list[str] | None:
    """The primary library's targets of a reading (None when the wheel has none of the named libraries)."""
    members = reading.get("members", [])
    for name in PRIMARY.get(dist, ()):
        if name in members:
            return reading.get("members_differing", {}).get(name, reading.get("archs"))
    return None


def read_archs(ck, which: str, date: str) -> dict[str, dict]:
    wanted = None if which == "all" else {w.strip() for w in which.split(",")}
    out: dict[str, dict] = {}
    for dist, version, os_name, arch in READS:
        if wanted and dist not in wanted:
            continue
        listing = ck.listing(dist) or {}
        entries = listing.get(version, [])
        fit = next((e for py in ("3.12", "3.11", "3.10", "3.13", "3.9", "3.8", "3.7")
                    for e in entries if file_fits(e[0], e[1], py, os_name, arch)), None)
        key = f"{dist}=={version} {os_name} {arch}"
        if fit is None:
            out[key] = {"error": "no wheel for this target on PyPI", "checked": date}
            continue
        print(f"reading GPU code of {fit[0]} ({fit[4] / 1e6:.0f} MB) ...", file=sys.stderr, flush=True)
        try:
            code, per_member, stats = gpu_code(fit[3], fit[4])
        except Exception as exc:  # a broken transfer: report it, keep the other readings
            out[key] = {"error": f"{type(exc).__name__}: {exc}", "file": fit[0], "checked": date}
            continue
        out[key] = {
            "file": fit[0],
            "url": fit[3],
            "archs": code.archs(),
            "members": sorted(per_member),
            "members_differing": {m: a for m, a in per_member.items() if a != code.archs()},
            "checked": date,
            "how": "fatbin headers of every shared library, streamed (tools/knowcheck/fatbin.py)",
            **stats,
        }
        print(f"  {code.archs()} ({stats['seconds']} s)", file=sys.stderr, flush=True)
    return out
