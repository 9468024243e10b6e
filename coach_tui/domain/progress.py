"""A client's progress over time, aggregated from the stored records (sessions, sets, calibrations, A/B tests).

Only reps in %MVC count: reps in µV (target not calibrated yet) are counted and left out, and so are
sets whose figures use an earlier definition of the per-rep metrics (``SetRecord.old_metrics``: their
raw recording could not be re-analysed), so two definitions of %MVC are never mixed. Reps are those
of the set's exercise's target muscle (the stored per-rep metrics). Definitions:

- **session peak %MVC** of an exercise's target: mean over the session's reps of each rep's peak
  %MVC; **session mean %MVC**: mean over the reps of each rep's mean %MVC;
- **session asymmetry**: mean over the reps where it was measured of each rep's
  ``(max − min) / max × 100`` of the left and right peaks; the weaker side is the one named most often;
- **session target share**: mean over the reps of each rep's ``target / (target + synergist)``;
- **perceived vs measured**: per rated set, the client's 1–10 score beside the set's peak %MVC (mean
  of per-rep peaks); their agreement is Spearman's rank correlation ρ (``perceived_agreement``) over
  all rated sets and over a rolling window of the last ``window`` rated sets;
- **calibrations**: every MVC reference per ``muscle:side``, with its change from the previous one, so
  a jump in %MVC can be told apart from a new reference. A session point is marked
  ``reference_changed`` when its sets used other calibrations of the muscle than the previous session.
- **A/B tests**: each saved test with its variations' names; its numbers (intervals, differences,
  Hedges' g, verdict, warnings) are those of the A/B screen, ``coach_tui.statistics.ab_statistics.analyze_named``
  over the stored reps, so a test saved by any version reads the same.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import fmean

from coach_tui.domain.ab_variations import variation_names
from coach_tui.domain.abtest import ABTest
from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.client import Client
from coach_tui.domain.exercises import EXERCISES, Exercise
from coach_tui.domain.perceived_agreement import Agreement, RollingAgreement, spearman_rho
from coach_tui.domain.progression import Gate, ProgressionSettings, SetEvidence, progression_gate
from coach_tui.domain.session import RepMetrics, Session, SetRecord, complete_reps

MVC = "%MVC"
ROLLING_SETS = 8
SECTIONS = ("activation", "sets", "perceived", "calibrations", "progression", "ab_tests")


def exercise_name(library: Mapping[str, Exercise], key: str) -> str:
    """The exercise's name from the library, or its key in words when the library lacks it."""
    exercise = library.get(key)
    return exercise.name if exercise else key.replace("_", " ")


@dataclass(frozen=True, slots=True)
class RepSummary:
    """Per-rep %MVC metrics of some reps, averaged (see the module docstring); target share in 0–1."""

    reps: int
    peak_pct: float
    mean_pct: float
    asymmetry_pct: float | None
    weaker_side: str | None
    target_share: float | None

    @property
    def target_share_pct(self) -> float | None:
        """The target share in % (None when not measured)."""
        return None if self.target_share is None else self.target_share * 100.0


def summarise_reps(reps: Iterable[RepMetrics]) -> RepSummary | None:
    """The mean peak, mean, asymmetry and target share of the %MVC reps among ``reps`` measured whole
    (None: none; a rep during which a sensor was lost is left out)."""
    reps = [r for r in complete_reps(reps) if r.units == MVC]
    if not reps:
        return None
    asymmetries = [r.asymmetry_pct for r in reps if r.asymmetry_pct is not None]
    shares = [r.target_share for r in reps if r.target_share is not None]
    weaker = Counter(r.weaker_side for r in reps if r.weaker_side).most_common()
    return RepSummary(
        reps=len(reps),
        peak_pct=fmean(r.peak for r in reps),
        mean_pct=fmean(r.mean for r in reps),
        asymmetry_pct=fmean(asymmetries) if asymmetries else None,
        weaker_side=weaker[0][0] if weaker and (len(weaker) == 1 or weaker[0][1] > weaker[1][1]) else None,
        target_share=fmean(shares) if shares else None,
    )


@dataclass(frozen=True, slots=True)
class SessionPoint:
    """One session's numbers for one exercise and muscle."""

    session_id: str
    started: datetime
    sets: int
    summary: RepSummary
    reference_changed: bool = False


@dataclass(frozen=True, slots=True)
class ActivationSeries:
    """Peak and mean %MVC, asymmetry and target share of one exercise's target, session by session."""

    exercise: str
    exercise_name: str
    muscle: str
    side: str | None
    points: tuple[SessionPoint, ...]

    @property
    def label(self) -> str:
        """"Hip thrust · glute max" (the side named when only one was measured)."""
        return f"{self.exercise_name} · {ChannelAssignment(self.muscle, self.side).label}"


@dataclass(frozen=True, slots=True)
class SetLine:
    """One stored set as history and the report list it: when, what, with which load and cue, how
    many reps were measured whole (and how many were incomplete: a sensor lost), the target's mean
    per-rep peak (%MVC; None when not calibrated or no reps) and the client's score."""

    started: datetime
    exercise_name: str
    load_kg: float | None
    cue: str
    reps: int
    incomplete: int
    peak_pct: float | None
    perceived: int | None


