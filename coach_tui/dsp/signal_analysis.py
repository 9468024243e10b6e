"""A whole signal (a file from anywhere) through the live chain: per-channel quality, onsets, reps, fatigue; per-pair asymmetry.

This is what ``coach analyze`` reports. The signal passes through the same causal ``Pipeline``
the live screen uses (optionally in the same chunks); the measures are then taken from its output.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from coach_tui.domain.hysteresis_alert import HysteresisAlert
from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp.analysis_settings import AnalysisSettings
from coach_tui.dsp.asymmetry import asymmetry_pct, asymmetry_window, set_asymmetry
from coach_tui.dsp.fatigue import (
    fatigue_unavailable_reason,
    frequency_trend,
    is_sustained,
    median_frequency_trend,
    sustained_trend,
    window_frequencies,
)
from coach_tui.dsp.mains import detect_mains
from coach_tui.dsp.onsets import RestBaseline, detect_onsets, quietest_baseline
from coach_tui.dsp.peak import PeakSettings, peak
from coach_tui.dsp.pipeline import ENVELOPE_METHOD, Pipeline
from coach_tui.dsp.quality import assess_channel
from coach_tui.dsp.reps import Rep, detect_reps


#: Quality thresholds are in µV; recordings in other units are scaled (counts are taken as µV).
MICROVOLTS_PER_UNIT = {"µV": 1.0, "mV": 1000.0, "V": 1e6}


@dataclass(frozen=True, slots=True)
class SignalAnalysis:
    """The JSON-ready report and the envelope columns (whole recording) it was computed from.

    Measures skip the filters' settling time at the start (``Pipeline.settled_at``).
    """

    report: dict
    envelope: np.ndarray
    columns: list[int]


#: Samples per call when progress is reported and no chunk size is given (chunking changes no bit).
PROGRESS_STEP = 1 << 16


def _run_pipeline(pipeline: Pipeline, samples: np.ndarray, chunk: int | None,
                  progress: Callable[[float], None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Filtered signal and envelope, the latter in %MVC for channels with a reference; ``progress``
    is told the fraction done after each call."""
    n = samples.shape[0]
    step = chunk or (PROGRESS_STEP if progress else max(1, n))
    frames = []
    for i in range(0, n, step):
        frames.append(pipeline.process(samples[i : i + step]))
        if progress is not None:
            progress(min(1.0, (i + step) / n))
    return np.concatenate([f.filtered for f in frames]), np.concatenate([f.activation for f in frames])


def _windows(n: int, fs_hz: float, window_s: float) -> list[tuple[int, int]]:
    size = max(1, round(window_s * fs_hz))
    return [(start, start + size) for start in range(0, n - size + 1, size)]


def _rep_json(rep: Rep, envelope: np.ndarray, offset: int, fs_hz: float, settings: PeakSettings) -> dict:
    """A rep's times (from the recording's start), its peak (``dsp.peak``) and mean."""
    top = peak(envelope[rep.start : rep.end], fs_hz, settings)
    return {"start_s": (offset + rep.start) / fs_hz, "end_s": (offset + rep.end) / fs_hz, "peak": top.value,
            "mean": rep.mean}


def _fatigue(filtered: np.ndarray, env: np.ndarray, reps: list[Rep], floor: float, fs_hz: float,
             settings: AnalysisSettings, offset: int):
    """The median-frequency trend of one channel (``dsp.fatigue``) and each sustained contraction's own.

    The trend runs over the reps shorter than a sustained contraction (at least 3); without them,
    over the 1 s windows of activity above the rep floor (a recording of one long hold, or of
    movement without clear reps). Times of the contractions count from sample ``-offset``."""
    fatigue, filters = settings.fatigue, settings.dsp.filters
    short = [(r.start, r.end) for r in reps if not is_sustained(r.start, r.end, fs_hz, fatigue)]
    if len(short) >= 3:
        trend = median_frequency_trend(filtered, fs_hz, short, fatigue, filters)
    elif fatigue_unavailable_reason(fs_hz, filters, fatigue):
        trend = None
    else:
        active = [(a, b) for a, b in _windows(env.shape[0], fs_hz, fatigue.window_s) if env[a:b].mean() > floor]
        points = [window_frequencies(filtered, fs_hz, a, b, fatigue) for a, b in active]
        trend = frequency_trend([t for ts, _ in points for t in ts], [v for _, vs in points for v in vs], "windows", fatigue)
    sustained = []
    for rep in reps:
        if is_sustained(rep.start, rep.end, fs_hz, fatigue):
            within = sustained_trend(filtered, env, fs_hz, rep.start, rep.end, fatigue, filters)
            sustained.append({"start_s": (offset + rep.start) / fs_hz, "end_s": (offset + rep.end) / fs_hz,
                              "median_frequency_hz": None if within is None else within.to_json()})
    return trend, sustained


