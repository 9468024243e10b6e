"""Focus view: the target muscle in digits big enough to read from a few metres, for cueing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Digits, Label

REFRESH_HZ = 10.0


class FocusScreen(ModalScreen[None]):
    """Left and right of the target muscle, read from the live console on its own timer."""

    BINDINGS = [Binding("escape,f", "close", "Back", id="focus.close")]

    def __init__(self, console):
        super().__init__()
        self.console = console
        self.muscle = console.exercise.target

    def compose(self) -> ComposeResult:
        target_units = {u for (_, a), u in zip(self.console.meter.channels, self.console.meter.units) if a.muscle == self.muscle}
        units = "%MVC" if target_units == {"%MVC"} else "µV"
        with Vertical(id="focus"):
            yield Label(f"{self.muscle.replace('_', ' ')} ({units})", id="focus-title")
            with Horizontal(id="focus-digits"):
                yield Digits("--", id="focus-L")
                yield Digits("--", id="focus-R")
            yield Label("left            right", id="focus-sides")

    def on_mount(self) -> None:
        self.set_interval(1 / REFRESH_HZ, self.refresh_digits)

    def refresh_digits(self) -> None:
        """Update the digits (only when the whole number changed)."""
        values = {c.assignment.side: c.value for c in self.console.view().channels if c.assignment.muscle == self.muscle}
        for side in ("L", "R"):
            digits = self.query_one(f"#focus-{side}", Digits)
            text = f"{values[side]:.0f}" if side in values else "--"
            if digits.value != text:
                digits.update(text)

    def action_close(self) -> None:
        self.dismiss(None)