@dataclass(frozen=True, slots=True)
class RatedSet:
    """A set the client rated: perceived activation 1–10 beside the measured peak %MVC."""

    set_id: str
    started: datetime
    exercise: str
    exercise_name: str
    load_kg: float | None
    perceived: int
    measured_pct: float


@dataclass(frozen=True, slots=True)
class CalibrationPoint:
    """One calibration; ``change_pct`` is its reference against the previous one of the same muscle side."""

    calibration_id: str
    recorded: datetime
    reference: float
    units: str
    change_pct: float | None
    repeat_trial: bool
    familiarisation: bool


@dataclass(frozen=True, slots=True)
class CalibrationHistory:
    """The MVC references of one ``muscle:side`` over time, oldest first."""

    key: str
    label: str
    points: tuple[CalibrationPoint, ...]


@dataclass(frozen=True, slots=True)
class ABSummary:
    """A saved A/B test and what its variations are called (``names[i]`` for ``test.variations[i]``,
    as on the A/B screen)."""

    test: ABTest
    names: tuple[str, ...]
    #: Some of its reps come from sets kept with the previous peak definition (raw recording missing).
    old_metrics: bool = False

    @property
    def sets_done(self) -> int:
        """How many of the planned sets have reps."""
        return len({rep.set_position for rep in self.test.reps})

    @property
    def finished(self) -> bool:
        """Whether every planned set has reps."""
        return self.test.next_position is None


@dataclass(frozen=True, slots=True)
class ClientProgress:
    """Everything the history screen and the client report show about one client."""

    client: Client
    sessions: tuple[Session, ...]
    sets_recorded: int
    sets_without_reps: int
    sets_uncalibrated: int
    #: Sets kept with figures of an earlier peak definition (raw recording missing), left out.
    sets_old_metrics: int
    series: tuple[ActivationSeries, ...]
    rated: tuple[RatedSet, ...]
    agreement: Agreement
    rolling: tuple[RollingAgreement, ...]
    window: int
    calibrations: tuple[CalibrationHistory, ...]
    gates: tuple[Gate, ...]
    ab_tests: tuple[ABSummary, ...]
    settings: ProgressionSettings
    #: Exercise key → name, for every exercise in the client's sets.
    exercise_names: dict[str, str]
    #: The client's sets, oldest first (for measures taken from their reps elsewhere, e.g. fatigue).
    sets: tuple[SetRecord, ...] = ()
    #: Every set as history and the report list it, oldest first.
    set_lines: tuple[SetLine, ...] = ()

    def missing(self, section: str) -> str | None:
        """Why ``section`` (one of :data:`SECTIONS`) has nothing to show, in words; None when it has."""
        name = self.client.name
        if section not in SECTIONS:
            raise ValueError(f"unknown section {section!r}; allowed: {', '.join(SECTIONS)}")
        if section == "calibrations":
            return None if self.calibrations else f"no MVC calibrations yet for {name}"
        if section == "ab_tests":
            return None if self.ab_tests else f"no A/B tests yet for {name}"
        if not self.sessions:
            return f"no sessions recorded yet for {name}"
        if not self.sets_recorded:
            return f"no sets recorded yet for {name}"
        if section == "sets":
            return None
        if section == "progression":
            return None if self.gates else f"no sets with reps yet for {name}"
        if not self.series:
            return f"no sets in %MVC yet for {name} — calibrate the target muscle before recording"
        if section == "perceived" and not self.rated:
            return f"no perceived activation scores yet for {name} (the client rates each set 1–10)"
        return None

    @property
    def left_out(self) -> str | None:
        """Which sets the numbers leave out, and why (None: none)."""
        counts = ((self.sets_uncalibrated, "in µV (target not calibrated)"),
                  (self.sets_without_reps, "without detected reps"),
                  (self.sets_old_metrics, "measured with the previous peak definition (raw recording missing)"))
        parts = [f"{n} set{'' if n == 1 else 's'} {why}" for n, why in counts if n]
        return "left out: " + ", ".join(parts) if parts else None


def _calibration_histories(calibrations: Iterable[Calibration]) -> tuple[CalibrationHistory, ...]:
    by_key: dict[str, list[Calibration]] = defaultdict(list)
    for calibration in calibrations:
        by_key[calibration.key].append(calibration)
    histories = []
    for key in sorted(by_key):
        points, previous = [], None
        for c in sorted(by_key[key], key=lambda c: c.recorded):
            comparable = previous is not None and previous.units == c.units
            change = (c.reference - previous.reference) / previous.reference * 100 if comparable else None
            points.append(CalibrationPoint(c.id, c.recorded, c.reference, c.units, change, c.repeat_trial,
                                           c.familiarisation))
            previous = c
        histories.append(CalibrationHistory(key, by_key[key][0].label, tuple(points)))
    return tuple(histories)


