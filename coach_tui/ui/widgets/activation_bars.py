"""All activation bars in one widget: only the lines whose content changed are drawn again."""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.geometry import Region, Size
from textual.strip import Strip
from textual.widget import Widget

from coach_tui.workflows.live_view import ChannelView, PairView

FULL_SCALE_PCT = 120.0
MARGIN = 1  # blank cells left and right of every line
#: Least full scale of µV bars: a muscle at rest (a few µV) stays near the left instead of filling them.
MIN_RAW_SCALE_UV = 20.0
#: What the bar of a sensor that stopped streaming says.
LOST_TEXT = " lost — reconnecting "


def _cells(value: float, peak: float, scale: float, width: int, target: float | None) -> tuple[int, int | None, int | None]:
    """Filled cells, and the cells of the peak-hold mark and the target line (None when absent)."""
    filled = min(width, round(value / scale * width))
    peak_at = min(width - 1, round(peak / scale * width)) if peak > 0 else None
    target_at = min(width - 1, round(target / scale * width)) if target else None
    return filled, peak_at, target_at


Run = tuple[str, str]  # (text, style name)


def _bar(cells: tuple[int, int | None, int | None], width: int, above_target: bool, streaming: bool) -> list[Run]:
    """One bar as a few styled runs: filled, then the empty rest with the peak and target marks."""
    if not streaming:  # the bar itself says why it is empty
        text = LOST_TEXT if len(LOST_TEXT) + 2 <= width else LOST_TEXT.split(" ")[0]
        left = (width - len(text)) // 2
        return [("░" * left, "grey50"), (text, "yellow"), ("░" * (width - left - len(text)), "grey50")]
    filled, peak_at, target_at = cells
    runs = [("█" * filled, "bold green" if above_target else "green")]
    marks = sorted((at, char, style) for at, char, style in ((peak_at, "▏", "yellow"), (target_at, "┊", "cyan"))
                   if at is not None and at >= filled)
    pos = filled
    for at, char, style in marks:
        if at < pos:
            continue
        runs += [("·" * (at - pos), "grey39"), (char, style)]
        pos = at + 1
    runs.append(("·" * (width - pos), "grey39"))
    return runs


