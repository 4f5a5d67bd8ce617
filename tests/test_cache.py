"""The wheel cache: key labels, store/lookup/list/clear, and pip reading the folder with --find-links."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from gpuready.build import cache, wheelfile


def _tiny_wheel(tmp: Path, version: str = "1.0", name: str = "tinypkg") -> Path:
    tree = tmp / f"tree-{version}"
    (tree / name).mkdir(parents=True, exist_ok=True)
    (tree / name / "__init__.py").write_text(f"VERSION = {version!r}\n")
    return wheelfile.make_wheel(tree, name, version, "py3-none-any", tmp / "built")


def _key(**kw) -> cache.CacheKey:
    args = dict(package="tinypkg", version="1.0", python_tag="cp312", platform="linux_x86_64", cuda="13.0.88",
                cudnn_major="9.19.0", archs=["9.0"], recipe_version=1)
    args.update(kw)
    return cache.cache_key(**args)


def test_key_label_holds_the_facts():
    k = cache.cache_key("dlib", "20.0.1", "cp312", "linux_x86_64", "13.0.88", "9.19.0", ["9.0", "8.6"], 1)
    assert k.local_label == "cu130.cudnn9.sm86.sm90.r1"
    assert k.wheel_version == "20.0.1+cu130.cudnn9.sm86.sm90.r1"
    assert k.requirement == "dlib==20.0.1+cu130.cudnn9.sm86.sm90.r1"
    assert cache.cache_key("opencv-contrib-python-headless", "4.14.0.94", "cp312", "linux_x86_64", "12.9", "", ["12.0"], 2).local_label == "cu129.sm120.r2"
    assert k != _key(package="dlib", version="20.0.1", archs=["9.0"])  # archs are part of the key


def test_cache_dir_env(monkeypatch, tmp_path):
    monkeypatch.setenv("GPUREADY_CACHE_DIR", str(tmp_path / "w"))
    assert cache.cache_dir() == tmp_path / "w"


def test_store_lookup_list_clear(tmp_path):
    d = tmp_path / "cache"
    wheel = _tiny_wheel(tmp_path)
    key = _key(python_tag="cp312")
    assert cache.lookup(key, d) is None
    e = cache.store(wheel, key, {"log": "/x.log"}, directory=d)
    assert e.path.name == "tinypkg-1.0+cu130.cudnn9.sm90.r1-py3-none-any.whl"
    assert e.version == key.wheel_version and e.info["log"] == "/x.log"
    assert (d / (e.path.name + ".json")).is_file()
    with zipfile.ZipFile(e.path) as zf:
        names = zf.namelist()
        assert "tinypkg-1.0+cu130.cudnn9.sm90.r1.dist-info/METADATA" in names
        meta = zf.read("tinypkg-1.0+cu130.cudnn9.sm90.r1.dist-info/METADATA").decode()
        assert "Version: 1.0+cu130.cudnn9.sm90.r1" in meta
        build = json.loads(zf.read("tinypkg-1.0+cu130.cudnn9.sm90.r1.dist-info/gpuready_build.json"))
        assert build["key"]["archs"] == ["9.0"]
    assert cache.lookup(key, d).path == e.path
    assert cache.lookup(_key(archs=["8.6"]), d) is None
    assert cache.lookup(_key(recipe_version=2), d) is None
    other = cache.store(_tiny_wheel(tmp_path, name="otherpkg"), _key(package="otherpkg"), directory=d)
    (d / "README.txt").write_text("a lab's note\n")
    (d / "not-a-wheel.whl").write_text("junk")
    assert [x.name for x in cache.list_entries(d)] == ["otherpkg", "tinypkg"]
    removed = cache.clear("tinypkg", directory=d)
    assert e.path in removed and not e.path.exists()
    assert other.path.exists() and (d / "README.txt").exists()
    cache.clear(directory=d)
    assert cache.list_entries(d) == [] and (d / "README.txt").exists()


@pytest.mark.parametrize("tags,py,plat,ok", [
    (("cp312-cp312-linux_x86_64",), "cp312", "linux_x86_64", True),
    (("cp311-cp311-linux_x86_64",), "cp312", "linux_x86_64", False),
    (("cp37-abi3-manylinux_2_17_x86_64",), "cp312", "linux_x86_64", True),
    (("cp313-abi3-manylinux_2_17_x86_64",), "cp312", "linux_x86_64", False),
    (("py3-none-any",), "cp310", "linux_x86_64", True),
    (("cp312-cp312-win_amd64",), "cp312", "linux_x86_64", False),
])
def test_tags_compatible(tags, py, plat, ok):
    assert cache.tags_compatible(tags, py, plat) is ok


def test_relabel_keeps_record_valid(tmp_path):
    wheel = _tiny_wheel(tmp_path)
    out = wheelfile.relabel(wheel, tmp_path / "out", "1.0+cu130.r1")
    with zipfile.ZipFile(out) as zf:
        record = zf.read("tinypkg-1.0+cu130.r1.dist-info/RECORD").decode().splitlines()
        import base64
        import hashlib

        for line in record:
            path, digest, size = line.rsplit(",", 2)
            if not digest:
                continue
            data = zf.read(path)
            assert digest == "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            assert int(size) == len(data)
    assert wheelfile.read_metadata(out)["Version"] == "1.0+cu130.r1"


def test_pip_installs_from_the_cache_folder(tmp_path):
    """The folder is what pip --find-links expects: a public pin matches the local label; an exact pin picks a variant."""
    d = tmp_path / "cache"
    cache.store(_tiny_wheel(tmp_path), _key(archs=["8.6"]), directory=d)
    cache.store(_tiny_wheel(tmp_path), _key(archs=["9.0"]), directory=d)
    target = tmp_path / "site"
    exact = _key(archs=["8.6"]).requirement
    cmd = [sys.executable, "-m", "pip", "install", "--no-index", "--find-links", str(d), "--target", str(target),
           "--disable-pip-version-check", "--no-input", "-q", exact]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert (target / "tinypkg-1.0+cu130.cudnn9.sm86.r1.dist-info").is_dir()
    target2 = tmp_path / "site2"
    cmd2 = cmd[:-1] + ["tinypkg==1.0"]
    cmd2[cmd2.index(str(target))] = str(target2)
    res = subprocess.run(cmd2, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    assert any(p.name.startswith("tinypkg-1.0+cu130") for p in target2.iterdir())
