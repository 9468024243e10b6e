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
from coach_tui.store.recording_format import RecordingError, describe, paths
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
    holder) and first do the store's upkeep: recover sessions a crash left unfinished, then
    re-analyse sets stored with an older definition of the per-rep metrics (``upgrade_metrics``).
    Readers never take the lock to read, so they work while another process records and on a full
    disk; only when there is upkeep to do and no writer is running do they take it to do that first
    (a failure, e.g. a full disk, is said and the command reads on). Readers also refresh the backup
    when they can. Damaged databases are never overwritten: the
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
    if _upkeep_due(config):
        _upkeep_for_reader(config, command)
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
            if _needs_upkeep(repo, config):
                _upkeep(repo, config)
            yield repo
    except DatabaseError as error:
        raise StoreUnavailable(f"{error} (to restore the backup: coach restore-backup)") from None
    except OSError as error:
        raise _unusable(config, error) from None
    finally:
        lock.release()


def _upkeep(repo: Repository, config: Config) -> None:
    """Recover the sessions a crash left unfinished, then bring sets stored with an older definition
    of the per-rep metrics up to date, saying what was done (the writer lock is held). Re-analysis
    is loaded only when there is upkeep to do."""
    from coach_tui.workflows.metrics_upgrade import upgrade_metrics
    from coach_tui.workflows.recovery import recover_unfinished

    for note in recover_unfinished(repo, config.sessions_dir) + upgrade_metrics(repo, config.sessions_dir):
        _say(note)


def _needs_upkeep(repo: Repository, config: Config) -> bool:
    """A session still marked "recording" (a crash, or a recording running now), or a set with
    older metrics whose raw recording is there to re-analyse."""
    for session in repo.sessions():
        if session.status == "recording":
            return True
        for record in repo.sets(session.id):
            if record.old_metrics and record.recording and \
                    paths(config.sessions_dir / session.folder / record.recording)[0].exists():
                return True
    return False


def _upkeep_due(config: Config) -> bool:
    try:
        with open_database(config.sessions_dir, read_only=True) as database:
            return _needs_upkeep(Repository(database), config)
    except (DatabaseError, OSError):
        return False  # said by the read that follows


def _not_now(why: str) -> str:
    return (f"an interrupted session could not be recovered, or stored sets re-analysed, now ({why}); coach does "
            "it the next time it can write to the sessions folder")


def _upkeep_for_reader(config: Config, command: str) -> None:
    """Do the store's upkeep when no writer is running; say why not when it cannot now."""
    lock = WriterLock(config.sessions_dir, f"coach {command}")
    try:
        lock.acquire()
    except LockHeld:
        return  # a writer is running: its session is being recorded, not interrupted
    except OSError as error:
        _say(_not_now(describe(error)))
        return
    try:
        if lock.took_over:
            _say(lock.took_over)
        with open_database(config.sessions_dir) as database:
            _upkeep(Repository(database), config)
    except (DatabaseError, RecordingError, OSError) as error:
        why = describe(error) if isinstance(error, OSError) and not isinstance(error, RecordingError) else str(error)
        _say(_not_now(why))
    finally:
        lock.release()
