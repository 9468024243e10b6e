"""Sessions, the sets in them and each rep's metrics."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.serialization import Record, to_json
from coach_tui.domain.validation import (
    as_tuple,
    require_aware,
    require_int,
    require_number,
    require_side,
    require_str,
    require_text,
)

SESSION_STATUSES = ("recording", "complete", "recovered")
#: The version of the per-rep metrics' definitions a set's figures were computed with. 1: a rep's
#: peak was the envelope's highest sample (it read ~20 % above the MVC reference's scale); 2: the
#: peak estimator shared with the MVC reference (``dsp.peak``) and the median frequency per rep;
#: 3: a rep is one rise and fall of the smoothed envelope above the level it rose from, the last
#: one kept when the set stops right after it (``dsp.reps``), rest levels from the set itself.
METRICS_VERSION = 3
PERCEIVED_ACTIVATION_RANGE = (1, 10)


@dataclass(frozen=True, slots=True)
class RepMetrics(Record):
    """One rep of the set's target muscle (one side).

    ``index`` counts reps in the set from 0. Times are seconds from the start of the set's recording;
    ``peak``, ``mean`` are in ``units`` ("%MVC" when calibrated, else the envelope's units, e.g. "µV"):
    the peak is the estimator the MVC reference is measured with (``dsp.peak``), ``time_to_peak_s``
    runs from the rep's start to the middle of its peak window.
    ``asymmetry_pct`` is left/right asymmetry of this rep (None when inconclusive or one-sided) and
    ``weaker_side`` the side with the lower peak, ``cocontraction_pct`` Winter's index of the target
    against the exercise's antagonist (None when not measured), ``electrode_pop`` True when an
    electrode popped during the rep (its numbers are spoiled),
    ``target_share`` is target / (target + main synergist) in 0–1, ``onset_order`` lists
    (muscle label, onset in ms from the rep start) in order of onset. ``median_frequency_hz`` is the
    target's median frequency over the rep (None when the sensor's band cannot show it), and
    ``window_frequencies_hz`` that of each consecutive 1 s window of a sustained contraction (a rep
    of 10 s or more; empty otherwise) — the fatigue measures (``dsp.fatigue``). ``lost_sensors``
    names the muscle sides whose sensor was lost during the rep (see ``incomplete``).
    """

    index: int
    start_s: float
    end_s: float
    peak: float
    mean: float
    time_to_peak_s: float
    units: str
    muscle: str
    side: str | None
    asymmetry_pct: float | None = None
    target_share: float | None = None
    onset_order: tuple[tuple[str, float], ...] = ()
    weaker_side: str | None = None
    cocontraction_pct: float | None = None
    median_frequency_hz: float | None = None
    window_frequencies_hz: tuple[float, ...] = ()
    electrode_pop: bool = False
    lost_sensors: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        require_int("RepMetrics", "index", self.index, low=0)
        require_number("RepMetrics", "start_s", self.start_s, low=0.0)
        require_number("RepMetrics", "end_s", self.end_s, low=self.start_s)
        require_number("RepMetrics", "peak", self.peak)
        require_number("RepMetrics", "mean", self.mean)
        require_number("RepMetrics", "time_to_peak_s", self.time_to_peak_s, low=0.0)
        require_text("RepMetrics", "units", self.units)
        require_text("RepMetrics", "muscle", self.muscle)
        require_side("RepMetrics", "side", self.side)
        require_number("RepMetrics", "asymmetry_pct", self.asymmetry_pct, low=0.0, high=100.0, optional=True)
        require_number("RepMetrics", "target_share", self.target_share, low=0.0, high=1.0, optional=True)
        require_side("RepMetrics", "weaker_side", self.weaker_side)
        require_number("RepMetrics", "cocontraction_pct", self.cocontraction_pct, low=0.0, high=100.0, optional=True)
        require_number("RepMetrics", "median_frequency_hz", self.median_frequency_hz, low=0.0, optional=True)
        for value in as_tuple(self, "window_frequencies_hz"):
            require_number("RepMetrics", "window_frequencies_hz[]", value, low=0.0)
        onsets = []
        for entry in as_tuple(self, "onset_order"):
            if not isinstance(entry, (tuple, list)) or len(entry) != 2:
                raise ValueError(f"RepMetrics.onset_order entries must be (muscle, ms) pairs, got {entry!r}")
            require_text("RepMetrics", "onset_order[].muscle", entry[0])
            require_number("RepMetrics", "onset_order[].ms", entry[1])
            onsets.append((entry[0], entry[1]))
        object.__setattr__(self, "onset_order", tuple(onsets))
        for label in as_tuple(self, "lost_sensors"):
            require_text("RepMetrics", "lost_sensors[]", label)

    @property
    def incomplete(self) -> bool:
        """True when a sensor was lost during the rep: its numbers are shown as "incomplete: sensor
        lost" and left out of set means, history, the progression gate and A/B statistics."""
        return bool(self.lost_sensors)

    @property
    def duration_s(self) -> float:
        """Seconds from the rep's start to its end."""
        return self.end_s - self.start_s

    @property
    def label(self) -> str:
        """"left glute max"."""
        return ChannelAssignment(self.muscle, self.side).label


def complete_reps(reps) -> list[RepMetrics]:
    """The reps measured whole (no sensor lost during them): the ones every summary uses."""
    return [rep for rep in reps if not rep.incomplete]


