"""A whole signal (a file from anywhere) through the live chain: per-channel quality, onsets, reps, fatigue; per-pair asymmetry.

This is what ``coach analyze`` reports. The signal passes through the same causal ``Pipeline``
the live screen uses (optionally in the same chunks); the measures are then taken from its output.

It streams: the recording arrives in chunks and only a stretch of it (a rep, a window, a chunk) is
in memory at a time, so hours of signal take the memory of seconds and time in proportion to
their length. Three passes: with ``mains="auto"`` the raw samples first, listened to for hum as the
live filters listen (``mains.MainsListener``) until it is found, so it is notched from the first
sample; then the causal pipeline, with every measure that needs only the signal so far (reps, their
peak and median frequency, sustained contractions, quality, the quietest stretch — the rest level);
then the envelope again, kept on disk, for what is judged against the whole recording's rest level
(onsets, the envelope mean, active windows, left/right pairs).

One cohesive job: those three passes and what each keeps (the measures themselves live in their own
``dsp`` modules).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.domain.hysteresis_alert import HysteresisAlert
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.asymmetry import asymmetry_pct, asymmetry_window, set_asymmetry
from coach_tui.dsp.envelope import MovingSum
from coach_tui.dsp.fatigue import (
    fatigue_unavailable_reason,
    frequency_trend,
    held_part,
    is_sustained,
    median_frequency,
    window_frequencies,
)
from coach_tui.dsp.history import StreamHistory
from coach_tui.dsp.mains import MainsListener
from coach_tui.dsp.onsets import RestBaseline, activity_periods
from coach_tui.dsp.peak import peak
from coach_tui.dsp.pipeline import ENVELOPE_METHOD, Pipeline
from coach_tui.dsp.quality import RawStats, grade_channel
from coach_tui.dsp.reps import Rep, RepDetector
from coach_tui.dsp.spool import Spool
from coach_tui.dsp.stream_windows import QuietestWindow, Runs, Windows

#: Quality thresholds are in µV; recordings in other units are scaled (counts are taken as µV).
MICROVOLTS_PER_UNIT = {"µV": 1.0, "mV": 1000.0, "V": 1e6}
#: Rows handled at a time where the caller does not choose (``chunk_samples``).
CHUNK_ROWS = 1 << 16


@dataclass(frozen=True, slots=True)
class SignalAnalysis:
    """The JSON-ready report and the columns of the recording it analysed.

    Measures skip the filters' settling time at the start (``Pipeline.settled_at``).
    """

    report: dict
    columns: list[int]


def analyze_signal(
    samples: np.ndarray,
    fs_hz: float,
    channels: list[ChannelAssignment | None],
    **options,
) -> SignalAnalysis:
    """``analyze_chunks`` of a signal already in memory (or memory-mapped), ``(n, columns)``."""
    samples = np.asarray(samples)
    return analyze_chunks(
        lambda: (samples[i : i + CHUNK_ROWS] for i in range(0, samples.shape[0], CHUNK_ROWS)), fs_hz, channels,
        rows=samples.shape[0], **options
    )


def analyze_chunks(
    read: Callable[[], Iterable[np.ndarray]],
    fs_hz: float,
    channels: list[ChannelAssignment | None],
    *,
    source: str,
    units: str,
    mains: str = "auto",
    mvc: dict[str, float] | None = None,
    chunk_samples: int | None = None,
    clip_level: float | None = None,
    settings: AnalysisSettings | None = None,
    envelope_out: Callable[[np.ndarray], None] | None = None,
    progress: Callable[[float], None] | None = None,
    rows: int | None = None,
) -> SignalAnalysis:
    """Analyse the columns that ``channels`` assigns (None = skip) of the recording ``read()``
    yields as consecutive ``(rows, columns)`` chunks; ``read`` is called once.

    ``mains`` is "50", "60", "off" or "auto" (hum looked for at the quiet moments of the whole
    recording, as the live filters listen, before the causal pass; notched from the first sample). ``mvc`` maps ``"muscle:side"`` to a reference in input units; channels with one are
    reported in %MVC. ``chunk_samples`` feeds the pipeline that many samples at a time, as live
    (the result is the same). ``envelope_out`` is handed the envelope of every sample (channels
    analysed, in order) as it is computed. ``progress`` is told the fraction of the causal pass done
    as it goes, out of ``rows`` (the recording's length, or an estimate of it).
    """
    settings = settings or AnalysisSettings()
    columns = [i for i, c in enumerate(channels) if c is not None]
    if not columns:
        raise ValueError("no channel to analyse: every column is 'skip'")
    assigned = [channels[i] for i in columns]

    def picked() -> Iterator[np.ndarray]:
        for chunk in read():
            yield np.asarray(chunk, dtype=float)[:, columns]

    with tempfile.TemporaryDirectory(prefix="coach-analyze-") as folder:
        raw_chunks: Callable[[], Iterable[np.ndarray]] = picked
        if mains == "auto":
            mains_hz, raw_chunks = _find_mains(picked(), fs_hz, settings.dsp.filters.mains_detect_s, Path(folder))
        else:
            mains_hz = None if mains == "off" else float(mains)
        analysis = _Analysis(assigned, columns, fs_hz, mains_hz, units, mvc or {}, clip_level, settings, Path(folder))
        step = chunk_samples or CHUNK_ROWS
        for chunk in raw_chunks():
            for at in range(0, chunk.shape[0], step):
                analysis.add(chunk[at : at + step], envelope_out)
            if progress is not None and rows:
                progress(min(1.0, analysis.samples / rows))
        report = analysis.report(source)
    return SignalAnalysis(report, columns)


def _find_mains(chunks: Iterator[np.ndarray], fs_hz: float, memory_s: float, folder: Path):
    """The hum of the raw recording (``mains.detect_mains``: listened to until found, or to the end),
    and the recording to read again: what was listened to, kept on disk, then the rest."""
    spool, listener = None, None
    for chunk in chunks:
        if spool is None:
            spool, listener = Spool(folder, "raw", chunk.shape[1]), MainsListener(fs_hz, chunk.shape[1], memory_s)
        spool.write(chunk)
        if listener.listen(chunk.T) is not None:
            break
    if spool is None:
        return None, lambda: iter(())
    decision = listener.decision

    def again() -> Iterator[np.ndarray]:
        yield from spool.read(CHUNK_ROWS)
        yield from chunks

    return None if decision is None else decision.mains_hz, again


class _Channel:
    """What one channel's causal pass measures: reps (each one's peak, and its median frequency or,
    held 10 s or more, its own trend), the quietest stretch of its envelope, its highest value, and
    its raw samples' quality."""

    def __init__(self, fs_hz: float, settled: int, calibrated: bool, raw: RawStats, settings: AnalysisSettings):
        self.fs_hz = fs_hz
        self.settled = settled
        self.settings = settings
        self.raw = raw
        self.detector = RepDetector(fs_hz, settings.floors.rep_pct_mvc if calibrated else 0.0, settings.reps)
        self.fatigue = fatigue_unavailable_reason(fs_hz, settings.dsp.filters, settings.fatigue) is None
        self.envelope = StreamHistory()
        self.filtered = StreamHistory()
        self.quietest = QuietestWindow(max(1, round(settings.onsets.baseline_window_ms * fs_hz / 1000)))
        self.reps: list[Rep] = []
        self.peaks: list[float] = []
        self.frequencies: list[tuple[float, float]] = []  # (time, median frequency) of each rep not held
        self.sustained: list[dict] = []
        self.highest = -np.inf

    def add(self, index: int, raw: np.ndarray, filtered: np.ndarray, envelope: np.ndarray) -> None:
        """The next samples, the first at ``index`` of the recording (measures begin at ``settled``)."""
        self.raw.add(raw)
        skip = max(0, self.settled - index)
        if skip >= envelope.shape[0]:
            return
        envelope, filtered = envelope[skip:], filtered[skip:]
        self.highest = max(self.highest, float(envelope.max()))
        self.quietest.add(envelope)
        self.envelope.extend(envelope)
        self.filtered.extend(filtered)
        self._keep(self.detector.update(envelope))
        for history in (self.envelope, self.filtered):
            history.forget_before(self.detector.earliest)

    def finish(self) -> None:
        self._keep(self.detector.finish())

    def _keep(self, reps: list[Rep]) -> None:
        fs, fatigue = self.fs_hz, self.settings.fatigue
        for rep in reps:
            self.reps.append(rep)
            envelope = self.envelope.view(rep.start, rep.end)
            self.peaks.append(peak(envelope, fs, self.settings.peak).value)
            if not self.fatigue:
                continue
            filtered = self.filtered.view(rep.start, rep.end)
            if not is_sustained(rep.start, rep.end, fs, fatigue):
                self.frequencies.append(((rep.start + rep.end) / 2 / fs, median_frequency(filtered, fs, fatigue)))
                continue
            first, last = held_part(envelope)
            times, values = window_frequencies(filtered, fs, first, last, fatigue)
            within = frequency_trend(times, values, "windows", fatigue)
            self.sustained.append({"start_s": (self.settled + rep.start) / fs, "end_s": (self.settled + rep.end) / fs,
                                   "median_frequency_hz": None if within is None else within.to_json()})


