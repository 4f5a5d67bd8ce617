"""The wheel cache shared by a lab: the per-variant build lock, concurrent writers, `cache clear`
next to live writers, and concurrent builds of one variant that build once (issue 12, point 7;
issue 16)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import threading
import time
import zipfile
from pathlib import Path

import pytest

from gpuready.build import cache, lock as lockmod, wheelfile

ROOT = Path(__file__).resolve().parents[1]


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _write_owner(path: Path, **kw) -> None:
    owner = {**lockmod.owner_record("test"), **kw}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(owner))


# --- the lock ---------------------------------------------------------------------------------


def test_lock_take_hold_give_back(tmp_path):
    path = tmp_path / ".locks" / "v.lock"
    a = lockmod.BuildLock(path, what="build x")
    assert a.try_acquire()
    owner = json.loads(path.read_text())
    assert owner["pid"] == os.getpid() and owner["host"] == lockmod.host_name() and owner["what"] == "build x"
    b = lockmod.BuildLock(path)
    assert not b.try_acquire()  # a live holder on this host is never stale
    a.release()
    assert not path.exists()
    assert b.try_acquire()
    b.release()


def test_a_waiter_waits_for_the_holder_and_is_told_who(tmp_path):
    path = tmp_path / "v.lock"
    holder = lockmod.BuildLock(path)
    assert holder.try_acquire()
    threading.Timer(1.0, holder.release).start()
    seen = []
    waited = lockmod.BuildLock(path).acquire(poll=0.1, on_wait=seen.append)
    assert waited >= 0.8 and seen and seen[0]["pid"] == os.getpid()
    with pytest.raises(lockmod.LockTimeout):
        other = lockmod.BuildLock(tmp_path / "w.lock")
        other.try_acquire()
        lockmod.BuildLock(tmp_path / "w.lock").acquire(timeout=0.3, poll=0.1)


def test_stale_locks_are_taken_over(tmp_path):
    path = tmp_path / "v.lock"
    _write_owner(path, pid=_dead_pid())  # this host, process gone
    assert lockmod.BuildLock(path).try_acquire()
    path.unlink()
    _write_owner(path, host="another-node", pid=1)  # another host, heart-beating
    assert not lockmod.BuildLock(path).try_acquire()
    old = time.time() - 3600
    os.utime(path, (old, old))  # another host, silent for an hour
    lock = lockmod.BuildLock(path)
    assert lock.try_acquire() and json.loads(path.read_text())["token"] == lock.owner["token"]
    lock.release()
    path.write_text("")  # created, not yet written: a writer between open() and write()
    assert not lockmod.BuildLock(path).try_acquire()
    os.utime(path, (old, old))
    assert lockmod.BuildLock(path).try_acquire()
    assert not list(tmp_path.glob("*.stale-*"))  # what was moved aside is gone


def test_release_never_deletes_a_successors_lock(tmp_path):
    path = tmp_path / "v.lock"
    slow = lockmod.BuildLock(path)
    assert slow.try_acquire()
    _write_owner(path, host="another-node")  # slow was declared stale; another node holds the lock now
    slow.release()
    assert path.exists() and json.loads(path.read_text())["host"] == "another-node"


def test_heartbeat_keeps_a_long_build_fresh(tmp_path):
    path = tmp_path / "v.lock"
    lock = lockmod.BuildLock(path, heartbeat=0.1)
    assert lock.try_acquire()
    old = time.time() - 3600
    os.utime(path, (old, old))
    time.sleep(0.5)
    assert time.time() - path.stat().st_mtime < 5
    lock.release()


def test_pid_alive():
    assert lockmod.pid_alive(os.getpid())
    assert not lockmod.pid_alive(_dead_pid())
    assert not lockmod.pid_alive(0)


# --- writers -------------------------------------------------------------------------------------


def _tiny_wheel(tmp: Path, name: str = "tinypkg") -> Path:
    tree = tmp / "tree"
    (tree / name).mkdir(parents=True, exist_ok=True)
    (tree / name / "__init__.py").write_text("X = 1\n" + "# padding\n" * 20000)  # ~200 kB: writes take a while
    return wheelfile.make_wheel(tree, name, "1.0", "py3-none-any", tmp / "built")


def _key() -> cache.CacheKey:
    return cache.cache_key("tinypkg", "1.0", "cp312", "linux_x86_64", "13.0", "9", ["9.0"], 1)


STORE = """
import sys
from pathlib import Path
from gpuready.build import cache
key = cache.cache_key("tinypkg", "1.0", "cp312", "linux_x86_64", "13.0", "9", ["9.0"], 1)
for _ in range(5):
    cache.store(Path(sys.argv[1]), key, {"writer": sys.argv[3]}, directory=Path(sys.argv[2]))
