"""After a set: the client's perceived activation of the target muscle, 1–10 (digits; 0 means 10)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label


class RatingDialog(ModalScreen[int | None]):
    """Dismisses with 1–10, or None when skipped."""

    BINDINGS = [Binding("escape", "skip", "Skip", id="rating.skip")] + [
        Binding(str(d), f"rate({d or 10})", show=False, id=f"rating.{d}") for d in range(10)
    ]

    def __init__(self, muscle: str):
        super().__init__()
        self.muscle = muscle

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(f"How hard did the client feel the {self.muscle} work?", id="dialog-title")
            yield Label("1 barely … 10 as hard as possible")
            yield Label("press 1–9, or 0 for 10 · Esc skips", classes="hint")

    def action_rate(self, value: int) -> None:
        self.dismiss(value)

    def action_skip(self) -> None:
        self.dismiss(None)
