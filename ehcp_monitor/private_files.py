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
