"""Snapshot and restore byte for byte, the lock, the journal and crash recovery (no pip involved)."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import pytest

from gpuready.install import snapshot as snap
from gpuready.install.envinfo import TargetEnv
from gpuready.install.runlog import RunLog
from gpuready.install.transaction import (
    EnvLock, Journal, LockBusy, Transaction, interrupts_deferred, interrupts_raise, pending, recover,
)
from tests.test_install_support import tree_state

BIG = (1 << 20) + 10


def make_tree(root: Path) -> None:
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("v = 1\n")
    (root / "pkg" / "data.bin").write_bytes(b"x" * BIG)  # hard-linked into the backup
    (root / "pkg" / "__pycache__").mkdir()
    (root / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"old bytecode")
    (root / "pkg-1.0.dist-info").mkdir()
    (root / "pkg-1.0.dist-info" / "RECORD").write_text("pkg/__init__.py,,\n")
    (root / "empty").mkdir()
    (root / "extra.pth").write_text("/somewhere\n")
    if sys.platform != "win32":
        os.symlink("pkg/__init__.py", root / "link.py")


def mess_up(root: Path) -> None:
    """What an upgrade, a removal and a stray tool do to the tree."""
    (root / "pkg" / "__init__.py").unlink()  # pip: unlink, then write
    (root / "pkg" / "__init__.py").write_text("v = 2  # new version\n")
    (root / "pkg" / "data.bin").unlink()
    (root / "pkg" / "data.bin").write_bytes(b"y" * 10)
    with open(root / "extra.pth", "a") as fh:  # in place: the copy in the backup must not change
        fh.write("/elsewhere\n")
    import shutil

    shutil.rmtree(root / "pkg-1.0.dist-info")
    (root / "pkg-2.0.dist-info").mkdir()
    (root / "pkg-2.0.dist-info" / "RECORD").write_text("new\n")
    (root / "newpkg" / "sub").mkdir(parents=True)
    (root / "newpkg" / "sub" / "m.py").write_text("x = 1\n")
    (root / "empty").rmdir()
    if sys.platform != "win32":
        (root / "link.py").unlink()
        os.symlink("elsewhere.py", root / "link.py")


def test_restore_is_byte_for_byte(tmp_path):
    root = tmp_path / "site-packages"
    make_tree(root)
    before = tree_state(root)
    s = snap.take([str(root)], tmp_path / "txn" / "backup")
    assert s.files >= 4 and s.linked_bytes >= BIG and s.copied_bytes == len("/somewhere\n") and not s.failed
    mess_up(root)
    assert tree_state(root) != before
    rep = snap.restore(s)
    assert rep.exact, (rep.failed, rep.differences)
    assert tree_state(root) == before
    assert (root / "empty").is_dir()
    assert not (root / "newpkg").exists()
    # the bytecode of a restored source file is gone (it described the other version)
    assert not (root / "pkg" / "__pycache__" / "__init__.cpython-311.pyc").exists()


def test_snapshot_survives_a_round_trip_through_json(tmp_path):
    root = tmp_path / "sp"
    make_tree(root)
    before = tree_state(root)
    s = snap.take([str(root)], tmp_path / "t" / "backup")
    s.save(tmp_path / "t" / "snapshot.json")
    mess_up(root)
    rep = snap.restore(snap.Snapshot.load(tmp_path / "t" / "snapshot.json"))
    assert rep.exact and tree_state(root) == before


def test_a_root_that_did_not_exist_is_removed(tmp_path):
    missing = tmp_path / "user-site"
    s = snap.take([str(missing)], tmp_path / "t" / "backup")
    (missing / "dlib").mkdir(parents=True)
    (missing / "dlib" / "__init__.py").write_text("")
    rep = snap.restore(s)
    assert rep.exact and not missing.exists()


def test_unbacked_change_is_reported_not_hidden(tmp_path):
    root = tmp_path / "sp"
    make_tree(root)
    s = snap.take([str(root)], tmp_path / "t" / "backup")
    for r in s.roots:  # pretend one file could not be read at snapshot time
        r.listing[os.path.join("pkg", "__init__.py")][5] = ""
    (root / "pkg" / "__init__.py").unlink()
    rep = snap.restore(s)
    assert not rep.exact
    assert any("could not be backed up" in f for f in rep.failed)


def test_freeze_mismatch_makes_restore_inexact(tmp_path):
    rep = snap.RestoreReport(freeze_before=["a==1"], freeze_after=["a==2"], freeze_checked=True)
    assert not rep.exact
    rep = snap.RestoreReport(freeze_before=["a==1"], freeze_after=[], freeze_checked=False)
    assert rep.exact


def test_freeze_diff():
    changes = snap.freeze_diff(["a==1", "b==2", "C==3"], ["a==1", "b==3", "d @ file:///x.whl"])
    assert ("b", "2", "3") in changes
    assert ("C", "3", "") in changes
    assert ("d", "", "@ file:///x.whl") in changes
    assert all(c[0] != "a" for c in changes)
    same = snap.freeze_diff(["dlib @ file:///w/dlib-20.0.1%2Bcu130-cp312.whl"], ["dlib @ file:///w/dlib-20.0.1+cu130-cp312.whl#sha256=ab"])
    assert same == []  # seen on the H200: pip and uv spell the same wheel URL differently


def _env(tmp_path: Path, kind: str = "venv") -> TargetEnv:
    prefix = tmp_path / "env"
    sp = prefix / "lib" / "python3.11" / "site-packages"
    sp.mkdir(parents=True, exist_ok=True)
    (prefix / "bin").mkdir(exist_ok=True)
    return TargetEnv(python=str(prefix / "bin" / "python"), version="3.11.7", prefix=str(prefix), base_prefix="/usr",
                     env_kind=kind, purelib=str(sp), platlib=str(sp), scripts=str(prefix / "bin"), data=str(prefix),
                     user_site=str(tmp_path / "home" / ".local" / "lib" / "python3.11" / "site-packages"),
                     user_base=str(tmp_path / "home" / ".local"), user_site_enabled=True)


def test_protected_roots(tmp_path):
    env = _env(tmp_path)
    roots = snap.protected_roots(env, extra=[env.purelib + "/nested", str(tmp_path / "elsewhere")])
    assert roots[0] == env.purelib and env.scripts in roots
    assert os.path.join(env.data, "share") in roots
    assert not any(r.endswith("nested") for r in roots)  # inside purelib: covered
    assert str(tmp_path / "elsewhere") in roots
    assert env.user_site not in roots  # a venv does not see the user site
    sys_env = _env(tmp_path, "system")
    assert sys_env.user_site in snap.protected_roots(sys_env)


def test_transaction_rollback_and_commit(tmp_path):
    env = _env(tmp_path)
    make_tree(Path(env.purelib))
    before = tree_state(Path(env.prefix))
    log = RunLog(tmp_path / "log.txt")
    base = tmp_path / "env" / ".gpuready"
    txn = Transaction(env, base, None, log)
    txn.begin()
    assert Journal.load(txn.folder).state == "applying"
    mess_up(Path(env.purelib))
    rb = txn.rollback()
    assert rb.exact
    assert tree_state(Path(env.prefix)) == {k: v for k, v in before.items()}
    assert not txn.folder.exists()
    txn2 = Transaction(env, base, None, log)
    txn2.begin()
    (Path(env.purelib) / "kept.py").write_text("")
    txn2.commit()
    assert (Path(env.purelib) / "kept.py").exists() and not txn2.folder.exists()


def test_crash_recovery_restores_and_cleans(tmp_path):
    env = _env(tmp_path)
    make_tree(Path(env.purelib))
    before = tree_state(Path(env.purelib))
    log = RunLog(tmp_path / "log.txt")
    base = tmp_path / "env" / ".gpuready"
    txn = Transaction(env, base, None, log)
    txn.begin()
    mess_up(Path(env.purelib))  # ... and then the process dies: no rollback
    half = base / "txn-half"
    half.mkdir()
    Journal(id="txn-half", python=env.python, state="backing-up").save(half)
    assert len(pending(base)) == 2
    results = recover(base, None, log)
    assert tree_state(Path(env.purelib)) == before
    assert [rb.exact for _, rb in results if rb is not None] == [True]
    assert pending(base) == []


def test_created_venv_is_deleted_on_rollback(tmp_path):
    env = _env(tmp_path)
    log = RunLog(tmp_path / "log.txt")
    txn = Transaction(env, tmp_path / "env" / ".gpuready", None, log, created_venv=env.prefix)
    txn.begin()
    assert txn.snapshot is None
    rb = txn.rollback()
    assert rb.removed_venv == env.prefix and not Path(env.prefix).exists()


def test_lock_is_exclusive(tmp_path):
    with EnvLock(tmp_path):
        with pytest.raises(LockBusy, match="another gpuready install"):
            EnvLock(tmp_path).acquire()
    with EnvLock(tmp_path):  # released: free again
        pass


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_signals_raise_inside_and_wait_during_rollback():
    with pytest.raises(KeyboardInterrupt):
        with interrupts_raise():
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pthread_sigmask(signal.SIG_BLOCK, [])  # give the handler a chance to run
            for _ in range(1000):
                pass
    seen = []
    with interrupts_deferred(lambda: seen.append("notice")) as got:
        os.kill(os.getpid(), signal.SIGINT)
        os.kill(os.getpid(), signal.SIGTERM)
    assert got == [signal.SIGINT, signal.SIGTERM] and seen == ["notice"]


def test_runlog_never_raises(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    log = RunLog(blocker / "sub" / "x.log")  # parent is a file: cannot be created
    log.write("ignored")
    log.section("still fine")
    log.close()
    assert log.text() == ""
