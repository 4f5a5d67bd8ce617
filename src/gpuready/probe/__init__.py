"""Facts -> Machine. Each sub-module probes one thing; `probe_machine` runs them together."""

from __future__ import annotations

import datetime as _dt
import socket

from gpuready import __version__
from gpuready.machine import Machine, ProbeNote
from gpuready.probe.compilers import probe_cmake, probe_compilers
from gpuready.probe.cudnn import probe_cudnn
from gpuready.probe.driver import probe_driver
from gpuready.probe.frameworks import probe_frameworks
from gpuready.probe.pyenv import probe_os, python_facts
from gpuready.probe.toolkits import probe_toolkits
from gpuready.proc import in_parallel


def probe_machine(
    python: str | None = None,
    *,
    frameworks: bool = True,
    only: tuple[str, ...] = (),
    timeout: float = 60.0,
    real_op: bool = False,
) -> Machine:
    """Probe this machine. Never raises for a missing driver, toolkit or broken framework: those are facts.

    `real_op`: each framework child runs one tiny GPU operation before listing the CUDA libraries it
    mapped (doctor wants what is really loaded; a plain probe creates no CUDA context).
    """
    py, sys_path, py_error = python_facts(python)
    notes: list[ProbeNote] = []
    if py_error:
        notes.append(ProbeNote("python", py_error, "warning"))
    want_frameworks = frameworks and bool(sys_path)
    (driver, gpus, driver_notes), toolkits, compilers, cmake, fws = in_parallel([
        probe_driver,
        lambda: probe_toolkits(py.site_packages),
        probe_compilers,
        probe_cmake,
        lambda: probe_frameworks(sys_path, python or None, only=only, timeout=timeout, real_op=real_op) if want_frameworks else (),
    ])
    notes.extend(driver_notes)
    return Machine(
        os=probe_os(),
        python=py,
        gpus=gpus,
        driver=driver,
        toolkits=toolkits,
        cudnns=probe_cudnn(toolkits, py.site_packages),
        compilers=compilers,
        cmake=cmake,
        frameworks=fws,
        notes=tuple(notes),
        hostname=socket.gethostname(),
        probed_at=_dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        gpuready_version=__version__,
    )
