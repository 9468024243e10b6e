"""The guided MVC protocol for one muscle (both sides at once): rest baseline, trials, rest between.

Phases are timed by samples, not by the wall clock, so the same stream always gives the same
trials; the UI shows the countdown and a bar, and saves the calibrations this computes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.domain.calibration import Calibration
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.ids import new_id, now_utc
from coach_tui.domain.placement import Placement
from coach_tui.dsp.mvc import MvcResult, MvcSettings, mvc_reference, trial_peak
from coach_tui.dsp.onsets import RestBaseline, rest_baseline
from coach_tui.dsp.peak import PeakSettings
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.settings import DspSettings


@dataclass(frozen=True, slots=True)
class Phase:
    """One step of the protocol: "rest baseline", "trial 2", "rest"…, and its length in samples."""

    name: str
    samples: int
    trial: int | None = None

    @property
    def is_trial(self) -> bool:
        """True for a maximal contraction."""
        return self.trial is not None


def protocol_phases(settings: MvcSettings, fs_hz: float) -> list[Phase]:
    """Baseline, then trials with rest between, in samples at ``fs_hz``."""
    n = lambda seconds: round(seconds * fs_hz)  # noqa: E731 - tiny local unit conversion
    phases = [Phase("rest baseline", n(settings.baseline_seconds))]
    for trial in range(1, settings.trials + 1):
        if trial > 1:
            phases.append(Phase("rest", n(settings.rest_seconds)))
        phases.append(Phase(f"trial {trial}", n(settings.trial_seconds), trial))
    return phases


@dataclass(frozen=True, slots=True)
class SideResult:
    """One side's reference, its trials, and its rest level."""

    side: str | None
    mvc: MvcResult
    rest: RestBaseline


