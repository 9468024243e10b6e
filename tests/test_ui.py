"""The console as a trainer uses it: Pilot flows on the real wiring, snapshots of every screen."""

from dataclasses import replace

import pytest

from coach_tui.config import ConfigError
from coach_tui.config import load_config
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.session import RepMetrics
from coach_tui.workflows.live_view import ChannelView, LiveView, PairView
from coach_tui.sources.clock import SteppedClock
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.ui.app import make_app, run_console
from coach_tui.workflows.sensor_setup import SensorSetup

from conftest import ROOT, until

pytestmark = pytest.mark.usefixtures("isolated")


def _config(tmp_path, realtime=False, **changes):
    config = load_config(ROOT / "config.toml")
    return replace(config, sessions_dir=tmp_path / "sessions",
                   simulation=replace(config.simulation, realtime=realtime), **changes)


@pytest.fixture
def app_and_repo(tmp_path):
    """The console on a stepped clock (the simulated kit streams while a test waits, see ``_wait``)."""
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        yield make_app(config, repo, clock=SteppedClock()), repo


async def _wait(pilot, condition, seconds=30.0):
    """Wait until ``condition()`` holds, moving the app's stepped clock on meanwhile (if it has one)."""
    clock = getattr(pilot.app.sensors, "clock", None)
    await until(pilot, condition, timeout=seconds, clock=clock if isinstance(clock, SteppedClock) else None)


def _screen(app, name: str):
    """A condition: the screen on top is ``name`` (a class name; screens are imported when first used)."""
    return lambda: app.screen.__class__.__name__ == name


def _shown_reps(live) -> int:
    """The rep count the live screen shows (0 before the first)."""
    shown = str(live.query_one("#reps").render()).split("reps: ")
    count = shown[1].split()[0] if len(shown) > 1 and shown[1] else ""
    return int(count) if count.isdigit() else 0


def _live_on(app):
    """A condition: the live screen is on top with its monitor streaming."""
    return lambda: app.screen.__class__.__name__ == "LiveScreen" and app.screen.monitor is not None


# --- flows ---------------------------------------------------------------------------------


async def _alert_after_steering(pilot, key: str, alert: str):
    """Open live, record reps without ``alert``, steer the simulated kit with ``key`` until it shows."""
    await pilot.press("enter")
    await _wait(pilot, _live_on(pilot.app))
    live = pilot.app.screen
    await pilot.press("space")
    await _wait(pilot, lambda: len(live.monitor.view().reps) >= 2)
    assert not any(alert in a for a in live.monitor.view().alerts)
    await pilot.press(key)
    await _wait(pilot, lambda: any(alert in a for a in live.monitor.view().alerts))
    return live


