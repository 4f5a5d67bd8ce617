"""Doctor's judgement: Machine -> findings, one check per kind of problem.

Each check is a plain function of the Machine, so each is tested on saved machines.
The facts they compare against (driver floors, arch lists, compiler limits) come from
the knowledge data; the wording of fixes is made concrete with this machine's numbers.
"""

from __future__ import annotations

import os
from typing import Callable, Iterable

from gpuready.diagnosis import gpu_unreachable, hidden_cause, shadow_cause
from gpuready.doctor.copies import check_copies
from gpuready.doctor.libraries import check_loaded, loaded_lines
from gpuready.doctor.node import check_node
from gpuready.explain import top_label
from gpuready.findings import Finding
from gpuready.knowledge.cuda import (
    build_runs_on,
    compiler_accepted,
    cuda_mm,
    driver_runs_cuda,
    host_compiler_limit,
    max_cuda_for_driver,
    min_driver_for_cuda,
    minor_compat_floor,
    vtuple,
)
from gpuready.knowledge.frameworks import display
from gpuready.machine import Compiler, CudaToolkit, Framework, Machine
from gpuready.plan.hint import gpu_install_hint
from gpuready.verify.hazards import check_native_extensions


# --- driver -----------------------------------------------------------------------------------


def check_driver(m: Machine) -> list[Finding]:
    out: list[Finding] = []
    nvml_errors = [n.message for n in m.notes if n.subject == "nvml"]
    mismatch = [e for e in nvml_errors if "mismatch" in e.lower()]
    if m.os.system == "macos":
        return [
            Finding(
                "platform_unsupported",
                "info" if not _cuda_frameworks(m) else "warning",
                "CUDA",
                "macOS has no NVIDIA CUDA support; frameworks use the CPU or Apple's Metal (MPS) backend.",
                fix="Use torch's 'mps' device or jax-metal on Apple silicon; CUDA needs a Linux or Windows machine with an NVIDIA GPU.",
            )
        ]
    if mismatch or (
        m.driver.kernel_module_version and m.driver.source == "nvml" and m.driver.kernel_module_version != m.driver.version
    ):
        ev = mismatch[:1] or [f"kernel module {m.driver.kernel_module_version}, user-space libraries {m.driver.version}"]
        out.append(
            Finding(
                "driver_library_mismatch",
                "error",
                "NVIDIA driver",
                "The loaded kernel module and the user-space driver libraries are different versions "
                "(typically a driver upgrade without a reboot).",
                evidence=tuple(ev),
                fix="Reboot so the new kernel module loads; if that does not help, reinstall one driver version "
                "(and hold the packages so unattended upgrades do not split them again).",
            )
        )
        return out
    if any(f.label == "driver_missing" for f in gpu_unreachable(m)):
        return out  # check_visibility names the cause (a driver that does not answer, nouveau, a container, WSL)
    if not m.driver.present:
        if m.driver.nvidia_pci_devices:
            out.append(
                Finding(
                    "driver_missing",
                    "error",
                    "NVIDIA driver",
                    f"{m.driver.nvidia_pci_devices} NVIDIA GPU(s) on the PCI bus, but no NVIDIA driver answers.",
                    evidence=tuple(nvml_errors[:1]),
                    fix="Install the NVIDIA driver (e.g. `sudo ubuntu-drivers install` on Ubuntu) or, if it is installed, "
                    "rebuild/load its kernel module for the running kernel (`sudo dkms autoinstall`, then reboot).",
                )
            )
        elif _cuda_frameworks(m):
            names = ", ".join(display(f.name) for f in _cuda_frameworks(m))
            out.append(
                Finding(
                    "driver_missing",
                    "warning" if m.os.container or m.os.wsl else "info",
                    "NVIDIA driver",
                    f"No NVIDIA GPU or driver visible; the CUDA builds installed ({names}) will run on the CPU here.",
                    fix=(
                        "In a container: start it with GPU access (`docker run --gpus all ...`, NVIDIA Container Toolkit)."
                        if m.os.container
                        else "Nothing to fix if this machine has no NVIDIA GPU; on a GPU machine install the NVIDIA driver."
                    ),
                )
            )
        else:
            out.append(
                Finding("", "info", "GPU", "No NVIDIA GPU or driver found on this machine; CPU builds are the right choice here.")
            )
        return out
    out.append(
        Finding(
            "",
            "ok",
            "NVIDIA driver",
            f"Driver {m.driver.version} is loaded and supports CUDA up to {m.driver.cuda_version or max_cuda_for_driver(m.driver.version, m.os.system) or '?'}"
            + (f"; {len(m.gpus)} GPU(s) visible." if m.gpus else "; no GPU visible."),
        )
    )
    return out


