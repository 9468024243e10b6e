"""One set, analysed as it streams: envelopes per muscle, reps of the target, per-rep metrics.

The live console and a re-analysis of the stored recording both run this, sample by sample the
same (the pipeline is bit-identical however the samples are chunked, and so is rep detection),
so what the trainer saw during the set is exactly what the stored metrics say.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.session import RepMetrics
from coach_tui.dsp.asymmetry import PEAK_WINDOW_MS, asymmetry_pct
from coach_tui.dsp.cocontraction import cocontraction_index
from coach_tui.dsp.mvc import best_window_mean
from coach_tui.dsp.onsets import RestBaseline, detect_onsets, onset_order_ms, rest_baseline
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.reps import Rep, RepDetector
from coach_tui.dsp.target_share import target_share


@dataclass(frozen=True, slots=True)
class SetLayout:
    """What the set measures: one assignment per sensor channel, and the exercise's muscles."""

    sensors: dict[str, list[ChannelAssignment]]
    target: str
    synergists: tuple[str, ...] = ()
    antagonists: tuple[str, ...] = ()
    #: Sensors that send an envelope they computed themselves (see ``Pipeline``'s ``signal``).
    envelope_sensors: frozenset[str] = frozenset()

    def signal(self, sensor_id: str) -> str:
        """What ``sensor_id`` sends: "raw" or "envelope"."""
        return "envelope" if sensor_id in self.envelope_sensors else "raw"

    @property
    def channels(self) -> list[tuple[str, int, ChannelAssignment]]:
        """Every (sensor id, channel index, assignment) in a fixed order."""
        return [(sid, c, a) for sid, assigned in self.sensors.items() for c, a in enumerate(assigned)]


class _Growing:
    """An append-only float array that doubles its capacity (no quadratic concatenation)."""

    def __init__(self):
        self._data = np.zeros(4096)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        needed = self.size + values.shape[0]
        if needed > self._data.shape[0]:
            grown = np.zeros(max(needed, 2 * self._data.shape[0]))
            grown[: self.size] = self._data[: self.size]
            self._data = grown
        self._data[self.size : needed] = values
        self.size = needed

    def view(self, start: int = 0, end: int | None = None) -> np.ndarray:
        return self._data[start : self.size if end is None else min(end, self.size)]


