"""JAX: a jitted function on the GPU device (result placement confirmed), checked against the CPU device."""

import time

from gr_common import dist_version, error_text

PLUGINS = ("jax-cuda13-plugin", "jax-cuda12-plugin", "jax_cuda13_plugin", "jax_cuda12_plugin")


def _device(ctx, jax):
    plugin = ""
    for name in PLUGINS:
        version = dist_version(name)
        if version:
            plugin = "%s %s" % (name, version)
            break
    legacy = "+cuda" in dist_version("jaxlib")
    try:
        gpus = jax.devices("gpu")
    except Exception as exc:
        why = error_text(exc)
        if not plugin and not legacy:
            ctx.cpu_only(
                "jax %s has no CUDA plugin (jax-cuda12/13-plugin is not installed): a CUDA-enabled jaxlib is not installed" % jax.__version__,
                evidence=["backends: %s" % jax.default_backend(), why.splitlines()[0]],
            )
        ctx.no_gpu("jax %s with %s cannot use a GPU: %s" % (jax.__version__, plugin or "a CUDA jaxlib", why.splitlines()[0]), evidence=[why])
    if not gpus:
        ctx.no_gpu("jax %s lists no GPU device" % jax.__version__)
    dev = gpus[0]
    ctx.out["device"] = "%s%s" % (getattr(dev, "device_kind", str(dev)), " (sm_%s)" % str(dev.compute_capability).replace(".", "") if getattr(dev, "compute_capability", None) else "")
    if plugin:
        ctx.note("CUDA plugin: " + plugin)
    return dev


def _fn(jax):
    jnp = jax.numpy

    def f(x, y):
        return jnp.tanh(jnp.matmul(x, y, precision=jax.lax.Precision.HIGHEST)) + jnp.sin(x)

    return jax.jit(f)


def verify(ctx, jax):
    import numpy as np

    with ctx.step("find the GPU device"):
        dev = _device(ctx, jax)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((512, 512), dtype=np.float32)
    y = rng.standard_normal((512, 512), dtype=np.float32) / 16
    f = _fn(jax)
    with ctx.step("jitted tanh(x @ y) + sin(x) on %s" % dev):
        t0 = time.perf_counter()
        out = f(jax.device_put(x, dev), jax.device_put(y, dev))
        out.block_until_ready()
        took = time.perf_counter() - t0
    devices = out.devices() if hasattr(out, "devices") else {getattr(out, "device", lambda: None)()}
    platforms = sorted({getattr(d, "platform", "?") for d in devices})
    ctx.check("result lives on the GPU", platforms == ["gpu"] or platforms == ["cuda"], "result on %s" % ", ".join(str(d) for d in devices))
    cpu = jax.devices("cpu")[0]
    ref = np.asarray(f(jax.device_put(x, cpu), jax.device_put(y, cpu)))
    ctx.compare("jitted function vs the CPU device", np.abs(np.asarray(out) - ref).max(), np.abs(ref).max(), seconds=took)


def bench(ctx, jax):
    import numpy as np

    n = int(ctx.params.get("matmul_n", 4096))
    with ctx.step("find the GPU device"):
        dev = _device(ctx, jax)
    jnp = jax.numpy
    mm = jax.jit(lambda a, b: jnp.matmul(a, b, precision=jax.lax.Precision.HIGHEST))
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    times = {}
    for label, d in (("CPU", jax.devices("cpu")[0]), ("GPU", dev)):
        with ctx.step("jitted matmul %dx%d fp32 on the %s" % (n, n, label)):
            da, db = jax.device_put(a, d), jax.device_put(b, d)
            times[label] = ctx.timed(lambda: mm(da, db).block_until_ready())
    ctx.row("matmul %d fp32 (jit)" % n, "TFLOP/s", 2.0 * n ** 3, times["CPU"], times["GPU"])
