"""`gpuready bench [PKG...]`: time CPU against GPU per framework; table, --json, --plot FILE.png, --compare OLD.json."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from gpuready.options import SECONDS, python_option
from gpuready.report.jsonout import dumps

# Accepted only to refuse it clearly: real work needs this machine, not a saved one.
machine_option = click.option("--machine", "machine_file", type=click.Path(dir_okay=False, path_type=Path), hidden=True)


def print_bench(results, rows, con, *, python: str = "", state_lines=(), baseline=None) -> None:
    from rich.table import Table
    from rich.text import Text

    from gpuready.bench.results import fmt_rate, fmt_speedup, fmt_time
    from gpuready.verify.render import verdict_text

    devices = sorted({r.device for r in results if r.device and r.ok})
    con.print(Text(f"Bench in {python}" + (f" on {', '.join(devices)}" if devices else "") + " (median of the timed runs, after warm-up)", style="dim"))
    for line in state_lines:
        con.print(Text(f"  {line}", style="dim"))
    copies = any(r.copy_s for r in rows)
    table = Table(pad_edge=False)
    cols = [("Framework", "left"), ("Workload", "left"), ("CPU time", "right"), ("GPU time", "right")]
    if copies:
        cols.append(("of it copies", "right"))
    cols += [("CPU rate", "right"), ("GPU rate", "right"), ("Unit", "left"), ("Speedup", "right")]
    for col, just in cols:
        table.add_column(col, justify=just, no_wrap=col in ("Framework", "Speedup"))
    for row in rows:
        cells = [row.framework, row.workload, fmt_time(row.cpu_s), fmt_time(row.gpu_s)]
        if copies:
            cells.append(fmt_time(row.copy_s))
        cells += [fmt_rate(row.cpu_rate), fmt_rate(row.gpu_rate), row.unit]
        table.add_row(*cells, Text(fmt_speedup(row.speedup), style="bold green" if (row.speedup or 0) > 1 else ""))
    con.print(table)
    if baseline is not None and not isinstance(baseline, str):
        con.print(Text(f"  CPU baseline for dlib/face_recognition: {baseline.description}"
                       + (" (reused)" if baseline.cached else f" (made in {baseline.seconds:.0f} s)"), style="dim"))
        con.print(Text(f"    build: {baseline.build}; threads: {baseline.threads}"
                       + (f" of {baseline.cores} cores" if baseline.cores else "")
                       + (f"; dlib flags: {baseline.flags_text()}" if baseline.flags else ""), style="dim"))
        for note in baseline.notes:  # why a better build was not used
            con.print(Text(f"    not used: {note}", style="yellow"))
    for row in rows:
        if row.note:
            con.print(Text(f"  {row.framework.split(' ')[0]} / {row.workload}: {row.note}", style="dim"))
    for r in results:
        for note in r.notes:
            if note.startswith("CPU baseline") and ("failed" in note or "could not" in note):
                con.print(Text(f"  {r.subject}: {note}", style="yellow"))
    skipped = [r for r in results if not r.ok]
    for r in skipped:
        line = Text("  ")
        line.append(r.subject, style="bold")
        line.append(": ")
        line.append_text(verdict_text(r))
        line.append(f" — not timed: {r.message}")
        con.print(line)


def print_compare(changes, con, old_header: dict) -> None:
    from rich.table import Table
    from rich.text import Text

    from gpuready.bench.compare import fmt_change
    from gpuready.bench.results import fmt_speedup, fmt_time

    when = old_header.get("date") or "?"
    con.print(Text(f"Compared with {old_header.get('hostname') or '?'}, {when}", style="dim"))
    table = Table(pad_edge=False)
    for col in ("Framework", "Workload", "GPU time before", "GPU time now", "GPU change", "Speedup before", "Speedup now"):
        table.add_column(col, justify="left" if col in ("Framework", "Workload") else "right")
    for c in changes:
        change = c.gpu_change
        style = "green" if change is not None and change < -0.03 else "red" if change is not None and change > 0.03 else ""
        status = {"new": "new", "gone": "not run now"}.get(c.status, "")
        table.add_row(c.framework, c.workload + (f" ({status})" if status else ""), fmt_time(c.old_gpu_s), fmt_time(c.new_gpu_s),
                      Text(fmt_change(change), style=style), fmt_speedup(c.old_speedup), fmt_speedup(c.new_speedup))
    con.print(table)


def _plots(rows, plot_file: Path, head: dict, machine) -> list[Path]:
    from gpuready.bench.plot import companion_paths, plot_detectors, plot_scaling, plot_speedups

    gpu = ", ".join(g["name"] for g in head["gpus"]) or "no GPU"
    subtitle = f"gpuready bench, {head['date'][:10]}, {machine.hostname}; driver {machine.driver.version or '-'}"
    out = [plot_speedups(rows, plot_file, title=f"GPU speedup over the CPU — {gpu}", subtitle=subtitle)]
    more = companion_paths(plot_file)
    if any(r.group == "detector" for r in rows):
        out.append(plot_detectors(rows, more["detector"], title=f"Detectors, frames/s: CPU vs GPU — {gpu}", subtitle=subtitle))
    if any(r.group == "scaling" for r in rows):
        out.append(plot_scaling(rows, more["scaling"], title=f"Faces per frame: CPU vs GPU — {gpu}", subtitle=subtitle))
    return out


@click.command()
@click.argument("packages", nargs=-1, metavar="[PKG]...")
@click.option("--json", "as_json", is_flag=True, help='Print {"rows": [...], "results": [...], "gpu_state": {...}} as JSON.')
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Draw a chart of the speedups to FILE.png, and FILE-detectors.png / FILE-scaling.png when there are such rows (needs matplotlib).")
@click.option("--compare", "compare_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="An earlier `bench --json` output: show the change of every row against it.")
@click.option("--quick", is_flag=True, help="Smaller workloads (seconds instead of a minute per framework).")
@click.option("--repeats", type=click.IntRange(min=1, max=1000), default=10, show_default=True, help="Timed runs per workload and device (median, min and max are kept).")
@click.option("--warmup", type=click.IntRange(min=0, max=100), default=2, show_default=True, help="Untimed runs first.")
@click.option("--timeout", type=SECONDS, default=600.0, show_default=True, help="Seconds each framework's bench may take.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="dlib's mmod_human_face_detector.dat.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo with a face for the dlib/face_recognition workloads.")
@click.option("--cpu-python", type=str, default=None, help="An interpreter with your own CPU-only dlib for dlib/face_recognition's CPU times (default: bench makes one).")
@click.option("--cpu-baseline", type=click.Choice(["auto", "source", "source-noblas", "wheel", "none"]), default="auto", show_default=True,
              help="The CPU dlib bench makes for dlib/face_recognition: built from source for this CPU (AVX2/AVX-512, OpenBLAS; cached), "
                   "built without BLAS (source-noblas), the dlib-bin wheel, auto (source, else at once the wheel), or none.")
@click.option("--baseline-timeout", type=SECONDS, default=900.0, show_default=True,
              help="Seconds the CPU baseline (its build included) may take; a failed or timed-out build is not retried.")
@click.option("--offline", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="No network: the CPU baseline's files (dlib sdist, scipy_openblas32 wheel, or dlib_bin wheel) from this folder.")
@machine_option
@python_option
def bench(packages: tuple[str, ...], as_json: bool, plot_file: Path | None, compare_file: Path | None, quick: bool, repeats: int, warmup: int,
          timeout: float, model: Path | None, image: Path | None, cpu_python: str | None, cpu_baseline: str, baseline_timeout: float,
          offline: Path | None,
          machine_file: Path | None, python: str | None) -> None:
    """Time each framework's workloads on the CPU and the GPU: time, throughput and speedup (sequential, warm-up, median)."""
    from gpuready.bench import bench as run_bench
    from gpuready.bench.baseline import CpuBaseline
    from gpuready.bench.gpustate import describe, gpu_state
    from gpuready.bench.results import rows_from
    from gpuready.verify.command import header, pick_frameworks
    from gpuready.verify.local import local_machine

    if machine_file is not None:
        raise click.UsageError("bench times real work on this machine; it cannot use a saved --machine")
    if plot_file is not None:
        from gpuready.bench.plot import PlotUnavailable, require_matplotlib

        try:
            require_matplotlib()
        except PlotUnavailable as exc:
            raise click.UsageError(str(exc)) from None
        from gpuready.bench.plot import plot_format_problem
        from gpuready.paths import writable_file_problem

        # before the bench runs for minutes: a chart that cannot be written must not cost the results
        problem = writable_file_problem(plot_file) or plot_format_problem(plot_file)
        if problem:
            raise click.UsageError(f"--plot {problem}")
    old_rows, old_header = [], {}
    if compare_file is not None:
        from gpuready.bench.compare import CompareError, load_rows

        try:
            old_rows, old_header = load_rows(compare_file)
        except CompareError as exc:
            raise click.UsageError(f"--compare: {exc}") from None
    if cpu_python is not None and not (shutil.which(cpu_python) or os.path.isfile(cpu_python)):
        raise click.UsageError(f"--cpu-python: no interpreter at {cpu_python}")
    machine = local_machine(python)
    names = pick_frameworks(packages, machine)
    if not names:
        msg = f"No GPU framework that bench knows is installed in {machine.python.executable}."
        click.echo(dumps("bench", {**header(machine), "rows": [], "results": [], "message": msg}) if as_json else msg)
        sys.exit(0)

    def progress(name: str) -> None:
        if not as_json:
            click.echo(f"timing {name} ..." if " " not in name else f"{name} ...", err=True)

    state = gpu_state() if machine.gpus else {"gpus": []}
    info: list[CpuBaseline | str] = []  # the CPU baseline used, or why none could be made
    results = run_bench(
        machine, python=python, timeout=timeout, only=tuple(names), quick=quick, warmup=warmup, repeats=repeats,
        model=str(model) if model else None, image=str(image) if image else None, progress=progress, cpu_python=cpu_python,
        cpu_baseline=cpu_baseline, offline=str(offline) if offline else None, baseline_info=info, baseline_timeout=baseline_timeout,
    )
    baseline = info[0] if info else None
    rows = rows_from(results)
    head = header(machine)
    plot_error = ""
    charts: list[Path] = []
    if plot_file is not None:
        try:
            charts = _plots(rows, plot_file, head, machine)
        except (OSError, ValueError, RuntimeError) as exc:  # the results are still printed, then this
            plot_error = f"--plot {plot_file}: the chart could not be written ({getattr(exc, 'strerror', None) or exc})"
    changes = []
    if compare_file is not None:
        from gpuready.bench.compare import compare

        changes = compare(old_rows, rows)
    if as_json:
        payload = {**head, "gpu_state": state, "repeats": repeats, "warmup": warmup,
                   "cpu_baseline": baseline.to_dict() if isinstance(baseline, CpuBaseline) else ({"error": baseline} if baseline else None),
                   "rows": [r.to_dict() for r in rows], "results": [r.to_dict() for r in results]}
        if plot_file is not None:
            payload["plot"] = str(charts[0]) if charts else None
            payload["plots"] = [str(c) for c in charts]
            if plot_error:
                payload["plot_error"] = plot_error
        if compare_file is not None:
            payload["compare"] = {"file": str(compare_file), "old": old_header, "changes": [c.to_dict() for c in changes]}
        click.echo(dumps("bench", payload))
    else:
        from gpuready.report.terminal import console

        con = console()
        print_bench(results, rows, con, python=machine.python.executable, state_lines=describe(state) if machine.gpus else (), baseline=baseline)
        if compare_file is not None:
            print_compare(changes, con, old_header)
        for chart in charts:
            con.print(f"chart: {chart}", markup=False)
    if plot_error:
        click.echo(f"gpuready: {plot_error}", err=True)
        sys.exit(1)
    sys.exit(0 if rows and all(r.ok for r in results) else 1)
