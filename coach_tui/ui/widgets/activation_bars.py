"""All activation bars in one widget: one render per frame, and none when nothing visible changed."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from coach_tui.live_console import ChannelView, PairView

FULL_SCALE_PCT = 120.0


def _bar(value: float, peak: float, scale: float, width: int, target: float | None, streaming: bool) -> Text:
    """One bar: filled to ``value``, a peak-hold mark, and the target line."""
    cells = max(1, width)
    filled = min(cells, round(value / scale * cells)) if streaming else 0
    peak_at = min(cells - 1, round(peak / scale * cells)) if streaming and peak > 0 else None
    target_at = min(cells - 1, round(target / scale * cells)) if target else None
    text = Text()
    for i in range(cells):
        if not streaming:
            text.append("░", "grey50")
        elif i < filled:
            text.append("█", "green" if target is None or value < target else "bold green")
        elif i == peak_at:
            text.append("▏", "yellow")
        elif i == target_at:
            text.append("┊", "cyan")
        else:
            text.append("·", "grey39")
    return text


class ActivationBars(Static):
    """One bar per muscle side, pairs side by side with their asymmetry and the formula named."""

    DEFAULT_CSS = "ActivationBars { height: auto; }"

    def __init__(self, target_pct: float = 70.0, **kwargs):
        super().__init__("", **kwargs)
        self.target_pct = target_pct
        self._shown: tuple | None = None
        self._lines = 0

    def show(self, channels: list[ChannelView], pairs: list[PairView]) -> None:
        """Repaint only if what the bars show (at cell resolution) changed."""
        width = max(10, self.size.width - 38)
        key = tuple(
            (c.assignment.key, round(c.value), round(c.peak), c.streaming) for c in channels
        ) + tuple((p.muscle, None if p.asymmetry_pct is None else round(p.asymmetry_pct), p.alert) for p in pairs) + (width,)
        if key == self._shown:
            return
        self._shown = key
        text = self._render_bars(channels, pairs, width)
        lines = len(text.plain.splitlines())
        # A layout pass only when the height changes (a channel added); otherwise repaint in place.
        self.update(text, layout=lines != self._lines)
        self._lines = lines

    def _render_bars(self, channels: list[ChannelView], pairs: list[PairView], width: int) -> Text:
        out = Text()
        pair_by_muscle = {p.muscle: p for p in pairs}
        calibrated = all(c.units == "%MVC" for c in channels)
        scale = FULL_SCALE_PCT if calibrated else max([c.peak for c in channels] + [1.0]) * 1.1
        target = self.target_pct if calibrated else None
        seen = set()
        for channel in channels:
            a = channel.assignment
            label = f"{a.muscle.replace('_', ' ')[:14]:<14} {a.side or ' '}"
            unit = "%" if channel.units == "%MVC" else "µV"
            value = f"{channel.value:5.0f}{unit}" if channel.streaming else " ---- "
            out.append(f"{label} ")
            out.append_text(_bar(channel.value, channel.peak, scale, width, target, channel.streaming))
            out.append(f" {value}")
            pair = pair_by_muscle.get(a.muscle)
            if pair and a.muscle not in seen and a.side in ("L", "R"):
                seen.add(a.muscle)
                if pair.asymmetry_pct is None:
                    out.append("  asym —", "grey62")
                else:
                    style = "bold red" if pair.alert else "default"
                    out.append(f"  asym {pair.asymmetry_pct:3.0f}% {pair.weaker_side or ''}", style)
            elif not channel.streaming:
                out.append("  reconnecting", "yellow")
            out.append("\n")
        out.append("asym = (max − min) / max of per-rep peaks · ", "grey62")
        out.append("┊ target " + (f"{self.target_pct:.0f} %MVC" if calibrated else ": calibrate for %MVC"), "cyan")
        return out
