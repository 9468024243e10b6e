"""Owner-only files and directories, and writes that a crash cannot leave half-done.

Everything coach-tui stores is health data: every folder it creates is 0700 and every file it
writes 0600, whatever the umask. A folder that already exists is never changed (it may be
``/tmp``, or a folder its owner made read-only on purpose).
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dirs(path: Path) -> Path:
    """Create the missing folders of ``path`` (itself and parents) owner-only (0700); leave the
    ones that exist as they are. Returns ``path``."""
    path = Path(path)
    missing = []
    folder = path
    while not os.path.lexists(folder) and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    for folder in reversed(missing):
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            continue  # made by someone else in between: theirs, left alone
        os.chmod(folder, DIR_MODE)  # mkdir's mode is cut by the umask
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
    if flags & os.O_CREAT:
        try:
            os.fchmod(fd, FILE_MODE)  # os.open's mode is cut by the umask
        except OSError:
            os.close(fd)
            raise
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
