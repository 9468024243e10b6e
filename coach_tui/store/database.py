"""The client database: named tables of JSON documents in ``<sessions>/coach.json`` (TinyDB over
the atomic, owner-only, checked file of :mod:`~coach_tui.store.database_file`).

Rules
-----
* Every mutating call is exactly one atomic write (temporary file, flush, fsync, rename,
  directory fsync — :func:`~coach_tui.store.private_files.atomic_write`), files 0600, a sessions
  directory it creates 0700. No write cache: when a call returns, its change is on disk.
* A file that does not parse, does not have the expected shape or holds a record the domain
  refuses is **never overwritten** and never backed up: :class:`DatabaseCorrupt` names what is
  wrong (the table and record) and how to recover (fix by hand, or restore the backup with
  :meth:`Database.restore_backup`).
* ``coach.json.bak`` is a copy of the last file that loaded cleanly, refreshed by writers
  whenever they load a good file (so at the latest before a process's first write).
* A missing ``coach.json`` next to an existing backup (or one that vanished while open) raises
  :class:`DatabaseMissing` (a :class:`DatabaseCorrupt`) instead of starting an empty database
  that would later replace the backup.
* A file from a newer coach-tui (higher ``schema_version``) is refused, not rewritten.
* Thread-safe within a process (one lock per database file); documents must be JSON-exact
  (no NaN/inf, no datetimes): anything else raises :class:`InvalidDocument` before writing.
* ``read_only=True`` never creates, writes or backs up anything; a missing file reads empty.
* Locking is the caller's business (:class:`~coach_tui.store.writer_lock.WriterLock`).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, Self

from tinydb import Query, TinyDB
from tinydb.table import Document, Table

from coach_tui.store.database_errors import (
    BACKUP_SUFFIX,
    DB_NAME,
    DatabaseCorrupt,
    DatabaseError,
    DatabaseMissing,
    DocumentNotFound,
    DuplicateId,
    InvalidDocument,
    ReadOnlyDatabase,
    SchemaTooNew,
    backup_info,
    backup_path,
)
from coach_tui.store.database_file import (
    SCHEMA_VERSION,
    AtomicJSONStorage,
    RecordCheck,
    parse,
    remove_stale_temporaries,
)
from coach_tui.store.private_files import atomic_write, private_dirs

__all__ = [
    "BACKUP_SUFFIX",
    "DB_NAME",
    "SCHEMA_VERSION",
    "AtomicJSONStorage",
    "Database",
    "DatabaseCorrupt",
    "DatabaseError",
    "DatabaseMissing",
    "DocumentNotFound",
    "DuplicateId",
    "InvalidDocument",
    "ReadOnlyDatabase",
    "SchemaTooNew",
    "backup_info",
]


_PATH_LOCKS: dict[str, threading.RLock] = {}
_PATH_LOCKS_GUARD = threading.Lock()


def _path_lock(path: Path) -> threading.RLock:
    """One lock per database file in this process: TinyDB's read-modify-write and the
    per-process temporary file name of ``atomic_write`` must not interleave between threads."""
    key = os.path.abspath(path)
    with _PATH_LOCKS_GUARD:
        return _PATH_LOCKS.setdefault(key, threading.RLock())


def _locked(method):
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper


class _IdTable(Table):
    """A table keyed by the documents' own string ids; never invents ids."""

    document_id_class = str

    def _get_next_id(self):  # pragma: no cover - every insert passes an explicit id
        raise InvalidDocument('documents need an explicit "id"')


class _TinyDB(TinyDB):
    table_class = _IdTable


