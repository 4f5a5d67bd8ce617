"""Gather doctor reports from every node of a running Ray cluster.

One task per alive node, pinned there with `NodeAffinitySchedulingStrategy(node_id, soft=False)`
(a hard pin: a task for a node that died fails instead of running on another node and
reporting the wrong machine) and asking for no GPU and, by default, no CPU: a node whose every
CPU and GPU is held by a training job still answers at once. Each task runs `noderun.doctor_here`
(the doctor in a child process there); the driver waits for all of them until one deadline, then
cancels what is left. A node the cluster lists as dead, a node that dies during the run, and a
task that does not finish in time are each a row that says so.

Ray is imported here only, so `gpuready fleet doctor --machine ...` and every other command work
without it.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

from gpuready.fleet import noderun
from gpuready.fleet.model import DIED, DOWN, ERROR, NO_GPUREADY, OK, TIMEOUT, FleetReport, NodeReport, parse_doctor_json
from gpuready.machine import MachineFormatError

STANDARD_RESOURCES = ("CPU", "GPU", "memory", "object_store_memory", "TPU")


class RayUnavailable(Exception):
    """Ray is not installed, or no cluster answers at the address: a usage problem, not a node's."""


def _import_ray():
    try:
        import ray  # noqa: F401
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy  # noqa: F401
    except ImportError as exc:
        raise RayUnavailable(f"Ray is not installed in this Python ({exc}); pip install ray") from None
    import ray

    return ray


def node_tags(resources: dict[str, Any]) -> tuple[str, ...]:
    """The custom resources a lab gave a node (`ray start --resources '{"a100": 1}'`), sorted."""
    tags = ["head"] if "node:__internal_head__" in resources else []
    for name in resources:
        if name in STANDARD_RESOURCES or name.startswith(("node:", "accelerator_type:")):
            continue
        tags.append(name)
    ordered = tags[:1] + sorted(tags[1:]) if tags[:1] == ["head"] else sorted(tags)
    return tuple(dict.fromkeys(ordered))


def find_address(address: str | None) -> str:
    """The cluster to attach to: the address given, else $RAY_ADDRESS, else the cluster `ray start`
    last made on this machine (Ray's own order, minus its last step: starting a new one)."""
    if address and address != "auto":
        return address
    if os.environ.get("RAY_ADDRESS"):
        return os.environ["RAY_ADDRESS"]
    current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
    try:
        found = current.read_text(encoding="utf-8").strip()
    except OSError:
        found = ""
    if not found:
        raise RayUnavailable("no Ray cluster found: none started on this machine and RAY_ADDRESS is not set "
                             "(start one with `ray start --head`, or pass --ray HOST:PORT)")
    return found


def check_reachable(address: str, seconds: float = 5.0) -> None:
    """Fail fast on an address nothing listens on: ray.init retries a dead address forever."""
    if address.startswith("ray://"):
        return
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise RayUnavailable(f"--ray {address}: expected HOST:PORT (the head's GCS address, port 6379 by default)")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=seconds):
            pass
    except OSError as exc:
        raise RayUnavailable(f"no Ray cluster at {address}: {exc.strerror or exc} "
                             "(start one with `ray start --head`, or pass --ray HOST:PORT)") from None


def connect(address: str | None):
    """ray.init on an existing cluster only; never starts a new one-node cluster that would report
    only this machine."""
    target = find_address(address)
    check_reachable(target)
    ray = _import_ray()  # after the checks: importing Ray takes seconds
    try:
        ray.init(address=target, log_to_driver=False, logging_level=logging.ERROR, include_dashboard=False,
                 namespace="gpuready-fleet", configure_logging=True)
    except ConnectionError as exc:
        raise RayUnavailable(f"no Ray cluster at {target}: {str(exc).splitlines()[0] if str(exc) else 'connection refused'}"
                             " (start one with `ray start --head`, or pass --ray HOST:PORT)") from None
    except (ValueError, RuntimeError) as exc:
        raise RayUnavailable(f"cannot connect to Ray at {target}: {str(exc).splitlines()[0]}") from None
    return ray, target


def gather(
    address: str | None = None,
    *,
    timeout: float = 180.0,
    python: str | None = None,
    num_cpus: float = 0.0,
    import_timeout: float | None = None,
    progress: Callable[[str], None] | None = None,
) -> FleetReport:
    """Every node's doctor report; see the module docstring. KeyboardInterrupt cancels every task
    and disconnects before it propagates."""
    start = time.monotonic()
    ray, target = connect(address)
    try:
        return _gather(ray, target, start, timeout=timeout, python=python, num_cpus=num_cpus,
                       import_timeout=import_timeout, progress=progress)
    finally:
        try:
            ray.shutdown()
        except Exception:  # noqa: BLE001 - a failing disconnect must not hide the report
            pass


