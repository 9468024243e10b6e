"""Opening the sessions folder for a command or the console: the writer lock, crash recovery,
damaged databases, folders that are not the user's own."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

from coach_tui.config import Config
from coach_tui.store.database import DatabaseError
from coach_tui.store.database_file import refresh_backup
from coach_tui.store.record_check import check_records
from coach_tui.store.recording_format import RecordingError, describe
from coach_tui.store.repository import Repository, open_database
from coach_tui.store.sessions_folder import FolderRefused, check_sessions_folder
from coach_tui.store.writer_lock import LockHeld, WriterLock

log = logging.getLogger(__name__)


class StoreUnavailable(Exception):
    """The sessions folder or database cannot be used now; the message says why and what to do."""


def _say(note: str) -> None:
    log.warning(note)
    print(f"coach: {note}", file=sys.stderr)


def _unusable(config: Config, error: OSError) -> StoreUnavailable:
    return StoreUnavailable(f"{config.sessions_dir}: cannot use the sessions folder ({describe(error)})")


@contextmanager
def open_store(config: Config, command: str, *, write: bool) -> Iterator[Repository]:
    """The client database for ``command``.

    Writers hold the writer lock for the whole command (a second writer is refused, naming the
    holder) and first recover sessions a crash left unfinished. Readers never take the lock to
    read, so they work while another process records and on a full disk; only when a session is
    left unfinished and no writer is running do they try to recover it first (a failure, e.g. a
    full disk, is said and the command reads on). Readers also refresh the backup when they can.
    Damaged databases are never overwritten: the
    error says what is wrong and how to restore the kept backup.
    """
    try:
        check_sessions_folder(config.sessions_dir)
    except FolderRefused as error:
        raise StoreUnavailable(str(error)) from None
    if write:
        with _writing(config, command) as repo:
            yield repo
        return
    if _unfinished_sessions(config):
        _recover_for_reader(config, command)
    try:
        with open_database(config.sessions_dir, read_only=True) as database:
            refresh_backup(database.path, check_records)  # best effort: readers never fail on a full disk
            yield Repository(database)
    except DatabaseError as error:
        raise StoreUnavailable(f"{error} (to restore the backup: coach restore-backup)") from None
    except OSError as error:
        raise _unusable(config, error) from None


@contextmanager
def _writing(config: Config, command: str) -> Iterator[Repository]:
    lock = WriterLock(config.sessions_dir, f"coach {command}")
    try:
        lock.acquire()
    except LockHeld as held:
        raise StoreUnavailable(str(held)) from None
    except OSError as error:
        raise _unusable(config, error) from None
    try:
        if lock.took_over:
            _say(lock.took_over)
        with open_database(config.sessions_dir) as database:
            repo = Repository(database)
            if any(s.status == "recording" for s in repo.sessions()):
                _recover(repo, config)
            yield repo
    except DatabaseError as error:
        raise StoreUnavailable(f"{error} (to restore the backup: coach restore-backup)") from None
    except OSError as error:
        raise _unusable(config, error) from None
    finally:
        lock.release()


def _recover(repo: Repository, config: Config) -> None:
    """Recover the sessions a crash left unfinished, saying what was kept (the writer lock is held)."""
    from coach_tui.workflows.recovery import recover_unfinished  # re-analysis: loaded only when needed

    for note in recover_unfinished(repo, config.sessions_dir):
        _say(note)


def _unfinished_sessions(config: Config) -> bool:
    """True when a session is still marked "recording" (a crash, or a recording running now)."""
    try:
        with open_database(config.sessions_dir, read_only=True) as database:
            return any(s.status == "recording" for s in Repository(database).sessions())
    except (DatabaseError, OSError):
        return False  # said by the read that follows


def _recover_for_reader(config: Config, command: str) -> None:
    """Recover unfinished sessions when no writer is running; say why not when it cannot now."""
    lock = WriterLock(config.sessions_dir, f"coach {command}")
    try:
        lock.acquire()
    except LockHeld:
        return  # a writer is running: its session is being recorded, not interrupted
    except OSError as error:
        _say(f"an interrupted session could not be recovered now ({describe(error)}); it will be the next time "
             "coach can write to the sessions folder")
        return
    try:
        if lock.took_over:
            _say(lock.took_over)
        with open_database(config.sessions_dir) as database:
            _recover(Repository(database), config)
    except (DatabaseError, RecordingError, OSError) as error:
        why = describe(error) if isinstance(error, OSError) and not isinstance(error, RecordingError) else str(error)
        _say(f"an interrupted session could not be recovered now ({why}); it will be the next time coach can "
             "write to the sessions folder")
    finally:
        lock.release()
