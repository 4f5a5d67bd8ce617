"""The node under the frameworks: persistence, ECC, retired/remapped memory, throttling, other processes, Xid.

Frameworks can be installed perfectly and still fail on a sick or busy GPU: training dies with
"an illegal memory access" on a GPU with a pending row remap, or runs out of memory because a
forgotten notebook holds 60 GiB. NVML answers these cheaply (probe/_gpu_child.py asks, each call
guarded); the kernel log's `NVRM: Xid` lines say what the driver saw. Each finding says in one plain
sentence what it means for the user's programs, and what to do.
"""

from __future__ import annotations

from gpuready.findings import Finding
from gpuready.knowledge.node import throttle_reason, xid_code, xids
from gpuready.machine import GPU, Machine


def _subject(g: GPU) -> str:
    return f"GPU {g.index}" + (f" ({g.name})" if g.name else "")


def _reset(g: GPU) -> str:
    return f"stop the programs using it, then reset the GPU (`sudo nvidia-smi -r -i {g.index}`) or reboot"


def check_gpu_health(m: Machine) -> list[Finding]:
    out: list[Finding] = []
    for g in m.gpus:
        subject = _subject(g)
        if g.remap_failed:
            out.append(Finding("other", "error", subject, "A memory row remap failed on this GPU: its memory is faulty, and programs on it can crash or compute wrong results.",
                               evidence=("nvmlDeviceGetRemappedRows: failure occurred",), fix="Stop using this GPU and have it serviced (RMA); meanwhile hide it with CUDA_VISIBLE_DEVICES."))
        if g.ecc_uncorrected_volatile:
            out.append(Finding("other", "error", subject,
                               f"{g.ecc_uncorrected_volatile} uncorrectable ECC memory error(s) since the driver loaded: programs on this GPU may have crashed or computed wrong numbers.",
                               evidence=(f"volatile uncorrected ECC errors: {g.ecc_uncorrected_volatile}",),
                               fix=f"{_reset(g)[0].upper()}{_reset(g)[1:]}; if the errors come back, the GPU needs service."))
        elif g.ecc_uncorrected_aggregate:
            out.append(Finding("", "info", subject, f"{g.ecc_uncorrected_aggregate} uncorrectable ECC error(s) over this GPU's lifetime, none since the driver loaded.",
                               evidence=(f"aggregate uncorrected ECC errors: {g.ecc_uncorrected_aggregate}",)))
        pending = [w for w, flag in (("a retired memory page", g.retired_pages_pending), ("a memory row remap", g.remap_pending)) if flag]
        if pending and not g.remap_failed:
            out.append(Finding("other", "warning", subject,
                               f"{' and '.join(pending).capitalize()} is waiting for a GPU reset: until then the bad memory is still in use and can fail a program.",
                               evidence=tuple(f"{w} pending" for w in pending), fix=f"{_reset(g)[0].upper()}{_reset(g)[1:]}."))
        slow = [r for r in (throttle_reason(n) for n in g.throttle_reasons) if r is not None and r.slows]
        if slow:
            hw = any(r.name.startswith("hw_") for r in slow)
            out.append(Finding("other" if hw else "", "warning" if hw or any("thermal" in r.name for r in slow) else "info", subject,
                               "The GPU runs below its clocks: " + "; ".join(r.meaning for r in slow) + ". Programs are slower than this GPU can be.",
                               evidence=("clocks event reasons: " + ", ".join(g.throttle_reasons),),
                               fix="Check cooling and power (`nvidia-smi -q -d PERFORMANCE,TEMPERATURE,POWER`); hardware slowdown at idle means a power or cooling fault." if hw or any("thermal" in r.name for r in slow) else ""))
        if g.processes:
            used = sum(int(p.rsplit("(", 1)[1].split()[0]) for p in g.processes if "MiB)" in p)
            share = used / g.memory_mib if g.memory_mib else 0.0
            busy = share > 0.8
            out.append(Finding("out_of_memory" if busy else "", "warning" if busy else "info", subject,
                               f"{len(g.processes)} other process(es) hold {used} MiB of this GPU's memory"
                               + (f" ({share:.0%}): new programs will run out of memory." if busy else ": less memory for your programs, and timings shared."),
                               evidence=g.processes,
                               fix="Stop them if they are yours (`kill PID`; a Jupyter kernel keeps its memory until it is shut down), or pick another GPU with CUDA_VISIBLE_DEVICES." if busy else ""))
        if g.persistence_mode is False and m.os.system == "linux":
            out.append(Finding("", "info", subject,
                               "Persistence mode is off: the driver tears the GPU down when no program uses it, so each program start pays a second or more to bring it up.",
                               fix="`sudo nvidia-smi -pm 1` (or enable the nvidia-persistenced service) on a machine you administer."))
    return out


ACTION_FIX = {
    "restart_app": "A program faulted, not the GPU: rerun it; if it repeats, run it with `CUDA_LAUNCH_BLOCKING=1` (or compute-sanitizer) to find the failing kernel.",
    "reset_gpu": "Stop the programs on that GPU, then reset it (`sudo nvidia-smi -r`) or reboot; if it repeats, the GPU needs service.",
    "hardware": "Reboot; if it comes back, check the GPU's power cables, cooling and PCIe seating, and have it serviced.",
}
ACTION_SEVERITY = {"restart_app": "info", "reset_gpu": "warning", "hardware": "error"}


def check_xid(m: Machine) -> list[Finding]:
    if not m.driver.xid:
        return []
    by_code: dict[int | None, list[str]] = {}
    for line in m.driver.xid:
        by_code.setdefault(xid_code(line), []).append(line)
    out: list[Finding] = []
    known = xids()
    for code, lines in by_code.items():
        entry = known.get(code) if code is not None else None
        action = entry.action if entry else "reset_gpu"
        meaning = entry.meaning if entry else "an error the driver reported (see NVIDIA's Xid catalog)"
        out.append(
            Finding(
                "other" if action != "restart_app" else "",
                ACTION_SEVERITY[action],
                f"Xid {code}" if code is not None else "Xid",
                f"The kernel log ({m.driver.kernel_log or 'dmesg'}) has {len(lines)} NVRM Xid {code if code is not None else ''} event(s) since boot: {meaning}.",
                evidence=tuple(lines[-3:]),
                fix=ACTION_FIX[action] + (f" ({entry.source})" if entry else " (https://docs.nvidia.com/deploy/xid-errors/)"),
            )
        )
    return out


def check_node(m: Machine) -> list[Finding]:
    return check_gpu_health(m) + check_xid(m)