class _Analysis:
    """The causal pass (``add``), then the pass over the stored envelope and the report."""

    def __init__(self, assigned, columns, fs_hz, mains_hz, units, mvc, clip_level, settings, folder):
        self.assigned, self.columns, self.fs_hz, self.mains_hz, self.units = assigned, columns, fs_hz, mains_hz, units
        self.settings = settings
        filters = settings.dsp.filters
        dsp = replace(settings.dsp, filters=replace(filters, mains=f"{mains_hz:g}" if mains_hz else "off"))
        self.references = [mvc.get(c.key) for c in assigned]
        references = self.references if any(r is not None for r in self.references) else None
        self.pipeline = Pipeline(fs_hz, len(columns), dsp, references)
        self.settled = self.pipeline.settled_at
        self.to_uv = MICROVOLTS_PER_UNIT.get(units, 1.0)
        clip = None if clip_level is None else clip_level * self.to_uv
        self.channels = [_Channel(fs_hz, self.settled, ref is not None, RawStats(fs_hz, mains_hz, clip), settings)
                         for ref in self.references]
        self.envelopes = Spool(folder, "envelope", len(columns))
        self.filtered = Spool(folder, "filtered", len(columns))
        self.samples = 0

    def add(self, raw: np.ndarray, envelope_out: Callable[[np.ndarray], None] | None) -> None:
        frame = self.pipeline.process(raw)
        envelope = frame.activation
        self.envelopes.write(envelope)
        self.filtered.write(frame.filtered)
        if envelope_out is not None:
            envelope_out(envelope)
        for k, channel in enumerate(self.channels):
            channel.add(self.samples, raw[:, k] * self.to_uv, frame.filtered[:, k], envelope[:, k])
        self.samples += raw.shape[0]

    def report(self, source: str) -> dict:
        fs, settings, settled = self.fs_hz, self.settings, self.settled
        if self.samples - settled < fs * settings.floors.window_s:
            raise ValueError(
                f"recording too short: {self.samples / fs:.2f} s; the filters need {settled / fs:.2f} s to settle "
                f"plus {settings.floors.window_s:g} s to measure"
            )
        for channel in self.channels:
            channel.finish()
        baselines = [c.quietest.baseline() for c in self.channels]
        later = _Rereading(self, baselines)
        channel_reports = []
        for k, (column, assignment, channel) in enumerate(zip(self.columns, self.assigned, self.channels, strict=True)):
            calibrated = self.references[k] is not None
            baseline = baselines[k]
            rest_noise = baseline.mean * (self.references[k] / 100.0 if calibrated else 1.0)
            quality = grade_channel(assignment.label, channel.raw.measures(), rest_noise * self.to_uv, fs, self.mains_hz,
                                    settings.quality, reduced_bandwidth=self.pipeline.reduced_bandwidth)
            # The trend over the reps not held (at least 3); without them, over the active windows.
            if len(channel.frequencies) >= 3:
                trend = frequency_trend(*zip(*channel.frequencies, strict=True), "reps", settings.fatigue)
            else:
                trend = later.window_trends[k]
            onsets = later.onsets[k]
            channel_reports.append(
                {
                    "column": column,
                    "muscle": assignment.muscle,
                    "side": assignment.side,
                    "quality": {
                        "status": quality.status,
                        "reasons": quality.reasons,
                        "noise_rms": quality.noise_rms,
                        "mains_fraction": quality.mains_fraction,
                        "saturation_fraction": quality.saturation_fraction,
                        "reduced_bandwidth": quality.reduced_bandwidth,
                    },
                    "envelope_peak": max(channel.peaks) if channel.peaks else later.peaks[k],
                    "envelope_mean": later.means[k],
                    "units": "%MVC" if calibrated else self.units,
                    "onsets_s": [(settled + on) / fs for on, _ in onsets],
                    "offsets_s": [(settled + off) / fs for _, off in onsets if off is not None],
                    "reps": [_rep_json(r, top, settled, fs) for r, top in zip(channel.reps, channel.peaks, strict=True)],
                    "median_frequency_hz": None if trend is None else trend.to_json(),
                    "sustained_contractions": channel.sustained,
                    "fatigue_unavailable": fatigue_unavailable_reason(fs, settings.dsp.filters, settings.fatigue),
                }
            )
        self.envelopes.close()
        self.filtered.close()
        return {
            "source": source,
            "fs_hz": float(fs),
            "duration_s": self.samples / fs,
            "mains_hz": self.mains_hz,
            "envelope": {"method": ENVELOPE_METHOD, "window_ms": self.pipeline.envelope_window / fs * 1000.0},
            "channels": channel_reports,
            "pairs": later.pairs,
        }


