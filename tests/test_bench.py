"""bench: throughput and speedup only from measured medians, the command, the chart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready.bench.results import BenchRow, fmt_rate, fmt_speedup, fmt_time, rows_from, unit_scale
from gpuready.cli import main
from gpuready.verify.verdicts import VerifyResult

FAKES = Path(__file__).parent / "data" / "verify" / "fakes"


def result(rows, status="works"):
    return VerifyResult(name="torch", display="PyTorch", version="2.5.0", status=status, device="Fake GPU", rows=tuple(rows))


def test_rates_and_speedup_from_medians():
    [row] = rows_from([result([{"workload": "matmul 4096 fp32", "unit": "TFLOP/s", "work": 2 * 4096**3, "cpu_s": 0.2, "gpu_s": 0.004, "cpu_runs": 10, "gpu_runs": 10}])])
    assert row.framework == "PyTorch 2.5.0" and row.device == "Fake GPU"
    assert row.cpu_rate == pytest.approx(2 * 4096**3 / 0.2 / 1e12)
    assert row.gpu_rate == pytest.approx(2 * 4096**3 / 0.004 / 1e12)
    assert row.speedup == pytest.approx(50.0)
    assert row.to_dict()["speedup"] == pytest.approx(50.0)


def test_no_assumed_speedup_without_both_runs():
    rows = rows_from([result([
        {"workload": "gpu only", "unit": "images/s", "work": 8, "gpu_s": 0.01},
        {"workload": "cpu only", "unit": "images/s", "work": 1, "cpu_s": 0.5},
        {"workload": "zero", "unit": "images/s", "work": 1, "cpu_s": 0.0, "gpu_s": 0.1},
        {"unit": "broken row"},
    ])])
    assert [r.workload for r in rows] == ["gpu only", "cpu only", "zero"]
    assert [r.speedup for r in rows] == [None, None, None]
    assert rows[0].gpu_rate == pytest.approx(800.0) and rows[1].cpu_rate == pytest.approx(2.0)


def test_units_and_formatting():
    assert unit_scale("TFLOP/s") == 1e12 and unit_scale("Gelem/s") == 1e9 and unit_scale("images/s") == 1.0
    assert fmt_time(0.0029) == "2.90 ms" and fmt_time(2.06) == "2.06 s" and fmt_time(None) == "-"
    assert fmt_speedup(None) == "n/a" and fmt_speedup(710.2) == "710x" and fmt_speedup(3.14) == "3.1x"
    assert fmt_rate(44.6) == "44.6" and fmt_rate(35556.0) == "35,556" and fmt_rate(None) == "-"


def test_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib")
    from gpuready.bench.plot import plot_speedups

    rows = [
        BenchRow("PyTorch 2.5.0", "torch", "matmul 8192 fp32", "TFLOP/s", 2 * 8192**3, cpu_s=1.1, gpu_s=0.021),
        BenchRow("dlib 20.0.1", "dlib", "CNN face detection", "images/s", 1, gpu_s=0.0029),
    ]
    out = plot_speedups(rows, tmp_path / "b.png", title="t", subtitle="s")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    empty = plot_speedups([], tmp_path / "e.png")
    assert empty.stat().st_size > 0


@pytest.fixture
def fakes(monkeypatch):
    monkeypatch.syspath_prepend(str(FAKES))
    monkeypatch.setenv("PYTHONPATH", str(FAKES))

    def mode(value: str) -> None:
        monkeypatch.setenv("GPUREADY_FAKE", value)

    return mode


def test_bench_json_with_a_working_framework(fakes):
    fakes("works")
    res = CliRunner().invoke(main, ["bench", "--json", "--quick", "--repeats", "3", "--warmup", "1", "torch"], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    work = {r["workload"]: r for r in data["rows"]}
    mm = next(r for w, r in work.items() if w.startswith("matmul 2048 fp32"))
    assert mm["cpu_runs"] == 3 and mm["gpu_runs"] == 3 and mm["unit"] == "TFLOP/s"
    assert mm["speedup"] == pytest.approx(mm["cpu_s"] / mm["gpu_s"])
    bf16 = next(r for w, r in work.items() if "bf16" in w)
    assert bf16["speedup"] is None and bf16["cpu_s"] is None  # GPU only: no speedup invented
    assert data["results"][0]["status"] == "works"


def test_bench_table_and_not_timed_frameworks(fakes):
    fakes("cpu")
    res = CliRunner().invoke(main, ["bench", "--quick", "torch"], catch_exceptions=False)
    assert res.exit_code == 1
    assert "not timed" in res.output and "CPU-only" in res.output


def test_plot_without_matplotlib_is_a_usage_error(fakes, monkeypatch, tmp_path):
    from gpuready.bench import plot

    def missing():
        raise plot.PlotUnavailable("--plot needs matplotlib: pip install 'gpuready[plot]'")

    monkeypatch.setattr(plot, "require_matplotlib", missing)
    res = CliRunner().invoke(main, ["bench", "--plot", str(tmp_path / "x.png"), "torch"])
    assert res.exit_code == 2 and "needs matplotlib" in res.output


@pytest.mark.parametrize("args", [["--machine", "tests/machines/no-gpu.json"], ["--repeats", "0"], ["nope"], ["--plot", "/no/such/dir/x.png"]])
def test_bench_bad_usage_exits_2(args):
    res = CliRunner().invoke(main, ["bench", *args])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output


def test_cpu_baseline_rows_are_merged_by_workload():
    from gpuready.bench import merge_baseline

    gpu = VerifyResult(name="dlib", display="dlib", version="20.0.1", status="works", device="H200", rows=(
        {"workload": "CNN face detection 512x512", "unit": "images/s", "work": 1, "gpu_s": 0.003, "gpu_runs": 10},
        {"workload": "only on the GPU", "unit": "images/s", "work": 1, "gpu_s": 0.01},
    ))
    cpu = VerifyResult(name="dlib", display="dlib", version="20.0.1", status="works", device="CPU", rows=(
        {"workload": "CNN face detection 512x512", "unit": "images/s", "work": 1, "cpu_s": 2.06, "cpu_runs": 3},
    ))
    merged = merge_baseline(gpu, cpu, "/cpu/python")
    rows = rows_from([merged])
    assert rows[0].speedup == pytest.approx(2.06 / 0.003) and "CPU: dlib 20.0.1 in /cpu/python" in rows[0].note
    assert rows[1].speedup is None
    failed = merge_baseline(gpu, VerifyResult(name="dlib", display="dlib", version="", status="cpu_only", message="no"), "/x")
    assert failed.rows == gpu.rows and "CPU baseline in /x failed" in failed.notes[-1]


def test_cpu_python_must_exist():
    res = CliRunner().invoke(main, ["bench", "--cpu-python", "/no/such/python", "dlib"])
    assert res.exit_code == 2 and "--cpu-python" in res.output


# --- reproducible figures: min/max, GPU state, --compare ---------------------------------------------


def test_rows_keep_min_max_and_copy_times():
    [row] = rows_from([result([{"workload": "YOLOv8n 640x640, batch 8, fp16", "unit": "frames/s", "work": 8, "cpu_s": 0.8, "gpu_s": 0.01,
                                "cpu_min_s": 0.7, "cpu_max_s": 0.9, "gpu_min_s": 0.009, "gpu_max_s": 0.02, "copy_s": 0.004,
                                "compute_s": 0.006, "group": "detector", "series": "YOLOv8n", "x": 8, "precision": "fp16"}])])
    assert (row.gpu_min_s, row.gpu_max_s, row.copy_s, row.compute_s) == (0.009, 0.02, 0.004, 0.006)
    assert (row.group, row.series, row.x, row.precision) == ("detector", "YOLOv8n", 8.0, "fp16")
    assert row.to_dict()["cpu_min_s"] == 0.7


def test_gpu_state_never_raises_and_reads_as_a_line():
    from gpuready.bench import gpustate

    state = gpustate.gpu_state(timeout=30)
    assert isinstance(state, dict) and isinstance(state.get("gpus"), list)
    sample = {"gpus": [{"index": 0, "pstate": "P0", "clock_sm_mhz": 1980, "clock_sm_max_mhz": 1980, "power_w": 125.4, "power_limit_w": 700.0,
                        "temperature_c": 37, "throttle_mask": 0x1 | 0x4, "processes": 0}]}
    sample["gpus"][0]["throttle_reasons"] = gpustate.throttle_reasons(0x1 | 0x4)
    assert gpustate.throttle_reasons(0x44) == ["sw_power_cap", "hw_thermal_slowdown"]
    [line] = gpustate.describe(sample)
    assert line == "GPU 0: P0, SM 1980/1980 MHz, 125/700 W, 37 C, throttled: sw_power_cap"
    assert gpustate.describe({"gpus": [], "error": "NVML unavailable: x"}) == ["NVML unavailable: x"]


def test_compare_matches_rows_by_framework_and_workload():
    from gpuready.bench.compare import compare, fmt_change

    old = [{"name": "torch", "workload": "matmul", "gpu_s": 0.02, "cpu_s": 0.6, "speedup": 30.0},
           {"name": "torch", "workload": "gone", "gpu_s": 0.1, "framework": "PyTorch 2.5.0", "unit": "TFLOP/s"}]
    new = [BenchRow("PyTorch 2.6.0", "torch", "matmul", "TFLOP/s", 1.0, cpu_s=0.6, gpu_s=0.015),
           BenchRow("PyTorch 2.6.0", "torch", "conv", "images/s", 8, gpu_s=0.001)]
    mm, conv, gone = compare(old, new)
    assert mm.status == "both" and mm.gpu_change == pytest.approx(-0.25) and fmt_change(mm.gpu_change) == "-25.0%"
    assert mm.old_speedup == 30.0 and mm.new_speedup == pytest.approx(40.0) and mm.cpu_change == pytest.approx(0.0)
    assert conv.status == "new" and conv.gpu_change is None and gone.status == "gone" and gone.framework == "PyTorch 2.5.0"
    assert fmt_change(None) == "-"


def test_bench_json_has_gpu_state_and_compare(fakes, tmp_path):
    fakes("works")
    args = ["bench", "--json", "--quick", "--repeats", "2", "--warmup", "0", "torch"]
    first = CliRunner().invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    data = json.loads(first.output)
    assert "gpu_state" in data and data["repeats"] == 2
    mm = next(r for r in data["rows"] if r["workload"].startswith("matmul 2048 fp32"))
    assert mm["gpu_min_s"] <= mm["gpu_s"] <= mm["gpu_max_s"] and mm["cpu_min_s"] <= mm["cpu_s"] <= mm["cpu_max_s"]
    old = tmp_path / "old.json"
    old.write_text(first.output)
    again = CliRunner().invoke(main, [*args, "--compare", str(old)], catch_exceptions=False)
    changes = json.loads(again.output)["compare"]["changes"]
    assert {c["workload"] for c in changes} == {r["workload"] for r in data["rows"]}
    assert all(c["status"] == "both" for c in changes) and all(c["gpu_change"] is not None for c in changes if c["new_gpu_s"])
    table = CliRunner().invoke(main, ["bench", "--quick", "--repeats", "1", "--warmup", "0", "torch", "--compare", str(old)], catch_exceptions=False)
    assert "Compared with" in table.output and "change" in table.output and "%" in table.output


@pytest.mark.parametrize("content", ["{not json", '{"results": []}', "[1, 2]"])
def test_compare_with_a_file_that_is_not_bench_json_is_a_usage_error(tmp_path, content):
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    res = CliRunner().invoke(main, ["bench", "--compare", str(bad), "torch"])
    assert res.exit_code == 2 and "--compare" in res.output and "Traceback" not in res.output


def test_detector_and_scaling_charts(tmp_path):
    pytest.importorskip("matplotlib")
    from gpuready.bench.plot import companion_paths, plot_detectors, plot_scaling

    det = [BenchRow("OpenCV 4.14.0", "cv2", f"dnn YOLOv8n 640x640, batch {b}, {p}", "frames/s", b, cpu_s=0.05 * b, gpu_s=0.004 * b / (2 if p == "fp16" else 1),
                    group="detector", series="YOLOv8n", x=b, precision=p) for b in (1, 8) for p in ("fp32", "fp16")]
    curve = [BenchRow("dlib 20.0.1", "dlib", f"CNN faces per frame: {k}", "frames/s", 1, cpu_s=0.3 * k, gpu_s=0.003 * k, group="scaling",
                      series="dlib CNN face detection", x=k) for k in (1, 4, 16)]
    for fn, rows, name in ((plot_detectors, det, "d.png"), (plot_scaling, curve, "s.png"), (plot_detectors, [], "e1.png"), (plot_scaling, [], "e2.png")):
        out = fn(rows, tmp_path / name, title="t", subtitle="s")
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {k: p.name for k, p in companion_paths(tmp_path / "bench.png").items()} == {"detector": "bench-detectors.png", "scaling": "bench-scaling.png"}
