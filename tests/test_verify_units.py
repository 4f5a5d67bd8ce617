"""verify's parts one by one: outcome classification, verdict -> Finding, the knowledge data,
the child helpers and the in-process ONNX model encoder."""

from __future__ import annotations

import importlib
import os
import struct
import sys
from pathlib import Path

import pytest

from gpuready.findings import LABELS
from gpuready.proc import MARK, Result
from gpuready.verify.runner import CHILD, classify, progress
from gpuready.verify.specs import fixes, resolve, specs
from gpuready.verify.verdicts import Check, VerifyResult, judge, to_finding
from tests.conftest import load_machine

CHILDREN = CHILD.parent


@pytest.fixture
def child_modules(monkeypatch):
    """Import the child helper modules the way the child does (their folder on sys.path)."""
    monkeypatch.syspath_prepend(str(CHILDREN))
    for name in ("gr_common", "gr_onnx"):
        sys.modules.pop(name, None)
    return importlib.import_module("gr_common"), importlib.import_module("gr_onnx")


# --- runner.classify ----------------------------------------------------------------------------


def res(rc=0, out="", err="", timed_out=False, **kw):
    return Result(("py",), rc, out, err, timed_out=timed_out, seconds=1.0, **kw)


def test_classify_each_ending():
    line = MARK + '{"status": "works", "version": "1"}\n'
    assert classify("torch", "verify", res(0, line), 10).outcome == "result"
    crashed = classify("torch", "verify", res(-11, "", "gpuready-step: import torch\nFatal Python error: Segmentation fault"), 10)
    assert (crashed.outcome, crashed.signal, crashed.last_step, crashed.in_step) == ("crashed", "SIGSEGV", "import torch", True)
    assert "Segmentation fault" in crashed.tail and "gpuready-step" not in crashed.tail
    hung = classify("torch", "verify", res(None, "", "gpuready-step: find the CUDA device", timed_out=True), 5)
    assert (hung.outcome, hung.last_step, hung.timeout) == ("hung", "find the CUDA device", 5)
    assert classify("torch", "verify", res(1, "garbage"), 10).outcome == "no_result"
    assert classify("torch", "verify", res(None, not_found=True, start_error="/x/python: not found"), 10).outcome == "not_started"
    # A verdict printed, then a crash in the exit handlers: the verdict stands, the signal is kept.
    late = classify("torch", "verify", res(-11, line), 10)
    assert late.outcome == "result" and late.signal == "SIGSEGV"


def test_progress_tracks_the_step_in_flight():
    text = "gpuready-step: a\ngpuready-step: done: a\ngpuready-step: b\ngpuready-step: ok: b-check"
    assert progress(text) == ("b", True)
    assert progress("gpuready-step: a\ngpuready-step: done: a") == ("a", False)
    assert progress("") == ("", False)


def test_result_line_is_not_evidence():
    out = "\n" + MARK + '{"status": "wrong"}'
    run = classify("torch", "verify", res(0, out, "real warning"), 10)
    assert run.tail == "real warning"
    stripped = classify("torch", "verify", res(0, out.strip(), "x"), 10)  # \x1e eaten by strip()
    assert "GPUREADY" not in stripped.tail


# --- verdicts -----------------------------------------------------------------------------------


def test_judge_not_started_and_no_result():
    m = load_machine("h200-driver580")
    run = classify("torch", "verify", res(None, not_found=True, start_error="/nope/python: not found"), 10)
    r = judge(run, m, display="PyTorch")
    assert r.verdict == "broken" and "Could not start" in r.message and r.label in LABELS


