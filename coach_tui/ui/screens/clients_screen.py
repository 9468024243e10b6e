"""The start screen: clients with their last session and calibration status; search, add, edit, open."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Input, Static

from coach_tui.domain.client import Client
from coach_tui.domain.names import cut
from coach_tui.ui.dialogs.client_dialog import ClientDialog


#: Characters of a name shown in the table (the rest cut with …), so the other columns stay on screen.
NAME_WIDTH = 24


class ClientsScreen(Screen):
    """Pick the client to work with."""

    TITLE = "Clients"
    BINDINGS = [
        Binding("n", "new_client", "New", id="clients.new"),
        Binding("e", "edit_client", "Edit", id="clients.edit"),
        # priority: the table's own Enter (and the search box's) would otherwise take it, unlisted
        Binding("enter", "open_client", "Open", id="clients.open", priority=True),
        Binding("l", "open_client", "Live", id="clients.live"),
        Binding("p", "placement", "Placement", id="clients.placement"),
        Binding("c", "calibrate", "Calibrate", id="clients.calibrate"),
        Binding("slash", "search", "Search", id="clients.search", show=False),  # the box says "(/)"
        Binding("escape", "leave_search", "Leave the search box", id="clients.leave_search", show=False),
        Binding("a", "abtest", "A/B test", id="clients.abtest"),
        Binding("h", "history", "History", id="clients.history"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(placeholder="search clients (/)", id="search")
        yield DataTable(id="clients", cursor_type="row", zebra_stripes=True)
        yield Static("", id="status-line")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("name", "dominant", "last session", "calibrated")
        self.refresh_clients()
        table.focus()

    def refresh_clients(self, select: str | None = None) -> None:
        """Reload the table from the store, keeping the search filter and the selected client (or
        selecting the client with id ``select``)."""
        repo = self.app.repo
        typed = self.query_one("#search", Input).value.strip()
        table = self.query_one(DataTable)
        current = self._selected()
        selected = select or (current.id if current else None)
        table.clear()
        for client in repo.search_clients(typed):
            sessions = repo.sessions(client.id)
            last = f"{sessions[-1].started.astimezone():%Y-%m-%d %H:%M}" if sessions else "—"
            calibrated = self._calibration_status(client)
            table.add_row(cut(client.name, NAME_WIDTH), client.dominant_side or "—", last, calibrated, key=client.id)
            if client.id == selected:
                table.move_cursor(row=table.row_count - 1)
        if typed and not table.row_count:
            status = f"no client matches {cut(typed, 30)!r} — Esc leaves the search, n adds a client"
        else:
            status = f"{table.row_count} client{'' if table.row_count == 1 else 's'} · Enter: live screen · ?: every key"
        self.query_one("#status-line", Static).update(status)

    def _calibration_status(self, client: Client) -> str:
        """The calibrated muscles with their sides, each marked stale when it should be redone."""
        sides: dict[str, list[str]] = {}
        for calibration in self.app.repo.latest_calibrations(client.id).values():
            sides.setdefault(calibration.muscle, []).append(calibration.side or "")
        stale = self.app.stale_calibrations(client)
        parts = [f"{muscle.replace('_', ' ')} {''.join(sorted(sides[muscle]))}".rstrip() + (" STALE" if muscle in stale else "")
                 for muscle in sorted(sides)]
        return ", ".join(parts) or "not yet"

    def on_screen_resume(self) -> None:
        # Back from live, calibration or history: sessions and calibrations may have changed.
        self.refresh_clients()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.refresh_clients()

    def _selected(self) -> Client | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.app.repo.client_by_id(key)

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_leave_search(self) -> None:
        """Back from the search box to the table (the filter stays; Esc again clears it)."""
        search = self.query_one("#search", Input)
        if not search.has_focus and search.value:
            search.value = ""
        self.query_one(DataTable).focus()

    def action_new_client(self) -> None:
        def saved(client: Client | None) -> None:
            if client is not None:
                try:
                    self.app.repo.add_client(client)
                except ValueError as error:
                    self.notify(str(error), severity="error")
                    return
                self.refresh_clients(select=client.id)  # the new client is the one to work with

        self.app.push_screen(ClientDialog(), saved)

    def action_edit_client(self) -> None:
        client = self._selected()
        if client is None:
            return

        def saved(edited: Client | None) -> None:
            if edited is not None:
                self.app.repo.update_client(edited)
                self.refresh_clients()

        self.app.push_screen(ClientDialog(client), saved)

    def action_open_client(self) -> None:
        client = self._selected()
        if client is None:
            self.notify("no client yet — press n to add one")
            return
        self.app.open_live(client)

    def action_placement(self) -> None:
        client = self._selected()
        if client is not None:
            self.app.open_placement(client)

    def action_calibrate(self) -> None:
        client = self._selected()
        if client is not None:
            self.app.open_calibration(client)

    def action_abtest(self) -> None:
        client = self._selected()
        if client is not None:
            self.app.open_abtest(client)

    def action_history(self) -> None:
        client = self._selected()
        if client is not None:
            self.app.open_history(client)
