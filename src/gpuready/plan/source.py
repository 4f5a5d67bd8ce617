"""Source builds (dlib, OpenCV) as plan candidates, decided by the build stage itself.

There are no CUDA wheels of dlib or OpenCV, so "which build fits" depends on this machine: the CUDA
toolkits it has (or the NVIDIA pip wheels that stand in for one), its cuDNN copies, the host
compilers nvcc accepts. `gpuready.build.settings.build_settings` makes that decision for the build;
the plan asks it, once per CUDA major a release supports, so the same joint choice of CUDA major
applies to source builds and wheels alike, and the chosen build's settings are exactly what
`gpuready install` will build (there is no second copy of the toolkit, cuDNN or compiler rules here).
"""

from __future__ import annotations

from gpuready.build.settings import build_settings
from gpuready.knowledge.cuda import cc_str, vtuple
from gpuready.knowledge.packages import Build, package_info, parse_version, source_releases
from gpuready.plan.evaluate import arch_list
from gpuready.plan.model import SourceContext
from gpuready.plan.target import Target


def settings_for(t: Target, package: str, version: str, cuda_major: int | None, ctx: SourceContext) -> dict:
    """The build stage's settings for one (package, version, CUDA major) on the target, computed once."""
    key = (package, version, cuda_major if cuda_major is not None else -1)
    if key not in ctx.choices:
        ctx.choices[key] = build_settings(t.machine, package, version, cuda_major=cuda_major)
    return ctx.choices[key]


def source_gpu_builds(name: str, t: Target, ctx: SourceContext) -> list[Build]:
    """One GPU source build per (release version, CUDA major) for which the build stage finds a toolkit here."""
    info = package_info(name)
    out: list[Build] = []
    if t.os not in ("linux", "windows"):
        return out
    for rel in source_releases(name):
        if not rel.gpu:
            continue
        newest = max(rel.versions, key=parse_version)
        for major in sorted(rel.cuda_majors, reverse=True):
            s = settings_for(t, name, newest, major, ctx)
            cuda = s["cuda_version"]
            if not cuda:
                continue  # no toolkit of this CUDA major can build it here
            cudnn = s["cudnn"]["version"]
            row = arch_list(cuda)
            notes = [rel.note] if rel.note else []
            for version in sorted(rel.versions, key=parse_version, reverse=True):
                out.append(Build(
                    package=name, series=rel.version, version=version, variant="source",
                    dist=info.gpu_dist or name, python=rel.python, source=rel.source, gpu=True,
                    cuda=cuda, cudnn=cudnn, cudnn_major=vtuple(cudnn)[0] if vtuple(cudnn) else 0,
                    cc_min=cc_str(row.lowest) if row else "", os=("linux", "windows"), platforms=("x86_64", "aarch64"),
                    source_build=True, confirmed=rel.confirmed, notes=tuple(notes),
                ))
    out.sort(key=lambda b: b.key, reverse=True)
    return out


def plan_build_settings(t: Target, build: Build, ctx: SourceContext) -> tuple[dict, bool]:
    """(the build dict for the chosen source build, whether the plan forces its CUDA major). Forced means the
    build stage left alone would pick another major (TensorFlow holds the plan on CUDA 12 next to a CUDA 13
    system toolkit): the install command then carries `--cuda-major`."""
    settings = settings_for(t, build.package, build.version, build.cuda_major, ctx)
    default = settings_for(t, build.package, build.version, None, ctx)
    return settings, vtuple(default["cuda_version"])[:1] != (build.cuda_major,)