def _gather(ray, target: str, start: float, *, timeout: float, python: str | None, num_cpus: float,
            import_timeout: float | None, progress: Callable[[str], None] | None) -> FleetReport:
    from ray import cloudpickle  # Ray's own copy: the one that pickles its tasks
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    # noderun travels by value: the worker needs no gpuready importable to run it, only to run the doctor.
    cloudpickle.register_pickle_by_value(noderun)
    nodes = sorted(ray.nodes(), key=lambda n: (not n.get("Alive"), str(n.get("NodeManagerAddress")), str(n.get("NodeID"))))
    options = node_options(timeout, import_timeout, python)
    task = ray.remote(noderun.doctor_here)
    task_options = dict(num_cpus=num_cpus, num_gpus=0, max_retries=0, name="gpuready-fleet-doctor")
    rows: dict[str, dict] = {}
    refs: dict[Any, str] = {}
    for n in nodes:
        nid = str(n.get("NodeID", ""))
        info = {"node_id": nid, "address": str(n.get("NodeManagerAddress", "")), "host": str(n.get("NodeManagerHostname") or n.get("NodeName") or ""),
                "tags": node_tags(n.get("Resources") or {}), "started": time.monotonic()}
        rows[nid] = info
        if not n.get("Alive"):
            why = n.get("DeathReasonMessage") or "the cluster lists it as dead"
            info["report"] = (DOWN, f"down before the run: {why}", None)
            continue
        pin = NodeAffinitySchedulingStrategy(node_id=nid, soft=False)
        ref = task.options(scheduling_strategy=pin, **task_options).remote(options)
        refs[ref] = nid
    if progress:
        progress(f"ray {target}: {len(refs)} alive node(s) of {len(nodes)}, doctor running on each")
    deadline = time.monotonic() + timeout
    pending = list(refs)
    try:
        while pending:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            done, pending = ray.wait(pending, num_returns=1, timeout=min(left, 0.5))
            for ref in done:
                nid = refs[ref]
                rows[nid]["seconds"] = time.monotonic() - rows[nid]["started"]
                rows[nid]["report"] = _outcome(ray, ref, nid)
                if progress:
                    progress(f"  {rows[nid]['host'] or nid[:8]}: {rows[nid]['report'][0]}")
    except BaseException:
        for ref in pending:
            _cancel(ray, ref)
        raise
    for ref in pending:
        nid = refs[ref]
        _cancel(ray, ref)
        alive = _alive(ray, nid)
        if alive is False:
            rows[nid]["report"] = (DIED, "the node died during the run", None)
        else:
            rows[nid]["report"] = (TIMEOUT, f"no report within {timeout:.0f} s (task cancelled)", None)
        rows[nid]["seconds"] = timeout
    report = FleetReport(source=f"ray {target}", seconds=time.monotonic() - start)
    for nid, info in rows.items():
        report.nodes.append(_node_report(info))
    return report


def node_options(timeout: float, import_timeout: float | None, python: str | None) -> dict:
    """What each node's doctor gets: it must end (and be killed there) before the driver's deadline,
    and each framework import must end before that, so that a hung import is a finding ("import
    hung") rather than a node that timed out."""
    inner = max(3.0, timeout - 3.0)
    imports = import_timeout if import_timeout is not None else max(2.0, min(60.0, inner * 0.6))
    return {"timeout": inner, "framework_timeout": imports, "python": python}


def _alive(ray, node_id: str) -> bool | None:
    try:
        for n in ray.nodes():
            if n.get("NodeID") == node_id:
                return bool(n.get("Alive"))
    except Exception:  # noqa: BLE001
        return None
    return None


def _cancel(ray, ref) -> None:
    try:
        ray.cancel(ref, force=True)
    except Exception:  # noqa: BLE001 - already finished, or its node is gone
        pass


def _outcome(ray, ref, node_id: str) -> tuple[str, str, dict | None]:
    """(state, reason, envelope) of one finished task."""
    from ray import exceptions as rx

    try:
        env = ray.get(ref, timeout=30)
    except (rx.NodeDiedError, rx.LocalRayletDiedError) as exc:
        return DIED, f"the node died during the run ({_first_line(exc)})", None
    except (rx.WorkerCrashedError, rx.OwnerDiedError, rx.ObjectLostError) as exc:
        if _alive(ray, node_id) is False:
            return DIED, "the node died during the run", None
        return DIED, f"the worker running the doctor died ({_first_line(exc)})", None
    except rx.TaskUnschedulableError as exc:
        return DOWN, f"cannot run a task there ({_first_line(exc)})", None
    except rx.TaskCancelledError:
        return TIMEOUT, "the task was cancelled", None
    except rx.GetTimeoutError:
        return TIMEOUT, "no result", None
    except rx.RayTaskError as exc:
        return ERROR, f"the task failed: {_first_line(exc)}", None
    except rx.RayError as exc:
        if _alive(ray, node_id) is False:
            return DIED, "the node died during the run", None
        return ERROR, f"{type(exc).__name__}: {_first_line(exc)}", None
    if not isinstance(env, dict):
        return ERROR, "the task returned no report", None
    if env.get("timed_out"):
        return TIMEOUT, env.get("error") or "the doctor timed out", env
    if env.get("error"):
        state = NO_GPUREADY if "not installed" in env["error"] else ERROR
        return state, env["error"], env
    return OK, "", env


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("Traceback"):
            return line[:300]
    return type(exc).__name__


def _node_report(info: dict) -> NodeReport:
    state, reason, env = info.get("report", (ERROR, "no outcome", None))
    host = (env or {}).get("hostname") or info["host"] or info["address"] or info["node_id"][:8]
    common = dict(node_id=info["node_id"], address=info["address"], tags=info["tags"], seconds=float(info.get("seconds", 0.0)))
    if env is not None:
        common["exit_code"] = env.get("exit_code")
        if env.get("machine_override"):
            common["tags"] = tuple(common["tags"]) + (f"machine={os.path.basename(env['machine_override'])}",)
    if state != OK or env is None:
        return NodeReport(name=host, state=state, reason=reason, **common)
    try:
        machine, findings = parse_doctor_json(env.get("doctor"), where=f"node {host}")
    except MachineFormatError as exc:
        return NodeReport(name=host, state=ERROR, reason=str(exc), **common)
    return NodeReport(name=machine.hostname or host, state=OK, machine=machine, findings=findings, **common)
