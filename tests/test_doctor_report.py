"""Reports to paste: home folder, user name and host name redacted by default; long sections folded; command, date, version."""

import dataclasses
import json

from gpuready import __version__
from gpuready.doctor.checks import diagnose
from gpuready.machine import FrameworkCopy
from gpuready.report.markdown import doctor_markdown
from gpuready.report.redact import make_redactor, redact_data
from tests.conftest import load_machine
from tests.test_cli import gpuready


def personal_machine(tmp_path):
    m = load_machine("h200-driver580")
    py = dataclasses.replace(m.python, executable="/home/ana/miniconda3/envs/cv/bin/python", prefix="/home/ana/miniconda3/envs/cv")
    dlib = next(f for f in m.frameworks if f.name == "torch")
    dlib = dataclasses.replace(dlib, copies=(FrameworkCopy("/home/ana/miniconda3/envs/cv/lib/python3.12/site-packages/torch", "2.11.0", "torch", True),
                                             FrameworkCopy(r"C:\Users\ana\AppData\Roaming\Python\torch", "2.4.1", "torch")))
    m = dataclasses.replace(m, python=py, hostname="gpu-box-7.lab.example.org", frameworks=(dlib,))
    path = tmp_path / "m.json"
    m.save(path)
    return m, path


def test_redactor_hides_home_user_and_host():
    r = make_redactor(("gpu-box-7.lab.example.org",), home="/home/ana", user="ana")
    text = "/home/ana/x on gpu-box-7.lab.example.org (gpu-box-7), user ana; /home/bob/y; /Users/carol/z; C:\\Users\\dave\\e; Ubuntu, root:video; analysis"
    out = r(text)
    assert "ana" not in out.replace("analysis", "") and "gpu-box-7" not in out and "bob" not in out and "carol" not in out and "dave" not in out
    assert out.startswith("~/x on <host> (<host>), user <user>") and "Ubuntu, root:video" in out and "analysis" in out
    assert redact_data({"a": ["/home/ana/q"], "b": 3}, r) == {"a": ["~/q"], "b": 3}


def test_common_user_names_are_not_replaced_as_words():
    r = make_redactor((), home="/home/ubuntu", user="ubuntu")
    assert r("Ubuntu 24.04, sudo ubuntu-drivers install, /home/ubuntu/env") == "Ubuntu 24.04, sudo ubuntu-drivers install, ~/env"


def test_markdown_and_json_are_redacted_by_default(tmp_path):
    m, path = personal_machine(tmp_path)
    md = gpuready("doctor", "--markdown", "--machine", str(path)).stdout
    js = gpuready("doctor", "--json", "--machine", str(path)).stdout
    for out in (md, js):
        assert "ana" not in out and "gpu-box-7" not in out, out
        assert "/home/<user>/miniconda3" in out
    assert json.loads(js)["machine"]["hostname"] == "<host>"
    kept = gpuready("doctor", "--markdown", "--no-redact", "--machine", str(path)).stdout
    assert "/home/ana/miniconda3" in kept
    assert "gpu-box-7.lab.example.org" in gpuready("doctor", "--json", "--no-redact", "--machine", str(path)).stdout


def test_markdown_shows_command_date_version_and_folds_long_sections():
    m = load_machine("h200-driver580")
    md = doctor_markdown(m, diagnose(m), command="gpuready doctor --markdown", date="2026-12-02T03:00:00+00:00")
    head = md.split("\n\n")[1]
    assert "- command: `gpuready doctor --markdown`" in head and "- date: 2026-12-02T03:00:00+00:00" in head
    assert f"- gpuready: {__version__}" in head and "verdict: 3 problem(s)" in head
    assert "<details>\n<summary>Machine</summary>" in md and "</details>" in md  # the long machine table is folded
    assert "<details open>\n<summary>Problems</summary>" in md  # long, so folded too, but open
    assert md.index("Problems</summary>") < md.index("<summary>Machine</summary>")