def check_visibility(m: Machine) -> list[Finding]:
    """Why this process cannot reach a GPU the machine has (shared with verify: gpuready.diagnosis)."""
    return gpu_unreachable(m)


def _cuda_frameworks(m: Machine) -> list[Framework]:
    return [f for f in m.frameworks if f.status == "ok" and f.cuda_build]


def driver_cuda(m: Machine) -> str:
    """The CUDA version the driver supports: measured when the probe could, else from NVIDIA's table."""
    return m.driver.cuda_version or max_cuda_for_driver(m.driver.version, m.os.system)


# --- frameworks --------------------------------------------------------------------------------


def check_framework(m: Machine, fw: Framework) -> list[Finding]:
    """One status per framework: works on the GPU / CPU-only build / broken, with cause and fix."""
    name = display(fw.name)
    subject = f"{name} {fw.version}".strip()
    if fw.status != "ok":
        return [_broken(m, fw, subject)]
    out: list[Finding] = []
    if fw.name in ("theano",):
        out.append(
            Finding(
                "other",
                "warning",
                subject,
                "Theano is unmaintained (last release 1.0.5, 2020) and its GPU backend no longer installs.",
                fix=gpu_install_hint(m, fw.name),
            )
        )
        return out
    if fw.name == "pytensor":
        return [Finding("", "info", subject, "PyTensor has no CUDA backend of its own; it uses the GPU through mode='JAX' or mode='PYTORCH'.", fix=gpu_install_hint(m, "pytensor"))]
    shadow = shadow_cause(m, fw.name) if fw.cuda_build is False else None
    if shadow is not None:
        owner = shadow.owner
        return [Finding("", "info", subject, f"{subject} imports a CPU-only {owner}; a CUDA build is installed behind it (see the {display(owner)} shadowed_install finding: no rebuild needed).")]
    if fw.cuda_build is False:
        sev = "warning" if m.has_gpu else "info"
        evidence = _cpu_evidence(fw)
        msg = f"{subject} is a CPU-only build" + ("; it cannot use the GPU." if m.has_gpu else " (fine here: no NVIDIA GPU).")
        return [Finding("cpu_only_build", sev, subject, msg, evidence=evidence, fix=gpu_install_hint(m, fw.name) if m.has_gpu else "")]
    if not m.has_gpu:
        return [Finding("", "info", subject, f"{subject} is a CUDA build; with no NVIDIA GPU here it runs on the CPU.")]
    if not m.driver.present:
        return []  # check_driver already reported the missing driver
    # The driver must be new enough for the CUDA the build carries (minor-version compatibility from CUDA 11).
    if fw.cuda_version and fw.name not in ("jax",) and vtuple(fw.cuda_version):
        supported = driver_cuda(m)
        if not driver_runs_cuda(m.driver.version, fw.cuda_version, m.os.system):
            need = min_driver_for_cuda(fw.cuda_version, m.os.system)
            out.append(
                Finding(
                    "driver_too_old",
                    "error",
                    subject,
                    f"Your driver {m.driver.version} supports CUDA <= {supported or '?'}; this {name} is built for CUDA {cuda_mm(fw.cuda_version)}.",
                    evidence=(f"{fw.name} CUDA {fw.cuda_version}", f"driver {m.driver.version}"),
                    fix=_with_upgrade(gpu_install_hint(m, fw.name), need),
                )
            )
    if fw.name == "jax" and vtuple(fw.cuda_version) and m.driver.present:
        # The plugin is built with some CUDA major.x and relies on minor-version compatibility: it needs that
        # major's floor (450.80.02 for CUDA 11), not the x.0 toolkit's own GA driver.
        major = vtuple(fw.cuda_version)[0]
        need = minor_compat_floor(major, m.os.system) or min_driver_for_cuda(f"{major}.0", m.os.system)
        if not need or vtuple(m.driver.version) < vtuple(need):
            out.append(
                Finding(
                    "driver_too_old",
                    "error",
                    subject,
                    f"The jax CUDA {major} plugin needs driver >= {need}; this driver is {m.driver.version} (CUDA <= {driver_cuda(m) or '?'}).",
                    evidence=(fw.details.get("plugin", ""),),
                    fix=_with_upgrade(gpu_install_hint(m, "jax"), need),
                )
            )
    if fw.name == "jax":
        jaxlib, pjrt = fw.details.get("jaxlib", ""), fw.details.get("pjrt", "")
        plugin = fw.details.get("plugin", "").split(" ")[-1]
        skew = [v for v in (plugin, pjrt) if v and jaxlib and v.split("+")[0] != jaxlib.split("+")[0]]
        if skew:
            out.append(
                Finding(
                    "library_version_mismatch",
                    "error",
                    subject,
                    f"jaxlib {jaxlib} and its CUDA plugin {plugin or pjrt} are different versions; JAX refuses a skewed plugin.",
                    evidence=(fw.details.get("plugin", ""), f"jaxlib {jaxlib}"),
                    fix=f"pip install -U 'jax[cuda{(fw.cuda_version or '13').split('.')[0]}]' (installs matching jax, jaxlib and plugin)",
                )
            )
    # Every GPU needs code in the build (SASS for its major, or PTX it can JIT).
    for gpu in m.gpus:
        if not gpu.compute_capability or not fw.archs:
            continue
        if build_runs_on(fw.archs, gpu.compute_capability) is False:
            out.append(
                Finding(
                    "arch_unsupported",
                    "error",
                    subject,
                    f"{gpu.name} is compute capability {gpu.compute_capability} ({gpu.sm}); this {name} carries code for {_arch_span(fw.archs)} only.",
                    evidence=(f"arch list: {' '.join(fw.archs)}",),
                    fix=gpu_install_hint(m, fw.name),
                )
            )
    if out:
        return out
    if fw.sees_gpu is False:
        err = fw.error or ""
        cause = hidden_cause(m)
        if cause is not None:
            return [
                Finding(
                    "",
                    "info",
                    subject,
                    f"{subject} is a CUDA build; it sees no GPU because of {cause.subject} ({cause.label}, above).",
                    evidence=tuple(x for x in (err.splitlines()[-1] if err else "",) if x),
                )
            ]
        return [
            Finding(
                explain_label(err, m) or "other",
                "error",
                subject,
                f"{subject} is a CUDA build but sees no GPU although the driver does.",
                evidence=tuple(x for x in (err.splitlines()[-1] if err else "",) if x),
                fix="Run `gpuready verify " + fw.name + "` for the failing call, and `gpuready explain` on its output.",
            )
        ]
    if fw.sees_gpu is None:
        return [
            Finding(
                "",
                "ok",
                subject,
                f"{subject} is a CUDA build ({_detail_line(fw)}); `gpuready verify {fw.name}` runs a real kernel to prove it.",
                evidence=loaded_lines(fw),
            )
        ]
    return [Finding("", "ok", subject, f"{subject} works on the GPU: {_detail_line(fw)}.", evidence=loaded_lines(fw))]


