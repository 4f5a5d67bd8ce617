"""Resolve once, lock out, lock in: against a local http index of tiny wheels, with the real uv and pip.

The index stands in for PyPI: a CUDA 13 "torch" whose cuda-toolkit asks for `nvidia-nvjitlink>=13.0.39,<14`
and `cuda-bindings>=13.0.3,<14`, with 13.0 and 13.5 releases of both (as on PyPI on 2026-12-02), so the
resolver takes 13.5 unless the lock holds them to the plan's CUDA 13.0.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gpuready.install.lock import check_machine, environment_marker, read_lock, target_of, validate
from gpuready.install.lockwrite import pylock_text
from gpuready.install.resolve import cuda_pins, resolve, uv_platform
from gpuready.plan.model import PackagePlan, Plan
from tests.conftest import MACHINES, load_machine
from tests.test_install_support import python_of, venv, venv_template  # noqa: F401 - fixtures
from tests.test_project_support import gpuready, make_wheel, needs_uv, offline_env, wheel_index  # noqa: F401

H200 = str(MACHINES / "h200-driver580.json")


def torch_plan(index: str, *extra: str) -> Plan:
    torch = PackagePlan("torch", "2.14.1", "cu130", True, ("pip", "install", "torch==2.14.1", "--index-url", index),
                        ("test",), dist="torch", label="torch 2.14.1+cu130", cuda="13.0")
    more = tuple(PackagePlan(e, None, "passthrough", False, ("pip", "install", e, "--index-url", index), ("test",), dist=e) for e in extra)
    return Plan(cuda="13.0", cudnn="9", packages=(torch, *more), blocked=(), index={"pytorch_index": "https://download.pytorch.org/whl"})


@pytest.fixture
def quiet_env(monkeypatch, tmp_path):
    for k, v in offline_env(tmp_path).items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("UV_FIND_LINKS", raising=False)


@needs_uv
def test_uv_resolution_holds_the_cuda_wheels_to_the_plans_cuda(wheel_index, quiet_env):
    m = load_machine("h200-driver580")
    res = resolve(torch_plan(wheel_index.simple), m, tool="uv")
    assert res.ok, res.conflict
    pins = res.pins()
    assert pins["nvidia-nvjitlink"] == "13.0.88" and pins["cuda-bindings"] == "13.0.3" and pins["torch"] == "2.14.1"
    assert res.constraints == ["cuda-bindings==13.0.*", "nvidia-nvjitlink==13.0.*"]
    assert any("nvidia-nvjitlink 13.5.37 -> 13.0.88" in n for n in res.notes)
    assert "--python-platform x86_64-manylinux_2_39" in res.command and "--python-version 3.12.3" in res.command
    # a package that needs a newer nvJitLink keeps it; the other pin still holds
    res = resolve(torch_plan(wheel_index.simple, "gpr-needs-new-jitlink"), m, tool="uv")
    assert res.ok and res.pins()["nvidia-nvjitlink"] == "13.5.37" and res.pins()["cuda-bindings"] == "13.0.3"
    assert any(n.startswith("nvidia-nvjitlink stays 13.5.37") for n in res.notes)


def test_pip_resolution_for_another_machine(wheel_index, quiet_env):
    m = load_machine("h200-driver580")  # Python 3.12 elsewhere: pip with --platform/--python-version, wheels only
    res = resolve(torch_plan(wheel_index.simple, "gpr-a"), m, tool="pip")
    assert res.ok, res.conflict
    assert res.tool.startswith("pip ") and res.pins()["nvidia-nvjitlink"] == "13.0.88" and res.pins()["gpr-b"] == "2.0"
    files = {p["name"]: p for p in res.lock["packages"]}
    assert files["gpr-a"]["wheels"][0]["hashes"]["sha256"] and files["gpr-a"]["wheels"][0]["url"].startswith(wheel_index.url)
    assert "--only-binary=:all:" in res.command and "--python-version 3.12" in res.command


@needs_uv
@pytest.mark.parametrize("tool", ["uv", "pip"])
def test_a_conflict_is_the_resolvers_own_explanation(wheel_index, quiet_env, tool):
    m = load_machine("h200-driver580")
    res = resolve(torch_plan(wheel_index.simple, "gpr-a", "gpr-b<2"), m, tool=tool)
    assert not res.ok and "gpr-b" in res.conflict
    assert ("unsatisfiable" in res.conflict) if tool == "uv" else ("conflict" in res.conflict.lower())


def test_cuda_pins_and_platforms():
    lock = {"packages": [{"name": "nvidia-nvjitlink", "version": "13.5.37"}, {"name": "nvidia-cublas", "version": "13.1.1.3"},
                         {"name": "nvidia-cuda-runtime", "version": "13.0.96"}, {"name": "nvidia-nvjitlink-cu12", "version": "12.9.86"}]}
    assert cuda_pins(lock, "13.0") == {"nvidia-nvjitlink": "nvidia-nvjitlink==13.0.*"}  # cublas has its own numbering
    assert cuda_pins(lock, "12.6") == {"nvidia-nvjitlink-cu12": "nvidia-nvjitlink-cu12==12.6.*"}
    assert cuda_pins(lock, None) == {}
    assert uv_platform(load_machine("h200-driver580")) == "x86_64-manylinux_2_39"
    assert uv_platform(load_machine("win10-gtx1060-driver411")) == "x86_64-pc-windows-msvc"
    assert uv_platform(load_machine("ubuntu1804-v100-cuda10")) == "x86_64-manylinux_2_17"  # glibc 2.27: the newest uv knows below it


def test_the_machine_check(machine):
    h200 = machine("h200-driver580")
    plan = Plan(cuda="13.0", cudnn="9", packages=(PackagePlan("dlib", "20.0.1", "source", True, ("gpuready", "build", "dlib"), (),
                build={"cuda_arch_bin": ["9.0"]}),), blocked=())
    target = target_of(h200, plan)
    assert target["driver_min"] == "580.65.06" and target["gpu_archs"] == ["9.0"] and target["glibc"] == "2.39"
    assert check_machine(target, h200) == []
    assert environment_marker(target) == "sys_platform == 'linux' and platform_machine == 'x86_64' and python_version == '3.12'"
    old_driver = dataclasses.replace(h200, driver=dataclasses.replace(h200.driver, version="535.104.05", cuda_version="12.2"))
    assert "needs an NVIDIA driver >= 580.65.06; this machine has 535.104.05" in check_machine(target, old_driver)[0]
    problems = check_machine(target, machine("win10-gtx1060-driver411"))
    assert any("runs windows" in p for p in problems) and any("Python 3.12" in p for p in problems)
    assert any("compute capability 9.0" in p for p in problems)
    assert any("no NVIDIA driver" in p for p in check_machine(target, machine("no-gpu")))


@needs_uv
def test_plan_writes_a_pylock_from_a_requirements_file(wheel_index, tmp_path):
    """The CLI end to end for a saved machine: -r with the mirror's --index-url, a lock out, valid PEP 751."""
    req = tmp_path / "requirements.txt"
    req.write_text(f"--index-url {wheel_index.simple}\ntorch==2.14.1\ngpr-a\n")  # the CUDA 13.0 build the index serves
    out = tmp_path / "lock" / "pylock.toml"
    out.parent.mkdir()
    env = offline_env(tmp_path)
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "pylock", "-o", str(out)], env)
    assert res.returncode == 0, res.stderr[-3000:]
    lock = validate(out.read_text())
    got = {str(p.name): str(p.version) for p in lock.packages}
    assert got["torch"] == "2.14.1" and got["nvidia-nvjitlink"] == "13.0.88" and got["gpr-b"] == "2.0"
    assert all(w.hashes.get("sha256") for p in lock.packages for w in p.wheels or [])
    tool = lock.tool["gpuready"]
    assert tool["target"]["python"] == "3.12" and tool["cuda"] == "13.0" and "nvidia-nvjitlink==13.0.*" in tool["constraints"]
    assert [e["name"] for e in tool["packages"]] == ["torch", "gpr-a"]
    assert wheel_index.asked("torch") and not wheel_index.asked("numpy")
    # the same as a hashed requirements file
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "requirements", "--hashes"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    assert f"--index-url {wheel_index.simple}" in res.stdout and "nvidia-nvjitlink==13.0.88 \\\n    --hash=sha256:" in res.stdout
    # a conflict: exit 1 with the resolver's words, no lock written
    req.write_text(f"--index-url {wheel_index.simple}\ngpr-a\ngpr-b<2\n")
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "pylock", "-o", str(tmp_path / "x.toml")], env)
    assert res.returncode == 1 and "cannot be installed together" in res.stderr and "gpr-b" in res.stderr
    assert not (tmp_path / "x.toml").exists()