async def test_create_place_calibrate_record_and_the_store_holds_what_the_screen_showed(app_and_repo):
    from coach_tui.domain.muscles import MUSCLES
    from coach_tui.store.reanalysis import reanalyze

    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        # A demo client is seeded on first run; add a real one.
        await pilot.press("n")
        await pilot.press(*"Ana Díaz")
        await pilot.press("enter")
        await _wait(pilot, lambda: repo.find_client("ana díaz") is not None and _screen(app, "ClientsScreen")())
        ana = repo.find_client("ana díaz")
        assert len(repo.clients()) == 2
        table = app.screen.query_one("DataTable")
        assert table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value == ana.id  # the new one
        await pilot.press("slash", *"ana", "down")  # search, then back to the table
        assert table.row_count == 1
        table.focus()

        # Placement: move the first sensor to the gluteus medius, left, then back to the glute max.
        await pilot.press("p")
        await _wait(pilot, _screen(app, "PlacementScreen"))
        placement = app.screen
        for muscle in ("glute_med", "glute_max"):
            await pilot.press("enter")
            await _wait(pilot, lambda: app.screen is not placement and app.screen.query("OptionList"))
            app.screen.query_one("OptionList").highlighted = list(MUSCLES).index(muscle)
            await pilot.press("enter", "enter")  # muscle, then side "left" (first)
            await _wait(pilot, lambda: app.screen is placement and repo.placements(ana.id)
                        and repo.placements(ana.id)[0].muscle == muscle)
            placed = repo.placements(ana.id)
            assert (placed[0].muscle, placed[0].side) == (muscle, "L")
        await pilot.press("escape")

        # Calibrate the glutes: the protocol runs to the end, then "a" saves both sides.
        await pilot.press("c")
        await _wait(pilot, _screen(app, "ChoiceDialog"))
        await pilot.press("enter")
        await _wait(pilot, lambda: getattr(app.screen, "protocol", None) is not None and app.screen.protocol.done)
        await pilot.press("a")
        await _wait(pilot, lambda: "saved ✓" in str(app.screen.query_one("#calibration-trials").render()))
        calibration_text = str(app.screen.query_one("#calibration-trials").render())
        calibrations = repo.latest_calibrations(ana.id)
        assert set(calibrations) == {"glute_max:L", "glute_max:R"}
        assert all(200 < c.reference < 600 for c in calibrations.values())
        for side, word in (("L", "left"), ("R", "right")):
            assert f"{word}: reference {calibrations[f'glute_max:{side}'].reference:.0f} µV" in calibration_text
        assert "saved ✓" in calibration_text
        await pilot.press("escape")

        # Live: glutes in %MVC, hamstrings in µV; enter the load, record a set.
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        live = app.screen
        assert live.monitor.meter.units == ["%MVC", "%MVC", "µV", "µV"]
        await pilot.press("k", "6", "2", ".", "5", "enter")
        await _wait(pilot, lambda: app.screen is live and "62.5 kg" in str(live.query_one("#live-header").render()))
        await pilot.press("space")
        await _wait(pilot, lambda: len(live.monitor.view().reps) >= 3)
        await _wait(pilot, lambda: _shown_reps(live) >= 3)
        shown_while_recording = str(live.query_one("#reps").render())
        await pilot.press("space")
        await _wait(pilot, _screen(app, "RatingDialog"))
        # After the set: its fatigue verdict in words, with the slope's interval (never bare end points)
        from coach_tui.dsp.fatigue import set_fatigue

        verdicts = set_fatigue(live.monitor.view().reps, app.config.analysis.fatigue).lines()
        assert verdicts == live.monitor.view().fatigue and "95 % interval" in verdicts[0]
        await _wait(pilot, lambda: verdicts[0] in str(live.query_one("#reps").render()))
        await pilot.press("8")  # perceived activation
        await _wait(pilot, lambda: app.screen is live)
        await pilot.press("escape")
        await _wait(pilot, lambda: _screen(app, "ClientsScreen")()
                    and "glute max LR" in " ".join(str(c) for c in app.screen.query_one("DataTable").get_row(ana.id)))
        clients_text = " ".join(str(c) for c in app.screen.query_one("DataTable").get_row(ana.id))
        assert "glute max LR" in clients_text  # the clients table caught up on return

    sessions = repo.sessions(ana.id)
    assert [s.status for s in sessions] == ["complete"]
    (stored,) = repo.sets(sessions[0].id)
    assert stored.perceived_activation == 8 and stored.load_kg == 62.5
    assert stored.calibration_ids and set(stored.calibration_ids) == {c.id for c in calibrations.values()}
    # The rep the screen showed while recording is the stored one, field by field as shown …
    count = int(shown_while_recording.split("reps: ")[1].split()[0])
    rep = stored.reps[count - 1]
    assert (f"peak {rep.peak:.0f} %MVC" in shown_while_recording and f"mean {rep.mean:.0f}" in shown_while_recording
            and f"to peak {rep.time_to_peak_s:.2f} s" in shown_while_recording)
    # … and every stored rep is what the stored raw samples give again, bit for bit.
    assert reanalyze(app.config.sessions_dir / sessions[0].folder / stored.recording).reps == list(stored.reps)


