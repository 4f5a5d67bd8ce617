"""The planner: one shared CUDA major (and cuDNN major), then the newest fitting build of each package.

Why jointly: every CUDA wheel set installs into the same `site-packages/nvidia/...` folders and
every framework loads `libcudnn.so.N` into the same process, so torch built for CUDA 13 next to
TensorFlow built for CUDA 12 means two cuDNN copies fighting over one file name. The planner tries
each (CUDA major, cuDNN major) pair that some build could use here, picks per package the newest
build that fits that pair, and keeps the pair under which the most packages get the GPU (then the
newest versions, then the newer CUDA). A package that cannot use the GPU gets its CPU build, and the
plan says why and what would change that.

The steps are modules of their own: `candidates.py` (the builds a request allows here), `choose.py` (the
shared pair and the pick per package), `packageplan.py` (each package's plan, reasons and blockers),
`companions.py` (torchvision/torchaudio next to torch).
"""

from __future__ import annotations

import dataclasses

from gpuready.indexconfig import IndexConfig, configured_torch_mirror, portable, read_index_config
from gpuready.knowledge.packages import KINDS, Build
from gpuready.machine import Machine
from gpuready.plan import explain
from gpuready.plan.candidates import candidates
from gpuready.plan.choose import choose, pick_cpu
from gpuready.plan.companions import companion_plan, with_companions
from gpuready.plan.evaluate import Verdict, cuda_mm, vtuple
from gpuready.plan.model import Blocked, PackagePlan, Plan, SourceContext
from gpuready.plan.packageplan import package_plan, plain_plan
from gpuready.plan.requests import COMPANIONS, Request, parse_requests
from gpuready.plan.target import Target, target_from_machine


def is_this_machine(machine: Machine) -> bool:
    """Whether `machine` is the one we run on (a fresh probe) rather than a saved one from elsewhere.

    Host names repeat (every cloud VM is "vm" or "localhost"), so the inspected interpreter must also
    exist here.
    """
    import os
    import socket

    if machine.hostname and machine.hostname != socket.gethostname():
        return False
    return not machine.python.executable or os.path.exists(machine.python.executable)


def make_plan(
    machine: Machine,
    requests: list[str] | list[Request],
    *,
    index_url: str | None = None,
    mirror: str | None = None,
    index_config: IndexConfig | None = None,
) -> Plan:
    """Plan `requests` for `machine`: versions, variants, install commands, reasons, blockers."""
    if all(isinstance(r, Request) for r in requests) and requests:
        reqs = list(requests)  # already parsed (install_hint passes these)
    else:
        reqs = parse_requests([str(r) for r in requests])  # raises RequestError for nothing or nonsense
    t = target_from_machine(machine)
    if index_config is None:
        here = is_this_machine(machine)
        idx = read_index_config(index_url=index_url, mirror=mirror, prefix=(machine.python.prefix or None) if here else None)
        if not here:
            idx = portable(idx)
    else:
        idx = index_config
        if index_url:
            idx = dataclasses.replace(idx, index_url=index_url, origin="--index-url")
        if mirror:
            torch = configured_torch_mirror(mirror=mirror)
            idx = dataclasses.replace(idx, pytorch_base=torch.base, pytorch_origin=torch.origin, pytorch_style=torch.style)
    ctx = SourceContext()
    main = [r for r in reqs if r.name not in COMPANIONS and KINDS[r.name] in ("wheel", "source")]
    cands = [candidates(r, t, ctx) for r in main]
    wanted = [r.name for r in reqs if r.name in COMPANIONS]
    for c in cands:
        if c.name == "torch" and wanted:
            c.verdicts = [with_companions(v, wanted, t, idx) for v in c.verdicts]
    pypi_here = t.os == "linux" and t.arch == "x86_64"
    (major, cudnn), picks = choose(cands, pypi_here)
    solo = {c.name: choose([c], pypi_here)[1][c.name] for c in cands} if len(cands) > 1 else dict(picks)
    chosen: dict[str, Verdict | None] = {}
    for c in cands:
        chosen[c.name] = picks[c.name] or pick_cpu(c)

    done: dict[str, tuple[PackagePlan, Blocked | None]] = {}
    by_name = {c.name: c for c in cands}
    for r in reqs:  # packages with builds of their own first ...
        if r.name in by_name:
            c = by_name[r.name]
            done[r.name] = package_plan(c, chosen[c.name], solo.get(c.name), (major, cudnn), cands, picks, t, idx, ctx)
    for r in reqs:  # ... then what rides on them
        if r.name in COMPANIONS:
            done[r.name] = (companion_plan(r, [p for p, _ in done.values()], chosen.get("torch"), t, idx), None)
        elif KINDS[r.name] == "plain":
            done[r.name] = plain_plan(r, t, idx, [p for p, _ in done.values()])
    plans = [done[r.name][0] for r in reqs]
    blocked = [done[r.name][1] for r in reqs if done[r.name][1] is not None]

    gpu_builds = [v.build for v in chosen.values() if v is not None and v.build.gpu]
    cuda = max((cuda_mm(b.cuda) for b in gpu_builds), key=vtuple) if gpu_builds else None
    cudnn_majors = sorted({b.cudnn_major for b in gpu_builds if b.cudnn_major})
    cudnn_text = str(cudnn) if cudnn and gpu_builds else (str(cudnn_majors[0]) if len(cudnn_majors) == 1 else None)
    return Plan(
        cuda=cuda,
        cudnn=cudnn_text,
        packages=tuple(plans),
        blocked=tuple(blocked),
        machine=tuple(machine_lines(t, idx)),
        notes=tuple(_plan_notes(major, cudnn, gpu_builds)) + idx.notes,
        index=idx.to_dict(),
    )


def machine_lines(t: Target, idx: IndexConfig) -> list[str]:
    m = t.machine
    lines = [f"{m.os.distro or t.os} ({t.describe_os()}), Python {t.python}"]
    if t.driver:
        lines.append(explain.driver_context(t))
    elif t.has_gpu:
        lines.append(f"{t.nvidia_devices or len(t.gpus)} NVIDIA GPU(s) but no NVIDIA driver loaded")
    else:
        lines.append("no NVIDIA GPU or driver found")
    lines += [f"GPU {g.index}: {g.describe()}" for g in t.gpus]
    if idx.custom_index:
        lines.append(f"package index {idx.index_url} (from {idx.origin})")
    if idx.pytorch_origin != "default":
        kind = "find-links page" if idx.pytorch_style == "find-links" else "index mirror"
        lines.append(f"PyTorch {kind} {idx.pytorch_base} (from {idx.pytorch_origin})")
    if m.description:
        lines.append(m.description)
    return lines


def _plan_notes(major: int, cudnn: int, gpu_builds: list[Build]) -> list[str]:
    notes = []
    if len(gpu_builds) > 1 and major:
        names = ", ".join(b.package for b in gpu_builds)
        notes.append(f"{names} share CUDA {major}" + (f" and cuDNN {cudnn}" if cudnn else "")
                     + ": one set of NVIDIA CUDA/cuDNN libraries in this environment")
    return notes
