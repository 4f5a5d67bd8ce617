"""What every workload child shares: progress lines, checks, timing, the result line.

Standard library only (numpy is used when present, never required): this runs inside the
interpreter being verified. A workload reports through a `Ctx`; the entry script prints
`ctx.out` as one JSON line after MARK at the end. Progress goes to stderr, flushed line by
line, so that when a framework kills the process (SIGSEGV in a cuDNN call) the parent still
sees which step it was in.
"""

import contextlib
import math
import os
import sys
import tempfile
import time

MARK = "\x1eGPUREADY "
STEP_PREFIX = "gpuready-step: "


class Skip(Exception):
    """A workload ends early with a verdict it has already set (cpu_only, no_gpu, unverified)."""


class Ctx:
    def __init__(self, name, mode, params):
        self.name = name
        self.mode = mode
        self.params = params or {}
        self.current = ""
        self.out = {
            "framework": name,
            "mode": mode,
            "status": "",
            "label": "",
            "version": "",
            "device": "",
            "message": "",
            "step": "",
            "error": "",
            "checks": [],
            "notes": [],
            "evidence": [],
            "rows": [],
            "preloaded": [],
        }

    # --- progress -------------------------------------------------------------------------

    def say(self, text):
        sys.stderr.write(STEP_PREFIX + text + "\n")
        sys.stderr.flush()

    @contextlib.contextmanager
    def step(self, what):
        """Mark the step being run: a crash or hang inside it is reported with its name."""
        self.current = what
        self.out["step"] = what
        self.say(what)
        yield
        self.current = ""  # left set only when the step raised: "raised during <step>"
        self.say("done: " + what)

    # --- verdicts -------------------------------------------------------------------------

    def note(self, text):
        self.out["notes"].append(str(text))

    def evidence(self, *lines):
        for line in lines:
            if line:
                self.out["evidence"].append(str(line)[:500])

    def check(self, name, ok, detail="", seconds=None):
        entry = {"name": name, "ok": bool(ok), "detail": str(detail)}
        if seconds is not None:
            entry["seconds"] = round(float(seconds), 6)
        self.out["checks"].append(entry)
        self.say(("ok: " if ok else "FAILED: ") + name + (" (" + str(detail) + ")" if detail else ""))
        return bool(ok)

    def compare(self, name, max_abs_err, scale, tol=None, seconds=None):
        """GPU result vs CPU result: max |gpu - cpu| relative to max |cpu| must be <= tol."""
        tol = float(self.params.get("rtol", 1e-2) if tol is None else tol)
        err = float(max_abs_err)
        scale = float(scale)
        rel = err / scale if scale > 0 else (0.0 if err == 0 else float("inf"))
        ok = math.isfinite(rel) and math.isfinite(scale) and rel <= tol
        detail = "max |gpu-cpu| / max |cpu| = %.2e (tolerance %.0e)" % (rel, tol)
        if not math.isfinite(rel) or not math.isfinite(scale):
            detail = "result is not finite (NaN or inf) on the GPU or the CPU"
        return self.check(name, ok, detail, seconds)

    def finish(self, status, message, label="", evidence=()):
        """Set the verdict and stop the workload (raises Skip, caught by the entry script)."""
        self.out["status"] = status
        self.out["message"] = message
        if label:
            self.out["label"] = label
        self.evidence(*evidence)
        raise Skip()

    def cpu_only(self, message, evidence=()):
        self.finish("cpu_only", message, "cpu_only_build", evidence)

    def no_gpu(self, message, evidence=()):
        self.finish("no_gpu", message, "", evidence)

    # --- timing ---------------------------------------------------------------------------

    def timed(self, fn, sync=None, warmup=None, repeats=None, budget=None):
        """Seconds of each timed call of fn (after warm-up); stops early when over budget seconds."""
        warmup = int(self.params.get("warmup", 2) if warmup is None else warmup)
        repeats = int(self.params.get("repeats", 10) if repeats is None else repeats)
        budget = float(self.params.get("budget_s", 20.0) if budget is None else budget)
        start = time.perf_counter()
        for _ in range(warmup):
            fn()
            if sync:
                sync()
            if time.perf_counter() - start > budget:
                break
        times = []
        start = time.perf_counter()
        for _ in range(max(repeats, 1)):
            t0 = time.perf_counter()
            fn()
            if sync:
                sync()
            times.append(time.perf_counter() - t0)
            if time.perf_counter() - start > budget and len(times) >= 1:
                break
        return times

    def row(self, workload, unit, work, cpu=None, gpu=None, note="", **extra):
        """One bench row: `work` is FLOPs per call (unit ends in FLOP/s) or items per call; the median,
        min and max of each device's timed calls. `extra`: more measured or descriptive fields
        (copy_s, compute_s: host<->device copies and device-resident compute; group, series, x, precision)."""
        entry = {"workload": workload, "unit": unit, "work": float(work), "note": note}
        for side, times in (("cpu", cpu), ("gpu", gpu)):
            if times:
                entry[side + "_s"] = median(times)
                entry[side + "_runs"] = len(times)
                entry[side + "_min_s"] = min(times)
                entry[side + "_max_s"] = max(times)
        entry.update((k, v) for k, v in extra.items() if v is not None)
        self.out["rows"].append(entry)
        self.say("timed %s: cpu %s s, gpu %s s" % (workload, entry.get("cpu_s", "-"), entry.get("gpu_s", "-")))


