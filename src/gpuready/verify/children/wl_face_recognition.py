"""face_recognition: the CNN face detector and the ResNet face encoder (both dlib, on the GPU when dlib
has CUDA) on a real face image; the CNN box is checked against the CPU HOG detector, and the
encodings of the two boxes must describe the same person (distance < 0.6, the library's own
tolerance)."""

import time

import wl_dlib
from gr_common import face_image


def _dlib(ctx):
    import dlib

    ctx.note("dlib %s (DLIB_USE_CUDA=%s)" % (getattr(dlib, "__version__", "?"), getattr(dlib, "DLIB_USE_CUDA", "?")))
    return dlib


def verify(ctx, fr):
    import numpy as np

    dlib = _dlib(ctx)
    with ctx.step("dlib.cuda.get_num_devices()"):
        wl_dlib.cuda_device(ctx, dlib, "face_recognition's dlib")
    img, source, has_face = face_image(ctx)
    ctx.note("image: %s, %dx%d" % (source, img.shape[1], img.shape[0]))
    with ctx.step("face_locations(model='cnn') on the GPU"):
        t0 = time.perf_counter()
        cnn = fr.face_locations(img, number_of_times_to_upsample=1, model="cnn")
        took = time.perf_counter() - t0
    if not has_face:
        ctx.check("CNN detector ran on the GPU", True, "%d detection(s) on a frame without a face" % len(cnn), seconds=took)
        with ctx.step("face_encodings on the GPU (synthetic box)"):
            enc = fr.face_encodings(img, known_face_locations=[(100, 300, 300, 100)])
        ctx.check("face encoder ran on the GPU", len(enc) == 1 and bool(np.all(np.isfinite(enc[0]))), "128-d encoding")
        return
    if not ctx.check("CNN detector finds the face", bool(cnn), "%d face(s): %s" % (len(cnn), cnn), seconds=took):
        return
    with ctx.step("face_locations(model='hog') on the CPU (reference)"):
        hog = fr.face_locations(img, number_of_times_to_upsample=1, model="hog")
    with ctx.step("face_encodings (ResNet) on the GPU"):
        t0 = time.perf_counter()
        encs = fr.face_encodings(img, known_face_locations=cnn[:1] + hog[:1])
        took = time.perf_counter() - t0
    ok = len(encs) >= 1 and encs[0].shape == (128,) and bool(np.all(np.isfinite(encs[0])))
    ctx.check("face encoding is a finite 128-d vector", ok, "shape %s" % (getattr(encs[0], "shape", "?") if encs else "none"), seconds=took)
    if hog and len(encs) == 2:
        # (top, right, bottom, left) -> (left, top, right, bottom)
        box = lambda t: (t[3], t[0], t[1], t[2])  # noqa: E731
        from gr_common import iou

        overlap = iou(box(cnn[0]), box(hog[0]))
        ctx.check("CNN face box matches the CPU HOG detector's", overlap >= float(ctx.params.get("min_iou", 0.3)), "IoU %.2f" % overlap)
        dist = float(fr.face_distance([encs[1]], encs[0])[0])
        ctx.check("encodings of both boxes match (same person)", dist < 0.6, "distance %.3f (same person < 0.6)" % dist)
    else:
        ctx.note("the CPU HOG detector found no face to compare with")


def bench(ctx, fr):
    dlib = _dlib(ctx)
    baseline = bool(ctx.params.get("cpu_baseline"))
    with ctx.step("dlib.cuda.get_num_devices()" if not baseline else "check that this dlib is a CPU build"):
        if baseline:
            wl_dlib.baseline_check(ctx, dlib, "face_recognition's dlib")
        else:
            wl_dlib.cuda_device(ctx, dlib, "face_recognition's dlib")
    img, source, _has_face = face_image(ctx)
    where = "CPU" if baseline else "GPU"
    note = "" if baseline else wl_dlib.GPU_NOTE

    def put(name, unit, work, times, extra="", **fields):
        ctx.row(name, unit, work, times if baseline else None, None if baseline else times, extra or note, **fields)

    timed = (lambda fn: wl_dlib.cpu_timed(ctx, fn)) if baseline else ctx.timed
    with ctx.step("face_locations(model='cnn') on %s on the %s" % (source, where)):
        times = timed(lambda: fr.face_locations(img, number_of_times_to_upsample=0, model="cnn"))
    put("face_locations cnn %dx%d" % (img.shape[1], img.shape[0]), "images/s", 1, times)
    boxes = fr.face_locations(img, number_of_times_to_upsample=0, model="hog") or [(100, 300, 300, 100)]
    faces = int(ctx.params.get("faces", 16))
    locations = (boxes * faces)[:faces]
    with ctx.step("face_encodings of %d faces on the %s" % (faces, where)):
        times = timed(lambda: fr.face_encodings(img, known_face_locations=locations))
    put("face_encodings (ResNet), %d faces" % faces, "faces/s", faces, times)
    for k in wl_dlib.faces_per_frame(ctx.params):
        frame = wl_dlib.tiled(img, k)

        def pipeline():
            return fr.face_encodings(frame, known_face_locations=fr.face_locations(frame, number_of_times_to_upsample=0, model="cnn"))

        with ctx.step("detect (cnn) + encode, %d face(s) per frame (%dx%d), on the %s" % (k, frame.shape[1], frame.shape[0], where)):
            t0 = time.perf_counter()
            found = len(pipeline())
            took = time.perf_counter() - t0
            times = wl_dlib.cpu_timed(ctx, pipeline, took) if baseline else ctx.timed(pipeline)
        put("detect + encode, faces per frame: %d (%dx%d)" % (k, frame.shape[1], frame.shape[0]), "frames/s", 1, times,
            (note + "; " if note else "") + "%d of %d faces found and encoded" % (found, k),
            group="scaling", series="face_recognition: detect (cnn) + encode", x=k)
    if not baseline:
        with ctx.step("face_locations(model='hog') on the CPU"):
            hog = ctx.timed(lambda: fr.face_locations(img, number_of_times_to_upsample=0, model="hog"))
        ctx.row("face_locations hog (CPU only) %dx%d" % (img.shape[1], img.shape[0]), "images/s", 1, hog, None,
                "the CPU detector face_recognition uses by default, for comparison")
