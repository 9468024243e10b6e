"""The console application and the factory that wires it (the tests use the same factory)."""

from __future__ import annotations

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import Label

from coach_tui.config import Config
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise, exercise_library
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.live_console import LiveConsole
from coach_tui.store.repository import Repository
from coach_tui.ui.screens.clients_screen import ClientsScreen
from coach_tui.ui.screens.help_screen import HelpScreen
from coach_tui.ui.screens.live_screen import LiveScreen

MIN_WIDTH, MIN_HEIGHT = 80, 24
DEMO_CLIENT = "Demo client"


class TooSmallScreen(ModalScreen[None]):
    """Shown instead of a squeezed layout while the terminal is below the minimum size."""

    def compose(self) -> ComposeResult:
        yield Label("", id="too-small")

    def say(self, width: int, height: int) -> None:
        """Name the size needed and the size there is."""
        self.query_one(Label).update(
            f"coach needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}. Enlarge it."
        )


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
        self.config_target_pct = 70.0
        self._too_small: TooSmallScreen | None = None

    def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        if not self.repo.clients():
            self.repo.add_client(Client(new_id("c"), DEMO_CLIENT, "R", "seeded on first run to try the console",
                                        created=now_utc()))
        self.push_screen(ClientsScreen())
        self._check_size()

    def on_resize(self) -> None:
        self._check_size()

    def _check_size(self) -> None:
        width, height = self.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        if small and self._too_small is None:
            self._too_small = TooSmallScreen()
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

    def open_live(self, client: Client) -> None:
        """The live screen for ``client``, on the default exercise."""
        self.push_screen(LiveScreen(client, "hip_thrust"))

    def live_console(self, client: Client, exercise_key: str) -> LiveConsole:
        """A console streaming the simulated kit on ``exercise_key``'s muscles for ``client``."""
        from coach_tui.domain.channels import ChannelAssignment
        from coach_tui.sources.simulated import SimulatedKit, sensors_for_exercise

        exercise = self.exercises[exercise_key]
        sim = self.config.simulation
        kit = SimulatedKit(sensors_for_exercise(exercise.target, exercise.synergists, exercise.antagonists, sim.sensors),
                           fs_hz=sim.fs_hz, seed=sim.seed, realtime=sim.realtime, scenario="reps")
        sensors = {s.sensor_id: [ChannelAssignment(s.muscle, s.side)] for s in kit.sensors}
        keys = {a.key for assigned in sensors.values() for a in assigned}
        calibrations = {k: c for k, c in self.repo.latest_calibrations(client.id).items() if k in keys}
        return LiveConsole(kit, kit.fs_hz, sensors, client, exercise, self.config.analysis, calibrations,
                           self.config.sessions_dir, self.repo, "simulated kit")


def make_app(config: Config, repo: Repository, *, simulated: bool = True) -> CoachApp:
    """The app as ``coach`` runs it; tests build it the same way."""
    return CoachApp(config, repo, simulated=simulated)


def binding_ids() -> set[str]:
    """Every binding id of the console, for checking ``[keymap]``."""
    from coach_tui.ui.dialogs.client_dialog import ClientDialog
    from coach_tui.ui.dialogs.exercise_dialog import ExerciseDialog
    from coach_tui.ui.dialogs.rating_dialog import RatingDialog
    from coach_tui.ui.screens.focus_screen import FocusScreen

    classes = (CoachApp, ClientsScreen, LiveScreen, HelpScreen, FocusScreen, ClientDialog, ExerciseDialog, RatingDialog)
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
