"""Choosing among the candidates: per package the best build for a (CUDA major, cuDNN major) pair, and the
pair under which the most packages get the GPU (then the newest versions, then the newer CUDA)."""

from __future__ import annotations

from gpuready.knowledge import pep440
from gpuready.plan.candidates import Candidates
from gpuready.plan.evaluate import Verdict, vtuple

ZERO = pep440.ZERO


def _gpu_key(v: Verdict, pypi_here: bool):
    """Newest version first; within it: no minor-version-compat reliance, PyPI's own build (what pip gives,
    from the user's index), the release matrix's stable CUDA, pip-provided CUDA over a system one, newer CUDA."""
    b = v.build
    return (b.confirmed, b.key, v.native, pypi_here and b.pypi_default, b.stable, not b.system_cuda, vtuple(b.cuda))


def pick_gpu(c: Candidates, major: int, cudnn: int, pypi_here: bool = True) -> Verdict | None:
    best: Verdict | None = None
    for v in c.verdicts:
        b = v.build
        if not b.gpu or not v.ok:
            continue
        if major and b.cuda_major != major:
            continue
        if cudnn and b.cudnn_major and b.cudnn_major != cudnn:
            continue
        if best is None or _gpu_key(v, pypi_here) > _gpu_key(best, pypi_here):
            best = v
    return best


def pick_cpu(c: Candidates) -> Verdict | None:
    best: Verdict | None = None
    for v in c.verdicts:
        b = v.build
        if b.gpu or not v.ok:
            continue
        key = (b.confirmed, b.key, not b.source_build)
        if best is None or key > (best.build.confirmed, best.build.key, not best.build.source_build):
            best = v
    return best


def combos(cands: list[Candidates]) -> list[tuple[int, int]]:
    pairs = {(v.build.cuda_major, v.build.cudnn_major) for c in cands for v in c.verdicts if v.ok and v.build.gpu}
    out = []
    for major in sorted({m for m, _ in pairs}, reverse=True):
        ks = sorted({k for m, k in pairs if m == major and k}, reverse=True) or [0]
        out += [(major, k) for k in ks]
    return out or [(0, 0)]


def choose(cands: list[Candidates], pypi_here: bool = True) -> tuple[tuple[int, int], dict[str, Verdict | None]]:
    best_score = None
    best: tuple[tuple[int, int], dict[str, Verdict | None]] = ((0, 0), {c.name: None for c in cands})
    for major, cudnn in combos(cands):
        picks = {c.name: pick_gpu(c, major, cudnn, pypi_here) for c in cands}
        score = (
            sum(p is not None for p in picks.values()),
            tuple(p.build.key if p else ZERO for p in picks.values()),
            major,
            cudnn,
        )
        if best_score is None or score > best_score:
            best_score, best = score, ((major, cudnn), picks)
    return best
