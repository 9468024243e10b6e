"""What a trainer meets in a first hour, one Pilot test per promise: keys a trainer would guess, no
dead ends, input that cannot go wrong silently, the trainer's words. Sets run on a stepped clock."""

from __future__ import annotations

from dataclasses import replace

import pytest
from conftest import until
from test_ui import _config

from coach_tui.domain.client import Client
from coach_tui.domain.ids import now_utc
from coach_tui.sources.clock import SteppedClock
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.ui.app import TooSmallScreen, make_app
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.dialogs.rating_dialog import RatingDialog
from coach_tui.ui.screens.focus_screen import FocusScreen
from coach_tui.ui.screens.help_screen import HelpScreen
from coach_tui.ui.screens.live_screen import LiveScreen, PlannedSet

pytestmark = pytest.mark.usefixtures("isolated")


@pytest.fixture
def stepped(tmp_path):
    """The console on a stepped clock: (app, repo, clock)."""
    clock = SteppedClock()
    config = _config(tmp_path)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        yield make_app(config, repo, clock=clock), repo, clock


def said(app) -> list[str]:
    """Collect what the app notifies from now on."""
    messages: list[str] = []
    app.notify = lambda message, **kw: messages.append(message)
    return messages


async def _live(pilot) -> LiveScreen:
    await pilot.press("enter")
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, LiveScreen) and app.sensors.clock.waiting() > 0,
                what="the live screen streaming")
    return app.screen


# --- keys a trainer would guess ------------------------------------------------------------


async def test_the_focus_view_starts_and_stops_a_set_and_has_help_and_quit(stepped):
    app, repo, clock = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        live = await _live(pilot)
        await clock.advance(2.0)
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen))
        await pilot.press("space")
        assert live.monitor.recording
        await clock.advance(6.0)
        await pilot.press("question_mark")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "Start/stop set" in str(app.screen.query_one("#help-keys").render())
        await pilot.press("escape", "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        await pilot.press("escape", "space")  # stops the set from the focus view: the rating follows
        await until(pilot, lambda: isinstance(app.screen, RatingDialog))
        assert not live.monitor.recording
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, FocusScreen))
        await pilot.press("q")  # nothing recording: quits at once
        await until(pilot, lambda: app.return_code is not None, what="quitting")
    assert app.return_code == 0
    (session,) = repo.sessions()
    assert len(repo.sets(session.id)) == 1


async def test_q_during_a_set_asks_then_stops_and_keeps_it(stepped):
    app, repo, clock = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        live = await _live(pilot)
        await pilot.press("space")
        await clock.advance(8.0)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        assert "recording" in app.screen.heading
        await pilot.press("down", "enter")  # "keep recording"
        await until(pilot, lambda: app.screen is live)
        assert live.monitor.recording and app.is_running
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        await pilot.press("enter")  # "stop the set, keep it and quit"
        await until(pilot, lambda: app.return_code is not None, what="quitting")
    (session,) = repo.sessions()
    (stored,) = repo.sets(session.id)
    assert stored.duration_s == pytest.approx(8.0, abs=0.3) and session.status == "complete"


async def test_esc_leaves_the_search_box(stepped):
    app, repo, _ = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        await pilot.press("slash", "d", "e", "escape", "e")  # the next e edits, it is not typed
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientDialog")
        await pilot.press("escape")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        assert app.screen.query_one("#search").value == "de"
        await pilot.press("escape")  # from the table, Esc clears the search
        assert app.screen.query_one("#search").value == ""


async def test_below_80x24_space_still_stops_a_running_set_and_says_so(stepped):
    app, repo, clock = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        live = await _live(pilot)
        await pilot.press("space")
        await clock.advance(8.0)
        await pilot.resize_terminal(60, 20)
        await until(pilot, lambda: isinstance(app.screen, TooSmallScreen))
        small = app.screen
        assert "a set is recording: space stops it and keeps it" in str(small.query_one("#too-small").render())
        await pilot.press("space")
        await until(pilot, lambda: not live.monitor.recording, what="the set stopped")
        assert "set 1 stopped and kept" in str(small.query_one("#too-small").render())
        (session,) = repo.sessions()
        assert len(repo.sets(session.id)) == 1


