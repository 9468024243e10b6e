"""Create or edit a client; dismisses with the client, or None when cancelled."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from coach_tui.domain.client import Client
from coach_tui.domain.ids import new_id, now_utc


class ClientDialog(ModalScreen[Client | None]):
    """Name, dominant side and notes."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="dialog.cancel")]

    def __init__(self, client: Client | None = None):
        super().__init__()
        self.client = client

    def compose(self) -> ComposeResult:
        c = self.client
        with Vertical(id="dialog"):
            yield Label("Edit client" if c else "New client", id="dialog-title")
            yield Input(c.name if c else "", placeholder="name", id="name")
            yield Select([("left", "L"), ("right", "R")], value=(c.dominant_side if c and c.dominant_side else Select.NULL),
                         prompt="dominant side", id="dominant")
            yield Input(c.notes if c else "", placeholder="notes (goals, injuries worth knowing)", id="notes")
            yield Label("", id="dialog-error")
            with Horizontal(id="dialog-buttons"):
                yield Button("Save", variant="primary", id="save")
                yield Button("Cancel", id="cancel")

    def on_input_submitted(self) -> None:
        self._save()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _save(self) -> None:
        name = self.query_one("#name", Input).value.strip()
        side = self.query_one("#dominant", Select).value
        notes = self.query_one("#notes", Input).value.strip()
        try:
            if self.client is None:
                client = Client(new_id("c"), name, None if side is Select.NULL else side, notes, created=now_utc())
            else:
                from dataclasses import replace

                client = replace(self.client, name=name, dominant_side=None if side is Select.NULL else side, notes=notes)
        except ValueError as error:
            self.query_one("#dialog-error", Label).update(str(error))
            return
        self.dismiss(client)
