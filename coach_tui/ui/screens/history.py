"""History and progress of one client: charts or tables of activation, symmetry, target share,
perceived vs measured, calibrations, progression gates and A/B tests; ``r`` writes the client report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, DataTable, Footer, Header, OptionList, Static

from coach_tui.config import Config
from coach_tui.domain.client import Client
from coach_tui.domain.ids import now_utc
from coach_tui.domain.progress import ActivationSeries, ClientProgress
from coach_tui.domain.names import cut
from coach_tui.dsp import fatigue
from coach_tui.dsp.fatigue import FatigueSettings
from coach_tui.dsp.peak import PEAK_NAME
from coach_tui.statistics.ab_statistics import ACTIVATION_CAVEAT, ABSettings, estimate_text, level_text
from coach_tui.reports.client_report import (
    FORMULAS,
    SET_COLUMNS,
    ab_heading,
    ab_outcome,
    ab_reports,
    load_progress,
    report_path,
    report_text,
    set_rows,
    write_report,
)
from coach_tui.reports.report_page import day, number, quantity
from coach_tui.reports.set_fatigue import fatigue_rows
from coach_tui.ui.dialogs.abtest_plan_dialog import LETTERS
from coach_tui.ui.widgets.plotext_chart import ChartData, ChartSeries, PlotextChart

REPORT_FORMAT = "html"


@dataclass(frozen=True, slots=True)
class HistoryItem:
    """One entry of the picker: its charts (``m`` cycles; none: table only), the same numbers as a
    table, and a note said under both (the gate, the formula, or what is missing)."""

    label: str
    charts: tuple[ChartData, ...]
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    note: str


class _TimeAxis:
    """x = days since ``first`` (a datetime), ticks labelled with the date."""

    def __init__(self, first: datetime | None):
        self.first = first

    def x(self, when: datetime) -> float:
        return (when - self.first).total_seconds() / 86400.0

    def labels(self, moments) -> tuple[tuple[float, str], ...]:
        """One candidate tick per date, at its first moment."""
        first: dict[str, float] = {}
        for t in sorted(moments):
            first.setdefault(f"{t.astimezone():%d %b}", self.x(t))
        return tuple(sorted((x, label) for label, x in first.items()))

    def series(self, label: str, points, right_axis: bool = False) -> ChartSeries:
        """A series from (datetime, value) pairs, values None skipped."""
        kept = [(self.x(t), v) for t, v in points if v is not None]
        return ChartSeries(label, tuple(x for x, _ in kept), tuple(v for _, v in kept), right_axis)


def _series_item(series: ActivationSeries, progress: ClientProgress, axis: _TimeAxis) -> HistoryItem:
    points = series.points
    labels = axis.labels(p.started for p in points)

    def chart(metric: str, *lines: tuple[str, list]) -> ChartData:
        return ChartData(f"{series.label}: {metric}", tuple(axis.series(name, values) for name, values in lines),
                         labels, y_floor=0.0, empty=f"no {metric} measured yet for {series.label}")

    charts = (
        chart("%MVC per session", ("peak %MVC", [(p.started, p.summary.peak_pct) for p in points]),
              ("mean %MVC", [(p.started, p.summary.mean_pct) for p in points])),
        chart("asymmetry %", ("asymmetry %", [(p.started, p.summary.asymmetry_pct) for p in points])),
        chart("target share %", ("target share %", [(p.started, p.summary.target_share_pct) for p in points])),
    )
    rows = tuple(
        (day(p.started), str(p.sets), str(p.summary.reps), number(p.summary.peak_pct), number(p.summary.mean_pct),
         number(p.summary.asymmetry_pct), p.summary.weaker_side or "—",
         number(p.summary.target_share_pct),
         "new" if p.reference_changed else "")
        for p in points
    )
    gate = next(g for g in progress.gates if g.exercise == series.exercise)
    lines = [f"{progress.exercise_names[series.exercise]}: {gate.summary}", *gate.notes]
    changed = [f"{p.started.astimezone():%d %b}" for p in points if p.reference_changed]
    if changed:
        lines.append(f"new MVC reference from {', '.join(changed)}: a jump there may be the reference, not the client")
    lines.append(f"peak: {PEAK_NAME}")
    columns = ("date", "sets", "reps", "peak %MVC", "mean %MVC", "asym %", "weaker", "share %", "MVC ref")
    return HistoryItem(series.label, charts, columns, rows, "\n".join(lines))


def _sets_item(progress: ClientProgress) -> HistoryItem:
    note = progress.missing("sets") or "every set with its load and time of day, oldest first"
    return HistoryItem("Sets", (), SET_COLUMNS, set_rows(progress), note)


def _perceived_item(progress: ClientProgress, axis: _TimeAxis) -> HistoryItem:
    rated = progress.rated
    missing = progress.missing("perceived")
    labels = axis.labels(r.started for r in rated)
    per_set = ChartData(
        "perceived (1–10) vs measured peak %MVC per set",
        (axis.series("measured peak %MVC", [(r.started, r.measured_pct) for r in rated]),
         axis.series("perceived 1–10", [(r.started, r.perceived) for r in rated], right_axis=True)),
        labels, y_floor=0.0, right_limits=(1.0, 10.0), empty=missing or "",
    )
    over_time = ChartData(
        f"agreement (Spearman ρ) over the last {progress.window} rated sets",
        (axis.series("ρ", [(r.ended, r.agreement.rho) for r in progress.rolling]),),
        axis.labels(r.ended for r in progress.rolling),
        empty=missing or f"agreement over time needs {progress.window} rated sets (has {len(rated)})",
    )
    rows = tuple((day(r.started), r.exercise_name, number(r.load_kg, "kg", 1), str(r.perceived), number(r.measured_pct))
                 for r in rated)
    note = missing or f"{progress.agreement.words}\n{FORMULAS['spearman']}"
    return HistoryItem("Perceived vs measured", (per_set, over_time),
                       ("date", "exercise", "load", "perceived", "measured %MVC"), rows, note)


def _calibrations_item(progress: ClientProgress) -> HistoryItem:
    histories = progress.calibrations
    moments = [p.recorded for h in histories for p in h.points]
    axis = _TimeAxis(min(moments, default=None))
    units = sorted({p.units for h in histories for p in h.points})
    chart = ChartData(
        f"MVC reference ({', '.join(units)})",
        tuple(axis.series(h.label, [(p.recorded, p.reference) for p in h.points]) for h in histories),
        axis.labels(moments), y_floor=0.0, empty=progress.missing("calibrations") or "",
    )
    rows = tuple(
        (h.label, day(p.recorded), number(p.reference, p.units), number(p.change_pct, "%", signed=True),
         "; ".join(flag for flag, on in (("repeat a trial", p.repeat_trial), ("familiarisation", p.familiarisation))
                   if on))
        for h in histories for p in h.points
    )
    note = progress.missing("calibrations") or (
        f"{FORMULAS['mvc']} — a new reference changes every %MVC after it")
    return HistoryItem("Calibrations", (chart,), ("muscle", "date", "reference", "change", "flags"), rows, note)


def _progression_item(progress: ClientProgress) -> HistoryItem:
    rows = tuple(
        (progress.exercise_names[g.exercise], "ready" if g.ready else "not yet",
         ", ".join(number(e.peak_pct) for e in g.evidence), ", ".join(number(e.asymmetry_pct) for e in g.evidence),
         "; ".join(g.missing + g.notes))
        for g in progress.gates
    )
    note = progress.missing("progression") or progress.settings.formula
    return HistoryItem("Progression", (), ("exercise", "status", "last %MVC", "asym %", "what is missing"), rows, note)


def _ab_item(progress: ClientProgress, settings: ABSettings) -> HistoryItem:
    """Newest test first: a heading row, a row per variation (letters as on the A/B screen) and per
    difference; the note holds the activation caveat, then each verdict with its warnings."""
    rows, notes = [], []
    for summary, report in reversed(ab_reports(progress, settings)):
        letters = dict(zip(report.variations, LETTERS))
        rows.append((ab_heading(summary), "", "", "", ""))
        rows += [(f"{letters[s.variation]} {s.variation}", estimate_text(s.peak), "", estimate_text(s.mean),
                  str(s.reps)) for s in report.summaries]
        for c in report.comparisons:
            level = "" if c.confidence == settings.confidence else f" ({level_text(c.confidence)} CI)"
            rows.append((f"{letters[c.better]} − {letters[c.worse]}{level}", c.interval_text, c.hedges_g_text, "", ""))
        notes += [f"{day(summary.test.created)}: {ab_outcome(summary, report)}",
                  *(f"⚠ {w}" for w in report.warnings)]
    note = progress.missing("ab_tests") or "\n".join([ACTIVATION_CAVEAT, *notes])
    interval = f"[{level_text(settings.confidence)} CI]"
    columns = ("test · variation", f"peak %MVC {interval}", "Hedges' g", f"mean %MVC {interval}", "reps")
    return HistoryItem("A/B tests", (), columns, tuple(rows), note)


def _fatigue_item(progress: ClientProgress, settings: FatigueSettings) -> HistoryItem:
    """Newest set first: its fatigue verdict and the median frequency's slope with its interval."""
    rows = []
    for row in reversed(fatigue_rows(progress, settings)):
        trends = [t for t in (row.fatigue.trend, *(h[2] for h in row.fatigue.holds)) if t is not None]
        for trend in trends:
            low, high = trend.slope_ci_hz_per_min
            rows.append((day(row.started), row.exercise_name, str(row.index), "fatigue" if trend.fatigue else "no",
                         f"{trend.slope_hz_per_min:+.1f} [{low:+.1f}, {high:+.1f}]", f"{len(trend.values_hz)} {trend.basis}"))
    note = (fatigue.FORMULA if rows else
            "no set yet with enough reps (3) or a long enough hold (10 s) for a median-frequency trend")
    return HistoryItem("Fatigue", (), ("date", "exercise", "set", "verdict", "Hz/min [95 % CI]", "over"), tuple(rows), note)


