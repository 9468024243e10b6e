"""Guided MVC calibration of one muscle, both sides at once: baseline, trials with countdown, results."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from coach_tui.domain.client import Client
from coach_tui.mvc_protocol import MvcProtocol
from coach_tui.sources.source_task import SourceTask
from coach_tui.ui.sensors_not_ready import SensorsNotReady


def _big_bar(value: float, best: float, width: int) -> Text:
    scale = max(best * 1.2, value, 1.0)
    filled = round(min(value, scale) / scale * width)
    mark = round(best / scale * width) if best > 0 else None
    text = Text()
    for i in range(width):
        text.append("█" if i < filled else "▏" if i == mark else "·", "green" if i < filled else "yellow" if i == mark else "grey39")
    return text


class CalibrationScreen(Screen):
    """Runs the protocol; ``a`` saves the calibration, ``r`` redoes it, Esc leaves without saving."""

    TITLE = "MVC calibration"
    BINDINGS = [
        Binding("a", "accept", "Accept & save", id="calibration.accept"),
        Binding("r", "redo", "Redo", id="calibration.redo"),
        Binding("escape", "back", "Back", id="calibration.back"),
    ]

    def __init__(self, client: Client, muscle: str):
        super().__init__()
        self.client = client
        self.muscle = muscle
        self.protocol: MvcProtocol | None = None
        self._stream: SourceTask | None = None
        self._saved = False

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="calibration-phase")
        yield Static("", id="calibration-bars")
        yield Static("", id="calibration-trials")
        yield Footer()

    def on_mount(self) -> None:
        self._start()
        self._timer = self.set_interval(1 / 10, self.refresh_view)

    def _start(self) -> None:
        self._saved = False
        try:
            source, self.protocol = self.app.calibration_run(self.client, self.muscle)
        except SensorsNotReady as why:
            self.notify(f"{why} — try again in a moment (p shows each sensor)", severity="warning", timeout=6)
            self.set_timer(0.1, self.app.pop_screen)
            return
        self._stream = SourceTask(source, self._on_block)
        self._stream.start()

    def _on_block(self, block) -> bool:
        self.protocol.add(block.sensor_id, block.samples, block.gap_before)
        return self.protocol.done

    async def _stop(self) -> None:
        if self._stream is not None:
            await self._stream.stop()

    async def on_unmount(self) -> None:
        await self._stop()

    def refresh_view(self) -> None:
        """Phase and countdown, the live bars of both sides, each trial's value, the verdict."""
        protocol = self.protocol
        if protocol is None:  # the sensors were not ready
            return
        phase, left = protocol.current()
        name = self.muscle.replace("_", " ")
        if protocol.done:
            heading = f"{name}: done — a saves, r redoes"
        elif phase.is_trial:
            heading = f"{name}: {phase.name.upper()} — push as hard as you can! {left:4.1f} s"
        else:
            heading = f"{name}: {phase.name} — relax completely · {left:4.1f} s"
        width = max(10, self.size.width - 24)
        bars = Text()
        for side in protocol.sides:
            bests = protocol.trial_bests(side)
            value = protocol.latest(side)
            bars.append(f"{'left ' if side == 'L' else 'right'} ")
            bars.append_text(_big_bar(value, max(bests, default=0.0), width))
            bars.append(f" {value:6.0f} µV\n")
        lines = []
        for side in protocol.sides:
            bests = protocol.trial_bests(side)
            lines.append(f"{'left ' if side == 'L' else 'right'} trials: " + "  ".join(f"{b:.0f}" for b in bests) + " µV")
        if protocol.done:
            for result in protocol.results():
                side = "left" if result.side == "L" else "right"
                flag = " ⚠ repeat a trial" if result.mvc.repeat_trial else ""
                lines.append(f"{side}: reference {result.mvc.reference:.0f} µV (best 500 ms) — {result.mvc.message}{flag}")
            if self._saved:
                lines.append("saved ✓")
        with self.app.batch_update():
            self.query_one("#calibration-phase", Static).update(heading)
            self.query_one("#calibration-bars", Static).update(bars)
            self.query_one("#calibration-trials", Static).update("\n".join(lines))

    def action_accept(self) -> None:
        if self.protocol is None:
            return
        if not self.protocol.done:
            self.notify("finish the trials first", severity="warning")
            return
        if self._saved:
            return
        placements = {p.side: p for p in self.app.placements_for(self.client) if p.muscle == self.muscle}
        for calibration in self.protocol.calibrations(self.client.id, placements):
            self.app.repo.add_calibration(calibration)
        self._saved = True
        self.notify(f"{self.muscle.replace('_', ' ')} calibrated")

    async def action_redo(self) -> None:
        await self._stop()
        self._start()

    def action_back(self) -> None:
        self.app.pop_screen()