def _with_upgrade(hint: str, need: str) -> str:
    """The install hint, plus the driver upgrade alternative unless the hint already names it."""
    if "upgrade the" in hint and "driver" in hint:
        return hint
    return f"{hint}; or upgrade the NVIDIA driver to >= {need}."


def _detail_line(fw: Framework) -> str:
    parts = []
    if fw.cuda_version:
        parts.append(f"CUDA {fw.cuda_version}")
    if fw.cudnn_version:
        parts.append(f"cuDNN {fw.cudnn_version}")
    if fw.device_count:
        parts.append(f"{fw.device_count} device(s)")
    if fw.details.get("providers"):
        parts.append("providers " + fw.details["providers"])
    return ", ".join(parts) or "CUDA build"


def _arch_span(archs: tuple[str, ...]) -> str:
    return ", ".join(archs) if len(archs) <= 4 else f"{archs[0]} .. {archs[-1]}"


def _cpu_evidence(fw: Framework) -> tuple[str, ...]:
    if fw.name == "torch":
        return (f"torch.version.cuda is None ({fw.version})",)
    if fw.name == "onnxruntime":
        return (f"providers: {fw.details.get('providers', '?')}",)
    if fw.name == "cv2":
        return (f"NVIDIA CUDA: {fw.details.get('NVIDIA CUDA', 'NO')}", f"cv2.cuda.getCudaEnabledDeviceCount() = {fw.details.get('cuda_device_count', '0')}")
    if fw.name in ("dlib", "face_recognition"):
        return ("dlib.DLIB_USE_CUDA == False",)
    if fw.name == "tensorflow":
        return ("tf.test.is_built_with_cuda() == False",)
    if fw.name == "jax":
        return (f"no jax CUDA plugin installed (jaxlib {fw.details.get('jaxlib', '?')})",)
    return ()


