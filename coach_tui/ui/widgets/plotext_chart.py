"""A line chart drawn by plotext 6 inside a Textual widget, redrawn only when its data or its size change.

plotext is imported on the first draw (it takes about a quarter of a second to import). Each series
is decimated to the plot area's columns first (:func:`plot_columns`: the width less the y axes; the
lowest and highest point per column, :func:`decimate`): drawing 5000 points costs ~70 ms, a few
hundred ~9 ms, and plotext's "hd" marker (2 × 2 pixels a cell) cannot show more than two points a
column anyway. The legend is our own line under the plot (plotext's legend box would cover the data
at 80×24).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import cycle

from rich.text import Text
from textual.widget import Widget

#: Series colours: the 16-colour palette's bright blue, green, yellow, magenta, cyan, red (safe over SSH).
PALETTE = (12, 10, 11, 13, 14, 9)
TICK_GAP = 3
#: Columns (at most) that one y axis, its tick labels and the frame take from the width.
Y_AXIS_COLUMNS = 10


@dataclass(frozen=True, slots=True)
class ChartSeries:
    """One line: ``x`` ascending; ``right_axis`` puts it on a second y axis on the right."""

    label: str
    x: tuple[float, ...]
    y: tuple[float, ...]
    right_axis: bool = False


@dataclass(frozen=True, slots=True)
class ChartData:
    """What to draw. ``x_labels`` are candidate x ticks (position, label), those that fit are shown;
    ``y_floor`` pins the left axis' lower end (e.g. 0 %MVC); ``right_limits`` fixes the right axis;
    ``empty`` is said instead of a chart when no series has a point."""

    title: str
    series: tuple[ChartSeries, ...]
    x_labels: tuple[tuple[float, str], ...] = ()
    y_floor: float | None = None
    right_limits: tuple[float, float] | None = None
    empty: str = "nothing to show yet"

    @property
    def has_points(self) -> bool:
        """Whether any series has a point to draw."""
        return any(s.x for s in self.series)


def decimate(x: Sequence[float], y: Sequence[float], buckets: int) -> tuple[list[float], list[float]]:
    """At most two points per bucket of equal x width, the bucket's lowest and highest, in x order.

    A line through them keeps every peak and dip a plot ``buckets`` columns wide can show; series
    with at most ``2 × buckets`` points come back unchanged.
    """
    if len(x) <= 2 * buckets:
        return list(x), list(y)
    x0, span = x[0], (x[-1] - x[0]) or 1.0
    keep: list[int] = []
    start = 0
    while start < len(x):
        bucket = min(buckets - 1, int((x[start] - x0) / span * buckets))
        end = start + 1
        while end < len(x) and min(buckets - 1, int((x[end] - x0) / span * buckets)) == bucket:
            end += 1
        lowest = min(range(start, end), key=y.__getitem__)
        highest = max(range(start, end), key=y.__getitem__)
        keep += sorted({lowest, highest})
        start = end
    return [x[i] for i in keep], [y[i] for i in keep]


def _ticks(candidates: Sequence[tuple[float, str]], width: int) -> tuple[list[float], list[str]]:
    """Evenly spread candidate ticks, first and last included, as many as fit side by side in ``width``."""
    if not candidates:
        return [], []
    label_width = max(len(label) for _, label in candidates) + TICK_GAP
    fit = max(1, min(len(candidates), width // label_width))
    if fit == 1:
        chosen = [candidates[0]]
    else:
        chosen = [candidates[round(i * (len(candidates) - 1) / (fit - 1))] for i in range(fit)]
    return [p for p, _ in chosen], [label for _, label in chosen]


def plot_columns(data: ChartData, width: int) -> int:
    """The columns of a ``width``-wide chart that hold data: the width less a y axis, or two when a
    series is on the right axis."""
    axes = 2 if any(s.right_axis for s in data.series) else 1
    return max(1, width - axes * Y_AXIS_COLUMNS)


def chart_ansi(data: ChartData, width: int, height: int) -> str:
    """The chart as ANSI text, ``width`` × ``height`` cells (the same input gives the same text)."""
    import plotext

    fig = plotext.figure
    fig.clear()
    fig.theme("simple")
    fig.legend(False)
    fig.plot_size(width, height)
    fig.title(data.title)
    columns = plot_columns(data, width)
    for colour, series in zip(cycle(PALETTE), data.series):
        if not series.x:
            continue
        x, y = decimate(series.x, series.y, columns)
        marker = plotext.marker("hd", plotext.pixel(foreground=colour))
        fig.draw(fig.signal(x, y, marker=marker, yside=int(series.right_axis)).lines(True))
    positions, labels = _ticks(data.x_labels, columns)
    if positions:
        fig.ruler(0).ticks(positions, labels)
    if data.y_floor is not None:
        fig.ruler(1, 0).lim(data.y_floor, None)
    if data.right_limits is not None:
        fig.ruler(1, 1).lim(*data.right_limits)
    return fig.build().string().rstrip("\n")


def legend(data: ChartData) -> Text:
    """One line naming each series in its colour."""
    text = Text(no_wrap=True, overflow="ellipsis")
    for colour, series in zip(cycle(PALETTE), data.series):
        text.append("── ", f"color({colour})")
        text.append(series.label + (" (right)" if series.right_axis else "") + "   ")
    return text


class PlotextChart(Widget):
    """Shows one :class:`ChartData`; ``renders`` counts the plotext draws (one per data or size change)."""

    DEFAULT_CSS = "PlotextChart { height: 1fr; min-height: 6; }"

    def __init__(self, data: ChartData | None = None, **kwargs):
        super().__init__(**kwargs)
        self.data = data
        self.renders = 0
        self._version = 0
        self._cached: tuple[tuple[int, int, int], Text] | None = None

    def show(self, data: ChartData) -> None:
        """Draw ``data`` from now on; nothing is redrawn when it equals what is shown."""
        if data == self.data:
            return
        self.data = data
        self._version += 1
        self.refresh()

    def render(self) -> Text:
        width, height = self.size
        key = (self._version, width, height)
        if self._cached is None or self._cached[0] != key:
            self._cached = key, self._draw(width, height)
        return self._cached[1]

    def _draw(self, width: int, height: int) -> Text:
        data = self.data
        if data is None or not data.has_points:
            return Text(data.empty if data else "")
        if width < 20 or height < 5:
            return Text("too small for a chart")
        self.renders += 1
        chart = Text.from_ansi(chart_ansi(data, width, height - 1), no_wrap=True)
        chart.append("\n")
        chart.append_text(legend(data))
        return chart