def test_to_finding_severities_with_and_without_gpu():
    gpu, nogpu = load_machine("h200-driver580"), load_machine("no-gpu")
    base = dict(name="torch", display="PyTorch", version="2.5.0")
    ok = VerifyResult(status="works", message="works", checks=(Check("matmul", True, "1e-7"),), **base)
    cpu = VerifyResult(status="cpu_only", label="cpu_only_build", message="cpu", fix="pip install torch", **base)
    crash = VerifyResult(status="crashed", label="other", message="crashed", signal="SIGSEGV", **base)
    unverified = VerifyResult(status="unverified", message="skipped", **base)
    assert (to_finding(ok, gpu).severity, to_finding(ok, gpu).label) == ("ok", "")
    assert (to_finding(cpu, gpu).severity, to_finding(cpu, gpu).label) == ("warning", "cpu_only_build")
    assert to_finding(cpu, nogpu).severity == "info"  # no GPU here: a CPU build is the right one
    assert to_finding(crash, gpu).severity == "error" and to_finding(crash, gpu).details["signal"] == "SIGSEGV"
    assert to_finding(unverified, gpu).severity == "info"
    for r in (ok, cpu, crash, unverified):
        assert to_finding(r, gpu).subject == "PyTorch 2.5.0"


def test_result_to_dict_is_json_ready():
    import json

    r = VerifyResult(name="cupy", display="CuPy", version="14", status="works", checks=(Check("k", True),), rows=({"workload": "w"},))
    d = json.loads(json.dumps(r.to_dict()))
    assert d["verdict"] == "works" and d["checks"][0]["name"] == "k" and d["rows"][0]["workload"] == "w"


# --- knowledge data ------------------------------------------------------------------------------


def test_every_framework_has_a_workload_and_a_display_name():
    from gpuready.knowledge.frameworks import frameworks

    for name, spec in specs().items():
        assert (CHILDREN / f"wl_{name}.py").is_file(), name
        assert name in frameworks() and frameworks()[name].workload == f"wl_{name}", name
        assert spec.source.startswith(("https://", "http://")), name
        assert spec.bench and spec.bench_quick and set(spec.bench) == set(spec.bench_quick), name


def test_fix_rules_use_taxonomy_labels_and_cite_sources():
    for label, rule in fixes().items():
        assert label in LABELS
        assert rule.source.startswith("https://")


def test_resolve_aliases():
    assert resolve(("pytorch", "opencv-python-headless", "face-recognition", "CuPy-CUDA13x", "cv2")) == (
        ["torch", "cv2", "face_recognition", "cupy"],
        [],
    )
    assert resolve(("torch", "nope")) == (["torch"], ["nope"])


# --- child helpers -------------------------------------------------------------------------------


def test_compare_and_median(child_modules):
    gr_common, _ = child_modules
    ctx = gr_common.Ctx("torch", "verify", {"rtol": 1e-2})
    assert ctx.compare("close", 1e-6, 1.0) is True
    assert ctx.compare("far", 0.5, 1.0) is False
    assert ctx.compare("nan", float("nan"), 1.0) is False
    assert ctx.compare("zero", 0.0, 0.0) is True
    assert [c["ok"] for c in ctx.out["checks"]] == [True, False, False, True]
    assert "not finite" in ctx.out["checks"][2]["detail"]
    assert gr_common.median([3, 1, 2]) == 2 and gr_common.median([1, 2, 3, 4]) == 2.5 and gr_common.median([]) == 0.0


def test_timed_stops_at_budget(child_modules):
    gr_common, _ = child_modules
    import time

    ctx = gr_common.Ctx("torch", "bench", {})
    times = ctx.timed(lambda: time.sleep(0.02), warmup=1, repeats=100, budget=0.1)
    assert 1 <= len(times) < 20 and all(t >= 0.015 for t in times)
    ctx.row("w", "images/s", 4, cpu=[1.0, 3.0, 2.0], gpu=[0.1])
    assert ctx.out["rows"][0]["cpu_s"] == 2.0 and ctx.out["rows"][0]["gpu_runs"] == 1


def test_capture_stderr_fd_catches_native_log_lines(child_modules, capfd):
    gr_common, _ = child_modules
    sink: list[str] = []
    with gr_common.capture_stderr_fd(sink):
        os.write(2, b"[W:onnxruntime] Failed to create CUDAExecutionProvider\n")
    assert "Failed to create CUDAExecutionProvider" in sink[0]
    assert gr_common.log_lines(sink[0], "cudaexecutionprovider") == ["[W:onnxruntime] Failed to create CUDAExecutionProvider"]
    assert "Failed to create" in capfd.readouterr().err  # written back for the parent


