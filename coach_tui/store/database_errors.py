"""What can go wrong with the client database, said for the trainer, and the backup it offers."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

DB_NAME = "coach.json"
BACKUP_SUFFIX = ".bak"


class DatabaseError(Exception):
    """Anything the database refuses to do; the message is meant for the trainer."""


class SchemaTooNew(DatabaseError):
    """The file was written by a newer coach-tui; it is left alone."""


class ReadOnlyDatabase(DatabaseError):
    """A mutation on a read-only instance."""


class DuplicateId(DatabaseError):
    """``insert`` of an id that the table already has."""


class DocumentNotFound(DatabaseError, LookupError):
    """``update``/``remove`` of an id that the table does not have."""


class InvalidDocument(DatabaseError, ValueError):
    """A document without a usable ``"id"``, or with values JSON cannot hold."""


class DatabaseCorrupt(DatabaseError):
    """``coach.json`` does not parse or does not have the expected shape; it was not touched.

    ``path``: the damaged file; ``problem``: what is wrong; ``backup``: ``(path, saved)`` of the
    last good backup or ``None``. Recovery: fix by hand, or :meth:`Database.restore_backup`.
    """

    def __init__(self, path: Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        self.backup = backup_info(self.path.parent)
        super().__init__(self._message())

    def _message(self) -> str:
        if self.backup is not None:
            bak, saved = self.backup
            restore = (
                f", or restore the last good backup {bak} (saved {saved:%Y-%m-%d %H:%M}); the "
                f"damaged file is then kept as {DB_NAME}.corrupt-<date>"
            )
        else:
            restore = " (there is no backup to restore yet)"
        return (
            f"{self.path} is damaged and was left untouched: {self.problem}. "
            f"To recover, fix the file by hand{restore}."
        )


class DatabaseMissing(DatabaseCorrupt):
    """``coach.json`` is gone but there is a backup (or it vanished while in use).

    Nothing is written, so an empty database never silently replaces the trainer's data; the
    same recovery applies (:meth:`Database.restore_backup`).
    """

    def __init__(self, path: Path):
        super().__init__(path, "it is missing")

    def _message(self) -> str:
        if self.backup is None:
            return (
                f"{self.path} disappeared while coach-tui was using it, and there is no backup; "
                f"nothing was written. Put the file back to continue."
            )
        bak, saved = self.backup
        return (
            f"{self.path} is missing, but the backup {bak} (saved {saved:%Y-%m-%d %H:%M}) "
            f"exists: restore the backup, or move it out of {self.path.parent} to start with an "
            f"empty database."
        )


def backup_path(sessions_dir: Path) -> Path:
    """Where the last good copy of ``coach.json`` is kept."""
    return Path(sessions_dir) / (DB_NAME + BACKUP_SUFFIX)


def backup_info(sessions_dir: Path) -> tuple[Path, datetime] | None:
    """``(path, modified)`` of ``coach.json.bak`` in ``sessions_dir``, or ``None``."""
    bak = backup_path(sessions_dir)
    try:
        st = os.stat(bak)
    except OSError:
        return None
    return bak, datetime.fromtimestamp(st.st_mtime)
