"""Run one framework's workload in a child process and say what became of it.

The child (children/gpuready_child.py) runs in the interpreter being verified, with a
timeout. What comes back is one of: a result line (parsed), a death by signal (a crash:
which signal, and the last lines it printed), a timeout (a hang: the step it was in), or an
exit without a result line (garbage on stdout, an interpreter that would not start). This
module only classifies; verdicts.py turns the outcome into a verdict with a cause and a fix.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from gpuready.proc import MARK, Result, parse_marked_json, run

CHILD = Path(__file__).with_name("children") / "gpuready_child.py"
STEP_PREFIX = "gpuready-step: "

# Environment for every child: no .pyc litter in the user's site-packages, progress lines out
# at once, a Python traceback on a fatal signal, and no framework grabbing all GPU memory.
CHILD_ENV_DEFAULTS: dict[str, str] = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONFAULTHANDLER": "1",
    "PYTHONIOENCODING": "utf-8",
    "XLA_PYTHON_CLIENT_PREALLOCATE": "false",  # jax: allocate on demand
    "TF_FORCE_GPU_ALLOW_GROWTH": "true",  # tensorflow: likewise
    "TF_CPP_MIN_LOG_LEVEL": "1",  # tensorflow: keep warnings (missing libraries), drop info
}


@dataclass(frozen=True)
class ChildRun:
    """How one child ended, before any judgement."""

    name: str
    mode: str
    outcome: str  # "result", "crashed", "hung", "no_result", "not_started"
    payload: dict[str, Any] = field(default_factory=dict)
    signal: str = ""
    returncode: int | None = None
    last_step: str = ""  # the step the child announced last
    in_step: bool = False  # it had not finished that step (a crash or hang happened inside it)
    preloaded: tuple[str, ...] = ()  # modules it imported first ("numpy 2.5.2"), from its progress lines
    tail: str = ""  # last lines of its output, progress lines removed
    output: str = ""  # everything it printed (for explain)
    seconds: float = 0.0
    timeout: float = 0.0


def child_argv(python: str, mode: str, name: str, params: Mapping[str, Any]) -> list[str]:
    return [python, "-X", "faulthandler", "-u", str(CHILD), mode, name, json.dumps(dict(params))]


def child_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for key, value in CHILD_ENV_DEFAULTS.items():
        env.setdefault(key, value)
    if extra:
        env.update(extra)
    return env


def run_child(
    name: str,
    mode: str,
    params: Mapping[str, Any],
    *,
    python: str | None = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
) -> ChildRun:
    res = run(child_argv(python or sys.executable, mode, name, params), timeout=timeout, env=child_env(env))
    return classify(name, mode, res, timeout)


def classify(name: str, mode: str, res: Result, timeout: float) -> ChildRun:
    """Result -> ChildRun. Separate from run_child so each kind of ending is testable with a fake Result."""
    output = res.output
    last_step, in_step = progress(output)
    preloaded = tuple(ln.split(STEP_PREFIX + "preloaded: ", 1)[1].strip() for ln in output.split("\n") if STEP_PREFIX + "preloaded: " in ln)
    tail = _tail(output)
    common = dict(
        name=name, mode=mode, returncode=res.returncode, last_step=last_step, in_step=in_step, preloaded=preloaded,
        tail=tail, output=output, seconds=round(res.seconds, 3), timeout=timeout,
    )
    payload = parse_marked_json(res.stdout) or {}
    if res.not_found or res.start_error:
        return ChildRun(outcome="not_started", tail=res.start_error or tail, **{k: v for k, v in common.items() if k != "tail"})
    if payload and payload.get("status"):
        # The verdict was printed; a crash or hang afterwards (in exit handlers) is kept as a fact.
        return ChildRun(outcome="result", payload=payload, signal=res.signal, **common)
    if res.timed_out:
        return ChildRun(outcome="hung", **common)
    if res.signal:
        return ChildRun(outcome="crashed", signal=res.signal, **common)
    return ChildRun(outcome="no_result", **common)


def progress(output: str) -> tuple[str, bool]:
    """(the last step the child started, whether it was still in it) from its progress lines."""
    last, inside = "", False
    for line in output.split("\n"):
        if STEP_PREFIX not in line:
            continue
        text = line.split(STEP_PREFIX, 1)[1].strip()
        if text.startswith("done: "):
            if text[len("done: ") :] == last:
                inside = False
        elif not text.startswith(("ok: ", "FAILED: ", "timed ", "preloaded: ")):
            last, inside = text, True
    return last, inside


def _tail(output: str, lines: int = 12) -> str:
    """The last lines of output, without our progress lines and result line (they are not evidence)."""
    result_line = MARK.strip() + " {"  # str.strip() in Result.output may have eaten MARK's \x1e
    kept = [
        ln.rstrip()
        for ln in output.split("\n")
        if ln.strip() and STEP_PREFIX not in ln and not ln.lstrip("\x1e").startswith(result_line)
    ]
    return "\n".join(kept[-lines:])
