"""The NVIDIA driver and the GPUs, from NVML first and from text the driver writes second.

Order of trust: NVML and cuDriverGetVersion (in a child with a timeout: a wedged
driver hangs them), then /proc/driver/nvidia/version (Linux kernel module, no GPU
list), then `nvidia-smi` (also with a timeout). The PCI bus is read too, so that
"there is an NVIDIA card but no driver" can be told apart from "there is no card".
"""

from __future__ import annotations

import glob
import os
import re
import sys
from pathlib import Path

from gpuready.machine import GPU, Driver, ProbeNote
from gpuready.proc import IS_WINDOWS, Result, parse_marked_json, run, which

CHILD = Path(__file__).with_name("_gpu_child.py")

SMI_FIELDS = "index,name,uuid,compute_cap,memory.total,pci.bus_id,driver_version"


def cuda_from_int(encoded: int) -> str:
    """cuDriverGetVersion's 13000 -> "13.0", 12020 -> "12.2"."""
    if not encoded:
        return ""
    return f"{encoded // 1000}.{(encoded % 1000) // 10}"


def parse_proc_version(text: str) -> str:
    """The kernel module version from /proc/driver/nvidia/version."""
    m = re.search(r"Kernel Module(?:\s+for\s+\S+)?\s+(\d+\.\d+(?:\.\d+)?)", text)
    return m.group(1) if m else ""


def parse_smi_csv(text: str) -> tuple[str, list[GPU]]:
    """`nvidia-smi --query-gpu=SMI_FIELDS --format=csv,noheader,nounits` -> (driver, GPUs).

    Also accepts the output without the compute_cap column (drivers before ~510 refuse it).
    """
    driver = ""
    gpus = []
    for line in text.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) < 6 or not cols[0].isdigit():
            continue
        if len(cols) >= 7:
            index, name, uuid, cc, mem, bus, drv = cols[:7]
        else:
            index, name, uuid, mem, bus, drv = cols[:6]
            cc = ""
        driver = driver or drv
        cc = cc if re.fullmatch(r"\d+\.\d+", cc) else ""
        gpus.append(
            GPU(
                index=int(index),
                name=name,
                uuid=uuid,
                compute_capability=cc,
                memory_mib=int(float(mem)) if re.fullmatch(r"[\d.]+", mem) else 0,
                pci_bus_id=bus,
            )
        )
    return driver, gpus


def parse_smi_banner(text: str) -> tuple[str, str]:
    """Driver and CUDA version from plain `nvidia-smi` output ("Driver Version: 535.104.05  CUDA Version: 12.2")."""
    drv = re.search(r"Driver Version:\s*([\d.]+)", text)
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", text)
    return (drv.group(1) if drv else "", cuda.group(1) if cuda else "")


