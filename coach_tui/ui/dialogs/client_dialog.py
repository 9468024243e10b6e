"""Create or edit a client; dismisses with the client, or None when cancelled."""

from __future__ import annotations

from dataclasses import replace

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

    def on_input_changed(self) -> None:
        # a message about the name goes once what is typed is fine
        error = self.query_one("#dialog-error", Label)
        if self._problem() is None:
            error.update("")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self._save()
        else:
            self.dismiss(None)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def _problem(self) -> str | None:
        """What is wrong with the name typed, in words (None: nothing)."""
        name = " ".join(self.query_one("#name", Input).value.split())
        if not name:
            return "Give the client a name"
        other = self.app.repo.find_client(name)
        if other is not None and (self.client is None or other.id != self.client.id):
            return f"There is already a client named {other.name}: add something to tell them apart"
        return None

    def _save(self) -> None:
        """Dismiss with the client; a name that cannot be used is said beside it, and what was typed stays."""
        problem = self._problem()
        if problem is not None:
            self.query_one("#dialog-error", Label).update(problem)
            self.query_one("#name", Input).focus()
            return
        name = " ".join(self.query_one("#name", Input).value.split())
        side = self.query_one("#dominant", Select).value
        notes = self.query_one("#notes", Input).value.strip()
        dominant = None if side is Select.NULL else side
        if self.client is None:
            client = Client(new_id("c"), name, dominant, notes, created=now_utc())
        else:
            client = replace(self.client, name=name, dominant_side=dominant, notes=notes)
        self.dismiss(client)