async def _advance_until(clock, condition, seconds=60.0, step=0.2):
    """Move the stepped clock on until ``condition`` holds (at most ``seconds`` of simulated time)."""
    for _ in range(int(seconds / step)):
        if condition():
            return
        await clock.advance(step)
    raise AssertionError(f"condition not reached within {seconds} s of simulated time")


async def test_asymmetry_alert_and_a_lost_sensor_during_a_set(tmp_path):
    clock = SteppedClock()
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        app = make_app(config, repo, clock=clock)
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("enter")
            await until(pilot, lambda: _live_on(app)() and clock.waiting() > 0)
            live = app.screen
            await clock.advance(2.0)
            await pilot.press("f6")  # simulated left deficit
            await pilot.press("space")
            await _advance_until(clock, lambda: any("asymmetry" in a for a in live.monitor.view().alerts))
            live.refresh_view()
            assert "left weaker" in str(live.query_one("#alerts").render())
            await pilot.press("f9")  # the first sensor drops out
            await _advance_until(clock, lambda: any("reconnecting" in a for a in live.monitor.view().alerts))
            lost_at = live.monitor.view().set_seconds
            await clock.advance(10.0)
            live.refresh_view()
            assert "lost — reconnecting" in live.query_one("#bars").plain
            view = live.monitor.view()
            assert view.set_seconds == pytest.approx(lost_at + 10.0, abs=0.3)  # the set goes on
            assert not any("glute max: " in a and "asymmetry" in a for a in view.alerts)  # a side away: no comparison
            assert [p.asymmetry_pct for p in view.pairs if p.muscle == "glute_max"] == [None]
            await pilot.press("f9")  # and comes back: flagged until the link has held for a while
            await _advance_until(clock, lambda: any("sensor back — watching the link" in a
                                                   for a in live.monitor.view().alerts), seconds=1.0)
            live.refresh_view()
            assert "reconnecting" not in live.query_one("#bars").plain
            await clock.advance(3.0)
            assert not any("sensor back" in a or "sensor lost" in a for a in live.monitor.view().alerts)
            await pilot.press("space")
            await until(pilot, _screen(app, "RatingDialog"))
            await pilot.press("escape")  # skip the rating
            await until(pilot, lambda: app.screen is live)
            await pilot.press("escape")
            await until(pilot, _screen(app, "ClientsScreen"))
        session = repo.sessions()[0]
        (record,) = repo.sets(session.id)
    from coach_tui.store.recordings import read_recording

    recording = read_recording(app.config.sessions_dir / session.folder / record.recording)
    gaps = recording.gaps(recording.sensors[0].sensor_id)
    assert gaps and gaps[0].length > 0  # the gap is marked in the stored set
    assert len(record.reps) >= 2
    assert any(rep.incomplete for rep in record.reps)


async def test_cocontraction_alert_can_be_steered_with_an_antagonist_placed(tmp_path):
    config = _config(tmp_path)
    config = replace(config, simulation=replace(config.simulation, sensors=8))  # rectus femoris is placed too
    with Database(config.sessions_dir) as database:
        app = make_app(config, Repository(database), clock=SteppedClock())
        async with app.run_test(size=(100, 40)) as pilot:
            live = await _alert_after_steering(pilot, "f4", "co-contraction with the rectus femoris")
            await _wait(pilot, lambda: "Winter index" in str(live.query_one("#alerts").render()))


