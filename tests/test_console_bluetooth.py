"""The console on configured Bluetooth sensors (bumble peripherals through bleak): a set recorded
from them as from the simulated kit; the placement screen's link figures; and without Bluetooth,
the offer of the simulated kit."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import numpy as np
import pytest
from ble_encoders import coach_v1_info, encode_coach_v1
from ble_peripherals import Firmware, failing_scanner_backend, peripheral_spec
from bleak.exc import BleakBluetoothNotAvailableError, BleakBluetoothNotAvailableReason
from bumble_link import BumbleWorld
from conftest import until as _until

from coach_tui.config import load_config
from coach_tui.sources.ble.profiles import PROFILES
from coach_tui.store.database import Database
from coach_tui.store.recordings import read_recording
from coach_tui.store.repository import Repository
from coach_tui.ui.app import make_app
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.screens.live_screen import LiveScreen

pytestmark = pytest.mark.usefixtures("isolated")

SENSORS = """
[simulation]
realtime = false

[[sensors]]
id = "left"
profile = "coach_v1"
name = "coach-left"
channels = ["glute_max:L"]

[[sensors]]
id = "right"
profile = "coach_v1"
name = "coach-right"
channels = ["glute_max:R"]
"""


@pytest.fixture
def config(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text(SENSORS, encoding="utf-8")
    return replace(load_config(path), sessions_dir=tmp_path / "sessions")


def _contractions(n: int, fs: float, seed: int, gain: float) -> np.ndarray:
    """int16 counts: noise whose amplitude swells once a second (a rep a second)."""
    t = np.arange(n) / fs
    envelope = 20 + 400 * gain * np.sin(np.pi * (t % 1.0)) ** 8
    return np.clip(np.random.default_rng(seed).standard_normal(n) * envelope, -32768, 32767).astype(int).reshape(n, 1)


async def _left_and_right_glutes(world, fs: float) -> None:
    """Two coach v1 peripherals, coach-left and coach-right, streaming a rep a second (the left 30 %
    weaker) for a minute."""
    for k, side in enumerate(("left", "right")):
        peripheral = await world.add_peripheral(
            peripheral_spec(PROFILES["coach_v1"], f"coach-{side}", info=coach_v1_info(1, fs, 0.5)))
        counts = _contractions(60_000, fs, k, 1.0 if side == "right" else 0.7)
        packets = [encode_coach_v1(counts[i:i + 20], i) for i in range(0, len(counts), 20)]
        Firmware(peripheral, PROFILES["coach_v1"], lambda packets=packets: packets, rate_hz=fs / 20)


async def test_a_set_is_recorded_from_bluetooth_sensors(config):
    fs = 1000.0
    async with BumbleWorld() as world:
        await _left_and_right_glutes(world, fs)
        with Database(config.sessions_dir) as database:
            repo = Repository(database)
            app = make_app(config, repo, simulated=False, scanner_backend=world.scanner_backend,
                           client_backend=world.client_backend)
            async with app.run_test(size=(100, 30)) as pilot:
                assert not app.simulated
                await _until(pilot, lambda: all(s.state == "streaming" for s in app.sensors.hub.status()))
                assert app.sensor_rate() == fs
                await pilot.press("enter")
                await _until(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.monitor is not None)
                live = app.screen
                assert [a.label for _, a in live.monitor.meter.channels] == ["left glute max", "right glute max"]
                assert app.sub_title == ""  # the headers say SIMULATED only for the simulated kit
                await pilot.press("space")
                await _until(pilot, lambda: live.monitor.view().set_seconds > 3.5)
                await pilot.press("space")
                await _until(pilot, lambda: not isinstance(app.screen, LiveScreen))
                await pilot.press("escape")  # no perceived-activation score
                shown = live.monitor.view()
            sessions = repo.sessions()
            (stored,) = repo.sets(sessions[0].id)
            recording = read_recording(config.sessions_dir / sessions[0].folder / stored.recording)
    assert recording.meta["source"] == "bluetooth sensors"
    assert {(f.sensor_id, f.dtype, f.units, f.fs_hz) for f in recording.sensors} == {
        ("left", "int32", "µV", fs), ("right", "int32", "µV", fs)}
    assert len(stored.reps) >= 2 and list(stored.reps) == shown.reps
    assert all(rep.weaker_side in (None, "L") for rep in stored.reps)


async def test_without_bluetooth_the_console_offers_the_simulated_kit(config):
    off = BleakBluetoothNotAvailableError("No powered adapters.", BleakBluetoothNotAvailableReason.POWERED_OFF)
    with Database(config.sessions_dir) as database:
        app = make_app(config, Repository(database), simulated=False, scanner_backend=failing_scanner_backend(off))
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            assert "Bluetooth" in app.screen.heading and "turn it on" in app.screen.heading.lower()
            await pilot.press("enter")  # use the simulated kit
            await _until(pilot, lambda: not isinstance(app.screen, ChoiceDialog))
            assert app.simulated
            await pilot.press("enter")
            await _until(pilot, lambda: isinstance(app.screen, LiveScreen) and app.screen.monitor is not None)
            assert app.sub_title == "SIMULATED sensor kit"  # in every screen's header
            await asyncio.sleep(0)


async def test_without_bluetooth_quitting_says_why(config):
    off = BleakBluetoothNotAvailableError("No powered adapters.", BleakBluetoothNotAvailableReason.POWERED_OFF)
    with Database(config.sessions_dir) as database:
        app = make_app(config, Repository(database), simulated=False, scanner_backend=failing_scanner_backend(off))
        said = []
        exit_app = app.exit
        app.exit = lambda *args, message=None, **kw: (said.append(str(message)), exit_app(*args, message=message, **kw))
        async with app.run_test(size=(100, 30)) as pilot:
            await _until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
            await pilot.press("down", "enter")  # quit
            await _until(pilot, lambda: said)
    assert "turn it on" in said[0].lower()


async def test_placement_shows_each_sensor_s_link_and_grades_in_a_worker(config, monkeypatch):
    import threading
    import time

    from textual.widgets import DataTable

    from coach_tui.ui.screens import placement_screen

    gradings: list[bool] = []  # on the main thread?
    running, most_at_once = 0, 0
    real_grade = placement_screen.grade_sensors

    def slow_grade(*args, **kwargs):
        nonlocal running, most_at_once
        gradings.append(threading.current_thread() is threading.main_thread())
        running += 1
        most_at_once = max(most_at_once, running)
        time.sleep(1.5)  # longer than the 1 s refresh: gradings must not pile up
        try:
            return real_grade(*args, **kwargs)
        finally:
            running -= 1

    monkeypatch.setattr(placement_screen, "grade_sensors", slow_grade)
    fs = 1000.0
    async with BumbleWorld() as world:
        peripherals = {}
        for k, side in enumerate(("left", "right")):
            peripheral = await world.add_peripheral(
                peripheral_spec(PROFILES["coach_v1"], f"coach-{side}", info=coach_v1_info(1, fs, 0.5)))
            counts = _contractions(60_000, fs, k, 0.1)
            packets = [encode_coach_v1(counts[i:i + 20], i) for i in range(0, len(counts), 20)]
            drop = {60, 61, 62} if side == "right" else set()  # 3 packets lost on air, 1.2 s in
            Firmware(peripheral, PROFILES["coach_v1"], lambda packets=packets: packets, rate_hz=fs / 20, drop=drop)
            peripherals[side] = peripheral
        with Database(config.sessions_dir) as database:
            app = make_app(config, Repository(database), simulated=False, scanner_backend=world.scanner_backend,
                           client_backend=world.client_backend)
            async with app.run_test(size=(80, 24)) as pilot:
                await _until(pilot, lambda: all(s.state == "streaming" for s in app.sensors.hub.status()))
                await pilot.press("p")
                await _until(pilot, lambda: isinstance(app.screen, placement_screen.PlacementScreen))
                screen = app.screen
                table = screen.query_one(DataTable)

                def right_row() -> list[str]:
                    return table.get_row("right:0")

                await _until(pilot, lambda: right_row()[2].startswith(("●", "▲", "■")) and right_row()[5] == "3")
                rebuilt = []
                monkeypatch.setattr(table, "clear", lambda *a, **k: rebuilt.append(a))
                assert right_row()[:2] == ["right", "right glute max"]
                assert right_row()[5:8] == ["3", "0", "0"]  # packets lost, reconnects, host drops
                assert table.get_row("left:0")[5:8] == ["0", "0", "0"]

                await peripherals["right"].disconnect()
                # one reconnect, and the time away counts as lost packets too
                await _until(pilot, lambda: right_row()[6] == "1" and int(right_row()[5]) > 3)
                status = next(s for s in screen._source.status() if s.sensor_id == "right")
                assert right_row()[5:8] == [str(status.packets_lost), "1", "0"]
                assert rebuilt == []  # cells change in place
                await pilot.press("escape")
    assert gradings and not any(gradings)
    assert most_at_once == 1


async def test_coach_record_records_the_configured_bluetooth_sensors(config, capsys):
    import argparse

    from coach_tui.commands import record as record_command
    from coach_tui.domain.client import Client
    from coach_tui.domain.exercises import EXERCISES
    from coach_tui.domain.ids import now_utc
    from coach_tui.store.reanalysis import reanalyze

    fs = 1000.0
    async with BumbleWorld() as world:
        await _left_and_right_glutes(world, fs)
        with Database(config.sessions_dir) as database:
            repo = Repository(database)
            client = repo.add_client(Client("c-ana", "Ana", created=now_utc()))
            args = argparse.Namespace(client="Ana", simulate=None, exercise="hip thrust", seconds=8.0, load=40.0, cue="", json=False)
            rc, _ = await record_command.record_set(args, config, repo, client, EXERCISES["hip_thrust"], False,
                                                 {"scanner_backend": world.scanner_backend,
                                                  "client_backend": world.client_backend})
            (session,) = repo.sessions()
            (stored,) = repo.sets(session.id)
    out = capsys.readouterr().out
    assert rc == 0 and "2 Bluetooth sensors" in out and "SIMULATED" not in out
    assert "units: left glute max µV, right glute max µV" in out
    assert session.status == "complete" and stored.load_kg == 40.0
    assert stored.duration_s == pytest.approx(8.0, abs=0.1) and len(stored.reps) >= 2
    prefix = config.sessions_dir / session.folder / stored.recording
    recording = read_recording(prefix)
    assert recording.meta["source"] == "bluetooth sensors"  # the console's recipe: same source, formats, plan
    assert {(f.sensor_id, f.dtype, f.units) for f in recording.sensors} == {("left", "int32", "µV"), ("right", "int32", "µV")}
    assert reanalyze(prefix).reps == list(stored.reps)


async def test_placement_names_what_happened_on_each_link(tmp_path):
    # A Ganglion configured by profile only is found by the name it advertises, and its board
    # reports firmware 2 though the entry says firmware 3: both are said below the table.
    from ble_encoders import encode_ganglion_fw2_stream
    from textual.widgets import Static

    from coach_tui.ui.screens import placement_screen

    path = tmp_path / "config.toml"
    path.write_text('[simulation]\nrealtime = false\n\n[[sensors]]\nid = "g"\nprofile = "ganglion_fw3"\n'
                    'channels = ["glute_max:L", "", "", ""]\n', encoding="utf-8")
    config = replace(load_config(path), sessions_dir=tmp_path / "sessions")
    fw2 = PROFILES["ganglion_fw2"]
    counts = np.cumsum(np.random.default_rng(9).integers(-2000, 2000, size=(60 * 201 + 1, 4)), axis=0)
    async with BumbleWorld() as world:
        board = await world.add_peripheral(peripheral_spec(fw2, "Ganglion 1.3 (a1b2)", advertise_service=False,
                                                           software_revision="2.0.1"))
        Firmware(board, fw2, lambda: encode_ganglion_fw2_stream(counts), rate_hz=200)
        with Database(config.sessions_dir) as database:
            app = make_app(config, Repository(database), simulated=False, scanner_backend=world.scanner_backend,
                           client_backend=world.client_backend)
            async with app.run_test(size=(100, 30)) as pilot:
                await _until(pilot, lambda: all(s.state == "streaming" for s in app.sensors.hub.status()))
                await pilot.press("p")
                await _until(pilot, lambda: isinstance(app.screen, placement_screen.PlacementScreen))
                reasons = app.screen.query_one("#placement-reasons", Static)

                def said() -> str:
                    return str(reasons.render())

                await _until(pilot, lambda: "found Ganglion 1.3 (a1b2) by name" in said())
                assert "g: found Ganglion 1.3 (a1b2) by name" in said()
                assert 'g: board reports firmware 2.0.1: using it (config.toml says ganglion_fw3; set profile' in said()
                await pilot.press("escape")
