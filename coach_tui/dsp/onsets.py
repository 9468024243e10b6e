"""Muscle onsets: the envelope rises above rest mean + k·SD for long enough (Hodges & Bui style)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.windows import moving_mean


@dataclass(frozen=True, slots=True)
class OnsetSettings:
    """Threshold = rest mean + ``sd_factor`` × rest SD, held for ``min_duration_ms``.

    An activity period shorter than ``min_active_ms`` is a noise excursion, not a contraction: a
    moving-RMS envelope stays raised for at least its own window (100 ms) after any real burst.
    """

    sd_factor: float = 3.0
    min_duration_ms: float = 25.0
    min_active_ms: float = 100.0
    baseline_window_ms: float = 500.0


@dataclass(frozen=True, slots=True)
class RestBaseline:
    """Mean and standard deviation of the envelope at rest."""

    mean: float
    sd: float

    def threshold(self, sd_factor: float) -> float:
        """Onset threshold: mean + ``sd_factor`` × SD."""
        return self.mean + sd_factor * self.sd


def rest_baseline(rest_envelope: np.ndarray) -> RestBaseline:
    """Baseline from an envelope recorded while the client rests."""
    rest_envelope = np.asarray(rest_envelope, dtype=float)
    return RestBaseline(float(rest_envelope.mean()), float(rest_envelope.std()))


def quietest_baseline(envelope: np.ndarray, fs_hz: float, window_ms: float = 500.0) -> RestBaseline:
    """Baseline from the quietest ``window_ms`` of a recording that has no labelled rest."""
    envelope = np.asarray(envelope, dtype=float)
    window = max(1, min(round(window_ms * fs_hz / 1000), envelope.shape[0]))
    start = int(np.argmin(moving_mean(envelope, window)))
    return rest_baseline(envelope[start : start + window])


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and end (exclusive) indices of the runs of True in ``mask``."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def detect_onsets(
    envelope: np.ndarray,
    fs_hz: float,
    baseline: RestBaseline,
    settings: OnsetSettings | None = None,
) -> list[tuple[int, int | None]]:
    """Activity periods as ``(onset, offset)`` sample indices; offset None if still active at the end.

    Onset is the first sample of a run above threshold lasting at least ``min_duration_ms``;
    the activity ends at the first sample of a run below threshold lasting as long (shorter dips
    belong to the same contraction). Periods shorter than ``min_active_ms`` are dropped, and so
    is activity already under way at the first sample: its onset was not observed.
    """
    settings = settings or OnsetSettings()
    envelope = np.asarray(envelope, dtype=float)
    starts, ends = _runs(envelope > baseline.threshold(settings.sd_factor))
    return activity_periods(starts, ends, envelope.shape[0], fs_hz, settings)


def activity_periods(
    starts: np.ndarray, ends: np.ndarray, n: int, fs_hz: float, settings: OnsetSettings | None = None
) -> list[tuple[int, int | None]]:
    """``detect_onsets`` from the runs above threshold (start and end-exclusive indices) of an
    envelope of ``n`` samples, found however the envelope was read."""
    settings = settings or OnsetSettings()
    starts, ends = np.asarray(starts, dtype=int), np.asarray(ends, dtype=int)
    min_len = max(1, round(settings.min_duration_ms * fs_hz / 1000))
    keep = (ends - starts) >= min_len
    starts, ends = starts[keep], ends[keep]
    periods: list[tuple[int, int | None]] = []
    for start, end in zip(starts, ends, strict=True):
        if periods and start - periods[-1][1] < min_len:
            periods[-1] = (periods[-1][0], int(end))
        else:
            periods.append((int(start), int(end)))
    min_active = round(settings.min_active_ms * fs_hz / 1000)
    periods = [(on, off) for on, off in periods if off - on >= min_active and on > 0]
    if periods and periods[-1][1] == n:
        periods[-1] = (periods[-1][0], None)
    return periods


def onset_order_ms(onsets_s: dict[str, float | None]) -> list[tuple[str, float]]:
    """Muscles in order of onset with each one's delay after the first, in ms (silent ones left out)."""
    active = sorted((t, name) for name, t in onsets_s.items() if t is not None)
    if not active:
        return []
    first = active[0][0]
    return [(name, (t - first) * 1000.0) for t, name in active]
