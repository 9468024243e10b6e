"""The live screen: one bar per muscle side in %MVC, alerts, reps, and sets recorded into the store.

One cohesive job: the live screen's frames and keys (what it shows comes from ``LiveMonitor.view()``,
the set's life cycle from ``workflows``); one screen class, as every screen module holds.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, replace
from functools import partial

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.names import cut
from coach_tui.dsp import asymmetry, cocontraction, peak, target_share
from coach_tui.domain.hysteresis_alert import AlertRule, HysteresisAlert
from coach_tui.domain.session import SetRecord
from coach_tui.domain.set_choices import SetChoices
from coach_tui.workflows.live_monitor import LiveMonitor
from coach_tui.workflows.live_view import LiveView
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.dialogs.load_dialog import CueDialog, LoadDialog
from coach_tui.ui.dialogs.rating_dialog import RatingDialog
from coach_tui.ui.screens.calibration_screen import CalibrationScreen
from coach_tui.ui.screens.focus_screen import FocusScreen
from coach_tui.workflows.sensor_setup import SensorsNotReady
from coach_tui.ui.widgets.activation_bars import ActivationBars

REFRESH_HZ = 20.0
BELL_REARM_PCT = 20.0  # %MVC below the target line before the bell can ring again
LATER = "later"  # the recalibration offer's "not now"


def _short_side(label: str) -> str:
    """"left glute max" → "L glute max", so a rep's onset order fits one line at 80 columns."""
    side, _, muscle = label.partition(" ")
    return f"{side[0].upper()} {muscle}" if side in ("left", "right") else label


def reps_text(n: int) -> str:
    """"1 rep", "6 reps"."""
    return f"{n} rep{'' if n == 1 else 's'}"


@dataclass(frozen=True, slots=True)
class PlannedSet:
    """One set another screen asks for (an A/B test's): the exercise is fixed, ``name`` says which set
    it is ("A/B set 2 of 4 (variation B)"), ``banner`` what to do, ``reps`` how many reps are asked
    for. The screen closes with the saved set once rated."""

    exercise: Exercise
    name: str
    banner: str
    reps: int


