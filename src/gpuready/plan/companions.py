"""torchvision and torchaudio: the release paired with the chosen torch build, where it comes from, and the torch
builds a requested companion rules out (no file for this Python/platform)."""

from __future__ import annotations

import dataclasses

from gpuready.indexconfig import IndexConfig
from gpuready.knowledge.packages import Build, torch_companion, torch_companion_on_pypi
from gpuready.plan import explain
from gpuready.plan.evaluate import Verdict
from gpuready.plan.installs import install_for, via_pypi
from gpuready.plan.model import PackagePlan
from gpuready.plan.requests import Request
from gpuready.plan.target import Target


def companion_fixes(verdicts: list[Verdict], t: Target) -> list[str]:
    """torch builds that only a companion's missing files rule out: the Python that has them, or no companion."""
    out: list[str] = []
    for v in verdicts:
        comp = [p for p in v.problems if p.kind == "companion"]
        if comp and len(comp) == len(v.problems):
            for p in comp:
                if p.need:
                    py = explain.nearest_python(p.need, t.python)
                    if py:
                        out.append(f"use Python {py} (gets {v.build.label}; {p.text.removeprefix('needs ')})")
            out.append(f"plan torch without {', '.join(sorted({p.text.split()[1] for p in comp}))} "
                       f"(gets {v.build.label})")
            break
    return out


def companion_install(name: str, b: Build, t: Target, idx: IndexConfig) -> tuple[str, list[str], str | None, bool, list[str]] | None:
    """How torchvision/torchaudio is installed next to torch build `b`: (version, argv, index_url, tagged, reasons).

    Paired releases built per variant come from the same index as torch (torchvision with the `+cuXY`
    tag); a stable-ABI release that serves every variant (torchaudio 2.11.1, torchvision 0.29.2) is
    one wheel on PyPI and comes from the user's index, untagged. None when the data pairs none.
    """
    version = torch_companion(name, b.version)
    if not version:
        return None
    if torch_companion_on_pypi(name, b.version):
        comp = dataclasses.replace(b, package=name, dist=name, version=version, extras=(), index="pypi", local_tag=False,
                                   index_style="", no_deps=False, source_build=False)
        argv, index_url, reasons = install_for(comp, t, idx)
        why = (f"{name} {version} is one wheel on PyPI for every torch build (stable ABI, Requires-Dist torch>={b.series}): "
               f"installed from {'your index' if idx.custom_index else 'PyPI'}, not per {b.variant}")
        return version, argv, index_url, False, [why, *reasons]
    # torchaudio wheels on the PyTorch index carry no local tag in the pinned commands of most eras.
    tagged = name == "torchvision" and b.local_tag and not via_pypi(b, t)
    comp = dataclasses.replace(b, package=name, dist=name, version=version, extras=(), local_tag=tagged)
    argv, index_url, reasons = install_for(comp, t, idx)
    if not tagged and argv[:2] == ["pip", "install"]:
        argv = [a if not a.startswith(f"{name}==") else f"{name}=={version}" for a in argv]
    why = f"{name} {version} is the release paired with torch {b.version}; it must come from the same {b.variant} build as torch"
    return version, argv, index_url, tagged, [why, *reasons]


def with_companions(v: Verdict, names: list[str], t: Target, idx: IndexConfig) -> Verdict:
    """A torch build whose requested torchvision/torchaudio has no file for this Python/platform does not fit
    (torch 1.13 has Python 3.11 wheels, torchvision 0.14 does not): say so on the torch build."""
    from gpuready.knowledge import availability
    from gpuready.plan.evaluate import Problem, python_span

    if not availability.loaded():
        return v
    extra: list[Problem] = []
    for name in names:
        found = companion_install(name, v.build, t, idx)
        if found is None:
            continue
        version, argv, _, tagged, _ = found
        key = _companion_key(name, version, v.build, t, tagged, argv)
        entry = availability.entry(key)
        if entry is None:
            continue  # not known either way (an unconfirmable index): the torch build decides
        minors = availability.pythons(entry, t.os, t.arch)
        mine = int(t.python_minor.split(".")[1])
        if mine not in minors:
            what = python_span(minors) if minors else f"no {t.os} {t.arch}"
            extra.append(Problem("companion", f"needs {name} {version}, which has files for {what} only, not Python "
                                 f"{t.python_minor}", "no_matching_distribution",
                                 f">=3.{min(minors)},<3.{max(minors) + 1}" if minors else ""))
    if not extra:
        return v
    return dataclasses.replace(v, problems=v.problems + tuple(extra))


def _companion_key(name: str, version: str, b: Build, t: Target, tagged: bool, argv: list[str]) -> str:
    from gpuready.plan.evaluate import _canonical

    if "--index-url" in argv or "--extra-index-url" in argv or "--find-links" in argv:
        urls = [argv[i + 1] for i, a in enumerate(argv) if a in ("--index-url", "--extra-index-url", "--find-links")]
        py_url = next((u for u in urls if "download.pytorch.org" in u), "")
        if py_url:
            index = "pytorch:stable" if py_url.endswith("torch_stable.html") else "pytorch:" + py_url.rstrip("/").rsplit("/", 1)[1]
            pinned = next((a.split("==", 1)[1] for a in argv if a.startswith(f"{name}==")), version)
            return f"{index}|{_canonical(name)}|{pinned}|wheel"
    return f"pypi|{_canonical(name)}|{version}|wheel"


def companion_plan(r: Request, plans: list[PackagePlan], torch_v: Verdict | None, t: Target, idx: IndexConfig) -> PackagePlan:
    torch_plan = next((p for p in plans if p.name == "torch"), None)
    if torch_v is None or torch_plan is None or torch_plan.version is None:
        return PackagePlan(r.name, None, "none", False, (), ("no torch build fits here, so no matching " + r.name,))
    b = torch_v.build
    found = companion_install(r.name, b, t, idx)
    if found is None:
        return PackagePlan(r.name, None, b.variant, b.gpu, (), (f"gpuready has no {r.name} version paired with torch {b.version}",))
    version, argv, index_url, tagged, reasons = found
    if r.specifier and not r.allows(version):
        return PackagePlan(r.name, None, b.variant, b.gpu, (), (f"{r.name} {version} is the release paired with torch {b.version}, "
                                                              f"which your requirement {r.raw} excludes",))
    return PackagePlan(r.name, version, b.variant, b.gpu, tuple(argv), tuple(reasons), index_url=index_url, dist=r.name,
                       label=f"{r.name} {version}" + (f"+{b.variant}" if tagged else ""), cuda=torch_plan.cuda,
                       requested=not r.implied_by, source=b.source)
