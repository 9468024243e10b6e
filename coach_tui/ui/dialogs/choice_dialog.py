"""Pick one of a list (exercise, muscle, side…); dismisses with the chosen key, or None."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option


class ChoiceDialog(ModalScreen[str | None]):
    """A titled list of (key, label) options; Enter picks, Esc cancels."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="choice.cancel")]

    def __init__(self, title: str, options: list[tuple[str, str]], current: str | None = None):
        super().__init__()
        self.heading = title
        self.options = options
        self.current = current

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(self.heading, id="dialog-title")
            yield OptionList(*[Option(label, id=key) for key, label in self.options], id="choices")

    def on_mount(self) -> None:
        choices = self.query_one(OptionList)
        keys = [key for key, _ in self.options]
        if self.current in keys:
            choices.highlighted = keys.index(self.current)
        choices.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        self.dismiss(None)