def _rep_json(rep: Rep, top: float, offset: int, fs_hz: float) -> dict:
    """A rep's times (from the recording's start), its peak (``dsp.peak``) and mean."""
    return {"start_s": (offset + rep.start) / fs_hz, "end_s": (offset + rep.end) / fs_hz, "peak": top, "mean": rep.mean}


class _Rereading:
    """The pass over the stored envelope (from the settled sample on): its mean, and what is judged
    against each channel's rest level over the whole recording: onsets; for channels with fewer than
    3 reps not held, the median-frequency trend of their active windows; the peak of a channel
    without reps; left/right pairs."""

    def __init__(self, analysis: _Analysis, baselines: list[RestBaseline]):
        fs, settings = analysis.fs_hz, analysis.settings
        self.fs_hz, self.settings = fs, settings
        n_channels = len(analysis.channels)
        thresholds = [b.threshold(settings.onsets.sd_factor) for b in baselines]
        runs = [Runs() for _ in range(n_channels)]
        # Windows above the activity floor, for the trend of channels without 3 reps to run over.
        floors = []
        for ref, b in zip(analysis.references, baselines, strict=True):
            floor = settings.floors.rep_rest_factor * b.mean
            floors.append(max(floor, settings.floors.rep_pct_mvc) if ref is not None else floor)
        few_reps = [k for k, c in enumerate(analysis.channels) if len(c.frequencies) < 3 and c.fatigue]
        size = max(1, round(settings.fatigue.window_s * fs))
        windows = Windows(size)
        active: dict[int, tuple[list[float], list[float]]] = {k: ([], []) for k in few_reps}
        # Channels without reps: their peak is that of the whole envelope (``dsp.peak``).
        no_reps = [k for k, c in enumerate(analysis.channels) if not c.reps]
        above_half = dict.fromkeys(no_reps, 0)
        pairs = [_Pair(*p, baselines, analysis.references, fs, settings) for p in _pair_channels(analysis.assigned)]
        n = analysis.samples - analysis.settled
        chunks = zip(analysis.envelopes.read(CHUNK_ROWS, analysis.settled),
                     analysis.filtered.read(CHUNK_ROWS, analysis.settled))
        at = 0
        totals = np.zeros(n_channels)
        for envelope, filtered in chunks:
            totals += envelope.sum(axis=0)  # over fixed chunks of the stored envelope: the same however it arrived
            for k in range(n_channels):
                runs[k].add(at, envelope[:, k] > thresholds[k])
            for k in no_reps:
                above_half[k] += int(np.count_nonzero(envelope[:, k] > 0.5 * analysis.channels[k].highest))
            for start, rows in windows.add(np.concatenate([envelope, filtered], axis=1)):
                for k in few_reps:
                    if rows[:, k].mean() > floors[k]:
                        active[k][0].append((start + size / 2) / fs)
                        active[k][1].append(median_frequency(rows[:, n_channels + k], fs, settings.fatigue))
            for pair in pairs:
                pair.add(envelope)
            at += envelope.shape[0]
        self.means = (totals / n).tolist()
        self.onsets = [activity_periods(*r.found(n), n, fs, settings.onsets) for r in runs]
        self.window_trends = [frequency_trend(*active[k], "windows", settings.fatigue) if k in active else None
                              for k in range(n_channels)]
        self.peaks = [_whole_peak(analysis, k, above_half[k], n) if k in above_half else None for k in range(n_channels)]
        self.pairs = [pair.report(analysis.columns) for pair in pairs]


