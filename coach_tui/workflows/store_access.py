"""Opening the sessions folder for a command or the console: the writer lock, crash recovery,
damaged databases."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from coach_tui.config import Config
from coach_tui.store.database import Database, DatabaseError
from coach_tui.store.repository import Repository
from coach_tui.store.writer_lock import LockHeld, WriterLock
from coach_tui.workflows.metrics_upgrade import upgrade_metrics
from coach_tui.workflows.recovery import recover_unfinished


class StoreUnavailable(Exception):
    """The sessions folder or database cannot be used now; the message says why and what to do."""


def _say(note: str) -> None:
    print(f"coach: {note}", file=sys.stderr)


@contextmanager
def open_store(config: Config, command: str, *, write: bool) -> Iterator[Repository]:
    """The client database for ``command``.

    Writers hold the writer lock for the whole command (a second writer is refused, naming the
    holder); readers take it only briefly, to recover sessions a crash left unfinished, and read
    on without it while another process records. With the lock, sets stored with an older definition
    of the per-rep metrics are re-analysed first (``upgrade_metrics``). Damaged databases are never overwritten: the
    error says what is wrong and how to restore the kept backup.
    """
    lock = WriterLock(config.sessions_dir, f"coach {command}")
    try:
        lock.acquire()
    except LockHeld as held:
        if write:
            raise StoreUnavailable(str(held)) from None
        lock = None
    except OSError as error:
        if write:
            raise StoreUnavailable(f"{config.sessions_dir}: cannot use the sessions folder ({error.strerror})") from None
        lock = None
    try:
        if lock is not None and lock.took_over:
            _say(lock.took_over)
        try:
            if lock is not None:
                with Database(config.sessions_dir) as database:
                    repo = Repository(database)
                    for note in recover_unfinished(repo, config.sessions_dir) + upgrade_metrics(repo, config.sessions_dir):
                        _say(note)
                    if write:
                        yield Repository(database)
                        return
            with Database(config.sessions_dir, read_only=True) as database:
                yield Repository(database)
        except DatabaseError as error:
            raise StoreUnavailable(f"{error} (to restore the backup: coach restore-backup)") from None
        except OSError as error:
            raise StoreUnavailable(f"{config.sessions_dir}: cannot use the sessions folder ({error.strerror})") from None
    finally:
        if lock is not None:
            lock.release()
