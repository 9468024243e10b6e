"""The console application and the factory that wires it (the tests use the same factory)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.geometry import Size
from textual.screen import ModalScreen
from textual.widgets import Label

from coach_tui.config import Config
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import Exercise
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.names import cut
from coach_tui.domain.placement import Placement
from coach_tui.store.repository import Repository
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.screens.clients_screen import ClientsScreen
from coach_tui.workflows.sensor_setup import DEFAULT_EXERCISE, SensorSetup

if TYPE_CHECKING:
    from coach_tui.sources.clock import Clock
    from coach_tui.ui.screens.live_screen import LiveScreen
    from coach_tui.workflows.calibration_protocol import CalibrationProtocol
    from coach_tui.workflows.live_monitor import LiveMonitor

# The working screens are imported when first opened: the clients screen paints sooner.

MIN_WIDTH, MIN_HEIGHT = 80, 24
DEMO_CLIENT = "Demo client"
NEW_TEST = "new"  # the A/B test chooser's "plan a new one"


def too_small_message(width: int, height: int) -> str:
    """Names the size needed and the size there is."""
    return f"coach needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}. Enlarge it."


class TooSmallScreen(ModalScreen[None]):
    """Shown instead of a squeezed layout while the terminal is below the minimum size; space still
    stops a running set (and keeps it)."""

    BINDINGS = [Binding("space", "stop_set", "Stop the set", id="small.stop")]

    def __init__(self, width: int, height: int):
        super().__init__()
        self.message = too_small_message(width, height)
        self.note = ""

    def compose(self) -> ComposeResult:
        yield Label(self._text(), id="too-small")

    def _text(self) -> str:
        recording = self.app.recording_live() is not None
        return "\n".join([self.message, *(["a set is recording: space stops it and keeps it"] if recording else []),
                          *([self.note] if self.note else [])])

    def say(self, width: int, height: int) -> None:
        """Update the message after a resize."""
        self.message = too_small_message(width, height)
        if self.is_mounted:
            self.query_one(Label).update(self._text())

    def action_stop_set(self) -> None:
        live = self.app.recording_live()
        record = live.stop_and_keep() if live is not None else None
        self.note = (f"set {record.index} stopped and kept: {len(record.reps)} rep{'' if len(record.reps) == 1 else 's'}"
                     if record is not None else "no set is recording")
        self.query_one(Label).update(self._text())


class CoachApp(App):
    """The console: screens over its collaborators, which it is given (build it with ``make_app``).
    ``repo`` is the open client database; ``sensors`` the sensors it reads (the simulated kit, or the
    Bluetooth sensors of ``config.toml``, kept connected while the console runs; each screen reads
    them through a reader of its own); ``log_path`` is named when it stops on an unexpected error."""

    CSS_PATH = "coach.tcss"
    TITLE = "coach-tui"
    # Every action has a key (listed by ? and F1); the palette's footer entry would crowd out keys at 80 columns.
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("f1,question_mark", "help", "Help", id="app.help"),
    ]

    def __init__(self, config: Config, repo: Repository, sensors: SensorSetup, *, log_path: Path | None = None):
        super().__init__()
        self.log_path = log_path
        self.config = config
        self.repo = repo
        self.sensors = sensors
        self.exercises: dict[str, Exercise] = self.sensors.exercises
        self._too_small: TooSmallScreen | None = None
        self._screens_up = False  # the clients screen is pushed (size checks wait for it)

    @property
    def simulated(self) -> bool:
        """True while the console reads the simulated kit."""
        return self.sensors.simulated

    def _handle_exception(self, error: Exception) -> None:
        """An unexpected exception: logged with its traceback, and the shell is left one line
        naming it and the log file (instead of Textual's traceback)."""
        logging.getLogger(__name__).error("the console stopped on an unexpected error", exc_info=error)
        super()._handle_exception(error)
        where = f"details are in {self.log_path}" if self.log_path else "no log file could be written"
        self._exit_renderables[:] = [Text(f"coach: unexpected error ({type(error).__name__}: {error}); {where} — "
                                          "please attach it to a bug report")]

    async def on_mount(self) -> None:
        if self.config.keymap:
            self.set_keymap(dict(self.config.keymap))
        if not self.repo.clients():
            self.repo.add_client(Client(new_id("c"), DEMO_CLIENT, "R", "seeded on first run to try the console",
                                        created=now_utc()))
        self._label_source()
        self.push_screen(ClientsScreen())
        self._screens_up = True
        self._check_size(self.size)
        if not self.simulated:
            await self._connect_sensors()

    async def _connect_sensors(self) -> None:
        """Connect the configured sensors; without Bluetooth, say why and offer the simulated kit."""
        from coach_tui.sources.ble.bluetooth_errors import BluetoothUnavailable

        try:
            await self.sensors.connect()
        except BluetoothUnavailable as error:
            self.sensors.use_simulated()
            self._label_source()
            reason = str(error)

            def chosen(choice: str | None) -> None:
                if choice != "simulate":
                    self.exit(message=reason)

            self.push_screen(ChoiceDialog(f"Bluetooth: {reason}",
                                          [("simulate", "use the SIMULATED sensor kit instead"), ("quit", "quit")]), chosen)

    def _label_source(self) -> None:
        """Every screen's header says when the numbers come from the simulated kit."""
        self.sub_title = "SIMULATED sensor kit" if self.simulated else ""

    async def on_unmount(self) -> None:
        await self.sensors.close()

    def on_resize(self, event: events.Resize) -> None:
        # Dispatched before App's own handler (which stops the event); the first one comes before
        # on_mount, which checks the size itself once the clients screen is there.
        if self._screens_up:
            self._check_size(event.size)

    def _check_size(self, size: Size) -> None:
        """Cover the screens with the too-small message below the minimum size; lift it above."""
        width, height = size
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
        from coach_tui.ui.screens.help_screen import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))

    def recording_live(self) -> LiveScreen | None:
        """The live screen whose set is recording, if any."""
        return next((s for s in self.screen_stack if hasattr(s, "stop_and_keep") and s.monitor is not None
                     and s.monitor.recording), None)

    async def action_quit(self) -> None:
        """Quit; while a set records, ask first, then stop it and keep it."""
        live = self.recording_live()
        if live is None:
            self.exit()
            return

        def chosen(choice: str | None) -> None:
            if choice == "stop":
                record = live.stop_and_keep()
                reps = len(record.reps) if record else 0
                self.exit(message=f"the set was stopped and kept ({reps} rep{'' if reps == 1 else 's'}) before quitting")

        self.push_screen(ChoiceDialog("A set is recording. Quit?", [("stop", "stop the set, keep it and quit"),
                                                                   ("stay", "keep recording")]), chosen)

    # -- screens that need a client -----------------------------------------------------------

    def open_live(self, client: Client) -> None:
        """The live screen for ``client``, on the exercise last chosen for them (else the default)."""
        from coach_tui.ui.screens.live_screen import LiveScreen

        chosen = self.repo.set_choices(client.id).exercise
        self.push_screen(LiveScreen(client, chosen if chosen in self.exercises else DEFAULT_EXERCISE))

    def open_placement(self, client: Client) -> None:
        """Placement and check for ``client``."""
        from coach_tui.ui.screens.placement_screen import PlacementScreen

        self.push_screen(PlacementScreen(client))

    def open_calibration(self, client: Client) -> None:
        """Ask which placed muscle to calibrate, then run the protocol."""
        from coach_tui.ui.screens.calibration_screen import CalibrationScreen

        muscles = sorted({p.muscle for p in self.placements_for(client)})
        options = [(m, m.replace("_", " ")) for m in muscles]

        def chosen(muscle: str | None) -> None:
            if muscle:
                self.push_screen(CalibrationScreen(client, muscle))

        self.push_screen(ChoiceDialog("Calibrate which muscle (both sides)?", options), chosen)

    def open_history(self, client: Client) -> None:
        """History and progress of ``client``, A/B tests included."""
        from coach_tui.ui.screens.history import HistoryScreen

        self.push_screen(HistoryScreen(client, self.repo, self.config))

    def open_abtest(self, client: Client, target: str | None = None) -> None:
        """Continue one of ``client``'s A/B tests (newest first) or plan a new one (``target`` is the
        muscle proposed; default: the default exercise's target when placed)."""
        from coach_tui.ui.screens.abtest_screen import ABTestScreen, abtest_label

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
        self.push_screen(ChoiceDialog(f"A/B tests of {cut(client.name, 30)}: continue one or plan a new one", options), chosen)

    def _plan_abtest(self, client: Client, target: str | None) -> None:
        from coach_tui.domain.abtest import ABTest
        from coach_tui.ui.dialogs.abtest_plan_dialog import ABTestPlanDialog, PlannedTest
        from coach_tui.ui.screens.abtest_screen import ABTestScreen

        muscles = sorted({p.muscle for p in self.placements_for(client)})
        default = next((m for m in (target, self.exercises[DEFAULT_EXERCISE].target) if m in muscles), muscles[0])

        def planned(plan: PlannedTest | None) -> None:
            if plan is not None:
                test = ABTest(new_id("ab"), client.id, plan.target, plan.variations, plan.order, now_utc())
                self.repo.save_abtest(test)
                self.push_screen(ABTestScreen(client, test, plan.settings))

        self.push_screen(ABTestPlanDialog(client, muscles, default, self.exercises, self.config.ab_plan), planned)

    # -- sensors (see SensorSetup) -----------------------------------------------------------------

    def placements_for(self, client: Client) -> list[Placement]:
        """Where every sensor there is now sits on ``client``."""
        return self.sensors.placements_for(client)

    def sensor_rate(self) -> float:
        """The sample rate every sensor runs at; ``SensorsNotReady`` says why there is none yet."""
        return self.sensors.sensor_rate()

    def check_source(self, placements: list[Placement]):
        """A source for the placement check (the client at rest)."""
        return self.sensors.check_source(placements)

    def calibration_run(self, client: Client, muscle: str) -> tuple[object, CalibrationProtocol]:
        """A source with the client doing MVC trials, and the protocol reading ``muscle``'s sensors."""
        return self.sensors.calibration_run(client, muscle)

    def envelope_sensors(self) -> frozenset[str]:
        """Sensors that send their own envelope (none in the simulated kit)."""
        return self.sensors.envelope_sensors()

    def live_monitor(self, client: Client, exercise: str | Exercise) -> LiveMonitor:
        """The sensors as placed on ``client`` streaming for ``exercise`` (a library key, or an A/B test's
        variation); its sets go into the client's visit."""
        return self.sensors.live_monitor(client, exercise)

    def stale_calibrations(self, client: Client) -> dict[str, list[str]]:
        """Muscles whose calibration should be redone, with why (placement moved, too old)."""
        return self.sensors.stale_calibrations(client)