class CalibrationProtocol:
    """Feeds each side's sensor through the pipeline and splits the envelope into the phases."""

    def __init__(self, fs_hz: float, muscle: str, sides: dict[str, str], dsp: DspSettings, settings: MvcSettings,
                 envelope_sensors: frozenset[str] = frozenset(), columns: dict[str, int] | None = None,
                 peak: PeakSettings | None = None):
        """``sides`` maps "L"/"R" to the sensor id, ``columns`` to the channel of that sensor's blocks
        (default the first); ``envelope_sensors`` send their own envelope; ``peak`` is the peak
        estimator the sets are measured with (default: with ``settings.window_ms`` as its longest
        window)."""
        self.fs_hz = float(fs_hz)
        self.muscle = muscle
        self.sides = dict(sides)
        self.columns = {side: (columns or {}).get(side, 0) for side in self.sides}
        self.settings = settings
        self.peak = peak or PeakSettings(max_window_ms=settings.window_ms)
        self.phases = protocol_phases(settings, fs_hz)
        self._pipelines = {side: Pipeline(fs_hz, 1, dsp, signal="envelope" if sid in envelope_sensors else "raw")
                           for side, sid in self.sides.items()}
        self._envelopes = {side: [] for side in self.sides}
        self._seen = dict.fromkeys(self.sides, 0)
        self.total_samples = sum(p.samples for p in self.phases)
        starts = np.cumsum([0] + [p.samples for p in self.phases])
        self._trial_spans = [(int(a), int(b)) for p, a, b in zip(self.phases, starts, starts[1:]) if p.is_trial]
        self._baseline_samples = self.phases[0].samples
        self._trial_peak = dict.fromkeys(self.sides, 0.0)  # highest envelope in any trial so far
        self._baseline_sum = dict.fromkeys(self.sides, 0.0)

    def add(self, sensor_id: str, samples: np.ndarray, gap_before: int = 0) -> None:
        """Feed a block of one of the muscle's sensors (others are ignored)."""
        for side, sid in self.sides.items():
            if sid != sensor_id or self._seen[side] >= self.total_samples:
                continue
            pipeline = self._pipelines[side]
            frames = [pipeline.process_gap(gap_before)] if gap_before else []
            column = self.columns[side]
            frames.append(pipeline.process(samples[:, column : column + 1]))
            for frame in frames:
                envelope = frame.envelope[:, 0]
                self._follow_levels(side, envelope)
                self._envelopes[side].append(envelope)
                self._seen[side] += envelope.shape[0]

    def _follow_levels(self, side: str, envelope: np.ndarray) -> None:
        """Keep the baseline's sum and the trials' peak up to date with the next envelope samples."""
        start = self._seen[side]
        end = start + envelope.shape[0]
        if start < self._baseline_samples:
            self._baseline_sum[side] += float(np.nansum(envelope[: self._baseline_samples - start]))
        for a, b in self._trial_spans:
            lo, hi = max(a, start), min(b, end)
            if lo < hi:
                self._trial_peak[side] = max(self._trial_peak[side], float(np.nanmax(envelope[lo - start : hi - start])))

    def bar_scale(self, side: str) -> float:
        """Full scale of the side's live bar: a fifth above the highest trial value so far; before
        the first trial, ten times the rest level (a relaxed muscle sits near the left)."""
        baseline = self._baseline_sum[side] / max(1, min(self._seen[side], self._baseline_samples))
        return max(1.2 * self._trial_peak[side], 10.0 * baseline, 1.0)

    def next_trial(self) -> Phase | None:
        """The first trial still to come (None during or after the last one)."""
        start = 0
        for phase in self.phases:
            if phase.is_trial and self.position < start:
                return phase
            start += phase.samples
        return None

    @property
    def position(self) -> int:
        """Samples done on every side."""
        return min(self._seen.values())

    @property
    def done(self) -> bool:
        """True once every phase is complete."""
        return self.position >= self.total_samples

    def current(self) -> tuple[Phase, float]:
        """The phase under way and the seconds left in it."""
        start = 0
        for phase in self.phases:
            if self.position < start + phase.samples:
                return phase, (start + phase.samples - self.position) / self.fs_hz
            start += phase.samples
        return self.phases[-1], 0.0

    def latest(self, side: str, window_s: float = 0.1) -> float:
        """The side's envelope over the last ``window_s`` (for the big bar)."""
        pieces = self._envelopes[side]
        if not pieces:
            return 0.0
        tail = np.concatenate(pieces[-8:])[-max(1, round(window_s * self.fs_hz)) :]
        return float(tail.mean())

    def _segments(self, side: str) -> list[tuple[Phase, np.ndarray]]:
        envelope = np.concatenate(self._envelopes[side]) if self._envelopes[side] else np.zeros(0)
        out, start = [], 0
        for phase in self.phases:
            out.append((phase, envelope[start : start + phase.samples]))
            start += phase.samples
        return out

    def trial_bests(self, side: str) -> list[float]:
        """The peak of each finished trial so far (shown as trials complete)."""
        return [
            trial_peak(env, self.fs_hz, self.settings, self.peak)
            for phase, env in self._segments(side)
            if phase.is_trial and env.shape[0] == phase.samples
        ]

    def results(self) -> list[SideResult]:
        """Each side's reference and rest level (after ``done``)."""
        results = []
        for side in self.sides:
            segments = self._segments(side)
            trials = [env for phase, env in segments if phase.is_trial]
            rest = rest_baseline(segments[0][1][segments[0][0].samples // 3 :])  # skip the filters' start
            results.append(SideResult(side, mvc_reference(trials, self.fs_hz, self.settings, self.peak), rest))
        return results

    def calibrations(self, client_id: str, placements: dict[str, Placement], units: str = "µV") -> list[Calibration]:
        """One calibration per side, ready to store."""
        when = now_utc()
        return [
            Calibration(
                new_id("cal", when), client_id, self.muscle, r.side, r.mvc.reference, units, r.mvc.trial_bests,
                r.rest.mean, r.rest.sd, when, placements[r.side], r.mvc.repeat_trial, r.mvc.familiarisation,
            )
            for r in self.results()
        ]


def calibrate_from_samples(samples: np.ndarray, fs_hz: float, channels: list[ChannelAssignment | None],
                           dsp: DspSettings, settings: MvcSettings, peak: PeakSettings | None = None) -> dict[str, SideResult]:
    """The protocol run over a recording of it (the rest baseline, then the trials with rest between,
    timed from the first sample as the console times them): each assigned column's reference and rest
    level, by ``muscle:side``. Samples after the protocol's end are ignored; a recording shorter than
    the protocol is refused, saying how long the protocol is."""
    samples = np.asarray(samples, dtype=float)
    phases = protocol_phases(settings, fs_hz)
    needed = sum(p.samples for p in phases)
    if samples.shape[0] < needed:
        trials = f"{settings.trials} × {settings.trial_seconds:g} s trials with {settings.rest_seconds:g} s rest between"
        raise ValueError(f"the MVC recording lasts {samples.shape[0] / fs_hz:.1f} s; the protocol "
                         f"({settings.baseline_seconds:g} s at rest, then {trials}) needs {needed / fs_hz:.1f} s")
    by_muscle: dict[str, dict[str | None, int]] = {}
    for column, assignment in enumerate(channels):
        if assignment is not None:
            by_muscle.setdefault(assignment.muscle, {})[assignment.side] = column
    results = {}
    for muscle, columns in by_muscle.items():
        protocol = CalibrationProtocol(fs_hz, muscle, dict.fromkeys(columns, "recording"), dsp, settings,
                                       columns=columns, peak=peak)
        protocol.add("recording", samples[:needed])
        for result in protocol.results():
            results[ChannelAssignment(muscle, result.side).key] = result
    return results
