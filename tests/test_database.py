"""Database: atomic owner-only JSON, schema version, never overwriting a damaged file, backups,
and surviving kill -9 at any moment."""

from __future__ import annotations

import json
import os
import random
import signal
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from coach_tui.store import database_file as database_module
from coach_tui.store.database import (
    SCHEMA_VERSION,
    Database,
    DatabaseCorrupt,
    DatabaseError,
    DatabaseMissing,
    DocumentNotFound,
    DuplicateId,
    InvalidDocument,
    ReadOnlyDatabase,
    SchemaTooNew,
    backup_info,
)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def on_disk(sessions: Path) -> dict:
    """coach.json parsed strictly, after checking it is owner-only in an owner-only dir."""
    path = sessions / "coach.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(sessions.stat().st_mode) == 0o700
    return json.loads(
        path.read_text("utf-8"), parse_constant=lambda c: pytest.fail(f"non-JSON {c}")
    )


@pytest.fixture
def sessions(tmp_path) -> Path:
    return tmp_path / "sessions"


@pytest.fixture
def db(sessions):
    with Database(sessions) as database:
        yield database


# --- CRUD ----------------------------------------------------------------------------------------


def test_crud_round_trip_and_file_after_every_call(db, sessions):
    assert db.all("clients") == []
    assert not sessions.exists()  # nothing written yet

    assert (
        db.insert("clients", {"id": "c1", "name": "Åsa", "tags": ("glute", "left")})
        == "c1"
    )
    assert on_disk(sessions)["clients"]["c1"] == {
        "id": "c1",
        "name": "Åsa",
        "tags": ["glute", "left"],
    }
    assert on_disk(sessions)["_meta"]["schema"]["schema_version"] == SCHEMA_VERSION
    assert "Åsa" in (sessions / "coach.json").read_text("utf-8")  # ensure_ascii=False

    db.insert("clients", {"id": "c2", "name": "Bo", "level": 2})
    db.insert("sessions", {"id": "s1", "client": "c1", "sets": [{"reps": 8}]})
    assert on_disk(sessions)["sessions"]["s1"]["sets"] == [{"reps": 8}]

    assert db.get("clients", "c1") == {
        "id": "c1",
        "name": "Åsa",
        "tags": ["glute", "left"],
    }
    assert db.get("clients", "nope") is None
    assert db.get("nothing-yet", "c1") is None
    assert [d["id"] for d in db.all("clients")] == ["c1", "c2"]
    assert db.find("clients", name="Bo") == [{"id": "c2", "name": "Bo", "level": 2}]
    assert db.find("sessions", client="c1")[0]["id"] == "s1"
    assert db.find("clients", name="Bo", level=3) == []
    assert db.tables() == ["clients", "sessions"]

    assert db.update("clients", "c2", level=3, note="knee") == {
        "id": "c2",
        "name": "Bo",
        "level": 3,
        "note": "knee",
    }
    assert on_disk(sessions)["clients"]["c2"]["note"] == "knee"

    db.upsert("clients", {"id": "c2", "name": "Bo B"})  # replaces the whole document
    assert db.get("clients", "c2") == {"id": "c2", "name": "Bo B"}
    assert on_disk(sessions)["clients"]["c2"] == {"id": "c2", "name": "Bo B"}
    db.upsert("clients", {"id": "c3", "name": "Cy"})  # inserts
    assert on_disk(sessions)["clients"]["c3"] == {"id": "c3", "name": "Cy"}

    db.remove("clients", "c1")
    assert "c1" not in on_disk(sessions)["clients"]
    assert db.get("clients", "c1") is None

    # a new process sees the same thing
    with Database(sessions, read_only=True) as again:
        assert again.all("clients") == db.all("clients")
        assert again.get("sessions", "s1") == {
            "id": "s1",
            "client": "c1",
            "sets": [{"reps": 8}],
        }