class LiveScreen(Screen[SetRecord | None]):
    """Bars, alerts and reps for one client; space starts and stops a set. With a :class:`PlannedSet`
    (``exercise_key`` is its exercise's key) the exercise is locked and the screen dismisses with the
    set once it is rated (None: Esc before a set)."""

    TITLE = "Live"
    BINDINGS = [
        Binding("space", "toggle_set", "Start/stop set", id="live.set"),
        Binding("x", "pick_exercise", "Exercise", id="live.exercise"),
        Binding("k", "enter_load", "Load (kg)", id="live.load"),
        Binding("u", "enter_cue", "Cue", id="live.cue"),
        Binding("f", "focus_view", "Focus view", id="live.focus"),
        Binding("p", "placement", "Placement", id="live.placement"),
        Binding("c", "calibrate", "Calibrate", id="live.calibrate"),
        Binding("b", "toggle_bell", "Bell at target", id="live.bell"),
        Binding("escape", "back", "Back", id="live.back"),
        Binding("f4", "steer('cocontract')", "Sim: co-contract", id="live.sim.cocontract"),
        Binding("f5", "steer('compensate')", "Sim: compensate", id="live.sim.compensate"),
        Binding("f6", "steer('left_deficit')", "Sim: left deficit", id="live.sim.deficit"),
        Binding("f7", "steer('fatigue')", "Sim: fatigue", id="live.sim.fatigue"),
        Binding("f8", "steer('electrode_pop')", "Sim: electrode pop", id="live.sim.pop"),
        Binding("f9", "steer('drop_sensor')", "Sim: drop a sensor", id="live.sim.drop"),
        Binding("a", "abtest", "A/B test", id="live.abtest"),
        Binding("h", "history", "History", id="live.history"),
        Binding("n", "more_reps", "Past the planned reps", id="live.more"),
    ]

    def __init__(self, client: Client, exercise_key: str, planned: PlannedSet | None = None):
        super().__init__()
        self.client = client
        self.exercise_key = exercise_key
        self.planned = planned
        self.monitor: LiveMonitor | None = None
        self.bell = False
        # What the trainer set stays with the client until changed: load (None: bodyweight or not
        # entered) and cue of the next sets, and (unless the set is planned) the exercise.
        self.choices: SetChoices = self.app.repo.set_choices(client.id)
        self._shown: dict[str, str] = {}
        target = self.app.config.progression.target_pct
        # Rings on reaching the target line; re-arms once the target falls well below it (between reps).
        self._target_reached = HysteresisAlert(AlertRule(target, target - BELL_REARM_PCT, consecutive=1))
        self._built_from: tuple = ()
        self.past_planned = False  # the trainer lets a planned set go on past its reps

    def compose(self) -> ComposeResult:
        # Groups, not single widgets, beside the bars: Textual redraws every child of the screen on
        # each frame (their clip is the screen), but only the groups of a group's children.
        with Vertical(id="live-top"):
            yield Header()
            if self.planned:
                yield Static(self.planned.banner, id="live-banner")
            yield Static("", id="live-header")
        yield ActivationBars(self.app.config.progression.target_pct, id="bars")
        with Vertical(id="live-bottom"):
            yield Static("", id="reps")
            yield Static("", id="alerts")
        with Vertical(id="live-footer"):
            yield Footer(compact=True)

    def check_action(self, action: str, parameters: tuple) -> bool | None:
        """"Past the planned reps" only where reps are planned (an A/B set)."""
        return self.planned is not None if action == "more_reps" else True

    def on_mount(self) -> None:
        self._bars = self.query_one(ActivationBars)
        self._texts = {widget.id: widget for widget in self.query(Static) if widget.id in ("live-header", "reps", "alerts")}
        self._start_monitor()
        self._timer = self.set_interval(1 / REFRESH_HZ, self.refresh_view)
        self._offer_recalibration()

    def _offer_recalibration(self) -> None:
        """A stale calibration (placement moved, too old) gives wrong %MVC: offer to redo it now."""
        stale = self.app.stale_calibrations(self.client)
        if not stale:
            return
        options = [(muscle, f"recalibrate {muscle.replace('_', ' ')} — {'; '.join(notes)}")
                   for muscle, notes in stale.items()]
        options.append((LATER, "later: keep the old calibration for now"))

        def chosen(muscle: str | None) -> None:
            if muscle and muscle != LATER:
                self.app.push_screen(CalibrationScreen(self.client, muscle))
            else:
                self.notify("calibration stale — %MVC may be off; press c to recalibrate", severity="warning", timeout=8)

        self.app.push_screen(ChoiceDialog("Calibration stale: recalibrate now?", options), chosen)

    def _setup(self) -> tuple:
        """What the live monitor was built from: placements and calibrations (a change means rebuild)."""
        placements = tuple(self.app.placements_for(self.client))
        calibrations = tuple(sorted(c.id for c in self.app.repo.latest_calibrations(self.client.id).values()))
        return placements, calibrations

    def _start_monitor(self) -> None:
        self._built_from = self._setup()
        try:
            self.monitor = self.app.live_monitor(self.client, self.planned.exercise if self.planned else self.exercise_key)
        except SensorsNotReady as why:
            self.notify(f"{why} — try again in a moment (p shows each sensor)", severity="warning", timeout=6)
            self.set_timer(0.1, lambda: self.dismiss(None))
            return
        self.monitor.start()
        for note in self.monitor.unmeasured():
            self.notify(f"{note} — p places a sensor", severity="warning", timeout=8)
        # Everything built so far lives as long as the app: keep the collector from walking it
        # again on every full collection (~0.1 s each, a visible stall of the bars).
        gc.freeze()

    async def _stop_monitor(self) -> None:
        if self.monitor is not None:
            await self.monitor.stop()
            self.monitor = None

    def on_screen_suspend(self) -> None:
        self._timer.pause()

    async def on_screen_resume(self) -> None:
        # Back from placement or calibration: pick up what changed (unless a set is running).
        if self.monitor is not None and not self.monitor.recording and self._setup() != self._built_from:
            await self._stop_monitor()
            self._shown.clear()
            self._start_monitor()
        self._timer.resume()

    async def on_unmount(self) -> None:
        await self._stop_monitor()

    # -- refresh ----------------------------------------------------------------------------

    def _set_text(self, widget_id: str, text: str) -> None:
        """Repaint a text only when it changed, with a layout pass only when its height did."""
        shown = self._shown.get(widget_id)
        if shown != text:
            self._shown[widget_id] = text
            same_height = shown is not None and shown.count("\n") == text.count("\n")
            self._texts[widget_id].update(text, layout=not same_height)

    def refresh_view(self) -> None:
        """One frame: read the live monitor's snapshot and apply it in one batch."""
        if self.monitor is None:
            return
        view = self.monitor.view()
        with self.app.batch_update():
            self._bars.show(view.channels, view.pairs)
            self._set_text("live-header", self._header(view))
            self._set_text("reps", self._reps(view))
            self._set_text("alerts", "\n".join(f"⚠ {a}" for a in view.alerts) or "no alerts")
        self._maybe_ring(view)
        if self.planned and view.recording and len(view.reps) >= self.planned.reps and not self.past_planned:
            self._planned_reps_reached()

    def _planned_reps_reached(self) -> None:
        """The planned reps are done: ring, flash the banner and stop the set (as space would)."""
        self.app.bell()
        banner = self.query_one("#live-banner", Static)
        banner.add_class("-flash")
        self.set_timer(1.5, lambda: banner.remove_class("-flash"))
        self.notify(f"{reps_text(self.planned.reps)} done — the set stops (n during a set lets it go on)")
        self.action_toggle_set()

    @property
    def load_kg(self) -> float | None:
        """The load of the next sets (None: bodyweight or not entered)."""
        return self.choices.load_kg

    def _choose(self, **changes) -> None:
        """Keep what the trainer set for this client's next sets (exercise, load, cue)."""
        self.choices = replace(self.choices, **changes)
        self.app.repo.save_set_choices(self.client.id, self.choices)

    def _header(self, view: LiveView) -> str:
        monitor = self.monitor
        state = f"● REC {view.set_seconds:3.0f} s" if view.recording else "○ ready"
        load = f"{self.load_kg:g} kg" if self.load_kg is not None else "no load (k)"
        cue = f" · cue: {self.choices.cue}" if self.choices.cue else ""
        width = max(20, self.size.width - 2)
        head = f"{cut(self.client.name, 24)} · {monitor.exercise.name} · {load} · {state}"
        return cut(head + cue, width)

    def _reps(self, view: LiveView) -> str:
        if not view.recording and not view.reps:
            return "reps: —"
        count = f"reps: {len(view.reps)}" + (f" of {self.planned.reps}" if self.planned else "")
        if not view.reps:
            return count
        last = view.reps[-1]
        if last.incomplete:
            return f"{count} · last: incomplete: sensor lost ({', '.join(last.lost_sensors)})"
        parts = [count, f"last: peak {last.peak:.0f} {last.units}", f"mean {last.mean:.0f}",
                 f"to peak {last.time_to_peak_s:.2f} s"]
        if last.target_share is not None:
            parts.append(f"target share {last.target_share:.0%}")
        if last.electrode_pop:
            parts.append("⚡ electrode pop: rep spoiled")
        order = ", ".join(f"{_short_side(name)} {ms:{'+' if i else ''}.0f}"  # later onsets after the first
                          for i, (name, ms) in enumerate(last.onset_order[:4]))
        return (" · ".join(parts) + (f"\nonset: {order} ms" if order else "")
                + "".join(f"\n{line}" for line in view.fatigue))

    def help_notes(self) -> str:
        """How the live numbers are made, for ? help."""
        floors = self.app.config.analysis.floors
        return "\n".join([
            "How the numbers are made:",
            f"a rep's peak: {peak.FORMULA}",
            f"{asymmetry.FORMULA}; between sets of each side's 1 s mean; \"—\" (inconclusive) while both sides "
            f"are below the noise floor ({floors.asymmetry_pct_mvc:g} %MVC, uncalibrated "
            f"{floors.uncalibrated_pair_factor:g}× the quieter side's rest level) or a side's sensor is lost",
            target_share.FORMULA,
            f"{cocontraction.FORMULA} (Winter)",
            "a rep during which a sensor was lost is \"incomplete: sensor lost\" and counts in no number",
        ])

    def _target_values(self, view: LiveView) -> tuple[float | None, float | None]:
        target = self.monitor.exercise.target
        values = {c.assignment.side: c.value for c in view.channels if c.assignment.muscle == target}
        return values.get("L"), values.get("R")

    def _maybe_ring(self, view: LiveView) -> None:
        if not self.bell:
            return
        values = [v for v in self._target_values(view) if v is not None]
        calibrated = any(c.units == "%MVC" for c in view.channels)
        was_on = self._target_reached.active
        if self._target_reached.update(max(values) if calibrated and values else None) and not was_on:
            self.app.bell()

    # -- actions ----------------------------------------------------------------------------

    def action_toggle_set(self) -> None:
        monitor = self.monitor
        if monitor is None:
            return
        if not monitor.recording:
            if monitor.exercise.target not in {a.muscle for _, a in monitor.meter.channels}:
                self._offer_placement(monitor.unmeasured()[0])
                return
            self._start_set()
            return
        record = monitor.stop_set()
        if record is None:
            return
        self.past_planned = False
        self.refresh_view()  # the set's last rep, before the rating dialog covers the screen
        name = self.planned.name if self.planned else f"set {record.index}"
        if not record.reps:  # nothing to rate: say why instead
            self.notify(f"{name} saved with no reps: {monitor.why_no_reps(record.duration_s)}", severity="warning",
                        timeout=10)
            if self.planned:
                self.dismiss(record)
            return
        self.notify(f"{name} saved: {reps_text(len(record.reps))}, {record.duration_s:.1f} s")

        def rated(value: int | None) -> None:
            if value is not None:
                monitor.rate_set(value)
            if self.planned:
                self.dismiss(record)

        self.app.push_screen(RatingDialog(monitor.exercise.target.replace("_", " ")), rated)

    def _start_set(self) -> None:
        record = self.monitor.start_set(load_kg=self.load_kg, cue=self.choices.cue)
        if record is None:
            self.notify("the set could not start — see the alert", severity="error")
            return
        name = self.planned.name if self.planned else f"set {record.index}"
        self.notify(f"recording {name} — {self.monitor.exercise.name}")

    def _offer_placement(self, why: str) -> None:
        """The target has no sensor: say so before the set and offer the placement screen."""
        options = [("place", "place a sensor on it now (placement)"), ("record", "record the set anyway"),
                   ("cancel", "not now")]

        def chosen(choice: str | None) -> None:
            if choice == "place":
                self.app.open_placement(self.client)
            elif choice == "record" and self.monitor is not None and not self.monitor.recording:
                self._start_set()

        self.app.push_screen(ChoiceDialog(why, options), chosen)

    def stop_and_keep(self) -> SetRecord | None:
        """Stop a running set without asking for a rating; the set is kept. None when none runs."""
        if self.monitor is None or not self.monitor.recording:
            return None
        return self.monitor.stop_set()

    def action_more_reps(self) -> None:
        if self.monitor is None or not self.monitor.recording:
            self.notify("n lets a running set go on past its planned reps", severity="warning")
            return
        self.past_planned = True
        self.notify(f"the set goes on past {reps_text(self.planned.reps)} — space stops it")

    async def action_pick_exercise(self) -> None:
        if self.monitor is not None and self.monitor.recording:
            self.notify("stop the set first (space)", severity="warning")
            return
        if self.planned:
            self.notify(f"this set is planned as {self.planned.exercise.name}; Esc returns to the plan", severity="warning")
            return

        async def chosen(key: str | None) -> None:
            if key and key != self.exercise_key:
                self.exercise_key = key
                self._choose(exercise=key)
                await self._stop_monitor()
                self._shown.clear()
                self._start_monitor()

        options = [(key, f"{e.name}  (target: {e.target.replace('_', ' ')})") for key, e in self.app.exercises.items()]
        self.app.push_screen(ChoiceDialog("Exercise for the next set", options, self.exercise_key), chosen)

    def action_enter_load(self) -> None:
        if self.monitor is not None and self.monitor.recording:
            self.notify("stop the set first (space); the load applies to the next sets", severity="warning")
            return

        def entered(result: tuple[float | None] | None) -> None:
            if result is not None:
                self._choose(load_kg=result[0])
                self.refresh_view()

        self.app.push_screen(LoadDialog(self.load_kg), entered)

    def action_enter_cue(self) -> None:
        if self.monitor is not None and self.monitor.recording:
            self.notify("stop the set first (space); the cue applies to the next sets", severity="warning")
            return

        def entered(result: tuple[str] | None) -> None:
            if result is not None:
                self._choose(cue=result[0])
                self.refresh_view()

        self.app.push_screen(CueDialog(self.choices.cue), entered)

    def action_focus_view(self) -> None:
        if self.monitor is not None:
            self.app.push_screen(FocusScreen(self, self.app.config.progression.target_pct))

    def action_toggle_bell(self) -> None:
        self.bell = not self.bell
        self.notify(f"bell at target {'on' if self.bell else 'off'}")

    def action_steer(self, what: str) -> None:
        if self.monitor is None or not self.app.simulated:
            self.notify("steering works on the simulated kit only", severity="warning")
            return
        self.notify(self.monitor.steer(what))

    def _open_setup(self, open_screen) -> None:
        if self.monitor is not None and self.monitor.recording:
            self.notify("stop the set first (space)", severity="warning")
            return
        open_screen(self.client)

    def action_placement(self) -> None:
        self._open_setup(self.app.open_placement)

    def action_calibrate(self) -> None:
        self._open_setup(self.app.open_calibration)

    def action_abtest(self) -> None:
        if self.planned:
            self.notify("this is a set of an A/B test already; Esc returns to it", severity="warning")
            return
        target = self.monitor.exercise.target if self.monitor else None
        self._open_setup(partial(self.app.open_abtest, target=target))

    def action_history(self) -> None:
        self._open_setup(self.app.open_history)

    def action_back(self) -> None:
        if self.planned and self.monitor is not None and self.monitor.recording:
            self.notify("stop the set first (space); it then counts for the A/B test", severity="warning")
            return
        self.dismiss(None)
