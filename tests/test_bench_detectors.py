"""The detector graphs bench runs through OpenCV dnn and ONNX Runtime (children/gr_detectors.py): real
layer shapes (FLOPs and box counts of the published nets), valid ONNX, the same bytes from both
encoders, and - where cv2 / onnxruntime are installed - the bench workloads themselves, at tiny sizes,
on the CPU standing in for the GPU."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest

from gpuready.verify.runner import CHILD

CHILDREN = CHILD.parent


@pytest.fixture
def det(monkeypatch):
    monkeypatch.syspath_prepend(str(CHILDREN))
    for name in ("gr_onnx", "gr_detectors"):
        sys.modules.pop(name, None)
    return importlib.import_module("gr_onnx"), importlib.import_module("gr_detectors")


def test_real_layer_shapes(det):
    _gr_onnx, gr_detectors = det
    ssd, name, size = gr_detectors.build("ssd", 1)
    assert (name, size, ssd.anchors) == ("SSD MobileNet v1", 300, gr_detectors.SSD_ANCHORS)
    assert ssd.params == pytest.approx(5.8e6, rel=0.02)  # the MobileNetSSD_deploy caffemodel: 5.8 M weights (23 MB)
    assert ssd.flops == pytest.approx(2.3e9, rel=0.02)  # 1.15 GMAC per 300x300 frame
    assert [o[2] for o in ssd.outputs] == [[1, 1917, 4], [1, 1917, 21]]
    yolo, name, size = gr_detectors.build("yolo", 2)
    assert (name, size, yolo.anchors) == ("YOLOv8n", 640, gr_detectors.YOLO_ANCHORS)
    assert yolo.flops / 2 == pytest.approx(8.7e9, rel=0.02)  # Ultralytics: yolov8n 8.7 GFLOPs at 640
    assert yolo.params == pytest.approx(3.15e6, rel=0.02)  # 3.2 M parameters (the head's DFL conv is not a weight)
    assert yolo.outputs[0][2] == [2, 144, 8400]


def test_graphs_are_valid_onnx_with_the_tracked_shapes(det):
    onnx = pytest.importorskip("onnx")
    gr_onnx, gr_detectors = det
    for kind, size, fp16 in (("ssd", 300, False), ("yolo", 64, False), ("yolo", 64, True)):
        g, _name, size = gr_detectors.build(kind, 2, size, fp16=fp16)
        model = onnx.load_from_string(gr_onnx.encode_builtin(g))
        onnx.checker.check_model(model)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        dims = {o.name: [d.dim_value for d in o.type.tensor_type.shape.dim] for o in inferred.graph.output}
        assert dims == {name: shape for name, _t, shape in g.outputs}
        assert model.graph.input[0].type.tensor_type.elem_type == (gr_onnx.FLOAT16 if fp16 else gr_onnx.FLOAT)


def test_both_encoders_write_the_same_detector_bytes(det):
    pytest.importorskip("onnx")
    gr_onnx, gr_detectors = det
    for kind, size, fp16 in (("yolo", 64, False), ("yolo", 64, True), ("ssd", 300, False)):
        g, _n, _s = gr_detectors.build(kind, 1, size, fp16=fp16)
        assert gr_onnx.encode_builtin(g) == gr_onnx.encode_with_onnx(g), (kind, fp16)


def test_builtin_attribute_kinds(det):
    gr_onnx, _ = det
    g = gr_onnx.Graph("t", 1, 3, 8, 8)
    y = g.node("Softmax", ["x"], [1, 3, 8, 8], {"axis": -1, "mode": "nearest", "alpha": 0.5, "pads": [0, 1]})
    g.output(y)
    onnx = pytest.importorskip("onnx")
    assert gr_onnx.encode_builtin(g) == gr_onnx.encode_with_onnx(g)  # negative ints, strings, floats, int lists
    node = onnx.load_from_string(gr_onnx.encode_builtin(g)).graph.node[0]
    assert {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute} == {"alpha": 0.5, "axis": -1, "mode": b"nearest", "pads": [0, 1]}


# --- the workloads, on the CPU standing in for the GPU ----------------------------------------------------

# An interpreter with opencv-python-headless and onnxruntime (CPU builds); CI's has neither, so these skip
# there unless GPUREADY_TEST_CV_PYTHON names one.
CV_PYTHON = os.environ.get("GPUREADY_TEST_CV_PYTHON") or sys.executable


def _has(module: str) -> bool:
    return subprocess.run([CV_PYTHON, "-c", f"import {module}, numpy"], capture_output=True).returncode == 0


@pytest.mark.parametrize("framework", ["cv2", "onnxruntime"])
def test_detector_workloads_run_end_to_end(framework):
    if not _has(framework):
        pytest.skip(f"{framework} is not installed in {CV_PYTHON}")
    from gpuready.bench import bench
    from gpuready.bench.results import rows_from
    from gpuready.verify.local import local_machine

    machine = local_machine(CV_PYTHON)
    extra = {"gpu_standin": "cpu", "ssd_size": 96, "yolo_size": 64, "det_batch": 2, "net_size": 32}
    [result] = bench(machine, python=CV_PYTHON, only=(framework,), warmup=0, repeats=1, budget_s=5, extra=extra, cpu_baseline="none")
    assert result.ok, result.message
    rows = [r for r in rows_from([result]) if r.group == "detector"]
    got = {(r.series, int(r.x or 0), r.precision) for r in rows}
    assert got == {(net, b, p) for net in ("SSD MobileNet v1", "YOLOv8n") for b in (1, 2) for p in ("fp32", "fp16")}
    assert all(r.cpu_s and r.gpu_s and r.speedup and r.unit == "frames/s" for r in rows)
    assert all("copies included" in r.note and "max |gpu-cpu|" in r.note for r in rows)
    assert result.device == "CPU (stand-in for the GPU)" and any("gpu_standin=cpu" in n for n in result.notes)
