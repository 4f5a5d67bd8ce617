"""Readable terminal output (rich): the machine, and a list of findings.

Rich is imported here only, so commands that print JSON never pay for it. Every console gpuready
prints through comes from `console()`: it shows control characters in what it prints as escapes
(a machine file's GPU name cannot clear the screen), while rich's own styles still reach the terminal,
and it writes to the real stream under cli's SafeStream (see gpuready.textsafe).
"""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.segment import Segment
from rich.table import Table
from rich.text import Text

from gpuready.findings import Finding
from gpuready.machine import Machine
from gpuready.textsafe import escape_controls, has_controls, raw_stream

STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan", "ok": "green"}
MARK = {"error": "✗", "warning": "!", "info": "i", "ok": "✓"}


class SafeConsole(Console):
    """A rich Console that escapes control characters in the text it renders, never in its own codes.

    Segments marked `control` (cursor moves of a live progress bar) are rich's own and pass; every other
    segment's text came from somewhere else and is escaped before rich adds the styles around it.
    """

    def _write_buffer(self) -> None:
        with self._lock:
            buf = self._buffer
            for i, seg in enumerate(buf):
                if not seg.control and has_controls(seg.text.replace("\n", "")):
                    buf[i] = Segment(escape_controls(seg.text), seg.style, seg.control)
        super()._write_buffer()

    def on_broken_pipe(self) -> None:
        """`gpuready doctor | head`: stop quietly; cli.run points stdout at devnull and exits 0 (rich would exit 1)."""
        self.quiet = True
        raise BrokenPipeError


def console(stderr: bool = False, *, soft_wrap: bool = False) -> Console:
    import sys

    stream = raw_stream(sys.stderr if stderr else sys.stdout)
    return SafeConsole(file=stream, highlight=False, soft_wrap=soft_wrap)


def machine_rows(m: Machine) -> list[tuple[str, str]]:
    """The machine as (what, value) rows: shared by the terminal and Markdown renderers."""
    rows: list[tuple[str, str]] = []
    osline = f"{m.os.distro or m.os.system} ({m.os.system}, {m.os.arch})"
    if m.os.wsl:
        osline += ", WSL"
    if m.os.container:
        osline += ", container"
    rows.append(("OS", osline))
    py = m.python
    rows.append(("Python", f"{py.version} {py.implementation} {py.bits}-bit, {py.env_kind} at {py.executable}"))
    if m.driver.present:
        drv = f"{m.driver.version}, supports CUDA {m.driver.cuda_version or '?'} (from {m.driver.source})"
        if m.driver.kernel_module_version and m.driver.kernel_module_version != m.driver.version:
            drv += f"; kernel module {m.driver.kernel_module_version}"
        rows.append(("NVIDIA driver", drv))
    else:
        extra = f" ({m.driver.nvidia_pci_devices} NVIDIA device(s) on the PCI bus)" if m.driver.nvidia_pci_devices else ""
        rows.append(("NVIDIA driver", "none found" + extra))
    for g in m.gpus:
        mem = f", {g.memory_mib / 1024:.0f} GiB" if g.memory_mib else ""
        rows.append((f"GPU {g.index}", f"{g.name}, compute capability {g.compute_capability or '?'} ({g.sm or '?'}){mem}"))
    if not m.gpus:
        rows.append(("GPUs", "none"))
    for tk in m.toolkits:
        mark = " [first nvcc on PATH]" if tk.on_path else ""
        rows.append(("CUDA toolkit", f"{tk.version or '?'} at {tk.root} ({tk.origin}){mark}"))
    if not m.toolkits:
        rows.append(("CUDA toolkit", "none (pip wheels bring their own runtime; only source builds need one)"))
    for c in m.cudnns:
        where = c.library or c.header
        rows.append(("cuDNN", f"{c.version or '?'} ({c.origin}) {where}"))
    for c in m.compilers:
        v = f"{c.version} (_MSC_VER {c.msc_ver})" if c.kind == "msvc" else c.version
        rows.append(("Compiler", f"{c.kind} {v} at {c.path} ({c.origin})"))
    rows.append(("CMake", m.cmake or "not found"))
    for fw in m.frameworks:
        rows.append((f"{fw.name}", framework_summary(fw)))
    for n in m.notes:
        rows.append(("note", f"{n.subject}: {n.message}"))
    return rows


def framework_summary(fw) -> str:
    if fw.status != "ok":
        how = {"crashed": f"crashed ({fw.signal})", "timeout": "import hung", "import_error": "import failed"}.get(fw.status, fw.status)
        return f"{fw.dist or fw.name} {fw.version}: {how}: {fw.error.splitlines()[-1] if fw.error else ''}".strip()
    parts = [f"{fw.dist or fw.name} {fw.version}".strip()]
    if fw.cuda_build:
        parts.append(f"CUDA {fw.cuda_version or 'build'}")
        if fw.cudnn_version:
            parts.append(f"cuDNN {fw.cudnn_version}")
    elif fw.cuda_build is False:
        parts.append("CPU-only build")
    if fw.sees_gpu:
        parts.append(f"sees {fw.device_count} GPU(s)")
    elif fw.sees_gpu is False and fw.cuda_build:
        parts.append("sees no GPU")
    if len(fw.copies) > 1:
        parts.append(f"{len(fw.copies)} copies on sys.path")
    return ", ".join(parts)


def print_machine(m: Machine, con: Console | None = None) -> None:
    con = con or console()
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for what, value in machine_rows(m):
        table.add_row(what, Text(value))  # Text: a machine file's "[/bold]" is shown, not parsed as markup
    con.print(table)


def print_findings(findings: Iterable[Finding], con: Console | None = None, *, title: str = "") -> None:
    """Each finding as a mark column and a text column, so wrapped lines keep their indentation."""
    con = con or console()
    if title:
        con.print(Text(title, style="bold"))
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=2, justify="right")
    grid.add_column(ratio=1, overflow="fold")
    for f in findings:
        body = Text()
        body.append(f.subject, style="bold")
        if f.label:
            body.append(f"  [{f.label}]", style="dim")
        body.append("\n" + f.message)
        for ev in f.evidence:
            body.append("\nevidence: " + ev, style="dim")
        if f.fix:
            body.append("\nfix: ", style="bold")
            body.append(f.fix)
        grid.add_row(Text(MARK[f.severity], style=STYLE[f.severity]), body)
    con.print(grid)