def test_file_format_is_sorted_indented_json(db, sessions):
    db.insert("b", {"id": "2", "z": 1, "a": 2})
    db.insert("a", {"id": "1"})
    raw = (sessions / "coach.json").read_bytes()
    data = json.loads(raw)
    assert (
        raw.decode()
        == json.dumps(data, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
    )


def test_returned_documents_are_copies(db):
    db.insert("clients", {"id": "c1", "sets": [1, 2]})
    got = db.get("clients", "c1")
    got["sets"].append(3)
    db.all("clients")[0]["sets"].append(4)
    assert db.get("clients", "c1") == {"id": "c1", "sets": [1, 2]}
    doc = {"id": "c2", "sets": [1]}
    db.insert("clients", doc)
    doc["sets"].append(2)
    assert db.get("clients", "c2") == {"id": "c2", "sets": [1]}


def test_errors_are_clear_and_write_nothing(db, sessions):
    db.insert("clients", {"id": "c1", "name": "Ann"})
    before = (sessions / "coach.json").read_bytes()
    with pytest.raises(DuplicateId, match="c1"):
        db.insert("clients", {"id": "c1", "name": "other"})
    with pytest.raises(InvalidDocument, match="id"):
        db.insert("clients", {"name": "no id"})
    with pytest.raises(InvalidDocument):
        db.insert("clients", {"id": 5})
    with pytest.raises(InvalidDocument, match="JSON"):
        db.insert("clients", {"id": "c9", "when": datetime.now()})
    with pytest.raises(InvalidDocument, match="JSON"):
        db.insert("clients", {"id": "c9", "rms": float("nan")})
    with pytest.raises(InvalidDocument, match="JSON"):
        db.update("clients", "c1", rms=float("inf"))
    with pytest.raises(InvalidDocument, match="id"):
        db.update("clients", "c1", id="c2")
    assert db.update(
        "clients", "c1", id="c1", table="fields may be named like parameters"
    )
    assert (
        db.find("clients", table="fields may be named like parameters")[0]["id"] == "c1"
    )
    db.update("clients", "c1", table=None)
    before = (sessions / "coach.json").read_bytes()
    with pytest.raises(DocumentNotFound, match="c404"):
        db.update("clients", "c404", name="x")
    with pytest.raises(DocumentNotFound, match="c404"):
        db.remove("clients", "c404")
    with pytest.raises(DatabaseError, match="reserved"):
        db.insert("_meta", {"id": "schema", "schema_version": 99})
    assert (sessions / "coach.json").read_bytes() == before
    assert db.get("clients", "c1") == {"id": "c1", "name": "Ann", "table": None}


def test_every_mutation_is_exactly_one_atomic_write(db, sessions, monkeypatch):
    writes: list[Path] = []
    real = database_module.atomic_write

    def counting(path, data):
        writes.append(Path(path).name)
        real(path, data)

    monkeypatch.setattr(database_module, "atomic_write", counting)
    calls = [
        lambda: db.insert("t", {"id": "a", "v": 1}),
        lambda: db.insert("t", {"id": "b", "v": 1}),
        lambda: db.upsert("t", {"id": "a", "v": 2}),
        lambda: db.upsert("t", {"id": "c", "v": 3}),
        lambda: db.update("t", "b", v=5),
        lambda: db.remove("t", "c"),
    ]
    for call in calls:
        writes.clear()
        call()
        assert writes == ["coach.json"]
    writes.clear()
    db.get("t", "a"), db.all("t"), db.find("t", v=5)
    assert writes == []


def test_closed_database_refuses(sessions):
    db = Database(sessions)
    db.close()
    with pytest.raises(DatabaseError, match="closed"):
        db.all("t")


# --- schema ------------------------------------------------------------------------------------


def test_newer_schema_is_refused_and_left_alone(sessions):
    sessions.mkdir()
    path = sessions / "coach.json"
    path.write_text(
        json.dumps(
            {
                "_meta": {
                    "schema": {"id": "schema", "schema_version": SCHEMA_VERSION + 1}
                },
                "clients": {},
            }
        )
    )
    before = path.read_bytes()
    for read_only in (False, True):
        with pytest.raises(
            SchemaTooNew,
            match=f"newer coach-tui \\(schema {SCHEMA_VERSION + 1}.*upgrade",
        ):
            Database(sessions, read_only=read_only)
    assert isinstance(SchemaTooNew("x"), DatabaseError)
    assert path.read_bytes() == before
    assert not (sessions / "coach.json.bak").exists()


def test_missing_schema_is_written_on_first_write(sessions):
    sessions.mkdir(mode=0o700)  # a folder made by hand keeps its mode (see test_private_files.py)
    (sessions / "coach.json").write_text('{"clients": {"c1": {"id": "c1"}}}')
    with Database(sessions) as db:
        assert db.get("clients", "c1") == {"id": "c1"}
        db.insert("clients", {"id": "c2"})
    data = on_disk(sessions)
    assert data["_meta"] == {
        "schema": {"id": "schema", "schema_version": SCHEMA_VERSION}
    }
    assert set(data["clients"]) == {"c1", "c2"}


# --- read-only -----------------------------------------------------------------------------------


def test_read_only_on_missing_dir_creates_nothing(tmp_path):
    sessions = tmp_path / "nope" / "sessions"
    with Database(sessions, read_only=True) as db:
        assert db.all("clients") == []
        assert db.get("clients", "c1") is None
        assert db.find("clients", name="x") == []
        assert db.tables() == []
        with pytest.raises(ReadOnlyDatabase, match="read-only"):
            db.insert("clients", {"id": "c1"})
    assert not (tmp_path / "nope").exists()


def test_read_only_writes_nothing_and_sees_other_writers(sessions):
    with Database(sessions) as writer:
        writer.insert("clients", {"id": "c1"})
    before = sorted(os.listdir(sessions))
    with Database(sessions, read_only=True) as reader, Database(sessions) as writer:
        assert [d["id"] for d in reader.all("clients")] == ["c1"]
        writer.insert("clients", {"id": "c2"})
        assert [d["id"] for d in reader.all("clients")] == ["c1", "c2"]
        assert reader.find("clients", id="c2") == [{"id": "c2"}]
        for mutate in (
            lambda: reader.upsert("clients", {"id": "c3"}),
            lambda: reader.update("clients", "c1", x=1),
            lambda: reader.remove("clients", "c1"),
        ):
            with pytest.raises(ReadOnlyDatabase):
                mutate()
    assert sorted(os.listdir(sessions)) == sorted(set(before) | {"coach.json.bak"})


# --- damaged files -------------------------------------------------------------------------------

GOOD = {
    "_meta": {"schema": {"id": "schema", "schema_version": 1}},
    "clients": {"c1": {"id": "c1", "name": "Ann"}},
}

CORRUPT = {
    "truncated JSON": (
        json.dumps(GOOD, indent=1)[:-20].encode(),
        "invalid JSON at line",
    ),
    "garbage bytes": (b"\x89PNG\r\n\x1a\n\x00\xff\xfe garbage", "not UTF-8"),
    "NUL-filled": (b"\x00" * 64, "invalid JSON at line 1, column 1"),
    "empty": (b"", "empty"),
    "top-level list": (b'[{"id": "c1"}]', "top level is a JSON list"),
    "table not an object": (
        b'{"clients": [{"id": "c1"}]}',
        "table 'clients' is a JSON list",
    ),
    "document not an object": (
        b'{"clients": {"c1": "Ann"}}',
        "table 'clients', document 'c1' is a JSON string",
    ),
    "document without id": (
        b'{"clients": {"c1": {"name": "Ann"}}}',
        "table 'clients', document 'c1' has no \"id\"",
    ),
    "id not matching key": (
        b'{"clients": {"c1": {"id": "c2"}}}',
        "does not match its key",
    ),
    "duplicate key": (
        b'{"clients": {"c1": {"id": "c1"}, "c1": {"id": "c1"}}}',
        "'c1' appears twice",
    ),
    "bad schema": (
        b'{"_meta": {"schema": {"id": "schema", "schema_version": "1"}}}',
        "schema_version",
    ),
}


def make_good_with_backup(sessions: Path) -> None:
    with Database(sessions) as db:
        db.insert("clients", {"id": "c1", "name": "Ann"})
    Database(sessions).close()  # a good load refreshes the backup
    assert (sessions / "coach.json.bak").exists()


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_file_is_refused_never_overwritten_and_names_backup(sessions, case):
    make_good_with_backup(sessions)
    content, expected = CORRUPT[case]
    path = sessions / "coach.json"
    path.write_bytes(content)
    backup_before = (sessions / "coach.json.bak").read_bytes()
    for read_only in (False, True, False):
        with pytest.raises(DatabaseCorrupt) as info:
            Database(sessions, read_only=read_only)
        message = str(info.value)
        assert expected in message
        assert str(path) in message and "left untouched" in message
        assert "fix the file by hand" in message
        assert str(sessions / "coach.json.bak") in message
        assert f"saved {datetime.now():%Y-%m-%d}" in message
        assert info.value.backup[0] == sessions / "coach.json.bak"
    assert path.read_bytes() == content
    assert (sessions / "coach.json.bak").read_bytes() == backup_before


def test_file_damaged_while_open_is_not_overwritten(sessions):
    with Database(sessions) as db:
        db.insert("clients", {"id": "c1"})
        path = sessions / "coach.json"
        # a hand edit in another window
        path.write_bytes(b'{"clients": {"c1": {"id": "c1"}, ')
        for call in (
            lambda: db.insert("clients", {"id": "c2"}),
            lambda: db.all("clients"),
        ):
            with pytest.raises(DatabaseCorrupt, match="invalid JSON"):
                call()
        assert path.read_bytes() == b'{"clients": {"c1": {"id": "c1"}, '
        # fixed by hand: picked up again
        path.write_text('{"clients": {"c1": {"id": "c1", "fixed": true}}}')
        assert db.get("clients", "c1") == {"id": "c1", "fixed": True}
        db.insert("clients", {"id": "c2"})
    assert set(on_disk(sessions)["clients"]) == {"c1", "c2"}


def test_corrupt_without_backup_says_so(sessions):
    sessions.mkdir()
    (sessions / "coach.json").write_text("{oops")
    with pytest.raises(
        DatabaseCorrupt, match="by hand \\(there is no backup to restore yet\\)"
    ) as info:
        Database(sessions)
    assert info.value.backup is None


# --- backups -------------------------------------------------------------------------------------


def test_backup_is_a_good_file_written_on_load(sessions):
    with Database(sessions) as db:
        assert backup_info(sessions) is None  # nothing to back up yet
        db.insert("clients", {"id": "c1"})
        assert backup_info(sessions) is None
    with Database(sessions) as db:  # loads a good file → backs it up before writing
        bak, saved = Database.backup_info(sessions)
        assert bak == sessions / "coach.json.bak"
        assert abs((datetime.now() - saved).total_seconds()) < 60
        assert stat.S_IMODE(bak.stat().st_mode) == 0o600
        assert json.loads(bak.read_text())["clients"] == {"c1": {"id": "c1"}}
        db.insert("clients", {"id": "c2"})
        # not refreshed per write
        assert json.loads(bak.read_text())["clients"] == {"c1": {"id": "c1"}}
    with Database(sessions, read_only=True):
        # read-only: no backup
        assert set(json.loads(bak.read_text())["clients"]) == {"c1"}
    Database(sessions).close()
    assert set(json.loads(bak.read_text())["clients"]) == {"c1", "c2"}


def test_restore_backup_moves_the_damaged_file_aside(sessions):
    make_good_with_backup(sessions)
    path = sessions / "coach.json"
    path.write_bytes(b"[broken")
    with pytest.raises(DatabaseCorrupt):
        Database(sessions)
    aside = Database.restore_backup(sessions)
    assert aside is not None and aside.name.startswith("coach.json.corrupt-")
    assert aside.read_bytes() == b"[broken"
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    with Database(sessions) as db:
        assert db.get("clients", "c1") == {"id": "c1", "name": "Ann"}
        db.insert("clients", {"id": "c2"})
    # a second restore keeps both damaged copies
    path.write_bytes(b"[broken again")
    aside2 = Database.restore_backup(sessions)
    assert (
        aside2 != aside and aside.exists() and aside2.read_bytes() == b"[broken again"
    )


def test_restore_backup_refuses_without_a_good_backup(sessions):
    sessions.mkdir()
    (sessions / "coach.json").write_text("{oops")
    with pytest.raises(DatabaseError, match="no backup"):
        Database.restore_backup(sessions)
    (sessions / "coach.json.bak").write_text("[]")
    with pytest.raises(DatabaseError, match="backup cannot be restored"):
        Database.restore_backup(sessions)
    assert (sessions / "coach.json").read_text() == "{oops"


def test_stale_temporary_files_of_dead_writers_are_cleaned(sessions):
    make_good_with_backup(sessions)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = sessions / f".coach.json.{dead.pid}.tmp"
    stale.write_text("{half")
    alive = sessions / f".coach.json.{os.getppid()}.tmp"
    alive.write_text("{someone else's}")
    with Database(sessions, read_only=True):
        assert stale.exists()
    Database(sessions).close()
    assert not stale.exists() and alive.exists()


# --- kill -9 -------------------------------------------------------------------------------------


@pytest.mark.serial
def test_kill9_at_random_moments_never_loses_or_tears_a_commit(sessions):
    rng = random.Random(1234)
    env = dict(
        os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    )
    committed: set[str] = set()
    next_n = 0
    extras = 0
    rounds = 10
    started = time.monotonic()
    for round_ in range(rounds):
        delay = 0.05 + 0.45 * round_ / (rounds - 1) + rng.uniform(-0.03, 0.03)
        child = subprocess.Popen(
            [sys.executable, str(HERE / "db_killer.py"), str(sessions), str(next_n)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        time.sleep(max(0.05, delay))
        child.send_signal(signal.SIGKILL)
        out, err = child.communicate(timeout=10)
        assert child.returncode == -signal.SIGKILL, err.decode()
        lines = out.decode().split("\n")[:-1]  # only complete lines
        reported = [line for line in lines if line != "ready"]
        committed.update(reported)

        path = sessions / "coach.json"
        if not path.exists():
            assert not reported
            continue
        with Database(sessions, read_only=True) as db:  # parses, schema ok
            ids = {d["id"] for d in db.all("records")}
            for doc in db.all("records"):
                n = int(doc["id"][1:])
                assert doc == {
                    "id": doc["id"],
                    "n": n,
                    "payload": "ü" * 40,
                    "nested": {"k": [n, n]},
                }
        data = on_disk(sessions)
        assert data["_meta"]["schema"]["schema_version"] == SCHEMA_VERSION
        assert committed <= ids, f"lost {sorted(committed - ids)[:5]}"
        extra = ids - committed
        assert len(extra) <= 1, f"unreported records {sorted(extra)}"
        if extra:  # the one written but killed before it printed: the next after the last report
            (only,) = extra
            assert int(only[1:]) == next_n + len(reported)
            committed.add(only)
            extras += 1
        next_n = len(ids)
        assert ids == {f"r{i:07d}" for i in range(next_n)}
        bak = sessions / "coach.json.bak"
        if bak.exists():
            json.loads(bak.read_text("utf-8"))
    print(
        f"kill test: {len(committed)} records over {rounds} kills, {extras} written-but-unreported"
    )
    assert len(committed) > 0
    assert time.monotonic() - started < 20
    # a writer opening afterwards cleans the dead writers' temporary files
    Database(sessions).close()
    assert not [n for n in os.listdir(sessions) if n.endswith(".tmp")]


def test_missing_file_with_a_backup_is_not_silently_replaced(sessions):
    make_good_with_backup(sessions)
    (sessions / "coach.json").unlink()
    for read_only in (True, False):
        with pytest.raises(
            DatabaseMissing, match="is missing, but the backup .*coach.json.bak"
        ) as info:
            Database(sessions, read_only=read_only)
        assert isinstance(info.value, DatabaseCorrupt)
    assert not (sessions / "coach.json").exists()
    assert Database.restore_backup(sessions) is None  # nothing to keep aside
    with Database(sessions) as db:
        assert db.get("clients", "c1") == {"id": "c1", "name": "Ann"}


def test_file_vanishing_while_open_is_not_recreated_empty(sessions):
    with Database(sessions) as db:
        db.insert("clients", {"id": "c1"})
        (sessions / "coach.json").unlink()
        with pytest.raises(DatabaseMissing, match="disappeared"):
            db.insert("clients", {"id": "c2"})
        assert not (sessions / "coach.json").exists()


def test_threads_in_one_process_do_not_lose_writes(sessions):
    import threading

    first = Database(sessions)
    second = Database(sessions)  # e.g. a worker thread with its own handle

    def work(db, prefix):
        for i in range(25):
            db.insert("records", {"id": f"{prefix}{i:02d}"})

    threads = [
        threading.Thread(target=work, args=(db, p))
        for db, p in ((first, "a"), (first, "b"), (second, "c"), (second, "d"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(on_disk(sessions)["records"]) == 100
    assert len(first.all("records")) == len(second.all("records")) == 100
