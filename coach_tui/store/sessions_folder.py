"""Is the sessions folder safe to use? It holds health data, so it must be the user's own and
closed to everyone else; coach never changes a folder's mode or owner itself, it says what to
run instead.

Two ways it goes wrong in the field: a folder made by hand (``mkdir`` gives 0755, readable by
every user of the machine), and a ``sudo coach …`` that left files owned by root in the
trainer's folder, after which every command would only say "Permission denied".
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

try:  # POSIX
    import pwd
except ImportError:  # pragma: no cover - not on Linux/macOS
    pwd = None  # type: ignore[assignment]


class FolderRefused(Exception):
    """The sessions folder is open to other users or belongs (in part) to another user; the
    message names what and the command that fixes it."""


def _user(uid: int) -> str:
    if pwd is not None:
        try:
            return pwd.getpwuid(uid).pw_name
        except KeyError:
            pass
    return f"user {uid}"


def _foreign(folder: Path, me: int) -> tuple[Path, int] | None:
    """The folder or the first thing directly in it that belongs to someone else."""
    try:
        if os.stat(folder).st_uid != me:
            return folder, os.stat(folder).st_uid
        with os.scandir(folder) as entries:
            for entry in entries:
                uid = entry.stat(follow_symlinks=False).st_uid
                if uid != me:
                    return Path(entry.path), uid
    except OSError:
        return None  # unreadable: the command that reads it says why
    return None


def check_sessions_folder(folder: Path) -> None:
    """Raise :class:`FolderRefused` when ``folder`` (if it exists) or what is in it belongs to
    another user, or when other users may read or write it. Changes nothing."""
    folder = Path(folder)
    try:
        st = os.stat(folder)
    except OSError:
        return  # missing (created 0700 by the first writer) or not a folder (said when used)
    if not stat.S_ISDIR(st.st_mode) or not hasattr(os, "geteuid"):
        return
    me = os.geteuid()
    if me == 0 and st.st_uid != 0:
        raise FolderRefused(
            f"{folder} belongs to {_user(st.st_uid)}, and coach is running as root (sudo): files it wrote there "
            f"would be root's, and {_user(st.st_uid)}'s own coach could no longer open them. Run coach as "
            f"{_user(st.st_uid)}, without sudo")
    foreign = None if me == 0 else _foreign(folder, me)  # root can open anything
    if foreign is not None:
        path, owner = foreign
        raise FolderRefused(
            f"{path} belongs to {_user(owner)}, not to you ({_user(me)}), so coach cannot use {folder} — most "
            f"likely a coach command was run with sudo. Give it back with: sudo chown -R {_user(me)}: {folder}")
    mode = stat.S_IMODE(st.st_mode)
    if mode & 0o077:
        who = "other users" if mode & 0o007 else "your group"
        raise FolderRefused(
            f"{folder} can be opened by {who} (mode {mode:04o}); it holds health data, so coach uses it only "
            f"when it is yours alone: chmod 700 {folder}")
