"""The client report: a one-page summary a trainer can hand to the client, as Markdown or HTML.

Activation and symmetry trends, progression status, the best exercises from A/B tests, how the
client's own feel matches the measurement and the MVC references used — each with its dates and
numbers, and the formulas named at the end — written once as a page of sections that
``report_page`` renders as Markdown or self-contained HTML. Files are written owner-only; nothing
leaves the machine unless the trainer sends the file.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from coach_tui.config import Config
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import exercise_library
from coach_tui.domain.names import file_slug
from coach_tui.domain.progress import ABSummary, ActivationSeries, ClientProgress, client_progress
from coach_tui.dsp import asymmetry, fatigue, peak, target_share
from coach_tui.dsp.fatigue import FatigueSettings
from coach_tui.reports.report_page import (
    Chart,
    ChartLine,
    Section,
    clock_time,
    day,
    html_page,
    markdown_page,
    number,
    quantity,
)
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


# -- the document, written once and rendered as Markdown or HTML (report_page) --------------------


def _first_last(values: Sequence[float | None], unit: str) -> str:
    known = [v for v in values if v is not None]
    if not known:
        return "—"
    return number(known[0], unit) if len(known) == 1 else f"{number(known[0])} → {number(known[-1], unit)}"


def _series_chart(series: ActivationSeries) -> Chart:
    points = series.points
    metrics = (("peak", "%MVC", "peak_pct"), ("mean", "%MVC", "mean_pct"), ("asymmetry", "%", "asymmetry_pct"),
               ("target share", "%", "target_share_pct"))
    lines = [ChartLine(label, unit, tuple((p.started, v) for p in points if (v := getattr(p.summary, name)) is not None))
             for label, unit, name in metrics]
    return Chart(series.label, tuple(line for line in lines if line.points))


def _activation(progress: ClientProgress) -> Section:
    missing = progress.missing("activation")
    if missing:
        return Section("Activation and symmetry", (missing,))
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
    return Section("Activation and symmetry", text, tuple(rows), tuple(notes), charts)


def _sets(progress: ClientProgress) -> Section:
    missing = progress.missing("sets")
    if missing:
        return Section("Sets", (missing,))
    text = ("Every set with its load and time of day; reps during which a sensor was lost are counted apart "
            "and left out of every number.",)
    return Section("Sets", text, (SET_COLUMNS, *set_rows(progress)))


def _progression(progress: ClientProgress) -> Section:
    missing = progress.missing("progression")
    if missing:
        return Section("Progression", (missing,))
    bullets = []
    for gate in progress.gates:
        bullets.append(f"{progress.exercise_names[gate.exercise]}: {gate.summary}"
                       + "".join(f" — {note}" for note in gate.notes))
    return Section("Progression", (f"Rule: {progress.settings.formula}.",), bullets=tuple(bullets))


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


def _ab_tests(progress: ClientProgress, settings: ABSettings) -> Section:
    missing = progress.missing("ab_tests")
    if missing:
        return Section("Best exercises from A/B tests", (missing,))
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
    return Section("Best exercises from A/B tests", text, tuple(rows), tuple(bullets))


def _perceived(progress: ClientProgress) -> Section:
    missing = progress.missing("perceived")
    if missing:
        return Section("Perceived vs measured", (missing,))
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
            charts.append(Chart(f"agreement over the last {progress.window} rated sets",
                                 (ChartLine("Spearman ρ", "", points),)))
    return Section("Perceived vs measured", tuple(text), charts=tuple(charts))


def _calibrations(progress: ClientProgress) -> Section:
    missing = progress.missing("calibrations")
    if missing:
        return Section("Calibrations (MVC reference)", (missing,))
    rows = [("muscle", "calibrated", "latest reference", "change from previous")]
    for history in progress.calibrations:
        latest = history.points[-1]
        rows.append((history.label, ", ".join(day(p.recorded) for p in history.points),
                     number(latest.reference, latest.units),
                     number(latest.change_pct, "%", signed=True)))
    text = ("%MVC is measured against these references: when a reference changes, %MVC changes with it.",)
    return Section("Calibrations (MVC reference)", text, tuple(rows))


#: The report lists the fatigue verdicts of at most this many of the latest sets.
FATIGUE_SETS = 12


def _fatigue(progress: ClientProgress, settings: FatigueSettings) -> Section:
    rows = fatigue_rows(progress, settings)
    if not rows:
        return Section("Fatigue within sets", ("No set yet with enough reps (3) or a long enough hold (10 s) for a "
                                                "median-frequency trend.",))
    shown = sum(bool(r.fatigue.fatigue) for r in rows)
    text = (f"{quantity(len(rows), 'set')} with a median-frequency trend; fatigue shown in {shown}. "
            f"The latest {min(len(rows), FATIGUE_SETS)}:",)
    bullets = tuple(f"{day(r.started)} {r.exercise_name}, set {r.index}: {'; '.join(r.fatigue.lines())}"
                    for r in rows[-FATIGUE_SETS:])
    return Section("Fatigue within sets", text, bullets=bullets)


def _formulas(progress: ClientProgress) -> Section:
    rolling = f"rolling agreement = ρ over the last {progress.window} rated sets"
    return Section("How the numbers are made",
                    bullets=(*FORMULAS.values(), fatigue.FORMULA, rolling, progress.settings.formula))


def _document(progress: ClientProgress, generated: datetime, ab_settings: ABSettings,
              fatigue_settings: FatigueSettings) -> tuple[str, tuple[str, ...], tuple[Section, ...]]:
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


# -- output -------------------------------------------------------------------------------------


def report_text(progress: ClientProgress, fmt: str, generated: datetime, ab_settings: ABSettings | None = None,
                fatigue_settings: FatigueSettings | None = None) -> str:
    """The report of ``progress`` in ``fmt`` ("md" or "html"), dated ``generated``; A/B tests analysed
    with ``ab_settings`` and fatigue judged with ``fatigue_settings`` (defaults: as the config's
    ``[ab_statistics]`` and ``[fatigue]``)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; allowed: {', '.join(FORMATS)}")
    document = _document(progress, generated, ab_settings or ABSettings(), fatigue_settings or FatigueSettings())
    return markdown_page(*document) if fmt == "md" else html_page(*document)


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