print("ok")
"""


def test_concurrent_writers_of_one_wheel_all_succeed(tmp_path):
    """Four processes storing the same wheel at once (with one shared .partial name, 3 of 4 failed)."""
    wheel = _tiny_wheel(tmp_path)
    d = tmp_path / "shared"
    procs = [subprocess.Popen([sys.executable, "-c", STORE, str(wheel), str(d), str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for i in range(4)]
    results = [p.communicate(timeout=120) + (p.returncode,) for p in procs]
    assert all(rc == 0 and out.strip() == "ok" for out, err, rc in results), results
    entry = cache.lookup(_key(), d)
    with zipfile.ZipFile(entry.path) as zf:
        assert zf.testzip() is None
    assert json.loads((d / (entry.path.name + cache.SIDECAR)).read_text())["writer"] in "0123"
    assert {p.name for p in d.iterdir()} == {entry.path.name, entry.path.name + cache.SIDECAR}  # nothing left over


def test_clear_leaves_live_writers_alone(tmp_path):
    d = tmp_path / "shared"
    entry = cache.store(_tiny_wheel(tmp_path), _key(), directory=d)
    live_stage = cache.staging_dir(d)  # this process: alive
    (live_stage / "half.whl.partial").write_bytes(b"PK")
    dead_stage = cache.staging_dir(d)
    _write_owner(dead_stage / "owner.json", pid=_dead_pid())
    fresh_partial = d / "x-1.0-py3-none-any.whl.partial"
    fresh_partial.write_bytes(b"PK")
    old_partial = d / "y-1.0-py3-none-any.whl.partial"
    old_partial.write_bytes(b"PK")
    old = time.time() - 2 * 3600
    os.utime(old_partial, (old, old))
    live_lock = cache.build_lock(_key(), d)
    assert live_lock.try_acquire()
    stale_lock = d / cache.LOCKS / "other-1.0-cp312-linux_x86_64.lock"
    _write_owner(stale_lock, pid=_dead_pid())

    env = {**os.environ, "GPUREADY_CACHE_DIR": str(d)}
    r = subprocess.run([sys.executable, "-m", "gpuready", "cache", "clear", "--yes"], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert "removed 1 wheel(s)" in r.stdout and "left 3 file(s) of builds under way alone" in r.stdout, r.stdout
    assert not entry.path.exists()
    assert live_stage.is_dir() and (live_stage / "half.whl.partial").exists()
    assert fresh_partial.exists() and live_lock.path.exists()
    assert not dead_stage.exists() and not old_partial.exists() and not stale_lock.exists()
    live_lock.release()


# --- builds ---------------------------------------------------------------------------------------


BUILD = """
import dataclasses, json, sys
from pathlib import Path
from tests import test_build_e2e as e2e
from tests.conftest import load_machine
from gpuready.build import builder, logread, recipes, settings
from gpuready.machine import GPU, Compiler, CudaToolkit, Cudnn

