"""The client report: a one-page summary a trainer can hand to the client, as Markdown or HTML.

Activation and symmetry trends, progression status, the best exercises from A/B tests, how the
client's own feel matches the measurement and the MVC references used — each with its dates and
numbers, and the formulas named at the end. The HTML page is self-contained (inline SVG charts, no
scripts, nothing fetched); the Markdown draws its charts as text sparklines. Files are written
owner-only; nothing leaves the machine unless the trainer sends the file.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import cycle
from pathlib import Path

from coach_tui.config import Config
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import exercise_library
from coach_tui.domain.names import file_slug
from coach_tui.domain.progress import ABSummary, ActivationSeries, ClientProgress, client_progress
from coach_tui.dsp import asymmetry, fatigue, peak, target_share
from coach_tui.dsp.fatigue import FatigueSettings
from coach_tui.reports.set_fatigue import fatigue_rows
from coach_tui.statistics.ab_statistics import (
    ACTIVATION_CAVEAT,
    ABReport,
    ABSettings,
    analyze_named,
    estimate_text,
    level_text,
)
from coach_tui.statistics.intervals import pairwise_confidence
from coach_tui.store.private_files import atomic_write, private_dirs

FORMATS = ("md", "html")
REPORTS_FOLDER = "reports"
SPARKS = "▁▂▃▄▅▆▇█"
#: Line colours of the SVG charts (colour-blind safe: Okabe–Ito blue, orange, green, purple).
SVG_COLOURS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7")
NOT_FORCE = "Activation is how strongly the muscle's electrical activity shows, relative to its own maximum; " \
            "it is not force, and not a measure of growth stimulus."

FORMULAS = {
    "mvc": "%MVC = envelope ÷ MVC reference × 100; the MVC reference is the highest 500 ms mean envelope "
           "over the maximal trials of the calibration (the peak below, for trials held 3 s or more)",
    "peak": "session peak %MVC = mean over the session's reps of each rep's peak %MVC, measured like the MVC "
            f"reference: {peak.FORMULA}, on the target's envelope (left and right averaged when both are measured)",
    "mean": "session mean %MVC = mean over the session's reps of each rep's mean %MVC",
    "asymmetry": asymmetry.FORMULA + ", per rep; the session value is the mean over its reps",
    "target_share": target_share.FORMULA + ", per rep; the session value is the mean over its reps",
    "spearman": "agreement = Spearman's ρ: correlation of the ranks of perceived (1–10) and measured peak %MVC "
                "per set, ties sharing their mean rank (1: same order, 0: no relation)",
    "ab": "A/B test: per variation the mean of its reps' peak %MVC with its interval (Student t, allowing for "
          "set-to-set offsets); each difference between two variations with its Welch interval and Hedges' g "
          "(difference ÷ pooled SD of the reps); a variation is named best only when its interval against every other "
          "variation lies above zero, else \"no clear difference\". With k variations the difference intervals are at "
          "1 − 2α/k (Bonferroni; at the default α = 5 %: "
          f"{level_text(pairwise_confidence(2))} for 2, {level_text(pairwise_confidence(3))} for 3, "
          f"{level_text(pairwise_confidence(4))} for 4), so the chance of naming a wrong best stays at most α",
}


def number(value: float | None, unit: str = "", digits: int = 0, *, signed: bool = False) -> str:
    """``value`` rounded (with its sign when ``signed``: "+5 %"), with its unit; "—" when there is none."""
    if value is None:
        return "—"
    return f"{value:{'+' if signed else ''}.{digits}f}{' ' + unit if unit else ''}"


def quantity(n: int, noun: str) -> str:
    """"1 session", "3 sessions"."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def day(when: datetime) -> str:
    """The local calendar date: "2025-03-29"."""
    return f"{when.astimezone():%Y-%m-%d}"


def clock_time(when: datetime) -> str:
    """The local time of day: "14:05"."""
    return f"{when.astimezone():%H:%M}"


def set_rows(progress: ClientProgress) -> tuple[tuple[str, ...], ...]:
    """One row per set, oldest first: date, time, exercise, load, reps (and incomplete ones), the
    target's peak %MVC, the client's score, the cue."""
    rows = []
    for line in progress.set_lines:
        reps = str(line.reps) + (f" (+{line.incomplete} incomplete)" if line.incomplete else "")
        rows.append((day(line.started), clock_time(line.started), line.exercise_name, number(line.load_kg, "kg", 1),
                     reps, number(line.peak_pct), "—" if line.perceived is None else str(line.perceived), line.cue))
    return tuple(rows)


