"""One A/B test: the plan and its progress, the rest between sets, each set on the live screen, and
the report (per variation, differences, verdict, drift warnings, the activation caveat).

Each set's reps come from the stored set; the target's median frequency per rep is read from the
set's raw samples (``coach_tui.workflows.rep_frequencies``: each target channel over the rep, averaged over
left and right) for the fatigue warning.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from functools import partial

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from coach_tui.domain.ab_variations import variation_exercise, variation_names, variation_origin
from coach_tui.domain.abtest import ABPlanSettings, ABTest
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.session import SetRecord, complete_reps
from coach_tui.domain.names import cut
from coach_tui.statistics.ab_statistics import (
    DIFFERENCE_FORMULA,
    EFFECT_SIZE_FORMULA,
    PEAK_FORMULA,
    ABReport,
    Estimate,
    analyze_named,
    estimate_text,
    level_text,
    record_verdict,
)
from coach_tui.workflows.rep_frequencies import rep_median_frequencies
from coach_tui.ui.dialogs.abtest_plan_dialog import LETTERS, words
from coach_tui.ui.screens.calibration_screen import CalibrationScreen
from coach_tui.ui.screens.live_screen import LiveScreen, PlannedSet


def abtest_label(test: ABTest, library: Mapping[str, Exercise]) -> str:
    """One line naming a test and where it stands, for choosing which one to continue."""
    names = " vs ".join(f"{LETTERS[i]} {variation_exercise(v, test.target_muscle, library).name}"
                        for i, v in enumerate(test.variations))
    position = test.next_position
    status = f"next: set {position + 1} of {len(test.order)}" if position is not None else test.verdict or "done"
    return f"{test.created.astimezone():%Y-%m-%d} {words(test.target_muscle)}: {names} — {status}"


def _mean(value: Estimate | None, form: str) -> str:
    return "—" if value is None else format(value.mean, form)


class ABTestScreen(Screen):
    """Space runs the next planned set on the live screen (and skips the rest); the report follows each set."""

    TITLE = "A/B test"
    BINDINGS = [
        Binding("space", "next_set", "Next set", id="abtest.next"),
        Binding("c", "calibrate", "Calibrate target", id="abtest.calibrate"),
        Binding("h", "history", "History", id="abtest.history"),
        Binding("escape", "back", "Back", id="abtest.back"),
    ]

    def __init__(self, client: Client, test: ABTest, plan: ABPlanSettings):
        super().__init__()
        self.client = client
        self.test = test
        self.plan = plan
        self.exercises: list[Exercise] = []
        self.message = ""  # what happened to the last set, when it needs saying
        self._saving: int | None = None  # the set position whose reps are being read
        self._rest_until: float | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="ab-plan")
        yield Static("", id="ab-progress")
        with VerticalScroll(id="ab-report"):
            yield Static("", id="ab-table")
            yield Static("", id="ab-comparisons")
            yield Static("", id="ab-verdict")
            yield Static("", id="ab-warnings")
            yield Static("", id="ab-notes")
        yield Static("", id="ab-caveat")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.exercises = [variation_exercise(v, self.test.target_muscle, self.app.exercises) for v in self.test.variations]
        self._rest_timer = self.set_interval(1.0, self._show_progress, pause=True)
        self._store_verdict_when_done()
        self._show()

    def on_screen_suspend(self) -> None:
        self._rest_timer.pause()

    def on_screen_resume(self) -> None:
        if self._rest_until is not None:
            self._rest_timer.resume()
        self._show()

    # -- statistics and names ---------------------------------------------------------------

    def _report(self) -> ABReport:
        """The statistics of the test's reps, each variation called by its exercise's name."""
        names = variation_names(self.test.variations, self.test.target_muscle, self.app.exercises)
        return analyze_named(self.test, names, self.app.config.ab_statistics)

    def _planned(self, position: int) -> tuple[str, Exercise]:
        index = self.test.order[position]
        return LETTERS[index], self.exercises[index]

    # -- what the screen shows --------------------------------------------------------------

    def _show(self) -> None:
        report = self._report()
        with self.app.batch_update():
            self.query_one("#ab-plan", Static).update(self._plan_text())
            self._show_progress()
            self.query_one("#ab-table", Static).update(self._table(report))
            self._show_text("#ab-comparisons", self._comparisons(report))
            self.query_one("#ab-verdict", Static).update(self._verdict(report))
            self._show_text("#ab-warnings", "\n".join(f"⚠ {w}" for w in report.warnings))
            self._show_text("#ab-notes", self._notes())
            self.query_one("#ab-caveat", Static).update(report.caveat)

    def _show_text(self, selector: str, text: str) -> None:
        """Update a Static, hiding it while it has nothing to say."""
        static = self.query_one(selector, Static)
        static.update(text)
        static.display = bool(text)

    def _plan_text(self) -> str:
        test, done = self.test, {rep.set_position for rep in self.test.reps}
        marks = []
        for position, index in enumerate(test.order):
            letter = LETTERS[index]
            marks.append(f"{letter}✓" if position in done else f"▸{letter}" if position == test.next_position else letter)
        return (f"{cut(self.client.name, 24)} · {words(test.target_muscle)} · started {test.created.astimezone():%Y-%m-%d} · "
                f"{self.plan.reps_per_set} reps a set · rest {self.plan.rest_seconds:g} s\n"
                f"order: {' '.join(marks)}   (✓ done, ▸ next)")

    def _progress(self) -> str:
        position = self.test.next_position
        if position is None:
            return f"all {len(self.test.order)} sets done — the verdict is stored in {cut(self.client.name, 24)}'s history (h)"
        if self._saving is not None:
            return f"saving set {self._saving + 1} …"
        letter, exercise = self._planned(position)
        planned = f"set {position + 1} of {len(self.test.order)}: {letter} = {exercise.name}"
        uncalibrated = self._uncalibrated()
        if uncalibrated:
            return f"⚠ {uncalibrated}"
        rest = self._rest_left()
        if rest > 0:
            return f"rest {rest:.0f} s — next: {planned} · space starts it now"
        return f"next: {planned}, {self.plan.reps_per_set} reps — space starts it"

    def _show_progress(self) -> None:
        if self._rest_until is not None and self._rest_left() <= 0:
            self._end_rest()
            self.app.bell()
        lines = [self._progress(), *([self.message] if self.message else [])]
        self.query_one("#ab-progress", Static).update("\n".join(lines))

    def _table(self, report: ABReport) -> Table:
        """Peak and mean %MVC with their intervals; target share, asymmetry and median frequency as means
        (the caption says so). Names wrap rather than the numbers at 80 columns."""
        interval = f"[{level_text(report.settings.confidence)} CI]"
        table = Table(box=None, padding=(0, 1), pad_edge=False, show_edge=False, header_style="bold",
                      caption="target share, asymmetry and MDF (median frequency): means over the reps",
                      caption_justify="left", caption_style="dim")
        table.add_column("variation", min_width=12)
        for column in ("reps", f"peak %MVC\n{interval}", f"mean %MVC\n{interval}", "target\nshare", "asym\n%",
                       "MDF\nHz"):
            table.add_column(column, justify="right", no_wrap=True)
        for letter, summary in zip(LETTERS, report.summaries):
            table.add_row(f"{letter} {summary.variation}", f"{summary.reps}", estimate_text(summary.peak),
                          estimate_text(summary.mean), _mean(summary.target_share, ".0%"),
                          _mean(summary.asymmetry, ".0f"), _mean(summary.median_frequency, ".0f"))
        return table

    def _comparisons(self, report: ABReport) -> str:
        letters = dict(zip(report.variations, LETTERS))
        return "\n".join(c.words(letters) for c in report.comparisons)

    def _verdict(self, report: ABReport) -> str:
        letter = dict(zip(report.variations, LETTERS))
        needs = ", ".join(f"{n} more rep{'' if n == 1 else 's'} of {letter[v]}" for v, n in report.needs_reps.items())
        return f"verdict: {report.verdict}" + (f" (needs {needs})" if needs else "")

    def _notes(self) -> str:
        """Where each typed-in variation comes from (the formulas are in ? help)."""
        origins = [variation_origin(e, self.app.exercises) for e in self.exercises]
        return "\n".join(o for o in origins if not o.endswith("from the library"))

    def help_notes(self) -> str:
        """How the A/B numbers are made, for ? help."""
        return "\n".join(["How the numbers are made:", PEAK_FORMULA, DIFFERENCE_FORMULA, EFFECT_SIZE_FORMULA])

    def _uncalibrated(self) -> str | None:
        """Why sets of the target cannot be in %MVC yet, or None."""
        muscle = self.test.target_muscle
        placed = [p.assignment for p in self.app.placements_for(self.client) if p.muscle == muscle]
        if not placed:
            return f"no sensor is on the {words(muscle)}: place one first (p on the live or clients screen)"
        calibrated = self.app.repo.latest_calibrations(self.client.id)
        missing = [a.label for a in placed if a.key not in calibrated]
        if missing:
            return (f"{', '.join(missing)} not calibrated: A/B tests compare %MVC — press c to calibrate the "
                    f"{words(muscle)} first")
        return None

    # -- rest -------------------------------------------------------------------------------

    def _rest_left(self) -> float:
        return 0.0 if self._rest_until is None else max(0.0, self._rest_until - time.monotonic())

    def _start_rest(self) -> None:
        if self.plan.rest_seconds > 0:
            self._rest_until = time.monotonic() + self.plan.rest_seconds
            self._rest_timer.resume()

    def _end_rest(self) -> None:
        self._rest_until = None
        self._rest_timer.pause()

    # -- sets -------------------------------------------------------------------------------

    def action_next_set(self) -> None:
        position = self.test.next_position
        if position is None:
            self.notify("all sets of this test are done")
            return
        problem = "wait: the last set is being saved" if self._saving is not None else self._uncalibrated()
        if problem:
            self.notify(problem, severity="warning")
            return
        self._end_rest()
        self.message = ""
        letter, exercise = self._planned(position)
        name = f"A/B set {position + 1} of {len(self.test.order)} (variation {letter})"
        banner = f"{name}: {exercise.name} · {self.plan.reps_per_set} reps · Esc back to the test"
        screen = LiveScreen(self.client, exercise.key, PlannedSet(exercise, name, banner, self.plan.reps_per_set))
        self.app.push_screen(screen, partial(self._set_recorded, position))

    def _set_recorded(self, position: int, record: SetRecord | None) -> None:
        if record is None or not complete_reps(record.reps):
            why = ("not recorded" if record is None else "had no reps" if not record.reps
                   else "had no rep measured whole (a sensor was lost)")
            self.message = f"set {position + 1} {why} — space does it again"
            self._show()
            return
        self._saving = position
        session = self.app.repo.session(record.session_id)
        self._read_frequencies(position, record, self.app.config.sessions_dir / session.folder / record.recording)
        self._show()

    @work(thread=True, exclusive=True, group="abtest-set")
    def _read_frequencies(self, position: int, record: SetRecord, prefix) -> None:
        try:
            frequencies, note = rep_median_frequencies(prefix, record.reps), ""
        except (OSError, KeyError, ValueError) as error:
            frequencies, note = [], f"median frequency of set {position + 1} unavailable: {error}"
        self.app.call_from_thread(self._add_set, position, record, frequencies, note)

    def _add_set(self, position: int, record: SetRecord, frequencies: list[float | None], note: str) -> None:
        self._saving = None
        try:
            self.test = self.test.with_set(position, record, frequencies)
        except ValueError as error:
            self.message = f"set {position + 1} not counted: {error}"
            self._show()
            return
        self.message = note
        self.app.repo.save_abtest(self.test)
        if self.test.next_position is not None:
            self._start_rest()
        self._store_verdict_when_done()
        self._show()

    def _store_verdict_when_done(self) -> None:
        """Once every planned set has reps, store the verdict and warnings with the test."""
        if self.test.next_position is None and not self.test.verdict:
            self.test = record_verdict(self.test, self._report())
            self.app.repo.save_abtest(self.test)

    # -- other screens ----------------------------------------------------------------------

    def action_calibrate(self) -> None:
        self.app.push_screen(CalibrationScreen(self.client, self.test.target_muscle))

    def action_history(self) -> None:
        self.app.open_history(self.client)

    def action_back(self) -> None:
        if self._saving is not None:
            self.notify("wait: the last set is being saved", severity="warning")
            return
        self.dismiss()
