"""Stretches of a stream of samples, found as it streams: the quietest window, runs above a
threshold, consecutive whole windows (``coach analyze`` reads hours of signal this way)."""

from __future__ import annotations

import numpy as np

from coach_tui.dsp.envelope import MovingSum
from coach_tui.dsp.onsets import RestBaseline, rest_baseline


class QuietestWindow:
    """The quietest stretch of ``window`` samples of a stream (lowest mean, the first of equals) and
    its rest baseline (``onsets.quietest_baseline`` of the whole stream), kept as it streams."""

    def __init__(self, window: int):
        self.window = window
        self._sums = MovingSum(window, 1)
        self._recent = np.zeros(0)
        self._seen = 0
        self._lowest = np.inf
        self._baseline: RestBaseline | None = None

    def add(self, values: np.ndarray) -> None:
        sums = self._sums.process(values[None, :])[0]
        first = max(0, self.window - 1 - self._seen)  # windows not yet whole hold missing zeros
        joined = np.concatenate([self._recent, values])
        if first < sums.shape[0]:
            k = first + int(np.argmin(sums[first:]))
            if sums[k] < self._lowest:
                self._lowest = float(sums[k])
                end = self._recent.shape[0] + k + 1
                self._baseline = rest_baseline(joined[end - self.window : end])
        self._recent = joined[max(0, joined.shape[0] - (self.window - 1)) :]
        self._seen += values.shape[0]

    def baseline(self) -> RestBaseline:
        """The quietest window's baseline (all of the stream when shorter than a window)."""
        if self._baseline is None:
            return rest_baseline(self._recent)
        return self._baseline


class Runs:
    """Runs of True in a boolean stream: their starts and (exclusive) ends, across chunks."""

    def __init__(self):
        self._starts: list[np.ndarray] = []
        self._ends: list[np.ndarray] = []
        self._inside = False

    def add(self, at: int, mask: np.ndarray) -> None:
        edges = np.diff(np.concatenate([[int(self._inside)], mask.astype(np.int8)]))
        self._starts.append(at + np.flatnonzero(edges == 1))
        self._ends.append(at + np.flatnonzero(edges == -1))
        if mask.shape[0]:
            self._inside = bool(mask[-1])

    def found(self, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Starts and ends, a run still open at sample ``n`` ending there."""
        starts = np.concatenate(self._starts) if self._starts else np.zeros(0, dtype=int)
        ends = self._ends + ([np.array([n])] if self._inside else [])
        return starts, (np.concatenate(ends) if ends else np.zeros(0, dtype=int))


class Windows:
    """Consecutive whole windows of ``size`` rows of a stream: (first row, rows) as each completes."""

    def __init__(self, size: int):
        self.size = size
        self._held: np.ndarray | None = None
        self._start = 0

    def add(self, rows: np.ndarray) -> list[tuple[int, np.ndarray]]:
        held = rows if self._held is None else np.concatenate([self._held, rows])
        whole = held.shape[0] // self.size
        done = [(self._start + i * self.size, held[i * self.size : (i + 1) * self.size]) for i in range(whole)]
        self._held = held[whole * self.size :]
        self._start += whole * self.size
        return done