def _series(sets: Sequence[SetRecord], started: Mapping[str, datetime], library: Mapping[str, Exercise],
            calibrations: Mapping[str, Calibration]) -> tuple[ActivationSeries, ...]:
    """One series per (exercise, muscle, side) with a point per session that has %MVC reps of it."""
    grouped: dict[tuple[str, str, str | None], dict[str, list[SetRecord]]] = defaultdict(lambda: defaultdict(list))
    for record in sets:
        muscles = {(r.muscle, r.side) for r in record.reps if r.units == MVC}
        for muscle, side in muscles:
            grouped[(record.exercise, muscle, side)][record.session_id].append(record)
    series = []
    for (exercise, muscle, side), by_session in grouped.items():
        points, previous_refs = [], None
        for session_id in sorted(by_session, key=lambda s: started[s]):
            records = by_session[session_id]
            reps = [r for s in records for r in s.reps if (r.muscle, r.side) == (muscle, side)]
            refs = frozenset(cid for s in records for cid in s.calibration_ids
                             if cid in calibrations and calibrations[cid].muscle == muscle)
            changed = previous_refs is not None and refs != previous_refs
            points.append(SessionPoint(session_id, started[session_id], len(records), summarise_reps(reps), changed))
            previous_refs = refs
        series.append(ActivationSeries(exercise, exercise_name(library, exercise), muscle, side, tuple(points)))
    return tuple(sorted(series, key=lambda s: (s.exercise_name.casefold(), s.muscle, s.side or "")))


def client_progress(
    client: Client,
    sessions: Iterable[Session],
    sets: Iterable[SetRecord],
    calibrations: Iterable[Calibration] = (),
    ab_tests: Iterable[ABTest] = (),
    *,
    library: Mapping[str, Exercise] = EXERCISES,
    settings: ProgressionSettings | None = None,
    window: int = ROLLING_SETS,
) -> ClientProgress:
    """Aggregate one client's records (see the module docstring for every definition); ``settings``
    default to :class:`ProgressionSettings`' defaults."""
    settings = settings or ProgressionSettings()
    if window < 3:
        raise ValueError(f"the rolling agreement window must be at least 3 rated sets, got {window}")
    sessions = tuple(sorted((s for s in sessions if s.client_id == client.id), key=lambda s: s.started))
    started = {s.id: s.started for s in sessions}
    sets = sorted((s for s in sets if s.session_id in started), key=lambda s: (started[s.session_id], s.index))
    calibrations = [c for c in calibrations if c.client_id == client.id]
    old = [s for s in sets if s.old_metrics]
    with_reps = [s for s in sets if complete_reps(s.reps) and not s.old_metrics]
    summaries = {s.id: summarise_reps(s.reps) for s in with_reps}

    rated = tuple(
        RatedSet(s.id, s.started, s.exercise, exercise_name(library, s.exercise), s.load_kg, s.perceived_activation,
                 summaries[s.id].peak_pct)
        for s in with_reps if s.perceived_activation is not None and summaries[s.id] is not None
    )
    agreement = spearman_rho([r.perceived for r in rated], [r.measured_pct for r in rated])
    rolling = tuple(
        RollingAgreement(rated[end - 1].started, spearman_rho([r.perceived for r in rated[end - window:end]],
                                                              [r.measured_pct for r in rated[end - window:end]]))
        for end in range(window, len(rated) + 1)
    )

    evidence: dict[str, list[SetEvidence]] = defaultdict(list)
    for s in with_reps:
        summary = summaries[s.id]
        peak, asymmetry = (None, None) if summary is None else (summary.peak_pct, summary.asymmetry_pct)
        evidence[s.exercise].append(SetEvidence(s.started, peak, asymmetry))
    gates = tuple(sorted((progression_gate(e, ev, settings) for e, ev in evidence.items()),
                         key=lambda g: exercise_name(library, g.exercise).casefold()))

    return ClientProgress(
        client=client,
        sessions=sessions,
        sets_recorded=len(sets),
        sets_without_reps=sum(not complete_reps(s.reps) for s in sets if not s.old_metrics),
        sets_old_metrics=len(old),
        sets_uncalibrated=sum(summaries[s.id] is None for s in with_reps),
        series=_series(with_reps, started, library, {c.id: c for c in calibrations}),
        rated=rated,
        agreement=agreement,
        rolling=rolling,
        window=window,
        calibrations=_calibration_histories(calibrations),
        gates=gates,
        ab_tests=tuple(ABSummary(t, variation_names(t.variations, t.target_muscle, library),
                                 any(rep.set_id in {s.id for s in old} for rep in t.reps))
                       for t in sorted((t for t in ab_tests if t.client_id == client.id), key=lambda t: t.created)),
        settings=settings,
        exercise_names={s.exercise: exercise_name(library, s.exercise) for s in sets},
        sets=tuple(sets),
        set_lines=tuple(_set_line(s, library) for s in sets),
    )


def _set_line(record: SetRecord, library: Mapping[str, Exercise]) -> SetLine:
    summary = summarise_reps(record.reps)
    whole = len(complete_reps(record.reps))
    return SetLine(record.started, exercise_name(library, record.exercise), record.load_kg, record.cue, whole,
                   len(record.reps) - whole, None if summary is None else summary.peak_pct, record.perceived_activation)
