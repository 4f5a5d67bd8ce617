"""dlib: the CNN face detector (mmod_human_face_detector.dat) on a real face image, on the GPU.

`dlib.DLIB_USE_CUDA == True` is not proof: on the H100/H200 test machine a CUDA dlib said True
and then died with SIGSEGV on its first CNN forward pass (built with a toolchain that linked
libstdc++ statically). So the detector really runs, after numpy (and torch) were imported,
and its face box is checked against dlib's HOG detector, which always runs on the CPU.
"""

import time

from gr_common import error_text, face_image, find_model, iou

MODEL = "mmod_human_face_detector.dat"
MODEL_BYTES = 729940
# dlib's compile switches as its module exposes them (the same list as gpuready.bench.baseline.FLAG_NAMES)
FLAG_NAMES = ("DLIB_USE_CUDA", "DLIB_USE_BLAS", "DLIB_USE_LAPACK", "USE_AVX_INSTRUCTIONS", "USE_SSE4_INSTRUCTIONS",
              "USE_NEON_INSTRUCTIONS")


def cuda_device(ctx, dlib, what="dlib"):
    if not getattr(dlib, "DLIB_USE_CUDA", False):
        ctx.cpu_only("%s %s is built without CUDA (dlib.DLIB_USE_CUDA is False)" % (what, getattr(dlib, "__version__", "")),
                     evidence=["dlib.DLIB_USE_CUDA = False", "dlib %s at %s" % (getattr(dlib, "__version__", "?"), getattr(dlib, "__file__", "?"))])
    try:
        count = dlib.cuda.get_num_devices()
    except Exception as exc:
        why = error_text(exc)
        ctx.no_gpu("dlib %s is a CUDA build but cannot use a GPU: %s" % (dlib.__version__, why.splitlines()[0]), evidence=[why])
    if not count:
        ctx.no_gpu("dlib %s is a CUDA build but dlib.cuda.get_num_devices() is 0" % dlib.__version__)
    dlib.cuda.set_device(0)
    ctx.check("dlib.cuda.get_num_devices() >= 1", True, str(count))
    return count


def detector(ctx, dlib):
    path, looked = find_model(ctx.params, MODEL)
    if not path:
        ctx.finish(
            "unverified",
            "dlib %s is a CUDA build and sees the GPU, but the CNN detector check was skipped: %s was not found "
            "(looked in: %s). Pass --model PATH or install face_recognition_models." % (dlib.__version__, MODEL, "; ".join(looked) or "-"),
        )
    import os

    size = os.path.getsize(path)
    if size != MODEL_BYTES:
        ctx.note("%s is %d bytes, expected %d: a different or damaged model file" % (path, size, MODEL_BYTES))
    ctx.note("model: " + path)
    with ctx.step("load the CNN face detector %s" % path):
        return dlib.cnn_face_detection_model_v1(path)


def verify(ctx, dlib):
    with ctx.step("dlib.cuda.get_num_devices()"):
        cuda_device(ctx, dlib)
    cnn = detector(ctx, dlib)
    img, source, has_face = face_image(ctx)
    ctx.note("image: %s, %dx%d" % (source, img.shape[1], img.shape[0]))
    with ctx.step("CNN face detector forward pass on the GPU (first call: cuDNN set-up)"):
        t0 = time.perf_counter()
        dets = cnn(img, 1)
        took = time.perf_counter() - t0
    boxes = [(d.rect.left(), d.rect.top(), d.rect.right(), d.rect.bottom(), d.confidence) for d in dets]
    if not has_face:
        ctx.check("CNN detector ran on the GPU", True, "%d detection(s) on a frame without a face" % len(boxes), seconds=took)
        ctx.note("no face image: the forward pass ran, detection quality was not checked")
        return
    if not ctx.check("CNN detector finds the face", bool(boxes), "%d face(s), confidence %s" % (len(boxes), ", ".join("%.2f" % b[4] for b in boxes) or "-"), seconds=took):
        return
    with ctx.step("HOG face detector on the CPU (reference)"):
        hog = dlib.get_frontal_face_detector()(img, 1)
    ref = [(r.left(), r.top(), r.right(), r.bottom()) for r in hog]
    if not ref:
        ctx.note("the CPU HOG detector found no face to compare with")
        return
    best = max(iou(b[:4], r) for b in boxes for r in ref)
    ctx.check("CNN face box matches the CPU HOG detector's", best >= float(ctx.params.get("min_iou", 0.3)), "IoU %.2f" % best)


