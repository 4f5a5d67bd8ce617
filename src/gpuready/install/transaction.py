"""All-or-nothing changes to one environment: lock, snapshot, apply steps, commit or roll back.

A transaction lives in a folder beside the environment (`<prefix>/.gpuready/txn-<id>/`, or in
gpuready's cache when the prefix is not writable) holding a journal, the snapshot listing and the
backup. The journal's state says what a crash left behind:

    backing-up   -> nothing was changed yet: the folder is simply deleted
    applying     -> steps were running: the snapshot is restored
    rolling-back -> a restore was interrupted: it is run again (restoring is idempotent)

so an install that was killed outright (SIGKILL, a power cut) is undone by the next
`gpuready install` in that environment (or `gpuready install --recover`), before it does
anything else. SIGINT, SIGTERM and SIGHUP are turned into an orderly rollback; during the
rollback they are held off, so a second Ctrl-C cannot leave a half-restored environment.

One exclusive lock file per environment keeps two installs from interleaving.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from gpuready.install import snapshot as snap_mod
from gpuready.install.envinfo import TargetEnv
from gpuready.install.executor import Command
from gpuready.install.runlog import RunLog, logs_dir
from gpuready.proc import Terminated

IS_WINDOWS = sys.platform == "win32"


class LockBusy(RuntimeError):
    """Another gpuready install holds this environment's lock."""


# --- where transactions live ---------------------------------------------------------------------


def txn_base(env: TargetEnv) -> Path:
    """`<prefix>/.gpuready` when the prefix is writable (same file system: hard links work), else the cache."""
    prefix = Path(env.prefix or os.path.dirname(os.path.dirname(env.python)))
    if prefix.is_dir() and os.access(prefix, os.W_OK):
        return prefix / ".gpuready"
    key = hashlib.sha1(str(prefix).encode("utf-8")).hexdigest()[:12]
    return logs_dir().parent / "txn" / key


# --- the lock -----------------------------------------------------------------------------------


class EnvLock:
    """An exclusive, non-blocking lock on one environment (released by the OS if we die)."""

    def __init__(self, base: Path) -> None:
        self.path = base / "install.lock"
        self._fh = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+", encoding="utf-8")
        try:
            if IS_WINDOWS:
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            holder = fh.read().strip() or "unknown"
            fh.close()
            raise LockBusy(
                f"another gpuready install is changing this environment ({holder}); wait for it to finish "
                f"(lock file {self.path})"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()} since {_dt.datetime.now().isoformat(timespec='seconds')}\n")
        fh.flush()
        self._fh = fh

    def release(self) -> None:
        if self._fh is None:
            return
        try:
            self._fh.seek(0)
            self._fh.truncate()
            if IS_WINDOWS:
                import msvcrt

                self._fh.seek(0)
                msvcrt.locking(self._fh.fileno(), msvcrt.LK_UNLCK, 1)
        except OSError:
            pass
        self._fh.close()
        self._fh = None

    def __enter__(self) -> EnvLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


# --- signals ------------------------------------------------------------------------------------

_CATCH = ("SIGINT", "SIGTERM", "SIGHUP")


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """While inside: SIGINT raises KeyboardInterrupt, SIGTERM/SIGHUP raise Terminated (even if inherited as ignored)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {}

    def raise_int(signum, frame):  # noqa: ARG001
        raise KeyboardInterrupt

    def raise_term(signum, frame):  # noqa: ARG001
        raise Terminated(f"received {signal.Signals(signum).name}", signum)

    for name in _CATCH:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, raise_int if name == "SIGINT" else raise_term)
        except (ValueError, OSError):
            continue
    try:
        yield
    finally:
        for sig, handler in old.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)


@contextlib.contextmanager
def interrupts_deferred(notice: Callable[[], None] | None = None) -> Iterator[list[int]]:
    """While inside: SIGINT/SIGTERM/SIGHUP are noted, not acted on (a restore must finish)."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return
    old = {}

    def note(signum, frame):  # noqa: ARG001
        got.append(signum)
        if notice is not None and len(got) == 1:
            with contextlib.suppress(Exception):
                notice()

    for name in _CATCH:
        sig = getattr(signal, name, None)
        if sig is None:
            continue
        try:
            old[sig] = signal.signal(sig, note)
        except (ValueError, OSError):
            continue
    try:
        yield got
    finally:
        for sig, handler in old.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)


# --- the journal --------------------------------------------------------------------------------