def test_find_model_order(child_modules, tmp_path):
    gr_common, _ = child_modules
    given = tmp_path / "given.dat"
    given.write_bytes(b"x")
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "m.dat").write_bytes(b"y")
    assert gr_common.find_model({"model": str(given), "model_dirs": [str(cache)]}, "m.dat")[0] == str(given)
    assert gr_common.find_model({"model_dirs": [str(cache)]}, "m.dat")[0] == str(cache / "m.dat")
    path, looked = gr_common.find_model({"model_dirs": [str(tmp_path / "none")]}, "m.dat")
    assert path == "" and any("none" in x for x in looked)


def test_iou(child_modules):
    gr_common, _ = child_modules
    assert gr_common.iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert gr_common.iou((0, 0, 10, 10), (20, 20, 30, 30)) == 0.0
    assert abs(gr_common.iou((0, 0, 10, 10), (5, 0, 15, 10)) - 1 / 3) < 1e-9


# --- the ONNX model, without the onnx package ------------------------------------------------------


def _fields(buf: bytes) -> list[tuple[int, int, object]]:
    """A minimal protobuf walker: [(field number, wire type, value)]."""
    out, i = [], 0

    def varint() -> int:
        nonlocal i
        shift = value = 0
        while True:
            b = buf[i]
            i += 1
            value |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return value

    while i < len(buf):
        key = varint()
        field, wire = key >> 3, key & 7
        if wire == 0:
            out.append((field, wire, varint()))
        elif wire == 2:
            n = varint()
            out.append((field, wire, buf[i : i + n]))
            i += n
        else:
            raise AssertionError(f"unexpected wire type {wire}")
    return out


def test_builtin_onnx_encoder_structure(child_modules):
    _, gr_onnx = child_modules
    layers = gr_onnx.VERIFY_LAYERS
    model = gr_onnx.build_builtin(layers, 2, 32, 32)
    top = _fields(model)
    assert (1, 0, gr_onnx.IR_VERSION) in top
    graph = next(v for f, w, v in top if f == 7)
    opset = next(v for f, w, v in top if f == 8)
    assert (2, 0, gr_onnx.OPSET) in _fields(opset)
    g = _fields(graph)
    nodes = [_fields(v) for f, w, v in g if f == 1]
    assert [next(v for f, w, v in n if f == 4) for n in nodes] == [b"Conv", b"Relu"] * len(layers)
    inits = [_fields(v) for f, w, v in g if f == 5]
    w0 = inits[0]
    dims = [v for f, w, v in w0 if f == 1]
    raw = next(v for f, w, v in w0 if f == 9)
    assert dims == [16, 3, 3, 3] and len(raw) == 4 * 16 * 27
    assert struct.unpack("<f", raw[:4])[0] == pytest.approx(gr_onnx.weights(layers)[0][0][0], rel=1e-6)
    assert gr_onnx.output_shape(layers, 2, 32, 32) == [2, 32, 16, 16]
    assert gr_onnx.flops(gr_onnx.BENCH_LAYERS, 300, 300) == pytest.approx(6.79e9, rel=0.01)  # opencv-cuda-build.md §6: 3.40 GMAC


def test_builtin_encoder_matches_onnx_helper(child_modules):
    pytest.importorskip("onnx")
    _, gr_onnx = child_modules
    for layers in (gr_onnx.VERIFY_LAYERS, gr_onnx.BENCH_LAYERS[:2]):
        assert gr_onnx.build_builtin(layers, 1, 16, 16) == gr_onnx.build_with_onnx(layers, 1, 16, 16)


def test_children_run_on_old_pythons():
    """The child scripts run in the user's interpreter, which may be older than gpuready's own."""
    import ast

    for path in CHILDREN.glob("*.py"):
        ast.parse(path.read_text(encoding="utf-8"), str(path), feature_version=(3, 7))
        code = ast.parse(path.read_text(encoding="utf-8"))
        imported = {a.name for n in ast.walk(code) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(code) if isinstance(n, ast.ImportFrom)}
        assert not any(m.split(".")[0] == "gpuready" for m in imported), path