class SetAnalyzer:
    """Streaming analysis of one set from per-sensor blocks.

    All sensors share ``fs_hz`` and start together; samples are aligned by their index since the
    set started (lost samples enter as zeros, see ``Pipeline.process_gap``). A sensor that lost at
    least an envelope window of samples in a row was lost: from its first lost sample until its
    filters have recovered (``Pipeline.recovery_samples``) its channels measure nothing, and a rep
    overlapping that stretch on the exercise's muscles is incomplete (``RepMetrics.lost_sensors``;
    no asymmetry, share, co-contraction or onset order). Envelopes are in %MVC
    for channels with an MVC reference, else in input units (µV). The rest level of each channel
    comes from its calibration, or else from the first ``baseline_window_ms`` after the filters
    settle (the client holds still for a moment at the start of the set).
    """

    def __init__(
        self,
        fs_hz: float,
        layout: SetLayout,
        settings: AnalysisSettings | None = None,
        mvc: dict[str, float] | None = None,
        rest: dict[str, RestBaseline] | None = None,
    ):
        self.fs_hz = float(fs_hz)
        self.layout = layout
        self.settings = settings or AnalysisSettings()
        self.mvc = dict(mvc or {})
        self._rest_known = dict(rest or {})
        self._pipelines: dict[str, Pipeline] = {}
        self._columns: dict[str, list[int]] = {}
        self.channels = layout.channels
        for sid, assigned in layout.sensors.items():
            refs = [self.mvc.get(a.key) for a in assigned]
            self._pipelines[sid] = Pipeline(
                fs_hz, len(assigned), self.settings.dsp, refs if any(r is not None for r in refs) else None,
                layout.signal(sid),
            )
            self._columns[sid] = [i for i, (s, _, _) in enumerate(self.channels) if s == sid]
        self.units = ["%MVC" if a.key in self.mvc else "µV" for _, _, a in self.channels]
        self._envelopes = [_Growing() for _ in self.channels]
        self._target = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle == layout.target]
        self._synergists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.synergists]
        self._antagonists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.antagonists]
        self.settled_at = max(p.settled_at for p in self._pipelines.values())
        self._baseline_samples = max(1, round(self.settings.onsets.baseline_window_ms * self.fs_hz / 1000))
        self._rest: list[RestBaseline] | None = None
        self._detector: RepDetector | None = None
        self._fed = 0
        #: Per sensor, runs of lost samples [start, end) in set samples (short ones forgotten once closed).
        self._gaps: dict[str, list[list[int]]] = {sid: [] for sid in layout.sensors}
        self.reps: list[RepMetrics] = []
        #: The envelope values (n, channels) the last ``add`` produced, for the live bars.
        self.latest_values = np.zeros((0, 0))

    # -- input ------------------------------------------------------------------------------

    def add(self, sensor_id: str, samples: np.ndarray, gap_before: int = 0) -> list[RepMetrics]:
        """Feed one sensor's next samples ``(n, channels)``; return reps completed meanwhile."""
        pipeline = self._pipelines[sensor_id]
        if gap_before:
            self._mark_gap(sensor_id, self._envelopes[self._columns[sensor_id][0]].size, gap_before)
        frames = [pipeline.process_gap(gap_before)] if gap_before else []
        if samples.shape[0] or not frames:
            frames.append(pipeline.process(samples))
        values = np.concatenate([f.activation for f in frames]) if len(frames) > 1 else frames[0].activation
        for k, column in enumerate(self._columns[sensor_id]):
            self._envelopes[column].extend(values[:, k])
        self.latest_values = values
        return self._advance()

    def _mark_gap(self, sensor_id: str, at: int, n: int) -> None:
        runs = self._gaps[sensor_id]
        if runs and runs[-1][1] == at:  # the same loss goes on (a lost sensor is padded piece by piece)
            runs[-1][1] += n
            return
        if runs and runs[-1][1] - runs[-1][0] < self._pipelines[sensor_id].envelope_window:
            runs.pop()  # a dropped packet or two: it only dents the envelope
        runs.append([at, at + n])

    def lost_stretches(self, sensor_id: str) -> list[tuple[int, int]]:
        """Where ``sensor_id`` was lost: [first lost sample, sample its filters have recovered by)."""
        pipeline = self._pipelines[sensor_id]
        return [(start, end + pipeline.recovery_samples) for start, end in self._gaps[sensor_id]
                if end - start >= pipeline.envelope_window]

    def _lost_columns(self, start: int, end: int) -> set[int]:
        """Channels whose sensor was lost somewhere in samples [start, end)."""
        return {column for sid, columns in self._columns.items()
                if any(a < end and b > start for a, b in self.lost_stretches(sid)) for column in columns}

    @property
    def pipelines(self) -> dict[str, Pipeline]:
        """The per-sensor pipelines (the live meter continues with them after the set)."""
        return dict(self._pipelines)

    @property
    def samples_aligned(self) -> int:
        """Samples available on every channel."""
        return min(e.size for e in self._envelopes)

    def latest(self, window_s: float = 0.1) -> list[float]:
        """Mean envelope of each channel over the last ``window_s`` (what a bar shows)."""
        n = max(1, round(window_s * self.fs_hz))
        return [float(e.view(max(0, e.size - n)).mean()) if e.size else 0.0 for e in self._envelopes]

    def envelope(self, column: int) -> np.ndarray:
        """The whole envelope of one channel so far."""
        return self._envelopes[column].view()

    # -- reps -------------------------------------------------------------------------------

    def _start_detector(self) -> None:
        start = self.settled_at
        self._rest = [
            self._rest_known.get(a.key) or rest_baseline(self._envelopes[i].view(start, start + self._baseline_samples))
            for i, (_, _, a) in enumerate(self.channels)
        ]
        floors = [self.settings.floors.rep_rest_factor * self._rest[i].mean for i in self._target]
        floor = float(np.mean(floors)) if floors else 0.0
        if self._target and all(self.units[i] == "%MVC" for i in self._target):
            floor = max(floor, self.settings.floors.rep_pct_mvc)
        self._detector = RepDetector(self.fs_hz, floor, self.settings.reps)
        self._fed = start

    def _advance(self) -> list[RepMetrics]:
        if not self._target:
            return []
        ready = self.samples_aligned
        if self._detector is None:
            if ready < self.settled_at + self._baseline_samples:
                return []
            self._start_detector()
        if ready <= self._fed:
            return []
        target = np.mean([self._envelopes[i].view(self._fed, ready) for i in self._target], axis=0)
        self._fed = ready
        done = []
        for rep in self._detector.update(target):
            done.append(self._metrics(rep, index=len(self.reps) + 1))
            self.reps.append(done[-1])
        return done

    def _metrics(self, rep: Rep, index: int) -> RepMetrics:
        start, end = self.settled_at + rep.start, self.settled_at + rep.end
        fs = self.fs_hz
        # Each muscle's onset is the start of its activity period around this rep; look back to the
        # previous rep's end (at most one second) so a slow rise is not cut off.
        previous_end = round(self.reps[-1].end_s * fs) if self.reps else self.settled_at
        lead = max(previous_end, start - round(fs), self.settled_at)
        lost = self._lost_columns(lead, end)
        measured = set(self._target + self._synergists + self._antagonists)
        if lost & measured:
            return self._incomplete(rep, index, start, end, sorted(lost))

        def window(column: int) -> np.ndarray:
            return self._envelopes[column].view(start, end)

        sides = {self.channels[i][2].side: i for i in self._target}
        asymmetry = weaker = None
        if "L" in sides and "R" in sides:
            peaks = [best_window_mean(window(sides[s]), fs, PEAK_WINDOW_MS) for s in ("L", "R")]
            floor = self.settings.floors.asymmetry_pct_mvc if self.units[sides["L"]] == "%MVC" else (
                self.settings.floors.uncalibrated_pair_factor * min(self._rest[sides["L"]].mean, self._rest[sides["R"]].mean)
            )
            if max(peaks) > floor:
                asymmetry = asymmetry_pct(*peaks)
                weaker = None if peaks[0] == peaks[1] else "L" if peaks[0] < peaks[1] else "R"
        share = None
        # Target share compares like with like: only when target and synergists share units.
        if self._synergists and len({self.units[i] for i in self._target + self._synergists}) == 1:
            target_mean = float(np.mean([window(i).mean() for i in self._target]))
            synergist_mean = float(np.mean([window(i).mean() for i in self._synergists]))
            share = target_share(target_mean, synergist_mean)
        cocontraction = None
        if self._antagonists and len({self.units[i] for i in self._target + self._antagonists}) == 1:
            target_curve = np.mean([window(i) for i in self._target], axis=0)
            antagonist_curve = np.mean([window(i) for i in self._antagonists], axis=0)
            cocontraction = cocontraction_index(target_curve, antagonist_curve)
        onsets: dict[str, float | None] = {}
        for i, (_, _, assignment) in enumerate(self.channels):
            if i in lost:  # a muscle outside the exercise whose sensor was lost: no onset of its own
                continue
            periods = detect_onsets(self._envelopes[i].view(lead, end), fs, self._rest[i], self.settings.onsets)
            around = [on for on, off in periods if off is None or lead + off > start]
            onsets[assignment.label] = (lead + around[0]) / fs if around else None
        target = self.channels[self._target[0]][2]
        return RepMetrics(
            index=index,
            start_s=start / fs,
            end_s=end / fs,
            peak=rep.peak,
            mean=rep.mean,
            time_to_peak_s=rep.time_to_peak_s,
            units=self.units[self._target[0]],
            muscle=target.muscle,
            side=None if len(sides) > 1 else target.side,
            asymmetry_pct=asymmetry,
            target_share=share,
            onset_order=tuple(onset_order_ms(onsets)),
            weaker_side=weaker,
            cocontraction_pct=cocontraction,
        )

    def _incomplete(self, rep: Rep, index: int, start: int, end: int, lost: list[int]) -> RepMetrics:
        """A rep during which a sensor of the exercise's muscles was lost: its place and the target's
        envelope as seen, and which sensors were lost instead of the measures that needed them."""
        sides = {self.channels[i][2].side for i in self._target}
        target = self.channels[self._target[0]][2]
        return RepMetrics(
            index=index,
            start_s=start / self.fs_hz,
            end_s=end / self.fs_hz,
            peak=rep.peak,
            mean=rep.mean,
            time_to_peak_s=rep.time_to_peak_s,
            units=self.units[self._target[0]],
            muscle=target.muscle,
            side=None if len(sides) > 1 else target.side,
            lost_sensors=tuple(self.channels[i][2].label for i in lost),
        )
