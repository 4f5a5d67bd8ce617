"""From a chosen build to the command that installs it, through the user's indexes.

Rules, each for a reason:
- torch's CUDA variants live on the PyTorch index (`whl/cuXY`, or a mirror of it); a variant that
  *is* PyPI's Linux x86_64 wheel is installed from the user's own index instead, so a PyPI mirror
  keeps working behind a slow or filtered network;
- the user's index is always named on the command line (not left to pip.conf), so `uv pip`, which
  does not read pip.conf, installs from the same place;
- a plain-http index that is not on this machine gets `--trusted-host HOST` (pip ignores it otherwise);
- an installer set to no-index gets `--no-index` and only its find-links folders (the PyTorch index is
  left out unless the PyTorch mirror is itself a find-links page);
- the argv starts with "pip", "install" and uses only options pip and uv share.
"""

from __future__ import annotations

from gpuready.knowledge.packages import Build
from gpuready.indexconfig import IndexConfig
from gpuready.plan.target import Target


def requirement(build: Build, *, tagged: bool) -> str:
    extras = f"[{','.join(build.extras)}]" if build.extras else ""
    tag = f"+{build.variant}" if tagged else ""
    return f"{build.dist}{extras}=={build.version}{tag}"


def via_pypi(build: Build, t: Target) -> bool:
    """Is this build the one PyPI itself serves here (so the user's own index can provide it)?"""
    if build.index != "pytorch":
        return True
    if t.arch != "x86_64":
        return False
    return (build.pypi_default and t.os == "linux") or (build.pypi_windows and t.os == "windows")


def user_index_args(idx: IndexConfig, *, primary: bool) -> list[str]:
    args: list[str] = []
    if idx.no_index:
        args.append("--no-index")
    elif idx.custom_index:
        args += ["--index-url" if primary else "--extra-index-url", idx.index_url]
    if not idx.no_index:
        for url in idx.extra_index_urls:
            args += ["--extra-index-url", url]
    for url in idx.find_links:
        args += ["--find-links", url]
    return args


def with_trusted_hosts(argv: list[str], idx: IndexConfig) -> list[str]:
    """argv plus `--trusted-host HOST` for each plain-http remote index or page it names."""
    urls = [argv[i + 1] for i, a in enumerate(argv[:-1]) if a in ("--index-url", "--extra-index-url", "--find-links")]
    return argv + idx.trusted_host_args(urls)


def install_for(build: Build, t: Target, idx: IndexConfig, companions: tuple[str, ...] = ()) -> tuple[list[str], str | None, list[str]]:
    """(argv, index_url, reasons) for one build; companions are more requirements for the same command."""
    reasons: list[str] = []
    argv = ["pip", "install"]
    if build.no_deps:
        argv.append("--no-deps")
    if build.source_build and build.gpu:
        return ["gpuready", "build", build.package, "--version", build.version], None, reasons
    if build.index == "pytorch" and not via_pypi(build, t):
        flag, url = idx.pytorch_source(build.variant, build.index_style)
        argv += [requirement(build, tagged=True), *companions]
        if idx.no_index and flag != "--find-links":
            argv += user_index_args(idx, primary=True)
            reasons.append(f"from your find-links folders only ({idx.source or 'the installer'} is set to no-index, so the "
                           f"PyTorch index {url} is not used): they must hold {requirement(build, tagged=True)}")
            return with_trusted_hosts(argv, idx), None, reasons
        if flag == "--find-links":
            argv += ["--find-links", url, *user_index_args(idx, primary=True)]
        elif flag == "--extra-index-url":
            argv += [*user_index_args(idx, primary=True), "--extra-index-url", url]
        else:
            argv += ["--index-url", url, *user_index_args(idx, primary=False)]
        where = f"its mirror ({idx.pytorch_origin})" if idx.pytorch_origin != "default" else "the PyTorch wheel index"
        reasons.append(f"from {where} {url}" + (" (PyPI has no such build for this platform)" if build.gpu and t.os == "windows" else ""))
        return with_trusted_hosts(argv, idx), url, reasons
    argv += [requirement(build, tagged=False), *companions]
    if build.index == "find-links" and build.find_links:
        argv += ["--find-links", build.find_links]
    argv += user_index_args(idx, primary=True)
    if build.index == "pytorch":
        reasons.append(f"PyPI's {build.dist} {build.version} for {'Windows' if t.os == 'windows' else 'Linux x86_64'} is the {build.variant} build, so it comes "
                       f"from {'your index ' + idx.index_url if idx.custom_index else 'PyPI'}")
    elif idx.custom_index and not idx.no_index:
        reasons.append(f"from your index {idx.index_url} ({idx.origin})")
    return with_trusted_hosts(argv, idx), (idx.index_url if idx.custom_index and not idx.no_index else None), reasons


def system_requirements(build: Build, t: Target) -> tuple[dict, list[str]]:
    """What a build that uses a system CUDA/cuDNN needs installed, and whether this machine has it."""
    if not (build.gpu and build.system_cuda):
        return {}, []
    from gpuready.plan.evaluate import cuda_mm, vtuple

    need_cuda = cuda_mm(build.cuda)
    need_cudnn = build.cudnn
    req = {"cuda": need_cuda}
    if need_cudnn:
        req["cudnn"] = need_cudnn
    exact_minor = build.cuda_major < 11  # before CUDA 11 the runtime soname carries the minor (cudart64_100.dll)
    def fits(version: str) -> bool:
        have, need = vtuple(version)[:2], vtuple(need_cuda)[:2]
        return have == need if exact_minor else (have[:1] == need[:1] and have >= need)

    tks = [tk for tk in t.machine.toolkits if fits(tk.version)]
    cudnns = [c for c in t.machine.cudnns if need_cudnn and vtuple(c.version)[:1] == vtuple(need_cudnn)[:1]
              and vtuple(c.version) >= vtuple(need_cudnn)]
    have_tk = ", ".join(f"CUDA {tk.version} ({tk.root})" for tk in t.machine.toolkits) or "no CUDA toolkit"
    have_dnn = ", ".join(f"cuDNN {c.version}" for c in t.machine.cudnns) or "no cuDNN"
    lines = []
    what = f"CUDA {need_cuda}" + (f" and cuDNN {need_cudnn}" if need_cudnn else "")
    if tks and (cudnns or not need_cudnn):
        lines.append(f"uses the system {what}: found {tks[0].version} at {tks[0].root}"
                     + (f" and cuDNN {cudnns[0].version}" if cudnns else ""))
    else:
        missing = []
        if not tks:
            missing.append(f"CUDA {need_cuda}" + (" (exactly this minor: the DLL/soname carries it)" if exact_minor else f" (any {build.cuda_major}.x >= {need_cuda})"))
        if need_cudnn and not cudnns:
            missing.append(f"cuDNN >= {need_cudnn} for CUDA {build.cuda_major}.x")
        lines.append(f"this build loads {what} from the system; this machine has {have_tk} and {have_dnn}: "
                     f"install {' and '.join(missing)} (pip cannot)")
    return req, lines
