"""The A/B test as a trainer runs it: plan, four sets on the live screen, the report, history; the
uncalibrated target, a typed-in variation, resuming; snapshots of the plan and the results."""

import io
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from rich.console import Console
from rich.table import Table
from test_ui import _config, _live_on, _screen, _wait
from textual.widgets import DataTable, OptionList, Static

from coach_tui.domain.abtest import ABPlanSettings, ABRep, ABTest, counterbalanced_order
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.ids import now_utc
from coach_tui.domain.session import RepMetrics, SetRecord
from coach_tui.domain.set_choices import SetChoices
from coach_tui.sources.clock import SteppedClock
from coach_tui.statistics.ab_statistics import ACTIVATION_CAVEAT, NO_CLEAR_DIFFERENCE, analyze_named, estimate_text
from coach_tui.store.database import Database
from coach_tui.store.repository import Repository
from coach_tui.ui.app import make_app
from coach_tui.ui.dialogs.abtest_plan_dialog import ABTestPlanDialog, order_letters
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.screens.abtest_screen import ABTestScreen
from coach_tui.ui.screens.calibration_screen import CalibrationScreen
from coach_tui.ui.screens.history import HistoryScreen
from coach_tui.ui.screens.live_screen import LiveScreen

pytestmark = pytest.mark.usefixtures("isolated")

#: Small sets and no rest, so a whole test runs in seconds.
PLAN = ABPlanSettings(sets_per_variation=2, reps_per_set=3, rest_seconds=0.0)


@pytest.fixture
def app_and_repo(tmp_path):
    """The console on a stepped clock (the simulated kit streams while a test waits, see ``_wait``)."""
    config = _config(tmp_path, ab_plan=PLAN)
    with Database(config.sessions_dir) as database:
        repo = Repository(database)
        yield make_app(config, repo, clock=SteppedClock()), repo


def text(screen, selector: str) -> str:
    """What a Static shows, as plain text (a Rich table printed 120 columns wide)."""
    static = screen.query_one(selector, Static)
    if isinstance(static.content, Table):
        console = Console(width=120, file=io.StringIO())
        with console.capture() as captured:
            console.print(static.content)
        return captured.get()
    return str(static.render())


def calibrate_glutes(app, client) -> None:
    """Both glutes calibrated (a reference in the simulated kit's range), without running the protocol."""
    placed = {p.assignment.key: p for p in app.placements_for(client)}
    for side in "LR":
        app.repo.add_calibration(Calibration(f"cal-{side}", client.id, "glute_max", side, 400.0, "µV", (400.0,),
                                             5.0, 1.0, now_utc(), placed[f"glute_max:{side}"]))


async def run_set(pilot, ab: ABTestScreen, reps: int) -> Exercise:
    """Space on the A/B screen, a set of at least ``reps`` reps on the live screen, rated 7; returns
    the exercise the live screen recorded."""
    app = pilot.app
    position = ab.test.next_position
    await pilot.press("space")
    await _wait(pilot, lambda: isinstance(app.screen, LiveScreen) and _live_on(app)())
    live = app.screen
    exercise = live.monitor.exercise
    await pilot.press("space")
    await _wait(pilot, lambda: len(live.monitor.view().reps) >= reps)
    await pilot.press("space")
    await _wait(pilot, _screen(app, "RatingDialog"))
    await pilot.press("7")
    await _wait(pilot, lambda: app.screen is ab and ab._saving is None and ab.test.next_position != position)
    return exercise


# --- flows ---------------------------------------------------------------------------------


