"""The client database's file, ``<sessions>/coach.json``: parsed and checked on every read that
finds it changed, replaced atomically on every write, and backed up when it reads correctly.

Layout on disk (TinyDB's, with document ids that are the documents' own ``"id"`` strings)::

    {
     "_meta": {"schema": {"id": "schema", "schema_version": 1}},
     "clients": {"c-7f3a": {"id": "c-7f3a", "name": "…"}},
     …
    }

A file is good when it is UTF-8 JSON of that shape, its schema version is one this coach-tui
reads, and every record of the tables it knows (clients, sessions, sets, …) is one the domain
accepts (the ``check`` the database was opened with: the app's is
:func:`~coach_tui.store.record_check.check_records`). Only a good file is copied to
``coach.json.bak``, so the backup is always one that loads.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from collections.abc import Callable
from typing import Any

from tinydb.storages import Storage

from coach_tui.store.database_errors import (
    DB_NAME,
    DatabaseCorrupt,
    DatabaseMissing,
    InvalidDocument,
    ReadOnlyDatabase,
    SchemaTooNew,
    backup_path,
)
from coach_tui.store.private_files import atomic_write, private_dirs

SCHEMA_VERSION = 1
META_TABLE = "_meta"
META_ID = "schema"


def serialise(data: Any) -> bytes:
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


#: A check of the records in a parsed image: None when they are good, else what is wrong.
RecordCheck = Callable[[dict], "str | None"]


def parse(raw: bytes, path: Path, check: RecordCheck | None = None) -> dict:
    """Parse and check a ``coach.json`` image (its shape, its schema version, then its records with
    ``check``); raise :class:`DatabaseCorrupt` / :class:`SchemaTooNew`."""
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
    problem = None if check is None else check(data)
    if problem is not None:
        raise DatabaseCorrupt(path, problem)
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


def _stat_key(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def remove_stale_temporaries(sessions_dir: Path) -> None:
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


class AtomicJSONStorage(Storage):
    """TinyDB storage: parse-and-check on read, atomic owner-only replace on write.

    Reads re-parse the file only when it changed on disk (device, inode, size, mtime, ctime),
    so other processes' writes are seen and our own need no re-parse. A writer (not
    ``read_only``) copies every good file it loads to ``coach.json.bak``.
    """

    def __init__(self, path: Path, *, read_only: bool = False, check: RecordCheck | None = None):
        super().__init__()
        self.path = Path(path)
        self.read_only = read_only
        self.check = check
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
            if self._seen_file or backup_path(self.path.parent).exists():
                raise DatabaseMissing(self.path) from None
            return None
        with os.fdopen(fd, "rb") as handle:
            key = _stat_key(os.fstat(handle.fileno()))
            if self._data is not None and key == self._key:
                return self._data
            raw = handle.read()
        self.invalidate()
        data = parse(raw, self.path, self.check)
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
            blob = serialise(data)
        except (TypeError, ValueError) as exc:
            raise InvalidDocument(
                f"cannot store that in {self.path.name}: {exc}"
            ) from None
        private_dirs(self.path.parent)
        atomic_write(self.path, blob)
        self._seen_file = True
        try:
            self._key = _stat_key(os.stat(self.path))
            self._data = data
        except OSError:
            self.invalidate()

    def _backup(self, raw: bytes) -> None:
        backup(self.path, raw)


def backup(path: Path, raw: bytes) -> None:
    """Make ``raw`` (a good image of ``path``) the backup, unless it already is."""
    bak = backup_path(path.parent)
    try:
        if bak.read_bytes() == raw:
            return
    except OSError:
        pass
    atomic_write(bak, raw)


def refresh_backup(path: Path, check: RecordCheck | None = None) -> bool:
    """Back up ``path`` if it reads correctly, for a reader that holds no lock and must not fail
    on a full disk or a read-only folder: False when it could not (nothing raised). The file is
    only ever replaced atomically, so what is read is a whole good image, if maybe not the newest
    a writer is about to make."""
    try:
        raw = path.read_bytes()
        parse(raw, path, check)
        backup(path, raw)
    except (DatabaseCorrupt, SchemaTooNew, OSError):
        return False
    return True