def explain_label(text: str, m: Machine) -> str:
    """The cause label `explain` gives an error text ("" when none)."""
    return top_label(text, m)


def _broken(m: Machine, fw: Framework, subject: str) -> Finding:
    if fw.status == "crashed":
        msg = f"`import {fw.name}` crashed the interpreter ({fw.signal})."
        label = "other"
        fix = f"Run `gpuready verify {fw.name}` to see whether it is the import or the first GPU call; `gpuready doctor` lists native-extension hazards."
    elif fw.status == "timeout":
        msg = f"`import {fw.name}` did not finish in time (hung)."
        label = "other"
        fix = "A hang at import is often a wedged driver (check `nvidia-smi`) or a network file system; try again with --timeout 300."
    else:
        msg = f"`import {fw.name}` fails."
        label = explain_label(fw.error, m) or "other"
        fix = f"`gpuready explain` on the error gives the cause; reinstalling: {gpu_install_hint(m, fw.name)}"
    last = [ln for ln in fw.error.splitlines() if ln.strip()][-1:] if fw.error else []
    shadow = shadow_cause(m, fw.name) if fw.status == "import_error" else None
    if shadow is not None:
        # face_recognition on a CPU-only dlib stub in front of the CUDA dlib: "module 'dlib' has no attribute
        # 'get_frontal_face_detector'", which explain alone reads as a version mismatch (H200, 2026-12-02)
        took = f"`import {shadow.owner}` takes" if shadow.owner != fw.name else "it takes"
        return Finding("", "info", subject, f"`import {fw.name}` fails because {took} the CPU-only copy at "
                       f"{shadow.finding.details.get('shadowing', '?')}; see the {shadow.finding.subject} shadowed_install finding above.",
                       evidence=tuple(last))
    cause = hidden_cause(m) if label == "driver_missing" else None
    if cause is not None:
        # face_recognition asks CUDA for a device at import: with the GPU hidden (CUDA_VISIBLE_DEVICES, ...) that is
        # "no CUDA-capable device is detected", whose label alone would say "install the driver" (H200, 2026-12-02)
        return Finding("", "info", subject, f"`import {fw.name}` fails: it asks CUDA for a GPU at import, and {cause.subject} "
                       f"hides them ({cause.label}, above).", evidence=tuple(last))
    return Finding(label, "error", subject, msg, evidence=tuple(last), fix=fix)


