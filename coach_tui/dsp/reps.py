"""Rep detection on a target muscle's envelope, causal and streaming, with per-rep metrics."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class RepSettings:
    """Hysteresis thresholds for a rep.

    A rep starts when the envelope rises above ``max(floor, on_fraction × set peak)`` — the set
    peak being the highest rep peak so far in the set — and ends when it stays below
    ``max(off_ratio × floor, end_fraction × this rep's peak so far)`` for ``min_gap_ms``. Ending
    relative to the rep's own peak lets a light rep after heavy ones count, and splits reps whose
    muscle never fully relaxes in between. Bursts shorter than ``min_duration_ms`` are not reps.
    """

    on_fraction: float = 0.15
    end_fraction: float = 0.2
    off_ratio: float = 0.7
    min_duration_ms: float = 300.0
    min_gap_ms: float = 400.0


@dataclass(frozen=True, slots=True)
class Rep:
    """One rep: sample indices (end exclusive) and the envelope's peak, mean and time to peak."""

    start: int
    end: int
    peak: float
    mean: float
    time_to_peak_s: float


class RepDetector:
    """Streaming rep detector: feed envelope chunks, get each rep once it has ended.

    Chunked feeding gives the same reps as one call. ``floor`` is in envelope units: e.g. a
    few %MVC, or a multiple of the rest level when there is no calibration.
    """

    def __init__(self, fs_hz: float, floor: float, settings: RepSettings | None = None):
        self.fs_hz = float(fs_hz)
        self.floor = float(floor)
        self.settings = settings or RepSettings()
        self._min_len = max(1, round(self.settings.min_duration_ms * self.fs_hz / 1000))
        self._min_gap = max(1, round(self.settings.min_gap_ms * self.fs_hz / 1000))
        self.set_peak = 0.0
        self._index = 0
        self._active: list[np.ndarray] = []
        self._start: int | None = None
        self._below = 0
        self._rep_peak = 0.0

    @property
    def on_threshold(self) -> float:
        """Current level a rep must exceed to start."""
        return max(self.floor, self.settings.on_fraction * self.set_peak)

    def update(self, envelope: np.ndarray) -> list[Rep]:
        """Consume the next envelope samples (1-D); return reps that ended within them."""
        envelope = np.asarray(envelope, dtype=float)
        reps: list[Rep] = []
        pos = 0
        while pos < envelope.shape[0]:
            if self._start is None:
                above = np.flatnonzero(envelope[pos:] > self.on_threshold)
                if not above.size:
                    break
                pos += int(above[0])
                self._start, self._below, self._active, self._rep_peak = self._index + pos, 0, [], 0.0
            pos = self._follow(envelope, pos, reps)
        self._index += envelope.shape[0]
        return reps

    def _follow(self, envelope: np.ndarray, pos: int, reps: list[Rep]) -> int:
        """Track an active rep from ``pos``; return where scanning continues."""
        chunk = envelope[pos:]
        rep_peak = np.maximum.accumulate(np.maximum(chunk, self._rep_peak))
        off = np.maximum(self.settings.off_ratio * self.floor, self.settings.end_fraction * rep_peak)
        steps = np.arange(chunk.shape[0])
        last_above = np.maximum.accumulate(np.where(chunk >= off, steps, -1))
        below_run = np.where(last_above < 0, steps + 1 + self._below, steps - last_above)
        ended = np.flatnonzero(below_run >= self._min_gap)
        if ended.size:
            i = int(ended[0])
            self._active.append(chunk[: i + 1])
            self._finish(reps, int(below_run[i]))
            self._rep_peak = 0.0
            return pos + i + 1
        self._active.append(chunk)
        if chunk.shape[0]:
            self._below = int(below_run[-1])
            self._rep_peak = float(rep_peak[-1])
        return envelope.shape[0]

    def _finish(self, reps: list[Rep], trailing_below: int) -> None:
        burst = np.concatenate(self._active)[:-trailing_below]
        start = self._start
        self._start, self._active, self._below = None, [], 0
        if burst.shape[0] < self._min_len:
            return
        peak_at = int(np.argmax(burst))
        peak = float(burst[peak_at])
        reps.append(Rep(start, start + burst.shape[0], peak, float(burst.mean()), peak_at / self.fs_hz))
        self.set_peak = max(self.set_peak, peak)


def detect_reps(envelope: np.ndarray, fs_hz: float, floor: float, settings: RepSettings | None = None) -> list[Rep]:
    """All reps that ended in a whole envelope (the streaming detector fed in one call)."""
    return RepDetector(fs_hz, floor, settings).update(envelope)
