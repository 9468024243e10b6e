"""One set, analysed as it streams: envelopes per muscle, reps of the target, per-rep metrics.

The live console and a re-analysis of the stored recording both run this, sample by sample the
same (the pipeline is bit-identical however the samples are chunked, and so are rep detection and
the rest levels), so what the trainer saw during the set is exactly what the stored metrics say.
Memory is bounded however long a set runs: only what a rep still to come needs is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.session import RepMetrics
from coach_tui.dsp.asymmetry import PEAK_WINDOW_MS, asymmetry_pct
from coach_tui.dsp.cocontraction import cocontraction_index
from coach_tui.dsp.history import StreamHistory
from coach_tui.dsp.mvc import best_window_mean
from coach_tui.dsp.onsets import RestBaseline, detect_onsets, onset_order_ms
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
    set started (lost samples enter as ``Pipeline.process_gap`` fills them). Envelopes are in %MVC
    for channels with an MVC reference, else in input units (µV). Analysis starts once the filters
    have settled. The rest level of each channel (onsets, the asymmetry noise floor) is ``rest`` (a
    calibration, the quietest moment before the set) or the set's first ``baseline_window_ms``,
    replaced by a clearly quieter stretch of the set (``RestLevel``), as of each rep's end.
    ``finish`` ends the set: a last rep the client had just finished counts. ``keep_envelopes``
    keeps every envelope sample (for exports); otherwise only what a rep still to come needs is kept.
    """

    def __init__(
        self,
        fs_hz: float,
        layout: SetLayout,
        settings: AnalysisSettings | None = None,
        mvc: dict[str, float] | None = None,
        rest: dict[str, RestBaseline] | None = None,
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
        for sid, assigned in layout.sensors.items():
            refs = [self.mvc.get(a.key) for a in assigned]
            self._pipelines[sid] = Pipeline(
                fs_hz, len(assigned), self.settings.dsp, refs if any(r is not None for r in refs) else None,
                layout.signal(sid),
            )
            self._columns[sid] = [i for i, (s, _, _) in enumerate(self.channels) if s == sid]
        self.units = ["%MVC" if a.key in self.mvc else "µV" for _, _, a in self.channels]
        self._envelopes = [StreamHistory() for _ in self.channels]
        self._target = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle == layout.target]
        self._synergists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.synergists]
        self._antagonists = [i for i, (_, _, a) in enumerate(self.channels) if a.muscle in layout.antagonists]
        self.settled_at = max(p.settled_at for p in self._pipelines.values())
        onsets = self.settings.onsets
        self._rest = [RestLevel(self.fs_hz, onsets.baseline_window_ms, onsets.sd_factor, rest.get(a.key))
                      for _, _, a in self.channels]
        calibrated = bool(self._target) and all(self.units[i] == "%MVC" for i in self._target)
        floor = self.settings.floors.rep_pct_mvc if calibrated else 0.0
        self._detector = RepDetector(self.fs_hz, floor, self.settings.reps)
        self._fed = self.settled_at
        self._onset_lookback = round(ONSET_LOOKBACK_S * self.fs_hz)
        self.reps: list[RepMetrics] = []
        #: The envelope values (n, channels) the last ``add`` produced, for the live bars.
        self.latest_values = np.zeros((0, 0))

    # -- input ------------------------------------------------------------------------------

    def add(self, sensor_id: str, samples: np.ndarray, gap_before: int = 0) -> list[RepMetrics]:
        """Feed one sensor's next samples ``(n, channels)``; return reps completed meanwhile."""
        pipeline = self._pipelines[sensor_id]
        frames = [pipeline.process_gap(gap_before)] if gap_before else []
        frames.append(pipeline.process(samples))
        values = np.concatenate([f.activation for f in frames]) if gap_before else frames[0].activation
        for k, column in enumerate(self._columns[sensor_id]):
            self._envelopes[column].extend(values[:, k])
        self.latest_values = values
        return self._advance()

    @property
    def pipelines(self) -> dict[str, Pipeline]:
        """The per-sensor pipelines (the live meter continues with them after the set)."""
        return dict(self._pipelines)

    @property
    def samples_aligned(self) -> int:
        """Samples available on every channel."""
        return min(e.size for e in self._envelopes)

    def latest(self, window_s: float = 0.1) -> list[float]:
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
        if self._keep_envelopes:
            return
        keep = min(needed - self._onset_lookback, self._fed - round(LATEST_S * self.fs_hz))
        for history in self._envelopes:
            history.forget_before(keep)

    def _metrics(self, rep: Rep, index: int) -> RepMetrics:
        start, end = self.settled_at + rep.start, self.settled_at + rep.end
        fs = self.fs_hz
        rest = [r.at(rep.end) for r in self._rest]

        def window(column: int) -> np.ndarray:
            return self._envelopes[column].view(start, end)

        sides = {self.channels[i][2].side: i for i in self._target}
        asymmetry = weaker = None
        if "L" in sides and "R" in sides:
            peaks = [best_window_mean(window(sides[s]), fs, PEAK_WINDOW_MS) for s in ("L", "R")]
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
        # Each muscle's onset is the start of its activity period around this rep; look back to the
        # previous rep's end (at most ONSET_LOOKBACK_S) so a slow rise is not cut off.
        previous_end = round(self.reps[-1].end_s * fs) if self.reps else self.settled_at
        lead = max(previous_end, start - self._onset_lookback, self.settled_at)
        for i, (_, _, assignment) in enumerate(self.channels):
            periods = detect_onsets(self._envelopes[i].view(lead, end), fs, rest[i], self.settings.onsets)
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
