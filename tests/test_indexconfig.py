"""gpuready.indexconfig without running pip or uv: platform folders, conda, the PyTorch mirror, the
settings file, `gpuready config`, and how plans, fix lines and install commands use them.
(tests/test_indexconfig_real.py checks the pip and uv readings against the real tools.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from gpuready.indexconfig import IndexConfig, insecure_host, pytorch, read_index_config, settings, with_torch_mirror
from gpuready.indexconfig.condarc import parse_condarc, read_conda_channels
from gpuready.indexconfig.pipconfig import config_files, read_pip_settings
from gpuready.indexconfig.uvconfig import read_uv_settings, user_config_file
from tests.conftest import load_machine


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def env_in(tmp: Path, **extra) -> dict:
    env = {"HOME": str(tmp), "XDG_CONFIG_HOME": str(tmp / ".config"), "XDG_CONFIG_DIRS": str(tmp / "xdg"), "PATH": "/usr/bin"}
    env.update(extra)
    return env


# --- pip's folders on other platforms (the real pip checks Linux) -------------------------------------------


def test_pip_files_on_windows(tmp_path):
    env = {"USERPROFILE": str(tmp_path), "APPDATA": str(tmp_path / "Roaming"), "ALLUSERSPROFILE": str(tmp_path / "ProgramData")}
    files = config_files(env, platform="win32", prefix=str(tmp_path / "venv"))
    assert [k for k, _ in files] == ["global", "user", "user", "site"]
    assert [Path(p).relative_to(tmp_path).as_posix() for _, p in files] == [
        "ProgramData/pip/pip.ini", "pip/pip.ini", "Roaming/pip/pip.ini", "venv/pip.ini"]
    write(tmp_path / "Roaming/pip/pip.ini", "[global]\ntrusted-host = mirror.lab\n")
    assert read_pip_settings(env, platform="win32", prefix=str(tmp_path / "venv")).trusted_hosts == ("mirror.lab",)


def test_pip_files_on_macos(tmp_path):
    env = {"HOME": str(tmp_path)}
    files = [p for _, p in config_files(env, platform="darwin", prefix="/usr/local")]
    assert files[0] == "/Library/Application Support/pip/pip.conf"
    assert files[2] == str(tmp_path / ".config/pip/pip.conf")  # no ~/Library/Application Support/pip: the Linux-like file
    (tmp_path / "Library/Application Support/pip").mkdir(parents=True)
    assert [p for _, p in config_files(env, platform="darwin", prefix="/usr/local")][2] == str(
        tmp_path / "Library/Application Support/pip/pip.conf")


def test_pip_devnull_keeps_variables(tmp_path):
    write(tmp_path / ".config/pip/pip.conf", "[global]\nindex-url = https://file.example/simple\n")
    s = read_pip_settings(env_in(tmp_path, PIP_CONFIG_FILE="/dev/null", PIP_TRUSTED_HOST="a b"), prefix=str(tmp_path))
    assert (s.index_url, s.trusted_hosts, s.origins["trusted_hosts"]) == ("https://pypi.org/simple", ("a", "b"), "PIP_TRUSTED_HOST")


# --- uv's folders ----------------------------------------------------------------------------------------------


def test_uv_user_file_per_platform(tmp_path):
    assert user_config_file({"HOME": "/h"}, "linux") == Path("/h/.config/uv/uv.toml")
    assert user_config_file({"HOME": "/h"}, "darwin") == Path("/h/.config/uv/uv.toml")  # not ~/Library (etcetera's XDG)
    assert user_config_file({"HOME": "/h", "XDG_CONFIG_HOME": "relative"}, "linux") == Path("/h/.config/uv/uv.toml")
    assert user_config_file({"USERPROFILE": "C:/Users/me", "APPDATA": "C:/Users/me/AppData/Roaming"}, "win32") == Path(
        "C:/Users/me/AppData/Roaming/uv/uv.toml")


def test_uv_system_file_and_flat_index(tmp_path):
    write(tmp_path / "xdg/uv/uv.toml", '[[index]]\nurl = "https://lab.example/wheels/"\nformat = "flat"\n'
                                        'allow-insecure-host = ["lab.example"]\n')
    s = read_uv_settings(env_in(tmp_path), cwd=tmp_path)
    assert s.files == (str(tmp_path / "xdg/uv/uv.toml"),) and s.indexes[0].flat
    c = read_index_config(env_in(tmp_path), cwd=tmp_path, installer="uv")
    assert c.find_links == ("https://lab.example/wheels/",) and c.extra_index_urls == () and c.source == "uv"


def test_broken_uv_toml_is_reported_not_raised(tmp_path):
    write(tmp_path / "proj/uv.toml", "index-url = \n")
    s = read_uv_settings(env_in(tmp_path), cwd=tmp_path / "proj")
    assert s.errors and "uv refuses to start" in s.errors[0]


# --- which installer's settings -------------------------------------------------------------------------------


def test_pip_settings_when_pip_installs_uv_settings_when_uv_does(tmp_path, monkeypatch):
    write(tmp_path / ".config/pip/pip.conf", "[global]\nindex-url = https://pip-mirror.example/simple\n")
    write(tmp_path / ".config/uv/uv.toml", 'index-url = "https://uv-mirror.example/simple"\n')
    env = env_in(tmp_path)
    assert read_index_config(env, cwd=tmp_path, installer="pip").index_url == "https://pip-mirror.example/simple"
    c = read_index_config(env, cwd=tmp_path, installer="uv")
    assert (c.index_url, c.source) == ("https://uv-mirror.example/simple", "uv")
    assert any("pip's index settings are not used" in n for n in c.notes)
    monkeypatch.setattr("gpuready.indexconfig.effective.uv_available", lambda: False)
    c = read_index_config(env, cwd=tmp_path)
    assert c.index_url == "https://pip-mirror.example/simple" and any("uv's index settings are not used" in n for n in c.notes)
    # uv without settings of its own is given pip's (install.executor does that), so pip's count
    (tmp_path / ".config/uv/uv.toml").unlink()
    assert read_index_config(env, cwd=tmp_path, installer="uv").index_url == "https://pip-mirror.example/simple"


# --- conda ----------------------------------------------------------------------------------------------------


def test_condarc_subset_of_yaml():
    values, final = parse_condarc(
        "# lab mirror\nchannels:  #!final\n  - conda-forge\n  - 'pytorch'\n  - defaults\nshow_channel_urls: true\n"
        "default_channels: [https://mirrors.tuna.tsinghua.edu.cn/anaconda/pkgs/main]\n"
        "custom_channels:\n  conda-forge: https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud\n"
        'channel_alias: "https://mirror.example/conda"  # comment\n')
    assert values["channels"] == ["conda-forge", "pytorch", "defaults"] and final == {"channels"}
    assert values["custom_channels"] == {"conda-forge": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud"}
    assert values["channel_alias"] == "https://mirror.example/conda" and "show_channel_urls" not in values


def test_conda_channels_merge_and_resolve(tmp_path):
    write(tmp_path / ".condarc", "channels:\n  - defaults\ncustom_channels:\n  conda-forge: https://tuna.example/anaconda/cloud\n"
                                 "default_channels:\n  - https://tuna.example/anaconda/pkgs/main\n")
    write(tmp_path / "env/.condarc", "channels:\n  - conda-forge\n  - nvidia\nchannel_alias: https://alias.example\n")
    c = read_conda_channels({"HOME": str(tmp_path), "CONDA_PREFIX": str(tmp_path / "env")}, platform="linux")
    assert c.channels == (("conda-forge", "https://tuna.example/anaconda/cloud/conda-forge"),
                          ("nvidia", "https://alias.example/nvidia"),
                          ("defaults", "https://tuna.example/anaconda/pkgs/main"))
    assert c.mirrored and len(c.files) == 2
    c = read_conda_channels({"HOME": str(tmp_path / "nobody"), "CONDARC": str(tmp_path / "none")}, platform="linux")
    if not c.files:  # no system .condarc on this machine
        assert [u for _, u in c.channels] == ["https://repo.anaconda.com/pkgs/main", "https://repo.anaconda.com/pkgs/r"]


# --- the PyTorch mirror ---------------------------------------------------------------------------------------


def test_mirror_styles():
    idx = pytorch.from_setting("https://m.example/whl/", "test")
    assert idx.source("cu128") == ("--index-url", "https://m.example/whl/cu128")
    assert idx.source("cu102", "find-links") == ("--find-links", "https://m.example/whl/torch_stable.html")
    assert pytorch.from_setting("https://m.example/whl/cu126", "t").base == "https://m.example/whl"
    page = pytorch.from_setting("https://mirror.sjtu.edu.cn/pytorch-wheels/torch_stable.html", "t")
    assert page.style == "find-links" and page.source("cu128") == ("--find-links", page.base)
    assert pytorch.recognise("https://mirrors.aliyun.com/pytorch-wheels/cu121/", "pip find-links", find_links=True).source("cu128") == (
        "--find-links", "https://mirrors.aliyun.com/pytorch-wheels/cu128")
    assert pytorch.recognise("https://download.pytorch.org/whl/cu128", "x", find_links=False) is None
    assert pytorch.recognise("https://pypi.example/simple", "x", find_links=False) is None


def test_mirror_precedence(tmp_path, monkeypatch):
    write(tmp_path / ".config/pip/pip.conf", "[global]\nfind-links = https://lab.example/pytorch/torch_stable.html /opt/wheels\n")
    env = env_in(tmp_path)
    c = read_index_config(env, cwd=tmp_path, installer="pip")
    assert (c.pytorch_style, c.pytorch_base) == ("find-links", "https://lab.example/pytorch/torch_stable.html")
    assert c.find_links == ("/opt/wheels",) and c.pytorch_origin == "pip find-links"
    settings.set_value("torch-mirror", "https://set.example/whl")
    assert read_index_config(env, cwd=tmp_path, installer="pip").pytorch_base == "https://set.example/whl"
    env["GPUREADY_TORCH_MIRROR"] = "https://env.example/whl"
    assert read_index_config(env, cwd=tmp_path, installer="pip").pytorch_origin == "GPUREADY_TORCH_MIRROR"
    c = read_index_config(env, cwd=tmp_path, installer="pip", mirror="https://flag.example/whl")
    assert (c.pytorch_base, c.pytorch_origin) == ("https://flag.example/whl", "--mirror")


def test_insecure_hosts():
    assert insecure_host("http://10.0.0.5:8080/simple") == "10.0.0.5"
    assert insecure_host("http://mirror.lab/pytorch/whl") == "mirror.lab"
    for url in ("https://mirror.lab/simple", "http://localhost:3141/simple", "http://127.0.0.2/simple", "http://[::1]/simple",
                "file:///srv/pypi", "/opt/wheels"):
        assert insecure_host(url) == "", url


# --- plans, fix lines, install commands -----------------------------------------------------------------------


def test_plan_uses_a_find_links_mirror_and_trusts_http_hosts():
    from gpuready.plan import make_plan
    from gpuready.plan.render import requirements_text

    idx = IndexConfig(index_url="http://pypi.lab/simple", origin="test", pytorch_base="http://files.lab/torch_stable.html",
                      pytorch_style="find-links", pytorch_origin="test")
    plan = make_plan(load_machine("rtx5090-torch-cu118"), ["torch"], index_config=idx)
    assert plan.package("torch").install == (
        "pip", "install", "torch==2.11.0+cu128", "--find-links", "http://files.lab/torch_stable.html", "--index-url",
        "http://pypi.lab/simple", "--trusted-host", "files.lab", "--trusted-host", "pypi.lab")
    text = requirements_text(plan)
    assert "--find-links http://files.lab/torch_stable.html" in text and "--trusted-host pypi.lab" in text
    assert "download.pytorch.org" not in text and "\nfiles.lab\n" not in text


def test_plan_with_no_index_uses_find_links_only():
    from gpuready.plan import make_plan

    idx = IndexConfig(no_index=True, find_links=("/srv/wheels",), source="pip")
    p = make_plan(load_machine("rtx5090-torch-cu118"), ["torch"], index_config=idx).package("torch")
    assert p.install == ("pip", "install", "torch==2.11.0+cu128", "--no-index", "--find-links", "/srv/wheels")
    assert any("no-index" in r for r in p.reasons)


def test_fix_lines_name_the_configured_mirror(monkeypatch):
    text = "install a CUDA build: pip install torch --index-url https://download.pytorch.org/whl/cuXYZ (XYZ = ...)"
    assert with_torch_mirror(text) == text  # nothing configured
    monkeypatch.setenv("GPUREADY_TORCH_MIRROR", "http://mirror.lab/pytorch/whl")
    assert with_torch_mirror(text) == ("install a CUDA build: pip install torch --index-url http://mirror.lab/pytorch/whl/cuXYZ "
                                       "--trusted-host mirror.lab (XYZ = ...)")
    monkeypatch.setenv("GPUREADY_TORCH_MIRROR", "https://mirror.lab/torch_stable.html")
    assert "--find-links https://mirror.lab/torch_stable.html (XYZ" in with_torch_mirror(text)
    assert with_torch_mirror("PyTorch's https://download.pytorch.org/whl index").startswith("PyTorch's https://mirror.lab/torch_stable.html")


def test_doctor_and_explain_fixes_use_the_mirror(monkeypatch):
    from gpuready.explain.facts import render
    from gpuready.plan import hint

    monkeypatch.setenv("GPUREADY_TORCH_MIRROR", "https://mirror.lab/whl")
    monkeypatch.setattr(hint, "install_hint", lambda m, n: "")  # the frameworks.toml line, not a plan
    assert "https://mirror.lab/whl/cuXYZ" in hint.gpu_install_hint(load_machine("h200-driver580"), "torch")
    fix, _ = render(("pip install torch --index-url https://download.pytorch.org/whl/cu128",), {})
    assert fix == "pip install torch --index-url https://mirror.lab/whl/cu128"


def test_install_rewrites_plan_files_for_a_find_links_mirror():
    from gpuready.install.executor import NetOptions, apply_network

    args = ["torch==2.9.1+cu128", "--index-url", "https://download.pytorch.org/whl/cu128"]
    assert apply_network(args, NetOptions(mirror="http://lab/torch_stable.html")) == [
        "torch==2.9.1+cu128", "--find-links", "http://lab/torch_stable.html", "--trusted-host", "lab"]
    assert apply_network(args, NetOptions(mirror="https://m.example/whl")) == [
        "torch==2.9.1+cu128", "--index-url", "https://m.example/whl/cu128"]


# --- the settings file and `gpuready config` --------------------------------------------------------------------


def run_config(*args: str, env: dict | None = None):
    from gpuready.cli import main

    return CliRunner().invoke(main, ["config", *args], env=env)


def test_config_set_get_unset():
    assert run_config("get", "torch-mirror").exit_code == 1
    r = run_config("set", "torch-mirror", "http://10.0.0.5/pytorch/whl")
    assert r.exit_code == 0 and "--trusted-host 10.0.0.5" in r.output
    assert settings.get("torch-mirror") == ("http://10.0.0.5/pytorch/whl", str(settings.settings_file()))
    r = run_config("get", "torch-mirror")
    assert r.exit_code == 0 and r.output.startswith("http://10.0.0.5/pytorch/whl\n")
    r = run_config("get", "torch-mirror", env={"GPUREADY_TORCH_MIRROR": "https://env.example/whl"})
    assert "https://env.example/whl" in r.output and "GPUREADY_TORCH_MIRROR" in r.output
    assert run_config("unset", "torch-mirror").exit_code == 0
    assert run_config("get", "torch-mirror").exit_code == 1


@pytest.mark.parametrize("args,code", [(("set", "torch-mirror", "not a url"), 2), (("set", "nope", "x"), 2),
                                       (("get", "nope"), 2), (("unset", "nope"), 2)])
def test_config_bad_input(args, code):
    r = run_config(*args)
    assert r.exit_code == code and "Traceback" not in r.output


def test_config_broken_file_is_a_message():
    settings.settings_file().parent.mkdir(parents=True, exist_ok=True)
    settings.settings_file().write_text("torch-mirror = [unclosed\n")
    r = run_config("get", "torch-mirror")
    assert r.exit_code == 1 and "not valid TOML" in r.output
    r = run_config("show")
    assert r.exit_code == 0 and "not valid TOML" in r.output
    settings.settings_file().unlink()


def test_config_show_json(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GPUREADY_TORCH_MIRROR", "https://m.example/whl")
    r = run_config("show", "--json")
    data = json.loads(r.output)
    assert data["effective"]["pytorch_index"] == "https://m.example/whl"
    assert {"pip", "uv", "conda", "gpuready"} <= set(data)


def test_install_rewrites_an_old_torch_stable_page_to_the_mirror():
    from gpuready.install.executor import NetOptions, apply_network

    args = ["torch==1.8.1+cu111", "--find-links", "https://download.pytorch.org/whl/torch_stable.html", "--find-links", "/cache"]
    assert apply_network(args, NetOptions(mirror="https://m.example/whl")) == [
        "torch==1.8.1+cu111", "--find-links", "https://m.example/whl/torch_stable.html", "--find-links", "/cache"]
