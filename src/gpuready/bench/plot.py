"""`bench --plot FILE.png`: a bar chart of the measured GPU-over-CPU speedups.

People look at a chart before they read a table, so the chart says the one thing that
matters (how many times faster the GPU was, per framework and workload) and labels each bar
with the number and the GPU throughput. matplotlib is optional (the `plot` extra) and
imported only here, with the Agg backend: no display is needed.
"""

from __future__ import annotations

from pathlib import Path

from gpuready.bench.results import BenchRow, fmt_rate, fmt_speedup
from gpuready.knowledge import frameworks


def _color(name: str) -> str:
    """One colour per framework (colour-blind safe, Okabe-Ito, from the registry), the same in every chart."""
    entry = frameworks.get(name)
    return (entry.color if entry else "") or "#777777"



class PlotUnavailable(RuntimeError):
    """matplotlib is not installed in gpuready's environment."""


def require_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise PlotUnavailable("--plot needs matplotlib: pip install 'gpuready[plot]' (or pip install matplotlib)") from None


def plot_format_problem(path: str | Path) -> str:
    """Why matplotlib cannot write a chart in `path`'s format ("" when it can; no suffix means PNG)."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return ""
    from matplotlib.backend_bases import FigureCanvasBase

    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix not in formats:
        return f"{path}: matplotlib cannot write .{suffix} (use one of {', '.join(sorted(formats))})"
    return ""


def plot_speedups(rows: list[BenchRow], path: str | Path, *, title: str = "", subtitle: str = "") -> Path:
    """Write the chart to `path` (format from its suffix, PNG by default); return the path."""
    measured = [r for r in rows if r.speedup is not None]
    gpu_only = [r for r in rows if r.speedup is None and r.gpu_rate is not None]
    labels = [f"{r.framework.split(' ')[0]}: {r.workload}" for r in measured]
    values = [r.speedup or 0.0 for r in measured]
    height = 1.2 + 0.42 * max(len(measured), 1) + (0.3 if gpu_only else 0)
    plt, (fig, ax) = _figure(height)
    if measured:
        order = sorted(range(len(measured)), key=lambda i: values[i])
        ys = list(range(len(order)))
        bars = ax.barh(ys, [values[i] for i in order], color=[_color(measured[i].name) for i in order], height=0.62)
        ax.set_yticks(ys, [labels[i] for i in order], fontsize=9)
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}x"))
        ax.axvline(1.0, color="#444444", linewidth=0.8, linestyle="--")
        top = max(values)
        ax.set_xlim(min(0.5, min(values) / 1.5), top * 6)
        for bar, i in zip(bars, order):
            r = measured[i]
            text = f" {fmt_speedup(r.speedup)}   (GPU {fmt_rate(r.gpu_rate)} {r.unit})"
            ax.text(bar.get_width(), bar.get_y() + bar.get_height() / 2, text, va="center", fontsize=8)
        ax.set_xlabel("GPU speedup over the CPU (median time, log scale; dashed line = same speed)")
    else:
        ax.text(0.5, 0.5, "no framework ran on both CPU and GPU", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
    gpu_note = ("GPU only (no CPU run): " + "; ".join(f"{r.framework.split(' ')[0]} {r.workload} {fmt_rate(r.gpu_rate)} {r.unit}"
                                                      for r in gpu_only[:4])) if gpu_only else ""
    return _finish(plt, fig, ax, path, title or "gpuready bench", subtitle, gpu_note)


def _figure(rows_count: float, width: float = 10):
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt, plt.subplots(figsize=(width, rows_count), dpi=150)


def _finish(plt, fig, ax, path, title, subtitle, xlabel_note=""):
    ax.spines[["top", "right"]].set_visible(False)
    ax.set_axisbelow(True)
    fig.suptitle(title, fontsize=12, fontweight="bold", x=0.01, ha="left")
    notes = [n for n in (subtitle, xlabel_note) if n]
    if notes:
        fig.text(0.01, 0.01, "\n".join(notes), fontsize=7.5, color="#444444", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03 * len(notes) + 0.02 if notes else 0, 1, 0.95))
    out = Path(path)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out


def plot_detectors(rows: list[BenchRow], path: str | Path, *, title: str = "", subtitle: str = "") -> Path:
    """Frames/s of each detector (per framework, net and batch): CPU, GPU fp32 and GPU fp16 side by side, log scale,
    each GPU bar labelled with its speedup over the CPU."""
    det = [r for r in rows if r.group == "detector"]
    keys: list[tuple[str, str, float]] = []
    for r in det:
        k = (frameworks.display(r.name), r.series, r.x or 1)
        if k not in keys:
            keys.append(k)
    plt, (fig, ax) = _figure(1.4 + 0.75 * max(len(keys), 1))
    bars = (("CPU", "#999999"), ("GPU fp32", "#0072B2"), ("GPU fp16", "#D55E00"))
    height = 0.26
    for i, key in enumerate(keys):
        mine = [r for r in det if (frameworks.display(r.name), r.series, r.x or 1) == key]
        cpu = next((r.cpu_rate for r in mine if r.cpu_rate), None)
        values = [cpu] + [next((r.gpu_rate for r in mine if r.precision == p and r.gpu_rate), None) for p in ("fp32", "fp16")]
        speed = [None] + [next((r.speedup for r in mine if r.precision == p), None) for p in ("fp32", "fp16")]
        for j, ((label, color), value) in enumerate(zip(bars, values)):
            if not value:
                continue
            y = i + (j - 1) * height
            ax.barh(y, value, height=height * 0.9, color=color, label=label if i == 0 else None)
            text = f" {fmt_rate(value)}" + (f"  ({fmt_speedup(speed[j])})" if speed[j] else "")
            ax.text(value, y, text, va="center", fontsize=7)
    ax.set_yticks(range(len(keys)), [f"{fw}: {series}, batch {int(b)}" for fw, series, b in keys], fontsize=8.5)
    ax.invert_yaxis()
    if det:
        ax.set_xscale("log")
        top = max((r.gpu_rate or r.cpu_rate or 1) for r in det)
        ax.set_xlim(right=top * 8)
        ax.legend(loc="lower right", fontsize=8, frameon=False)
        ax.set_xlabel("frames per second (median, log scale; in brackets: speedup over the CPU)")
    else:
        ax.text(0.5, 0.5, "no detector rows", ha="center", va="center", transform=ax.transAxes)
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
    return _finish(plt, fig, ax, path, title or "Detectors: CPU vs GPU", subtitle,
                   "GPU times include the host<->device copies; the fp16 bars are compared with the CPU's fp32 time")


def plot_scaling(rows: list[BenchRow], path: str | Path, *, title: str = "", subtitle: str = "") -> Path:
    """Frames/s against faces per frame, CPU (dashed) and GPU (solid) per pipeline, log scale, with the speedup
    written at each GPU point."""
    curve = [r for r in rows if r.group == "scaling" and r.x]
    plt, (fig, ax) = _figure(4.6, 9)
    series = list(dict.fromkeys(r.series for r in curve))
    palette = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
    for i, name in enumerate(series):
        pts = sorted((r for r in curve if r.series == name), key=lambda r: r.x or 0)
        color = palette[i % len(palette)]
        xs = [r.x for r in pts]
        gpu = [(r.x, r.gpu_rate) for r in pts if r.gpu_rate]
        cpu = [(r.x, r.cpu_rate) for r in pts if r.cpu_rate]
        if gpu:
            ax.plot(*zip(*gpu), marker="o", color=color, label=f"{name}: GPU")
        if cpu:
            ax.plot(*zip(*cpu), marker="s", linestyle="--", color=color, alpha=0.7, label=f"{name}: CPU")
        for r in pts:
            if r.speedup and r.gpu_rate:
                ax.annotate(fmt_speedup(r.speedup), (r.x, r.gpu_rate), textcoords="offset points", xytext=(4, 6), fontsize=7.5, color=color)
        ax.set_xticks(xs, [str(int(x)) for x in xs])
    if curve:
        ax.set_xscale("log", base=4)
        ax.set_yscale("log")
        ax.set_xticks(sorted({r.x for r in curve}), [str(int(x)) for x in sorted({r.x for r in curve})])
        ax.legend(fontsize=8, frameon=False)
        ax.set_xlabel("faces per frame (the test photo tiled: 1 = 1x1, 4 = 2x2, 16 = 4x4)")
        ax.set_ylabel("frames per second (median)")
    else:
        ax.text(0.5, 0.5, "no scaling rows", ha="center", va="center", transform=ax.transAxes)
    ax.grid(which="major", color="#dddddd", linewidth=0.6)
    return _finish(plt, fig, ax, path, title or "Faces per frame: CPU vs GPU", subtitle)


def companion_paths(path: str | Path) -> dict[str, Path]:
    """--plot FILE.png also writes FILE-detectors.png and FILE-scaling.png when there are such rows."""
    p = Path(path)
    return {group: p.with_name(f"{p.stem}-{suffix}{p.suffix or '.png'}") for group, suffix in (("detector", "detectors"), ("scaling", "scaling"))}