@needs_uv
def test_a_built_wheel_from_the_cache_travels_with_the_lock(wheel_index, tmp_path, monkeypatch):
    from gpuready.build import cache
    from gpuready.plan import make_plan

    env = offline_env(tmp_path)
    monkeypatch.setenv("GPUREADY_CACHE_DIR", env["GPUREADY_CACHE_DIR"])
    dlib = make_plan(load_machine("h200-driver580"), ["dlib"]).package("dlib")
    key = cache.key_from_settings(dlib.build)
    built = make_wheel(tmp_path / "built", "dlib", "20.0.1", tag="cp312-cp312-linux_x86_64")
    entry = cache.store(built, key)
    req = tmp_path / "r.txt"
    req.write_text(f"--index-url {wheel_index.simple}\ndlib\ngpr-b\n")
    out = tmp_path / "lockdir" / "pylock.toml"
    out.parent.mkdir()
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "pylock", "-o", str(out)], env)
    assert res.returncode == 0, res.stderr[-3000:]
    lock = validate(out.read_text())
    dl = next(p for p in lock.packages if p.name == "dlib")
    assert str(dl.version) == key.wheel_version and dl.wheels[0].path == f"wheels/{entry.path.name}"
    assert (out.parent / "wheels" / entry.path.name).read_bytes() == entry.path.read_bytes()
    tool = {e["name"]: e for e in lock.tool["gpuready"]["packages"]}
    assert tool["dlib"]["wheel_version"] == key.wheel_version and tool["dlib"]["cuda_arch_bin"] == ["9.0"]
    assert lock.tool["gpuready"]["target"]["gpu_archs"] == ["9.0"]
    # not built yet: the lock says it is built on install, and holds no stub
    cache.clear("dlib")
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "pylock"], env)
    assert res.returncode == 0, res.stderr[-2000:]
    lock = validate(res.stdout)
    assert "dlib" not in {p.name for p in lock.packages} and "built from source on install" in res.stdout
    assert read_lock_text(res.stdout, tmp_path).plan().package("dlib").is_source


