"""A project in: requirements files and pyproject.toml read as pip reads them, GPU packages planned, the rest passed through."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gpuready.indexconfig import IndexConfig
from gpuready.plan.project import apply_index_options, is_plain, plan_project, split
from gpuready.plan.projectinput import ProjectError, from_arguments, marker_environment
from gpuready.plan.pyproject import read_pyproject
from gpuready.plan.reqfile import read_requirements
from tests.conftest import MACHINES, load_machine
from tests.test_project_support import gpuready, offline_env

HERE = Path(__file__).resolve().parent


@pytest.fixture
def h200():
    return load_machine("h200-driver580")


def write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = folder / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return folder


def test_requirements_file_lines_as_pip_reads_them(tmp_path, h200):
    write(tmp_path, {
        "req.txt": "# a comment\n-r sub/base.txt\n-c cons.txt\ntorch>=2.4 \\\n    # continued\ntorchvision  # trailing comment\n"
                   "pillow==11.0 --hash=sha256:aaa --hash sha256:bbb\nrequests; sys_platform == 'win32'\n"
                   "pywin32; platform_system == 'Windows'\nnumpy ; python_version >= '3.10'\n-e ./mypkg\n./dist/x-1.0-py3-none-any.whl\n"
                   "mylib @ https://example.org/mylib-1.0.tar.gz\n${EXTRA_PKG}\n",
        "sub/base.txt": "scipy>=1.11\n",
        "cons.txt": "numpy<2.3\n",
    })
    inp = read_requirements(tmp_path / "req.txt", marker_environment(h200), environ={"EXTRA_PKG": "rich>=13"})
    got = [(r.requirement, r.origin) for r in inp.requirements]
    assert got[:5] == [("scipy>=1.11", "base.txt:1"), ("torch>=2.4", "req.txt:4"), ("torchvision", "req.txt:6"),
                       ("pillow==11.0", "req.txt:7"), ("numpy", "req.txt:10")]
    assert inp.requirements[3].hashes == ("sha256:aaa", "sha256:bbb")
    assert inp.requirements[5].editable and inp.requirements[5].requirement == str((tmp_path / "mypkg").resolve())
    assert inp.requirements[6].direct and inp.requirements[6].requirement.endswith("dist/x-1.0-py3-none-any.whl")
    assert inp.requirements[7].requirement == "mylib @ https://example.org/mylib-1.0.tar.gz" and inp.requirements[7].direct
    assert inp.requirements[8].requirement == "rich>=13"
    assert [c.requirement for c in inp.constraints] == ["numpy<2.3"]
    assert len(inp.skipped) == 2 and "win32" in inp.skipped[0]  # markers are the target's, not this machine's
    parts = split(inp)
    assert [r.name for r in parts.gpu] == ["torch", "torchvision"]
    assert {r.name for r in parts.passthrough} >= {"scipy", "pillow", "numpy", "rich", "mylib"}
    # the same file for a Windows machine keeps requests and pywin32
    win = read_requirements(tmp_path / "req.txt", marker_environment(load_machine("win10-gtx1060-driver411")), environ={"EXTRA_PKG": "x"})
    assert {"requests", "pywin32"} <= {r.name for r in win.requirements}


@pytest.mark.parametrize("text, problem", [
    ("--frobnicate\n", "unknown option"),
    ("-r missing.txt\n", "no such file"),
    ("torch ==\n", "is not a package requirement"),
    ("--index-url\n", "needs a value"),
    ("-r self.txt\n", "includes itself"),
    ("--hash=sha256:abc\n", "--hash without a requirement"),
])
def test_bad_requirements_files_are_clear_errors(tmp_path, h200, text, problem):
    (tmp_path / "self.txt").write_text(text)
    with pytest.raises(ProjectError, match=problem):
        read_requirements(tmp_path / "self.txt", marker_environment(h200))


def test_index_options_match_pips_own_parser(tmp_path):
    """The index options of requirements files, laid over the installer's settings, exactly as pip's finder ends up."""
    (tmp_path / "wheels").mkdir()
    cases = {
        "extra adds": "--extra-index-url https://x.example/simple\nfoo\n",
        "index-url replaces the index and the extras before it": "--extra-index-url https://x.example/simple\n--index-url https://y.example/simple\n",
        "extras after index-url stay": "-i https://y.example/simple\n--extra-index-url=https://x.example/simple\n",
        "an included file's index-url wins over what came before": "--extra-index-url https://x.example/simple\n-r inc.txt\n--extra-index-url https://z.example/simple\n",
        "no-index and a folder beside the file": "--no-index\n-f wheels\n--find-links https://links.example/page.html\n",
        "a folder that is not there stays as written": "-f not-here\n",
        "trusted hosts": "--index-url http://10.1.2.3:8080/simple\n--trusted-host 10.1.2.3\n--trusted-host=mirror.lab\n",
    }
    write(tmp_path, {"inc.txt": "--index-url https://inc.example/simple\n"})
    start = IndexConfig(index_url="https://start.example/simple", extra_index_urls=("https://startx.example/simple",))
    payload, mine = [], []
    for i, (name, text) in enumerate(cases.items()):
        f = tmp_path / f"case{i}.txt"
        f.write_text(text)
        payload.append({"file": str(f), "index_urls": [start.index_url, *start.extra_index_urls], "find_links": []})
        idx = apply_index_options(start, read_requirements(f, marker_environment(load_machine("h200-driver580"))).index)
        mine.append({"index_urls": [] if idx.no_index else [idx.index_url, *idx.extra_index_urls], "find_links": list(idx.find_links),
                     "trusted_hosts": list(idx.trusted_hosts), "no_index": idx.no_index})
    res = subprocess.run([sys.executable, str(HERE / "project_pip_oracle.py")], input=json.dumps(payload), capture_output=True,
                         text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    for name, got, want in zip(cases, mine, json.loads(res.stdout)):
        assert got == want, f"{name}: gpuready {got} != pip {want}"


def test_a_pytorch_index_in_a_requirements_file_is_not_an_extra_index(tmp_path, h200):
    write(tmp_path, {"r.txt": "--extra-index-url https://download.pytorch.org/whl/cu126\n"
                              "--extra-index-url https://mirrors.example.cn/pytorch/whl/cu126\ntorch\n"})
    idx = apply_index_options(IndexConfig(), read_requirements(tmp_path / "r.txt", marker_environment(h200)).index, origin="r.txt")
    assert idx.extra_index_urls == ()  # the official index: gpuready picks the variant; the mirror: it becomes the PyTorch mirror
    assert idx.pytorch_base == "https://mirrors.example.cn/pytorch/whl" and idx.pytorch_origin == "r.txt"
    assert any("names the PyTorch index" in n for n in idx.notes)


def test_pyproject_dependencies_extras_and_groups(tmp_path, h200):
    write(tmp_path, {"pyproject.toml": """
