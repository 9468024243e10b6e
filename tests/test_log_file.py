"""The log file a bug report attaches: where it is, what goes in, owner-only, size-capped, and
what the trainer sees when something unexpected happens."""

from __future__ import annotations

import json
import logging
import stat

import pytest

import coach_tui.commands.sessions as sessions_command
from coach_tui.cli import main
from coach_tui.store.log_file import BACKUPS, MAX_BYTES, start_logging

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture(autouse=True)
def detach_log_file():
    """start_logging attaches a handler to the root logger; take it off again after each test."""
    yield
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__name__ == "_PrivateRotatingFile":
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.WARNING)
    logging.getLogger("coach_tui").setLevel(logging.NOTSET)


def _flush():
    for handler in logging.getLogger().handlers:
        handler.flush()


def test_the_log_is_owner_only_in_the_user_log_folder_whatever_the_umask(user_folders, capsys):
    import os

    old = os.umask(0)
    try:
        assert main(["paths", "--json"]) == 0
    finally:
        os.umask(old)
    where = json.loads(capsys.readouterr().out)["log"]["path"]
    log = user_folders / "state" / "coach-tui" / "log" / "coach.log"
    assert where == str(log)
    logging.getLogger("coach_tui.test").info("hello from the field")
    _flush()
    assert "hello from the field" in log.read_text(encoding="utf-8")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700


def test_app_info_and_every_librarys_warnings_are_kept_debug_only_with_debug(tmp_path):
    log = start_logging(tmp_path / "log" / "coach.log")
    logging.getLogger("coach_tui.sources.ble.ble_source").info("sensor s1: connected to AA:BB (coach_v1), streaming")
    logging.getLogger("bleak.backends.bluezdbus.manager").warning("BlueZ said no")
    logging.getLogger("bleak.backends.bluezdbus.client").debug("a GATT detail")
    _flush()
    text = log.read_text(encoding="utf-8")
    assert "sensor s1: connected" in text and "BlueZ said no" in text and "a GATT detail" not in text
    start_logging(log, debug=True)
    logging.getLogger("bleak.backends.bluezdbus.client").debug("another GATT detail")
    _flush()
    assert "another GATT detail" in log.read_text(encoding="utf-8")


def test_the_log_is_capped(tmp_path):
    log = start_logging(tmp_path / "log" / "coach.log")
    record = "x" * 1000
    for _ in range(6 * MAX_BYTES // 1000):
        logging.getLogger("coach_tui.test").warning(record)
    _flush()
    files = sorted(log.parent.iterdir())
    assert len(files) == BACKUPS + 1
    assert all(f.stat().st_size <= MAX_BYTES for f in files)
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)


def test_a_log_that_cannot_be_written_does_not_stop_a_command(tmp_path, monkeypatch, capsys):
    (tmp_path / "state").write_text("a file where the folder should be")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert main(["paths"]) == 0
    assert "Traceback" not in capsys.readouterr().err


def test_an_unexpected_error_is_logged_whole_and_said_in_one_line(user_folders, monkeypatch, capsys):
    def broken(args, config):
        raise KeyError("a bug")

    monkeypatch.setattr(sessions_command, "run", broken)
    capsys.readouterr()
    assert main(["sessions"]) == 1
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    log = user_folders / "state" / "coach-tui" / "log" / "coach.log"
    assert out == "" and len(lines) == 1
    assert "coach sessions: unexpected error (KeyError: 'a bug')" in lines[0] and str(log) in lines[0]
    _flush()
    text = log.read_text(encoding="utf-8")
    assert "Traceback" in text and "coach sessions failed unexpectedly" in text and "KeyError: 'a bug'" in text


def test_a_refusal_is_logged_too(user_folders, capsys):
    assert main(["sessions", "--client", "Nobody"]) == 2
    _flush()
    assert "coach sessions refused: no client named 'Nobody'" in (
        user_folders / "state" / "coach-tui" / "log" / "coach.log").read_text(encoding="utf-8")
