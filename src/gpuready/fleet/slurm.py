"""Gather doctor reports from Slurm nodes: `srun --nodes N --ntasks-per-node 1 --label gpuready doctor --json`.

srun runs one doctor per node and interleaves their output on one stdout; `--label` prefixes each
line with its task number ("0: {"), so each task's JSON is put back together from its own lines.
A task that printed no report is a row with srun's own words for it ("srun: error: gpu3: task 2:
Exited with exit code 127"). The job gets a unique name, asks for one CPU per node and no GPU
(`--gres` is not passed), and is cancelled (`scancel --name`) when it runs past the timeout or
is interrupted, so no allocation outlives the command.

`gpuready` must be on the PATH of the job's environment on each node (srun exports this
shell's environment; with a shared home or a module, one install serves every node).
"""

from __future__ import annotations

import json
import math
import os
import re
import time
import uuid
from typing import Callable

from gpuready.fleet.model import DIED, ERROR, NO_GPUREADY, OK, TIMEOUT, FleetReport, NodeReport, parse_doctor_json
from gpuready.machine import MachineFormatError

LABEL = re.compile(r"^\s*(\d+): ?(.*)$")
TASK_ERROR = re.compile(r"srun: error: ([^:\s]+): tasks? ([\d,\-]+): (.*)$")


class SlurmUnavailable(Exception):
    """srun is not installed, or refused the request outright (no such partition): a usage problem."""


def srun_argv(nodes: int, partition: str | None, timeout: float, python: str | None, import_timeout: float | None,
              job_name: str, srun: str = "srun", gpuready: str = "gpuready") -> list[str]:
    inner = max(3.0, timeout - 5.0)
    imports = import_timeout if import_timeout is not None else max(2.0, min(60.0, inner * 0.6))
    argv = [srun, "--nodes", str(nodes), "--ntasks-per-node", "1", "--label", f"--job-name={job_name}",
            "--kill-on-bad-exit=0", f"--time={max(1, math.ceil(timeout / 60))}", "--cpus-per-task=1"]
    if partition:
        argv += ["--partition", partition]
    argv += [gpuready, "doctor", "--json", "--no-redact", "--timeout", f"{imports:g}"]
    if python:
        argv += ["--python", python]
    return argv


def split_labelled(stdout: str) -> dict[int, str]:
    """srun --label output -> {task: its own text}."""
    tasks: dict[int, list[str]] = {}
    for line in stdout.splitlines():
        m = LABEL.match(line)
        if m:
            tasks.setdefault(int(m.group(1)), []).append(m.group(2))
    return {t: "\n".join(lines) for t, lines in tasks.items()}