[project]
name = "my-app"
requires-python = ">=3.10"
dependencies = ["numpy>=1.26", "opencv-python-headless", "pywin32; sys_platform == 'win32'"]
[project.optional-dependencies]
gpu = ["torch>=2.4", "my-app[vision]"]
vision = ["dlib"]
[dependency-groups]
test = ["pytest>=8", {include-group = "lint"}]
lint = ["ruff"]
"""})
    env = marker_environment(h200)
    base = read_pyproject(tmp_path, env)
    assert [r.requirement for r in base.requirements] == ["numpy>=1.26", "opencv-python-headless"]
    full = read_pyproject(tmp_path / "pyproject.toml", env, extras=["GPU"], groups=["test"])
    assert [r.requirement for r in full.requirements] == ["numpy>=1.26", "opencv-python-headless", "torch>=2.4", "dlib", "pytest>=8", "ruff"]
    assert full.requirements[3].origin == "pyproject.toml [project.optional-dependencies] vision"
    assert any("not installed" in n for n in full.notes)  # the project itself
    with pytest.raises(ProjectError, match="no optional-dependencies group 'cuda'.*gpu, vision"):
        read_pyproject(tmp_path, env, extras=["cuda"])
    with pytest.raises(ProjectError, match="docs"):
        read_pyproject(tmp_path, env, groups=["docs"])
    old = dataclasses.replace(h200, python=dataclasses.replace(h200.python, version="3.9.18"))
    with pytest.raises(ProjectError, match="requires-python >=3.10"):
        read_pyproject(tmp_path, marker_environment(old))
    write(tmp_path, {"dyn/pyproject.toml": '[project]\nname = "d"\nversion = "1"\ndynamic = ["dependencies"]\n'})
    with pytest.raises(ProjectError, match="dynamic"):
        read_pyproject(tmp_path / "dyn", env)


def test_a_project_plan_plans_gpu_packages_and_passes_the_rest(tmp_path, h200):
    inp = from_arguments(["torch==2.14.1", "numpy>=1.26", "numpy<3", "requests[socks]"], marker_environment(h200))
    assert not is_plain(inp)
    plan = plan_project(h200, inp)
    by = {p.name: p for p in plan.packages}
    assert by["torch"].gpu and by["torch"].variant == "cu130"
    assert by["numpy"].variant == "passthrough" and by["numpy"].install[:3] == ("pip", "install", "numpy<3,>=1.26")
    assert by["requests"].install[2] == "requests[socks]"
    assert plan.cuda == "13.0" and any("passed through" in n for n in plan.notes)
    only = plan_project(h200, from_arguments(["numpy"], marker_environment(h200)))
    assert only.cuda is None and [p.name for p in only.packages] == ["numpy"] and not only.blocked


def test_plan_numpy_passes_through_instead_of_failing(tmp_path):
    env = offline_env(tmp_path)
    res = gpuready(["plan", "numpy", "torch", "--machine", str(MACHINES / "h200-driver580.json"), "--json"], env)
    assert res.returncode == 0, res.stderr
    pkgs = {p["name"]: p for p in json.loads(res.stdout)["packages"]}
    assert pkgs["numpy"]["variant"] == "passthrough" and pkgs["numpy"]["install"][:3] == ["pip", "install", "numpy"]
    res = gpuready(["plan", "numpy", "--machine", str(MACHINES / "h200-driver580.json"), "--format", "requirements"], env)
    assert res.returncode == 0 and "\nnumpy\n" in res.stdout
    res = gpuready(["plan", "--machine", str(MACHINES / "h200-driver580.json")], env)
    assert res.returncode == 2 and "-r FILE" in res.stderr
    res = gpuready(["plan", "-r", str(tmp_path / "nope.txt"), "--machine", str(MACHINES / "h200-driver580.json")], env)
    assert res.returncode == 2 and "no such file" in res.stderr


def test_the_script_installs_what_it_builds(h200):
    from gpuready.install.knowledge import competing
    from gpuready.plan import make_plan
    from gpuready.plan.render import script_text

    plan = make_plan(h200, ["dlib", "opencv-python"])
    text = script_text(plan, python="/venv/bin/python", competing={g.module: tuple(g.dists) for g in competing()})
    lines = text.splitlines()
    build = next(i for i, ln in enumerate(lines) if ln.startswith("gpuready build dlib"))
    assert lines[build].endswith('--python /venv/bin/python -o "$GPUREADY_WHEELS"')
    assert '/venv/bin/python -m pip install --force-reinstall --no-deps "$GPUREADY_WHEELS"/dlib-*.whl' in lines
    cv = next(i for i, ln in enumerate(lines) if '"$GPUREADY_WHEELS"/opencv_contrib_python-*.whl' in ln)
    assert "uninstall -y opencv-python opencv-python-headless opencv-contrib-python-headless" in lines[cv - 1]
    assert build < cv  # every build before anything is installed
