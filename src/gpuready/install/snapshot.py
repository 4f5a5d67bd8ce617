"""Record an environment's state before an install, and put it back byte for byte afterwards.

Design (why not `pip freeze` + reinstall): restoring by reinstalling the previous versions needs
those exact files again, and offline, for a conda-installed dlib, for a locally built wheel or a
package yanked since, they are simply not there. So the snapshot keeps the files themselves:

* **Listing.** Every file, symlink and directory under the roots a pip/uv install can write to
  (the target's purelib/platlib, its scripts directory, for a virtual environment its `share`,
  `etc` and `include`, and the user site when the user site is live), with size, mtime and inode.
  `__pycache__` is left out: bytecode is derived data, and stale bytecode is deleted alongside
  every source file that is restored or removed.
* **Backup.** Each file is hard-linked into a backup folder beside the environment (free in space,
  and about as fast as listing, whatever the environment's size: a torch environment has tens of
  thousands of files). Linking is safe because pip and uv do not rewrite an installed file in
  place: pip unlinks before writing (`pip/_internal/operations/install/wheel.py`: "Unlinking the
  file allows writing of new contents while allowing the process to continue to use the old
  copy"; its script writer does the same), uninstalls move files away, and uv uninstalls the old
  version before it links or copies the new one in. `.pth` files are copied instead, because some
  tools append to them in place. The one remaining in-place writer is uv's copy mode overwriting a
  file that *another* distribution owns; gpuready removes competing distributions (the only
  common case, cv2) before installing. Where a hard link is impossible (another file system),
  the file is copied.
* **Restore.** Rescan; delete what is new, put back what is missing or changed (same path, other
  inode, size or mtime) from the backup, recreate missing directories, remove new ones. Then
  rescan and compare with the listing, and compare `pip freeze` with the one taken before: the
  report says whether the environment is exactly what it was.

This covers what pip, uv and gpuready's own conflict removal change, including distributions
without metadata. It does not cover files an install writes outside these roots (a conda
package's files elsewhere in the prefix, a system-wide `data_files` path).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

from gpuready.install.envinfo import TargetEnv
from gpuready.install.executor import Command
from gpuready.proc import run

COPY_SUFFIXES = (".pth",)  # copied, not linked: tools append to them in place
SKIP_DIRS = {"__pycache__"}
WORKERS = 8

# An entry: ["f", size, mtime_ns, ino, dev, how] | ["l", target] | ["d"]
#   how: "l" hard link, "c" copy, "" not backed up (unreadable)
Entry = list


@dataclass
class Root:
    path: str
    existed: bool
    listing: dict[str, Entry] = field(default_factory=dict)


@dataclass
class Snapshot:
    roots: list[Root]
    backup: str  # folder with one numbered subfolder per root
    freeze: list[str] = field(default_factory=list)
    freeze_ok: bool = True
    freeze_argv: list[str] = field(default_factory=list)  # how `freeze` was taken: compare with the same tool
    freeze_env: dict[str, str] = field(default_factory=dict)
    files: int = 0
    linked_bytes: int = 0
    copied_bytes: int = 0
    failed: list[str] = field(default_factory=list)  # files that could not be backed up
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "roots": [{"path": r.path, "existed": r.existed, "listing": r.listing} for r in self.roots],
            "backup": self.backup,
            "freeze": self.freeze,
            "freeze_ok": self.freeze_ok,
            "freeze_argv": self.freeze_argv,
            "freeze_env": self.freeze_env,
            "files": self.files,
            "linked_bytes": self.linked_bytes,
            "copied_bytes": self.copied_bytes,
            "failed": self.failed,
            "seconds": self.seconds,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Snapshot:
        return cls(
            roots=[Root(r["path"], bool(r["existed"]), dict(r.get("listing", {}))) for r in d.get("roots", [])],
            backup=d["backup"],
            freeze=list(d.get("freeze", [])),
            freeze_ok=bool(d.get("freeze_ok", True)),
            freeze_argv=list(d.get("freeze_argv", [])),
            freeze_env=dict(d.get("freeze_env", {})),
            files=int(d.get("files", 0)),
            linked_bytes=int(d.get("linked_bytes", 0)),
            copied_bytes=int(d.get("copied_bytes", 0)),
            failed=list(d.get("failed", [])),
            seconds=float(d.get("seconds", 0.0)),
        )

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Snapshot:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


@dataclass
class RestoreReport:
    removed: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)  # paths that could not be put back
    differences: list[str] = field(default_factory=list)  # what still differs after the restore
    freeze_before: list[str] = field(default_factory=list)
    freeze_after: list[str] = field(default_factory=list)
    freeze_checked: bool = False
    seconds: float = 0.0

    @property
    def exact(self) -> bool:
        """The environment is what it was: every file back, and pip freeze as before (when it could be run)."""
        freeze_same = (not self.freeze_checked) or self.freeze_before == self.freeze_after
        return not self.failed and not self.differences and freeze_same


# --- which folders an install can touch --------------------------------------------------------


def protected_roots(env: TargetEnv, extra: Iterable[str] = ()) -> list[str]:
    """The folders a snapshot must cover, writable ones only (pip cannot change the others either)."""
    cands: list[str] = [*env.install_dirs, env.scripts]
    if env.env_kind == "venv" and env.data:
        cands += [os.path.join(env.data, d) for d in ("share", "etc", "include")]
    if env.env_kind == "system" and env.user_site_enabled and env.user_site:
        # pip falls back to --user when site-packages is not writable
        cands.append(env.user_site)
        if env.user_base:
            cands.append(os.path.join(env.user_base, "Scripts" if os.name == "nt" else "bin"))
    cands += list(extra)
    roots: list[str] = []
    for c in cands:
        if not c:
            continue
        c = os.path.abspath(c)
        if not _writable_or_creatable(c):
            continue
        if any(_inside(c, r) for r in roots):
            continue
        roots = [r for r in roots if not _inside(r, c)]
        roots.append(c)
    return roots


def _inside(path: str, root: str) -> bool:
    path, root = os.path.normcase(path), os.path.normcase(root)
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _writable_or_creatable(path: str) -> bool:
    p = path
    while not os.path.exists(p):
        parent = os.path.dirname(p)
        if parent == p:
            return False
        p = parent
    return os.access(p, os.W_OK)


# --- scanning ------------------------------------------------------------------------------------


def scan(root: str, exclude: Sequence[str] = ()) -> dict[str, Entry]:
    """Relative path -> entry for everything under `root` (symlinks not followed, __pycache__ skipped)."""
    out: dict[str, Entry] = {}
    excluded = {os.path.normcase(os.path.abspath(e)) for e in exclude}
    stack = [""]
    while stack:
        rel = stack.pop()
        full = os.path.join(root, rel) if rel else root
        try:
            it = os.scandir(full)
        except OSError:
            continue
        with it:
            for e in it:
                r = os.path.join(rel, e.name) if rel else e.name
                try:
                    if e.is_symlink():
                        out[r] = ["l", os.readlink(e.path)]
                    elif e.is_dir(follow_symlinks=False):
                        if e.name in SKIP_DIRS or os.path.normcase(e.path) in excluded:
                            continue
                        out[r] = ["d"]
                        stack.append(r)
                    else:
                        st = e.stat(follow_symlinks=False)
                        out[r] = ["f", st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, ""]
                except OSError:
                    continue
    return out


# --- taking a snapshot -------------------------------------------------------------------------


def freeze(cmd: Command, timeout: float = 180.0) -> tuple[list[str], bool]:
    """`pip freeze` (or `uv pip freeze`) lines, sorted; (lines, ok)."""
    env = dict(os.environ)
    env.update(cmd.env)
    res = run(cmd.argv, timeout=timeout, env=env)
    if not res.ok:
        return [], False
    lines = sorted(line.strip() for line in res.stdout.splitlines() if line.strip() and not line.startswith("#"))
    return lines, True


def take(roots: Sequence[str], backup: Path, freeze_cmd: Command | None = None) -> Snapshot:
    """List every root and back its files up into `backup` (links for big files, copies for small)."""
    start = time.monotonic()
    backup.mkdir(parents=True, exist_ok=True)
    snap = Snapshot(roots=[], backup=str(backup))
    if freeze_cmd is not None:
        snap.freeze, snap.freeze_ok = freeze(freeze_cmd)
        snap.freeze_argv, snap.freeze_env = list(freeze_cmd.argv), dict(freeze_cmd.env)
    jobs: list[tuple[str, str, Entry, int]] = []
    for i, root in enumerate(roots):
        existed = os.path.isdir(root)
        listing = scan(root, exclude=[str(backup.parent)]) if existed else {}
        snap.roots.append(Root(root, existed, listing))
        dest_root = backup / str(i)
        dirs = sorted(r for r, e in listing.items() if e[0] == "d")
        dest_root.mkdir(exist_ok=True)
        for d in dirs:
            (dest_root / d).mkdir(parents=True, exist_ok=True)
        for rel, e in listing.items():
            if e[0] == "f":
                jobs.append((os.path.join(root, rel), str(dest_root / rel), e, i))

    def backup_one(job: tuple[str, str, Entry, int]) -> tuple[str, int]:
        src, dst, e, _ = job
        if not src.endswith(COPY_SUFFIXES):
            try:
                os.link(src, dst)
                return "l", e[1]
            except OSError:
                pass
        try:
            shutil.copy2(src, dst)
            return "c", e[1]
        except OSError:
            return "", 0

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        for job, (how, size) in zip(jobs, pool.map(backup_one, jobs)):
            job[2][5] = how
            if how == "l":
                snap.linked_bytes += size
            elif how == "c":
                snap.copied_bytes += size
            else:
                snap.failed.append(job[0])
    snap.files = len(jobs)
    snap.seconds = round(time.monotonic() - start, 3)
    return snap


# --- restoring -----------------------------------------------------------------------------------


def _same_file(now: Entry, before: Entry) -> bool:
    return now[0] == "f" and now[1] == before[1] and now[2] == before[2] and now[3] == before[3] and now[4] == before[4]


def _drop_bytecode(path: str) -> None:
    """Delete cached bytecode of a .py file that was restored or removed (it may describe other source)."""
    if not path.endswith(".py"):
        return
    folder, name = os.path.split(path)
    cache = os.path.join(folder, "__pycache__")
    stem = name[:-3] + "."
    try:
        for entry in os.scandir(cache):
            if entry.name.startswith(stem) and entry.name.endswith(".pyc"):
                try:
                    os.unlink(entry.path)
                except OSError:
                    pass
    except OSError:
        pass


def _remove(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        os.unlink(path)
    else:
        shutil.rmtree(path)


def _make_writable(path: str) -> None:
    try:
        os.chmod(path, os.stat(path).st_mode | stat.S_IWUSR)
    except OSError:
        pass


def restore(snap: Snapshot, freeze_cmd: Command | None = None) -> RestoreReport:
    """Put every root back as listed; then check the result (listing and pip freeze)."""
    start = time.monotonic()
    rep = RestoreReport(freeze_before=list(snap.freeze))
    backup = Path(snap.backup)
    for i, root in enumerate(snap.roots):
        if not root.existed:
            if os.path.lexists(root.path):
                try:
                    _remove(root.path)
                    rep.removed.append(root.path)
                except OSError as exc:
                    rep.failed.append(f"{root.path}: {exc.strerror or exc}")
            continue
        _restore_root(root, backup / str(i), rep, exclude=[str(backup.parent)])
    for i, root in enumerate(snap.roots):
        if root.existed:
            rep.differences.extend(compare(root, scan(root.path, exclude=[str(backup.parent)])))
        elif os.path.lexists(root.path):
            rep.differences.append(f"{root.path}: still exists")
    if snap.freeze_argv:  # the same tool as before (uv and pip freeze differ in details)
        freeze_cmd = Command(tuple(snap.freeze_argv), snap.freeze_env)
    if freeze_cmd is not None and snap.freeze_ok:
        rep.freeze_after, ok = freeze(freeze_cmd)
        rep.freeze_checked = ok
    rep.seconds = round(time.monotonic() - start, 3)
    return rep


def _restore_root(root: Root, bdir: Path, rep: RestoreReport, exclude: Sequence[str]) -> None:
    before = root.listing
    now = scan(root.path, exclude=exclude)
    # 1. files and links that are new, or that replaced something of another type
    for rel, e in now.items():
        b = before.get(rel)
        if e[0] in "fl" and (b is None or b[0] != e[0] or (e[0] == "l" and b[1] != e[1])):
            full = os.path.join(root.path, rel)
            try:
                os.unlink(full)
                rep.removed.append(full)
                _drop_bytecode(full)
            except OSError as exc:
                rep.failed.append(f"{full}: {exc.strerror or exc}")
    # 2. directories that are new (deepest first; they hold only new things by now)
    new_dirs = [r for r, e in now.items() if e[0] == "d" and (before.get(r) or [""])[0] != "d"]
    for rel in sorted(new_dirs, key=lambda r: r.count(os.sep), reverse=True):
        full = os.path.join(root.path, rel)
        if os.path.isdir(full) and not os.path.islink(full):
            try:
                shutil.rmtree(full)
                rep.removed.append(full + os.sep)
            except OSError as exc:
                rep.failed.append(f"{full}: {exc.strerror or exc}")
    # 3. directories that are missing
    for rel in sorted((r for r, b in before.items() if b[0] == "d"), key=lambda r: r.count(os.sep)):
        full = os.path.join(root.path, rel)
        if os.path.lexists(full) and not os.path.isdir(full):
            try:
                os.unlink(full)
            except OSError:
                pass
        try:
            os.makedirs(full, exist_ok=True)
        except OSError as exc:
            rep.failed.append(f"{full}: {exc.strerror or exc}")
    # 4. files that are missing or changed, from the backup
    for rel, b in before.items():
        full = os.path.join(root.path, rel)
        if b[0] == "f":
            e = now.get(rel)
            if e is not None and _same_file(e, b) and os.path.lexists(full):
                continue
            if not b[5]:
                rep.failed.append(f"{full}: changed, and it could not be backed up")
                continue
            src = str(bdir / rel)
            try:
                if os.path.lexists(full):
                    _make_writable(full)
                    os.unlink(full)
                try:
                    os.link(src, full)
                except OSError:
                    shutil.copy2(src, full)
                rep.restored.append(full)
                _drop_bytecode(full)
            except OSError as exc:
                rep.failed.append(f"{full}: {exc.strerror or exc}")
        elif b[0] == "l":
            try:
                if os.path.islink(full) and os.readlink(full) == b[1]:
                    continue
                if os.path.lexists(full):
                    _remove(full)
                os.symlink(b[1], full)
                rep.restored.append(full)
            except OSError as exc:
                rep.failed.append(f"{full}: {exc.strerror or exc}")


def compare(root: Root, now: dict[str, Entry], limit: int = 20) -> list[str]:
    """What differs between a root's listing and a fresh scan (content identity: size and mtime)."""
    diffs: list[str] = []
    for rel, b in root.listing.items():
        e = now.get(rel)
        full = os.path.join(root.path, rel)
        if e is None:
            diffs.append(f"missing: {full}")
        elif e[0] != b[0]:
            diffs.append(f"changed type: {full}")
        elif b[0] == "f" and (e[1] != b[1] or e[2] != b[2]):
            diffs.append(f"changed: {full}")
        elif b[0] == "l" and e[1] != b[1]:
            diffs.append(f"changed link: {full}")
        if len(diffs) >= limit:
            return diffs
    for rel in now:
        if rel not in root.listing:
            diffs.append(f"new: {os.path.join(root.path, rel)}")
            if len(diffs) >= limit:
                break
    return diffs


def freeze_diff(before: Sequence[str], after: Sequence[str]) -> list[tuple[str, str, str]]:
    """(name, old version, new version) for each distribution that changed; "" = absent."""
    def parse(lines: Sequence[str]) -> dict[str, tuple[str, str]]:
        out: dict[str, tuple[str, str]] = {}
        for line in lines:
            if "==" in line:
                name, _, ver = line.partition("==")
            elif " @ " in line:
                from urllib.parse import unquote

                name, _, ver = line.partition(" @ ")
                ver = "@ " + unquote(ver.split("#", 1)[0])  # pip and uv quote "+" differently; the hash is noise
            else:
                name, ver = line, ""
            from gpuready.install.knowledge import canonical

            out[canonical(name.strip())] = (name.strip(), ver.strip())
        return out

    a, b = parse(before), parse(after)
    changes = []
    for key in sorted(set(a) | set(b)):
        old = a.get(key, ("", ""))
        new = b.get(key, ("", ""))
        if old[1] != new[1] or (key in a) != (key in b):
            changes.append((new[0] or old[0], old[1] if key in a else "", new[1] if key in b else ""))
    return changes