class ActivationBars(Widget):
    """One bar per muscle side, pairs side by side with their asymmetry (its formula is in ? help).

    Drawn line by line (Textual's line API): each line is a few styled runs, turned into a
    ``Strip`` only when its runs change, and only the changed lines are repainted.
    """

    DEFAULT_CSS = "ActivationBars { height: auto; }"

    def __init__(self, target_pct: float = 70.0, **kwargs):
        super().__init__(**kwargs)
        self.target_pct = target_pct
        self._shown: tuple | None = None
        self._runs: list[list[Run]] = []
        self._strips: list[Strip] = []
        self._styles: dict[str, Style] = {}
        self._line_width = 0  # cells, from the last resize

    def _scales(self, channels: list[ChannelView]) -> list[tuple[float, float | None]]:
        """Per bar: full scale and target line. %MVC bars share 0–120 %MVC with the target line;
        bars of muscles not calibrated yet share a µV scale (at least ``MIN_RAW_SCALE_UV``) and have
        no target."""
        floor = MIN_RAW_SCALE_UV if any(c.units == "µV" for c in channels) else 1.0
        raw_peak = max([c.peak * 1.1 for c in channels if c.units != "%MVC"] + [floor])
        return [(FULL_SCALE_PCT, self.target_pct) if c.units == "%MVC" else (raw_peak, None) for c in channels]

    def show(self, channels: list[ChannelView], pairs: list[PairView]) -> None:
        """Repaint only when something visible changed: a cell of a bar, a shown number, an alert.
        Each muscle's bars sit together, left before right, in the order the muscles come."""
        first = {}
        for c in channels:
            first.setdefault(c.assignment.muscle, len(first))
        channels = sorted(channels, key=lambda c: (first[c.assignment.muscle], c.assignment.side != "L"))
        line_width = self._line_width
        width = max(10, line_width - 2 * MARGIN - 38)
        scales = self._scales(channels)
        cells = [_cells(c.value, c.peak, scale, width, target) for c, (scale, target) in zip(channels, scales)]
        key = (
            width,
            tuple((cell, f"{c.value:5.0f}", c.streaming, c.pop) for cell, c in zip(cells, channels)),
            tuple((p.muscle, None if p.asymmetry_pct is None else round(p.asymmetry_pct), p.weaker_side, p.alert) for p in pairs),
        )
        if key == self._shown:
            return
        self._shown = key
        self.repaint(self._lines(channels, pairs, cells, width, [target for _, target in scales]), line_width)

    @property
    def plain(self) -> str:
        """The lines shown, as plain text."""
        return "\n".join("".join(text for text, _ in runs) for runs in self._runs)

    def repaint(self, lines: list[list[Run]], width: int) -> None:
        """Show ``lines`` (``width`` cells each): rebuild the lines that differ and refresh the band they
        span, in one go; lay out again only when their number changed."""
        resized = len(lines) != len(self._runs)
        changed = [y for y, runs in enumerate(lines) if resized or runs != self._runs[y]]
        self._runs = lines
        if resized:
            self._strips = [self._strip(runs, width) for runs in lines]
            self.refresh(layout=True)
            return
        for y in changed:
            self._strips[y] = self._strip(lines[y], width)
        if changed:
            self.refresh(Region(0, changed[0], width, changed[-1] - changed[0] + 1))

    def _strip(self, runs: list[Run], width: int) -> Strip:
        """One line as a strip ``width`` cells wide, its margins and the rest in the base style, built
        once (the margins are drawn here rather than as CSS padding, which Textual would apply to every
        line of every frame)."""
        styles, base = self._styles, self._style("")
        segments = [Segment(" " * MARGIN, base)]
        used = MARGIN
        for text, name in runs:
            if text:
                segments.append(Segment(text, styles.get(name) or self._style(name)))
                used += cell_len(text)
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, max(used, width))

    def _style(self, name: str) -> Style:
        style = self._styles.get(name)
        if style is None:
            style = self._styles[name] = self.rich_style + Style.parse(name) if name else self.rich_style
        return style

    def on_resize(self, event: events.Resize) -> None:
        # Kept, not read from ``self.size`` each frame: Textual works that out again on every read.
        self._line_width = event.size.width
        self._shown = None
        self._strips = [self._strip(runs, self._line_width) for runs in self._runs]

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips = [self._strip(runs, self._line_width) for runs in self._runs]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self._runs)

    def render_line(self, y: int) -> Strip:
        if y < len(self._strips):
            return self._strips[y]
        return Strip.blank(self._line_width, self._style(""))

    def _lines(self, channels, pairs, cells, width: int, targets: list[float | None]) -> list[list[Run]]:
        lines = []
        pair_by_muscle = {p.muscle: p for p in pairs}
        seen = set()
        for channel, cell, target in zip(channels, cells, targets):
            a = channel.assignment
            label = f"{a.muscle.replace('_', ' ')[:14]:<14} {a.side or ' '}"
            unit = "%" if channel.units == "%MVC" else "µV"
            value = f"{channel.value:5.0f}{unit}" if channel.streaming else " ---- "
            runs = [(f"{label} ", "")]
            runs += _bar(cell, width, target is not None and channel.value >= target, channel.streaming)
            runs.append((f" {value}", ""))
            pair = pair_by_muscle.get(a.muscle)
            if channel.streaming and channel.pop:
                runs.append(("  ⚡ pop", "bold red"))
            elif channel.streaming and pair and a.muscle not in seen and a.side in ("L", "R"):
                seen.add(a.muscle)
                if pair.asymmetry_pct is None:
                    runs.append(("  asym —", "grey62"))
                else:
                    style = "bold red" if pair.alert else ""
                    runs.append((f"  asym {pair.asymmetry_pct:3.0f}% {pair.weaker_side or ''}", style))
            lines.append(runs)
        calibrated = [c for c in channels if c.units == "%MVC"]
        if not calibrated:
            note = "┊ target: calibrate for %MVC"
        elif len(calibrated) < len(channels):
            note = f"┊ target {self.target_pct:.0f} %MVC (µV: uncalibrated)"
        else:
            note = f"┊ target {self.target_pct:.0f} %MVC"
        lines.append([(note, "cyan"), ("  (? how each number is made)", "grey62")])
        return lines