# --- toolkits, cuDNN, compilers ----------------------------------------------------------


def check_toolkits(m: Machine) -> list[Finding]:
    out = []
    with_nvcc = [t for t in m.toolkits if t.nvcc]
    versions = {cuda_mm(t.version) for t in with_nvcc if t.version}
    intended = [t for t in with_nvcc if t.origin in ("CUDA_HOME", "CUDA_PATH")]
    on_path = [t for t in with_nvcc if t.on_path]
    if len(versions) > 1:
        sev = "warning"
        msg = "CUDA toolkits of different versions are installed: " + ", ".join(
            f"{t.version} at {t.root} ({t.origin}{', first on PATH' if t.on_path else ''})" for t in with_nvcc
        )
        if intended and on_path and os.path.realpath(intended[0].root) != os.path.realpath(on_path[0].root):
            fix = (
                f"{intended[0].origin} points at CUDA {intended[0].version} but `nvcc` on PATH is {on_path[0].version}: "
                f"put {os.path.join(intended[0].root, 'bin')} first on PATH (or fix {intended[0].origin}) so builds use one toolkit."
            )
        else:
            fix = "Source builds use the nvcc first on PATH (or CUDA_HOME/CUDAToolkit_ROOT): set these to the one you mean."
        out.append(Finding("shadowed_install", sev, "CUDA toolkit", msg, evidence=tuple(t.nvcc for t in with_nvcc), fix=fix))
    if m.driver.present:
        for t in with_nvcc:
            if t.version and not driver_runs_cuda(m.driver.version, t.version, m.os.system):
                out.append(
                    Finding(
                        "driver_too_old",
                        "warning",
                        f"CUDA toolkit {t.version}",
                        f"Programs built with nvcc {t.version} need a driver for CUDA {cuda_mm(t.version)}; this driver supports CUDA <= {driver_cuda(m) or '?'}.",
                        evidence=(t.nvcc,),
                        fix=f"Upgrade the driver to >= {min_driver_for_cuda(t.version, m.os.system)}, or build with a toolkit <= {driver_cuda(m)}.",
                    )
                )
    return out


def check_cudnn(m: Machine) -> list[Finding]:
    copies = [c for c in m.cudnns if c.version]
    versions = {c.version for c in copies}
    if len(copies) < 2 or len(versions) < 2:
        return []
    majors = {c.major for c in copies}
    listing = tuple(
        line
        for c in copies
        for line in (f"cuDNN {c.version} ({c.origin}) header: {c.header or 'none'}", f"cuDNN {c.version} ({c.origin}) library: {c.library or 'none'}")
    )
    msg = (
        f"{len(copies)} cuDNN copies of different versions ({', '.join(sorted(versions))}). Wheels that bundle their own "
        "(torch) are unaffected, but a source build can take the header from one copy and link the library of another."
    )
    if len(majors) > 1:
        msg += " They are of different majors: a binary built for one major will not load the other."
    return [
        Finding(
            "shadowed_install",
            "warning",
            "cuDNN",
            msg,
            evidence=listing,
            fix="Point builds at one copy: CUDNN_INCLUDE_DIR and CUDNN_LIBRARY from the same prefix (`gpuready build` does this); remove copies you do not use.",
        )
    ]


