"""One package's plan from the build chosen for it: the reasons (why this build, why not the newer or other ones),
its install command and build settings, and when it gets no GPU build, what blocks that and the fixes."""

from __future__ import annotations

from gpuready.indexconfig import IndexConfig
from gpuready.knowledge import pep440
from gpuready.knowledge.packages import KINDS, Build, builds, package_info
from gpuready.plan import explain
from gpuready.plan.candidates import Candidates, exact_pin
from gpuready.plan.choose import pick_cpu
from gpuready.plan.companions import companion_fixes
from gpuready.plan.evaluate import Verdict, cuda_mm, evaluate
from gpuready.plan.installs import install_for, system_requirements
from gpuready.plan.model import Blocked, PackagePlan, SourceContext
from gpuready.plan.requests import Request
from gpuready.plan.source import plan_build_settings
from gpuready.plan.target import Target

ZERO = pep440.ZERO
IMPLIED = {
    ("jax", "theano"): "added: PyTensor (Theano's successor) reaches the GPU through JAX",
    ("jax", "pytensor"): "added: PyTensor reaches the GPU through JAX",
    ("torch", "torchvision"): "added: torchvision must be installed with the torch build it was made for",
    ("torch", "torchaudio"): "added: torchaudio must be installed with the torch build it was made for",
    ("dlib", "face_recognition"): "added: face_recognition uses the GPU only through a CUDA build of dlib",
}


def jetson_fixes(name: str, t: Target) -> list[str]:
    """On a Jetson: NVIDIA's own route for this package (data/jetson.toml), with the board's JetPack filled in."""
    if t.tegra is None:
        return []
    from gpuready.knowledge.package_rows import jetpack_for, jetson_routes

    route = jetson_routes().get(name)
    if route is None:
        return []
    jp = jetpack_for(t.tegra.l4t) if t.tegra.l4t else None
    cuda_major = jp.cuda_major if jp else 0
    cupy_dist = {10: "cupy-cuda102", 11: "cupy-cuda11x", 12: "cupy-cuda12x", 13: "cupy-cuda13x"}.get(cuda_major, "the cupy-cudaXX package of its CUDA")
    text = route.fix.format(jetpack=jp.jetpack if jp else "(the one on this board)", cuda_major=cuda_major or "?",
                            cupy_dist=cupy_dist, url=route.url)
    board = t.tegra.model or "this Jetson"
    release = f" (L4T R{t.tegra.l4t})" if t.tegra.l4t else ""
    return [f"on {board}{release}: {text}"]


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


def package_plan(c: Candidates, v: Verdict | None, solo: Verdict | None, joint, cands, picks, t: Target,
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
        fixes = jetson_fixes(r.name, t) or [f.text for f in explain.fixes_for(r.name, c.verdicts, t)] + companion_fixes(c.verdicts, t)
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
        fixes = jetson_fixes(r.name, t) or [f.text for f in explain.fixes_for(r.name, gpu_v, t)] + companion_fixes(gpu_v, t)
        if solo is not None and picks.get(r.name) is None:
            others = [n for n, p in picks.items() if p is not None]
            fixes.insert(0, f"drop {', '.join(others)} or plan {r.name} in its own environment (alone it gets {solo.build.label})")
            blocking, label = (f"{r.name}'s GPU builds need CUDA {solo.build.cuda_major}; {', '.join(others)} need{'s' if len(others) == 1 else ''} CUDA {joint[0]}",
                               "library_version_mismatch")
        else:
            blocking, label = explain.blocking_text(r.name, gpu_v, t)
        if c.excluded and any(x.gpu for x, _ in c.excluded):
            fixes.append(f"relax your requirement {r.raw}")
        if t.tegra is not None and jetson_fixes(r.name, t):
            from gpuready.knowledge.package_rows import jetson_routes

            blocking, label = f"on a Jetson: {jetson_routes()[r.name].blocking}", "platform_unsupported"
        if not gpu_v and KINDS[r.name] == "source" and t.os == "windows" and info.no_toolkit_fix:
            blocking = f"no CUDA toolkit on this machine can build {info.display} with CUDA"
            fixes.insert(0, info.no_toolkit_fix)
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


def plain_plan(r: Request, t: Target, idx: IndexConfig, plans: list[PackagePlan]) -> tuple[PackagePlan, Blocked | None]:
    info = package_info(r.name)
    pinned = bool(exact_pin(r))
    c = Candidates(r, [v for v in (evaluate(b, t) for b in builds(r.name) if r.allows(b.version)) if v.listed or pinned])
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
