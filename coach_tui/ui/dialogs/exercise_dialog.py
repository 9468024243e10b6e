"""Pick the exercise for the next set from the library; dismisses with its key, or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from coach_tui.domain.exercises import Exercise


class ExerciseDialog(ModalScreen[str | None]):
    """The library, with each exercise's target muscle."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="exercise.cancel")]

    def __init__(self, library: dict[str, Exercise], current: str):
        super().__init__()
        self.library = library
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label("Exercise for the next set", id="dialog-title")
            options = [Option(f"{e.name}  (target: {e.target.replace('_', ' ')})", id=key) for key, e in self.library.items()]
            yield OptionList(*options, id="exercises")

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        keys = list(self.library)
        if self.current in keys:
            options.highlighted = keys.index(self.current)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
