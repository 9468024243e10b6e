"""Owner-only files and directories, and writes that a crash cannot leave half-done.

Everything coach-tui stores is health data: directories are created 0700 and files 0600.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only; return it."""
    path.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
    os.chmod(path, DIR_MODE)
    return path


def open_private(path: Path, mode: str = "xb"):
    """Open a new or existing file created with owner-only permissions (``open`` modes)."""
    flags = {
        "xb": os.O_WRONLY | os.O_CREAT | os.O_EXCL,
        "ab": os.O_WRONLY | os.O_CREAT | os.O_APPEND,
        "wb": os.O_WRONLY | os.O_CREAT | os.O_TRUNC,
        "r+b": os.O_RDWR,
    }[mode]
    fd = os.open(path, flags, FILE_MODE)
    return os.fdopen(fd, mode.replace("x", "w") if mode == "xb" else mode)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in ``path`` durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: temporary file, flush, fsync, rename, fsync the directory.

    A crash at any point leaves either the old file or the new one, never a mix.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open_private(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
