"""CuPy: an elementwise kernel (compiled by NVRTC for this GPU) and a cuBLAS matmul, checked against numpy."""

import time

from gr_common import error_text


def _device(ctx, cupy):
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:
        why = error_text(exc)
        ctx.no_gpu("cupy %s cannot use a GPU: %s" % (cupy.__version__, why.splitlines()[0]), evidence=[why])
    if not count:
        ctx.no_gpu("cupy %s sees no CUDA device" % cupy.__version__)
    props = cupy.cuda.runtime.getDeviceProperties(0)
    name = props.get("name", b"?")
    name = name.decode() if isinstance(name, bytes) else str(name)
    ctx.out["device"] = "%s (sm_%d%d)" % (name, props.get("major", 0), props.get("minor", 0))
    try:
        rt = cupy.cuda.runtime.runtimeGetVersion()
        ctx.note("CUDA runtime %d.%d" % (rt // 1000, (rt % 1000) // 10))
    except Exception:
        pass


def verify(ctx, cupy):
    import numpy as np

    with ctx.step("find the CUDA device"):
        _device(ctx, cupy)
    rng = np.random.default_rng(0)
    xh = rng.standard_normal(1 << 20, dtype=np.float32)
    yh = rng.standard_normal(1 << 20, dtype=np.float32)
    with ctx.step("elementwise kernel z = x * y + sin(x) (NVRTC-compiled)"):
        kernel = cupy.ElementwiseKernel("float32 x, float32 y", "float32 z", "z = x * y + sinf(x)", "gpuready_fma_sin")
        t0 = time.perf_counter()
        z = cupy.asnumpy(kernel(cupy.asarray(xh), cupy.asarray(yh)))
        took = time.perf_counter() - t0
    ref = xh * yh + np.sin(xh)
    ctx.compare("elementwise kernel vs numpy", np.abs(z - ref).max(), np.abs(ref).max(), seconds=took)
    a = rng.standard_normal((512, 512), dtype=np.float32)
    b = rng.standard_normal((512, 512), dtype=np.float32)
    with ctx.step("matmul 512x512 fp32 (cuBLAS)"):
        t0 = time.perf_counter()
        c = cupy.asnumpy(cupy.matmul(cupy.asarray(a), cupy.asarray(b)))
        took = time.perf_counter() - t0
    ref = a @ b
    ctx.compare("matmul 512x512 fp32 (cuBLAS) vs numpy", np.abs(c - ref).max(), np.abs(ref).max(), seconds=took)


def bench(ctx, cupy):
    import numpy as np

    n = int(ctx.params.get("matmul_n", 4096))
    with ctx.step("find the CUDA device"):
        _device(ctx, cupy)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    sync = cupy.cuda.Device().synchronize
    with ctx.step("matmul %dx%d fp32 with numpy on the CPU" % (n, n)):
        cpu = ctx.timed(lambda: a @ b)
    with ctx.step("matmul %dx%d fp32 with cupy (cuBLAS)" % (n, n)):
        ga, gb = cupy.asarray(a), cupy.asarray(b)
        gpu = ctx.timed(lambda: ga @ gb, sync=sync)
    ctx.row("matmul %d fp32" % n, "TFLOP/s", 2.0 * n ** 3, cpu, gpu, "CPU: numpy's BLAS")
    m = int(ctx.params.get("elementwise_n", 1 << 26))
    xh = rng.standard_normal(m, dtype=np.float32)
    kernel = cupy.ElementwiseKernel("float32 x", "float32 z", "z = x * x + sinf(x)", "gpuready_sq_sin")
    with ctx.step("elementwise x*x + sin(x) over %d floats with numpy" % m):
        cpu = ctx.timed(lambda: xh * xh + np.sin(xh))
    with ctx.step("elementwise x*x + sin(x) over %d floats with cupy" % m):
        gx = cupy.asarray(xh)
        gpu = ctx.timed(lambda: kernel(gx), sync=sync)
    ctx.row("elementwise %dM floats" % (m >> 20), "Gelem/s", m, cpu, gpu)