@dataclass
class Journal:
    id: str
    python: str
    state: str = "backing-up"  # backing-up, applying, rolling-back, committed, rolled-back
    pid: int = field(default_factory=os.getpid)
    started: str = field(default_factory=lambda: _dt.datetime.now().isoformat(timespec="seconds"))
    created_venv: str = ""  # a venv this transaction created: rolling back deletes it
    keep_venv_dir: bool = False  # ... but not its folder, which the user made (empty) before gpuready ran
    new_files: list[str] = field(default_factory=list)  # files absent before that the installer may leave (uv's <venv>/.lock)
    steps: list[str] = field(default_factory=list)
    child_pgid: int = 0  # process group of the installer running now (pip's build subprocesses included)

    def save(self, folder: Path) -> None:
        tmp = folder / "journal.tmp"
        tmp.write_text(json.dumps(self.__dict__, indent=1), encoding="utf-8")
        os.replace(tmp, folder / "journal.json")

    @classmethod
    def load(cls, folder: Path) -> Journal:
        data = json.loads((folder / "journal.json").read_text(encoding="utf-8"))
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class RollbackReport:
    restore: snap_mod.RestoreReport | None
    removed_venv: str = ""
    kept_backup: str = ""  # the backup folder, kept because something could not be restored

    @property
    def exact(self) -> bool:
        return self.restore.exact if self.restore is not None else not self.kept_backup


# --- the transaction ----------------------------------------------------------------------------


