"""The console application and the factory that wires it (the tests use the same factory)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label

from coach_tui.config import Config
from coach_tui.domain.abtest import ABTest
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise, exercise_library
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.live_console import LiveConsole
from coach_tui.domain.placement import Placement
from coach_tui.mvc_protocol import MvcProtocol
from coach_tui.store.repository import Repository
from coach_tui.ui.dialogs.abtest_plan_dialog import ABTestPlanDialog, PlannedTest
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.screens.abtest_screen import ABTestScreen, abtest_label
from coach_tui.ui.screens.calibration_screen import CalibrationScreen
from coach_tui.ui.screens.clients_screen import ClientsScreen
from coach_tui.ui.screens.help_screen import HelpScreen
from coach_tui.ui.screens.history import HistoryScreen
from coach_tui.ui.screens.live_screen import LiveScreen
from coach_tui.ui.screens.placement_screen import PlacementScreen

MIN_WIDTH, MIN_HEIGHT = 80, 24
DEFAULT_EXERCISE = "hip_thrust"
DEMO_CLIENT = "Demo client"
NEW_TEST = "new"  # the A/B test chooser's "plan a new one"


def too_small_message(width: int, height: int) -> str:
    """Names the size needed and the size there is."""
    return f"coach needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}. Enlarge it."


class TooSmallScreen(ModalScreen[None]):
    """Shown instead of a squeezed layout while the terminal is below the minimum size."""

    def __init__(self, width: int, height: int):
        super().__init__()
        self.message = too_small_message(width, height)

    def compose(self) -> ComposeResult:
        yield Label(self.message, id="too-small")

    def say(self, width: int, height: int) -> None:
        """Update the message after a resize."""
        self.message = too_small_message(width, height)
        if self.is_mounted:
            self.query_one(Label).update(self.message)


class CoachApp(App):
    """The console. ``repo`` is the open client database; sensors are the simulated kit for now."""

    CSS_PATH = "coach.tcss"
    TITLE = "coach-tui"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f1,question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, config: Config, repo: Repository, *, simulated: bool = True):
        super().__init__()
        self.config = config
        self.repo = repo
        self.simulated = simulated
        self.exercises: dict[str, Exercise] = exercise_library(config.exercises)
        self._too_small: TooSmallScreen | None = None

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        if not self.repo.clients():
            self.repo.add_client(Client(new_id("c"), DEMO_CLIENT, "R", "seeded on first run to try the console",
                                        created=now_utc()))
        self.push_screen(ClientsScreen())
        self._check_size()
        # Textual's App consumes Resize events itself; a quarter-second look at the size is cheap.
        self.set_interval(0.25, self._check_size)

    def _check_size(self) -> None:
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and self._too_small is None:
            self._too_small = TooSmallScreen(width, height)
            self.push_screen(self._too_small)
        if self._too_small is not None:
            if small:
                self._too_small.say(width, height)
            else:
                self._too_small.dismiss()
                self._too_small = None

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    # -- screens that need a client -----------------------------------------------------------

    def open_live(self, client: Client) -> None:
        """The live screen for ``client``, on the default exercise."""
        self.push_screen(LiveScreen(client, DEFAULT_EXERCISE))

    def open_placement(self, client: Client) -> None:
        """Placement and check for ``client``."""
        self.push_screen(PlacementScreen(client))

    def open_calibration(self, client: Client) -> None:
        """Ask which placed muscle to calibrate, then run the protocol."""
        muscles = sorted({p.muscle for p in self.placements_for(client)})
        options = [(m, m.replace("_", " ")) for m in muscles]

        def chosen(muscle: str | None) -> None:
            if muscle:
                self.push_screen(CalibrationScreen(client, muscle))

        self.push_screen(ChoiceDialog("Calibrate which muscle (both sides)?", options), chosen)

    def open_history(self, client: Client) -> None:
        """History and progress of ``client``, A/B tests included."""
        self.push_screen(HistoryScreen(client, self.repo, self.config))

    def open_abtest(self, client: Client, target: str | None = None) -> None:
        """Continue one of ``client``'s A/B tests (newest first) or plan a new one (``target`` is the
        muscle proposed; default: the default exercise's target when placed)."""
        tests = self.repo.abtests(client.id)[::-1]

        def chosen(key: str | None) -> None:
            if key == NEW_TEST:
                self._plan_abtest(client, target)
            elif key:
                self.push_screen(ABTestScreen(client, self.repo.abtest(key), self.config.ab_plan))

        if not tests:
            self._plan_abtest(client, target)
            return
        options = [(NEW_TEST, "plan a new A/B test"), *((t.id, abtest_label(t, self.exercises)) for t in tests)]
        self.push_screen(ChoiceDialog(f"A/B tests of {client.name}: continue one or plan a new one", options), chosen)

    def _plan_abtest(self, client: Client, target: str | None) -> None:
        muscles = sorted({p.muscle for p in self.placements_for(client)})
        default = next((m for m in (target, self.exercises[DEFAULT_EXERCISE].target) if m in muscles), muscles[0])

        def planned(plan: PlannedTest | None) -> None:
            if plan is not None:
                test = ABTest(new_id("ab"), client.id, plan.target, plan.variations, plan.order, now_utc())
                self.repo.save_abtest(test)
                self.push_screen(ABTestScreen(client, test, plan.settings))

        self.push_screen(ABTestPlanDialog(client, muscles, default, self.exercises, self.config.ab_plan), planned)

    # -- sensors ------------------------------------------------------------------------------

    def placements_for(self, client: Client) -> list[Placement]:
        """Where the sensors sit on ``client``: as stored, or the simulated kit's default layout."""
        from coach_tui.sources.simulated import sensors_for_exercise

        stored = self.repo.placements(client.id)
        if stored:
            return stored
        exercise = self.exercises[DEFAULT_EXERCISE]
        kit = sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, self.config.simulation.sensors)
        return [Placement(s.muscle, s.side, s.sensor_id) for s in kit]

    def _kit(self, placements: list[Placement], exercise: Exercise, scenario: str):
        """The simulated kit wearing ``placements``; each muscle plays its role in ``exercise``."""
        from coach_tui.sources.simulated import SimulatedKit, SimulatedSensor

        def role(muscle: str) -> str:
            return "target" if muscle == exercise.target else "synergist" if muscle in exercise.synergists else "antagonist"

        sensors = [SimulatedSensor(p.sensor_id, p.muscle, p.side or "L", role(p.muscle)) for p in placements]
        sim = self.config.simulation
        return SimulatedKit(sensors, fs_hz=sim.fs_hz, seed=sim.seed, realtime=sim.realtime, scenario=scenario)

    def check_source(self, placements: list[Placement]):
        """A source for the placement check (the client at rest)."""
        return self._kit(placements, self.exercises[DEFAULT_EXERCISE], "rest")

    def calibration_run(self, client: Client, muscle: str) -> tuple[object, MvcProtocol]:
        """A source with the client doing MVC trials, and the protocol reading ``muscle``'s sensors."""
        placements = self.placements_for(client)
        sides = {p.side: p.sensor_id for p in placements if p.muscle == muscle and p.side}
        kit = self._kit(placements, self.exercises[DEFAULT_EXERCISE], "mvc")
        return kit, MvcProtocol(kit.fs_hz, muscle, sides, self.config.analysis.dsp, self.config.mvc)

    def live_console(self, client: Client, exercise: str | Exercise) -> LiveConsole:
        """A console streaming the kit as placed on ``client``, for ``exercise``: a library key, or an
        exercise of its own (an A/B test's variation)."""
        exercise = self.exercises[exercise] if isinstance(exercise, str) else exercise
        placements = self.placements_for(client)
        kit = self._kit(placements, exercise, "reps")
        sensors = {p.sensor_id: [p.assignment] for p in placements}
        keys = {p.assignment.key for p in placements}
        calibrations = {k: c for k, c in self.repo.latest_calibrations(client.id).items() if k in keys}
        return LiveConsole(kit, kit.fs_hz, sensors, client, exercise, self.config.analysis, calibrations,
                           self.config.sessions_dir, self.repo, "simulated kit")

    def stale_calibrations(self, client: Client) -> dict[str, list[str]]:
        """Muscles whose calibration should be redone, with why (placement moved, too old)."""
        placed = {p.assignment.key: p for p in self.placements_for(client)}
        stale: dict[str, list[str]] = {}
        for key, calibration in self.repo.latest_calibrations(client.id).items():
            reason = calibration.staleness(now_utc(), placed.get(key), self.config.calibration.max_age_days)
            if reason:
                stale.setdefault(calibration.muscle, []).append(f"{calibration.label}: {reason}")
        return stale