def history_items(progress: ClientProgress, ab_settings: ABSettings | None = None,
                  fatigue_settings: FatigueSettings | None = None) -> list[HistoryItem]:
    """The picker's entries: one per exercise and muscle, then perceived vs measured, calibrations,
    progression, fatigue, A/B tests and every set (each says what is missing when it has no data); A/B
    tests analysed with ``ab_settings``, fatigue judged with ``fatigue_settings`` (defaults: their
    classes' defaults)."""
    axis = _TimeAxis(progress.sessions[0].started if progress.sessions else None)
    missing = progress.missing("activation")
    if missing:
        activation = [HistoryItem("Activation", (ChartData("", (), empty=missing),), (), (), missing)]
    else:
        activation = [_series_item(s, progress, axis) for s in progress.series]
    return [*activation, _perceived_item(progress, axis), _calibrations_item(progress),
            _progression_item(progress), _fatigue_item(progress, fatigue_settings or FatigueSettings()),
            _ab_item(progress, ab_settings or ABSettings()), _sets_item(progress)]


class HistoryScreen(Screen):
    """One client's history: pick with ↑/↓, ``t`` chart or table, ``m`` next chart, ``r`` writes the report."""

    TITLE = "History"
    BINDINGS = [
        Binding("t", "toggle_table", "Chart/table", id="history.table"),
        Binding("m", "next_chart", "Next chart", id="history.chart"),
        Binding("r", "report", "Write report", id="history.report"),
        Binding("escape", "back", "Back", id="history.back"),
    ]
    DEFAULT_CSS = """
    #history-title { height: auto; padding: 0 1; text-style: bold; }
    #history-items { width: 28; height: 1fr; }
    #history-right { width: 1fr; }
    #history-view { height: 1fr; }
    #history-note { height: auto; max-height: 8; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, client: Client, repo, config: Config):
        super().__init__()
        self.client = client
        self.repo = repo
        self.config = config
        self.progress: ClientProgress | None = None
        self.items: list[HistoryItem] = []
        self.selected = 0
        self.chart_index = 0
        self.show_table = False
        self.report: str = ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="history-title")
        with Horizontal():
            yield OptionList(id="history-items")
            with Vertical(id="history-right"):
                with ContentSwitcher(initial="history-chart", id="history-view"):
                    yield PlotextChart(id="history-chart")
                    yield DataTable(id="history-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="history-note")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.progress = load_progress(self.repo, self.client, self.config)
        self.items = history_items(self.progress, self.config.ab_statistics, self.config.analysis.fatigue)
        picker = self.query_one(OptionList)
        picker.add_options([item.label for item in self.items])
        picker.highlighted = 0
        picker.focus()
        self._title()
        self._show()

    def _title(self) -> None:
        progress = self.progress
        sessions = progress.sessions
        span = f" · {quantity(len(sessions), 'session')} {day(sessions[0].started)} → {day(sessions[-1].started)}" if sessions else ""
        lines = [f"{cut(self.client.name, 30)}{span}", *([progress.left_out] if progress.left_out else [])]
        if self.report:
            lines.append(f"report written: {self.report}")
        self.query_one("#history-title", Static).update("\n".join(lines))

    def _show(self) -> None:
        """Show the selected item as chart or table, and its note."""
        item = self.items[self.selected]
        as_table = self.show_table or not item.charts
        with self.app.batch_update():
            self.query_one(ContentSwitcher).current = "history-table" if as_table else "history-chart"
            if as_table:
                table = self.query_one(DataTable)
                table.clear(columns=True)
                table.add_columns(*item.columns)
                table.add_rows(item.rows)
            else:
                self.query_one(PlotextChart).show(item.charts[self.chart_index % len(item.charts)])
            self.query_one("#history-note", Static).update(item.note)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_index != self.selected:
            self.selected = event.option_index
            self.chart_index = 0
            self._show()

    def action_toggle_table(self) -> None:
        self.show_table = not self.show_table
        self._show()

    def action_next_chart(self) -> None:
        item = self.items[self.selected]
        if len(item.charts) > 1 and not self.show_table:
            self.chart_index = (self.chart_index + 1) % len(item.charts)
            self._show()

    def action_report(self) -> None:
        """Write the client report (HTML, charts inline) to the sessions folder's reports/, owner-only."""
        now = now_utc()
        try:
            path = write_report(report_path(self.config.sessions_dir, self.client, REPORT_FORMAT, now),
                                report_text(self.progress, REPORT_FORMAT, now, self.config.ab_statistics,
                                            self.config.analysis.fatigue))
        except OSError as error:
            self.notify(f"report not written: {error.strerror} ({error.filename})", severity="error")
            return
        self.report = str(path)
        self._title()
        self.notify(f"report written: {path}", timeout=10)

    def action_back(self) -> None:
        self.app.pop_screen()
