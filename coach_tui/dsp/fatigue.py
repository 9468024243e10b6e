"""Fatigue: the median frequency of the EMG spectrum falls as a muscle tires — judged with its
uncertainty, not from two end points.

- **Median frequency** of a stretch of signal: the frequency splitting its Welch power spectrum
  (``segment_ms`` segments, ``overlap``) into two equal halves. Over one rep (about 1 s of data) it
  scatters by ~6 % (SD) from rep to rep even in a fresh muscle.
- **Trend**: least-squares line of the median frequencies against time, its slope in Hz per minute
  with a ``confidence`` (95 %) Student-t interval (n − 2 degrees of freedom: the scatter of the points
  about the line sets its width). **Fatigue** is said only when the whole interval lies below zero;
  a steady muscle is thus called fatigued in 2.5 % of sets (one-sided). Measured by simulation
  (``bench/validity_mvc_fatigue.py``, the kit's signal model at 1 kHz; ``tests/test_fatigue.py``
  asserts ≤ 5 % and ≥ 90 %): 12 steady reps are called fatigued in 3.0 % of 200 sets (the interval
  covers the true zero slope in 95.5 %), a steady 30 s hold in 2.7 % of 300; a true 25 % fall over
  12 reps is found in 100 % of 100 sets, a 10 % fall over a 30 s hold in 92 % of 50.
- A set's trend runs over its reps (at least 3); a **sustained contraction** (a rep of
  ``sustained_s`` = 10 s or more) gets its own trend over consecutive ``window_s`` (1 s) windows of
  its held part (above half its peak: the ramps' lower amplitude would tilt the spectrum towards
  the amplifier's white noise), and is left out of the reps' trend (a long hold and the movements
  around it are different tasks).
- **Band needed**: the median frequency is taken from the recorded band; it needs the band to reach
  ``min_band_hz`` (350 Hz), above which a surface-EMG spectrum has little power left (shared
  recordings at 1 kHz, active stretches: median 0.4 %, 90th percentile 1.9 % of the 20–450 Hz
  power; cutting the band there moves the median frequency by 0.2 %, 90th percentile 2.2 %). The
  band's upper edge follows the sensor's Nyquist frequency (``filters.upper_corner_hz``): 450 Hz at
  990 Hz sampling, but only 95 Hz at 200 Hz.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.filters import upper_corner_hz
from coach_tui.dsp.settings import FilterSettings

#: How the fatigue verdict is defined, in words (reports and help).
FORMULA = ("fatigue = the median frequency (Welch) falls: its least-squares slope over the reps (or over 1 s "
           "windows of a hold of 10 s or more) has a 95 % interval wholly below zero")


@dataclass(frozen=True, slots=True)
class FatigueSettings:
    """Welch parameters of the median frequency, the band it needs and how its trend is judged."""

    segment_ms: float = 250.0
    overlap: float = 0.5
    min_band_hz: float = 350.0
    sustained_s: float = 10.0
    window_s: float = 1.0
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class MedianFrequencyTrend:
    """Median frequency per rep (or window) and the line fitted through them.

    ``start_hz``/``end_hz`` are the line's values at the first and last point; the slope's interval
    ``slope_ci_hz_per_min`` is at the settings' confidence; ``fatigue`` is True only when that
    interval lies wholly below zero. ``basis`` is "reps" or "windows".
    """

    times_s: tuple[float, ...]
    values_hz: tuple[float, ...]
    start_hz: float
    end_hz: float
    slope_hz_per_min: float
    slope_ci_hz_per_min: tuple[float, float]
    fatigue: bool
    basis: str

    @property
    def change_pct(self) -> float:
        """The fitted change from the first point to the last, in % of the first."""
        return (self.end_hz - self.start_hz) / self.start_hz * 100 if self.start_hz > 0 else 0.0

    def words(self) -> str:
        """The verdict a trainer reads: "fatigue: median frequency falling 9 %/min (95 % interval …)"."""
        low, high = self.slope_ci_hz_per_min
        interval = f"{self.slope_hz_per_min:+.1f} Hz/min, 95 % interval {low:+.1f} to {high:+.1f}"
        if self.fatigue:
            return f"fatigue: median frequency falling ({interval}; {self.change_pct:+.0f} % over the {self.basis})"
        return f"no fatigue shown ({interval} over {len(self.values_hz)} {self.basis})"

    def to_json(self) -> dict:
        """The trend as ``coach analyze`` reports it."""
        return {"start": self.start_hz, "end": self.end_hz, "slope_hz_per_min": self.slope_hz_per_min,
                "slope_ci_hz_per_min": list(self.slope_ci_hz_per_min), "fatigue": self.fatigue,
                "basis": self.basis, "n": len(self.values_hz)}


def median_frequency(x: np.ndarray, fs_hz: float, settings: FatigueSettings | None = None) -> float:
    """Frequency that splits the Welch power spectrum of 1-D ``x`` into two equal halves."""
    from scipy.signal import welch

    settings = settings or FatigueSettings()
    nperseg = min(x.shape[0], round(settings.segment_ms * fs_hz / 1000))
    freqs, power = welch(x, fs=fs_hz, nperseg=nperseg, noverlap=int(nperseg * settings.overlap))
    cumulative = np.cumsum(power)
    return float(np.interp(cumulative[-1] / 2, cumulative, freqs))


def fatigue_unavailable_reason(fs_hz: float, filters: FilterSettings | None = None,
                               settings: FatigueSettings | None = None) -> str | None:
    """Why the median frequency cannot be trusted at this sample rate (in words), or None if it can."""
    filters, settings = filters or FilterSettings(), settings or FatigueSettings()
    if upper_corner_hz(fs_hz, filters) >= settings.min_band_hz:
        return None
    return (f"fatigue needs the signal up to {settings.min_band_hz:.0f} Hz; sampled at {fs_hz:.0f} Hz, nothing above "
            f"{fs_hz / 2:.0f} Hz (half the rate) is recorded — a sensor sampling at "
            f"{2 * settings.min_band_hz / filters.nyquist_margin:.0f} Hz or more is needed")


def frequency_trend(times_s, values_hz, basis: str, settings: FatigueSettings | None = None) -> MedianFrequencyTrend | None:
    """Least-squares line through median frequencies with its slope interval (None below 3 points)."""
    from scipy import stats

    settings = settings or FatigueSettings()
    times, values = np.asarray(times_s, dtype=float), np.asarray(values_hz, dtype=float)
    if times.size < 3 or np.ptp(times) == 0:
        return None
    slope, intercept = np.polyfit(times, values, 1)
    residuals = values - (intercept + slope * times)
    sxx = float(np.sum((times - times.mean()) ** 2))
    se = float(np.sqrt(np.sum(residuals**2) / (times.size - 2) / sxx))
    half = float(stats.t.ppf(0.5 + settings.confidence / 2, times.size - 2)) * se
    low, high = (slope - half) * 60.0, (slope + half) * 60.0
    return MedianFrequencyTrend(
        tuple(times.tolist()), tuple(values.tolist()),
        float(intercept + slope * times[0]), float(intercept + slope * times[-1]),
        float(slope * 60.0), (float(low), float(high)), bool(high < 0), basis,
    )


def window_frequencies(filtered: np.ndarray, fs_hz: float, start: int, end: int,
                       settings: FatigueSettings | None = None) -> tuple[list[float], list[float]]:
    """Midpoints (s, from sample 0 of ``filtered``) and median frequencies of the consecutive
    ``window_s`` windows of ``[start, end)``."""
    settings = settings or FatigueSettings()
    size = max(1, round(settings.window_s * fs_hz))
    starts = range(start, end - size + 1, size)
    return ([(a + size / 2) / fs_hz for a in starts],
            [median_frequency(filtered[a : a + size], fs_hz, settings) for a in starts])


def held_part(envelope: np.ndarray) -> tuple[int, int]:
    """The part of a contraction's envelope from its first to its last sample above half its highest
    value (offsets into ``envelope``): a hold without its ramps, whose lower amplitude would tilt the
    spectrum towards the amplifier's noise."""
    above = np.flatnonzero(np.asarray(envelope) > 0.5 * float(np.max(envelope))) if len(envelope) else []
    return (int(above[0]), int(above[-1]) + 1) if len(above) else (0, 0)