SET_COLUMNS = ("date", "time", "exercise", "load", "reps", "peak %MVC", "perceived", "cue")


def load_progress(repo, client: Client, config: Config) -> ClientProgress:
    """Read the client's records from ``repo`` (a ``Repository``) and aggregate them."""
    sessions = repo.sessions(client.id)
    sets = [record for session in sessions for record in repo.sets(session.id)]
    calibrations = repo.calibrations(client.id)
    return client_progress(client, sessions, sets, calibrations, repo.abtests(client.id),
                           library=exercise_library(config.exercises), settings=config.progression)


# -- the document, written once and rendered as Markdown or HTML --------------------------------


@dataclass(frozen=True, slots=True)
class _Line:
    label: str
    unit: str
    points: tuple[tuple[datetime, float], ...]


@dataclass(frozen=True, slots=True)
class _Chart:
    title: str
    lines: tuple[_Line, ...]


@dataclass(frozen=True, slots=True)
class _Section:
    title: str
    text: tuple[str, ...] = ()
    table: tuple[tuple[str, ...], ...] = ()
    bullets: tuple[str, ...] = ()
    charts: tuple[_Chart, ...] = ()


def _first_last(values: Sequence[float | None], unit: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    return number(known[0], unit) if len(known) == 1 else f"{number(known[0])} → {number(known[-1], unit)}"


def _series_chart(series: ActivationSeries) -> _Chart:
    points = series.points
    metrics = (("peak", "%MVC", "peak_pct"), ("mean", "%MVC", "mean_pct"), ("asymmetry", "%", "asymmetry_pct"),
               ("target share", "%", "target_share_pct"))
    lines = [_Line(label, unit, tuple((p.started, v) for p in points if (v := getattr(p.summary, name)) is not None))
             for label, unit, name in metrics]
    return _Chart(series.label, tuple(line for line in lines if line.points))


def _activation(progress: ClientProgress) -> _Section:
    missing = progress.missing("activation")
    if missing:
        return _Section("Activation and symmetry", (missing,))
    rows = [("exercise · muscle", "sessions", "dates", "peak %MVC", "mean %MVC", "asymmetry", "target share")]
    notes = []
    for series in progress.series:
        points = series.points
        s = [p.summary for p in points]
        rows.append((
            series.label, str(len(points)), f"{day(points[0].started)} → {day(points[-1].started)}",
            _first_last([x.peak_pct for x in s], "%MVC"), _first_last([x.mean_pct for x in s], "%MVC"),
            _first_last([x.asymmetry_pct for x in s], "%"), _first_last([x.target_share_pct for x in s], "%"),
        ))
        changed = [day(p.started) for p in points if p.reference_changed]
        if changed:
            notes.append(f"{series.label}: new MVC reference from {', '.join(changed)} — a jump in %MVC there may "
                         "be the reference, not the client (see Calibrations)")
    text = ("Per session; first → last value. " + NOT_FORCE,)
    charts = tuple(_series_chart(series) for series in progress.series)
    return _Section("Activation and symmetry", text, tuple(rows), tuple(notes), charts)


def _sets(progress: ClientProgress) -> _Section:
    missing = progress.missing("sets")
    if missing:
        return _Section("Sets", (missing,))
    text = ("Every set with its load and time of day; reps during which a sensor was lost are counted apart "
            "and left out of every number.",)
    return _Section("Sets", text, (SET_COLUMNS, *set_rows(progress)))


def _progression(progress: ClientProgress) -> _Section:
    missing = progress.missing("progression")
    if missing:
        return _Section("Progression", (missing,))
    bullets = []
    for gate in progress.gates:
        bullets.append(f"{progress.exercise_names[gate.exercise]}: {gate.summary}"
                       + "".join(f" — {note}" for note in gate.notes))
    return _Section("Progression", (f"Rule: {progress.settings.formula}.",), bullets=tuple(bullets))


def ab_heading(summary: ABSummary) -> str:
    """"2025-03-15, glute max" — with how far it got when the test is not finished."""
    test = summary.test
    heading = f"{day(test.created)}, {test.target_muscle.replace('_', ' ')}"
    return heading if summary.finished else f"{heading} (not finished: {summary.sets_done} of {len(test.order)} sets)"


def ab_outcome(summary: ABSummary, report: ABReport) -> str:
    """The verdict, or that an unfinished test has none yet (its numbers so far are interim); marked
    when some of its reps keep figures of the previous peak definition."""
    outcome = (report.verdict if summary.finished else
               f"no verdict yet — interim numbers, {len(summary.test.order) - summary.sets_done} sets to go")
    if summary.old_metrics:
        outcome += " (some reps measured with the previous peak definition: their raw recording is missing)"
    return outcome


def ab_reports(progress: ClientProgress, settings: ABSettings) -> list[tuple[ABSummary, ABReport]]:
    """Each saved A/B test with its statistics, computed from its reps as on the A/B screen."""
    return [(summary, analyze_named(summary.test, summary.names, settings)) for summary in progress.ab_tests]


def _ab_tests(progress: ClientProgress, settings: ABSettings) -> _Section:
    missing = progress.missing("ab_tests")
    if missing:
        return _Section("Best exercises from A/B tests", (missing,))
    level = level_text(settings.confidence)
    rows = [("A/B test", "variation", "reps", f"peak %MVC [{level} CI]", f"mean %MVC [{level} CI]")]
    bullets = []
    for summary, report in ab_reports(progress, settings):
        heading = ab_heading(summary)
        rows += [(heading, s.variation, str(s.reps), estimate_text(s.peak), estimate_text(s.mean))
                 for s in report.summaries]
        lines = [heading, *(c.words() for c in report.comparisons), f"Verdict: {ab_outcome(summary, report)}",
                 *(f"⚠ {w}" for w in report.warnings)]
        bullets.append(". ".join(lines) + ".")
    text = ("Per variation the mean of its reps' peak and mean %MVC of the target; the differences with their "
            "interval and Hedges' g, and the verdict. " + ACTIVATION_CAVEAT,)
    return _Section("Best exercises from A/B tests", text, tuple(rows), tuple(bullets))


def _perceived(progress: ClientProgress) -> _Section:
    missing = progress.missing("perceived")
    if missing:
        return _Section("Perceived vs measured", (missing,))
    rated = progress.rated
    span = f"{day(rated[0].started)} → {day(rated[-1].started)}"
    text = [f"{len(rated)} rated sets, {span}: {progress.agreement.words}."]
    charts = []
    if not progress.rolling:
        text.append(f"Agreement over time needs {progress.window} rated sets.")
    else:
        text.append(f"Last {progress.window} rated sets: {progress.rolling[-1].agreement.words}.")
        points = tuple((r.ended, r.agreement.rho) for r in progress.rolling if r.agreement.rho is not None)
        if points:
            charts.append(_Chart(f"agreement over the last {progress.window} rated sets",
                                 (_Line("Spearman ρ", "", points),)))
    return _Section("Perceived vs measured", tuple(text), charts=tuple(charts))


def _calibrations(progress: ClientProgress) -> _Section:
    missing = progress.missing("calibrations")
    if missing:
        return _Section("Calibrations (MVC reference)", (missing,))
    rows = [("muscle", "calibrated", "latest reference", "change from previous")]
    for history in progress.calibrations:
        latest = history.points[-1]
        rows.append((history.label, ", ".join(day(p.recorded) for p in history.points),
                     number(latest.reference, latest.units),
                     number(latest.change_pct, "%", signed=True)))
    text = ("%MVC is measured against these references: when a reference changes, %MVC changes with it.",)
    return _Section("Calibrations (MVC reference)", text, tuple(rows))


#: The report lists the fatigue verdicts of at most this many of the latest sets.
FATIGUE_SETS = 12


def _fatigue(progress: ClientProgress, settings: FatigueSettings) -> _Section:
    rows = fatigue_rows(progress, settings)
    if not rows:
        return _Section("Fatigue within sets", ("No set yet with enough reps (3) or a long enough hold (10 s) for a "
                                                "median-frequency trend.",))
    shown = sum(bool(r.fatigue.fatigue) for r in rows)
    text = (f"{quantity(len(rows), 'set')} with a median-frequency trend; fatigue shown in {shown}. "
            f"The latest {min(len(rows), FATIGUE_SETS)}:",)
    bullets = tuple(f"{day(r.started)} {r.exercise_name}, set {r.index}: {'; '.join(r.fatigue.lines())}"
                    for r in rows[-FATIGUE_SETS:])
    return _Section("Fatigue within sets", text, bullets=bullets)


def _formulas(progress: ClientProgress) -> _Section:
    rolling = f"rolling agreement = ρ over the last {progress.window} rated sets"
    return _Section("How the numbers are made",
                    bullets=(*FORMULAS.values(), fatigue.FORMULA, rolling, progress.settings.formula))


def _document(progress: ClientProgress, generated: datetime, ab_settings: ABSettings,
              fatigue_settings: FatigueSettings) -> tuple[str, tuple[str, ...], tuple[_Section, ...]]:
    client = progress.client
    sessions = progress.sessions
    reps = sum(p.summary.reps for s in progress.series for p in s.points)
    counted = (f"Sessions {day(sessions[0].started)} → {day(sessions[-1].started)}: {quantity(len(sessions), 'session')}, "
               f"{quantity(progress.sets_recorded, 'set')}, {quantity(reps, 'rep')} in %MVC." if sessions
               else "No sessions recorded yet.")
    intro = (
        f"Generated {generated.astimezone():%Y-%m-%d %H:%M %Z} by coach-tui on the trainer's computer. {counted}",
        "Nothing in this file was sent anywhere; it leaves the computer only if the trainer sends it.",
        *([progress.left_out] if progress.left_out else []),
    )
    sections = (_activation(progress), _progression(progress), _ab_tests(progress, ab_settings), _perceived(progress),
                _fatigue(progress, fatigue_settings), _sets(progress), _calibrations(progress), _formulas(progress))
    return f"Activation report — {client.name}", intro, sections


# -- Markdown -----------------------------------------------------------------------------------


def sparkline(values: Sequence[float]) -> str:
    """One block character per value, from ▁ (lowest) to █ (highest)."""
    low, high = min(values), max(values)
    if high == low:
        return SPARKS[len(SPARKS) // 2] * len(values)
    return "".join(SPARKS[round((v - low) / (high - low) * (len(SPARKS) - 1))] for v in values)


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def _md_chart(chart: _Chart) -> list[str]:
    lines = []
    for line in chart.lines:
        digits = 2 if not line.unit else 0
        values = [round(v, digits) for _, v in line.points]  # the line draws the numbers it is shown with
        span = f"{day(line.points[0][0])} → {day(line.points[-1][0])}"
        lines.append(f"- {chart.title}, {line.label}: `{sparkline(values)}` {number(values[0], digits=digits)} → "
                     f"{number(values[-1], line.unit, digits)} ({span})")
    return lines


def _markdown(title: str, intro: Sequence[str], sections: Sequence[_Section]) -> str:
    out = [f"# {title}", "", *[f"{p}  " for p in intro], ""]
    for section in sections:
        out += [f"## {section.title}", ""]
        out += [p for text in section.text for p in (text, "")]
        if section.table:
            header, *rows = section.table
            out.append("| " + " | ".join(_md_cell(c) for c in header) + " |")
            out.append("|" + "---|" * len(header))
            out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
            out.append("")
        if section.bullets:
            out += [f"- {b}" for b in section.bullets] + [""]
        if section.charts:
            out += [line for chart in section.charts for line in _md_chart(chart)] + [""]
    return "\n".join(out)


# -- HTML ---------------------------------------------------------------------------------------

_CSS = """body{font-family:system-ui,sans-serif;max-width:52em;margin:1.5em auto;padding:0 1em;color:#222;
font-size:11pt}
h1{font-size:1.5em;margin-bottom:.2em}h2{font-size:1.15em;margin:1.2em 0 .3em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ccc;padding:.15em .4em;text-align:left}
p,li{margin:.2em 0}.intro{color:#555}.charts{display:flex;flex-wrap:wrap;gap:.5em}svg{font-size:10px}"""


def svg_chart(chart: _Chart, width: int = 330, height: int = 150) -> str:
    """A small line chart as inline SVG: one polyline per line, min/max and first/last dates labelled."""
    left, right, top, bottom = 34, 8, 16, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    times = [t.timestamp() for line in chart.lines for t, _ in line.points]
    values = [v for line in chart.lines for _, v in line.points]
    t0, t1 = min(times), max(times)
    v0, v1 = min(0.0, min(values)), max(values)
    t_span, v_span = (t1 - t0) or 1.0, (v1 - v0) or 1.0

    def xy(t: datetime, v: float) -> tuple[float, float]:
        x = left + (t.timestamp() - t0) / t_span * plot_w if t1 > t0 else left + plot_w / 2
        return x, height - bottom - (v - v0) / v_span * plot_h

    e = html.escape
    first = min(t for line in chart.lines for t, _ in line.points)
    last = max(t for line in chart.lines for t, _ in line.points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{e(chart.title)}">',
        f'<text x="{left}" y="11" font-weight="bold">{e(chart.title)}</text>',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" stroke="#bbb"/>',
        f'<text x="{left - 3}" y="{top + 8}" text-anchor="end">{v1:.3g}</text>',
        f'<text x="{left - 3}" y="{height - bottom}" text-anchor="end">{v0:.3g}</text>',
        f'<text x="{left}" y="{height - bottom + 11}">{day(first)}</text>',
        f'<text x="{width - right}" y="{height - bottom + 11}" text-anchor="end">{day(last)}</text>',
    ]
    legend_x = 4
    for colour, line in zip(cycle(SVG_COLOURS), chart.lines):
        coords = [xy(t, v) for t, v in line.points]
        points = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
        parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="1.8"/>')
        parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="{colour}"/>' for x, y in coords]
        label = f"{line.label} {line.unit}".strip()
        parts.append(f'<text x="{legend_x}" y="{height - 6}" fill="{colour}">■ {e(label)}</text>')
        legend_x += 16 + 6.5 * len(label)
    parts.append("</svg>")
    return "".join(parts)


def _html(title: str, intro: Sequence[str], sections: Sequence[_Section]) -> str:
    e = html.escape
    out = ['<!DOCTYPE html>', '<html lang="en"><head><meta charset="utf-8">',
           f"<title>{e(title)}</title><style>{_CSS}</style></head><body>", f"<h1>{e(title)}</h1>"]
    out += [f'<p class="intro">{e(p)}</p>' for p in intro]
    for section in sections:
        out.append(f"<h2>{e(section.title)}</h2>")
        out += [f"<p>{e(p)}</p>" for p in section.text]
        if section.table:
            header, *rows = section.table
            out.append("<table><tr>" + "".join(f"<th>{e(c)}</th>" for c in header) + "</tr>")
            out += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in rows]
            out.append("</table>")
        if section.bullets:
            out.append("<ul>" + "".join(f"<li>{e(b)}</li>" for b in section.bullets) + "</ul>")
        if section.charts:
            out.append('<div class="charts">' + "".join(svg_chart(c) for c in section.charts) + "</div>")
    out.append("</body></html>")
    return "\n".join(out)


# -- output -------------------------------------------------------------------------------------


def report_text(progress: ClientProgress, fmt: str, generated: datetime, ab_settings: ABSettings | None = None,
                fatigue_settings: FatigueSettings | None = None) -> str:
    """The report of ``progress`` in ``fmt`` ("md" or "html"), dated ``generated``; A/B tests analysed
    with ``ab_settings`` and fatigue judged with ``fatigue_settings`` (defaults: as the config's
    ``[ab_statistics]`` and ``[fatigue]``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    document = _document(progress, generated, ab_settings or ABSettings(), fatigue_settings or FatigueSettings())
    return _markdown(*document) if fmt == "md" else _html(*document)


def format_for(path: Path | None, explicit: str | None = None) -> str:
    """``explicit`` if given, else from the file's suffix (.html/.htm → html), else Markdown."""
    if explicit:
        return explicit
    return "html" if path is not None and path.suffix.lower() in (".html", ".htm") else "md"


def report_path(sessions_dir: Path, client: Client, fmt: str, when: datetime) -> Path:
    """``sessions/reports/<client>-<date>.<fmt>``; the reports folder is created owner-only."""
    slug = file_slug(client.name, client.id)
    return private_dirs(sessions_dir / REPORTS_FOLDER) / f"{slug}-{when.astimezone():%Y-%m-%d}.{fmt}"


def write_report(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` readable by the owner only (replacing the file at once); return the path."""
    atomic_write(path, text.encode("utf-8"))
    return path
