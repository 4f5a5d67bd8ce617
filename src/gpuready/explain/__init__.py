"""`gpuready explain`: error log -> ranked causes, each with evidence lines, explanation and fix.

The engine is data-driven: signatures (knowledge/data/signatures.toml) map real error
messages of each library to the cause labels of the taxonomy; markers
(knowledge/data/explain_markers.toml) say which lines are harmless and where a log comes
from. Doctor, install, build and verify explain their failures through `explain_text`.

    >>> from gpuready.explain import explain_text
    >>> [c.label for c in explain_text("ImportError: libcudnn.so.9: cannot open shared object file")]
    ['runtime_lib_missing']
"""

from __future__ import annotations

from typing import TYPE_CHECKING, BinaryIO, Iterable

from gpuready.explain.context import Context, normalise_os, normalise_package
from gpuready.explain.engine import explain_hits
from gpuready.explain.model import Cause, Evidence
from gpuready.explain.rules import STAGES, RuleSet, load_rules
from gpuready.explain.scanner import Scanner, blocks_from_lines, blocks_from_text, merge_hits

if TYPE_CHECKING:
    from gpuready.machine import Machine

__all__ = [
    "Cause",
    "Evidence",
    "Explanation",
    "explain_text",
    "explain_lines",
    "explain_stream",
    "explain_blocks",
    "explain_inputs",
    "top_label",
    "top_cause",
    "STAGES",
]


class Explanation:
    """The result of explaining one log: the causes, plus what the engine noticed on the way."""

    def __init__(self, causes: list[Cause], ctx: Context) -> None:
        self.causes = causes
        self.context = ctx

    @property
    def lines(self) -> int:
        return self.context.lines

    @property
    def benign(self) -> dict[str, int]:
        """Harmless notices seen and ignored: {marker note: how many lines}."""
        rs = load_rules()
        out: dict[str, int] = {}
        for ident, hit in self.context.hits.items():
            if ident in rs.benign_ids:
                item = rs.by_id[ident]
                key = getattr(item, "note", "") or ident
                out[key] = out.get(key, 0) + hit.count
        return out


def explain_blocks(
    blocks: Iterable[str],
    machine: Machine | None = None,
    stage: str | None = None,
    *,
    package: str | None = None,
    os: str | None = None,
    machine_explicit: bool = True,
    ruleset: RuleSet | None = None,
) -> Explanation:
    """Explain a log given as blocks of whole lines (the streaming core of every other entry point)."""
    return explain_inputs(
        [("", blocks)], machine, stage, package=package, os=os, machine_explicit=machine_explicit, ruleset=ruleset
    )


def explain_inputs(
    inputs: Iterable[tuple[str, Iterable[str]]],
    machine: Machine | None = None,
    stage: str | None = None,
    *,
    package: str | None = None,
    os: str | None = None,
    machine_explicit: bool = True,
    ruleset: RuleSet | None = None,
    workers: int = 0,
) -> Explanation:
    """Explain several named inputs (files) as one log; evidence names its file when there are several.

    `machine_explicit` says the log certainly comes from `machine` (the caller ran the command
    there, or named the machine): only then may machine facts change a cause's label. With
    `workers` > 1 the inputs are scanned by that many processes (for big files).
    """
    if stage and stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r} (one of {', '.join(STAGES)})")
    rs = ruleset or load_rules()
    scanner = Scanner(rs)
    hits = scanner.hits
    bounds: list[tuple[str, int]] = []  # (name, lines before it)
    total = 0
    for name, blocks in inputs:
        bounds.append((name, total))
        if workers > 1:
            from gpuready.explain.parallel import rebatch, scan_parallel

            more, n = scan_parallel(rebatch(blocks), workers, first_line=total)
            merge_hits(hits, more)
            total += n
        else:
            scanner.lines = total
            for block in blocks:
                scanner.feed(block)
            total = scanner.lines
    ctx = Context(
        hits=hits,
        marker_kinds={m.id: (m.kind, m.value) for m in rs.markers},
        machine=machine,
        machine_explicit=machine_explicit,
        stage=stage or "",
        package=normalise_package(package),
        package_hint=(package or "").strip().lower(),
        os_hint=normalise_os(os),
        lines=total,
    )
    _check_machine(ctx)
    causes = explain_hits(rs, ctx)
    if len(bounds) > 1:
        causes = [_locate(c, bounds) for c in causes]
    return Explanation(causes, ctx)


def _check_machine(ctx: Context) -> None:
    """Drop the machine when the log shows it comes from another one (its facts would make fixes wrong)."""
    m = ctx.machine
    if m is None:
        return
    why = ""
    if ctx.log_os and m.os.system and ctx.log_os != m.os.system:
        why = f"the log comes from {ctx.log_os}, the machine runs {m.os.system}"
    else:
        drv = ctx.capture("driver")
        if drv and m.driver.version and drv != m.driver.version:
            why = f"the log shows driver {drv}, the machine has {m.driver.version}"
    if why:
        ctx.notes.append(f"{why}: the fixes do not use the machine's facts")
        ctx.machine = None


def _locate(cause: Cause, bounds: list[tuple[str, int]]) -> Cause:
    import dataclasses

    ev = []
    for e in cause.evidence:
        name, before = bounds[0]
        for n, b in bounds:
            if e.line > b:
                name, before = n, b
        ev.append(Evidence(e.line - before, e.text, name))
    return dataclasses.replace(cause, evidence=tuple(ev))


def explain_lines(
    lines: Iterable[str],
    machine: Machine | None = None,
    stage: str | None = None,
    *,
    package: str | None = None,
    os: str | None = None,
) -> list[Cause]:
    """Causes for a log given line by line (lines with or without their newline), most likely first."""
    return explain_blocks(blocks_from_lines(lines), machine, stage, package=package, os=os).causes


def explain_text(
    text: str,
    machine: Machine | None = None,
    stage: str | None = None,
    *,
    package: str | None = None,
    os: str | None = None,
) -> list[Cause]:
    """Causes for a log given as one string, most likely first; [] when the log shows no problem."""
    return explain_blocks(blocks_from_text(text), machine, stage, package=package, os=os).causes


def explain_stream(
    stream: BinaryIO,
    machine: Machine | None = None,
    stage: str | None = None,
    *,
    package: str | None = None,
    os: str | None = None,
    machine_explicit: bool = True,
    workers: int = 0,
) -> Explanation:
    """Explain a binary stream (a file, stdin): decoded with errors replaced, gzip and UTF-16 recognised.

    Raises reader.NotTextError for binary input.
    """
    from gpuready.explain.reader import blocks

    return explain_inputs(
        [("", blocks(stream))], machine, stage, package=package, os=os, machine_explicit=machine_explicit, workers=workers
    )


def top_cause(text: str, machine: Machine | None = None) -> Cause | None:
    """The most likely cause of an error text (label, evidence, fix for `machine`), None when none.

    Never raises: doctor and verify decide a failure's cause with it (one fact gets one label and one
    fix, whichever command finds it), and an explain problem must not take their verdict down.
    """
    if not text.strip():
        return None
    try:
        causes = explain_text(text, machine)
    except Exception:
        return None
    return causes[0] if causes else None


def top_label(text: str, machine: Machine | None = None) -> str:
    """The most likely cause label for an error text, "" when none (doctor labels import errors with it)."""
    cause = top_cause(text, machine)
    return cause.label if cause else ""