def _require_relative(owner: str, name: str, value: str) -> None:
    """A relative path inside the session folder (or empty): no absolute paths, no ``..``."""
    require_str(owner, name, value)
    if not value:
        return
    for path in (PurePosixPath(value), PureWindowsPath(value)):
        if path.is_absolute() or path.anchor or ".." in path.parts:
            raise ValueError(f"{owner}.{name} must be a relative path inside the sessions folder, got {value!r}")


@dataclass(frozen=True, slots=True)
class SetRecord(Record):
    """One set of an exercise in a session.

    ``index`` counts sets in the session from 0; ``exercise`` is an exercise key; ``cue`` is what the
    trainer told the client; ``perceived_activation`` is the client's 1–10 score (None: not asked).
    ``recording`` is the raw-sample file's name relative to the session folder. ``settings`` is a
    JSON-safe snapshot of the dsp settings used (tuples become lists, so it compares equal after a
    round trip); ``calibration_ids`` are the calibrations the %MVC numbers used. ``metrics_version``
    is the definition its per-rep metrics were computed with (:data:`METRICS_VERSION`; the store reads
    a set saved before versioning as 1): older sets are re-analysed from their raw recording when the store
    is opened, and one whose recording is missing keeps its figures, marked by the old version.
    """

    id: str
    session_id: str
    index: int
    exercise: str
    started: datetime
    duration_s: float = 0.0
    load_kg: float | None = None
    cue: str = ""
    perceived_activation: int | None = None
    recording: str = ""
    reps: tuple[RepMetrics, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)
    calibration_ids: tuple[str, ...] = ()
    metrics_version: int = METRICS_VERSION

    def __post_init__(self) -> None:
        require_text("SetRecord", "id", self.id)
        require_text("SetRecord", "session_id", self.session_id)
        require_int("SetRecord", "index", self.index, low=0)
        require_text("SetRecord", "exercise", self.exercise)
        require_aware("SetRecord", "started", self.started)
        require_number("SetRecord", "duration_s", self.duration_s, low=0.0)
        require_number("SetRecord", "load_kg", self.load_kg, low=0.0, optional=True)
        require_str("SetRecord", "cue", self.cue)
        low, high = PERCEIVED_ACTIVATION_RANGE
        require_int("SetRecord", "perceived_activation", self.perceived_activation, low=low, high=high, optional=True)
        _require_relative("SetRecord", "recording", self.recording)
        for rep in as_tuple(self, "reps"):
            if not isinstance(rep, RepMetrics):
                raise ValueError(f"SetRecord.reps must hold RepMetrics, got {rep!r}")
        for calibration_id in as_tuple(self, "calibration_ids"):
            require_text("SetRecord", "calibration_ids[]", calibration_id)
        require_int("SetRecord", "metrics_version", self.metrics_version, low=1)
        settings = self.settings
        if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
            settings = dataclasses.asdict(settings)
        if not isinstance(settings, dict):
            raise ValueError(f"SetRecord.settings must be a dict (or a settings dataclass), got {settings!r}")
        try:
            object.__setattr__(self, "settings", to_json(settings, "SetRecord.settings"))
        except TypeError as exc:
            raise ValueError(str(exc)) from None

    @property
    def old_metrics(self) -> bool:
        """True when its per-rep figures use an earlier definition (its raw recording could not be
        re-analysed): shown marked, never mixed with current figures."""
        return self.metrics_version < METRICS_VERSION


@dataclass(frozen=True, slots=True)
class Session(Record):
    """A client's training session: status "recording" (no ``ended`` yet), "complete" (ended) or
    "recovered" (found unfinished after a crash; ``ended`` is the last data saved, if known).
    ``folder`` is the session's folder relative to the sessions directory.
    """

    id: str
    client_id: str
    started: datetime
    ended: datetime | None = None
    status: str = "recording"
    folder: str = ""
    notes: str = ""

    def __post_init__(self) -> None:
        require_text("Session", "id", self.id)
        require_text("Session", "client_id", self.client_id)
        require_aware("Session", "started", self.started)
        require_aware("Session", "ended", self.ended, optional=True)
        if self.status not in SESSION_STATUSES:
            raise ValueError(f"Session.status must be one of {', '.join(SESSION_STATUSES)}, got {self.status!r}")
        if self.status == "recording" and self.ended is not None:
            raise ValueError("Session.ended must be None while the session is recording")
        if self.status == "complete" and self.ended is None:
            raise ValueError("Session.ended is required for a complete session")
        if self.ended is not None and self.ended < self.started:
            raise ValueError(
                f"Session.ended ({self.ended.isoformat()}) is before started ({self.started.isoformat()})"
            )
        _require_relative("Session", "folder", self.folder)
        require_str("Session", "notes", self.notes)

    @property
    def duration_s(self) -> float | None:
        """Seconds from start to end; None while recording (or when a recovered session's end is unknown)."""
        if self.ended is None:
            return None
        return (self.ended - self.started).total_seconds()

    @classmethod
    def opened(cls, client_id: str, started: datetime) -> Session:
        """A new session of ``client_id``, recording, kept in a folder named after its id."""
        from coach_tui.domain.ids import new_id

        session_id = new_id("s", started)
        return cls(session_id, client_id, started, folder=session_id)

    def finished(self, ended: datetime) -> Session:
        """This session marked complete at ``ended``."""
        return dataclasses.replace(self, ended=ended, status="complete")
