"""uv/pip argv translation, network options, pip config for uv, installer detection."""

from __future__ import annotations

import os
import sys

import pytest

from gpuready.install import executor
from gpuready.install.executor import (
    ExecutorError, Installer, NetOptions, apply_network, mirror_url, parse_pip_config_list, requirements_of,
    split_pip_argv,
)

TORCH = ["pip", "install", "torch==2.9.1+cu128", "--index-url", "https://download.pytorch.org/whl/cu128"]


@pytest.fixture(autouse=True)
def no_uv_config(monkeypatch):
    for k in list(os.environ):
        if k.startswith("UV_"):
            monkeypatch.delenv(k, raising=False)
    monkeypatch.setattr(executor, "_uv_has_own_index_config", lambda: False)


def pip(python="/env/bin/python", raw=False):
    return Installer("pip", python, version="24.2", pip_raw_progress=raw)


def uv(cfg=None):
    return Installer("uv", "/env/bin/python", uv=("/usr/bin/uv",), version="0.9.0", pip_config=cfg or {})


@pytest.mark.parametrize("argv,verb,args", [
    (TORCH, "install", TORCH[2:]),
    (["python", "-m", "pip", "install", "x"], "install", ["x"]),
    (["/usr/bin/python3.12", "-m", "pip", "uninstall", "-y", "x"], "uninstall", ["-y", "x"]),
    (["uv", "pip", "install", "x"], "install", ["x"]),
    (["pip3", "install", "x"], "install", ["x"]),
])
def test_split_pip_argv(argv, verb, args):
    assert split_pip_argv(argv) == (verb, args)


@pytest.mark.parametrize("argv", [[], ["gpuready", "build", "dlib"], ["pip", "download", "x"], ["rm", "-rf", "/"]])
def test_split_pip_argv_refuses_other_commands(argv):
    with pytest.raises(ExecutorError):
        split_pip_argv(argv)


def test_requirements_of_skips_option_values():
    args = ["--no-deps", "a==1", "--index-url", "https://x/simple", "b>=2", "--find-links=/w", "-c", "cons.txt", "c"]
    assert requirements_of(args) == ["a==1", "b>=2", "c"]


def test_pip_install_targets_the_environment_python_with_retries_and_timeout():
    cmd = pip().install(TORCH[2:])
    assert cmd.argv[:4] == ("/env/bin/python", "-m", "pip", "install")
    argv = list(cmd.argv)
    assert argv[argv.index("--retries") + 1] == "5"
    assert argv[argv.index("--timeout") + 1] == "60"
    assert "--progress-bar" not in argv
    assert argv[-3:] == ["torch==2.9.1+cu128", "--index-url", "https://download.pytorch.org/whl/cu128"]


def test_pip_raw_progress_when_supported_and_user_values_kept():
    argv = list(pip(raw=True).install(["x", "--timeout", "5"]).argv)
    assert argv[argv.index("--progress-bar") + 1] == "raw"
    assert argv.count("--timeout") == 1 and argv[argv.index("--timeout") + 1] == "5"


def test_uv_install_maps_pip_options():
    args = ["--force-reinstall", "--no-cache-dir", "--pre", "--prefer-binary", "--no-warn-script-location",
            "--progress-bar", "off", "--retries", "3", "--trusted-host", "h.example", "x==1"]
    cmd = uv().install(args)
    argv = list(cmd.argv)
    assert argv[:5] == ["/usr/bin/uv", "pip", "install", "--python", "/env/bin/python"]
    rest = argv[5:]
    assert "--reinstall" in rest and "--no-cache" in rest
    assert rest[rest.index("--prerelease") + 1] == "allow"
    assert rest[rest.index("--allow-insecure-host") + 1] == "h.example"
    for dropped in ("--prefer-binary", "--no-warn-script-location", "--progress-bar", "off", "--retries", "3", "--force-reinstall"):
        assert dropped not in rest
    assert rest[-1] == "x==1"
    assert cmd.env["UV_HTTP_TIMEOUT"] == "60" and cmd.env["UV_HTTP_RETRIES"] == "5"


def test_uv_keeps_pip_multi_index_semantics():
    argv = list(uv().install(["x", "--extra-index-url", "https://download.pytorch.org/whl/cu128"]).argv)
    assert argv[argv.index("--index-strategy") + 1] == "unsafe-best-match"