def read_lock_text(text: str, tmp_path: Path):
    p = tmp_path / "pylock.toml"
    p.write_text(text)
    return read_lock(p)


@needs_uv
def test_install_the_lock_on_this_machine(wheel_index, tmp_path, venv):
    """A lock made for this machine installs exactly its files (pip); a tampered hash installs nothing (uv)."""
    env = offline_env(tmp_path)
    req = tmp_path / "r.txt"
    req.write_text(f"--index-url {wheel_index.simple}\ngpr-a\n")
    out = tmp_path / "pylock.toml"
    res = gpuready(["plan", "-r", str(req), "--format", "pylock", "-o", str(out)], env)
    assert res.returncode == 0, res.stderr[-3000:]
    py = str(python_of(venv))
    res = gpuready(["install", "--lock", str(out), "--python", py, "--installer", "pip", "--no-verify", "-q"], env)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True, env=env).stdout.split()
    assert "gpr-a==1.0" in freeze and "gpr-b==2.0" in freeze
    # a lock whose hash does not match the index's file: the install fails and is rolled back
    bad = tmp_path / "bad" / "pylock.toml"
    bad.parent.mkdir()
    text = out.read_text()
    sha = validate(text).packages[0].wheels[0].hashes["sha256"]
    bad.write_text(text.replace(sha, "0" * 64))
    subprocess.run([py, "-m", "pip", "uninstall", "-y", "gpr-a", "gpr-b"], capture_output=True, env=env)
    res = gpuready(["install", "--lock", str(bad), "--python", py, "--installer", "uv", "--no-verify", "-q"], env)
    assert res.returncode == 1, res.stdout[-2000:]
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True, env=env).stdout.split()
    assert not any(f.startswith(("gpr-a", "gpr-b")) for f in freeze)


def test_install_refuses_a_lock_for_another_kind_of_machine(tmp_path):
    from gpuready.install.resolve import Resolution

    h200 = load_machine("h200-driver580")
    lock = {"lock-version": "1.0", "created-by": "uv", "packages": [
        {"name": "gpr-a", "version": "1.0", "wheels": [{"url": "http://127.0.0.1:9/files/gpr_a-1.0-py3-none-any.whl",
                                                       "hashes": {"sha256": "0" * 64}}]}]}
    out = tmp_path / "pylock.toml"
    out.write_text(pylock_text(torch_plan("http://127.0.0.1:9/simple"), Resolution(True, tool="uv", lock=lock), h200))
    env = offline_env(tmp_path)
    if sys.version_info[:2] == (3, 12):
        pytest.skip("this Python is the lock's own")
    res = gpuready(["install", "--lock", str(out), "--dry-run", "-q"], env)
    assert res.returncode == 2 and "not the kind the lock was made for" in res.stderr and "Python 3.12" in res.stderr
    (tmp_path / "junk.toml").write_text('lock-version = "1.0"\ncreated-by = "x"\n[[packages]]\nname = "a"\nversion = "1"\n')
    res = gpuready(["install", "--lock", str(tmp_path / "junk.toml"), "--dry-run"], env)
    assert res.returncode == 2 and "not a valid PEP 751 lock" in res.stderr


