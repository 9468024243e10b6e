"""Placement and check: which muscle and side each sensor is on, and each sensor's signal quality."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from textwrap import shorten

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from coach_tui.domain.client import Client
from coach_tui.domain.muscles import MUSCLES
from coach_tui.domain.placement import Placement
from coach_tui.domain.names import cut
from coach_tui.workflows.sensor_check import RecentSamples, grade_sensors
from coach_tui.sources.source_task import SourceTask
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.workflows.sensor_setup import SensorsNotReady

CHECK_SECONDS = 2.0
MAX_RATE_HZ = 2000.0
LIGHTS = {"ok": "● ok", "warn": "▲ warn", "bad": "■ bad"}
#: Two-line headers keep the table within 80 columns; the simulated kit has no host to drop notifications.
COLUMNS = ("sensor", "muscle", "signal", "rate\nHz", "lost", "pkts\nlost", "re-\nconn", "host\ndrop", "batt")
SIMULATED_COLUMNS = tuple(c for c in COLUMNS if c != "host\ndrop")
#: Characters of a sensor's id shown (8 sensors of the simulated kit then fit 80 columns).
SENSOR_WIDTH = 16
#: Where a link state's details start ("connecting to …", "not found — …", "failed (…")
_STATE_DETAILS = re.compile(r" (?:to|for) | \(| — |: ")


def short_state(state: str, width: int = 16) -> str:
    """The first words of a link state, at most ``width`` characters (a longer first word is
    cut), for the signal column; the whole state is shown below the table."""
    words = _STATE_DETAILS.split(state, maxsplit=1)[0].split()
    short = words[0][:width] if words else ""
    for word in words[1:]:
        if len(short) + 1 + len(word) > width:
            break
        short = f"{short} {word}"
    return short


def assigned(placements: list[Placement], current: Placement, muscle: str, side: str) -> tuple[list[Placement], str]:
    """``current``'s sensor put on ``muscle`` and ``side``, and what happened in words. One sensor per
    muscle and side: a sensor already there swaps places with it (taking ``current``'s old site)."""
    updated = replace(current, muscle=muscle, side=side)
    there = next((p for p in placements if p.assignment == updated.assignment
                  and (p.sensor_id, p.channel) != (current.sensor_id, current.channel)), None)
    moved = None if there is None else replace(there, muscle=current.muscle, side=current.side)
    changed = {(current.sensor_id, current.channel): updated}
    if moved is not None:
        changed[(there.sensor_id, there.channel)] = moved
    placements = [changed.get((p.sensor_id, p.channel), p) for p in placements]
    said = f"{current.sensor_id} is now on the {updated.label}"
    if moved is not None:
        said += f"; {there.sensor_id}, which was there, moved to the {moved.label} (one sensor per muscle and side)"
    return placements, said


class PlacementScreen(Screen):
    """Enter re-assigns the selected sensor; quality lights refresh every second, graded in a
    worker thread on a copy of the last samples (never two gradings at once); the table changes
    only the cells whose text changed."""

    TITLE = "Placement and check"
    BINDINGS = [
        Binding("enter", "assign", "Assign muscle", id="placement.assign", priority=True),  # over the table's own
        Binding("escape", "back", "Back", id="placement.back"),
    ]

    def __init__(self, client: Client):
        super().__init__()
        self.client = client
        self.placements: list[Placement] = []
        self._recent: RecentSamples | None = None
        self._source = None
        self._stream: SourceTask | None = None
        self._checks: dict = {}  # sensor id → SensorCheck of the last grading
        self._grading: asyncio.Future | None = None
        self._shown: dict[str, tuple[str, ...]] = {}  # row key → cells on screen

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{cut(self.client.name, 30)}: sensors and where they sit · Enter assigns a muscle", id="placement-title")
        yield DataTable(id="placements", cursor_type="row", header_height=2)
        yield Static("", id="placement-reasons")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        self._columns = table.add_columns(*(SIMULATED_COLUMNS if self.app.simulated else COLUMNS))
        self.placements = self.app.placements_for(self.client)
        self._source = self.app.check_source(self.placements)
        try:
            rate = self.app.sensor_rate()
        except SensorsNotReady:
            rate = MAX_RATE_HZ  # sensors still connecting: keep at most this much
        self._recent = RecentSamples(CHECK_SECONDS, rate)
        self._stream = SourceTask(self._source, self._recent.add)
        self._stream.start()
        self.set_interval(1.0, self.refresh_quality)
        self._fill()
        table.focus()

    async def on_unmount(self) -> None:
        if self._stream is not None:
            await self._stream.stop()
        if self._grading is not None:
            await asyncio.gather(self._grading, return_exceptions=True)  # tens of ms at most

    def _rows(self) -> dict[str, tuple[str, ...]]:
        """The table's cells by row key, from the last grading and the sources' statuses."""
        statuses = {s.sensor_id: s for s in self._source.status()}
        rows = {}
        for placement in self.placements:
            check = self._checks.get(placement.sensor_id)
            status = statuses.get(placement.sensor_id)
            light = LIGHTS[check.verdict] if check else "…"
            if status is not None and status.state and status.state != "streaming" and not status.simulated:
                light = f"… {short_state(status.state)}"
            sensor = placement.sensor_id if len(self.placements) == len(statuses) else f"{placement.sensor_id} ch{placement.channel + 1}"
            if status is None:
                link = ("—",) * 5
            else:
                rate = f"{status.measured_rate_hz:.0f}" if status.measured_rate_hz else "—"
                link = (rate, f"{status.loss_fraction:.1%}", str(status.packets_lost), str(status.reconnects),
                        str(status.host_drops))
            if self.app.simulated:
                link = link[:4]
            battery = f"{status.battery_pct:.0f}%" if status and status.battery_pct is not None else "—"
            rows[f"{placement.sensor_id}:{placement.channel}"] = (cut(sensor, SENSOR_WIDTH), placement.label, light, *link,
                                                                  battery)
        return rows

    def _fill(self) -> None:
        """Show the rows: rebuilt when the placements changed, else only the cells that changed."""
        table = self.query_one(DataTable)
        rows = self._rows()
        if list(rows) != list(self._shown):
            row = table.cursor_row
            table.clear()
            for key, cells in rows.items():
                table.add_row(*cells, key=key)
            if table.row_count:
                table.move_cursor(row=min(row, table.row_count - 1))
        else:
            for key, cells in rows.items():
                for column, cell, shown in zip(self._columns, cells, self._shown[key]):
                    if cell != shown:
                        table.update_cell(key, column, cell, update_width=True)
        self._shown = rows

    def refresh_quality(self) -> None:
        """Grade the last seconds of every sensor in a worker thread (unless a grading is still
        running), then show the lights and the reasons."""
        if self._grading is not None and not self._grading.done():
            return
        received, statuses = self._recent.received(), self._source.status()
        names: dict[str, str] = {}
        for p in self.placements:
            names[p.sensor_id] = f"{names[p.sensor_id]} + {p.label}" if p.sensor_id in names else p.label
        settings, simulated, envelopes = self.app.config.analysis, self.app.simulated, self.app.envelope_sensors()

        def grade():
            return grade_sensors(received, statuses, names, settings, CHECK_SECONDS, simulated, envelopes)

        self._grading = asyncio.get_running_loop().run_in_executor(None, grade)
        self._grading.add_done_callback(self._graded)

    def _graded(self, grading: asyncio.Future) -> None:
        if grading.cancelled() or grading.exception() is not None or not self.is_mounted:
            return
        report = grading.result()
        self._checks = {s.status.sensor_id: s for s in report.sensors}
        self._fill()
        reasons = [r for s in report.sensors for c in s.channels for r in c.reasons]
        selected = self.placements[self.query_one(DataTable).cursor_row] if self.placements else None
        hint = MUSCLES[selected.muscle].location_hint if selected and selected.muscle in MUSCLES else ""
        lines = [f"electrode site ({selected.label}): {hint}"] if hint else []
        lines += [f"{s.status.sensor_id}: {s.status.state}" for s in report.sensors
                  if s.status.state not in ("", "streaming") and not s.status.simulated]
        lines += [f"{s.status.sensor_id}: {event}" for s in report.sensors for event in s.status.events]
        lines += [f"⚠ {r}" for r in reasons] or ["all sensors ok"]
        self.query_one("#placement-reasons", Static).update("\n".join(lines))

    def action_assign(self) -> None:
        if not self.placements:
            return
        current = self.placements[self.query_one(DataTable).cursor_row]
        muscles = [(key, f"{m.name}  — {shorten(m.location_hint, 60, placeholder=' …')}") for key, m in MUSCLES.items()]

        def muscle_chosen(muscle: str | None) -> None:
            if muscle is None:
                return

            def side_chosen(side: str | None) -> None:
                if side is None:
                    return
                self.placements, said = assigned(self.placements, current, muscle, side)
                self.app.repo.save_placements(self.client.id, self.placements)
                self.notify(said)
                self._fill()

            self.app.push_screen(ChoiceDialog("Side", [("L", "left"), ("R", "right")], current.side), side_chosen)

        self.app.push_screen(ChoiceDialog(f"Muscle for {current.sensor_id}", muscles, current.muscle), muscle_chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
