"""What runs on one node: `python -m gpuready doctor --json` in that node's environment.

This module imports nothing but the standard library, on purpose: Ray ships it to each worker
by value (cloudpickle), so a node needs gpuready installed only for the doctor itself, and a node
without it answers "gpuready is not installed in <python>" instead of failing to unpickle the
task. The doctor runs as a child process (its framework imports must never touch the Ray
worker), in its own session, with a timeout, and on Linux with a parent-death signal so that a
cancelled task cannot leave a doctor (or a hung framework import under it) behind.

Set GPUREADY_FLEET_MACHINE on a node (in the environment of its `ray start`) to make it report a
saved machine file instead of probing itself: this is how docs/fleet.md and the tests give nodes
of one host different drivers and GPUs.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

MACHINE_ENV = "GPUREADY_FLEET_MACHINE"
MAX_OUTPUT = 8 * 1024 * 1024  # a doctor report is ~10-50 kB; anything near this is not one


def _prctl():
    """libc's prctl, looked up in the parent: the child between fork and exec should do as little as it can."""
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None


def _session_and_death_signal(prctl):
    def child() -> None:  # pragma: no cover - runs in the child between fork and exec
        os.setsid()
        if prctl is not None:
            prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: die with the worker that started us

    return child


def doctor_argv(python: str, options: dict) -> list[str]:
    argv = [python, "-m", "gpuready", "doctor", "--json", "--no-redact", "--timeout", str(options.get("framework_timeout", 60))]
    if options.get("python"):
        argv += ["--python", str(options["python"])]
    machine = os.environ.get(MACHINE_ENV, "")
    if machine:
        argv += ["--machine", machine]
    return argv


def doctor_here(options: dict) -> dict:
    """Run the doctor on this node; never raises. Returns an envelope:
    {"hostname", "pid", "python", "argv", "exit_code", "seconds", "timed_out", "doctor" (parsed JSON
    or None), "error" (why there is no report), "stderr" (its tail)}."""
    start = time.monotonic()
    python = options.get("gpuready_python") or sys.executable
    argv = doctor_argv(python, options)
    timeout = float(options.get("timeout", 120))
    env = dict(os.environ)
    env.setdefault("PYTHONIOENCODING", "utf-8")
    env.pop("RAY_ADDRESS", None)
    out = {"hostname": socket.gethostname(), "pid": os.getpid(), "python": python, "argv": argv,
           "exit_code": None, "seconds": 0.0, "timed_out": False, "doctor": None, "error": "", "stderr": "",
           "machine_override": os.environ.get(MACHINE_ENV, "")}
    kwargs: dict = {}
    if os.name == "posix":
        kwargs["preexec_fn"] = _session_and_death_signal(_prctl() if sys.platform.startswith("linux") else None)
    else:
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
    try:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                                env=env, **kwargs)
    except OSError as exc:
        out["error"] = f"cannot start {python}: {exc.strerror or exc}"
        out["seconds"] = time.monotonic() - start
        return out
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)
        try:
            stdout, stderr = proc.communicate(timeout=5)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            stdout, stderr = b"", b""
        out["timed_out"] = True
        out["error"] = f"the doctor did not finish within {timeout:.0f} s"
    except BaseException:
        _kill(proc)
        raise
    out["seconds"] = time.monotonic() - start
    out["exit_code"] = proc.returncode
    err = (stderr or b"").decode("utf-8", "replace")
    out["stderr"] = "\n".join(err.strip().splitlines()[-15:])
    if out["timed_out"]:
        return out
    if len(stdout or b"") > MAX_OUTPUT:
        out["error"] = f"the doctor printed {len(stdout)} bytes, not a report"
        return out
    text = (stdout or b"").decode("utf-8", "replace").strip()
    if "No module named gpuready" in err:
        out["error"] = f"gpuready is not installed in {python}"
        return out
    try:
        out["doctor"] = json.loads(text) if text else None
    except json.JSONDecodeError:
        out["doctor"] = None
    if out["doctor"] is None:
        last = out["stderr"].splitlines()[-1] if out["stderr"] else "no output"
        out["error"] = f"the doctor exited {proc.returncode} without a report: {last}"
    return out


def _kill(proc: subprocess.Popen) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except OSError:
        try:
            proc.kill()
        except OSError:
            pass


if __name__ == "__main__":  # `python -m gpuready.fleet.noderun '{"timeout": 60}'`: the envelope as JSON
    opts = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    print(json.dumps(doctor_here(opts)))
