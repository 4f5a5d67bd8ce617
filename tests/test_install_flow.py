"""The install flow with the build and verify stages stubbed: built wheels, build failures, verify
failures (a GPU package that does not use the GPU is a failure), blocked plans, bad input, exit codes."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import gpuready.install.flow
from gpuready.plan.model import Plan
from gpuready.findings import Finding
from gpuready.install import flow
from gpuready.install.executor import NetOptions
from gpuready.install.flow import run_install
from gpuready.install.model import InstallError, InstallOptions
from gpuready.install.planfile import load_plan_file
from gpuready.install.verifying import judge_verify
from gpuready.install.progress import ProgressView
from tests.test_install_support import (  # noqa: F401 - fixtures
    clean_pip_env, make_wheel, pip_freeze, pip_install, python_of, run_gpuready, venv, venv_template, write_plan,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX venv layout")


class FakeUI:
    def __init__(self, answer: bool = False) -> None:
        self.answer = answer
        self.shown = []
        self.messages = []
        self.questions = []

    def show_plan(self, report, steps, conflicts):
        self.shown.append([s.title for s in steps])

    def confirm(self, question):
        self.questions.append(question)
        return self.answer

    def message(self, text):
        self.messages.append(text)

    def view(self):
        return ProgressView(enabled=False)


@dataclass
class FakeCause:
    """A build cause as BuildResult.cause carries it (the dict `gpuready build` fills from explain)."""

    label: str
    explanation: str = "nvcc refused the host compiler"
    fix: str = "use g++ 13"
    evidence: tuple = ()

    def as_dict(self) -> dict:
        return {"label": self.label, "explanation": self.explanation, "fix": self.fix, "evidence": list(self.evidence)}


@dataclass
class FakeBuild:
    ok: bool
    wheel: str | None = None
    log: str = ""
    cached: bool = False
    cuda_enabled: bool | None = True
    seconds: float = 1.0
    problems: list = field(default_factory=list)
    cause: dict | None = None
    label: str = ""
    missing: str = ""
    fix: str = ""


def source_pkg(name="tinybuilt", gpu=False):
    return {"name": name, "dist": name, "version": "1.0", "variant": "source", "gpu": gpu,
            "install": ["gpuready", "build", name, "--version", "1.0"], "build": {"cuda_arch_bin": ["9.0"]}}


def opts(py, **kw) -> InstallOptions:
    base = dict(python=str(py), verify=False, installer="pip", progress=False, net=NetOptions())
    base.update(kw)
    return InstallOptions(**base)


def test_built_wheel_is_forced_in(venv, tmp_path, clean_pip_env, monkeypatch):
    py = python_of(venv)
    wheel = make_wheel(tmp_path / "built", "tinybuilt", "1.0", files={"tinybuilt/__init__.py": "CUDA = True\n"})
    make_wheel(tmp_path / "cpu", "tinybuilt", "1.0", files={"tinybuilt/__init__.py": "CUDA = False\n"})
    pip_install(py, "--find-links", str(tmp_path / "cpu"), "tinybuilt==1.0")  # a CPU build of the same version
    calls = []

    def fake_build(machine, package, **kw):
        calls.append((package, kw))
        return FakeBuild(ok=True, wheel=str(wheel), cached=True)

    monkeypatch.setattr(gpuready.install.flow, "build_wheel", fake_build, raising=False)
    plan = write_plan(tmp_path / "plan.json", [source_pkg()])
    rep = run_install([], opts(py, plan_file=plan, cuda_archs=("8.6",)), FakeUI())
    assert rep.status == "installed", (rep.error, rep.causes)
    assert calls[0][0] == "tinybuilt" and calls[0][1]["cuda_archs"] == ["8.6"] and calls[0][1]["python"] == str(py)
    assert rep.builds[0]["cached"] is True
    assert any("--force-reinstall" in s["command"] for s in rep.steps)
    site = next((venv / "lib").glob("python3*/site-packages"))
    assert (site / "tinybuilt" / "__init__.py").read_text() == "CUDA = True\n"


def test_failed_build_changes_nothing_and_reports_the_cause(venv, tmp_path, clean_pip_env, monkeypatch):
    py = python_of(venv)
    before = pip_freeze(py)
    monkeypatch.setattr(gpuready.install.flow, "build_wheel",
                        lambda m, p, **kw: FakeBuild(ok=False, cause=FakeCause("host_compiler_unsupported").as_dict(), problems=["configure failed"]),
                        raising=False)
    plan = write_plan(tmp_path / "plan.json", [source_pkg()])
    rep = run_install([], opts(py, plan_file=plan), FakeUI())
    assert rep.status == "failed" and rep.failed_step == "build tinybuilt"
    assert rep.causes[0]["label"] == "host_compiler_unsupported" and rep.causes[0]["fix"] == "use g++ 13"
    assert rep.rollback is None
    assert pip_freeze(py) == before


def test_gpu_build_without_cuda_is_a_failure(venv, tmp_path, clean_pip_env, monkeypatch):
    py = python_of(venv)
    wheel = make_wheel(tmp_path / "built", "dlib", "20.0.1")
    monkeypatch.setattr(gpuready.install.flow, "build_wheel",
                        lambda m, p, **kw: FakeBuild(ok=True, wheel=str(wheel), cuda_enabled=False), raising=False)
    plan = write_plan(tmp_path / "plan.json", [source_pkg("dlib", gpu=True)])
    rep = run_install([], opts(py, plan_file=plan), FakeUI())
    assert rep.status == "failed"
    assert "without CUDA" in rep.error
    assert not any(f.startswith("dlib") for f in pip_freeze(py))


def test_offline_build_sees_only_the_folder(venv, tmp_path, clean_pip_env, monkeypatch):
    from gpuready.install import offline as off

    py = python_of(venv)
    folder = tmp_path / "dl"
    folder.mkdir()
    (folder / "tinybuilt-1.0.tar.gz").write_bytes(b"not really an sdist")
    wheel = make_wheel(tmp_path / "built", "tinybuilt", "1.0")
    seen = {}

    def fake_build(machine, package, **kw):
        import os

        seen.update(sdist=kw["sdist"], no_index=os.environ.get("PIP_NO_INDEX"), links=os.environ.get("PIP_FIND_LINKS"))
        return FakeBuild(ok=True, wheel=str(wheel))

    monkeypatch.setattr(gpuready.install.flow, "build_wheel", fake_build, raising=False)
    from gpuready.machine import Machine

    machine = flow.Machine.load(Path(__file__).parent / "machines" / "no-gpu.json")
    import dataclasses

    here = dataclasses.replace(machine, python=dataclasses.replace(machine.python, version="%d.%d.0" % sys.version_info[:2], platform_tag="linux_x86_64"))
    tags = off.target_tags(here)
    off.write_manifest(folder, requests=["tinybuilt"], plan=Plan.from_dict({"packages": [source_pkg()], "blocked": []}), tags=tags, machine=here)
    rep = run_install(["tinybuilt"], opts(py, offline=folder), FakeUI())
    assert rep.status == "installed", (rep.error, rep.causes)
    # the build sees the hash-checked copy of the folder's listed files, and only that
    checked = off.checked_folder(folder)
    assert seen["sdist"] == checked / "tinybuilt-1.0.tar.gz"
    assert seen["no_index"] == "1" and seen["links"] == str(checked)
    import os

    assert "PIP_NO_INDEX" not in os.environ  # restored after the build
    assert any("--no-index" in s["command"] and str(checked) in s["command"] for s in rep.steps)


def test_verify_failure_rolls_back(venv, tmp_path, clean_pip_env, monkeypatch):
    py = python_of(venv)
    make_wheel(tmp_path / "w", "pkga", "1.0")
    before = pip_freeze(py)
    monkeypatch.setattr(flow, "verify_names", lambda pkgs: ["pkga"])
    monkeypatch.setattr(flow, "module_of", lambda d: "pkga")
    monkeypatch.setattr(flow, "run_verify", lambda target, names, timeout: {
        "pkga": [Finding("cpu_only_build", "warning", "pkga 1.0", "CPU-only build", fix="install the CUDA build",
                         details={"verify_status": "cpu_only"})]})
    plan = write_plan(tmp_path / "plan.json", [{"name": "pkga", "version": "1.0", "gpu": True,
                                                "install": ["pip", "install", "pkga==1.0", "--no-index", "--find-links", str(tmp_path / "w")]}])
    rep = run_install([], opts(py, plan_file=plan, verify=True), FakeUI())
    assert rep.status == "verify-failed" and rep.rollback["exact"]
    assert rep.causes[0]["label"] == "cpu_only_build"
    assert pip_freeze(py) == before
    rep = run_install([], opts(py, plan_file=plan, verify=True, keep_on_verify_failure=True), FakeUI())
    assert rep.status == "installed" and any("keep-on-verify-failure" in h for h in rep.hints)
    assert "pkga==1.0" in pip_freeze(py)


def test_judge_verify():
    ok = Finding("", "ok", "dlib 20.0.1", "works on the GPU", details={"verify_status": "works"})
    cpu = Finding("cpu_only_build", "warning", "dlib 20.0.1", "CPU-only", details={"verify_status": "cpu_only"})
    crash = Finding("other", "error", "cv2", "crashed with SIGSEGV", details={"verify_status": "crashed"})
    unverified = Finding("", "info", "face_recognition", "no model files", details={"verify_status": "unverified"})
    assert judge_verify({"dlib": [ok]}, {"dlib"}) == []
    assert judge_verify({"dlib": [cpu]}, {"dlib"})  # a GPU package on the CPU is a failure
    assert judge_verify({"dlib": [cpu]}, set()) == []  # a CPU plan: fine
    assert judge_verify({"cv2": [crash]}, set())  # a crash is a failure anywhere
    assert judge_verify({"face_recognition": [unverified]}, {"face_recognition"}) == []


def test_blocked_plan_installs_nothing(venv, tmp_path, clean_pip_env):
    py = python_of(venv)
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"packages": [], "blocked": [{"package": "tensorflow", "blocking": "no GPU build on Windows",
                                                              "fix": "use WSL2", "label": "platform_unsupported"}]}))
    rep = run_install([], opts(py, plan_file=plan), FakeUI())
    assert rep.status == "blocked" and rep.causes[0]["label"] == "platform_unsupported" and rep.causes[0]["fix"] == "use WSL2"


def test_consent_is_asked_and_refusal_changes_nothing(venv, tmp_path, clean_pip_env):
    py = python_of(venv)
    w = tmp_path / "w"
    make_wheel(w, "dlib-bin", "20.0.1", files={"dlib/__init__.py": ""})
    make_wheel(w, "dlib", "20.0.1", files={"dlib/__init__.py": "CUDA = True\n"})
    pip_install(py, "--find-links", str(w), "dlib-bin")
    before = pip_freeze(py)
    plan = write_plan(tmp_path / "plan.json", [{"name": "dlib", "dist": "dlib", "version": "20.0.1",
                                                "install": ["pip", "install", "dlib==20.0.1", "--no-index", "--find-links", str(w)]}])
    ui = FakeUI(answer=False)
    rep = run_install([], opts(py, plan_file=plan), ui)
    assert rep.status == "refused" and "dlib-bin" in ui.questions[0]
    assert pip_freeze(py) == before
    ui = FakeUI(answer=True)
    rep = run_install([], opts(py, plan_file=plan), ui)
    assert rep.status == "installed"
    freeze = pip_freeze(py)
    assert "dlib==20.0.1" in freeze and not any(f.startswith("dlib-bin") for f in freeze)


def test_dry_run_on_a_saved_machine_prints_every_command(clean_pip_env):
    pytest.importorskip("gpuready.plan.solve")
    machine = Path(__file__).parent / "machines" / "h200-driver580.json"
    ui = FakeUI()
    rep = run_install(["dlib", "face_recognition"], opts(sys.executable, machine_file=machine, dry_run=True), ui)
    assert rep.status == "dry-run"
    kinds = [s["kind"] for s in rep.steps]
    assert kinds[0] == "build" and "install" in kinds
    assert rep.steps[0]["command"].startswith("gpuready build dlib --version 20.0.1 --cuda-arch 9.0")
    face = next(s for s in rep.steps if "face_recognition" in s["title"])
    assert "setuptools<82" in face["command"] and "--no-deps" in face["command"]


def test_machine_file_needs_dry_run(clean_pip_env):
    with pytest.raises(InstallError, match="dry-run"):
        run_install(["dlib"], opts(sys.executable, machine_file=Path("x.json")), FakeUI())


def test_plan_file_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(InstallError, match="not valid JSON"):
        load_plan_file(bad)
    bad.write_text(json.dumps({"hello": 1}))
    with pytest.raises(InstallError, match="not a gpuready plan"):
        load_plan_file(bad)
    bad.write_text(json.dumps({"plan": {"packages": [{"name": "x", "install": ["pip", "install", "x"]}]}}))
    assert load_plan_file(bad).packages[0].name == "x"
    with pytest.raises(InstallError, match="cannot read"):
        load_plan_file(tmp_path / "missing.json")


@pytest.mark.parametrize("args,needle", [
    (["install", "--plan", "/nonexistent/plan.json", "--no-verify"], "cannot read"),
    (["install", "dlib", "--venv", "/tmp/x", "--python", sys.executable], "choose one of --venv and --python"),
    (["install", "dlib", "--machine", "tests/machines/h200-driver580.json"], "--dry-run"),
    (["install", "dlib", "--offline", "/nonexistent/folder"], "no such folder"),
    (["install", "dlib", "--cuda-arch", "ninety", "--dry-run"], "compute capability"),
    (["download", "dlib", "-d", "README.md"], "is a file"),
    (["install"], "name at least one package"),
])
def test_cli_bad_input_exits_2(args, needle, tmp_path):
    res = run_gpuready(*args, env_extra={"GPUREADY_HOME": str(tmp_path)})
    assert res.returncode == 2, res.stdout + res.stderr
    assert needle in res.stderr
    assert "Traceback" not in res.stderr


def test_cli_dry_run_json(tmp_path):
    pytest.importorskip("gpuready.plan.solve")
    res = run_gpuready("install", "dlib", "--machine", "tests/machines/h200-driver580.json", "--dry-run", "--json", "-q",
                       "--python", sys.executable, env_extra={"GPUREADY_HOME": str(tmp_path)})
    assert res.returncode == 0, res.stderr
    rep = json.loads(res.stdout)
    assert rep["status"] == "dry-run" and rep["ok"] is True and rep["steps"][0]["kind"] == "build"
