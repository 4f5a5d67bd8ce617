"""A real local Ray cluster for the fleet tests and the docs run: a head and workers started with
`ray start --block`, each in its own process group (so they are stopped by their own ids, never
with `ray stop`, which would stop every Ray process on the machine), each with its own resources
and environment.

All of it stays on loopback: the head is 127.0.0.2 and worker i is 127.0.0.(3+i) (Ray turns
127.0.0.1 into the host's outward address; any other loopback address it keeps). One address per
node also keeps a driver from attaching to a worker's raylet: a driver whose raylet is killed
dies with it. Usage statistics are off, and the object store is small, so four nodes fit on a
2-core CI box.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

IP = "127.0.0.2"
RAY = Path(sys.executable).with_name("ray")


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return RAY.is_file()


def loopback_ok() -> bool:
    try:
        with socket.socket() as s:
            s.bind((IP, 0))
        return True
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind((IP, 0))
        return s.getsockname()[1]


@dataclass
class Node:
    name: str
    proc: subprocess.Popen
    log: Path
    env: dict = field(default_factory=dict)

    def kill(self) -> None:
        """SIGKILL the node's whole process group (raylet, workers, agents): a machine pulled from the rack."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass


@dataclass
class Cluster:
    address: str
    temp: Path
    nodes: list[Node] = field(default_factory=list)

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def stop(self) -> None:
        """SIGKILL every node's process group (a test cluster keeps nothing worth a graceful stop)."""
        for n in reversed(self.nodes):
            n.kill()
        if not os.environ.get("GPUREADY_KEEP_RAY_TEMP"):  # keep the nodes' logs to look into a failure
            shutil.rmtree(self.temp, ignore_errors=True)


BASE_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    # a killed node is declared dead in ~6 s instead of ~30 s; not faster: on a loaded 2-core box a
    # live node (the head, and with it the driver attached to it) must not be declared dead by mistake
    "RAY_health_check_period_ms": "1000",
    "RAY_health_check_timeout_ms": "2000",
    "RAY_health_check_failure_threshold": "5",
    "RAY_raylet_start_wait_time_s": "120",  # a loaded CI box can take longer than the default 30 s
}


def _start(name: str, ip: str, args: list[str], env: dict, temp: Path, wait_s: float) -> Node:
    log = temp / f"{name}.log"
    full_env = {**os.environ, **BASE_ENV, **env}
    full_env.pop("RAY_ADDRESS", None)
    fh = open(log, "wb")
    proc = subprocess.Popen([str(RAY), "start", "--block", "--disable-usage-stats", f"--node-ip-address={ip}",
                             "--object-store-memory=80000000", "--num-gpus=0", *args],
                            stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=full_env,
                            start_new_session=True, cwd=str(temp))
    fh.close()
    node = Node(name, proc, log, env)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        text = log.read_text(errors="replace")
        if "Ray runtime started" in text:
            return node
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    node.kill()
    raise RuntimeError(f"ray node {name} did not start:\n{log.read_text(errors='replace')[-3000:]}")


def start_cluster(workers: dict[str, dict], *, head_env: dict | None = None, wait_s: float = 90.0) -> Cluster:
    """A head (resource {"head": 1}) and one worker per entry of `workers` (name -> extra environment),
    each with resource {name: 1} and 1 CPU."""
    temp = Path(tempfile.mkdtemp(prefix="gr-ray-", dir="/tmp"))  # short: Ray's socket paths must fit in 107 bytes
    port = free_port()
    cluster = Cluster(address=f"{IP}:{port}", temp=temp)
    try:
        cluster.nodes.append(_start("head", IP, ["--head", f"--port={port}", "--num-cpus=1", '--resources={"head": 1}',
                                             "--include-dashboard=false",
                                             f"--temp-dir={temp}"], head_env or {}, temp, wait_s))
        # one after another: raylets started side by side race for the same free ports ("bind: Address
        # already in use"), and on a busy 2-core box they miss their registration deadline
        for i, (name, env) in enumerate(workers.items()):
            cluster.nodes.append(_start(name, f"127.0.0.{3 + i}", [f"--address={cluster.address}", "--num-cpus=1",
                                                                   f'--resources={{"{name}": 1}}'], env, temp, wait_s))
    except BaseException:
        cluster.stop()
        raise
    return cluster
