"""Data-loss and lock-out holes found by fault injection (issue 11), each reproduced here first:
a database that is valid JSON but holds a broken record, a complete recording cut short or
bit-flipped, a set whose samples file is gone, a full disk, folder modes and owners."""

from __future__ import annotations

import json
import os
import stat
import subprocess
from pathlib import Path

import pytest
from test_store_commands import FAST, coach, one_line, write_config

from coach_tui.store.recordings import read_recording

pytestmark = pytest.mark.usefixtures("isolated")


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _recorded(capsys, tmp_path) -> tuple[Path, Path, dict]:
    """Client Ana with one 2 s set, listed once (so the backup holds it); (config, data, session)."""
    config = write_config(tmp_path)
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    assert coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "--seconds", "2")[0] == 0
    rc, out, _ = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0
    [session] = json.loads(out)
    return config, tmp_path / "data", session


# --- 1. a valid JSON file with a broken record ---------------------------------------------------
def _no_client_name(db: dict) -> str:
    [client] = db["clients"].values()
    del client["name"]
    return f"client {client['id']!r}"


def _session_started_yesterday(db: dict) -> str:
    [session] = db["sessions"].values()
    session["started"] = "yesterday"
    return f"session {session['id']!r}"


def _set_with_lots_of_reps(db: dict) -> str:
    [record] = db["sets"].values()
    record["reps"] = "lots"
    return f"set {record['id']!r}"


@pytest.mark.parametrize("breakage", [_no_client_name, _session_started_yesterday, _set_with_lots_of_reps])
def test_a_broken_record_never_replaces_the_backup_and_is_named(capsys, tmp_path, breakage):
    config, data, session = _recorded(capsys, tmp_path)
    backup = (data / "coach.json.bak").read_bytes()
    assert json.loads(backup) == json.loads((data / "coach.json").read_bytes())  # the backup is current
    db = json.loads((data / "coach.json").read_text(encoding="utf-8"))
    which = breakage(db)
    broken = json.dumps(db).encode()
    (data / "coach.json").write_bytes(broken)

    for argv in (["clients"], ["sessions", "--json"], ["export", session["id"], "--format", "json", "--out", "out"],
                 ["clients", "add", "Bo"], ["record", "--client", "Ana", "--simulate", "--seconds", "1"], []):
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc == 2 and out == "", argv  # the console too ([]): it does not start, and says why
        line = one_line(err)
        assert which in line and "not valid" in line and "restore-backup" in line, line
        assert "Traceback" not in err
        assert (data / "coach.json").read_bytes() == broken
        assert (data / "coach.json.bak").read_bytes() == backup

    rc, out, err = coach(capsys, "--config", config, "restore-backup")
    assert rc == 0, err
    assert json.loads((data / "coach.json").read_bytes()) == json.loads(backup)
    rc, out, _ = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0 and [s["id"] for s in json.loads(out)] == [session["id"]]


def test_restore_backup_refuses_a_backup_with_a_broken_record(capsys, tmp_path):
    config, data, _ = _recorded(capsys, tmp_path)
    db = json.loads((data / "coach.json.bak").read_text(encoding="utf-8"))
    _no_client_name(db)
    (data / "coach.json.bak").write_text(json.dumps(db), encoding="utf-8")
    (data / "coach.json").write_text("{oops", encoding="utf-8")
    rc, _, err = coach(capsys, "--config", config, "restore-backup")
    assert rc == 2 and "cannot be restored" in one_line(err) and "client" in one_line(err)
    assert (data / "coach.json").read_text(encoding="utf-8") == "{oops"


# --- 2 and 3. a complete recording that lost samples, or its samples file ----------------------
def _set_files(data: Path, session: dict) -> tuple[Path, Path]:
    [folder] = data.glob(f"{session['id']}")
    return folder / "set-01.json", folder / "set-01.raw"