def test_uv_gets_the_users_pip_settings_explicitly():
    cfg = {"index-url": "https://mirror.example/simple", "extra-index-url": "https://a/simple https://b/simple",
           "find-links": "/wheels", "trusted-host": "mirror.example"}
    argv = list(uv(cfg).install(["x"]).argv)
    assert argv[argv.index("--index-url") + 1] == "https://mirror.example/simple"
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--extra-index-url"] == ["https://a/simple", "https://b/simple"]
    assert argv[argv.index("--find-links") + 1] == "/wheels"
    assert "--allow-insecure-host" in argv


def test_uv_plan_index_wins_over_pip_config():
    cfg = {"index-url": "https://mirror.example/simple"}
    argv = list(uv(cfg).install(TORCH[2:]).argv)
    assert argv.count("--index-url") == 1
    assert argv[argv.index("--index-url") + 1] == "https://download.pytorch.org/whl/cu128"


def test_uv_own_config_is_left_alone(monkeypatch):
    monkeypatch.setattr(executor, "_uv_has_own_index_config", lambda: True)
    argv = list(uv({"index-url": "https://mirror.example/simple"}).install(["x"]).argv)
    assert "--index-url" not in argv


def test_offline_strips_every_index_and_uses_the_folder():
    out = apply_network(TORCH[2:] + ["--extra-index-url", "https://x/simple", "--index-url=https://y", "--find-links", "/opt/wheels"],
                        NetOptions(offline_dir="/dl", find_links=("/cache",)))
    assert out[:5] == ["--find-links", "/cache", "--no-index", "--find-links", "/dl"]
    assert not any("index-url" in a for a in out) and "/opt/wheels" not in out  # seen on the H200: uv stops on a missing folder
    assert "torch==2.9.1+cu128" in out


def test_mirror_and_default_index():
    assert mirror_url("https://download.pytorch.org/whl/cu128", "https://m.example/pytorch") == "https://m.example/pytorch/cu128"
    assert mirror_url("https://pypi.org/simple", "https://m.example/pytorch") == "https://pypi.org/simple"
    out = apply_network(TORCH[2:], NetOptions(mirror="https://m.example/pytorch/"))
    assert out[out.index("--index-url") + 1] == "https://m.example/pytorch/cu128"
    out = apply_network(["x"], NetOptions(index_url="https://mirror/simple", find_links=("/cache",)))
    assert out == ["--find-links", "/cache", "--index-url", "https://mirror/simple", "x"]


def test_parse_pip_config_list_precedence():
    text = (
        ":env:.index-url='https://env.example/simple'\n"
        "global.index-url='https://global.example/simple'\n"
        "global.find-links='/opt/wheels'\n"
        "install.find-links='/install/wheels'\n"
        "global.extra-index-url='a b'\n"
        "garbage line\n"
    )
    cfg = parse_pip_config_list(text)
    assert cfg["index-url"] == "https://env.example/simple"
    assert cfg["find-links"] == "/install/wheels"
    assert cfg["extra-index-url"] == "a b"


def test_read_pip_config_from_real_pip(monkeypatch, tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://mirror.example/simple\n")
    monkeypatch.setenv("PIP_CONFIG_FILE", str(conf))
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "https://extra.example/simple")
    cfg = executor.read_pip_config(sys.executable)
    assert cfg["index-url"] == "https://mirror.example/simple"
    assert cfg["extra-index-url"] == "https://extra.example/simple"


def test_find_installer_prefers_pip_when_asked(monkeypatch):
    inst = executor.find_installer(sys.executable, prefer="pip")
    assert inst.kind == "pip" and inst.version
    with pytest.raises(ExecutorError):
        executor.find_installer(sys.executable, prefer="conda")


def test_find_installer_without_pip_or_uv(monkeypatch, tmp_path):
    monkeypatch.setattr(executor, "find_uv", lambda: ())
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ExecutorError, match="no pip"):
        executor.find_installer(str(fake))
    with pytest.raises(ExecutorError, match="uv was asked for"):
        executor.find_installer(str(fake), prefer="uv")


def test_uninstall_and_freeze_commands():
    assert pip().uninstall(["a", "b"]).argv[-3:] == ("-y", "a", "b")
    assert uv().uninstall(["a"]).argv == ("/usr/bin/uv", "pip", "uninstall", "--python", "/env/bin/python", "a")
    assert "--all" in pip().freeze().argv
    assert uv().freeze().argv[:3] == ("/usr/bin/uv", "pip", "freeze")


def test_command_display_is_shell_ready():
    cmd = uv().install(["numpy>=2"])
    text = cmd.display()
    assert text.startswith("UV_HTTP_RETRIES=5 UV_HTTP_TIMEOUT=60 /usr/bin/uv pip install")
    assert "'numpy>=2'" in text
