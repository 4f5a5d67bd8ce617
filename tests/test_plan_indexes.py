"""Reading the user's index configuration (pip and uv files, environment) without running pip."""

from __future__ import annotations

from pathlib import Path

from gpuready.plan import make_plan
from gpuready.plan.indexes import PYTORCH, IndexConfig, read_index_config
from tests.conftest import load_machine


def cfg(tmp_path: Path, env: dict | None = None, **kw) -> IndexConfig:
    base = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    base.update(env or {})
    return read_index_config(base, home=tmp_path, cwd=tmp_path / "proj", system=False, **kw)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_nothing_configured(tmp_path):
    c = cfg(tmp_path)
    assert c.index_url == "" and not c.custom_index and c.pytorch_base == PYTORCH


def test_user_pip_conf(tmp_path):
    write(tmp_path / ".config/pip/pip.conf", "[global]\nindex-url = https://pypi.tuna.tsinghua.edu.cn/simple\n"
                                             "extra-index-url = https://extra.example/simple\nfind-links = /opt/wheels\n")
    c = cfg(tmp_path)
    assert c.find_links == ("/opt/wheels",)
    assert c.index_url == "https://pypi.tuna.tsinghua.edu.cn/simple" and c.origin.endswith("pip.conf [global]")
    assert c.extra_index_urls == ("https://extra.example/simple",)


def test_legacy_pip_conf_is_overridden_by_xdg_and_env(tmp_path):
    write(tmp_path / ".pip/pip.conf", "[global]\nindex-url = https://old.example/simple\n")
    assert cfg(tmp_path).index_url == "https://old.example/simple"
    write(tmp_path / ".config/pip/pip.conf", "[install]\nindex-url = https://new.example/simple\n")
    assert cfg(tmp_path).index_url == "https://new.example/simple"
    c = cfg(tmp_path, {"PIP_INDEX_URL": "https://env.example/simple"})
    assert (c.index_url, c.origin) == ("https://env.example/simple", "PIP_INDEX_URL")


def test_virtualenv_pip_conf_wins_over_user_file(tmp_path):
    # pip's "site" file is sys.prefix/pip.conf of the interpreter pip runs in (the target venv)
    write(tmp_path / ".config/pip/pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    write(tmp_path / "venv/pip.conf", "[global]\nindex-url = https://venv.example/simple\n")
    assert cfg(tmp_path, prefix=str(tmp_path / "venv")).index_url == "https://venv.example/simple"
    assert cfg(tmp_path, prefix=str(tmp_path / "other")).index_url == "https://user.example/simple"


def test_windows_pip_ini(tmp_path):
    write(tmp_path / "AppData/pip/pip.ini", "[global]\nindex-url = https://win.example/simple\n")
    c = cfg(tmp_path, {"APPDATA": str(tmp_path / "AppData"), "USERPROFILE": str(tmp_path)}, platform="win32")
    assert c.index_url == "https://win.example/simple"
    assert cfg(tmp_path, {"APPDATA": str(tmp_path / "AppData")}).index_url == ""  # not read on Linux


def test_uv_settings_when_pip_has_none(tmp_path):
    assert cfg(tmp_path, {"UV_DEFAULT_INDEX": "https://uv.example/simple"}).index_url == "https://uv.example/simple"
    write(tmp_path / "proj/pyproject.toml", '[tool.uv]\n[[tool.uv.index]]\nurl = "https://proj.example/simple"\ndefault = true\n'
                                            '[[tool.uv.index]]\nname = "pytorch-cu126"\nurl = "https://mirror.example/pytorch/whl/cu126"\n')
    c = cfg(tmp_path)
    assert c.index_url == "https://proj.example/simple"
    # a PyTorch mirror configured as an extra index becomes the PyTorch base
    assert c.pytorch_base == "https://mirror.example/pytorch/whl" and c.pytorch_origin == "uv extra index"


def test_system_files_are_read(tmp_path):
    write(tmp_path / "xdg/pip/pip.conf", "[global]\nindex-url = https://site.example/simple\n")
    env = {"HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path / ".config"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    c = read_index_config(env, home=tmp_path, cwd=tmp_path)
    etc = Path("/etc/pip.conf")
    if not (etc.is_file() and "index-url" in etc.read_text(errors="replace")):  # /etc/pip.conf would override it
        assert (c.index_url, c.origin) == ("https://site.example/simple", str(tmp_path / "xdg/pip/pip.conf") + " [global]")


def test_cli_flags_win(tmp_path):
    write(tmp_path / ".config/pip/pip.conf", "[global]\nindex-url = https://user.example/simple\n")
    c = cfg(tmp_path, index_url="https://flag.example/simple", mirror="https://m.example/whl/")
    assert (c.index_url, c.origin) == ("https://flag.example/simple", "--index-url")
    assert c.pytorch_url("cu126") == "https://m.example/whl/cu126"
    assert c.pytorch_url("cu100", "find-links") == "https://m.example/whl/torch_stable.html"


def test_mirror_with_variant_placeholder():
    c = IndexConfig(pytorch_base="https://m.example/{variant}/simple")
    assert c.pytorch_url("cu128") == "https://m.example/cu128/simple"


def test_broken_config_files_are_ignored(tmp_path):
    write(tmp_path / ".config/pip/pip.conf", "this is not an ini file [[[")
    write(tmp_path / ".config/uv/uv.toml", "index-url = ")
    assert cfg(tmp_path).index_url == ""


def test_plan_uses_the_user_index_for_pypi_builds_and_keeps_it_for_torch_index_builds():
    idx = IndexConfig(index_url="https://mirror.example/simple", origin="test")
    plan = make_plan(load_machine("h200-driver580"), ["torch", "jax"], index_config=idx)
    torch, jax = plan.package("torch"), plan.package("jax")
    assert torch.install == ("pip", "install", "torch==2.14.1", "--index-url", "https://mirror.example/simple")
    assert jax.index_url == "https://mirror.example/simple"
    plan = make_plan(load_machine("rtx5090-torch-cu118"), ["torch"], index_config=idx)
    assert plan.package("torch").install == ("pip", "install", "torch==2.11.0+cu128", "--index-url",
                                             "https://download.pytorch.org/whl/cu128", "--extra-index-url",
                                             "https://mirror.example/simple")


def test_a_plan_for_another_machine_leaves_out_local_folders():
    from gpuready.plan.indexes import IndexConfig, portable

    idx = IndexConfig(
        index_url="https://mirror.example/simple",
        extra_index_urls=("file:///opt/pypi/simple", "https://extra.example/simple"),
        find_links=("/opt/wheels",),
    )
    out = portable(idx)
    assert out.index_url == "https://mirror.example/simple"
    assert out.extra_index_urls == ("https://extra.example/simple",)
    assert out.find_links == ()
    assert "/opt/wheels" in out.notes[-1]
    assert portable(IndexConfig(index_url="https://mirror.example/simple")) == IndexConfig(index_url="https://mirror.example/simple")