def _whole_peak(analysis: _Analysis, k: int, above_half: int, n: int) -> float:
    """``dsp.peak`` of channel ``k``'s whole envelope (from the settled sample on), read once more:
    its best mean over the estimator's window for ``above_half`` samples above half its highest."""
    settings = analysis.settings.peak
    low = max(1, round(settings.min_window_ms * analysis.fs_hz / 1000))
    high = max(low, round(settings.max_window_ms * analysis.fs_hz / 1000))
    window = int(min(n, max(low, min(high, round(above_half / settings.windows_per_half_peak)))))
    sums, best, seen = MovingSum(window, 1), -np.inf, 0
    for envelope in analysis.envelopes.read(CHUNK_ROWS, analysis.settled):
        whole = sums.process(envelope[None, :, k])[0][max(0, window - 1 - seen) :]
        if whole.size:
            best = max(best, float(whole.max()))
        seen += envelope.shape[0]
    return best / window


def _pair_channels(assigned: list[ChannelAssignment]) -> list[tuple[str, int, int]]:
    """(muscle, left channel, right channel) of every muscle recorded on both sides."""
    index = {(c.muscle, c.side): k for k, c in enumerate(assigned)}
    return [(muscle, left, index[(muscle, "R")]) for (muscle, side), left in index.items()
            if side == "L" and (muscle, "R") in index]