async def test_plan_run_four_sets_and_the_report_matches_the_store(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", *"Ana Díaz", "enter")
        await _wait(pilot, lambda: repo.find_client("ana díaz") is not None and _screen(app, "ClientsScreen")())
        ana = repo.find_client("ana díaz")
        app.screen.query_one(DataTable).move_cursor(row=[c.name for c in repo.clients()].index("Ana Díaz"))

        # Calibrate the target, glute max, with the protocol.
        await pilot.press("c")
        await _wait(pilot, _screen(app, "ChoiceDialog"))
        await pilot.press("enter")
        await _wait(pilot, lambda: getattr(app.screen, "protocol", None) is not None and app.screen.protocol.done)
        await pilot.press("a", "escape")
        await _wait(pilot, lambda: _screen(app, "ClientsScreen")() and len(repo.latest_calibrations(ana.id)) == 2)

        # Plan: hip thrust and cable pull-through for the glutes, proposed A B B A.
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        plan = app.screen
        assert plan.target == "glute_max"
        await pilot.press("space", "down", "down", "space")
        await _wait(pilot, lambda: "order: A B B A  ·  A Hip thrust  B Cable pull-through" in text(plan, "#abplan-order"))
        await pilot.press("tab", "enter")  # Enter in a field starts the test
        await _wait(pilot, lambda: isinstance(app.screen, ABTestScreen))
        ab = app.screen
        assert "next: set 1 of 4: A = Hip thrust, 3 reps" in text(ab, "#ab-progress")

        repo.save_set_choices(ana.id, SetChoices(load_kg=40.0))  # what the trainer set on the live screen
        messages = []
        app.notify = lambda message, **kw: messages.append(message)
        done = []
        for _ in range(4):
            done.append((await run_set(pilot, ab, PLAN.reps_per_set)).key)
        assert "all 4 sets done" in text(ab, "#ab-progress")
        saved = [m.split(" saved")[0] for m in messages if " saved: " in m]
        assert saved == [f"A/B set {n} of 4 (variation {letter})" for n, letter in zip((1, 2, 3, 4), "ABBA")]
        (visit,) = repo.sessions(ana.id)  # one session for the visit, the sets numbered in it, with their load
        assert [(r.index, r.load_kg) for r in repo.sets(visit.id)] == [(n, 40.0) for n in (1, 2, 3, 4)]

        test = repo.abtest(ab.test.id)
        assert order_letters(test.order) == "A B B A"
        assert done == list(test.planned_sets) == ["hip_thrust", "cable_pull_through", "cable_pull_through", "hip_thrust"]
        stored = {r.id: r for s in repo.sessions(ana.id) for r in repo.sets(s.id)}
        for position in range(4):
            reps = [r for r in test.reps if r.set_position == position]
            (set_id,) = {r.set_id for r in reps}
            record = stored[set_id]
            assert record.exercise == test.planned_sets[position] and record.perceived_activation == 7
            assert [r.peak for r in reps] == [m.peak for m in record.reps]
            assert all(20.0 < r.median_frequency_hz < 450.0 for r in reps)

        # The statistics of the stored reps, variations called by their exercises' names.
        expected = analyze_named(test, ("Hip thrust", "Cable pull-through"), app.config.ab_statistics)
        winner = None if expected.winner is None else test.variations[expected.variations.index(expected.winner)]
        assert test.verdict == expected.verdict and test.winner == winner
        assert expected.verdict == NO_CLEAR_DIFFERENCE or expected.verdict.startswith(f"{expected.winner} wins")
        assert f"verdict: {expected.verdict}" in text(ab, "#ab-verdict")
        assert ACTIVATION_CAVEAT in text(ab, "#ab-caveat")
        table = text(ab, "#ab-table")
        for summary in expected.summaries:
            assert estimate_text(summary.peak) in table and estimate_text(summary.mean) in table
        (comparison,) = expected.comparisons
        assert text(ab, "#ab-comparisons") == comparison.words({"Hip thrust": "A", "Cable pull-through": "B"})

        # History shows the same numbers and verdict, recomputed from the stored reps.
        await pilot.press("h")
        await _wait(pilot, lambda: isinstance(app.screen, HistoryScreen))
        history = app.screen
        picker = history.query_one(OptionList)
        picker.highlighted = [item.label for item in history.items].index("A/B tests")
        await _wait(pilot, lambda: expected.verdict in text(history, "#history-note"))
        rows = history.query_one(DataTable)
        shown = [rows.get_row_at(i) for i in range(1, 4)]
        assert shown == [*([f"{letter} {s.variation}", estimate_text(s.peak), "", estimate_text(s.mean), str(s.reps)]
                           for letter, s in zip("AB", expected.summaries)),
                         [f"{'AB'[expected.variations.index(comparison.better)]} − "
                          f"{'AB'[expected.variations.index(comparison.worse)]}",
                          comparison.interval_text, comparison.hedges_g_text, "", ""]]


async def test_an_uncalibrated_target_is_named_and_no_set_starts(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        await pilot.press("space", "down", "space", "tab", "enter")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestScreen))
        ab = app.screen
        progress = text(ab, "#ab-progress")
        assert "left glute max, right glute max not calibrated: A/B tests compare %MVC" in progress
        assert "press c to calibrate the glute max first" in progress
        warned = []
        app.notify = lambda message, **kw: warned.append(message)
        await pilot.press("space")
        await _wait(pilot, lambda: warned)  # the key was taken: a warning instead of a set
        assert app.screen is ab and "not calibrated" in warned[0]

        # A set in µV that reaches the test anyway is refused in words, not with a crash.
        microvolts = RepMetrics(1, 1.0, 2.0, 310.0, 150.0, 0.4, "µV", "glute_max", None)
        ab._add_set(0, SetRecord("set-uv", "s-1", 1, "hip_thrust", now_utc(), reps=(microvolts,)), [], "")
        await _wait(pilot, lambda: "not counted" in text(ab, "#ab-progress"))
        assert "set 1 not counted: A/B tests compare %MVC, but this set is in µV" in text(ab, "#ab-progress")
        assert not repo.abtest(ab.test.id).reps

        await pilot.press("c")
        await _wait(pilot, lambda: isinstance(app.screen, CalibrationScreen))
        assert app.screen.muscle == "glute_max"


