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


def plot_speedups(rows: list[BenchRow], path: str | Path, *, title: str = "", subtitle: str = "") -> Path:
    """Write the chart to `path` (format from its suffix, PNG by default); return the path."""
    require_matplotlib()
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [r for r in rows if r.speedup is not None]
    gpu_only = [r for r in rows if r.speedup is None and r.gpu_rate is not None]
    labels = [f"{r.framework.split(' ')[0]}: {r.workload}" for r in measured]
    values = [r.speedup or 0.0 for r in measured]
    height = 1.2 + 0.42 * max(len(measured), 1) + (0.3 if gpu_only else 0)
    fig, ax = plt.subplots(figsize=(10, height), dpi=150)
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
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="x", which="major", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    fig.suptitle(title or "gpuready bench", fontsize=12, fontweight="bold", x=0.01, ha="left")
    notes = [subtitle] if subtitle else []
    if gpu_only:
        notes.append("GPU only (no CPU run): " + "; ".join(f"{r.framework.split(' ')[0]} {r.workload} {fmt_rate(r.gpu_rate)} {r.unit}" for r in gpu_only[:4]))
    if notes:
        fig.text(0.01, 0.01, "\n".join(notes), fontsize=7.5, color="#444444", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.03 * len(notes) + 0.02 if notes else 0, 1, 0.95))
    out = Path(path)
    fig.savefig(out, bbox_inches="tight")
    plt.close(fig)
    return out
