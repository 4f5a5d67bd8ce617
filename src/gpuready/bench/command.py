"""`gpuready bench [PKG...]`: time CPU against GPU per framework; table, --json, --plot FILE.png."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import click

from gpuready.report.jsonout import dumps
from gpuready.options import python_option

# Accepted only to refuse it clearly: real work needs this machine, not a saved one.
machine_option = click.option("--machine", "machine_file", type=click.Path(dir_okay=False, path_type=Path), hidden=True)


def print_bench(results, rows, con, *, python: str = "") -> None:
    from rich.table import Table
    from rich.text import Text

    from gpuready.bench.results import fmt_rate, fmt_speedup, fmt_time
    from gpuready.verify.render import verdict_text

    devices = sorted({r.device for r in results if r.device and r.ok})
    con.print(Text(f"Bench in {python}" + (f" on {', '.join(devices)}" if devices else "") + " (median of the timed runs, after warm-up)", style="dim"))
    table = Table(pad_edge=False)
    for col, just in (("Framework", "left"), ("Workload", "left"), ("CPU time", "right"), ("GPU time", "right"),
                      ("CPU rate", "right"), ("GPU rate", "right"), ("Unit", "left"), ("Speedup", "right")):
        table.add_column(col, justify=just, no_wrap=col in ("Framework", "Speedup"))
    for row in rows:
        table.add_row(
            row.framework, row.workload, fmt_time(row.cpu_s), fmt_time(row.gpu_s), fmt_rate(row.cpu_rate), fmt_rate(row.gpu_rate),
            row.unit, Text(fmt_speedup(row.speedup), style="bold green" if (row.speedup or 0) > 1 else ""),
        )
    con.print(table)
    for row in rows:
        if row.note:
            con.print(Text(f"  {row.framework.split(' ')[0]} / {row.workload}: {row.note}", style="dim"))
    for r in results:
        for note in r.notes:
            if note.startswith("CPU baseline"):
                con.print(Text(f"  {r.subject}: {note}", style="yellow"))
    skipped = [r for r in results if not r.ok]
    for r in skipped:
        line = Text("  ")
        line.append(r.subject, style="bold")
        line.append(": ")
        line.append_text(verdict_text(r))
        line.append(f" — not timed: {r.message}")
        con.print(line)


@click.command()
@click.argument("packages", nargs=-1, metavar="[PKG]...")
@click.option("--json", "as_json", is_flag=True, help='Print {"rows": [...], "results": [...]} as JSON.')
@click.option("--plot", "plot_file", type=click.Path(dir_okay=False, path_type=Path), help="Draw a chart of the speedups to FILE.png (needs matplotlib).")
@click.option("--quick", is_flag=True, help="Smaller workloads (seconds instead of a minute per framework).")
@click.option("--repeats", type=click.IntRange(min=1, max=1000), default=10, show_default=True, help="Timed runs per workload and device (the median is reported).")
@click.option("--warmup", type=click.IntRange(min=0, max=100), default=2, show_default=True, help="Untimed runs first.")
@click.option("--timeout", type=click.FloatRange(min=1), default=600.0, show_default=True, help="Seconds each framework's bench may take.")
@click.option("--model", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="dlib's mmod_human_face_detector.dat.")
@click.option("--image", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A photo with a face for the dlib/face_recognition workloads.")
@click.option("--cpu-python", type=str, default=None, help="An interpreter with a CPU-only dlib: times dlib/face_recognition on the CPU for their speedup.")
@machine_option
@python_option
def bench(packages: tuple[str, ...], as_json: bool, plot_file: Path | None, quick: bool, repeats: int, warmup: int, timeout: float,
          model: Path | None, image: Path | None, cpu_python: str | None, machine_file: Path | None, python: str | None) -> None:
    """Time each framework's workloads on the CPU and the GPU: time, throughput and speedup (sequential, warm-up, median)."""
    from gpuready.bench import bench as run_bench
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
        folder = plot_file.parent if str(plot_file.parent) else Path(".")
        if not folder.is_dir() or not os.access(folder, os.W_OK):
            raise click.UsageError(f"--plot: cannot write into {folder}")
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
            click.echo(f"timing {name} ...", err=True)

    results = run_bench(
        machine, python=python, timeout=timeout, only=tuple(names), quick=quick, warmup=warmup, repeats=repeats,
        model=str(model) if model else None, image=str(image) if image else None, progress=progress, cpu_python=cpu_python,
    )
    rows = rows_from(results)
    head = header(machine)
    if plot_file is not None:
        from gpuready.bench.plot import plot_speedups

        gpu = ", ".join(g["name"] for g in head["gpus"]) or "no GPU"
        plot_speedups(rows, plot_file, title=f"GPU speedup over the CPU — {gpu}", subtitle=f"gpuready bench, {head['date'][:10]}, {machine.hostname}; driver {machine.driver.version or '-'}")
    if as_json:
        payload = {**head, "rows": [r.to_dict() for r in rows], "results": [r.to_dict() for r in results]}
        if plot_file is not None:
            payload["plot"] = str(plot_file)
        click.echo(dumps("bench", payload))
    else:
        from gpuready.report.terminal import console

        con = console()
        print_bench(results, rows, con, python=machine.python.executable)
        if plot_file is not None:
            con.print(f"chart: {plot_file}")
    sys.exit(0 if rows and all(r.ok for r in results) else 1)