async def test_a_typed_in_variation_is_explained_and_recorded_with_its_own_exercise(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, _screen(app, "ClientsScreen"))
        client = repo.clients()[0]
        calibrate_glutes(app, client)
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        plan = app.screen
        await pilot.press("tab", *"Banded hip-thrust, cable pull-through")
        await _wait(pilot, lambda: "Banded hip thrust: typed in" in text(plan, "#abplan-notes"))
        notes = text(plan, "#abplan-notes")
        assert "Banded hip thrust: typed in; measured like Hip thrust (synergists: hamstrings, erector spinae)" in notes
        assert "Cable pull-through" not in notes  # typed, but a library exercise: nothing to explain
        assert "A Banded hip thrust  B Cable pull-through" in text(plan, "#abplan-order")
        await pilot.press("enter")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestScreen))
        ab = app.screen
        assert ab.test.variations == ("banded_hip_thrust", "cable_pull_through")
        assert "typed in; measured like Hip thrust" in text(ab, "#ab-notes")

        exercise = await run_set(pilot, ab, PLAN.reps_per_set)
        assert (exercise.key, exercise.target, exercise.synergists) == ("banded_hip_thrust", "glute_max",
                                                                        ("hamstrings", "erector_spinae"))
        test = repo.abtest(ab.test.id)
        assert {r.variation for r in test.reps} == {"banded_hip_thrust"} and test.next_position == 1
        assert "A Banded hip thrust" in text(ab, "#ab-table")


async def test_a_plan_needs_two_to_four_variations(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        await pilot.press("space", "tab", "enter")
        await _wait(pilot, lambda: "pick 2–4 variations" in str(app.screen.query_one("#dialog-error").render()))
        assert isinstance(app.screen, ABTestPlanDialog)


async def test_the_plan_says_what_its_number_of_sets_cannot_balance(app_and_repo):
    app, _ = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestPlanDialog))
        plan = app.screen
        await pilot.press("space", "down", "space")

        def sets_in_order() -> int:
            return len(text(plan, "#abplan-order").split("order: ")[1].split("  ·")[0].split())

        async def sets_each(count: str, variations: int = 2) -> str:
            plan.query_one("#abplan-sets").focus()
            await pilot.press("end", "backspace", "backspace", *count)
            await _wait(pilot, lambda: sets_in_order() == int(count) * variations)  # the order follows the field
            return text(plan, "#abplan-order")

        assert "⚠" not in await sets_each("2")  # A B B A: balanced
        shown = await sets_each("1")
        assert shown.startswith("order: A B  ·")
        assert "⚠ 1 set per variation: drift between first and last sets cannot be checked" in shown
        assert "⚠ 3 sets per variation: an odd number leaves the order unbalanced by position" in await sets_each("3")

        plan.query_one("#abplan-typed").focus()
        await pilot.press(*"cable pull-through")
        shown = await sets_each("2", 3)  # A B C C B A cancels a linear drift, but is not a whole Williams design
        assert shown.count("⚠") == 1
        assert "⚠ 6 sets per variation give a fully balanced (Williams) order of 3 variations" in shown
        assert "⚠" not in await sets_each("6", 3)