def analyze_signal(
    samples: np.ndarray,
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
    progress: Callable[[float], None] | None = None,
) -> SignalAnalysis:
    """Analyse the columns of ``samples`` that ``channels`` assigns (None = skip).

    ``mains`` is "50", "60", "off" or "auto" (hum looked for at the quiet moments of the whole
    recording, as the live filters listen, before the causal pass; notched from the first sample). ``mvc`` maps ``"muscle:side"`` to a reference in input units; channels with one are
    reported in %MVC. ``progress`` is told the fraction of the causal pass done as it goes.
    """
    settings = settings or AnalysisSettings()
    columns = [i for i, c in enumerate(channels) if c is not None]
    if not columns:
        raise ValueError("no channel to analyse: every column is 'skip'")
    assigned = [channels[i] for i in columns]
    raw = np.asarray(samples, dtype=float)[:, columns]
    mains_hz = detect_mains(raw.T, fs_hz, settings.dsp.filters.mains_detect_s) if mains == "auto" else None if mains == "off" else float(mains)
    filters = settings.dsp.filters
    dsp = replace(settings.dsp, filters=replace(filters, mains=f"{mains_hz:g}" if mains_hz else "off"))
    mvc = mvc or {}
    references = [mvc.get(c.key) for c in assigned]
    pipeline = Pipeline(fs_hz, len(columns), dsp, references if any(r is not None for r in references) else None)
    filtered, envelope = _run_pipeline(pipeline, raw, chunk_samples, progress)
    # Measures start once the filters have settled; times stay relative to the recording's start.
    settled = pipeline.settled_at
    if raw.shape[0] - settled < fs_hz * settings.floors.window_s:
        raise ValueError(
            f"recording too short: {raw.shape[0] / fs_hz:.2f} s; the filters need {settled / fs_hz:.2f} s to settle "
            f"plus {settings.floors.window_s:g} s to measure"
        )
    full_envelope = envelope
    filtered, envelope = filtered[settled:], envelope[settled:]

    channel_reports = []
    baselines: list[RestBaseline] = []
    for k, (column, assignment) in enumerate(zip(columns, assigned, strict=True)):
        calibrated = references[k] is not None
        env = envelope[:, k]
        baseline = quietest_baseline(env, fs_hz, settings.onsets.baseline_window_ms)
        baselines.append(baseline)
        rest_noise = baseline.mean * (references[k] / 100.0 if calibrated else 1.0)
        floor = settings.floors.rep_rest_factor * baseline.mean
        if calibrated:
            floor = max(floor, settings.floors.rep_pct_mvc)
        reps = detect_reps(env, fs_hz, floor, settings.reps)
        onsets = detect_onsets(env, fs_hz, baseline, settings.onsets)
        trend, sustained = _fatigue(filtered[:, k], env, reps, floor, fs_hz, settings, settled)
        rep_reports = [_rep_json(r, env, settled, fs_hz, settings.peak) for r in reps]
        # The channel's peak: its highest rep peak; without reps, the peak of the whole envelope.
        channel_peak = max((r["peak"] for r in rep_reports), default=None)
        if channel_peak is None:
            channel_peak = peak(env, fs_hz, settings.peak).value
        to_uv = MICROVOLTS_PER_UNIT.get(units, 1.0)
        quality = assess_channel(
            assignment.label,
            raw[:, k] * to_uv,
            rest_noise * to_uv,
            fs_hz,
            mains_hz,
            settings.quality,
            clip_level=None if clip_level is None else clip_level * to_uv,
            reduced_bandwidth=pipeline.reduced_bandwidth,
        )
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
                "envelope_peak": channel_peak,
                "envelope_mean": float(env.mean()),
                "units": "%MVC" if calibrated else units,
                "onsets_s": [(settled + on) / fs_hz for on, _ in onsets],
                "offsets_s": [(settled + off) / fs_hz for _, off in onsets if off is not None],
                "reps": rep_reports,
                "median_frequency_hz": None if trend is None else trend.to_json(),
                "sustained_contractions": sustained,
                "fatigue_unavailable": fatigue_unavailable_reason(fs_hz, filters, settings.fatigue),
            }
        )

    pairs = _pairs(assigned, columns, envelope, baselines, references, fs_hz, settings)
    report = {
        "source": source,
        "fs_hz": float(fs_hz),
        "duration_s": raw.shape[0] / fs_hz,
        "mains_hz": mains_hz,
        "envelope": {"method": ENVELOPE_METHOD, "window_ms": pipeline.envelope_window / fs_hz * 1000.0},
        "channels": channel_reports,
        "pairs": pairs,
    }
    return SignalAnalysis(report, full_envelope, columns)


