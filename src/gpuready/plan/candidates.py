"""The builds a request could get here: every build the data lists (and the source builds this machine could
make), narrowed by the request's specifier, variant and CUDA pins, each with its static verdict on this machine."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from gpuready.knowledge import pep440
from gpuready.knowledge.packages import KINDS, Build, builds
from gpuready.plan.evaluate import Verdict, evaluate
from gpuready.plan.model import SourceContext
from gpuready.plan.requests import Request
from gpuready.plan.source import source_gpu_builds
from gpuready.plan.target import Target

OPENCV_DISTS = {
    # what was typed -> (GPU source build, CPU wheel)
    "opencv-python": ("opencv-contrib-python", "opencv-python"),
    "opencv-contrib-python": ("opencv-contrib-python", "opencv-contrib-python"),
    "opencv-python-headless": ("opencv-contrib-python-headless", "opencv-python-headless"),
    "opencv-contrib-python-headless": ("opencv-contrib-python-headless", "opencv-contrib-python-headless"),
}


@dataclass
class Candidates:
    request: Request
    verdicts: list[Verdict]  # every build the request allows, newest first, with its static verdict
    excluded: list[tuple[Build, str]] = field(default_factory=list)  # builds the request itself rules out
    unlisted: list[Build] = field(default_factory=list)  # builds with no file confirmed on their index (planned only when pinned)
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.request.name

    def gpu(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.build.gpu]


def exact_pin(req: Request) -> str:
    s = req.specifier
    if s.startswith("==") and "," not in s and "*" not in s:
        return s[2:]
    return ""


def candidates(req: Request, t: Target, ctx: SourceContext) -> Candidates:
    all_builds = list(builds(req.name))
    if KINDS[req.name] == "source":
        all_builds = source_gpu_builds(req.name, t, ctx) + all_builds
        all_builds.sort(key=lambda b: b.key, reverse=True)
    if req.name == "opencv" and req.dist in OPENCV_DISTS:
        gpu_dist, cpu_dist = OPENCV_DISTS[req.dist]
        all_builds = [dataclasses.replace(b, dist=gpu_dist if b.gpu else cpu_dist) for b in all_builds]
    c = Candidates(req, [])
    pin = exact_pin(req)
    variant_pin = ""
    spec_req = req
    if pin and "+" in pin:  # torch==2.4.1+cu121: a version and a variant
        pin, variant_pin = pin.split("+", 1)
        spec_req = dataclasses.replace(req, specifier=f"=={pin}")
    allowed = [b for b in all_builds if spec_req.allows(b.version)]
    if not allowed and pin:
        # A patch release the data does not list: plan it like the nearest known release of its major.minor
        # (the newest one before it, else the oldest one after it: jax 0.7.0 is like 0.7.1, not like 0.7.2,
        # whose cuda13 plugin 0.7.0 never had).
        series = ".".join(pin.split(".")[:2])
        same = [b for b in all_builds if b.version.startswith(series + ".") or b.series == series]
        if same:
            want = pep440.version(pin)
            before = [b.key for b in same if b.key <= want]
            nearest = max(before) if before else min(b.key for b in same)
            allowed = [dataclasses.replace(b, version=pin, notes=b.notes + (f"{req.name} {pin} is not in gpuready's data; planned like {b.version}",))
                       for b in same if b.key == nearest]
    kept = {(a.series, a.variant, a.version) for a in allowed} | {id(a) for a in allowed}
    for b in all_builds:
        if id(b) not in kept and (b.series, b.variant, b.version) not in kept:
            c.excluded.append((b, f"excluded by your requirement {req.raw}"))
    for b in allowed:
        if t.arch not in b.platforms:
            continue  # a build for another CPU says nothing about this machine
        why = ""
        if variant_pin and b.variant != variant_pin:
            why = f"you asked for the {variant_pin} build"
        elif req.cuda_major and b.gpu and b.cuda_major != req.cuda_major:
            why = f"you asked for a CUDA {req.cuda_major} build ({req.raw})"
        if why:
            c.excluded.append((b, why))
            continue
        v = evaluate(b, t)
        if not v.listed and not pin:
            # The checker found no file for this pin on its index (or could not look): not planned unless asked for.
            c.unlisted.append(b)
            continue
        c.verdicts.append(v)
    return c
