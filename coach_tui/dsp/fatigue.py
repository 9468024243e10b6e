"""Fatigue: the median frequency of the EMG spectrum falls as a muscle tires."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: Below this sample rate the spectrum is too truncated for a meaningful median frequency.
MIN_FS_HZ = 1000.0


@dataclass(frozen=True, slots=True)
class FatigueSettings:
    """Welch parameters for the median frequency."""

    segment_ms: float = 250.0
    overlap: float = 0.5


@dataclass(frozen=True, slots=True)
class MedianFrequencyTrend:
    """Median frequency per segment and the fitted line over the set."""

    times_s: tuple[float, ...]
    values_hz: tuple[float, ...]
    start_hz: float
    end_hz: float
    slope_hz_per_min: float


def median_frequency(x: np.ndarray, fs_hz: float, settings: FatigueSettings | None = None) -> float:
    """Frequency that splits the Welch power spectrum of 1-D ``x`` into two equal halves."""
    from scipy.signal import welch

    settings = settings or FatigueSettings()
    nperseg = min(x.shape[0], round(settings.segment_ms * fs_hz / 1000))
    freqs, power = welch(x, fs=fs_hz, nperseg=nperseg, noverlap=int(nperseg * settings.overlap))
    cumulative = np.cumsum(power)
    return float(np.interp(cumulative[-1] / 2, cumulative, freqs))


def fatigue_unavailable_reason(fs_hz: float) -> str | None:
    """Why the median frequency cannot be trusted at this sample rate, or None if it can."""
    if fs_hz < MIN_FS_HZ:
        return f"fatigue needs ≥ {MIN_FS_HZ:.0f} Hz sampling; this sensor gives {fs_hz:.0f} Hz"
    return None


def median_frequency_trend(
    filtered: np.ndarray,
    fs_hz: float,
    segments: list[tuple[int, int]],
    settings: FatigueSettings | None = None,
) -> MedianFrequencyTrend | None:
    """Median frequency of each ``(start, end)`` segment (reps or active windows) and its trend.

    Returns None below ``MIN_FS_HZ`` or with fewer than two segments; the slope is a least-squares
    line through the segment midpoints, in Hz per minute (negative means fatiguing).
    """
    if fatigue_unavailable_reason(fs_hz) or len(segments) < 2:
        return None
    times = [(start + end) / 2 / fs_hz for start, end in segments]
    return fit_trend(times, [median_frequency(filtered[start:end], fs_hz, settings) for start, end in segments])


def fit_trend(times_s: list[float], values_hz: list[float]) -> MedianFrequencyTrend | None:
    """The least-squares line through median frequencies at their times (None for fewer than two)."""
    if len(times_s) < 2:
        return None
    times, values = np.array(times_s, dtype=float), np.array(values_hz, dtype=float)
    slope, intercept = np.polyfit(times, values, 1)
    return MedianFrequencyTrend(
        tuple(times.tolist()),
        tuple(values.tolist()),
        float(intercept + slope * times[0]),
        float(intercept + slope * times[-1]),
        float(slope * 60.0),
    )