async def test_an_unfinished_test_is_continued_at_its_next_set(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, _screen(app, "ClientsScreen"))
        client = repo.clients()[0]
        older = ABTest("ab-old", client.id, "glute_max", ("hip_thrust", "glute_bridge"), (0, 1, 1, 0),
                       datetime(2025, 3, 1, 12, tzinfo=UTC))
        newer = ABTest("ab-new", client.id, "glute_max", ("hip_thrust", "cable_pull_through"), (0, 1, 1, 0),
                       datetime(2025, 3, 8, 12, tzinfo=UTC),
                       reps=tuple(ABRep("hip_thrust", 0, "", i, 60.0 + i, 30.0) for i in range(3)))
        repo.save_abtest(older)
        repo.save_abtest(newer)
        await pilot.press("a")
        await _wait(pilot, lambda: isinstance(app.screen, ChoiceDialog))
        keys = [key for key, _ in app.screen.options]
        assert keys == ["new", "ab-new", "ab-old"]
        assert "2025-03-08 glute max: A Hip thrust vs B Cable pull-through — next: set 2 of 4" in app.screen.options[1][1]
        await pilot.press("down", "enter")
        await _wait(pilot, lambda: isinstance(app.screen, ABTestScreen))
        ab = app.screen
        assert ab.test.id == "ab-new"
        assert "order: A✓ ▸B B A" in text(ab, "#ab-plan")
        assert f"verdict: {NO_CLEAR_DIFFERENCE} (needs 2 more reps of B)" in text(ab, "#ab-verdict")


# --- snapshots -----------------------------------------------------------------------------


def fixed_test(client_id: str) -> ABTest:
    """A finished hip thrust vs cable pull-through test with fixed reps: B higher, median frequency falling."""
    peaks = {0: (61, 64, 58, 63), 1: (74, 78, 71, 76), 2: (72, 75, 70, 77), 3: (57, 60, 55, 59)}
    variations = ("hip_thrust", "cable_pull_through")
    order = counterbalanced_order(2, 2)
    reps = tuple(
        ABRep(variations[order[position]], position, f"set-{position}", i, float(peak), round(peak * 0.55, 1),
              0.62 + 0.02 * i, 4.0 + i, 120.0 - 6.0 * position - i)
        for position, set_peaks in peaks.items() for i, peak in enumerate(set_peaks)
    )
    return ABTest("ab-fixed", client_id, "glute_max", variations, order, datetime(2025, 3, 8, 12, tzinfo=UTC), reps)


@pytest.fixture
def snapshot_app(tmp_path):
    config = _config(tmp_path, ab_plan=replace(PLAN, reps_per_set=6, rest_seconds=90.0))
    with Database(config.sessions_dir) as database:
        yield make_app(config, Repository(database), clock=SteppedClock())


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_abtest_plan(snap_compare, snapshot_app, size):
    # Hip thrust picked, a variation typed in, focus back on the list (no blinking cursor).
    keys = ["a", "_", "space", "tab", *"banded hip thrust", "shift+tab", "_"]
    assert snap_compare(snapshot_app, terminal_size=size, press=keys)


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_snapshot_abtest_results(snap_compare, snapshot_app, size):
    async def open_results(pilot):
        app = pilot.app
        await _wait(pilot, _screen(app, "ClientsScreen"))
        test = fixed_test(app.repo.clients()[0].id)
        app.repo.save_abtest(test)
        app.push_screen(ABTestScreen(app.repo.clients()[0], test, app.config.ab_plan))
        await _wait(pilot, lambda: isinstance(app.screen, ABTestScreen) and app.screen.query("#ab-verdict")
                    and "verdict:" in text(app.screen, "#ab-verdict"))

    assert snap_compare(snapshot_app, terminal_size=size, run_before=open_results)


async def test_a_finished_test_stores_the_verdict_naming_the_winner(app_and_repo):
    app, repo = app_and_repo
    async with app.run_test(size=(80, 24)) as pilot:
        await _wait(pilot, _screen(app, "ClientsScreen"))
        client = repo.clients()[0]
        test = fixed_test(client.id)
        repo.save_abtest(test)
        app.push_screen(ABTestScreen(client, test, PLAN))
        await _wait(pilot, lambda: repo.abtest(test.id).verdict)
        stored = repo.abtest(test.id)
        assert stored.winner == "cable_pull_through"
        assert stored.verdict == "Cable pull-through wins — higher peak %MVC of the target than Hip thrust"
        assert stored.warnings and stored.warnings[0].startswith("fatigue: median frequency fell")
        assert f"verdict: {stored.verdict}" in text(app.screen, "#ab-verdict")
        assert "⚠ fatigue: median frequency fell" in text(app.screen, "#ab-warnings")