async def test_cocontraction_steer_without_an_antagonist_says_what_to_place(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        messages = []
        app.notify = lambda message, **kw: messages.append(message)
        await pilot.press("f4")
        assert messages and "no antagonist sensor placed (rectus femoris)" in messages[0]
        assert not app.screen.monitor.source.flags.cocontract


async def test_bell_rings_once_each_time_the_target_reaches_the_line(tmp_path):
    config = _config(tmp_path, realtime=True)  # frames at the pace of the reps, as at the rack
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        app = make_app(config, repo)
        await _ring_for_reps(app, repo)


async def _ring_for_reps(app, repo):
    from coach_tui.domain.calibration import Calibration
    from coach_tui.domain.ids import now_utc

    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, _screen(app, "ClientsScreen"))
        client = repo.clients()[0]
        placed = {p.assignment.key: p for p in app.placements_for(client)}
        for side in "LR":  # a low reference: every rep crosses the 70 %MVC line
            repo.add_calibration(Calibration(f"cal-{side}", client.id, "glute_max", side, 150.0, "µV", (150.0,), 2.0, 1.0,
                                             now_utc(), placed[f"glute_max:{side}"]))
        rings = []
        app.bell = lambda: rings.append(1)
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        live = app.screen
        await pilot.press("space")
        await _wait(pilot, lambda: len(live.monitor.view().reps) >= 1)
        assert rings == []  # off until b
        await pilot.press("b")
        reps = len(live.monitor.view().reps)
        await _wait(pilot, lambda: len(live.monitor.view().reps) >= reps + 2)
        # once per rep (the bars fall below the line between reps), never once per frame above it
        assert 1 <= len(rings) <= 3