class Transaction:
    """Usage:

        with EnvLock(base):
            txn = Transaction(env, base, freeze_cmd, log)
            txn.begin()
            try:
                with interrupts_raise():
                    ... txn.record(step) ...
                txn.commit()
            except BaseException:
                txn.rollback(); raise
    """

    def __init__(
        self,
        env: TargetEnv,
        base: Path,
        freeze_cmd: Command | None,
        log: RunLog,
        *,
        extra_roots: tuple[str, ...] = (),
        created_venv: str = "",
        keep_venv_dir: bool = False,
    ) -> None:
        self.env = env
        self.base = base
        self.freeze_cmd = freeze_cmd
        self.log = log
        self.extra_roots = extra_roots
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        self.folder = base / f"txn-{stamp}-{os.getpid()}"
        self.journal = Journal(id=self.folder.name, python=env.python, created_venv=created_venv, keep_venv_dir=keep_venv_dir)
        if not created_venv and env.prefix:
            # uv takes its environment lock in <prefix>/.lock and leaves the file: a rollback removes it again
            self.journal.new_files = [str(p) for p in (Path(env.prefix) / ".lock",) if not os.path.lexists(p)]
        self.snapshot: snap_mod.Snapshot | None = None
        self.finished = False

    def begin(self) -> snap_mod.Snapshot | None:
        """Record the state (unless the environment is new: then rollback just deletes it)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self.journal.save(self.folder)
        if not self.journal.created_venv:
            roots = snap_mod.protected_roots(self.env, self.extra_roots)
            self.log.section(f"snapshot of {len(roots)} folder(s): {', '.join(roots)}")
            self.snapshot = snap_mod.take(roots, self.folder / "backup", self.freeze_cmd)
            self.snapshot.save(self.folder / "snapshot.json")
            s = self.snapshot
            self.log.write(
                f"{s.files} files backed up in {s.seconds:.1f} s ({s.linked_bytes / 1e6:.1f} MB linked, "
                f"{s.copied_bytes / 1e6:.1f} MB copied, {len(s.failed)} unreadable)"
            )
            self.log.write("pip freeze before:\n" + "\n".join(s.freeze))
        self.journal.state = "applying"
        self.journal.save(self.folder)
        return self.snapshot

    def record(self, what: str) -> None:
        self.journal.steps.append(what)
        self.journal.save(self.folder)

    def child_started(self, pgid: int) -> None:
        self.journal.child_pgid = pgid
        with contextlib.suppress(OSError):
            self.journal.save(self.folder)

    def commit(self) -> None:
        self.journal.state = "committed"
        with contextlib.suppress(OSError):
            self.journal.save(self.folder)
        shutil.rmtree(self.folder, ignore_errors=True)
        self.finished = True
        self.log.section("committed")

    def rollback(self, notice: Callable[[], None] | None = None) -> RollbackReport:
        """Undo everything since begin(); signals are held off until it is done."""
        with interrupts_deferred(notice):
            if self.journal.state == "backing-up" and not self.journal.created_venv:
                # interrupted while taking the snapshot: nothing was changed yet
                shutil.rmtree(self.folder, ignore_errors=True)
                self.finished = True
                self.log.section("interrupted before any change: nothing to roll back")
                return RollbackReport(None)
            self.journal.state = "rolling-back"
            with contextlib.suppress(OSError):
                self.journal.save(self.folder)
            self.log.section("rolling back")
            report = undo(self.folder, self.journal, self.snapshot, self.freeze_cmd, self.log)
            self.finished = True
            return report


def undo(folder: Path, journal: Journal, snapshot: snap_mod.Snapshot | None, freeze_cmd: Command | None, log: RunLog) -> RollbackReport:
    """Restore from a transaction folder (used by rollback and by crash recovery)."""
    if journal.created_venv:
        gone = remove_venv(journal.created_venv, keep_dir=journal.keep_venv_dir)
        log.write(f"removed the environment this install created: {journal.created_venv}"
                  + (" (its folder, made by you before, is kept empty)" if journal.keep_venv_dir else ""))
        shutil.rmtree(folder, ignore_errors=True)
        return RollbackReport(None, removed_venv=journal.created_venv, kept_backup="" if gone else str(folder))
    for path in journal.new_files:
        with contextlib.suppress(OSError):
            os.unlink(path)
            log.write(f"removed {path} (left by the installer)")
    if snapshot is None:
        snapshot = snap_mod.Snapshot.load(folder / "snapshot.json")
    rep = snap_mod.restore(snapshot, freeze_cmd)
    log.write(
        f"restore: {len(rep.removed)} removed, {len(rep.restored)} put back, {len(rep.failed)} failed, "
        f"{len(rep.differences)} differences, pip freeze {'identical' if rep.freeze_before == rep.freeze_after else 'DIFFERENT'}"
        f" ({rep.seconds:.1f} s)"
    )
    for line in rep.failed + rep.differences:
        log.write("  " + line)
    if rep.freeze_checked and rep.freeze_before != rep.freeze_after:
        log.write("pip freeze after restore:\n" + "\n".join(rep.freeze_after))
    kept = ""
    if rep.failed or rep.differences:
        kept = str(folder)  # keep the backup: the user (or a later --recover) may still need it
        journal.state = "rolling-back"
    else:
        journal.state = "rolled-back"
        shutil.rmtree(folder, ignore_errors=True)
    if kept:
        with contextlib.suppress(OSError):
            journal.save(folder)
    return RollbackReport(rep, kept_backup=kept)


def remove_venv(path: str | os.PathLike, *, keep_dir: bool = False) -> bool:
    """Delete a venv gpuready created; with `keep_dir`, only its contents (the user made the empty folder).

    True when nothing of it is left (an empty kept folder counts as nothing)."""
    path = Path(path)
    if not keep_dir:
        shutil.rmtree(path, ignore_errors=True)
        return not os.path.lexists(path)
    if not path.is_dir():
        return True
    for child in list(path.iterdir()):
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                child.unlink()
    try:
        return not any(path.iterdir())
    except OSError:
        return False


def _stop_leftovers(journal: Journal, log: RunLog) -> None:
    """Kill what is left of the dead install's installer (pip's build subprocesses outlive pip)."""
    if IS_WINDOWS or not journal.child_pgid:
        return
    try:
        os.killpg(journal.child_pgid, signal.SIGKILL)
        log.write(f"stopped the leftover processes of the interrupted install (process group {journal.child_pgid})")
    except (ProcessLookupError, PermissionError, OSError):
        pass


def pending(base: Path) -> list[tuple[Path, Journal]]:
    """Transactions under `base` that a crash left unfinished."""
    out = []
    if not base.is_dir():
        return out
    for folder in sorted(base.glob("txn-*")):
        try:
            journal = Journal.load(folder)
        except (OSError, ValueError, TypeError):
            shutil.rmtree(folder, ignore_errors=True)
            continue
        out.append((folder, journal))
    return out


def recover(base: Path, freeze_cmd: Command | None, log: RunLog) -> list[tuple[Journal, RollbackReport | None]]:
    """Finish what crashed transactions left: undo applied steps, drop half-made backups. Call under the lock."""
    results = []
    for folder, journal in pending(base):
        if journal.state in ("backing-up", "committed", "rolled-back"):
            shutil.rmtree(folder, ignore_errors=True)
            results.append((journal, None))
            continue
        log.section(f"recovering interrupted install {journal.id} (state {journal.state})")
        _stop_leftovers(journal, log)
        with interrupts_deferred():
            results.append((journal, undo(folder, journal, None, freeze_cmd, log)))
    return results
