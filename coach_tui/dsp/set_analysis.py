"""One set, analysed as it streams: envelopes per muscle, reps of the target, per-rep metrics.

The live console and a re-analysis of the stored recording both run this, sample by sample the
same (the pipeline is bit-identical however the samples are chunked, and so are rep detection and
the rest levels), so what the trainer saw during the set is exactly what the stored metrics say.
Memory is bounded however long a set runs: only what a rep still to come needs is kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.session import RepMetrics
from coach_tui.dsp.asymmetry import asymmetry_pct, asymmetry_window
from coach_tui.dsp.cocontraction import cocontraction_index
from coach_tui.dsp.electrode_pop import PopDetector
from coach_tui.dsp.fatigue import (
    fatigue_unavailable_reason,
    held_part,
    is_sustained,
    median_frequency,
    window_frequencies,
)
from coach_tui.dsp.history import StreamHistory
from coach_tui.dsp.live_meter import BAR_WINDOW_S
from coach_tui.dsp.mains import MainsDecision
from coach_tui.dsp.onsets import RestBaseline, detect_onsets, onset_order_ms
from coach_tui.dsp.peak import peak
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.reps import Rep, RepDetector
from coach_tui.dsp.rest_level import RestLevel
from coach_tui.dsp.target_share import target_share

#: How far before a rep's start each muscle's onset is looked for (the previous rep's end bounds it).
ONSET_LOOKBACK_S = 1.0
#: Envelope kept at least, for what the bars show (``latest``).
LATEST_S = 1.0


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


class SetAnalyzer:
    """Streaming analysis of one set from per-sensor blocks.

    All sensors share ``fs_hz`` and start together; samples are aligned by their index since the
    set started (lost samples enter as ``Pipeline.process_gap`` fills them). A sensor that lost at
    least an envelope window of samples in a row was lost: from its first lost sample until its
    filters have recovered (``Pipeline.recovery_samples``) its channels measure nothing, and a rep
    overlapping that stretch on the exercise's muscles is incomplete (``RepMetrics.lost_sensors``;
    no asymmetry, share, co-contraction or onset order). Envelopes are in %MVC
    for channels with an MVC reference, else in input units (µV). Analysis starts once the filters
    have settled. The rest level of each channel (onsets, the asymmetry noise floor) is ``rest`` (a
    calibration, the quietest moment before the set) or the set's first ``baseline_window_ms``,
    replaced by a clearly quieter stretch of the set (``RestLevel``), as of each rep's end.
    ``finish`` ends the set: a last rep the client had just finished counts. ``keep_envelopes``
    keeps every envelope sample (for exports); otherwise only what a rep still to come needs is kept.

    ``notches`` holds mains decisions already made, by sensor id: notch from a sample (a recipe
    replayed, or a hum the live filters found before the set), or None for "listened to the
    whole set, no hum". Other raw sensors listen as their settings say (``mains_decisions``).
    """

    def __init__(
        self,
        fs_hz: float,
        layout: SetLayout,
        settings: AnalysisSettings | None = None,
        mvc: dict[str, float] | None = None,
        rest: dict[str, RestBaseline] | None = None,
        notches: dict[str, MainsDecision | None] | None = None,
        keep_envelopes: bool = False,
    ):
        self.fs_hz = float(fs_hz)
        self.layout = layout
        self.settings = settings or AnalysisSettings()
        self.mvc = dict(mvc or {})
        rest = rest or {}
        self._keep_envelopes = keep_envelopes
        self._pipelines: dict[str, Pipeline] = {}
        self._columns: dict[str, list[int]] = {}
        self.channels = layout.channels
        notches = notches or {}
        no_notch = replace(self.settings.dsp, filters=replace(self.settings.dsp.filters, mains="off"))
        for sid, assigned in layout.sensors.items():
            refs = [self.mvc.get(a.key) for a in assigned]
            known = sid in notches and notches[sid] is None
            self._pipelines[sid] = Pipeline(
                fs_hz, len(assigned), no_notch if known else self.settings.dsp,
                refs if any(r is not None for r in refs) else None, layout.signal(sid), notches.get(sid),
            )
            self._columns[sid] = [i for i, (s, _, _) in enumerate(self.channels) if s == sid]
        self._pop_detectors = {sid: PopDetector(fs_hz, len(a)) for sid, a in layout.sensors.items() if layout.signal(sid) == "raw"}
        #: Electrode pops so far: (first sample, end sample) of each, on any channel.
        self.pops: list[tuple[int, int]] = []
        self.units = ["%MVC" if a.key in self.mvc else "µV" for _, _, a in self.channels]
        self._envelopes = [StreamHistory(np.float32) for _ in self.channels]
        self._target = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle == layout.target]
        self._synergists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.synergists]
        self._antagonists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.antagonists]
        # The target's filtered raw signal, for its median frequency (not for sensors sending an
        # envelope, nor when the band is too narrow for it, see ``dsp.fatigue``).
        self.fatigue_unavailable = fatigue_unavailable_reason(fs_hz, self.settings.dsp.filters, self.settings.fatigue)
        self._spectral = [] if self.fatigue_unavailable else [
            i for i in self._target if layout.signal(self.channels[i][0]) == "raw"]
        self._filtered = {i: StreamHistory(np.float32) for i in self._spectral}
        self.settled_at = max(p.settled_at for p in self._pipelines.values())
        onsets = self.settings.onsets
        self._rest = [RestLevel(self.fs_hz, onsets.baseline_window_ms, onsets.sd_factor, rest.get(a.key))
                      for _, _, a in self.channels]
        calibrated = bool(self._target) and all(self.units[i] == "%MVC" for i in self._target)
        self._detector = RepDetector(self.fs_hz, self.settings.floors.rep_pct_mvc if calibrated else 0.0,
                                     self.settings.reps)
        self._fed = self.settled_at
        self._onset_lookback = round(ONSET_LOOKBACK_S * self.fs_hz)
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
        self._find_pops(sensor_id, samples, gap_before)
        for k, column in enumerate(self._columns[sensor_id]):
            self._envelopes[column].extend(values[:, k])
            if column in self._filtered:
                for frame in frames:
                    self._filtered[column].extend(frame.filtered[:, k])
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

    def _find_pops(self, sensor_id: str, samples: np.ndarray, gap_before: int) -> None:
        detector = self._pop_detectors.get(sensor_id)
        if detector is None:
            return
        gap = detector.process_gap(gap_before) if gap_before else None
        flags = detector.process(samples)
        if gap is not None:
            flags = np.concatenate([gap, flags])
        popped = np.concatenate([[False], flags.any(axis=1), [False]]).astype(np.int8)
        if not popped.any():
            return
        first = self._envelopes[self._columns[sensor_id][0]].size
        edges = np.diff(popped)
        for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
            self.pops.append((first + int(start), first + int(end)))

    @property
    def pipelines(self) -> dict[str, Pipeline]:
        """The per-sensor pipelines (the live meter continues with them after the set)."""
        return dict(self._pipelines)

    def mains_decisions(self, final: bool = False) -> dict[str, MainsDecision | None]:
        """The mains decisions of the raw sensors, by id, as a recipe stores them (see ``notches``);
        sensors still listening are left out, unless ``final`` (the set is over: they found none)."""
        return {
            sid: p.mains_decision for sid, p in self._pipelines.items() if p.signal == "raw" and (final or not p.listening)
        }

    @property
    def samples_aligned(self) -> int:
        """Samples available on every channel."""
        return min(e.size for e in self._envelopes)

    def latest(self, window_s: float = BAR_WINDOW_S) -> list[float]:
        """Mean envelope of each channel over the last ``window_s`` (what a bar shows; at most
        ``LATEST_S``)."""
        n = max(1, round(min(window_s, LATEST_S) * self.fs_hz))
        return [float(e.view(max(e.first, e.size - n)).mean()) if e.size else 0.0 for e in self._envelopes]

    def envelope(self, column: int) -> np.ndarray:
        """The whole envelope of one channel so far (needs ``keep_envelopes``)."""
        if not self._keep_envelopes:
            raise ValueError("the set's envelopes are not kept (keep_envelopes=False)")
        return self._envelopes[column].view(0)

    # -- reps -------------------------------------------------------------------------------

    def finish(self) -> list[RepMetrics]:
        """End the set: the rep under way counts if the client had relaxed when it stopped."""
        self._advance()
        return self._measure(self._detector.finish()) if self._target else []

    def _advance(self) -> list[RepMetrics]:
        ready = self.samples_aligned
        if ready <= self._fed:
            return []
        for history, rest in zip(self._envelopes, self._rest):
            rest.add(history.view(self._fed, ready))
        done = []
        if self._target:
            target = np.mean([self._envelopes[i].view(self._fed, ready) for i in self._target], axis=0)
            done = self._measure(self._detector.update(target))
        self._fed = ready
        self._forget()
        return done

    def _measure(self, reps: list[Rep]) -> list[RepMetrics]:
        done = []
        for rep in reps:
            done.append(self._metrics(rep, index=len(self.reps) + 1))
            self.reps.append(done[-1])
        return done

    def _forget(self) -> None:
        """Drop envelope samples and rest levels no rep still to come will use."""
        needed = self.settled_at + (self._detector.earliest if self._target else self._fed - self.settled_at)
        for rest in self._rest:
            rest.forget_before(needed - self.settled_at)
        for history in self._filtered.values():
            history.forget_before(needed)
        if self._keep_envelopes:
            return
        keep = min(needed - self._onset_lookback, self._fed - round(LATEST_S * self.fs_hz))
        for history in self._envelopes:
            history.forget_before(keep)

    def _metrics(self, rep: Rep, index: int) -> RepMetrics:
        start, end = self.settled_at + rep.start, self.settled_at + rep.end
        fs = self.fs_hz
        # Each muscle's onset is the start of its activity period around this rep; look back to the
        # previous rep's end (at most ONSET_LOOKBACK_S) so a slow rise is not cut off.
        previous_end = round(self.reps[-1].end_s * fs) if self.reps else self.settled_at
        lead = max(previous_end, start - self._onset_lookback, self.settled_at)
        lost = self._lost_columns(lead, end)
        rest = [r.at(rep.end) for r in self._rest]

        def window(column: int) -> np.ndarray:
            return self._envelopes[column].view(start, end)

        # The rep's peak is measured on the curve the reps are detected on (the target's sides
        # averaged), see ``dsp.peak``; each side's for the asymmetry with the reference's window.
        target_curve = np.mean([window(i) for i in self._target], axis=0)
        top = peak(target_curve, fs, self.settings.peak)
        if lost & set(self._target + self._synergists + self._antagonists):
            return self._incomplete(rep, index, start, end, top, sorted(lost))
        sides = {self.channels[i][2].side: i for i in self._target}
        asymmetry = weaker = None
        if "L" in sides and "R" in sides:
            side_window = asymmetry_window(fs, self.settings.peak)
            peaks = [peak(window(sides[s]), fs, window=side_window).value for s in ("L", "R")]
            floor = self.settings.floors.asymmetry_pct_mvc if self.units[sides["L"]] == "%MVC" else (
                self.settings.floors.uncalibrated_pair_factor * min(rest[sides["L"]].mean, rest[sides["R"]].mean)
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
            periods = detect_onsets(self._envelopes[i].view(lead, end), fs, rest[i], self.settings.onsets)
            around = [on for on, off in periods if off is None or lead + off > start]
            onsets[assignment.label] = (lead + around[0]) / fs if around else None
        frequency, windows = self._median_frequencies(start, end, target_curve)
        target = self.channels[self._target[0]][2]
        # A pop inside the rep (or in the envelope window before it) distorts every measure of it.
        reach = start - self._pipelines[self.channels[self._target[0]][0]].envelope_window
        popped = any(a < end and b > reach for a, b in self.pops)
        return RepMetrics(
            index=index,
            start_s=start / fs,
            end_s=end / fs,
            peak=top.value,
            mean=rep.mean,
            time_to_peak_s=top.at / fs,
            units=self.units[self._target[0]],
            muscle=target.muscle,
            side=None if len(sides) > 1 else target.side,
            asymmetry_pct=asymmetry,
            target_share=share,
            onset_order=tuple(onset_order_ms(onsets)),
            weaker_side=weaker,
            cocontraction_pct=cocontraction,
            median_frequency_hz=frequency,
            window_frequencies_hz=windows,
            electrode_pop=popped,
        )

    def _incomplete(self, rep: Rep, index: int, start: int, end: int, top, lost: list[int]) -> RepMetrics:
        """A rep during which a sensor of the exercise's muscles was lost: its place and the target's
        envelope as seen, and which sensors were lost instead of the measures that needed them."""
        sides = {self.channels[i][2].side for i in self._target}
        target = self.channels[self._target[0]][2]
        return RepMetrics(
            index=index,
            start_s=start / self.fs_hz,
            end_s=end / self.fs_hz,
            peak=top.value,
            mean=rep.mean,
            time_to_peak_s=top.at / self.fs_hz,
            units=self.units[self._target[0]],
            muscle=target.muscle,
            side=None if len(sides) > 1 else target.side,
            lost_sensors=tuple(self.channels[i][2].label for i in lost),
        )

    def _median_frequencies(self, start: int, end: int, curve: np.ndarray) -> tuple[float | None, tuple[float, ...]]:
        """The target's median frequency over the rep (its sides averaged) and, for a sustained
        contraction, over each consecutive window of its held part (``dsp.fatigue``; ``curve`` is the
        target's envelope over the rep)."""
        fatigue, fs = self.settings.fatigue, self.fs_hz
        if not self._spectral or end - start < round(fatigue.segment_ms * fs / 1000):
            return None, ()
        signals = [self._filtered[i].view(start, end) for i in self._spectral]
        frequency = float(np.mean([median_frequency(x, fs, fatigue) for x in signals]))
        if not is_sustained(start, end, fs, fatigue):
            return frequency, ()
        first, last = held_part(curve)
        per_side = [window_frequencies(x, fs, first, last, fatigue)[1] for x in signals]
        if not per_side[0]:
            return frequency, ()
        return frequency, tuple(float(v) for v in np.mean(per_side, axis=0))
