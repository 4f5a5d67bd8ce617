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


def _standin(ctx):
    return ctx.params.get("gpu_standin") == "cpu"


def _gpu_session(ctx, ort, model):
    if _standin(ctx):  # tests on a machine without a GPU: the GPU code path, on the CPU EP
        return ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    return _cuda_session(ctx, ort, model)


def _device_times(ctx, ort, sess, feeds):
    """(compute-only seconds with input and outputs resident on the GPU, seconds of the copies alone),
    through IOBinding; (None, None) with the stand-in or where IOBinding on CUDA is unavailable."""
    if _standin(ctx):
        return None, None
    try:
        dev_inputs = {k: ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0) for k, v in feeds.items()}
        binding = sess.io_binding()
        for k, v in dev_inputs.items():
            binding.bind_ortvalue_input(k, v)
        for out in sess.get_outputs():
            binding.bind_output(out.name, "cuda", 0)
        sess.run_with_iobinding(binding)
        compute = ctx.timed(lambda: sess.run_with_iobinding(binding))
        results = binding.get_outputs()

        def copy():
            for v in feeds.values():
                ort.OrtValue.ortvalue_from_numpy(v, "cuda", 0)
            for r in results:
                r.numpy()

        copies = ctx.timed(copy)
        return compute, copies
    except Exception as exc:  # an older ORT without OrtValue/IOBinding on CUDA: the end-to-end time stays
        ctx.note("IOBinding timing skipped: %s" % str(exc).splitlines()[0][:200])
        return None, None


def bench_detectors(ctx, ort, cpu_note):
    import gr_detectors
    from gr_common import median

    p = ctx.params
    batches = sorted({1, int(p.get("det_batch", 8))})
    for kind in ("ssd", "yolo"):
        for batch in batches:
            graph, display, size = gr_detectors.build(kind, batch, int(p.get(kind + "_size", 0)) or None)
            model, _how = graph.encode()
            x = gr_onnx.input_batch(batch, size, size)
            name = "%s %dx%d, batch %d" % (display, size, size, batch)
            with ctx.step("%s on CPUExecutionProvider" % name):
                cpu_sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
                refs = cpu_sess.run(None, {"x": x})
                cpu = ctx.timed(lambda: cpu_sess.run(None, {"x": x}))
            del cpu_sess
            variants = [("fp32", model, x)]
            if int(p.get("det_fp16", 1)):
                g16, _d, _s = gr_detectors.build(kind, batch, size, fp16=True)
                variants.append(("fp16", g16.encode()[0], x.astype("float16")))
            for precision, m, xin in variants:
                with ctx.step("%s %s on CUDAExecutionProvider" % (name, precision)):
                    sess = _gpu_session(ctx, ort, m)
                    outs = sess.run(None, {"x": xin})
                    gpu = ctx.timed(lambda: sess.run(None, {"x": xin}))
                with ctx.step("%s %s: device-resident run and copies (IOBinding)" % (name, precision)):
                    compute, copies = _device_times(ctx, ort, sess, {"x": xin})
                note = "%.1f GFLOP per frame; %s%s; GPU time is session.run with numpy in and out (copies included)" % (
                    graph.flops / batch / 1e9, cpu_note, " (fp32: the fp16 model is for the GPU)" if precision == "fp16" else "")
                compute_s = median(compute) if compute else None
                copy_s = median(copies) if copies else None
                if compute_s:
                    note += "; inputs/outputs on the GPU: %.2f ms, copies alone: %.2f ms" % (compute_s * 1e3, (copy_s or 0) * 1e3)
                import numpy as np

                worst = max(float(np.abs(o.astype(np.float32) - r).max()) / (float(np.abs(r).max()) or 1.0) for o, r in zip(outs, refs))
                note += "; max |gpu-cpu|/max|cpu| = %.1e" % worst
                ctx.row("%s, %s" % (name, precision), "frames/s", batch, cpu, gpu, note, copy_s=copy_s, compute_s=compute_s,
                        group="detector", series=display, x=batch, precision=precision, gflop=graph.flops / batch / 1e9)
                del sess


def bench(ctx, ort):
    p = ctx.params
    batch, size = int(p.get("net_batch", 8)), int(p.get("net_size", 300))
    with ctx.step("list execution providers"):
        if _standin(ctx):
            ctx.out["device"] = "CPU (stand-in for the GPU)"
            ctx.note("gpu_standin=cpu: the 'GPU' timings ran on CPUExecutionProvider (a test of the workload, not a measurement)")
        else:
            _providers(ctx, ort)
    cpu_note = "CPU: CPUExecutionProvider, ORT's default intra-op threads (one per physical core)"
    model, _how = gr_onnx.build(gr_onnx.BENCH_LAYERS, batch, size, size)
    x = gr_onnx.input_batch(batch, size, size)
    with ctx.step("conv net batch %d %dx%d on CPUExecutionProvider" % (batch, size, size)):
        cpu_sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
        cpu = ctx.timed(lambda: cpu_sess.run(None, {"x": x}))
    sess = _gpu_session(ctx, ort, model)
    with ctx.step("conv net batch %d %dx%d on CUDAExecutionProvider" % (batch, size, size)):
        gpu = ctx.timed(lambda: sess.run(None, {"x": x}))
    gflop = gr_onnx.flops(gr_onnx.BENCH_LAYERS, size, size) * batch / 1e9
    ctx.row("conv net 6x(3x3) %dx%d, batch %d" % (size, size, batch), "images/s", batch, cpu, gpu,
            "%.1f GFLOP per batch; includes host<->device copies; %s" % (gflop, cpu_note))
    if int(p.get("detectors", 1)):
        bench_detectors(ctx, ort, cpu_note)