def _task_numbers(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            if a.isdigit() and b.isdigit():
                out.extend(range(int(a), int(b) + 1))
        elif part.isdigit():
            out.append(int(part))
    return out


def task_errors(stderr: str) -> dict[int, tuple[str, str]]:
    """{task: (node, srun's message)} from srun's stderr."""
    out: dict[int, tuple[str, str]] = {}
    for line in stderr.splitlines():
        m = TASK_ERROR.search(line.strip())
        if m:
            for t in _task_numbers(m.group(2)):
                out[t] = (m.group(1), m.group(3).strip())
    return out


def parse(stdout: str, stderr: str, nodes: int, *, source: str, timed_out: bool = False, timeout: float = 0.0,
          seconds: float = 0.0) -> FleetReport:
    """One row per task that printed, or that srun names, or that was asked for (0..nodes-1)."""
    report = FleetReport(source=source, seconds=seconds)
    texts = split_labelled(stdout)
    task_stderr = split_labelled(stderr)  # each task's own stderr, labelled like its stdout
    errors = task_errors(stderr)
    srun_lines = [line.strip() for line in stderr.splitlines() if line.strip().startswith("srun:")]
    for task in sorted(set(range(nodes)) | set(texts) | set(errors) | set(task_stderr)):
        text = texts.get(task, "").strip()
        node, why = errors.get(task, ("", ""))
        common = dict(node_id=f"task {task}", address=node)
        if text:
            try:
                machine, findings = parse_doctor_json(json.loads(text), where=f"task {task}")
            except (json.JSONDecodeError, MachineFormatError) as exc:
                report.nodes.append(NodeReport(name=node or f"task {task}", state=ERROR,
                                               reason=f"not a doctor report: {str(exc)[:200]}", **common))
                continue
            code = 1 if any(f.is_problem for f in findings) else 0
            report.nodes.append(NodeReport(name=machine.hostname or node or f"task {task}", state=OK, machine=machine,
                                           findings=findings, exit_code=code, **common))
            continue
        own = [line for line in task_stderr.get(task, "").splitlines() if line.strip()]
        said = own[-1].strip() if own else ""
        if any(("execve" in line and "No such file" in line) or "No module named gpuready" in line for line in own):
            state, reason = NO_GPUREADY, f"gpuready is not on the PATH there ({said})"
        elif "node failure" in why.lower() or "node_fail" in stderr.lower():
            state, reason = DIED, f"srun: {why or 'node failure'}"
        elif why:
            state, reason = ERROR, f"srun: {why}" + (f" ({said})" if said else "")
        elif timed_out:
            waiting = [line for line in srun_lines if re.search(r"queued|waiting|not available", line)]
            said = waiting[0] if waiting else srun_lines[-1] if srun_lines else ""
            state, reason = TIMEOUT, f"no report within {timeout:.0f} s" + (f" ({said})" if said else "")
        else:
            state, reason = ERROR, said or (srun_lines[-1] if srun_lines else "no output from this task")
        report.nodes.append(NodeReport(name=node or f"task {task}", state=state, reason=reason, **common))
    return report


def gather(
    *,
    nodes: int = 1,
    partition: str | None = None,
    timeout: float = 180.0,
    python: str | None = None,
    import_timeout: float | None = None,
    srun: str = "srun",
    gpuready: str = "gpuready",
    progress: Callable[[str], None] | None = None,
) -> FleetReport:
    start = time.monotonic()
    job = f"gpuready-fleet-{uuid.uuid4().hex[:8]}"
    argv = srun_argv(nodes, partition, timeout, python, import_timeout, job, srun=srun, gpuready=gpuready)
    if progress:
        progress("slurm: " + " ".join(argv))
    from gpuready import proc

    try:
        res = proc.run(argv, timeout=timeout, stop_grace=5.0)  # an interrupt: SIGTERM srun (it cancels its step), then kill
    except KeyboardInterrupt:
        _scancel(job, srun)
        raise
    if res.not_found:
        raise SlurmUnavailable(f"{srun}: not found (is Slurm's client installed here, or are you on a login node?)")
    if res.start_error:
        raise SlurmUnavailable(f"{srun}: {res.start_error}")
    timed_out = res.timed_out
    if timed_out:
        _scancel(job, srun)  # srun was killed: make sure its allocation goes too
    stdout, stderr = res.stdout, res.stderr
    if not stdout.strip() and not timed_out and not task_errors(stderr) and not split_labelled(stderr):
        # no task ran at all: srun refused the request (no such partition, too many nodes asked)
        said = [line.strip() for line in stderr.splitlines() if "error" in line.lower()]
        if said and res.returncode != 0:
            raise SlurmUnavailable(said[-1])
    where = f"slurm ({nodes} node(s)" + (f", partition {partition}" if partition else "") + ")"
    return parse(stdout, stderr, nodes, source=where, timed_out=timed_out, timeout=timeout,
                 seconds=time.monotonic() - start)


def _scancel(job: str, srun: str) -> None:
    """Cancel the job by its unique name (only this user's jobs can match)."""
    from gpuready import proc

    scancel = os.path.join(os.path.dirname(srun), "scancel") if os.path.dirname(srun) else "scancel"
    proc.run([scancel, "--name", job], timeout=10)
