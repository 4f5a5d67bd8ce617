"""Reasons in plain words, with the numbers, and the smallest change that would unblock a package.

The planner rejects many builds for the same reason (torch 2.12, 2.13 and 2.14 all "need driver
>= 580.65.06"); saying it once per reason, with the span of versions it applies to, keeps the plan
readable. A fix is only proposed when it alone would make some GPU build fit (a build whose *only*
problem is the driver, or only the Python version), so every proposed fix is a real one.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from gpuready.plan.evaluate import build_runs_on, cc_int, cuda_mm, vtuple
from gpuready.knowledge.packages import Build
from gpuready.knowledge import pep440
from gpuready.plan.evaluate import Verdict, arch_span, describe_python
from gpuready.plan.target import Target

PYTHONS = [f"3.{i}" for i in range(5, 17)]


def version_span(versions: list[str]) -> str:
    uniq = sorted(set(versions), key=pep440.version)
    if len(uniq) <= 2:
        return ", ".join(uniq)
    return f"{uniq[0]}-{uniq[-1]}"


def short_label(b: Build) -> str:
    """ "2.14.1+cu126" for torch, "[cuda12] 0.11.2" style for extras, the dist for the rest."""
    if b.package == "torch" and b.variant != "cpu":
        return f"{b.version}+{b.variant}"
    return b.label


def group_rejections(name: str, rejected: list[tuple[Build, str]], limit: int = 5) -> list[str]:
    """[(build, reason text)] -> one line per distinct reason: "torch 2.12.0-2.14.1 (cu130, cu132): <reason>"."""
    groups: OrderedDict[str, list[Build]] = OrderedDict()
    for build, text in rejected:
        groups.setdefault(text, []).append(build)
    lines = []
    for text, blds in list(groups.items())[:limit]:
        variants = list(dict.fromkeys(b.variant for b in blds if b.variant not in ("gpu", "source")))
        what = f"{name} {version_span([b.version for b in blds])}"
        if variants and any(b.package in ("torch", "jax", "cupy") for b in blds):
            what += f" ({', '.join(variants)})"
        elif blds[0].source_build:
            what += f" (CUDA {', '.join(dict.fromkeys(str(b.cuda_major) for b in blds))} builds)"
        lines.append(f"{what}: {text}")
    if len(groups) > limit:
        lines.append(f"(and {len(groups) - limit} more reason(s) for older builds)")
    return lines


def arch_note(b: Build, t: Target) -> str:
    """How each GPU is covered by the chosen build, when it is not by the obvious exact match."""
    notes = []
    for g in t.gpus:
        if not g.cc:
            continue
        exact = f"sm_{cc_int(g.cc)}"
        if b.archs:
            if exact in b.archs:
                continue
            sass = [a for a in b.archs if a.startswith("sm_") and build_runs_on((a,), g.cc)]
            if sass:
                notes.append(f"{g.describe()} runs its {sass[-1]} code (same major, newer minor)")
        elif b.cc_min:
            notes.append(f"{g.describe()} meets its compute capability floor {b.cc_min}")
    return "; ".join(notes)


def chosen_line(v: Verdict, t: Target) -> str:
    b = v.build
    if not b.gpu:
        return f"so {b.label}"
    if b.source_build:
        parts = [f"a source build with CUDA {b.cuda}"]
        head = f"so {b.dist} {b.version}"
    else:
        parts = [f"CUDA {b.cuda_major}.x (any {b.cuda_major}.x >= {cuda_mm(b.cuda)})" if b.package == "cupy" else f"CUDA {cuda_mm(b.cuda)}"]
        head = f"so {b.label}"
    if b.archs:
        parts.append(f"code for {arch_span(b.archs)}")
    note = arch_note(b, t)
    if note:
        parts.append(note)
    if t.driver:
        parts.append(f"driver {t.driver} runs it " + ("natively" if v.native else "through minor-version compatibility"))
    return f"{head} ({'; '.join(parts)})"


def driver_context(t: Target) -> str:
    if not t.driver:
        return ""
    from gpuready.knowledge.cuda import minor_compat_floor

    majors = []
    for major in (13, 12, 11):
        floor = minor_compat_floor(major, t.driver_os)
        if floor:
            ok = vtuple(t.driver) >= vtuple(floor)
            majors.append(f"CUDA {major}.x {'runs' if ok else 'needs'} >= {floor}")
    return f"driver {t.driver} supports CUDA <= {t.driver_cuda or '?'} ({'; '.join(majors)})"


def nearest_python(specifier: str, current: str) -> str:
    cur = vtuple(current)[:2]
    fits = [p for p in PYTHONS if pep440.contains(specifier, p + ".0")]
    if not fits:
        return ""
    return min(fits, key=lambda p: (abs(vtuple(p)[1] - cur[1]) if len(cur) > 1 else 0, -vtuple(p)[1]))


def prefer(v: Verdict):
    """The planner's order of builds (newest, native CUDA, PyPI's own build, stable, newer CUDA)."""
    b = v.build
    return (b.key, v.native, b.pypi_default, b.stable, vtuple(b.cuda))


def _need(v: Verdict, kinds: tuple[str, ...]) -> str:
    needs = [p.need for p in v.problems if p.kind in kinds and p.need]
    return max(needs, key=vtuple) if needs else ""


@dataclass(frozen=True)
class Fix:
    kind: str  # "driver", "python", "os"
    change: str  # "upgrade the NVIDIA driver to >= 525.60.13"
    gets: str  # the build it unlocks: "torch 2.14.1+cu126"
    extra: str = ""  # "; >= 450.80.02 already gets torch 2.4.1+cu118"

    @property
    def text(self) -> str:
        return f"{self.change} (gets {self.gets}{self.extra})"


def fixes_for(name: str, gpu_verdicts: list[Verdict], t: Target) -> list[Fix]:
    """Each single change that would make some GPU build of `name` fit, smallest first."""
    out: list[Fix] = []
    by_kinds: dict[frozenset[str], list[Verdict]] = {}
    confirmed = [v for v in gpu_verdicts if v.build.confirmed]
    for v in confirmed or gpu_verdicts:
        by_kinds.setdefault(v.kinds(), []).append(v)

    driver_kinds = ("driver", "ptx_driver", "no_driver")
    drv = [v for k, vs in by_kinds.items() if k and k <= frozenset(driver_kinds) for v in vs]
    if drv:
        newest = max(v.build.key for v in drv)
        top = [v for v in drv if v.build.key == newest]
        x_top = min((_need(v, driver_kinds) for v in top), key=vtuple)
        best = max((v for v in top if _need(v, driver_kinds) == x_top), key=prefer)
        x_best = _need(best, driver_kinds)
        cheapest = min(drv, key=lambda v: (vtuple(_need(v, driver_kinds)), [-x for x in v.build.key.release]))
        x_min = _need(cheapest, driver_kinds)
        verb = "install the NVIDIA driver" if "no_driver" in best.kinds() else "upgrade the NVIDIA driver to"
        extra = f"; >= {x_min} already gets {cheapest.build.label}" if x_min and x_best and vtuple(x_min) < vtuple(x_best) else ""
        out.append(Fix("driver", f"{verb} >= {x_best}" if x_best else verb, best.build.label, extra))
    py = by_kinds.get(frozenset({"python"}), [])
    if py:
        # the Python nearest to this one that unlocks any GPU build; then that Python's newest build
        cur = vtuple(t.python)[:2]
        options = [(nearest_python(v.build.python, t.python), v) for v in py]
        options = [(p, v) for p, v in options if p]
        target_py = min((p for p, _ in options), key=lambda p: (abs(vtuple(p)[1] - cur[1]) if len(cur) > 1 else 0, -vtuple(p)[1]), default="")
        best = max((v for p, v in options if p == target_py), key=prefer, default=None)
        if target_py and best is not None:
            out.append(Fix("python", f"use Python {target_py}", best.build.label,
                           f", which has wheels for {describe_python(best.build.python)}"))
    osv = by_kinds.get(frozenset({"os"}), [])
    if osv:
        best = max(osv, key=prefer)
        where = "Linux (on Windows: WSL2)" if t.os == "windows" else "a Linux or Windows machine with an NVIDIA GPU"
        out.append(Fix("os", f"use {where}", best.build.label))
    return out


def blocking_text(name: str, gpu_verdicts: list[Verdict], t: Target) -> tuple[str, str]:
    """(what blocks, cause label) from the newest GPU builds' problems."""
    if not gpu_verdicts:
        return f"gpuready knows no GPU build of {name} for {t.describe_os()}", "platform_unsupported"
    newest = max(v.build.key for v in gpu_verdicts)
    top = [v for v in gpu_verdicts if v.build.key == newest and v.problems]
    if not top:
        top = [v for v in gpu_verdicts if v.problems][:1]
    texts = list(dict.fromkeys(p.text for v in top for p in v.problems))
    label = top[0].problems[0].label if top else "other"
    return f"{name} {version_span([v.build.version for v in top])}: " + "; ".join(texts[:3]), label


def fallback_fix(name: str, label: str, gpu_verdicts: list[Verdict], t: Target) -> str:
    """When no single change fits: say what kind of machine would run a GPU build, never leave it blank."""
    if not gpu_verdicts:
        return f"none on this platform; {name}'s GPU builds need {'Linux x86_64' if t.arch != 'x86_64' else 'Linux'}"
    if label in ("arch_unsupported", "build_arch_unsupported"):
        floors = [v.build.cc_min for v in gpu_verdicts if v.build.cc_min]
        sass = sorted({a for v in gpu_verdicts for a in v.build.archs if a.startswith("sm_")}, key=cc_int)
        span = f"compute capability >= {min(floors, key=cc_int)}" if floors else (f"{sass[0]}..{sass[-1]}" if sass else "")
        return f"none for this GPU; {name}'s GPU builds cover {span}" if span else "none for this GPU"
    return "none known: the CPU build is planned"