async def test_help_lists_the_keys_of_the_screen_underneath(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        await pilot.press("f1")
        await _wait(pilot, _screen(app, "HelpScreen"))
        text = str(app.screen.query_one("#help-keys").render())
        for words in ("Start/stop set", "Focus view", "Calibrate", "Placement", "Help", "Quit"):
            assert words in text
        await pilot.press("escape")
        assert app.screen.__class__.__name__ == "LiveScreen"


async def test_focus_view_shows_the_target_in_big_digits(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        live = app.screen
        await _wait(pilot, lambda: live.monitor.stream_seconds >= 0.5)  # half a second of signal, as before
        await pilot.press("f")
        await _wait(pilot, lambda: _screen(app, "FocusScreen")() and len(app.screen.query("Digits")) == 2)
        await _wait(pilot, lambda: all(d.value != "--" for d in app.screen.query("Digits")))
        digits = app.screen.query("Digits")
        assert len(digits) == 2 and all(d.value != "--" for d in digits)


async def test_keymap_from_config_rebinds_a_key(tmp_path):
    config = _config(tmp_path, keymap=(("live.set", "enter"),))
    with Database(config.sessions_dir) as database:
        app = make_app(config, Repository(database), clock=SteppedClock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("enter")
            await _wait(pilot, _live_on(app))
            await pilot.press("enter")
            await _wait(pilot, lambda: app.screen.monitor.recording)


@pytest.mark.parametrize("typed, load", [("62.5", 62.5), (" 6,5 ", 6.5), ("", None), ("0", 0.0), ("1000", 1000.0)])
def test_load_typed_in_kg(typed, load):
    from coach_tui.ui.dialogs.load_dialog import parse_load

    assert parse_load(typed) == load


@pytest.mark.parametrize("typed, message", [("abc", "'abc' is not a number of kg"), ("2000", "2000 kg is outside 0–1000 kg"),
                                            ("-5", "-5 kg is outside 0–1000 kg"), ("nan", "nan kg is outside")])
def test_a_load_that_is_not_a_weight_is_refused_saying_why(typed, message):
    from coach_tui.ui.dialogs.load_dialog import parse_load

    with pytest.raises(ValueError, match=message):
        parse_load(typed)


def test_every_binding_of_every_screen_and_dialog_has_its_own_id():
    from textual.binding import Binding

    from coach_tui.ui.app import console_bindings

    found = console_bindings()
    assert {"LiveScreen", "ClientsScreen", "HistoryScreen", "LoadDialog", "CoachApp"} <= {c.__name__ for c in found}
    bindings = [b for declared in found.values() for b in declared]
    assert all(isinstance(b, Binding) and b.id for b in bindings), [b for b in bindings if not getattr(b, "id", None)]
    ids = [b.id for b in bindings]
    assert len(ids) == len(set(ids))


def test_unknown_keymap_binding_is_refused_naming_it(tmp_path):
    config = _config(tmp_path, keymap=(("live.sett", "enter"),))
    with pytest.raises(ConfigError, match="keymap.live.sett: no such binding"):
        run_console(config)


async def test_too_small_terminal_says_which_size_it_needs(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(60, 20)) as pilot:
        await _wait(pilot, _screen(app, "TooSmallScreen"))
        assert "at least 80×24; this one is 60×20" in str(app.screen.query_one("Label").render())
        await pilot.resize_terminal(80, 24)
        await _wait(pilot, _screen(app, "ClientsScreen"))


# --- snapshots -----------------------------------------------------------------------------


class FixedConsole:
    """A console frozen on one instant, so a screenshot is the same every run."""

    def __init__(self, client, exercise):
        self.client, self.exercise = client, exercise
        self.recording = True
        channels = [
            ChannelView(ChannelAssignment("glute_max", "L"), 48.0, 61.0, "%MVC", True),
            ChannelView(ChannelAssignment("glute_max", "R"), 71.0, 78.0, "%MVC", True),
            ChannelView(ChannelAssignment("hamstrings", "L"), 22.0, 30.0, "%MVC", True),
            ChannelView(ChannelAssignment("hamstrings", "R"), 0.0, 0.0, "%MVC", False),
        ]
        rep = RepMetrics(4, 12.1, 14.0, 74.0, 41.0, 0.82, "%MVC", "glute_max", None, 32.0, 0.66,
                         (("right glute max", 0.0), ("left glute max", 18.0), ("left hamstrings", 64.0)), "L")
        self._view = LiveView(channels, [PairView("glute_max", 32.0, "L", True), PairView("hamstrings", None, None, False)],
                              True, 14.6, [rep] * 4, ["glute max: 32 % asymmetry, left weaker",
                                                       "right hamstrings: sensor lost — reconnecting"])
        self.meter = type("Meter", (), {"units": ["%MVC"] * 4, "channels": [(f"s{i}", c.assignment) for i, c in enumerate(channels)]})()

    def start(self):
        pass

    async def stop(self):
        pass

    def unmeasured(self):
        return []

    def view(self):
        return self._view


class FrozenSensors(SensorSetup):
    """Fake sources for snapshots: the simulated kit on a stepped clock, but every live screen shows ``FixedConsole``,
    no calibration is stale unless ``stale`` says, and the MVC trials stop after ``mvc_seconds``
    when set."""

    def __init__(self, config, repo):
        super().__init__(config, repo, simulated=True, clock=SteppedClock())
        self.stale: dict[str, list[str]] = {}
        self.mvc_seconds: float | None = None

    def live_monitor(self, client, exercise, *args, **kwargs):
        return FixedConsole(client, self.exercises[exercise])

    def stale_calibrations(self, client):
        return self.stale

    def calibration_run(self, client, muscle):
        source, protocol = super().calibration_run(client, muscle)
        if self.mvc_seconds is not None:
            source.duration_s = self.mvc_seconds
        return source, protocol


@pytest.fixture
def snapshot_app(tmp_path):
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        yield make_app(config, repo, sensors=FrozenSensors(config, repo))


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_clients(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, press=["_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_live(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, press=["enter", "_", "_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_help(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, press=["enter", "_", "f1", "_"])


def test_snapshot_too_small(snap_compare, snapshot_app):
    assert snap_compare(snapshot_app, terminal_size=(60, 20), press=["_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_focus_view(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, press=["enter", "_", "f", "_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_new_client_dialog(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, press=["n", *"Ana Díaz", "_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_load_dialog(snap_compare, snapshot_app, size):
    async def between_sets(pilot):
        await pilot.press("enter")
        await _wait(pilot, _live_on(pilot.app))
        pilot.app.screen.monitor.recording = False
        await pilot.press("k", "6", "0")
        await _wait(pilot, lambda: _screen(pilot.app, "LoadDialog")() and "60" in pilot.app.screen.query_one("Input").value)

    assert snap_compare(snapshot_app, terminal_size=size, run_before=between_sets)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_rating_dialog(snap_compare, snapshot_app, size):
    from coach_tui.ui.dialogs.rating_dialog import RatingDialog

    async def rate(pilot):
        await pilot.press("enter")
        await _wait(pilot, _live_on(pilot.app))
        pilot.app.push_screen(RatingDialog("glute max"))
        await _wait(pilot, _screen(pilot.app, "RatingDialog"))

    assert snap_compare(snapshot_app, terminal_size=size, run_before=rate)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_stale_calibration_offer(snap_compare, snapshot_app, size):
    snapshot_app.sensors.stale = {
        "glute_max": ["left glute max: calibrated 40 days ago (limit 28)",
                      "right glute max: placement changed since calibration (sensor moved from s2 to s3)"]}
    assert snap_compare(snapshot_app, terminal_size=size, press=["enter", "_"])


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_calibration_during_the_first_trial(snap_compare, snapshot_app, size):
    snapshot_app.sensors.mvc_seconds = 5.5  # the kit stops 2.5 s into trial 1 (after the 3 s baseline)

    async def calibrate(pilot):
        await pilot.press("c")
        await _wait(pilot, _screen(pilot.app, "ChoiceDialog"))
        await pilot.press("enter")
        await _wait(pilot, lambda: getattr(pilot.app.screen, "protocol", None) is not None
                    and pilot.app.screen.protocol.position >= 5.5 * 2000)
        pilot.app.screen.refresh_view()

    assert snap_compare(snapshot_app, terminal_size=size, run_before=calibrate)


async def test_calibrating_from_the_live_screen_switches_its_bars_to_percent_mvc(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("enter")
        await _wait(pilot, _live_on(app))
        live = app.screen
        assert live.monitor.meter.units == ["µV"] * 4
        await pilot.press("c")
        await _wait(pilot, _screen(app, "ChoiceDialog"))
        await pilot.press("enter")  # glute max
        await _wait(pilot, lambda: getattr(app.screen, "protocol", None) is not None and app.screen.protocol.done)
        await pilot.press("a", "escape")
        await _wait(pilot, lambda: app.screen is live and live.monitor is not None
                    and live.monitor.meter.units != ["µV"] * 4)
        assert live.monitor.meter.units == ["%MVC", "%MVC", "µV", "µV"]


async def test_compensation_and_signal_quality_alerts(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(100, 30)) as pilot:
        live = await _alert_after_steering(pilot, "f5", "compensation: target share")  # the hamstrings take over
        live.monitor.source.steer(mains_hz=50, mains_uv=300.0)  # an electrode picking up hum
        await _wait(pilot, lambda: any("mains hum" in a and "(50 Hz)" in a for a in live.monitor.view().alerts))
        await _wait(pilot, lambda: "re-seat the" in str(live.query_one("#alerts").render()))


def _done_calibrating():
    async def run(pilot):
        await pilot.press("c")
        await _wait(pilot, _screen(pilot.app, "ChoiceDialog"))
        await pilot.press("enter")
        await _wait(pilot, lambda: getattr(pilot.app.screen, "protocol", None) is not None
                    and pilot.app.screen.protocol.done)
        pilot.app.screen.refresh_view()

    return run


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_calibration_done(snap_compare, snapshot_app, size):
    assert snap_compare(snapshot_app, terminal_size=size, run_before=_done_calibrating())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_placement(snap_compare, snapshot_app, size, monkeypatch):
    from coach_tui.ui.screens.placement_screen import PlacementScreen

    # The lights follow the live stream; the snapshot is of the layout as it first draws.
    monkeypatch.setattr(PlacementScreen, "refresh_quality", lambda self: None)
    assert snap_compare(snapshot_app, terminal_size=size, press=["p", "_"])


async def test_a_stale_calibration_is_offered_for_recalibration_on_opening_live(app_and_repo):
    from datetime import timedelta

    from coach_tui.domain.calibration import Calibration
    from coach_tui.domain.ids import now_utc
    from coach_tui.domain.placement import Placement
    from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
    from coach_tui.ui.screens.calibration_screen import CalibrationScreen

    app, repo = app_and_repo
    async with app.run_test(size=(100, 30)) as pilot:
        await _wait(pilot, _screen(app, "ClientsScreen"))
        client = repo.clients()[0]
        placed = {p.assignment.key: p for p in app.placements_for(client)}
        old = now_utc() - timedelta(days=app.config.calibration.max_age_days + 12)
        repo.add_calibration(Calibration("cal-old", client.id, "glute_max", "L", 400.0, "µV", (400.0,), 5.0, 1.0,
                                         old, placed["glute_max:L"]))
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        offer = app.screen
        assert "recalibrate" in offer.heading
        labels = dict(offer.options)
        assert "days ago" in labels["glute_max"] and "left glute max" in labels["glute_max"]
        await pilot.press("enter")  # the first option: recalibrate glute max
        await _wait(pilot, lambda: isinstance(app.screen, CalibrationScreen))
        assert app.screen.muscle == "glute_max"


async def test_what_the_trainer_set_stays_with_the_client_and_a_visit_is_one_session(tmp_path):
    clock = SteppedClock()
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        app = make_app(config, repo, clock=clock)
        async with app.run_test(size=(80, 24)) as pilot:
            streaming = lambda: _live_on(app)() and clock.waiting() > 0  # noqa: E731
            await pilot.press("enter")
            await until(pilot, streaming)
            first = app.screen
            await pilot.press("k", *"62.5", "enter", "u", *"squeeze at the top", "enter")
            await until(pilot, lambda: app.screen is first)
            await pilot.press("x")
            await until(pilot, lambda: app.screen is not first and app.screen.query("OptionList"))
            app.screen.query_one("OptionList").highlighted = list(app.exercises).index("glute_bridge")
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is first and first.monitor is not None
                        and first.monitor.exercise.key == "glute_bridge")
            await pilot.press("escape")  # back to the clients, and into the live screen again
            await until(pilot, _screen(app, "ClientsScreen"))
            await pilot.press("enter")
            await until(pilot, lambda: streaming() and app.screen is not first)
            live = app.screen
            live.refresh_view()
            header = str(live.query_one("#live-header").render())
            assert "Glute bridge" in header and "62.5 kg" in header and "cue: squeeze at the top" in header
            for _ in range(2):
                messages = []
                app.notify = lambda message, **kw: messages.append(message)
                await pilot.press("space")
                await clock.advance(8.0)
                await pilot.press("space")
                await until(pilot, _screen(app, "RatingDialog"))
                await pilot.press("escape")  # no rating
                await until(pilot, lambda: app.screen is live)
            assert messages[-1].startswith("set 2 saved: ")
            await pilot.press("escape")
            await until(pilot, _screen(app, "ClientsScreen"))
            await pilot.press("h")  # other screens in between do not start a new session
            await until(pilot, _screen(app, "HistoryScreen"))
            await pilot.press("escape")
            await until(pilot, _screen(app, "ClientsScreen"))
            await pilot.press("enter")
            await until(pilot, lambda: streaming() and app.screen is not live)
            await pilot.press("space")
            await clock.advance(6.0)
            await pilot.press("space")
            await until(pilot, lambda: not app.screen.monitor.recording if _live_on(app)() else True)
            await pilot.press("escape")
        (session,) = repo.sessions()
        stored = repo.sets(session.id)
    assert [s.index for s in stored] == [1, 2, 3] and session.status == "complete"
    assert all((s.exercise, s.load_kg, s.cue) == ("glute_bridge", 62.5, "squeeze at the top") for s in stored)