def is_sustained(start: int, end: int, fs_hz: float, settings: FatigueSettings | None = None) -> bool:
    """True for a contraction long enough to get its own within-contraction trend."""
    return (end - start) / fs_hz >= (settings or FatigueSettings()).sustained_s


def median_frequency_trend(
    filtered: np.ndarray,
    fs_hz: float,
    segments: list[tuple[int, int]],
    settings: FatigueSettings | None = None,
    filters: FilterSettings | None = None,
) -> MedianFrequencyTrend | None:
    """The trend of the median frequency over ``(start, end)`` segments (reps): each segment's median
    frequency at its midpoint. None when the band is too narrow (``fatigue_unavailable_reason``) or
    with fewer than 3 segments."""
    if fatigue_unavailable_reason(fs_hz, filters, settings):
        return None
    times = [(start + end) / 2 / fs_hz for start, end in segments]
    values = [median_frequency(filtered[start:end], fs_hz, settings) for start, end in segments]
    return frequency_trend(times, values, "reps", settings)


def sustained_trend(
    filtered: np.ndarray,
    envelope: np.ndarray,
    fs_hz: float,
    start: int,
    end: int,
    settings: FatigueSettings | None = None,
    filters: FilterSettings | None = None,
) -> MedianFrequencyTrend | None:
    """The trend within one sustained contraction ``[start, end)``, over consecutive ``window_s``
    windows of its held part (``held_part`` of ``envelope``)."""
    if fatigue_unavailable_reason(fs_hz, filters, settings):
        return None
    first, last = held_part(envelope[start:end])
    times, values = window_frequencies(filtered, fs_hz, start + first, start + last, settings)
    return frequency_trend(times, values, "windows", settings)


