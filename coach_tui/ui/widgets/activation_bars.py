"""All activation bars in one widget: one render per frame, and none when nothing visible changed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from coach_tui.live_console import ChannelView, PairView

FULL_SCALE_PCT = 120.0


def _cells(value: float, peak: float, scale: float, width: int, target: float | None) -> tuple[int, int | None, int | None]:
    """Filled cells, and the cells of the peak-hold mark and the target line (None when absent)."""
    filled = min(width, round(value / scale * width))
    peak_at = min(width - 1, round(peak / scale * width)) if peak > 0 else None
    target_at = min(width - 1, round(target / scale * width)) if target else None
    return filled, peak_at, target_at


def _bar(cells: tuple[int, int | None, int | None], width: int, above_target: bool, streaming: bool) -> Text:
    """One bar as a few styled runs: filled, then the empty rest with the peak and target marks."""
    if not streaming:
        return Text("░" * width, "grey50")
    filled, peak_at, target_at = cells
    text = Text("█" * filled, "bold green" if above_target else "green")
    marks = sorted((at, char, style) for at, char, style in ((peak_at, "▏", "yellow"), (target_at, "┊", "cyan"))
                   if at is not None and at >= filled)
    pos = filled
    for at, char, style in marks:
        if at < pos:
            continue
        text.append("·" * (at - pos), "grey39")
        text.append(char, style)
        pos = at + 1
    text.append("·" * (width - pos), "grey39")
    return text


class ActivationBars(Static):
    """One bar per muscle side, pairs side by side with their asymmetry and the formula named."""

    DEFAULT_CSS = "ActivationBars { height: auto; }"

    def __init__(self, target_pct: float = 70.0, **kwargs):
        super().__init__("", **kwargs)
        self.target_pct = target_pct
        self._shown: tuple | None = None
        self._lines = 0

    def _scales(self, channels: list[ChannelView]) -> list[tuple[float, float | None]]:
        """Per bar: full scale and target line. %MVC bars share 0–120 %MVC with the target line;
        bars of muscles not calibrated yet share a µV scale and have no target."""
        raw_peak = max([c.peak for c in channels if c.units != "%MVC"] + [1.0]) * 1.1
        return [(FULL_SCALE_PCT, self.target_pct) if c.units == "%MVC" else (raw_peak, None) for c in channels]

    def show(self, channels: list[ChannelView], pairs: list[PairView]) -> None:
        """Repaint only when something visible changed: a cell of a bar, a shown number, an alert."""
        width = max(10, self.size.width - 38)
        scales = self._scales(channels)
        cells = [_cells(c.value, c.peak, scale, width, target) for c, (scale, target) in zip(channels, scales)]
        key = (
            width,
            tuple((cell, f"{c.value:5.0f}", c.streaming) for cell, c in zip(cells, channels)),
            tuple((p.muscle, None if p.asymmetry_pct is None else round(p.asymmetry_pct), p.weaker_side, p.alert) for p in pairs),
        )
        if key == self._shown:
            return
        self._shown = key
        text = self._render_bars(channels, pairs, cells, width, [target for _, target in scales])
        lines = len(text.plain.splitlines())
        # A layout pass only when the height changes (a channel added); otherwise repaint in place.
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    def _render_bars(self, channels, pairs, cells, width: int, targets: list[float | None]) -> Text:
        out = Text()
        pair_by_muscle = {p.muscle: p for p in pairs}
        seen = set()
        for channel, cell, target in zip(channels, cells, targets):
            a = channel.assignment
            label = f"{a.muscle.replace('_', ' ')[:14]:<14} {a.side or ' '}"
            unit = "%" if channel.units == "%MVC" else "µV"
            value = f"{channel.value:5.0f}{unit}" if channel.streaming else " ---- "
            out.append(f"{label} ")
            out.append_text(_bar(cell, width, target is not None and channel.value >= target, channel.streaming))
            out.append(f" {value}")
            pair = pair_by_muscle.get(a.muscle)
            if not channel.streaming:
                out.append("  reconnecting", "yellow")
            elif pair and a.muscle not in seen and a.side in ("L", "R"):
                seen.add(a.muscle)
                if pair.asymmetry_pct is None:
                    out.append("  asym —", "grey62")
                else:
                    style = "bold red" if pair.alert else "default"
                    out.append(f"  asym {pair.asymmetry_pct:3.0f}% {pair.weaker_side or ''}", style)
            out.append("\n")
        out.append("asym = (max − min) / max of per-rep peaks · ", "grey62")
        calibrated = [c for c in channels if c.units == "%MVC"]
        if not calibrated:
            note = "┊ target: calibrate for %MVC"
        elif len(calibrated) < len(channels):
            note = f"┊ target {self.target_pct:.0f} %MVC (µV: not calibrated)"
        else:
            note = f"┊ target {self.target_pct:.0f} %MVC"
        out.append(note, "cyan")
        return out
