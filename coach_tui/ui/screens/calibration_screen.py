"""Guided MVC calibration of one muscle, both sides at once: baseline, trials with countdown, results."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header, Static

from coach_tui.domain.client import Client
from coach_tui.workflows.calibration_protocol import CalibrationProtocol
from coach_tui.sources.source_task import SourceTask
from coach_tui.workflows.sensor_setup import SensorsNotReady


BAR_ROWS = 2  # the live bar's height per side, to read from the bench
GET_READY_S = 3.0  # the last seconds of a rest say which trial comes next


def _big_bar(value: float, best: float, scale: float, width: int) -> Text:
    """One row of a side's bar: ``value`` filled on ``scale``, the best trial so far marked."""
    filled = round(min(value, scale) / scale * width)
    mark = round(best / scale * width) if best > 0 else None
    text = Text()
    for i in range(width):
        text.append("█" if i < filled else "▏" if i == mark else "·", "green" if i < filled else "yellow" if i == mark else "grey39")
    return text


def _trial_marks(bests: list[float], consistency_pct: float) -> str:
    """Each trial's best window, the ones more than ``consistency_pct`` below the best marked."""
    top = max(bests, default=0.0)
    return "  ".join(f"{b:.0f}" + (" ⚠" if top > 0 and (top - b) / top * 100 > consistency_pct else "") for b in bests)


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
        self.protocol: CalibrationProtocol | None = None
        self._stream: SourceTask | None = None
        self._saved = False
        self._confirm_flagged = False  # "a" once more saves trials flagged "repeat a trial"
        self._shown: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="calibration-phase")
        yield Static("", id="calibration-bars")
        yield Static("", id="calibration-trials")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self._interrupted = False
        self._start()
        self._timer = self.set_interval(1 / 10, self.refresh_view)

    def _start(self) -> None:
        self._saved = self._confirm_flagged = False
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

    async def on_screen_suspend(self) -> None:
        # Covered (help, a dialog): the client cannot follow the countdown, so the protocol stops …
        if self.protocol is not None and not self.protocol.done:
            self._interrupted = True
            await self._stop()

    def on_screen_resume(self) -> None:
        # … and starts again from its rest baseline once the screen is back.
        if self._interrupted:
            self._interrupted = False
            self.notify("calibration started again: its trials need the screen in view", timeout=6)
            self._start()

    def refresh_view(self) -> None:
        """Phase and countdown, the live bars of both sides, each trial's value, the verdict."""
        protocol = self.protocol
        if protocol is None:  # the sensors were not ready
            return
        heading = self._heading(protocol)
        width = max(10, self.size.width - 24)
        consistency = protocol.settings.consistency_pct
        bars = Text()
        lines = []
        for side in protocol.sides:
            label = "left " if side == "L" else "right"
            bests = protocol.trial_bests(side)
            value = protocol.latest(side)
            best = max(bests, default=0.0)
            row = _big_bar(value, best, protocol.bar_scale(side), width)
            for line in range(BAR_ROWS):
                bars.append(f"{label if line == 0 else ' ' * 5} ")
                bars.append_text(row)
                bars.append(f" {value:6.0f} µV\n" if line == 0 else "\n")
            lines.append(f"{label} trials: {_trial_marks(bests, consistency)} µV" if bests else f"{label} trials: —")
        if protocol.done:
            for result in protocol.results():
                side = "left" if result.side == "L" else "right"
                flag = " ⚠ repeat trial (r redoes the protocol)" if result.mvc.repeat_trial else ""
                lines.append(f"{side}: reference {result.mvc.reference:.0f} µV (best 500 ms) — {result.mvc.message}{flag}")
            if self._saved:
                lines.append("saved ✓")
            elif self._confirm_flagged:
                lines.append("trials disagree: a once more saves them anyway, r redoes the protocol")
        with self.app.batch_update():
            self._update("#calibration-phase", heading)
            self._update("#calibration-bars", bars)
            self._update("#calibration-trials", "\n".join(lines))

    def _heading(self, protocol: CalibrationProtocol) -> str:
        """What to do now, with the countdown; the last seconds of a rest say what comes next."""
        phase, left = protocol.current()
        name = self.muscle.replace("_", " ")
        if protocol.done:
            return f"{name}: done — a saves, r redoes"
        if phase.is_trial:
            return f"{name}: {phase.name.upper()} — push as hard as you can! {left:4.1f} s"
        coming = protocol.next_trial()
        if phase is protocol.phases[0]:  # the rest baseline: its own step, then trial 1
            return f"{name}: rest baseline — relax completely, measuring rest · {coming.name} in {left:3.1f} s"
        if coming is not None and left <= GET_READY_S:
            return f"{name}: get ready — {coming.name} starts in {left:3.1f} s"
        return f"{name}: {phase.name} — relax completely · {left:4.1f} s"

    def _update(self, selector: str, content: str | Text) -> None:
        """Repaint a part only when what it shows changed."""
        if self._shown.get(selector) != content:
            self._shown[selector] = content
            self.query_one(selector, Static).update(content)

    def action_accept(self) -> None:
        if self.protocol is None:
            return
        if not self.protocol.done:
            self.notify("finish the trials first", severity="warning")
            return
        if self._saved:
            return
        if any(r.mvc.repeat_trial for r in self.protocol.results()) and not self._confirm_flagged:
            self._confirm_flagged = True
            self.notify("the trials disagree — a once more saves anyway, r redoes", severity="warning")
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