class Database:
    """Named tables of JSON documents keyed by their ``"id"`` string, in ``<sessions>/coach.json``.

    Raises :class:`DatabaseCorrupt` (file left untouched) or :class:`SchemaTooNew` on open.
    ``check`` is run on every image read from disk, before it may become the backup (the app's:
    :func:`~coach_tui.store.record_check.check_records`, through
    :func:`~coach_tui.store.repository.open_database`). Documents go in and come out as plain ``dict`` copies; ``all``/``find`` return them in
    id order. Table names starting with ``_`` are reserved.
    """

    def __init__(self, sessions_dir: Path, *, read_only: bool = False, check: RecordCheck | None = None):
        self.sessions_dir = Path(sessions_dir)
        self.check = check
        self.path = self.sessions_dir / DB_NAME
        self.backup_path = backup_path(self.sessions_dir)
        self.read_only = read_only
        self._closed = False
        self._lock = _path_lock(self.path)
        with self._lock:
            self._open()

    def _open(self) -> None:
        read_only = self.read_only
        if not read_only:
            remove_stale_temporaries(self.sessions_dir)
        self._storage_holder: list[AtomicJSONStorage] = []

        def make_storage(*_args, **_kwargs) -> AtomicJSONStorage:
            storage = AtomicJSONStorage(self.path, read_only=read_only, check=self.check)
            self._storage_holder.append(storage)
            return storage

        self._db = _TinyDB(storage=make_storage)
        self._storage = self._storage_holder[0]
        self._storage.read()  # check the file (and back it up) now, not on first use

    # -- reading --------------------------------------------------------------------------
    @_locked
    def tables(self) -> list[str]:
        """Names of the tables on disk (reserved ``_`` tables excluded)."""
        self._check_open()
        return sorted(n for n in (self._storage.read() or {}) if not n.startswith("_"))

    @_locked
    def get(self, table: str, id: str) -> dict | None:
        doc = self._table(table).get(doc_id=self._check_id(id))
        return None if doc is None else copy.deepcopy(dict(doc))

    @_locked
    def all(self, table: str) -> list[dict]:
        return self._sorted(self._table(table).all())

    @_locked
    def find(self, table: str, /, **equals: Any) -> list[dict]:
        """Documents whose fields equal all of ``equals`` (no arguments: all documents)."""
        if not equals:
            return self.all(table)
        return self._sorted(self._table(table).search(Query().fragment(equals)))

    # -- writing (each call: exactly one atomic write) ------------------------------------
    @_locked
    def insert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Add ``doc``; its ``"id"`` must be new to the table. Returns the id."""
        t = self._writable(table)
        doc = self._normalise(table, doc)
        if t.contains(doc_id=doc["id"]):
            raise DuplicateId(f"{table} already has a document with id {doc['id']!r}")
        self._mutate(lambda: t.insert(Document(doc, doc_id=doc["id"])))
        return doc["id"]

    @_locked
    def upsert(self, table: str, doc: Mapping[str, Any]) -> str:
        """Insert ``doc`` or replace the whole document with the same id. Returns the id."""
        t = self._writable(table)
        doc = self._normalise(table, doc)

        def replace(stored: dict) -> None:
            stored.clear()
            stored.update(doc)

        if t.contains(doc_id=doc["id"]):
            self._mutate(lambda: t.update(replace, doc_ids=[doc["id"]]))
        else:
            self._mutate(lambda: t.insert(Document(doc, doc_id=doc["id"])))
        return doc["id"]

    @_locked
    def update(self, table: str, id: str, /, **fields: Any) -> dict:
        """Set ``fields`` on document ``id`` (other fields kept). Returns the updated document."""
        t = self._writable(table)
        id = self._check_id(id)
        if "id" in fields and fields["id"] != id:
            raise InvalidDocument(f"cannot change the id of {table}/{id}")
        current = t.get(doc_id=id)
        if current is None:
            raise DocumentNotFound(f"{table} has no document with id {id!r}")
        merged = self._normalise(table, {**current, **fields})
        new_fields = {k: merged[k] for k in fields}
        self._mutate(lambda: t.update(new_fields, doc_ids=[id]))
        return copy.deepcopy(merged)

    @_locked
    def remove(self, table: str, id: str) -> None:
        """Delete document ``id``; :class:`DocumentNotFound` if there is none."""
        t = self._writable(table)
        id = self._check_id(id)
        if not t.contains(doc_id=id):
            raise DocumentNotFound(f"{table} has no document with id {id!r}")
        self._mutate(lambda: t.remove(doc_ids=[id]))

    # -- lifecycle ------------------------------------------------------------------------
    @_locked
    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- recovery -------------------------------------------------------------------------
    @staticmethod
    def backup_info(sessions_dir: Path) -> tuple[Path, datetime] | None:
        """``(path, modified)`` of the last good backup, or ``None``."""
        return backup_info(sessions_dir)

    @staticmethod
    def restore_backup(sessions_dir: Path, check: RecordCheck | None = None) -> Path | None:
        """Put ``coach.json.bak`` back as ``coach.json``.

        The current ``coach.json`` (if any) is first copied to ``coach.json.corrupt-<date>``
        (0600), then replaced atomically, so a crash at any point leaves either the old file or
        the restored one. Returns where the old file was kept (``None`` if there was none).
        Refuses (:class:`DatabaseError`) when there is no backup or it does not parse or pass
        ``check``. The
        caller should hold the :class:`~coach_tui.store.writer_lock.WriterLock`.
        """
        sessions_dir = Path(sessions_dir)
        path = sessions_dir / DB_NAME
        with _path_lock(path):
            return Database._restore_backup(sessions_dir, path, check)

    @staticmethod
    def _restore_backup(sessions_dir: Path, path: Path, check: RecordCheck | None) -> Path | None:
        bak = backup_path(sessions_dir)
        try:
            good = bak.read_bytes()
        except FileNotFoundError:
            raise DatabaseError(
                f"there is no backup to restore ({bak} does not exist)"
            ) from None
        try:
            parse(good, bak, check)
        except DatabaseCorrupt as exc:
            raise DatabaseError(
                f"the backup cannot be restored: {exc.problem} ({bak})"
            ) from None
        aside: Path | None = None
        try:
            damaged = path.read_bytes()
        except FileNotFoundError:
            damaged = None
        if damaged is not None:
            stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
            aside = sessions_dir / f"{DB_NAME}.corrupt-{stamp}"
            n = 1
            while aside.exists():
                n += 1
                aside = sessions_dir / f"{DB_NAME}.corrupt-{stamp}-{n}"
            atomic_write(aside, damaged)
        private_dirs(sessions_dir)
        atomic_write(path, good)
        return aside

    # -- internals ------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise DatabaseError(f"{self.path} is closed")

    def _table(self, name: str) -> Table:
        self._check_open()
        if not isinstance(name, str) or not name or name.startswith("_"):
            raise DatabaseError(
                f"invalid table name {name!r} (names starting with _ are reserved)"
            )
        # no query cache: other processes write too
        return self._db.table(name, cache_size=0)

    def _writable(self, name: str) -> Table:
        table = self._table(name)
        if self.read_only:
            raise ReadOnlyDatabase(
                f"{self.path} is open read-only; this command cannot change it"
            )
        return table

    def _mutate(self, action) -> None:
        try:
            action()
        except BaseException:
            self._storage.invalidate()  # the in-memory image may be half-changed
            raise

    @staticmethod
    def _check_id(id: Any) -> str:
        if not isinstance(id, str) or not id:
            raise InvalidDocument(
                f"a document id must be a non-empty string, not {id!r}"
            )
        return id

    @staticmethod
    def _normalise(table: str, doc: Mapping[str, Any]) -> dict:
        """A deep, JSON-exact copy of ``doc`` (tuples become lists, etc.), checked."""
        if not isinstance(doc, Mapping):
            raise InvalidDocument(
                f"a {table} document must be a mapping, not {type(doc).__name__}"
            )
        if "id" not in doc:
            raise InvalidDocument(f'a {table} document needs an "id" field')
        Database._check_id(doc["id"])
        try:
            text = json.dumps(dict(doc), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InvalidDocument(
                f"{table}/{doc['id']} cannot be stored as JSON: {exc}"
            ) from None
        return json.loads(text)

    @staticmethod
    def _sorted(docs: Iterable[Mapping]) -> list[dict]:
        return [copy.deepcopy(dict(d)) for d in sorted(docs, key=lambda d: d["id"])]