def make_app(config: Config, repo: Repository, *, sensors: SensorSetup | None = None, simulated: bool = True,
             clock: Clock | None = None, scanner_backend=None, client_backend=None,
             log_path: Path | None = None) -> CoachApp:
    """The console wired to its collaborators, as ``coach`` runs it and the tests build it: ``config``,
    the open client database ``repo``, and the ``sensors`` — by default a ``SensorSetup`` reading the
    simulated kit when ``simulated`` (``coach``: unless ``config.toml`` lists sensors and
    ``--simulate`` is not given), else the configured Bluetooth sensors through bleak's
    ``scanner_backend``/``client_backend`` (tests: bumble). ``clock`` paces the simulated kit (a
    test's ``SteppedClock``; default: the wall clock as ``[simulation] realtime`` says). A test may
    pass ``sensors`` of its own instead (fake sources)."""
    if sensors is None:
        sensors = SensorSetup(config, repo, simulated=simulated, clock=clock, scanner_backend=scanner_backend,
                        client_backend=client_backend)
    return CoachApp(config, repo, sensors, log_path=log_path)


def console_bindings() -> dict[type, list[Binding]]:
    """Every class of the console (screens, dialogs, the app) with the bindings it declares."""
    import importlib
    import inspect
    from pathlib import Path

    here = Path(__file__).parent  # coach_tui/ui: screens, dialogs and widgets below it
    found: dict[type, list[Binding]] = {}
    for path in sorted(here.rglob("*.py")):
        name = ".".join(("coach_tui", "ui", *path.relative_to(here).with_suffix("").parts))
        for _, cls in inspect.getmembers(importlib.import_module(name), inspect.isclass):
            if cls.__module__ == name and "BINDINGS" in cls.__dict__:
                found[cls] = list(cls.BINDINGS)
    return found


def binding_ids() -> set[str]:
    """Every binding id of the console, for checking ``[keymap]``."""
    return {b.id for bindings in console_bindings().values() for b in bindings if isinstance(b, Binding) and b.id}


def run_console(config: Config, simulate: bool = False, log_path: Path | None = None) -> int:
    """Open the store as the writer and run the console until the trainer quits; the exit status
    is 1 when it stopped on an unexpected error (logged to ``log_path``)."""
    from coach_tui.config import ConfigError
    from coach_tui.workflows.store_access import open_store

    unknown = sorted({binding for binding, _ in config.keymap} - binding_ids())
    if unknown:
        raise ConfigError(f"{config.path}: keymap.{unknown[0]}: no such binding; allowed: {', '.join(sorted(binding_ids()))}")
    with open_store(config, "console", write=True) as repo:
        app = make_app(config, repo, simulated=simulate or not config.sensors, log_path=log_path)
        app.run()
    return app.return_code or 0
