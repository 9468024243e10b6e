"""Focus view: the target muscle in digits big enough to read from a few metres, for cueing."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Digits, Label


class FocusScreen(ModalScreen[None]):
    """Left and right of the target muscle, updated by the live screen underneath."""

    BINDINGS = [Binding("escape,f", "close", "Back", id="focus.close")]

    def __init__(self, muscle: str, units: str):
        super().__init__()
        self.muscle = muscle
        self.units = units

    def compose(self) -> ComposeResult:
        with Vertical(id="focus"):
            yield Label(f"{self.muscle.replace('_', ' ')} ({self.units})", id="focus-title")
            with Horizontal(id="focus-digits"):
                yield Digits("--", id="focus-L")
                yield Digits("--", id="focus-R")
            yield Label("left            right", id="focus-sides")

    def show(self, left: float | None, right: float | None) -> None:
        """Update the digits (only when the whole number changed)."""
        for side, value in (("L", left), ("R", right)):
            digits = self.query_one(f"#focus-{side}", Digits)
            text = "--" if value is None else f"{value:.0f}"
            if digits.value != text:
                digits.update(text)

    def action_close(self) -> None:
        self.dismiss(None)
