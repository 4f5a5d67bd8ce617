"""TensorFlow: a matmul placed on GPU:0, with the placement confirmed, checked against the CPU."""

import time

from gr_common import error_text


def _device(ctx, tf):
    if not tf.test.is_built_with_cuda():
        ctx.cpu_only(
            "TensorFlow %s is built without CUDA (tf.test.is_built_with_cuda() is False)" % tf.__version__,
            evidence=["tf.test.is_built_with_cuda() = False"],
        )
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        ctx.no_gpu(
            "TensorFlow %s is a CUDA build but lists no GPU (tf.config.list_physical_devices('GPU') is empty); "
            "its log above says which library it could not load" % tf.__version__,
            evidence=["tf.config.list_physical_devices('GPU') = []"],
        )
    for gpu in gpus:
        try:
            tf.config.experimental.set_memory_growth(gpu, True)
        except Exception:
            pass
    try:
        details = tf.config.experimental.get_device_details(gpus[0])
        cc = details.get("compute_capability")
        ctx.out["device"] = "%s%s" % (details.get("device_name", gpus[0].name), " (sm_%d%d)" % cc if cc else "")
    except Exception:
        ctx.out["device"] = gpus[0].name
    tf.config.set_soft_device_placement(False)  # an op that cannot run on GPU:0 must fail, not move to the CPU
    try:
        tf.config.experimental.enable_tensor_float_32_execution(False)
    except Exception:
        pass


def verify(ctx, tf):
    import numpy as np

    with ctx.step("find the GPU"):
        _device(ctx, tf)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((512, 512), dtype=np.float32)
    b = rng.standard_normal((512, 512), dtype=np.float32)
    with ctx.step("matmul 512x512 fp32 on /GPU:0"):
        t0 = time.perf_counter()
        with tf.device("/GPU:0"):
            c = tf.matmul(tf.constant(a), tf.constant(b))
        out = c.numpy()
        took = time.perf_counter() - t0
    placed = str(getattr(c, "device", ""))
    ctx.check("matmul placed on GPU:0", placed.endswith("GPU:0"), "tensor.device = %s" % (placed or "?"))
    with tf.device("/CPU:0"):
        ref = tf.matmul(tf.constant(a), tf.constant(b)).numpy()
    ctx.compare("matmul 512x512 fp32 vs CPU", np.abs(out - ref).max(), np.abs(ref).max(), seconds=took)


def bench(ctx, tf):
    import numpy as np

    n = int(ctx.params.get("matmul_n", 4096))
    with ctx.step("find the GPU"):
        _device(ctx, tf)
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    rows = {}
    for where in ("CPU", "GPU"):
        with ctx.step("matmul %dx%d fp32 on /%s:0" % (n, n, where)):
            with tf.device("/%s:0" % where):
                ta, tb = tf.constant(a), tf.constant(b)
                # reduce_sum(...).numpy() waits for the result without copying n*n floats back
                rows[where] = ctx.timed(lambda: tf.reduce_sum(tf.matmul(ta, tb)).numpy())
    ctx.row("matmul %d fp32" % n, "TFLOP/s", 2.0 * n ** 3, rows["CPU"], rows["GPU"])


__all__ = ["verify", "bench", "error_text"]
