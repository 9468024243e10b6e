"""The console when something goes wrong under it: the disk fills up mid-set, or a bug raises.
It must say so on screen (one line) and keep running, or, for a bug, leave one line naming the log
file that holds the traceback — never a traceback in the trainer's shell."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path

import pytest

from coach_tui.config import load_config
from coach_tui.sources.clock import SteppedClock
from coach_tui.store import database_file, recording_writer
from coach_tui.store.repository import Repository, open_database
from coach_tui.ui.app import make_app
from conftest import ROOT, until

pytestmark = pytest.mark.usefixtures("isolated")


def _enospc(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


class _FullDisk:
    """Stands in for ``os`` in the recording writer: every write fails with ENOSPC."""

    def __getattr__(self, name):
        return getattr(os, name)

    write = staticmethod(_enospc)


def fill_the_disk(patch: pytest.MonkeyPatch) -> None:
    """From now on nothing can be written: recordings, their headers, the database."""
    patch.setattr(recording_writer, "os", _FullDisk())
    patch.setattr(recording_writer, "atomic_write", _enospc)
    patch.setattr(recording_writer, "open_private", _enospc)
    patch.setattr(database_file, "atomic_write", _enospc)


async def _wait(pilot, condition):
    """Wait until ``condition()`` holds, the app's stepped clock moving on meanwhile."""
    await until(pilot, condition, clock=pilot.app.sensors.clock)


@pytest.fixture
def app_and_repo(tmp_path):
    """The console on a stepped clock."""
    config = load_config(ROOT / "config.toml")
    config = replace(config, sessions_dir=tmp_path / "sessions", simulation=replace(config.simulation, realtime=False))
    with open_database(config.sessions_dir) as database:
        repo = Repository(database)
        yield make_app(config, repo, clock=SteppedClock()), repo


async def test_a_full_disk_mid_set_is_said_on_screen_and_the_console_keeps_running(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await _wait(pilot, lambda: app.screen.__class__.__name__ == "LiveScreen" and app.screen.monitor is not None)
        live = app.screen
        await pilot.press("space")
        await _wait(pilot, lambda: live.monitor.view().set_seconds > 1.0)
        with pytest.MonkeyPatch.context() as patch:
            fill_the_disk(patch)
            await _wait(pilot, lambda: not live.monitor.recording)  # the set stops by itself
            await _wait(pilot, lambda: "disk full" in str(live.query_one("#alerts").render()))
            assert app.is_running and app.screen is live
            await pilot.press("space")  # a new set cannot start on a full disk: said, not raised
            await app.sensors.clock.advance(1.0)  # a second of signal: a set that had started would record it
            await pilot.pause()
            assert app.is_running and not live.monitor.recording
            assert "disk full" in str(live.query_one("#alerts").render())
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
    assert app.return_code in (0, None)
    [session] = repo.sessions()
    [record] = repo.sets(session.id)
    assert session.status == "complete" and record.recording  # the set stayed on record, with what was flushed


async def test_an_unexpected_error_leaves_one_line_naming_the_log(app_and_repo, tmp_path, monkeypatch, capsys):
    import logging

    from coach_tui.store.log_file import start_logging

    short = Path(tempfile.mkdtemp(prefix="coach-"))  # a path short enough to stay on one line of the shell
    log = start_logging(short / "coach.log")
    app, _ = app_and_repo
    app.log_path = log

    def broken(self):
        raise RuntimeError("a bug in the history screen")

    monkeypatch.setattr(type(app), "action_help", broken)
    with pytest.raises(RuntimeError):  # the Pilot re-raises what stopped the app
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("f1")
            await until(pilot, lambda: app.return_code is not None, what="the app stopping")
    assert app.return_code == 1
    said = " ".join(capsys.readouterr().err.split())  # what the shell is left with, unwrapped
    assert "Traceback" not in said
    assert f"coach: unexpected error (RuntimeError: a bug in the history screen); details are in {log}" in said
    logging.getLogger().handlers[-1].flush()
    text = log.read_text(encoding="utf-8")
    shutil.rmtree(short)
    assert "Traceback" in text and "a bug in the history screen" in text