def median(values):
    values = sorted(values)
    n = len(values)
    if not n:
        return 0.0
    mid = n // 2
    return values[mid] if n % 2 else 0.5 * (values[mid - 1] + values[mid])


def error_text(exc):
    """ "RuntimeError: CUDA error: no kernel image is available ..." (the first lines only)."""
    text = "%s: %s" % (type(exc).__name__, exc)
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[:8])


@contextlib.contextmanager
def capture_stderr_fd(sink):
    """Capture what C/C++ code writes to file descriptor 2 (ORT, OpenCV and TF log there).

    Frameworks report a silent CPU fallback only in a log line ("Failed to create
    CUDAExecutionProvider", "switching to CPU"), which Python cannot catch. The captured
    text is appended to `sink` and written back to stderr, so the parent sees it too.
    """
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as tmp:
        os.dup2(tmp.fileno(), 2)
        try:
            yield
        finally:
            try:
                sys.stderr.flush()
            except Exception:
                pass
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            text = tmp.read().decode("utf-8", errors="replace")
            sink.append(text)
            if text:
                sys.stderr.write(text if text.endswith("\n") else text + "\n")
                sys.stderr.flush()


def log_lines(text, *needles):
    """The lines of `text` that contain any needle (case-insensitive), trimmed."""
    out = []
    for line in text.splitlines():
        low = line.lower()
        if any(n.lower() in low for n in needles):
            out.append(line.strip()[:400])
    return out


def dist_version(*names):
    try:
        from importlib import metadata
    except ImportError:
        return ""
    for name in names:
        try:
            return metadata.version(name)
        except Exception:
            continue
    return ""


def find_model(params, filename):
    """A dlib model file: the --model path, a cache dir, or face_recognition_models' copy (not imported)."""
    looked = []
    given = params.get("model")
    if given:
        if os.path.isfile(given):
            return given, looked
        looked.append(given + " (given, not found)")
    for folder in params.get("model_dirs", []):
        path = os.path.join(folder, filename)
        if os.path.isfile(path):
            return path, looked
        looked.append(path)
    try:
        import importlib.util

        spec = importlib.util.find_spec("face_recognition_models")
    except Exception:
        spec = None
    if spec is not None and spec.submodule_search_locations:
        for folder in spec.submodule_search_locations:
            path = os.path.join(folder, "models", filename)
            if os.path.isfile(path):
                return path, looked
            looked.append(path)
    else:
        looked.append("face_recognition_models (not installed)")
    return "", looked


def face_image(ctx):
    """(RGB uint8 image, where it came from, has_face): --image, skimage's astronaut, or a synthetic frame."""
    import numpy as np

    path = ctx.params.get("image")
    if path:
        import dlib

        return dlib.load_rgb_image(path), path, True
    try:
        from skimage import data as skdata

        return np.ascontiguousarray(skdata.astronaut()), "skimage.data.astronaut()", True
    except Exception:
        pass
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    return img, "a synthetic 640x480 noise frame (no face: pass --image FACE.jpg, or install scikit-image)", False


def iou(a, b):
    """Intersection over union of two (left, top, right, bottom) boxes."""
    l, t = max(a[0], b[0]), max(a[1], b[1])
    r, btm = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, r - l) * max(0, btm - t)
    area = lambda x: max(0, x[2] - x[0]) * max(0, x[3] - x[1])  # noqa: E731
    union = area(a) + area(b) - inter
    return inter / union if union > 0 else 0.0
