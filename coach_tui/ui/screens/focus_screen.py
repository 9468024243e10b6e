"""Focus view: the target muscle in digits big enough to read from a few metres, for cueing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Digits, Label

REFRESH_HZ = 10.0
SIDES = (("L", "left"), ("R", "right"))


class FocusScreen(ModalScreen[None]):
    """Left and right of the target muscle (green at or above the target line), the set's state and
    the first alert, read from the live screen's monitor on its own timer. The client watches it, so
    the trainer can start and stop a set from it (space) as from the live screen."""

    BINDINGS = [
        Binding("space", "toggle_set", "Start/stop set", id="focus.set"),
        Binding("escape,f", "close", "Back", id="focus.close"),
        # a modal screen hides the app's keys: help and quit are its own
        Binding("f1,question_mark", "app.help", "Help", id="focus.help"),
        Binding("q", "app.quit", "Quit", id="focus.quit"),
    ]

    def __init__(self, live, target_pct: float):
        super().__init__()
        self.live = live
        monitor = live.monitor
        self.monitor = monitor
        self.target_pct = target_pct
        self.muscle = monitor.exercise.target
        meter = monitor.meter
        self.calibrated = {u for (_, a), u in zip(meter.channels, meter.units) if a.muscle == self.muscle} == {"%MVC"}
        self._shown: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        units = f"%MVC · target {self.target_pct:.0f}" if self.calibrated else "µV · calibrate for %MVC"
        with Vertical(id="focus"):
            yield Label(f"{self.muscle.replace('_', ' ').upper()}  ({units})", id="focus-title")
            with Horizontal(id="focus-digits"):
                for side, word in SIDES:
                    with Vertical(classes="focus-side"):
                        yield Label(word, classes="focus-side-label")
                        yield Digits("--", id=f"focus-{side}")
            yield Label("", id="focus-status")

    def on_mount(self) -> None:
        self.refresh_digits()
        self.set_interval(1 / REFRESH_HZ, self.refresh_digits)

    def refresh_digits(self) -> None:
        """Update what changed: each side's whole number and colour, and the status line."""
        view = self.monitor.view()
        values = {c.assignment.side: c.value for c in view.channels if c.assignment.muscle == self.muscle and c.streaming}
        for side, _ in SIDES:
            text = f"{values[side]:.0f}" if side in values else "--"
            if self._shown.get(side) != text:
                self._shown[side] = text
                digits = self.query_one(f"#focus-{side}", Digits)
                digits.update(text)
                digits.set_class(self.calibrated and side in values and values[side] >= self.target_pct, "-above")
        state = f"● REC {view.set_seconds:.0f} s · reps {len(view.reps)}" if view.recording else "○ no set running — space starts one"
        status = state + (f"  ⚠ {view.alerts[0]}" if view.alerts else "")
        if self._shown.get("status") != status:
            self._shown["status"] = status
            self.query_one("#focus-status", Label).update(status)

    def action_toggle_set(self) -> None:
        self.live.action_toggle_set()

    def action_close(self) -> None:
        self.dismiss(None)
