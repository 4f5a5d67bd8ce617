"""The planner: one shared CUDA major (and cuDNN major), then the newest fitting build of each package.

Why jointly: every CUDA wheel set installs into the same `site-packages/nvidia/...` folders and
every framework loads `libcudnn.so.N` into the same process, so torch built for CUDA 13 next to
TensorFlow built for CUDA 12 means two cuDNN copies fighting over one file name. The planner tries
each (CUDA major, cuDNN major) pair that some build could use here, picks per package the newest
build that fits that pair, and keeps the pair under which the most packages get the GPU (then the
newest versions, then the newer CUDA). A package that cannot use the GPU gets its CPU build, and the
plan says why and what would change that.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from gpuready.plan.evaluate import cuda_mm, vtuple
from gpuready.knowledge import pep440
from gpuready.knowledge.packages import KINDS, Build, builds, package_info, torch_companion
from gpuready.machine import Machine
from gpuready.plan import explain
from gpuready.plan.evaluate import Verdict, evaluate
from gpuready.indexconfig import IndexConfig, configured_torch_mirror, portable, read_index_config
from gpuready.plan.installs import install_for, system_requirements, via_pypi
from gpuready.plan.model import Blocked, PackagePlan, Plan, SourceContext
from gpuready.plan.source import plan_build_settings, source_gpu_builds
from gpuready.plan.requests import COMPANIONS, Request, parse_requests
from gpuready.plan.target import Target, target_from_machine

ZERO = pep440.ZERO
IMPLIED = {
    ("jax", "theano"): "added: PyTensor (Theano's successor) reaches the GPU through JAX",
    ("jax", "pytensor"): "added: PyTensor reaches the GPU through JAX",
    ("torch", "torchvision"): "added: torchvision must be installed with the torch build it was made for",
    ("torch", "torchaudio"): "added: torchaudio must be installed with the torch build it was made for",
    ("dlib", "face_recognition"): "added: face_recognition uses the GPU only through a CUDA build of dlib",
}
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
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.request.name

    def gpu(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.build.gpu]


# --- candidates ------------------------------------------------------------------------------------


def _exact_pin(req: Request) -> str:
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
    pin = _exact_pin(req)
    variant_pin = ""
    spec_req = req
    if pin and "+" in pin:  # torch==2.4.1+cu121: a version and a variant
        pin, variant_pin = pin.split("+", 1)
        spec_req = dataclasses.replace(req, specifier=f"=={pin}")
    allowed = [b for b in all_builds if spec_req.allows(b.version)]
    if not allowed and pin:
        # A patch release the data does not list: plan it like the newest known release of its series.
        series = ".".join(pin.split(".")[:2])
        same = [b for b in all_builds if b.version.startswith(series + ".") or b.series == series]
        if same:
            newest = max(b.key for b in same)
            allowed = [dataclasses.replace(b, version=pin, notes=b.notes + (f"{req.name} {pin} is not in gpuready's data; planned like {b.version}",))
                       for b in same if b.key == newest]
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
        c.verdicts.append(evaluate(b, t))
    return c


# --- choosing --------------------------------------------------------------------------------------


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


# --- the plan --------------------------------------------------------------------------------------


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
            done[r.name] = _package_plan(c, chosen[c.name], solo.get(c.name), (major, cudnn), cands, picks, t, idx, ctx)
    for r in reqs:  # ... then what rides on them
        if r.name in COMPANIONS:
            done[r.name] = (_companion_plan(r, [p for p, _ in done.values()], chosen.get("torch"), t, idx), None)
        elif KINDS[r.name] == "plain":
            done[r.name] = _plain_plan(r, t, idx, [p for p, _ in done.values()])
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
        machine=tuple(_machine_lines(t, idx)),
        notes=tuple(_plan_notes(major, cudnn, gpu_builds)) + idx.notes,
        index=idx.to_dict(),
    )


def _machine_lines(t: Target, idx: IndexConfig) -> list[str]:
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


def _rejections(c: Candidates, v: Verdict | None, joint: tuple[int, int], picks) -> list[tuple[Build, str, str]]:
    """Why GPU builds newer than (or as new as) the chosen one were not taken."""
    chosen_key = v.build.key if v is not None and v.build.gpu else ZERO
    out: list[tuple[Build, str]] = []
    major, cudnn = joint
    others = [n for n, p in picks.items() if p is not None and n != c.name]
    here = {(x.build.version, x.build.variant) for x in c.gpu() if not (x.kinds() & {"os", "platform"})}
    for cand in c.gpu():
        b = cand.build
        if v is not None and b == v.build:
            continue
        if b.key < chosen_key:
            continue
        if (b.version, b.variant) in here and cand.kinds() & {"os", "platform"}:
            continue  # the same build for another OS/CPU: not a reason
        if cand.problems:
            for p in cand.problems:
                out.append((b, p.text, p.kind))
        elif major and b.cuda_major != major and b.source_build:
            continue  # a source build's CUDA major is a toolkit choice, explained in its build settings
        elif major and b.cuda_major != major:
            out.append((b, f"is a CUDA {b.cuda_major} build; the plan shares CUDA {major} with {', '.join(others)}" if others
                        else f"also fits; the CUDA {major} build is preferred (newer CUDA)", "joint"))
        elif cudnn and b.cudnn_major and b.cudnn_major != cudnn:
            out.append((b, f"links cuDNN {b.cudnn_major}; the plan shares cuDNN {cudnn} with {', '.join(others)}", "joint"))
        elif v is not None and b.key == chosen_key:
            why = []
            if v.native and not cand.native:
                why.append("needs minor-version compatibility on this driver")
            if v.build.pypi_default and not b.pypi_default and v.native == cand.native:
                why.append("is not PyPI's own build of this release")
            elif v.build.stable and not b.stable:
                why.append("is marked experimental in the release matrix")
            if not b.confirmed:
                why.append("is not confirmed")
            if why:
                out.append((b, " and ".join(why), "preference"))
        elif not b.confirmed:
            out.append((b, "its facts are not confirmed (planned only when nothing confirmed fits)", "unconfirmed"))
    out.extend((b, text, "constraint") for b, text in c.excluded if b.gpu and b.key >= chosen_key)
    return out


def _package_plan(c: Candidates, v: Verdict | None, solo: Verdict | None, joint, cands, picks, t: Target,
                  idx: IndexConfig, ctx: SourceContext) -> tuple[PackagePlan, Blocked | None]:
    r = c.request
    info = package_info(r.name)
    reasons: list[str] = []
    if r.implied_by:
        reasons.append(IMPLIED.get((r.name, r.implied_by), f"added because {r.implied_by} needs it"))
    if r.specifier:
        reasons.append(f"your requirement: {r.raw}")
    if not t.has_gpu:
        reasons.append("no NVIDIA GPU on this machine (no driver, nothing NVIDIA on the PCI bus): the CPU build"
                       if t.os != "macos" else "macOS has no CUDA: the CPU build")
    elif not t.driver:
        reasons.append("an NVIDIA GPU is present but no driver is loaded: the CPU build until the driver is installed")
    rejected = _rejections(c, v, joint, picks) if t.has_gpu else []
    if t.driver and any(kind in ("driver", "ptx_driver") for _, _, kind in rejected):
        reasons.append(explain.driver_context(t))
    reasons.extend(explain.group_rejections(r.name, [(b, text) for b, text, _ in rejected]))
    if v is None:
        blocking, label = explain.blocking_text(r.name, c.verdicts, t) if c.verdicts else (
            f"no {r.name} release matches {r.raw}", "no_matching_distribution")
        fixes = [f.text for f in explain.fixes_for(r.name, c.verdicts, t)]
        if c.excluded and not c.verdicts:
            fixes.append(f"relax your requirement {r.raw}")
        if r.name == "cupy" and not any(not x.build.gpu for x in c.verdicts):
            blocking = "CuPy has no CPU build; " + blocking
            if not t.has_gpu:
                fixes.append("on a machine without an NVIDIA GPU use NumPy (CuPy's API mirrors it)")
        if not fixes:
            fixes.append(explain.fallback_fix(r.name, label, c.gpu(), t))
        plan = PackagePlan(r.name, None, "none", False, (), tuple(reasons + [f"nothing installable: {blocking}"]),
                           requested=not r.implied_by)
        return plan, Blocked(r.name, blocking, fixes[0], tuple(fixes), label or "no_matching_distribution")
    b = v.build
    reasons.append(explain.chosen_line(v, t))
    reasons.extend(v.notes)
    if b.gpu and solo is not None and solo.build != b and joint[0]:
        others = [n for n, p in picks.items() if p is not None and n != r.name]
        reasons.append(f"{solo.build.label} would be chosen alone; {b.label} keeps CUDA {joint[0]}"
                       + (f"/cuDNN {joint[1]}" if joint[1] else "") + f" shared with {', '.join(others)}")
    if b.gpu:
        newer = [x for x in c.gpu() if x.build.key > b.key]
        for f in explain.fixes_for(r.name, newer, t):
            if f.kind in ("driver", "python"):
                reasons.append(f"to get a newer build: {f.text}")
    req, sys_lines = system_requirements(b, t)
    reasons.extend(sys_lines)
    companions: tuple[str, ...] = ()
    argv, index_url, idx_reasons = install_for(b, t, idx, companions)
    reasons.extend(idx_reasons)
    reasons.extend(n for n in b.notes if n)
    if not b.confirmed:
        reasons.append("some facts about this build are not confirmed from a primary source; gpuready chose it "
                       "because nothing confirmed fits")
    conflicts: tuple[str, ...] = ()
    if r.name == "onnxruntime" and b.gpu:
        conflicts = ("onnxruntime",)
        reasons.append("uninstall the CPU package `onnxruntime` first: both provide the onnxruntime module and "
                       "the CPU one can shadow the GPU one")
    build_dict = None
    if b.gpu and b.source_build:
        build_dict, forced = plan_build_settings(t, b, ctx)
        archs = build_dict.get("cuda_arch_bin") or []
        if archs:
            argv += ["--cuda-arch", ",".join(archs)]
        if forced:
            argv += ["--cuda-major", str(b.cuda_major)]
        if build_dict.get("toolkit_source") == "pip-wheels":
            argv += ["--toolkit", "pip-wheels"]
        if idx.custom_index:
            argv += ["--index-url", idx.index_url]
        reasons.append(f"source build: no CUDA wheels of {info.display} exist on PyPI; the settings are the build stage's own "
                       "(what `gpuready install` builds)" + (f", kept on CUDA {b.cuda_major} for this plan" if forced else ""))
    blocked = None
    if t.has_gpu and not b.gpu:
        gpu_v = c.gpu()
        fixes = [f.text for f in explain.fixes_for(r.name, gpu_v, t)]
        if solo is not None and picks.get(r.name) is None:
            others = [n for n, p in picks.items() if p is not None]
            fixes.insert(0, f"drop {', '.join(others)} or plan {r.name} in its own environment (alone it gets {solo.build.label})")
            blocking, label = (f"{r.name}'s GPU builds need CUDA {solo.build.cuda_major}; {', '.join(others)} need{'s' if len(others) == 1 else ''} CUDA {joint[0]}",
                               "library_version_mismatch")
        else:
            blocking, label = explain.blocking_text(r.name, gpu_v, t)
        if c.excluded and any(x.gpu for x, _ in c.excluded):
            fixes.append(f"relax your requirement {r.raw}")
        if not fixes:
            fixes.append(explain.fallback_fix(r.name, label, gpu_v, t))
        blocked = Blocked(r.name, blocking, fixes[0], tuple(fixes), label)
    plan = PackagePlan(
        name=r.name,
        version=b.version,
        variant=b.variant,
        gpu=b.gpu,
        install=tuple(argv),
        reasons=tuple(dict.fromkeys(x for x in reasons if x)),
        index_url=index_url,
        build=build_dict,
        dist=b.dist,
        label=b.label,
        cuda=cuda_mm(b.cuda) if b.gpu and b.cuda else None,
        cudnn_major=b.cudnn_major or None,
        requires=req,
        conflicts=conflicts,
        requested=not r.implied_by,
        confirmed=b.confirmed,
        source=b.source,
    )
    return plan, blocked


def _companion_plan(r: Request, plans: list[PackagePlan], torch_v: Verdict | None, t: Target, idx: IndexConfig) -> PackagePlan:
    torch_plan = next((p for p in plans if p.name == "torch"), None)
    if torch_v is None or torch_plan is None or torch_plan.version is None:
        return PackagePlan(r.name, None, "none", False, (), ("no torch build fits here, so no matching " + r.name,))
    b = torch_v.build
    version = torch_companion(r.name, b.version)
    if not version:
        return PackagePlan(r.name, None, b.variant, b.gpu, (), (f"gpuready has no {r.name} version paired with torch {b.version}",))
    if r.specifier and not r.allows(version):
        return PackagePlan(r.name, None, b.variant, b.gpu, (), (f"{r.name} {version} is the release paired with torch {b.version}, "
                                                              f"which your requirement {r.raw} excludes",))
    # torchaudio wheels on the PyTorch index carry no local tag in the pinned commands of most eras.
    tagged = r.name == "torchvision" and b.local_tag and not via_pypi(b, t)
    comp = dataclasses.replace(b, dist=r.name, version=version, extras=())
    argv, index_url, idx_reasons = install_for(dataclasses.replace(comp, local_tag=tagged), t, idx)
    if not tagged and argv[:2] == ["pip", "install"]:
        argv = [a if not a.startswith(f"{r.name}==") else f"{r.name}=={version}" for a in argv]
    reasons = [f"{r.name} {version} is the release paired with torch {b.version}; it must come from the same "
               f"{b.variant} build as torch"] + idx_reasons
    return PackagePlan(r.name, version, b.variant, b.gpu, tuple(argv), tuple(reasons), index_url=index_url, dist=r.name,
                       label=f"{r.name} {version}" + (f"+{b.variant}" if tagged else ""), cuda=torch_plan.cuda,
                       requested=not r.implied_by, source=b.source)


def _plain_plan(r: Request, t: Target, idx: IndexConfig, plans: list[PackagePlan]) -> tuple[PackagePlan, Blocked | None]:
    info = package_info(r.name)
    c = Candidates(r, [evaluate(b, t) for b in builds(r.name) if r.allows(b.version)])
    v = pick_cpu(c)
    if v is None:
        return (PackagePlan(r.name, None, "none", False, (), (f"no {r.name} release fits Python {t.python} ({r.raw})",)),
                Blocked(r.name, f"no {r.name} release fits Python {t.python}", "", (), "no_matching_distribution"))
    b = v.build
    base_name = info.rides_on or info.gpu_backend
    base = next((p for p in plans if p.name == base_name), None)
    gpu = bool(base and base.gpu)
    reasons = []
    if r.implied_by == "theano":
        theano = package_info("theano")
        reasons.append(f"replaces theano: {theano.reason}")
    elif r.implied_by:
        reasons.append(f"added because {r.implied_by} needs it")
    if r.name == "face_recognition":
        reasons.append("face_recognition uses the GPU only through dlib (its cnn face detector and ResNet encoder); "
                       + (f"dlib is planned as a CUDA build ({base.label})" if gpu and base else "dlib is planned without CUDA here, so face_recognition runs on the CPU"))
    elif r.name == "pytensor":
        reasons.append("PyTensor has no CUDA backend of its own: compile with pytensor.function(..., mode='JAX') to run on "
                       + (f"the GPU through {base.label}" if gpu and base else "JAX (CPU here)"))
    reasons.append(f"so {b.label}")
    reasons.extend(n for n in b.notes if n)
    argv, index_url, idx_reasons = install_for(b, t, idx, b.companions)
    reasons.extend(idx_reasons)
    replaces = "theano" if r.implied_by == "theano" else None
    return PackagePlan(r.name, b.version, "noarch", gpu, tuple(argv), tuple(reasons), index_url=index_url, dist=b.dist,
                       label=b.label, replaces=replaces, requested=not r.implied_by or r.implied_by == "theano",
                       confirmed=b.confirmed, source=b.source), None