@needs_uv
def test_install_a_requirements_file_resolved_once(wheel_index, tmp_path, venv):
    env = offline_env(tmp_path)
    py = str(python_of(venv))
    req = tmp_path / "r.txt"
    req.write_text(f"--index-url {wheel_index.simple}\ngpr-a\ngpr-b<2\n")
    res = gpuready(["install", "-r", str(req), "--python", py, "--no-verify", "-q"], env)
    assert res.returncode == 1 and "cannot be installed together" in res.stdout and "gpr-b" in res.stdout
    assert "gpr-b" not in subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True, env=env).stdout
    req.write_text(f"--index-url {wheel_index.simple}\ngpr-a\n")
    res = gpuready(["install", "-r", str(req), "--python", py, "--installer", "pip", "--no-verify", "-q"], env)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    freeze = subprocess.run([py, "-m", "pip", "freeze"], capture_output=True, text=True, env=env).stdout.split()
    assert {"gpr-a==1.0", "gpr-b==2.0"} <= set(freeze)


@needs_uv
def test_a_lock_offline_into_a_new_venv(wheel_index, tmp_path):
    """download --lock fetches exactly the locked files; install --lock --offline makes a new venv and installs
    them with the index gone (and every proxy dead)."""
    env = offline_env(tmp_path)
    req = tmp_path / "r.txt"
    req.write_text(f"--index-url {wheel_index.simple}\ngpr-a\n")
    lock = tmp_path / "pylock.toml"
    assert gpuready(["plan", "-r", str(req), "--format", "pylock", "-o", str(lock)], env).returncode == 0
    folder = tmp_path / "offline"
    res = gpuready(["download", "--lock", str(lock), "-d", str(folder), "-q"], env)
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    files = sorted(p.name for p in folder.iterdir())
    assert "gpr_a-1.0-py3-none-any.whl" in files and "gpr_b-2.0-py3-none-any.whl" in files and "gpr_b-1.0-py3-none-any.whl" not in files
    assert lock.is_file() and not any(n.startswith(".gpuready-lock") for n in files)
    wheel_index.close()
    new = tmp_path / "new-venv"
    res = gpuready(["install", "--lock", str(lock), "--offline", str(folder), "--venv", str(new), "--installer", "pip",
                    "--no-verify", "-q"], {**env, "HTTP_PROXY": env["HTTPS_PROXY"]})
    assert res.returncode == 0, (res.stdout[-2000:], res.stderr[-2000:])
    freeze = subprocess.run([str(python_of(new)), "-m", "pip", "freeze"], capture_output=True, text=True, env=env).stdout.split()
    assert {"gpr-a==1.0", "gpr-b==2.0"} <= set(freeze)


@needs_uv
def test_the_users_own_hashes_must_match_the_resolution(wheel_index, quiet_env, tmp_path):
    import hashlib

    m = load_machine("h200-driver580")
    good = "sha256:" + hashlib.sha256((wheel_index.folder / "gpr_b-2.0-py3-none-any.whl").read_bytes()).hexdigest()
    plan = torch_plan(wheel_index.simple, "gpr-a")
    assert resolve(plan, m, tool="uv", pin_cuda=False, user_hashes={"gpr-b": [good]}).ok
    res = resolve(plan, m, tool="uv", pin_cuda=False, user_hashes={"gpr-b": ["sha256:" + "0" * 64]})
    assert not res.ok and "gpr-b 2.0: none of its files has a hash your requirements file gives" in res.conflict


@pytest.mark.skipif(os.environ.get("GPUREADY_NETWORK_TESTS") != "1", reason="resolves torch against PyPI; set GPUREADY_NETWORK_TESTS=1")
def test_real_pypi_torch_lock_stays_on_the_plans_cuda(tmp_path):
    """On PyPI (2026-12-02): torch 2.14.1 for the H200 resolves nvJitLink 13.5 and cuda-bindings 13.5 unpinned."""
    req = tmp_path / "r.txt"
    req.write_text("torch\nnumpy>=1.26\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_"))}
    env.update(PIP_CONFIG_FILE=os.devnull, UV_NO_CONFIG="1", GPUREADY_CONFIG_DIR=str(tmp_path / "cfg"),
               GPUREADY_HOME=str(tmp_path / "gph"), PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    res = gpuready(["plan", "-r", str(req), "--machine", H200, "--format", "pylock"], env, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    got = {str(p.name): str(p.version) for p in validate(res.stdout).packages}
    assert got["torch"] == "2.14.1" and got["nvidia-nvjitlink"].startswith("13.0.") and got["cuda-bindings"].startswith("13.0.")
    assert got["nvidia-cuda-runtime"].startswith("13.0.")