class _Pair:
    """Asymmetry of a muscle recorded on both sides, per rep of the pair (or per window).

    A rep counts when either side reaches the noise floor; with fewer such reps than the alert
    rule needs, the pair is inconclusive.
    """

    def __init__(self, muscle, left, right, baselines, references, fs_hz, settings: AnalysisSettings):
        self.muscle, self.left, self.right, self.fs_hz, self.settings = muscle, left, right, fs_hz, settings
        if references[left] is not None and references[right] is not None:
            self.floor = settings.floors.asymmetry_pct_mvc
        else:
            self.floor = settings.floors.uncalibrated_pair_factor * min(baselines[left].mean, baselines[right].mean)
        rep_floor = settings.floors.rep_rest_factor * (baselines[left].mean + baselines[right].mean) / 2
        self.detector = RepDetector(fs_hz, max(rep_floor, self.floor), settings.reps)
        self.sides = (StreamHistory(), StreamHistory())
        self.windows = Windows(max(1, round(settings.floors.window_s * fs_hz)))
        self.side_window = asymmetry_window(fs_hz, settings.peak)
        self.rep_peaks: list[tuple[float, float]] = []
        self.window_peaks: list[tuple[float, float]] = []

    def add(self, envelope: np.ndarray) -> None:
        left, right = envelope[:, self.left], envelope[:, self.right]
        for history, values in zip(self.sides, (left, right), strict=True):
            history.extend(values)
        self._peaks(self.detector.update((left + right) / 2))
        for history in self.sides:
            history.forget_before(self.detector.earliest)
        for _, rows in self.windows.add(np.column_stack([left, right])):
            self.window_peaks.append(tuple(peak(rows[:, s], self.fs_hz, window=self.side_window).value for s in (0, 1)))

    def _peaks(self, reps: list[Rep]) -> None:
        for rep in reps:
            self.rep_peaks.append(tuple(peak(h.view(rep.start, rep.end), self.fs_hz, window=self.side_window).value
                                        for h in self.sides))

    def report(self, columns: list[int]) -> dict:
        self._peaks(self.detector.finish())
        settings = self.settings
        peaks = self.rep_peaks if len(self.rep_peaks) >= settings.asymmetry_alert.consecutive else self.window_peaks
        left_peaks = np.array([p[0] for p in peaks])
        right_peaks = np.array([p[1] for p in peaks])
        conclusive = (left_peaks > self.floor) | (right_peaks > self.floor)
        alert = HysteresisAlert(settings.asymmetry_alert)
        for lp, rp, counts in zip(left_peaks, right_peaks, conclusive, strict=True):
            alert.update(asymmetry_pct(lp, rp) if counts else None)
        if conclusive.sum() < settings.asymmetry_alert.consecutive:
            summary, status = set_asymmetry([], []), "inconclusive"
        else:
            summary = set_asymmetry(left_peaks[conclusive], right_peaks[conclusive])
            status = "asymmetric" if alert.ever_raised else "symmetric"
        return {
            "muscle": self.muscle,
            "left_column": columns[self.left],
            "right_column": columns[self.right],
            "asymmetry_pct": summary.pct,
            "weaker_side": summary.weaker_side,
            "status": status,
        }
