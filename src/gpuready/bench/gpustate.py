"""The GPU's clock and power state when bench starts (NVML), so a figure can be reproduced or doubted.

The same H200 gives different timings at a lower application clock, in a power-capped P-state,
hot, or while something else holds it: a bench figure means little without that state. NVML is
read in a child process with a timeout (a wedged driver hangs NVML calls; gpuready never does),
each value on its own guard: an old driver, a MIG slice or a virtual GPU lacks some of them, and
what is missing is simply absent from the record.
"""

from __future__ import annotations

import sys

from gpuready.proc import MARK, parse_marked_json, run_python

# Throttle ("clocks event") reason bits of nvmlDeviceGetCurrentClocksThrottleReasons, by name.
THROTTLE_BITS = {
    0x1: "gpu_idle",
    0x2: "applications_clocks_setting",
    0x4: "sw_power_cap",
    0x8: "hw_slowdown",
    0x10: "sync_boost",
    0x20: "sw_thermal_slowdown",
    0x40: "hw_thermal_slowdown",
    0x80: "hw_power_brake_slowdown",
    0x100: "display_clock_setting",
}

_CODE = r"""
import json
out = {"gpus": []}
try:
    import pynvml
    pynvml.nvmlInit()
except Exception as exc:
    out["error"] = "NVML unavailable: %s" % (str(exc).splitlines() or [type(exc).__name__])[0]
    print(MARK + json.dumps(out))
    raise SystemExit(0)

def s(v):
    return v.decode() if isinstance(v, bytes) else v

def get(d, key, fn, *args):
    try:
        d[key] = fn(*args)
    except Exception:
        pass

N = pynvml
for i in range(N.nvmlDeviceGetCount()):
    h = N.nvmlDeviceGetHandleByIndex(i)
    g = {"index": i}
    get(g, "name", lambda: s(N.nvmlDeviceGetName(h)))
    get(g, "pstate", lambda: "P%d" % N.nvmlDeviceGetPerformanceState(h))
    for key, clock in (("sm", N.NVML_CLOCK_SM), ("graphics", N.NVML_CLOCK_GRAPHICS), ("memory", N.NVML_CLOCK_MEM)):
        get(g, "clock_%s_mhz" % key, N.nvmlDeviceGetClockInfo, h, clock)
        get(g, "clock_%s_max_mhz" % key, N.nvmlDeviceGetMaxClockInfo, h, clock)
    get(g, "clock_sm_app_mhz", N.nvmlDeviceGetApplicationsClock, h, N.NVML_CLOCK_SM)
    get(g, "power_w", lambda: N.nvmlDeviceGetPowerUsage(h) / 1000.0)
    get(g, "power_limit_w", lambda: N.nvmlDeviceGetEnforcedPowerLimit(h) / 1000.0)
    get(g, "temperature_c", N.nvmlDeviceGetTemperature, h, N.NVML_TEMPERATURE_GPU)
    get(g, "utilization_pct", lambda: N.nvmlDeviceGetUtilizationRates(h).gpu)
    get(g, "memory_used_mib", lambda: N.nvmlDeviceGetMemoryInfo(h).used // (1024 * 1024))
    get(g, "persistence_mode", lambda: bool(N.nvmlDeviceGetPersistenceMode(h)))
    get(g, "throttle_mask", N.nvmlDeviceGetCurrentClocksThrottleReasons, h)
    get(g, "processes", lambda: len(N.nvmlDeviceGetComputeRunningProcesses(h)))
    out["gpus"].append(g)
try:
    N.nvmlShutdown()
except Exception:
    pass
print(MARK + json.dumps(out))
"""


def throttle_reasons(mask: int) -> list[str]:
    return [name for bit, name in THROTTLE_BITS.items() if mask & bit]


def gpu_state(timeout: float = 15.0) -> dict:
    """{"gpus": [{index, name, pstate, clock_sm_mhz, clock_sm_max_mhz, power_w, power_limit_w, temperature_c,
    throttle_reasons, ...}]} or {"gpus": [], "error": "..."}; never raises."""
    res = run_python(f"MARK = {MARK!r}\n" + _CODE, python=sys.executable, timeout=timeout)
    data = parse_marked_json(res.stdout)
    if not isinstance(data, dict):
        why = "timed out (a wedged driver?)" if res.timed_out else (res.signal or res.tail(2) or f"exit {res.returncode}")
        return {"gpus": [], "error": f"NVML state not read: {why}"}
    for g in data.get("gpus", []):
        if isinstance(g.get("throttle_mask"), int):
            g["throttle_reasons"] = throttle_reasons(g["throttle_mask"])
    return data


def describe(state: dict) -> list[str]:
    """One line per GPU for the table's header: "GPU 0: P0, SM 1980/1980 MHz, 125/700 W, 37 C, no throttling"."""
    lines = []
    for g in state.get("gpus", []):
        parts = [g.get("pstate", "")]
        if "clock_sm_mhz" in g:
            parts.append(f"SM {g['clock_sm_mhz']}/{g.get('clock_sm_max_mhz', '?')} MHz")
        if "power_w" in g:
            parts.append(f"{g['power_w']:.0f}/{g.get('power_limit_w', 0):.0f} W")
        if "temperature_c" in g:
            parts.append(f"{g['temperature_c']} C")
        reasons = [r for r in g.get("throttle_reasons", []) if r != "gpu_idle"]
        if "throttle_reasons" in g:
            parts.append("throttled: " + ", ".join(reasons) if reasons else "no throttling")
        if g.get("processes"):
            parts.append(f"{g['processes']} other process(es) on it")
        lines.append(f"GPU {g.get('index', '?')}: " + ", ".join(p for p in parts if p))
    if state.get("error"):
        lines.append(state["error"])
    return lines