async def test_an_ab_set_rings_and_stops_at_its_planned_reps_unless_continued(stepped):
    app, repo, clock = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: repo.clients(), what="the demo client")
        client = repo.clients()[0]
        rings = []
        app.bell = lambda: rings.append(1)
        hip = app.exercises["hip_thrust"]
        results = []
        for go_on in (False, True):
            screen = LiveScreen(client, hip.key, PlannedSet(hip, "A/B set 1 of 2 (variation A)", "banner", 2))
            app.push_screen(screen, results.append)
            await until(pilot, lambda: app.screen is screen and clock.waiting() > 0, what="the set streaming")
            await clock.advance(2.0)
            await pilot.press("space")
            if go_on:
                await pilot.press("n")
            for _ in range(100):
                await clock.advance(0.5)
                await pilot.pause(0.06)  # the screen's refresh sees the reps
                if not screen.monitor.recording or len(screen.monitor.view().reps) >= 4:
                    break
            if go_on:
                assert screen.monitor.recording and len(screen.monitor.view().reps) >= 4  # it went on past 2
                await pilot.press("space")
            else:
                assert not screen.monitor.recording and rings  # it stopped itself, with the bell
            await until(pilot, lambda: isinstance(app.screen, RatingDialog))
            await pilot.press("escape")  # no rating
            await until(pilot, lambda: len(results) == (2 if go_on else 1), what="the planned set returned")
        assert [len(r.reps) for r in results][0] == 2


# --- no dead ends --------------------------------------------------------------------------


async def test_an_exercise_whose_target_has_no_sensor_says_so_before_the_set(stepped):
    app, repo, clock = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        live = await _live(pilot)
        messages = said(app)
        await pilot.press("x")
        await until(pilot, lambda: app.screen is not live and app.screen.query("OptionList"))
        app.screen.query_one("OptionList").highlighted = list(app.exercises).index("back_squat")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is live and live.monitor.exercise.key == "back_squat")
        assert any("target, the vastus lateralis, has no sensor" in m for m in messages)
        await pilot.press("space")
        await until(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        offer = app.screen
        assert "vastus lateralis" in offer.heading
        assert [key for key, _ in offer.options] == ["place", "record", "cancel"]
        await pilot.press("down", "enter")  # record anyway
        await until(pilot, lambda: app.screen is live)
        assert live.monitor.recording
        await clock.advance(6.0)
        await pilot.press("space")
        await until(pilot, lambda: any("saved with no reps: no sensor on the vastus lateralis" in m for m in messages))
        assert not live.monitor.recording and app.screen is live  # no reps: nothing to rate
        await pilot.press("space", "enter")  # the offer again: placement
        await until(pilot, lambda: app.screen.__class__.__name__ == "PlacementScreen")


async def test_eight_sensors_placement_fits_80_columns(tmp_path):
    from textual.widgets import DataTable

    from coach_tui.ui.screens.placement_screen import PlacementScreen

    config = _config(tmp_path)
    config = replace(config, simulation=replace(config.simulation, sensors=8))
    with Database(config.sessions_dir) as database:
        app = make_app(config, Repository(database), clock=SteppedClock())
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, PlacementScreen) and app.screen.query(DataTable))
            table = app.screen.query_one(DataTable)
            assert table.row_count == 8
            assert table.virtual_size.width <= 80, table.virtual_size


def test_one_sensor_per_muscle_and_side_a_second_assignment_swaps_saying_which():
    from coach_tui.domain.placement import Placement
    from coach_tui.ui.screens.placement_screen import assigned

    placed = [Placement("glute_max", "L", "s1"), Placement("glute_max", "R", "s2"), Placement("hamstrings", "L", "s3")]
    now, words = assigned(placed, placed[2], "glute_max", "L")
    assert [(p.sensor_id, p.label) for p in now] == [("s1", "left hamstrings"), ("s2", "right glute max"),
                                                    ("s3", "left glute max")]
    assert words == ("s3 is now on the left glute max; s1, which was there, moved to the left hamstrings "
                     "(one sensor per muscle and side)")
    now, words = assigned(placed, placed[0], "glute_med", "L")
    assert [p.label for p in now] == ["left glute med", "right glute max", "left hamstrings"]
    assert words == "s1 is now on the left glute med"