@dataclass(frozen=True, slots=True)
class SetFatigue:
    """A recorded set's fatigue: the trend over its reps and each sustained contraction's own."""

    trend: MedianFrequencyTrend | None
    holds: tuple[tuple[float, float, MedianFrequencyTrend | None], ...]

    @property
    def fatigue(self) -> bool | None:
        """True when any trend shows fatigue, False when trends exist and none does, None without one."""
        trends = [t for t in (self.trend, *(h[2] for h in self.holds)) if t is not None]
        return any(t.fatigue for t in trends) if trends else None

    def lines(self) -> list[str]:
        """The verdicts in words: the reps' trend, then each hold's ("hold 3–64 s: …")."""
        lines = [self.trend.words()] if self.trend else []
        for start, end, trend in self.holds:
            lines.append(f"hold {start:.0f}–{end:.0f} s: " + (trend.words() if trend else "no trend (too short)"))
        return lines


def set_fatigue(reps, settings: FatigueSettings | None = None) -> SetFatigue:
    """The fatigue verdicts of a recorded set from its reps' stored median frequencies
    (``RepMetrics.median_frequency_hz`` and, for sustained contractions, ``window_frequencies_hz``)."""
    settings = settings or FatigueSettings()
    short = [r for r in reps if r.median_frequency_hz is not None and not r.window_frequencies_hz]
    trend = frequency_trend([(r.start_s + r.end_s) / 2 for r in short], [r.median_frequency_hz for r in short],
                            "reps", settings)
    holds = []
    for rep in reps:
        if rep.window_frequencies_hz:
            times = [(k + 0.5) * settings.window_s for k in range(len(rep.window_frequencies_hz))]
            holds.append((rep.start_s, rep.end_s, frequency_trend(times, rep.window_frequencies_hz, "windows", settings)))
    return SetFatigue(trend, tuple(holds))
