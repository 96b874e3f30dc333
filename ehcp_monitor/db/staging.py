"""Where SQLite bulk writes put their side files: a private folder beside the store.

A side file holds a copy of case records (names, dates of birth, UPNs, contacts) while a bulk
write runs (db.bulk). They live in `<store file>.staging/` (0700; each file 0600, and SQLite gives
a journal its database file's mode), each process in a folder of its own, `<id>/`, paired with a
lock file `<id>.lock` that the process holds (flock) for its whole life. A write's side files are
deleted when its connection goes back to the pool, and a process's folder when it exits. A process
killed with -9 can do neither, so `sweep` (run whenever a store is opened, and before a process
stages its first file) deletes every folder whose lock no live process holds: the kernel frees a
flock when its holder dies, however it dies.
"""

import atexit
import fcntl
import os
import shutil
import tempfile
import uuid
from pathlib import Path

from ehcp_monitor.private_files import private_dir

_OWNED: dict[tuple[int, Path], Path] = {}  # (pid, staging root) -> this process's folder
_LOCKS: list[int] = []  # the lock files' descriptors, held open until the process exits


def staging_root(store: Path | None) -> Path:
    """`<store file>.staging`, or (an in-memory store) a per-user folder in the temporary folder."""
    if store is None:
        return Path(tempfile.gettempdir()) / f"ehcp-staging-{os.getuid()}"
    return store.with_name(f"{store.name}.staging")


def side_file(store: Path | None) -> str:
    """A new, empty side file (0600) in this process's private folder."""
    handle, path = tempfile.mkstemp(prefix="stage-", suffix=".sqlite3", dir=_own_folder(staging_root(store)))
    os.close(handle)
    return path


def remove(path: str) -> None:
    """Delete a side file and any journal SQLite left beside it."""
    for name in (path, f"{path}-journal", f"{path}-wal", f"{path}-shm"):
        Path(name).unlink(missing_ok=True)


def sweep(root: Path) -> int:
    """Delete the folders of processes that died while staging; returns how many."""
    try:
        entries = list(root.iterdir())
    except OSError:  # no staging folder (nothing was ever staged), or not ours to read
        return 0
    mine = {folder.name for (pid, r), folder in _OWNED.items() if pid == os.getpid() and r == root}
    removed = 0
    for entry in entries:
        if entry.suffix == ".lock" or entry.name in mine:
            continue
        try:
            if _owner_gone(root / f"{entry.name}.lock"):
                _delete(entry)
                removed += 1
        except OSError:  # another sweep got there first, or it is not ours to delete
            continue
    for lock in (e for e in entries if e.suffix == ".lock"):  # its process died before its folder
        if lock.stem not in mine and not (root / lock.stem).exists():
            try:
                _owner_gone(lock, unlink=True)
            except OSError:
                continue
    return removed


def _owner_gone(lock: Path, *, unlink: bool = False) -> bool:
    """True when no live process holds `lock` (a missing lock: its owner is gone too)."""
    try:
        fd = os.open(lock, os.O_RDWR)
    except FileNotFoundError:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        if unlink:
            lock.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


def _delete(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry)
    else:
        entry.unlink(missing_ok=True)
    (entry.parent / f"{entry.name}.lock").unlink(missing_ok=True)


def _own_folder(root: Path) -> Path:
    key = (os.getpid(), root)
    if key in _OWNED:
        return _OWNED[key]
    private_dir(root)
    sweep(root)
    while True:
        name = uuid.uuid4().hex[:16]
        lock = root / f"{name}.lock"
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        # A sweep that found the lock before it was held may have deleted it: then take another.
        try:
            still_ours = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            still_ours = False
        if still_ours:
            break
        os.close(fd)
    folder = root / name
    folder.mkdir(mode=0o700)
    _LOCKS.append(fd)
    _OWNED[key] = folder
    return folder


@atexit.register
def _remove_own_folders() -> None:
    for (pid, _root), folder in list(_OWNED.items()):
        if pid == os.getpid():
            shutil.rmtree(folder, ignore_errors=True)
            (folder.parent / f"{folder.name}.lock").unlink(missing_ok=True)


# The key, in a pooled connection's info, of the side files it staged (db.bulk).
STAGED = "ehcp_staged"


def release_staged(dbapi_connection, record_info: dict) -> None:
    """Detach and delete the side files a connection staged (its transaction has ended; the
    connection may be gone, when the pool dropped it, and the files are deleted all the same)."""
    for alias, path in record_info.pop(STAGED, []):
        try:
            if dbapi_connection is not None:
                dbapi_connection.execute(f"DETACH DATABASE {alias}")
        except Exception:  # noqa: BLE001 - a closed or broken connection has nothing attached
            pass
        remove(path)