def default_host_compiler(m: Machine) -> Compiler | None:
    prefer = "msvc" if m.os.system == "windows" else "gcc"
    for origin in ("CUDAHOSTCXX", "CXX"):
        for c in m.compilers:
            if c.origin == origin:
                return c
    for c in m.compilers:
        if c.kind == prefer and c.origin == "PATH" and os.path.basename(c.path).split(".")[0] in ("g++", "gcc", "c++", "cl"):
            return c
    for c in m.compilers:
        if c.kind == prefer:
            return c
    return m.compilers[0] if m.compilers else None


def check_host_compiler(m: Machine) -> list[Finding]:
    out = []
    toolkits: Iterable[CudaToolkit] = [t for t in m.toolkits if t.nvcc and t.version]
    comp = default_host_compiler(m)
    if comp is None:
        if toolkits:
            out.append(
                Finding(
                    "build_toolchain",
                    "warning",
                    "host compiler",
                    "A CUDA toolkit is installed but no C++ compiler was found; nvcc and source builds (dlib, OpenCV) need one.",
                    fix="Install Visual Studio's 'Desktop development with C++'" if m.os.system == "windows" else "Install g++ (e.g. `sudo apt install build-essential`).",
                )
            )
        return out
    for tk in toolkits:
        limit = host_compiler_limit(tk.version)
        if limit is None:
            continue
        ok = compiler_accepted(comp, tk.version)
        if ok is False:
            good = [c for c in m.compilers if c.kind == comp.kind and compiler_accepted(c, tk.version)]
            if comp.kind == "msvc":
                rng = f"_MSC_VER {limit.msvc_min}..{(limit.msvc_max_exclusive or 0) - 1} ({limit.visual_studio})"
                what = f"MSVC {comp.version} (_MSC_VER {comp.msc_ver})"
            else:
                top = limit.gcc_max if comp.kind == "gcc" else limit.clang_max
                rng = f"{comp.kind} <= {top}"
                what = f"{comp.kind} {comp.version}"
            if good:
                fix = f"Use {good[0].path} ({good[0].kind} {good[0].version}): export CUDAHOSTCXX={good[0].path} (or nvcc -ccbin {good[0].path})."
            elif comp.kind == "msvc":
                fix = f"Install a Visual Studio toolset nvcc {cuda_mm(tk.version)} accepts ({limit.visual_studio}), or a newer CUDA; -allow-unsupported-compiler is at your own risk."
            else:
                fix = f"Install {comp.kind} {top} (e.g. `sudo apt install g++-{top}`) and export CUDAHOSTCXX=/usr/bin/g++-{top}; or use a newer CUDA toolkit."
            out.append(
                Finding(
                    "host_compiler_unsupported",
                    "warning",
                    f"nvcc {tk.version}",
                    f"nvcc {cuda_mm(tk.version)} accepts {rng}; the default host compiler is {what} ({comp.path}), so CUDA source builds will fail.",
                    evidence=(f"{comp.kind} {comp.version} at {comp.path}",),
                    fix=fix,
                )
            )
    return out


def check_python(m: Machine) -> list[Finding]:
    if m.python.bits == 32:
        return [
            Finding(
                "platform_mismatch",
                "error",
                f"Python {m.python.version}",
                "This is a 32-bit Python: no GPU framework ships 32-bit wheels.",
                evidence=(m.python.executable,),
                fix="Install 64-bit Python (python.org 'Windows installer (64-bit)') and recreate the environment.",
            )
        ]
    return []


CHECKS: tuple[Callable[[Machine], list[Finding]], ...] = (
    check_python,
    check_driver,
    check_visibility,
    check_node,
    check_toolkits,
    check_cudnn,
    check_host_compiler,
    check_copies,
    check_loaded,
    check_native_extensions,
)


def diagnose(m: Machine) -> list[Finding]:
    findings: list[Finding] = []
    for check in CHECKS:
        findings.extend(check(m))
    for fw in m.frameworks:
        findings.extend(check_framework(m, fw))
    order = {"error": 0, "warning": 1, "info": 2, "ok": 3}
    return sorted(findings, key=lambda f: order[f.severity])
