"""A build lock in a shared folder: one machine builds a wheel variant, the others wait and reuse it.

A lab points every node at one wheel cache (GPUREADY_CACHE_DIR on NFS, say). Without a lock,
four nodes asked for the same dlib variant build it four times, 4 minutes each. With it, the
first takes `<cache>/.locks/<variant>.lock` (created with O_CREAT|O_EXCL, which NFS v3+ and every
local file system make atomic), writes who it is (host, pid, a random token, the time), and
touches the file every 30 s while it builds; the others wait, then find the finished wheel in the
cache and use it.

A holder that died leaves its lock behind: a lock is stale when its pid is gone on this host, or
when nobody touched it for `stale_after` seconds (the holder is on another host and stopped
heart-beating). A stale lock is moved aside under a unique name and checked to be the very lock
judged stale before it is deleted, so two waiters breaking it at once cannot delete a fresh lock.

The lock saves time; it is not what keeps the cache correct. Every wheel is written under a name
unique to its writer and renamed into place, so even two builds that both hold a lock (a holder
declared stale that was only slow) leave a whole wheel behind, never half of one.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Callable

STALE_AFTER = 600.0  # seconds without a heartbeat before a lock from another host is taken over
HEARTBEAT = 30.0


def host_name() -> str:
    return socket.gethostname() or "unknown-host"


def pid_alive(pid: int) -> bool:
    """Is `pid` a running process on this host? (Never signals it: os.kill(pid, 0) would
    terminate the process on Windows.)"""
    if pid <= 0:
        return False
    if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, alive
    except OSError:
        return False
    return True


def owner_record(what: str = "") -> dict:
    return {"host": host_name(), "pid": os.getpid(), "token": uuid.uuid4().hex, "started": time.time(), "what": what}


def read_owner(path: Path) -> dict | None:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None


def owner_gone(owner: dict | None, age: float, *, stale_after: float = STALE_AFTER) -> str:
    """Why the owner of a lock (or of an in-flight file) is gone, or "" while it may still be at work."""
    if owner is None:
        # created but not yet written (the writer is between open and write), or garbage
        return f"unreadable and untouched for {age:.0f} s" if age > 30 else ""
    host, pid = str(owner.get("host", "")), owner.get("pid")
    if host == host_name() and isinstance(pid, int) and not pid_alive(pid):
        return f"process {pid} on {host} is gone"
    if age > stale_after:
        return f"no heartbeat from {host} pid {pid} for {age:.0f} s"
    return ""


class LockTimeout(Exception):
    """The lock was still held after the time the caller was willing to wait."""


class BuildLock:
    def __init__(self, path: Path, *, what: str = "", stale_after: float = STALE_AFTER, heartbeat: float = HEARTBEAT):
        self.path = Path(path)
        self.what = what
        self.stale_after = stale_after
        self.heartbeat = heartbeat
        self.owner: dict | None = None
        self._stop = threading.Event()
        self._beat: threading.Thread | None = None

    # --- taking and giving back ---------------------------------------------------------------

    def try_acquire(self) -> bool:
        """Take the lock if it is free (or stale); never waits."""
        record = owner_record(self.what)
        for _attempt in range(3):
            self.path.parent.mkdir(parents=True, exist_ok=True)
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                if not self._break_if_stale():
                    return False
                continue
            except FileNotFoundError:  # `cache clear` removed the empty folder between our mkdir and open
                continue
            try:
                os.write(fd, json.dumps(record).encode())
            finally:
                os.close(fd)
            self.owner = record
            self._start_heartbeat()
            return True
        return False

    def acquire(self, *, timeout: float | None = None, poll: float = 1.0,
                on_wait: Callable[[dict | None], None] | None = None) -> float:
        """Take the lock, waiting while another live process holds it. Returns the seconds waited
        (0.0 when it was free). Raises LockTimeout after `timeout` seconds; Ctrl-C interrupts."""
        start = time.monotonic()
        told = False
        while not self.try_acquire():
            if not told and on_wait is not None:
                on_wait(read_owner(self.path))
                told = True
            if timeout is not None and time.monotonic() - start > timeout:
                raise LockTimeout(f"{self.path} still held after {timeout:.0f} s")
            time.sleep(poll)
        return time.monotonic() - start if told else 0.0

    def release(self) -> None:
        """Give the lock back, if it is still ours (a holder declared stale must not delete its successor's)."""
        self._stop.set()
        if self._beat is not None:
            self._beat.join(timeout=5)
            self._beat = None
        if self.owner is None:
            return
        current = read_owner(self.path)
        if current is not None and current.get("token") == self.owner["token"]:
            try:
                self.path.unlink()
            except FileNotFoundError:
                pass
        self.owner = None

    def __enter__(self) -> "BuildLock":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    # --- staleness --------------------------------------------------------------------------------

    def _age(self) -> float | None:
        try:
            return time.time() - self.path.stat().st_mtime
        except FileNotFoundError:
            return None

    def _break_if_stale(self) -> bool:
        """True when the lock was stale and is now gone (or vanished by itself): try again."""
        age = self._age()
        if age is None:
            return True
        judged = read_owner(self.path)
        why = owner_gone(judged, age, stale_after=self.stale_after)
        if not why:
            return False
        aside = self.path.with_name(f"{self.path.name}.stale-{uuid.uuid4().hex}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return True
        except OSError:
            return False
        moved = read_owner(aside)
        if (moved or {}).get("token") != (judged or {}).get("token"):
            # Between our look and our move, someone replaced the stale lock with a fresh one: put it back.
            try:
                os.link(aside, self.path)
            except OSError:
                pass  # a third process holds a newer lock; the moved one's owner will see it is not its own
            try:
                aside.unlink()
            except OSError:
                pass
            return False
        try:
            aside.unlink()
        except OSError:
            pass
        return True

    def _start_heartbeat(self) -> None:
        self._stop.clear()

        def beat() -> None:
            while not self._stop.wait(self.heartbeat):
                try:
                    os.utime(self.path)
                except OSError:
                    return

        self._beat = threading.Thread(target=beat, name="gpuready-build-lock-heartbeat", daemon=True)
        self._beat.start()