recipes.recipes = lambda: (e2e.TINY,)
settings.version_limits = lambda: ()
sigs = tuple(s for s in recipes.log_signatures() if "*" in s.recipes) + tuple(dataclasses.replace(s) for s in e2e.SIGS)
for s in sigs:
    s.validate()
logread.log_signatures = lambda: sigs
settings.settings_rows = lambda: e2e._rows("ON")
m = load_machine("h200-driver580")
m = dataclasses.replace(
    m, hostname="elsewhere", driver=dataclasses.replace(m.driver, version="", cuda_version=""),
    gpus=(GPU(index=0, name="NVIDIA H200", compute_capability="9.0"),),
    toolkits=(CudaToolkit(root="/opt/cuda-13.0", version="13.0.88", nvcc="/opt/cuda-13.0/bin/nvcc", origin="system"),),
    cudnns=(Cudnn(version="9.14.0", header="/opt/cudnn/include/cudnn_version.h", library="/opt/cudnn/lib/libcudnn.so.9", origin="system"),),
    compilers=(Compiler(kind="gcc", version="13.3.0", path="/usr/bin/g++"),))
r = builder.build_wheel(m, "tinycuda", sdist=Path(sys.argv[1]), progress=False, isolation=False)
print("RESULT " + json.dumps({"ok": r.ok, "cached": r.cached, "wheel": str(r.wheel), "warnings": r.warnings,
                              "problems": r.problems, "log": r.log.read_text()}))
"""


@pytest.fixture
def slow_tiny_sdist(tmp_path) -> Path:
    from tests import test_build_e2e as e2e

    src = tmp_path / "tinycuda-1.0"
    src.mkdir()
    (src / "pyproject.toml").write_text(e2e.PYPROJECT)
    backend = e2e.BACKEND.replace("    cuda = os.environ.get", "    import time; time.sleep(3)  # long enough for the others to arrive\n"
                                                             "    cuda = os.environ.get", 1)
    assert "time.sleep(3)" in backend
    (src / "tiny_backend.py").write_text(backend)
    (src / "PKG-INFO").write_text("Metadata-Version: 2.1\nName: tinycuda\nVersion: 1.0\n")
    out = tmp_path / "tinycuda-1.0.tar.gz"
    with tarfile.open(out, "w:gz") as tf:
        tf.add(src, arcname="tinycuda-1.0")
    return out


@pytest.mark.slow
def test_concurrent_builds_of_one_variant_build_once(tmp_path, slow_tiny_sdist):
    """Three 'nodes' (own GPUREADY_HOME each, one shared cache) build the same variant at once: one builds,
    two wait on the lock and take its wheel."""
    shared = tmp_path / "shared-wheels"
    procs = []
    for i in range(3):
        env = {**os.environ, "GPUREADY_HOME": str(tmp_path / f"node{i}"), "GPUREADY_CACHE_DIR": str(shared),
               "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
        procs.append(subprocess.Popen([sys.executable, "-c", BUILD, str(slow_tiny_sdist)], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env, cwd=str(ROOT)))
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        line = next((x for x in out.splitlines() if x.startswith("RESULT ")), None)
        assert line, (out[-2000:], err[-3000:])
        results.append(json.loads(line[len("RESULT "):]))
    assert all(r["ok"] for r in results), [r["problems"] for r in results]
    built = [r for r in results if not r["cached"]]
    waited = [r for r in results if r["cached"]]
    assert len(built) == 1 and len(waited) == 2, [r["log"][-800:] for r in results]
    assert {r["wheel"] for r in results} == {built[0]["wheel"]}
    # those that arrived while it built waited on the lock (a very late one finds the wheel straight away)
    assert any("cache hit after waiting" in r["log"] and any("waited" in w for w in r["warnings"]) for r in waited)
    assert all("cache hit" in r["log"] for r in waited)
    assert len(list(shared.glob("*.whl"))) == 1 and not list((shared / cache.LOCKS).glob("*.lock"))  # given back
