#!/usr/bin/env python3
"""Throughput of `gpuready explain` on a big synthetic build log.

    python benchmarks/bench_explain.py                 # 100 MB, one process and the default workers
    python benchmarks/bench_explain.py --size-mb 20 --jobs 0
    python benchmarks/bench_explain.py --keep /tmp/build.log   # also time the CLI end to end

The log imitates a CUDA source build (OpenCV/dlib style): CMake configure output, "[ 42%]
Building CXX object" lines, long nvcc command lines, compiler warnings, nvcc deprecation
warnings, link lines; the real error (an nvcc architecture failure, then pip's generic
"Failed building wheel") sits near the end, as in real logs. The generator is deterministic,
so figures are comparable between runs. Prints MB/s, the causes found and the peak memory.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODULES = ["core", "imgproc", "dnn", "cudev", "cudaarithm", "cudafilters", "features2d", "calib3d", "video", "python3"]


def synthetic_build_log(path: Path, size_mb: float, seed: int = 7) -> int:
    """Write a deterministic build log of about `size_mb` MB; return its size in bytes."""
    rnd = random.Random(seed)
    target = int(size_mb * 1_000_000)
    head = [
        "-- The CXX compiler identification is GNU 13.3.0",
        "-- The CUDA compiler identification is NVIDIA 13.0.88",
        "-- Found CUDAToolkit: /usr/local/cuda-13.0/include (found version \"13.0.88\")",
        "-- Found CUDNN: /usr/lib/x86_64-linux-gnu/libcudnn.so (found version \"9.14.0\")",
        "-- Looking for pthread_create in pthreads - not found",
        "-- Performing Test HAVE_CXX_FLAG_STD_CXX17 - Success",
        "--   NVIDIA CUDA:                   YES (ver 13.0, CUFFT CUBLAS)",
        "--     NVIDIA GPU arch:             90",
        "-- Configuring done (12.3s)",
    ]
    tail = [
        "nvcc fatal   : Unsupported gpu architecture 'compute_30'",
        "CMake Error at dnn_generated_kernel.cu.o.Release.cmake:220 (message):",
        "  Error generating file /home/user/build/modules/dnn/CMakeFiles/cuda_compile_1.dir/src/cuda/kernel.cu.o",
        "make[2]: *** [modules/dnn/CMakeFiles/opencv_dnn.dir/build.make:77: kernel.cu.o] Error 1",
        "error: command '/usr/bin/cmake' failed with exit code 2",
        "ERROR: Failed building wheel for opencv-python",
    ]
    written = 0
    i = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for line in head:
            f.write(line + "\n")
            written += len(line) + 1
        while written < target:
            m = rnd.choice(MODULES)
            pct = min(99, i * 100 // max(1, target // 160))
            r = rnd.random()
            if r < 0.45:
                line = f"[{pct:3d}%] Building CXX object modules/{m}/CMakeFiles/opencv_{m}.dir/src/file_{rnd.randrange(2000)}.cpp.o"
            elif r < 0.65:
                line = (
                    f"/usr/local/cuda-13.0/bin/nvcc -forward-unknown-to-host-compiler -DCVAPI_EXPORTS -D_USE_MATH_DEFINES "
                    f"-I/home/user/opencv/modules/{m}/include -I/home/user/build/modules/{m} -isystem /usr/local/cuda-13.0/include "
                    f"-O3 -DNDEBUG -std=c++17 \"--generate-code=arch=compute_90,code=[compute_90,sm_90]\" -Xcompiler=-fPIC "
                    f"-MD -MT modules/{m}/CMakeFiles/opencv_{m}.dir/src/cuda/k{rnd.randrange(300)}.cu.o -c /home/user/opencv/modules/{m}/src/cuda/k{rnd.randrange(300)}.cu"
                )
            elif r < 0.78:
                line = f"/home/user/opencv/modules/{m}/src/file_{rnd.randrange(2000)}.cpp:{rnd.randrange(900)}:{rnd.randrange(80)}: warning: unused variable 'tmp{rnd.randrange(9)}' [-Wunused-variable]"
            elif r < 0.88:
                line = f"  {rnd.randrange(900):4d} |     auto tmp{rnd.randrange(9)} = compute<float>(src, dst, stream);"
            elif r < 0.90:
                line = "nvcc warning : Support for offline compilation for architectures prior to '<compute/sm/lto>_75' will be removed in a future release (Use -Wno-deprecated-gpu-targets to suppress warning)."
            elif r < 0.97:
                line = f"[{pct:3d}%] Linking CXX shared library ../../lib/libopencv_{m}.so"
            else:
                line = f"[{pct:3d}%] Built target opencv_{m}"
            f.write(line + "\n")
            written += len(line) + 1
            i += 1
        for line in tail:
            f.write(line + "\n")
            written += len(line) + 1
    return path.stat().st_size


def mixed_log(path: Path, size_mb: float, seed: int = 7, every: int = 40) -> int:
    """Write a deterministic mixed log of about `size_mb` MB: the build noise of `synthetic_build_log`
    with a real error log of the labelled corpus (tests/data/corpus, every label, the benign rows too)
    spliced in after every ~`every` lines, so real error lines are dense (about a third of the lines),
    not only at the end. Returns the size in bytes."""
    import glob

    corpus = []
    for f in sorted(glob.glob(str(Path(__file__).resolve().parents[1] / "tests" / "data" / "corpus" / "*.jsonl"))):
        corpus += [json.loads(line)["log"] for line in open(f, encoding="utf-8") if line.strip()]
    rnd = random.Random(seed)
    noise = Path(str(path) + ".noise")
    synthetic_build_log(noise, size_mb * 0.6, seed)
    target = int(size_mb * 1_000_000)
    written = 0
    with open(noise, encoding="utf-8") as src, open(path, "w", encoding="utf-8", newline="\n") as f:
        while written < target:
            for _ in range(rnd.randrange(every // 2, every * 3 // 2)):
                line = src.readline()
                if not line:
                    src.seek(0)
                    line = src.readline()
                f.write(line)
                written += len(line)
            log = rnd.choice(corpus).rstrip("\n") + "\n"
            f.write(log)
            written += len(log)
    noise.unlink()
    return path.stat().st_size


def peak_rss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1 << 20) if sys.platform == "darwin" else rss / 1024


def run(path: Path, workers: int) -> dict:
    from gpuready.explain import explain_stream
    from gpuready.explain.rules import load_rules

    load_rules()  # rules load once per process (~0.5 s); measured apart from the scan
    c0 = os.times()
    t0 = time.perf_counter()
    with open(path, "rb") as f:
        ex = explain_stream(f, None, "build", workers=workers)
    dt = time.perf_counter() - t0
    c1 = os.times()
    # CPU seconds of this process and its (finished) workers: the figure a busy, shared machine
    # does not distort (wall time there includes waiting for other processes' turns).
    cpu = (c1.user - c0.user) + (c1.system - c0.system) + (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
    size = path.stat().st_size
    return {
        "workers": workers,
        "mb": round(size / 1e6, 1),
        "seconds": round(dt, 2),
        "mb_per_s": round(size / 1e6 / dt, 1),
        "cpu_seconds": round(cpu, 2),
        "mb_per_cpu_s": round(size / 1e6 / cpu, 1) if cpu else None,
        "lines": ex.lines,
        "causes": [(c.label, [e.line for e in c.evidence]) for c in ex.causes],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size-mb", type=float, default=100.0)
    ap.add_argument("--kind", choices=("mixed", "build"), default="mixed", help="mixed: build noise with real corpus error logs spliced in densely (the issue's target); build: build noise with one error at the end")
    ap.add_argument("--jobs", type=int, default=None, help="worker processes to compare with one process (default: what the CLI picks)")
    ap.add_argument("--keep", type=Path, help="write the log here and keep it; also time `gpuready explain --json` on it")
    ap.add_argument("--json", action="store_true", help="print the results as JSON")
    args = ap.parse_args()

    from gpuready.explain.parallel import workers_for

    tmpdir = None
    path = args.keep
    if path is None:
        tmpdir = tempfile.TemporaryDirectory()
        path = Path(tmpdir.name) / "build.log"
    t0 = time.perf_counter()
    size = (mixed_log if args.kind == "mixed" else synthetic_build_log)(path, args.size_mb)
    gen = time.perf_counter() - t0
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    results = {"kind": args.kind, "log_mb": round(size / 1e6, 1), "generated_in_s": round(gen, 1), "cpus": cpus, "runs": []}
    jobs = args.jobs if args.jobs is not None else workers_for(size)
    for w in dict.fromkeys((0, jobs)):
        results["runs"].append(run(path, w))
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    if args.keep is not None:
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "gpuready", "explain", "--no-probe", "--json", str(path)], capture_output=True, text=True)
        results["cli_seconds"] = round(time.perf_counter() - t0, 2)
        results["cli_exit"] = proc.returncode
    if tmpdir is not None:
        tmpdir.cleanup()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"synthetic {args.kind} log: {results['log_mb']} MB ({results['generated_in_s']} s to write), {cpus} CPUs, load average {load:.1f}")
    for r in results["runs"]:
        how = "1 process" if r["workers"] == 0 else f"{r['workers']} worker processes"
        print(f"  {how:20s} {r['seconds']:6.2f} s wall  {r['mb_per_s']:6.1f} MB/s  ({r['cpu_seconds']} CPU s: {r['mb_per_cpu_s']} MB per CPU second)  {r['lines']} lines  causes: {r['causes']}")
    print(f"  peak memory (RSS) of this process: {results['peak_rss_mb']} MB")
    if "cli_seconds" in results:
        print(f"  CLI end to end (`gpuready explain --json`, incl. start-up): {results['cli_seconds']} s, exit {results['cli_exit']}")


if __name__ == "__main__":
    main()
