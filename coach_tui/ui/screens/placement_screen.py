"""Placement and check: which muscle and side each sensor is on, and each sensor's signal quality."""

from __future__ import annotations

from dataclasses import replace

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from coach_tui.domain.client import Client
from coach_tui.domain.muscles import MUSCLES
from coach_tui.domain.placement import Placement
from coach_tui.session_check import RecentSamples, grade_sensors
from coach_tui.sources.source_task import SourceTask
from coach_tui.ui.dialogs.choice_dialog import ChoiceDialog
from coach_tui.ui.sensors_not_ready import SensorsNotReady

CHECK_SECONDS = 2.0
MAX_RATE_HZ = 2000.0
LIGHTS = {"ok": "● ok", "warn": "▲ warn", "bad": "■ bad"}


class PlacementScreen(Screen):
    """Enter re-assigns the selected sensor; quality lights refresh every second."""

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

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(f"{self.client.name}: sensors and where they sit · Enter assigns a muscle", id="placement-title")
        yield DataTable(id="placements", cursor_type="row")
        yield Static("", id="placement-reasons")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("sensor", "muscle", "signal", "rate Hz", "lost", "battery")
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
        self._fill({})
        table.focus()

    async def on_unmount(self) -> None:
        if self._stream is not None:
            await self._stream.stop()

    def _fill(self, checks: dict) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        statuses = {s.sensor_id: s for s in self._source.status()}
        for placement in self.placements:
            check = checks.get(placement.sensor_id)
            status = statuses.get(placement.sensor_id)
            light = LIGHTS[check.verdict] if check else "…"
            rate = f"{status.measured_rate_hz:.0f}" if status and status.measured_rate_hz else "—"
            lost = f"{status.loss_fraction:.1%}" if status else "—"
            battery = f"{status.battery_pct:.0f} %" if status and status.battery_pct is not None else "—"
            sensor = placement.sensor_id if len(self.placements) == len(statuses) else f"{placement.sensor_id} ch{placement.channel + 1}"
            if status is not None and status.state and status.state != "streaming" and not status.simulated:
                light = f"… {status.state}"[:28]
            table.add_row(sensor, placement.label, light, rate, lost, battery,
                          key=f"{placement.sensor_id}:{placement.channel}")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def refresh_quality(self) -> None:
        """Grade the last seconds of every sensor and show the lights and the reasons."""
        received = self._recent.received()
        names: dict[str, str] = {}
        for p in self.placements:
            names[p.sensor_id] = f"{names[p.sensor_id]} + {p.label}" if p.sensor_id in names else p.label
        report = grade_sensors(received, self._source.status(), names, self.app.config.analysis, CHECK_SECONDS,
                               self.app.simulated, self.app.envelope_sensors())
        checks = {s.status.sensor_id: s for s in report.sensors}
        self._fill(checks)
        reasons = [r for s in report.sensors for c in s.channels for r in c.reasons]
        selected = self.placements[self.query_one(DataTable).cursor_row] if self.placements else None
        hint = MUSCLES[selected.muscle].location_hint if selected and selected.muscle in MUSCLES else ""
        lines = [f"electrode site ({selected.label}): {hint}"] if hint else []
        lines += [f"⚠ {r}" for r in reasons] or ["all sensors ok"]
        self.query_one("#placement-reasons", Static).update("\n".join(lines))

    def action_assign(self) -> None:
        if not self.placements:
            return
        current = self.placements[self.query_one(DataTable).cursor_row]
        muscles = [(key, f"{m.name}  — {m.location_hint[:48]}") for key, m in MUSCLES.items()]

        def muscle_chosen(muscle: str | None) -> None:
            if muscle is None:
                return

            def side_chosen(side: str | None) -> None:
                if side is None:
                    return
                updated = replace(current, muscle=muscle, side=side)
                self.placements = [updated if (p.sensor_id, p.channel) == (current.sensor_id, current.channel) else p
                                   for p in self.placements]
                self.app.repo.save_placements(self.client.id, self.placements)
                self.notify(f"{current.sensor_id} is now on the {updated.label}")
                self._fill({})

            self.app.push_screen(ChoiceDialog("Side", [("L", "left"), ("R", "right")], current.side), side_chosen)

        self.app.push_screen(ChoiceDialog(f"Muscle for {current.sensor_id}", muscles, current.muscle), muscle_chosen)

    def action_back(self) -> None:
        self.app.pop_screen()
