"""ONNX Runtime: a small conv net built in-process, run with CUDAExecutionProvider, proving that the
session really uses it (ORT falls back to the CPU with only a log line when the CUDA libraries
do not load), and checked against CPUExecutionProvider."""

import time

import gr_onnx
from gr_common import capture_stderr_fd, log_lines

CUDA_EP = "CUDAExecutionProvider"
NEEDLES = ("cuda", "cudnn", "cublas", "provider", "cannot open", "error", "failed")


def _providers(ctx, ort):
    available = list(ort.get_available_providers())
    ctx.evidence("onnxruntime.get_available_providers() = %s" % available)
    if CUDA_EP not in available:
        ctx.cpu_only(
            "onnxruntime %s has no CUDA execution provider (providers: %s): this is the CPU package, not onnxruntime-gpu"
            % (ort.__version__, ", ".join(available))
        )


def _session(ctx, ort, model, strict):
    opts = ort.SessionOptions()
    opts.log_severity_level = 2  # warnings: the fallback is logged at this level
    if strict:
        opts.add_session_config_entry("session.disable_cpu_ep_fallback", "1")
    log = []
    with capture_stderr_fd(log):
        sess = ort.InferenceSession(model, sess_options=opts, providers=[CUDA_EP])
    return sess, "".join(log)


def _cuda_session(ctx, ort, model):
    """A session that runs every node on the CUDA EP, or the verdict why not."""
    try:
        with ctx.step("create a session with providers=['CUDAExecutionProvider'] and CPU fallback disabled"):
            sess, log = _session(ctx, ort, model, strict=True)
        ctx.check("every node assigned to CUDAExecutionProvider", True, "session.disable_cpu_ep_fallback=1 accepted")
    except Exception as exc:
        ctx.note("strict session (session.disable_cpu_ep_fallback=1) failed: %s" % str(exc).splitlines()[0][:300])
        with ctx.step("create a session with providers=['CUDAExecutionProvider']"):
            sess, log = _session(ctx, ort, model, strict=False)
    used = list(sess.get_providers())
    if CUDA_EP not in used:
        lines = log_lines(log, *NEEDLES)
        ctx.finish(
            "failed",
            "onnxruntime %s fell back to the CPU: the session's providers are %s, the CUDA provider did not load"
            % (ort.__version__, used),
            evidence=["session.get_providers() = %s" % used] + lines[-6:],
        )
    ctx.check("session.get_providers() includes CUDAExecutionProvider", True, "%s" % used)
    return sess


def verify(ctx, ort):
    with ctx.step("list execution providers"):
        _providers(ctx, ort)
    model, how = gr_onnx.build(gr_onnx.VERIFY_LAYERS, 2, 64, 64, prefer_onnx=ctx.params.get("onnx_builder") != "builtin")
    ctx.note("model built with %s (%d bytes)" % (how, len(model)))
    sess = _cuda_session(ctx, ort, model)
    import numpy as np  # after the provider checks: a CPU fallback is found even without numpy

    x = gr_onnx.input_batch(2, 64, 64)
    with ctx.step("run the conv net on CUDAExecutionProvider"):
        t0 = time.perf_counter()
        out = sess.run(None, {"x": x})[0]
        took = time.perf_counter() - t0
    cpu = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    ref = cpu.run(None, {"x": x})[0]
    ctx.compare("conv net on CUDA EP vs CPU EP", np.abs(out - ref).max(), np.abs(ref).max(), seconds=took)


def bench(ctx, ort):
    p = ctx.params
    batch, size = int(p.get("net_batch", 8)), int(p.get("net_size", 300))
    with ctx.step("list execution providers"):
        _providers(ctx, ort)
    model, _how = gr_onnx.build(gr_onnx.BENCH_LAYERS, batch, size, size)
    x = gr_onnx.input_batch(batch, size, size)
    with ctx.step("conv net batch %d %dx%d on CPUExecutionProvider" % (batch, size, size)):
        cpu_sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        cpu = ctx.timed(lambda: cpu_sess.run(None, {"x": x}))
    sess = _cuda_session(ctx, ort, model)
    with ctx.step("conv net batch %d %dx%d on CUDAExecutionProvider" % (batch, size, size)):
        gpu = ctx.timed(lambda: sess.run(None, {"x": x}))
    gflop = gr_onnx.flops(gr_onnx.BENCH_LAYERS, size, size) * batch / 1e9
    ctx.row("conv net 6x(3x3) %dx%d, batch %d" % (size, size, batch), "images/s", batch, cpu, gpu,
            "%.1f GFLOP per batch; includes host<->device copies" % gflop)