def baseline_check(ctx, dlib, what="dlib"):
    """CPU-baseline runs: this interpreter's dlib must be a CPU build (a CUDA dlib cannot run on the CPU);
    what the build is (BLAS, AVX) and the threads it may use are reported, for the fairness of the figure."""
    if getattr(dlib, "DLIB_USE_CUDA", False):
        ctx.finish("failed", "the CPU-baseline interpreter's %s is a CUDA build; a CPU baseline needs a CPU-only dlib (e.g. dlib-bin)" % what)
    ctx.out["device"] = "CPU"
    import os

    threads = os.environ.get("OPENBLAS_NUM_THREADS") or str(os.cpu_count() or "?")
    flags = {k: bool(getattr(dlib, k)) for k in FLAG_NAMES if hasattr(dlib, k)}
    ctx.out["cpu_build"] = {
        "blas": flags.get("DLIB_USE_BLAS", False),
        "avx": flags.get("USE_AVX_INSTRUCTIONS", False),
        "flags": flags,
        "threads": threads,
        "path": getattr(dlib, "__file__", ""),
    }
    ctx.note("CPU dlib %s at %s: %s, %s threads" % (
        getattr(dlib, "__version__", "?"), getattr(dlib, "__file__", "?"), ", ".join("%s=%s" % kv for kv in flags.items()) or "no flags", threads))


GPU_NOTE = "CPU time: from the CPU baseline (bench makes one itself; --cpu-python PY names your own CPU-only dlib)"


def faces_per_frame(params):
    """1, 4, 16 ... up to faces_max: a k-face frame is the photo tiled sqrt(k) x sqrt(k)."""
    out, k = [], 1
    while k <= int(params.get("faces_max", 16)):
        out.append(k)
        k *= 4
    return out


def tiled(img, faces):
    import numpy as np

    side = int(round(faces ** 0.5))
    return np.ascontiguousarray(np.tile(img, (side, side, 1)))


def cpu_timed(ctx, fn, first=None):
    """CPU-baseline timings of a call that may take many seconds (a 16-face 2048x2048 frame: about 37 s on one
    core of the 2-core dev box with dlib-bin, 2026-12-02). A call longer than a quarter of the budget is its own
    warm-up -- dlib's CPU path has nothing to amortise (no JIT, no autotuning; the GPU side keeps its warm-up) --
    and another call is made only while it fits in the budget; shorter calls get the usual warm-up and repeats
    (at most 3 for a call over a second).
    `first`: the seconds of a call already made (the faces-found call), which is not thrown away."""
    budget = float(ctx.params.get("budget_s", 20.0))
    repeats = max(int(ctx.params.get("repeats", 10)), 1)
    if first is None:
        t0 = time.perf_counter()
        fn()
        first = time.perf_counter() - t0
    if first <= budget / 4:  # a call of seconds: 3 runs are enough for a median that moves less than the noise
        return ctx.timed(fn, warmup=max(int(ctx.params.get("warmup", 2)) - 1, 0), repeats=min(repeats, 3) if first > 1.0 else repeats)
    times = [first]
    while len(times) < repeats and sum(times) + times[-1] <= budget:
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def bench(ctx, dlib):
    baseline = bool(ctx.params.get("cpu_baseline"))
    with ctx.step("dlib.cuda.get_num_devices()" if not baseline else "check that this dlib is a CPU build"):
        if baseline:
            baseline_check(ctx, dlib)
        else:
            cuda_device(ctx, dlib)
    cnn = detector(ctx, dlib)
    img, source, _has_face = face_image(ctx)
    ups = int(ctx.params.get("upsample", 0))
    where = "CPU" if baseline else "GPU"
    note = "" if baseline else GPU_NOTE

    def put(name, unit, work, times, text="", **extra):
        ctx.row(name, unit, work, times if baseline else None, None if baseline else times, text or note, **extra)

    timed = (lambda fn: cpu_timed(ctx, fn)) if baseline else ctx.timed
    with ctx.step("CNN face detection on %s (upsample %d) on the %s" % (source, ups, where)):
        times = timed(lambda: cnn(img, ups))
    put("CNN face detection %dx%d" % (img.shape[1], img.shape[0]), "images/s", 1, times)
    batch = int(ctx.params.get("face_batch", 8))
    with ctx.step("CNN face detection, batch of %d, on the %s" % (batch, where)):
        times = timed(lambda: cnn([img] * batch, ups, batch_size=batch))
    put("CNN face detection, batch %d" % batch, "images/s", batch, times)
    for faces in faces_per_frame(ctx.params):
        frame = tiled(img, faces)
        with ctx.step("CNN face detection, %d face(s) per frame (%dx%d), on the %s" % (faces, frame.shape[1], frame.shape[0], where)):
            t0 = time.perf_counter()
            found = len(cnn(frame, ups))
            took = time.perf_counter() - t0
            def call(frame=frame):
                return cnn(frame, ups)

            times = cpu_timed(ctx, call, took) if baseline else ctx.timed(call)
        put("CNN faces per frame: %d (%dx%d)" % (faces, frame.shape[1], frame.shape[0]), "frames/s", 1, times,
            (note + "; " if note else "") + "%d of %d faces found" % (found, faces),
            group="scaling", series="dlib CNN face detection", x=faces)