def _pynvml_dirs() -> list[str]:
    """Where pynvml lives, for a child started without site-packages (-S); found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec("pynvml")
    except (ImportError, ValueError):
        return []
    if spec is None or not spec.origin:
        return []
    return [os.path.dirname(os.path.dirname(spec.origin)) if spec.submodule_search_locations else os.path.dirname(spec.origin)]


def nvidia_smi_path() -> str:
    found = which("nvidia-smi")
    if found or not IS_WINDOWS:
        return found
    for cand in (
        os.path.join(os.environ.get("SystemRoot", r"C:\Windows"), "System32", "nvidia-smi.exe"),
        os.path.join(os.environ.get("ProgramFiles", r"C:\Program Files"), "NVIDIA Corporation", "NVSMI", "nvidia-smi.exe"),
    ):
        if os.path.isfile(cand):
            return cand
    return ""


def count_nvidia_pci_devices(root: str = "/sys/bus/pci/devices") -> int:
    """NVIDIA display/3D controllers on the PCI bus (Linux), present whether or not a driver is loaded."""
    count = 0
    for dev in glob.glob(os.path.join(root, "*")):
        try:
            vendor = Path(dev, "vendor").read_text().strip().lower()
            klass = Path(dev, "class").read_text().strip().lower()
        except OSError:
            continue
        if vendor == "0x10de" and klass.startswith("0x03"):
            count += 1
    return count


def probe_driver(timeout: float = 15.0, smi_timeout: float = 10.0) -> tuple[Driver, tuple[GPU, ...], list[ProbeNote]]:
    notes: list[ProbeNote] = []
    pci = 0 if IS_WINDOWS or sys.platform == "darwin" else count_nvidia_pci_devices()
    module_version = ""
    if os.path.exists("/proc/driver/nvidia/version"):
        try:
            module_version = parse_proc_version(Path("/proc/driver/nvidia/version").read_text())
        except OSError:
            pass

    child = run([sys.executable, "-S", str(CHILD), *_pynvml_dirs()], timeout=timeout)
    facts = parse_marked_json(child.stdout) if child.ok else None
    if child.timed_out:
        notes.append(ProbeNote("driver", f"NVML/libcuda did not answer within {timeout:.0f} s: the driver may be wedged", "warning"))
    elif facts is None:
        notes.append(ProbeNote("driver", f"NVML probe failed: {_why(child)}", "warning"))
    facts = facts or {}

    driver_version = facts.get("driver", "")
    cuda = cuda_from_int(facts.get("cuda_driver") or facts.get("nvml_cuda") or 0)
    gpus = [gpu_from_facts(g, i) for i, g in enumerate(facts.get("gpus", []))]
    source = "nvml" if driver_version else ""
    if facts.get("nvml_error") and (pci or module_version or IS_WINDOWS):
        # Kept as evidence: "Driver/library version mismatch" here is doctor's proof of a stale module.
        notes.append(ProbeNote("nvml", facts["nvml_error"], "warning"))
    if facts.get("libcuda_error") and driver_version:
        notes.append(ProbeNote("driver", "libcuda: " + facts["libcuda_error"], "warning"))

    if not driver_version or not gpus:
        smi = nvidia_smi_path()
        if smi:
            res = run([smi, f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader,nounits"], timeout=smi_timeout)
            if res.ok and "not a valid field" not in res.output:
                drv, smi_gpus = parse_smi_csv(res.stdout)
            elif res.timed_out:
                drv, smi_gpus = "", []
                notes.append(ProbeNote("nvidia-smi", f"nvidia-smi did not answer within {smi_timeout:.0f} s: the driver may be wedged", "warning"))
            else:
                fields = SMI_FIELDS.replace("compute_cap,", "")
                res2 = run([smi, f"--query-gpu={fields}", "--format=csv,noheader,nounits"], timeout=smi_timeout)
                drv, smi_gpus = parse_smi_csv(res2.stdout) if res2.ok else ("", [])
                if not res2.ok and not res2.timed_out and res.output:
                    notes.append(ProbeNote("nvidia-smi", res.tail(3), "warning"))
            if drv and not driver_version:
                driver_version, source = drv, "nvidia-smi"
            if smi_gpus and not gpus:
                gpus = smi_gpus
            if driver_version and not cuda and not res.timed_out:
                banner = run([smi], timeout=smi_timeout)
                cuda = parse_smi_banner(banner.stdout)[1] if banner.ok else ""
    if not driver_version and module_version:
        driver_version, source = module_version, "proc"
    visibility = visibility_facts()
    xid, where = (), ""
    if not IS_WINDOWS and sys.platform != "darwin" and (pci or module_version or driver_version):
        xid, where = recent_xid_lines()
    driver = Driver(
        version=driver_version,
        cuda_version=cuda,
        source=source,
        kernel_module_version=module_version,
        nvidia_pci_devices=pci,
        xid=xid,
        kernel_log=where,
        **visibility,
    )
    return driver, tuple(gpus), notes


def gpu_from_facts(g: dict, i: int) -> GPU:
    """One GPU from the NVML child's JSON; the node-health fields only when NVML answered them."""
    from gpuready.knowledge.node import throttle_names

    def opt(key: str, kind: type):
        v = g.get(key)
        return v if isinstance(v, kind) and not (kind is int and isinstance(v, bool)) else None

    procs = []
    for p in g.get("processes", []) or []:
        if not isinstance(p, dict):
            continue
        mem = f" ({p['mib']} MiB)" if isinstance(p.get("mib"), int) else ""
        procs.append(f"pid {p.get('pid', '?')} {p.get('name') or '?'}{mem}")
    mask = g.get("throttle_mask")
    return GPU(
        index=g.get("index", i),
        name=g.get("name", ""),
        uuid=g.get("uuid", ""),
        compute_capability=g.get("cc", ""),
        memory_mib=g.get("memory_mib", 0),
        pci_bus_id=g.get("pci_bus_id", ""),
        persistence_mode=opt("persistence_mode", bool),
        ecc_uncorrected_volatile=opt("ecc_uncorrected_volatile", int),
        ecc_uncorrected_aggregate=opt("ecc_uncorrected_aggregate", int),
        retired_pages_pending=opt("retired_pages_pending", bool),
        remap_pending=opt("remap_pending", bool),
        remap_failed=opt("remap_failed", bool),
        throttle_reasons=throttle_names(mask) if isinstance(mask, int) else (),
        processes=tuple(procs),
    )