def _pairs(
    assigned: list[ChannelAssignment],
    columns: list[int],
    envelope: np.ndarray,
    baselines: list[RestBaseline],
    references: list[float | None],
    fs_hz: float,
    settings: AnalysisSettings,
) -> list[dict]:
    """Asymmetry of every muscle recorded on both sides, per rep of the pair (or per window).

    A rep counts when either side reaches the noise floor; with fewer such reps than the alert
    rule needs, the pair is inconclusive.
    """
    index = {(c.muscle, c.side): k for k, c in enumerate(assigned)}
    pairs = []
    for (muscle, side), left in index.items():
        if side != "L" or (muscle, "R") not in index:
            continue
        right = index[(muscle, "R")]
        calibrated = references[left] is not None and references[right] is not None
        if calibrated:
            floor = settings.floors.asymmetry_pct_mvc
        else:
            floor = settings.floors.uncalibrated_pair_factor * min(baselines[left].mean, baselines[right].mean)
        both = (envelope[:, left] + envelope[:, right]) / 2
        rep_floor = settings.floors.rep_rest_factor * (baselines[left].mean + baselines[right].mean) / 2
        units = [(r.start, r.end) for r in detect_reps(both, fs_hz, max(rep_floor, floor), settings.reps)]
        if len(units) < settings.asymmetry_alert.consecutive:
            units = _windows(envelope.shape[0], fs_hz, settings.floors.window_s)
        side_window = asymmetry_window(fs_hz, settings.peak)
        left_peaks = np.array([peak(envelope[a:b, left], fs_hz, window=side_window).value for a, b in units])
        right_peaks = np.array([peak(envelope[a:b, right], fs_hz, window=side_window).value for a, b in units])
        conclusive = (left_peaks > floor) | (right_peaks > floor)
        alert = HysteresisAlert(settings.asymmetry_alert)
        for lp, rp, counts in zip(left_peaks, right_peaks, conclusive, strict=True):
            alert.update(asymmetry_pct(lp, rp) if counts else None)
        if conclusive.sum() < settings.asymmetry_alert.consecutive:
            summary, status = set_asymmetry([], []), "inconclusive"
        else:
            summary = set_asymmetry(left_peaks[conclusive], right_peaks[conclusive])
            status = "asymmetric" if alert.ever_raised else "symmetric"
        pairs.append(
            {
                "muscle": muscle,
                "left_column": columns[left],
                "right_column": columns[right],
                "asymmetry_pct": summary.pct,
                "weaker_side": summary.weaker_side,
                "status": status,
            }
        )
    return pairs
