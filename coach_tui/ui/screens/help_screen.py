"""F1 / ?: every key of the screen underneath, with what it does, and how its numbers are made (a
screen's ``help_notes()``: formulas live here, not on the working screens)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Label, Static


def key_lines(screen: Screen) -> list[tuple[str, str, str]]:
    """(keys, description, binding id) of the console's bindings active on ``screen`` (those with an
    id, i.e. remappable), in order, app keys last; each action once with all its keys."""
    rows: dict[str, tuple[list[str], str]] = {}
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.id and binding.description:
            rows.setdefault(binding.description, ([], binding.id))[0].append(screen.app.get_key_display(binding))
    return [(", ".join(keys), description, binding_id) for description, (keys, binding_id) in rows.items()]


class HelpScreen(ModalScreen[None]):
    """The keys of the screen that was showing."""

    BINDINGS = [Binding("escape,f1,question_mark,q", "close", "Close", id="help.close")]

    def __init__(self, under: Screen):
        super().__init__()
        self.under = under

    def compose(self) -> ComposeResult:
        rows = key_lines(self.under)
        text = "\n".join(f"{keys:>12}  {description:<20} [dim]{binding_id}[/]" for keys, description, binding_id in rows)
        with Vertical(id="dialog"):
            yield Label(f"Keys — {self.under.title or self.under.__class__.__name__}", id="dialog-title")
            with VerticalScroll(id="help-scroll"):
                yield Static(text or "no keys here", id="help-keys")
                notes = getattr(self.under, "help_notes", None)
                if notes is not None:
                    yield Static(notes(), id="help-notes", markup=False)
            yield Label("Esc closes · ↑/↓ scroll · remap by id under \\[keymap] in config.toml",
                        classes="hint")

    def action_close(self) -> None:
        self.dismiss(None)