# --- input that cannot go wrong silently -----------------------------------------------------


async def test_search_ignores_accents_and_case_and_says_when_nothing_matches(stepped):
    app, repo, _ = stepped
    repo.add_client(Client("c-zoe", "Zoë Ørsted", created=now_utc()))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        table = app.screen.query_one("DataTable")
        await pilot.press("slash", *"zoe orsted")
        await until(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[0] == "Zoë Ørsted"
        await pilot.press("ctrl+u", *"xyz")
        await until(pilot, lambda: table.row_count == 0)
        assert "no client matches 'xyz'" in str(app.screen.query_one("#status-line").render())


async def test_a_long_name_is_cut_on_screen_and_in_file_names(stepped):
    from coach_tui.reports.client_report import report_path

    app, repo, _ = stepped
    long = "Maximiliana " + "Alexandrovna-" * 15 + "Ørsted"
    client = repo.add_client(Client("c-long", long, created=now_utc()))
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        table = app.screen.query_one("DataTable")
        await until(pilot, lambda: table.row_count >= 1)
        names = [table.get_row_at(i)[0] for i in range(table.row_count)]
        assert any(n.startswith("Maximiliana") and n.endswith("…") and len(n) <= 24 for n in names)
        assert table.virtual_size.width <= 80  # the calibrated column stays on screen
    path = report_path(app.config.sessions_dir, client, "html", now_utc())
    assert len(path.name) <= 60 and path.name.startswith("maximiliana-alexandrovna")


# --- the trainer's words ---------------------------------------------------------------------


async def test_the_client_dialog_says_what_is_wrong_keeps_what_was_typed_and_clears_once_fixed(stepped):
    app, repo, _ = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        await pilot.press("n")
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientDialog")
        dialog = app.screen
        error = dialog.query_one("#dialog-error")
        await pilot.press("enter")
        await until(pilot, lambda: str(error.render()) == "Give the client a name")
        await pilot.press(*"Demo client")  # the seeded client's name
        await until(pilot, lambda: str(error.render()) == "")  # the name is there now
        await pilot.press("enter")
        await until(pilot, lambda: "already a client named Demo client" in str(error.render()))
        assert app.screen is dialog  # refused, not closed
        assert dialog.query_one("#name").value == "Demo client"
        await pilot.press(*" 2")
        await until(pilot, lambda: str(error.render()) == "")
        await pilot.press("enter")
        await until(pilot, lambda: repo.find_client("Demo client 2") is not None)


async def test_the_ab_plan_says_what_a_number_must_be_without_field_names(stepped):
    from coach_tui.ui.dialogs.abtest_plan_dialog import ABTestPlanDialog

    app, repo, _ = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: app.screen.__class__.__name__ == "ClientsScreen")
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        plan = app.screen
        await pilot.press("space", "down", "space")
        plan.query_one("#abplan-sets").value = "0"
        await until(pilot, lambda: "is not possible" in str(plan.query_one("#abplan-order").render()))
        order = str(plan.query_one("#abplan-order").render())
        assert "sets each: 0 is not possible — 1 to 8 sets of each variation" in order
        assert "ABPlanSettings" not in order and "sets_per_variation" not in order
        # the picked variations read without colour: a tick, not only a colour
        lines = [plan.query_one("#abplan-variations").render_line(y).text for y in range(3)]
        assert lines[0].count("✓") == 1 and lines[1].count("✓") == 1 and "✓" not in lines[2]


async def test_formulas_are_in_help_not_on_the_live_screen(stepped):
    app, repo, _ = stepped
    async with app.run_test(size=(80, 24)) as pilot:
        live = await _live(pilot)
        live.refresh_view()
        assert "max − min" not in live.query_one("#bars").plain
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        assert "(max − min) / max × 100" in str(app.screen.query_one("#help-notes").render())
