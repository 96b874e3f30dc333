"""Writing files that carry case-level data: owner-only (0600), whatever umask is in force."""

import os
from pathlib import Path


def write_private(path: Path, data: bytes) -> Path:
    """Write a file only its owner can read (0600)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT leaves an existing file's mode alone
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def private_dir(path: Path) -> Path:
    """A folder only its owner can enter (0700), created if missing (parents as the umask says)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        os.chmod(path, 0o700)  # mkdir leaves an existing folder's mode alone
    return path


def tighten(path: Path) -> None:
    """Make an existing file of ours owner-only (0600); anything else is left as it is."""
    try:
        info = path.stat()
        if info.st_mode & 0o077 and info.st_uid == os.getuid() and path.is_file():  # never a folder
            os.chmod(path, info.st_mode & 0o700)
    except FileNotFoundError:
        pass