@pytest.mark.parametrize("damage", ["cut short", "last record bit flip", "samples file missing"])
@pytest.mark.parametrize("fmt", ["csv", "edf", "json"])
def test_a_damaged_complete_recording_is_not_exported(capsys, tmp_path, damage, fmt):
    config, data, session = _recorded(capsys, tmp_path)
    _, raw = _set_files(data, session)
    content = bytearray(raw.read_bytes())
    if damage == "cut short":  # an interrupted copy
        raw.write_bytes(content[: len(content) * 2 // 3])
    elif damage == "last record bit flip":
        content[-5] ^= 0x04
        raw.write_bytes(content)
    else:
        raw.unlink()
    out_dir = tmp_path / "out"
    rc, out, err = coach(capsys, "--config", config, "export", session["id"], "--format", fmt, "--out", out_dir)
    assert rc == 2 and out == ""
    line = one_line(err)
    assert "Traceback" not in err and "set-01.raw" in line and "damaged" in line
    assert ("s lost" in line) if damage != "samples file missing" else ("missing" in line)
    assert not out_dir.exists() or not list(out_dir.iterdir())  # nothing half-exported


@pytest.mark.parametrize("damage", ["cut short", "samples file missing"])
def test_sessions_lists_a_visibly_damaged_complete_recording_as_damaged(capsys, tmp_path, damage):
    config, data, session = _recorded(capsys, tmp_path)
    _, raw = _set_files(data, session)
    rc, out, _ = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0 and json.loads(out)[0]["status"] == "complete" and "problems" not in json.loads(out)[0]
    if damage == "cut short":
        raw.write_bytes(raw.read_bytes()[:-100])
    else:
        raw.unlink()
    rc, out, _ = coach(capsys, "--config", config, "sessions", "--json")
    [row] = json.loads(out)
    assert rc == 0 and row["status"] == "damaged" and "set-01.raw" in row["problems"][0]
    rc, out, _ = coach(capsys, "--config", config, "sessions")
    assert rc == 0 and "damaged" in out and "set-01.raw" in out


def test_an_unfinished_recordings_torn_tail_is_still_recovered(capsys, tmp_path):
    config, data, session = _recorded(capsys, tmp_path)
    header_path, raw = _set_files(data, session)
    header = json.loads(header_path.read_text(encoding="utf-8"))
    for key in ("closed", "raw_bytes", "samples", "clipped"):
        header.pop(key)
    header["complete"] = False  # as a crash leaves it
    header_path.write_text(json.dumps(header), encoding="utf-8")
    db = json.loads((data / "coach.json").read_text(encoding="utf-8"))
    [stored_session] = db["sessions"].values()
    stored_session.update(status="recording", ended=None)
    (data / "coach.json").write_text(json.dumps(db), encoding="utf-8")
    with open(raw, "ab") as f:
        f.write(b"CTRR\x00\x00" + bytes(30))  # a torn write
    rc, out, err = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0 and "recovered session" in err
    assert json.loads(out)[0]["status"] == "recovered"
    recording = read_recording(raw.with_suffix(""))
    assert recording.complete and recording.recovered and recording.truncated_bytes == 0


# --- 4. a full disk: reading commands still work -------------------------------------------------
@pytest.fixture
def tiny_disk(tmp_path):
    """A 128 kB tmpfs (needs root and mount; skipped elsewhere)."""
    where = tmp_path / "disk"
    where.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=128k,mode=0700", "tmpfs", str(where)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def _fill(disk: Path, leave: int) -> None:
    """Fill ``disk`` until about ``leave`` bytes are free (0: nothing more can be written)."""
    (disk / "filler").unlink(missing_ok=True)
    free = os.statvfs(disk).f_bavail * os.statvfs(disk).f_frsize
    with open(disk / "filler", "wb", buffering=0) as f:
        f.write(bytes(max(0, free - leave)))
        if not leave:
            try:
                while f.write(bytes(512)):
                    pass
            except OSError:
                pass


def test_reading_commands_work_on_a_full_disk(capsys, tmp_path, tiny_disk):
    config = tmp_path / "cfg" / "config.toml"
    config.parent.mkdir()
    config.write_text(f'sessions_dir = "{tiny_disk / "data"}"\n{FAST}', encoding="utf-8")
    assert coach(capsys, "--config", config, "clients", "add", "Ana")[0] == 0
    assert coach(capsys, "--config", config, "record", "--client", "Ana", "--simulate", "rest", "--seconds", "1")[0] == 0
    assert coach(capsys, "--config", config, "clients", "add", "Bo")[0] == 0  # the backup is now one change behind
    _fill(tiny_disk, leave=4096)  # room for a lock file, not for a backup: what failed before
    rc, out, err = coach(capsys, "--config", config, "sessions", "--json")
    assert rc == 0, err
    [session] = json.loads(out)
    for argv in (["clients", "--json"], ["export", session["id"], "--format", "csv", "--out", tmp_path / "out"],
                 ["report", "Ana"]):
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc == 0 and out, (argv, err)
    _fill(tiny_disk, leave=0)
    rc, _, err = coach(capsys, "--config", config, "clients", "add", "Cy")
    assert rc == 2 and "disk full" in one_line(err)
    rc, out, err = coach(capsys, "--config", config, "clients", "--json")
    assert rc == 0 and [c["name"] for c in json.loads(out)] == ["Ana", "Bo"]


# --- 5. folder modes -------------------------------------------------------------------------------
def test_an_existing_export_folder_keeps_its_mode_and_gets_owner_only_files(capsys, tmp_path):
    config, data, session = _recorded(capsys, tmp_path)
    shared = tmp_path / "shared_tmp"
    shared.mkdir()
    os.chmod(shared, 0o1777)  # like /tmp
    read_only_by_choice = tmp_path / "kept"
    read_only_by_choice.mkdir()
    os.chmod(read_only_by_choice, 0o755)
    old = os.umask(0)
    try:
        for fmt in ("csv", "edf", "json"):
            rc, out, err = coach(capsys, "--config", config, "export", session["id"], "--format", fmt, "--out", shared)
            assert rc == 0, err
            assert all(mode(Path(p)) == 0o600 for p in out.split())
        assert mode(shared) == 0o1777
        rc, out, err = coach(capsys, "--config", config, "export", session["id"], "--format", "json",
                             "--out", read_only_by_choice / "new" / "deeper")
        assert rc == 0, err
        assert mode(read_only_by_choice) == 0o755
        assert mode(read_only_by_choice / "new") == 0o700 and mode(read_only_by_choice / "new" / "deeper") == 0o700
    finally:
        os.umask(old)


@pytest.mark.parametrize("umask", [0o000, 0o022, 0o277])
def test_every_file_is_0600_and_every_folder_it_makes_0700_whatever_the_umask(capsys, tmp_path, umask):
    import numpy as np

    signal = tmp_path / "signal.csv"
    np.savetxt(signal, np.random.default_rng(1).normal(0, 50, (4000, 2)), delimiter=",",
               header="biceps L,biceps R", comments="")
    old = os.umask(umask)
    try:
        config, data, session = _recorded(capsys, tmp_path)
        envelope = tmp_path / "env.csv"
        rc, _, err = coach(capsys, "analyze", signal, "--fs", "1000", "--envelope-out", envelope)
        assert rc == 0, err
        report = tmp_path / "ana.md"
        assert coach(capsys, "--config", config, "report", "Ana", "--out", report)[0] == 0
    finally:
        os.umask(old)
    assert mode(envelope) == 0o600 and mode(report) == 0o600
    for path in data.rglob("*"):
        assert mode(path) == (0o700 if path.is_dir() else 0o600), path
    assert mode(data) == 0o700


def test_a_sessions_folder_others_can_open_is_refused_with_the_fix(capsys, tmp_path):
    config, data, _ = _recorded(capsys, tmp_path)
    os.chmod(data, 0o755)
    for argv in (["clients"], ["clients", "add", "Bo"], ["sessions"]):
        rc, out, err = coach(capsys, "--config", config, *argv)
        assert rc == 2 and out == ""
        assert f"chmod 700 {data}" in one_line(err) and "other users" in one_line(err)
    assert mode(data) == 0o755  # told, not changed
    os.chmod(data, 0o700)
    assert coach(capsys, "--config", config, "clients")[0] == 0


# --- 6. a database that another user owns ----------------------------------------------------------
NOBODY = 65534
needs_root = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to chown")


@needs_root
def test_root_is_told_not_to_write_into_a_trainers_folder(capsys, tmp_path):
    config, data, _ = _recorded(capsys, tmp_path)
    os.chown(data, NOBODY, NOBODY)
    rc, _, err = coach(capsys, "--config", config, "clients", "add", "Bo")
    assert rc == 2 and "running as root" in one_line(err) and "without sudo" in one_line(err)


@needs_root
def test_a_database_left_by_sudo_is_named_with_the_fix(capsys):
    import shutil
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="coach-trainer-"))  # not under pytest's root-only folders
    try:
        os.chmod(base, 0o755)
        config, data, _ = _recorded(capsys, base)
        for path in [data, *data.rglob("*")]:
            os.chown(path, NOBODY, NOBODY)  # the trainer's folder …
        os.chown(data / "coach.json", 0, 0)  # … after a `sudo coach clients add …`
        os.chown(data / "coach.json.bak", 0, 0)
        os.setegid(NOBODY)
        os.seteuid(NOBODY)  # the trainer runs coach again
        try:
            rc, _, err = coach(capsys, "--config", config, "clients")
        finally:
            os.seteuid(0)
            os.setegid(0)
    finally:
        shutil.rmtree(base)
    assert rc == 2, err
    line = one_line(err)
    assert f"{data / 'coach.json'} belongs to root" in line and f"sudo chown -R nobody: {data}" in line, line
    assert "Permission denied" not in line
