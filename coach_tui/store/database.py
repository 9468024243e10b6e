"""The client database: ``<sessions>/coach.json``, TinyDB over an atomic, owner-only JSON file.

Layout on disk (TinyDB's, with document ids that are the documents' own ``"id"`` strings)::

    {
     "_meta": {"schema": {"id": "schema", "schema_version": 1}},
     "clients": {"c-7f3a": {"id": "c-7f3a", "name": "…"}},
     …
    }

Rules
-----
* Every mutating call is exactly one atomic write (temporary file, flush, fsync, rename,
  directory fsync — :func:`~coach_tui.store.private_files.atomic_write`), files 0600, the
  sessions directory 0700. No write cache: when a call returns, its change is on disk.
* A file that does not parse or does not have the shape above is **never overwritten**:
  :class:`DatabaseCorrupt` says what is wrong and how to recover (fix by hand, or restore the
  backup with :meth:`Database.restore_backup`).
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
from tinydb.storages import Storage
from tinydb.table import Document, Table

from coach_tui.store.private_files import atomic_write, private_dir

SCHEMA_VERSION = 1
DB_NAME = "coach.json"
BACKUP_SUFFIX = ".bak"
META_TABLE = "_meta"
META_ID = "schema"

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


# -- errors ---------------------------------------------------------------------------------
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


# -- helpers --------------------------------------------------------------------------------
def _backup_path(sessions_dir: Path) -> Path:
    return Path(sessions_dir) / (DB_NAME + BACKUP_SUFFIX)


def backup_info(sessions_dir: Path) -> tuple[Path, datetime] | None:
    """``(path, modified)`` of ``coach.json.bak`` in ``sessions_dir``, or ``None``."""
    bak = _backup_path(sessions_dir)
    try:
        st = os.stat(bak)
    except OSError:
        return None
    return bak, datetime.fromtimestamp(st.st_mtime)


def _serialise(data: Any) -> bytes:
    return (
        json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False, allow_nan=False)
        + "\n"
    ).encode("utf-8")


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _Duplicate(key)
        out[key] = value
    return out


class _Duplicate(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _parse(raw: bytes, path: Path) -> dict:
    """Parse and check a ``coach.json`` image; raise :class:`DatabaseCorrupt` / :class:`SchemaTooNew`."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatabaseCorrupt(
            path,
            f"it is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start})",
        ) from None
    if not text.strip():
        raise DatabaseCorrupt(path, "it is empty")
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except _Duplicate as exc:
        raise DatabaseCorrupt(
            path, f"the key {exc.key!r} appears twice in one object"
        ) from None
    except json.JSONDecodeError as exc:
        raise DatabaseCorrupt(
            path, f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise DatabaseCorrupt(path, f"invalid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DatabaseCorrupt(
            path, f"the top level is a JSON {_kind(data)}, not an object of tables"
        )
    for name, table in data.items():
        if not isinstance(table, dict):
            raise DatabaseCorrupt(
                path,
                f"table {name!r} is a JSON {_kind(table)}, not an object of documents",
            )
        for key, doc in table.items():
            where = f"table {name!r}, document {key!r}"
            if not isinstance(doc, dict):
                raise DatabaseCorrupt(
                    path, f"{where} is a JSON {_kind(doc)}, not an object"
                )
            if "id" not in doc:
                raise DatabaseCorrupt(path, f'{where} has no "id" field')
            if doc["id"] != key:
                raise DatabaseCorrupt(
                    path,
                    f'{where} has "id": {json.dumps(doc["id"])}, which does not match its key',
                )
    _check_schema(data, path)
    return data


def _check_schema(data: dict, path: Path) -> None:
    meta = data.get(META_TABLE)
    if meta is None:
        return  # hand-made or pre-versioning file: version 1, written on the next write
    doc = meta.get(META_ID)
    version = None if doc is None else doc.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise DatabaseCorrupt(
            path,
            f"table {META_TABLE!r} has no valid schema_version "
            f"(expected a document {META_ID!r} with a positive integer)",
        )
    if version > SCHEMA_VERSION:
        raise SchemaTooNew(
            f"{path} was made by a newer coach-tui (schema {version}; this one understands "
            f"up to {SCHEMA_VERSION}): upgrade coach-tui to use it. The file was not changed."
        )


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return type(value).__name__


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


def _stat_key(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _remove_stale_temporaries(sessions_dir: Path) -> None:
    """Delete ``.coach.json*.<pid>.tmp`` left by writers that were killed mid-write."""
    try:
        names = os.listdir(sessions_dir)
    except OSError:
        return
    for name in names:
        if not (name.startswith("." + DB_NAME) and name.endswith(".tmp")):
            continue
        try:
            pid = int(name[: -len(".tmp")].rsplit(".", 1)[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and _pid_alive(pid):
            continue
        try:
            os.unlink(Path(sessions_dir) / name)
        except OSError:
            pass


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- TinyDB storage -------------------------------------------------------------------------
class AtomicJSONStorage(Storage):
    """TinyDB storage: parse-and-check on read, atomic owner-only replace on write.

    Reads re-parse the file only when it changed on disk (device, inode, size, mtime, ctime),
    so other processes' writes are seen and our own need no re-parse. A writer (not
    ``read_only``) copies every good file it loads to ``coach.json.bak``.
    """

    def __init__(self, path: Path, *, read_only: bool = False):
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        self._data: dict | None = None
        self._key: tuple | None = None
        self._seen_file = False

    def invalidate(self) -> None:
        """Forget the parsed image; the next read goes to disk."""
        self._data = None
        self._key = None

    def read(self) -> dict | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            self.invalidate()
            if self._seen_file or _backup_path(self.path.parent).exists():
                raise DatabaseMissing(self.path) from None
            return None
        with os.fdopen(fd, "rb") as handle:
            key = _stat_key(os.fstat(handle.fileno()))
            if self._data is not None and key == self._key:
                return self._data
            raw = handle.read()
        self.invalidate()
        data = _parse(raw, self.path)
        self._seen_file = True
        if not self.read_only:
            self._backup(raw)
        self._data, self._key = data, key
        return data

    def write(self, data: dict) -> None:
        if self.read_only:
            raise ReadOnlyDatabase(f"{self.path} is open read-only")
        self.invalidate()  # whatever happens below, the next read goes to disk
        data[META_TABLE] = {META_ID: {"id": META_ID, "schema_version": SCHEMA_VERSION}}
        try:
            blob = _serialise(data)
        except (TypeError, ValueError) as exc:
            raise InvalidDocument(
                f"cannot store that in {self.path.name}: {exc}"
            ) from None
        private_dir(self.path.parent)
        atomic_write(self.path, blob)
        self._seen_file = True
        try:
            self._key = _stat_key(os.stat(self.path))
            self._data = data
        except OSError:
            self.invalidate()

    def _backup(self, raw: bytes) -> None:
        bak = _backup_path(self.path.parent)
        try:
            if bak.read_bytes() == raw:
                return
        except OSError:
            pass
        atomic_write(bak, raw)


class _IdTable(Table):
    """A table keyed by the documents' own string ids; never invents ids."""

    document_id_class = str

    def _get_next_id(self):  # pragma: no cover - every insert passes an explicit id
        raise InvalidDocument('documents need an explicit "id"')


class _TinyDB(TinyDB):
    table_class = _IdTable


# -- public API -----------------------------------------------------------------------------
class Database:
    """Named tables of JSON documents keyed by their ``"id"`` string, in ``<sessions>/coach.json``.

    Raises :class:`DatabaseCorrupt` (file left untouched) or :class:`SchemaTooNew` on open.
    Documents go in and come out as plain ``dict`` copies; ``all``/``find`` return them in
    id order. Table names starting with ``_`` are reserved.
    """

    def __init__(self, sessions_dir: Path, *, read_only: bool = False):
        self.sessions_dir = Path(sessions_dir)
        self.path = self.sessions_dir / DB_NAME
        self.backup_path = _backup_path(self.sessions_dir)
        self.read_only = read_only
        self._closed = False
        self._lock = _path_lock(self.path)
        with self._lock:
            self._open()

    def _open(self) -> None:
        read_only = self.read_only
        if not read_only:
            _remove_stale_temporaries(self.sessions_dir)
        self._storage_holder: list[AtomicJSONStorage] = []

        def make_storage(*_args, **_kwargs) -> AtomicJSONStorage:
            storage = AtomicJSONStorage(self.path, read_only=read_only)
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
    def restore_backup(sessions_dir: Path) -> Path | None:
        """Put ``coach.json.bak`` back as ``coach.json``.

        The current ``coach.json`` (if any) is first copied to ``coach.json.corrupt-<date>``
        (0600), then replaced atomically, so a crash at any point leaves either the old file or
        the restored one. Returns where the old file was kept (``None`` if there was none).
        Refuses (:class:`DatabaseError`) when there is no backup or it does not parse. The
        caller should hold the :class:`~coach_tui.store.writer_lock.WriterLock`.
        """
        sessions_dir = Path(sessions_dir)
        path = sessions_dir / DB_NAME
        with _path_lock(path):
            return Database._restore_backup(sessions_dir, path)

    @staticmethod
    def _restore_backup(sessions_dir: Path, path: Path) -> Path | None:
        bak = _backup_path(sessions_dir)
        try:
            good = bak.read_bytes()
        except FileNotFoundError:
            raise DatabaseError(
                f"there is no backup to restore ({bak} does not exist)"
            ) from None
        try:
            _parse(good, bak)
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
        private_dir(sessions_dir)
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