# --- what decides whether this process sees the GPUs ---------------------------------------------

NODE_NAMES = ("nvidiactl", "nvidia-uvm")


def device_node_facts(dev: str = "/dev") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(/dev/nvidia* present, those of them this user cannot open read/write, with mode and owner)."""
    import stat

    present = sorted(p for p in glob.glob(os.path.join(dev, "nvidia*")) if not os.path.isdir(p))
    denied = []
    for p in present:
        base = os.path.basename(p)
        if not (base in NODE_NAMES or re.fullmatch(r"nvidia\d+", base)):
            continue
        if os.access(p, os.R_OK | os.W_OK):
            continue
        try:
            st = os.stat(p)
            mode = stat.filemode(st.st_mode)
            owner = f"{_name(st.st_uid, 'pwd')}:{_name(st.st_gid, 'grp')}"
            denied.append(f"{p} ({mode} {owner})")
        except OSError as exc:
            denied.append(f"{p} ({exc.strerror or exc})")
    return tuple(present), tuple(denied)


def _name(ident: int, module: str) -> str:
    try:
        if module == "pwd":
            import pwd

            return pwd.getpwuid(ident).pw_name
        import grp

        return grp.getgrgid(ident).gr_name
    except (ImportError, KeyError):
        return str(ident)


def nouveau_loaded(proc_modules: str = "/proc/modules", sys_module: str = "/sys/module/nouveau") -> bool:
    if os.path.isdir(sys_module):
        return True
    try:
        text = Path(proc_modules).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.split(" ", 1)[0] == "nouveau" for line in text.splitlines())


def _on_wsl() -> bool:
    try:
        return "microsoft" in Path("/proc/sys/kernel/osrelease").read_text().lower()
    except OSError:
        return False


WSL_LIBCUDA = "/usr/lib/wsl/lib/libcuda.so.1"


def visibility_facts(env: dict | None = None) -> dict:
    """The Driver fields that say why a process would not see a GPU the machine has."""
    env = os.environ if env is None else env
    facts: dict = {
        "cuda_visible_devices": env.get("CUDA_VISIBLE_DEVICES"),
        "nvidia_visible_devices": env.get("NVIDIA_VISIBLE_DEVICES"),
    }
    if IS_WINDOWS or sys.platform == "darwin":
        return facts
    present, denied = device_node_facts()
    facts.update(nodes_checked=True, device_nodes=present, nodes_denied=denied, nouveau_loaded=nouveau_loaded())
    if _on_wsl():
        facts["wsl_libcuda"] = WSL_LIBCUDA if os.path.exists(WSL_LIBCUDA) else ""
    return facts


# --- the kernel log ---------------------------------------------------------------------------------

XID_KEEP = 10


def xid_lines(text: str, keep: int = XID_KEEP) -> tuple[str, ...]:
    """The last `keep` "NVRM: Xid" lines of a kernel log."""
    lines = [ln.strip() for ln in text.splitlines() if "NVRM: Xid" in ln]
    return tuple(lines[-keep:])


def recent_xid_lines(timeout: float = 5.0) -> tuple[tuple[str, ...], str]:
    """(Xid lines, where read) from dmesg, else journalctl -k, else ((), ""): bounded, each with a timeout.

    dmesg needs CAP_SYSLOG where kernel.dmesg_restrict=1 (and in most containers): then journalctl,
    which reads the persistent journal as a member of systemd-journal/adm. Unreadable is not a problem.
    """
    for argv, where in (
        (["dmesg"], "dmesg"),
        (["journalctl", "-k", "-b", "--no-pager", "-q", "-n", "20000", "-g", "NVRM: Xid"], "journalctl -k"),
    ):
        if not which(argv[0]):
            continue
        res = run(argv, timeout=timeout)
        if res.ok and res.stdout.strip():
            return xid_lines(res.stdout), where
        if res.ok and where == "journalctl -k":  # the grep matched nothing: readable, no Xid
            return (), where
    return (), ""


def _why(res: Result) -> str:
    if res.start_error:
        return res.start_error
    if res.signal:
        return f"crashed with {res.signal}"
    return res.tail(3) or f"exit status {res.returncode}"