def make_app(config: Config, repo: Repository, *, simulated: bool = True) -> CoachApp:
    """The app as ``coach`` runs it; tests build it the same way."""
    return CoachApp(config, repo, simulated=simulated)


def binding_ids() -> set[str]:
    """Every binding id of the console, for checking ``[keymap]``."""
    from coach_tui.ui.dialogs.client_dialog import ClientDialog
    from coach_tui.ui.dialogs.rating_dialog import RatingDialog
    from coach_tui.ui.screens.focus_screen import FocusScreen

    classes = (CoachApp, ClientsScreen, LiveScreen, HelpScreen, FocusScreen, ClientDialog, ChoiceDialog, RatingDialog,
               PlacementScreen, CalibrationScreen, HistoryScreen, ABTestScreen, ABTestPlanDialog)
    return {b.id for cls in classes for b in cls.BINDINGS if isinstance(b, Binding) and b.id}


def run_console(config: Config) -> int:
    """Open the store as the writer and run the console until the trainer quits."""
    from coach_tui.commands import CommandError
    from coach_tui.commands.store_access import open_store

    unknown = sorted({binding for binding, _ in config.keymap} - binding_ids())
    if unknown:
        raise CommandError(f"{config.path}: keymap.{unknown[0]}: no such binding; allowed: {', '.join(sorted(binding_ids()))}")
    with open_store(config, "console", write=True) as repo:
        make_app(config, repo).run()
    return 0
