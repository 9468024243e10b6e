"""Before a set: the load in kg (empty for bodyweight), or the cue; each dismisses with what was
typed, or None when cancelled."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

#: Heaviest load accepted (kg): more is a typing slip.
MAX_LOAD_KG = 1000.0


def parse_load(text: str) -> float | None:
    """The load typed in kg (None for empty: bodyweight); ValueError saying what is allowed."""
    text = text.strip().replace(",", ".")
    if not text:
        return None
    try:
        load = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of kg") from None
    if not 0.0 <= load <= MAX_LOAD_KG:
        raise ValueError(f"{load:g} kg is outside 0–{MAX_LOAD_KG:g} kg")
    return load


class LoadDialog(ModalScreen[tuple[float | None] | None]):
    """Dismisses with ``(load,)`` (``(None,)`` for bodyweight), or None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="load.cancel")]

    def __init__(self, load_kg: float | None):
        super().__init__()
        self.load_kg = load_kg

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Load for the next sets (kg)", id="dialog-title")
            yield Input("" if self.load_kg is None else f"{self.load_kg:g}", placeholder="kg, empty for bodyweight",
                        id="load")
            yield Label("Enter saves · Esc cancels", classes="hint")
            yield Label("", id="dialog-error")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            load = parse_load(event.value)
        except ValueError as error:
            self.query_one("#dialog-error", Label).update(str(error))
            return
        self.dismiss((load,))

    def action_cancel(self) -> None:
        self.dismiss(None)


#: Longest cue kept (characters): a cue is a few words the trainer says.
MAX_CUE = 80


class CueDialog(ModalScreen[tuple[str] | None]):
    """The cue for the next sets ("squeeze at the top"); dismisses with ``(cue,)`` ("" for none), or
    None when cancelled."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="cue.cancel")]

    def __init__(self, cue: str):
        super().__init__()
        self.cue = cue

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Cue for the next sets (what you tell the client)", id="dialog-title")
            yield Input(self.cue, placeholder="e.g. squeeze at the top; empty for none", max_length=MAX_CUE, id="cue")
            yield Label("Enter saves · Esc cancels", classes="hint")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss((" ".join(event.value.split()),))

    def action_cancel(self) -> None:
        self.dismiss(None)
