"""What the bars show between sets: each channel's current activation and its recent peak.

Bounded memory however long the console runs (unlike a set's analysis, which keeps the set's
envelopes). Values come from the same ``Pipeline`` as everything else.
"""

from __future__ import annotations

import numpy as np

from coach_tui.domain.channels import ChannelAssignment
from coach_tui.dsp.onsets import RestBaseline
from coach_tui.dsp.pipeline import Pipeline
from coach_tui.dsp.settings import DspSettings


#: A bar shows the envelope's mean over this long: the peak window of a typical 1.5–2.5 s rep
#: (``dsp.peak``), so the peak-hold mark — the highest such mean — lands within about ±5 % of the
#: rep's stored peak (measured on the simulated kit's signal model, holds of 0.3–5 s).
BAR_WINDOW_S = 0.2
REST_MEMORY_S = 20.0
REST_WINDOW_PIECES = 5  # 5 × 100 ms


class LiveMeter:
    """Current value (mean of the last ``window_s``), peak hold (the highest such value in the last
    ``peak_hold_s``, on the same scale) and rest level per channel.

    ``envelope_sensors`` send their own envelope (see ``Pipeline``'s ``signal``)."""

    def __init__(
        self,
        fs_hz: float,
        sensors: dict[str, list[ChannelAssignment]],
        settings: DspSettings | None = None,
        mvc: dict[str, float] | None = None,
        window_s: float = BAR_WINDOW_S,
        peak_hold_s: float = 2.0,
        envelope_sensors: frozenset[str] = frozenset(),
    ):
        mvc = mvc or {}
        self.fs_hz = float(fs_hz)
        self.channels = [(sid, a) for sid, assigned in sensors.items() for a in assigned]
        self.units = ["%MVC" if a.key in mvc else "µV" for _, a in self.channels]
        self._pipelines = {}
        self._columns: dict[str, list[int]] = {}
        for sid, assigned in sensors.items():
            refs = [mvc.get(a.key) for a in assigned]
            signal = "envelope" if sid in envelope_sensors else "raw"
            self._pipelines[sid] = Pipeline(fs_hz, len(assigned), settings, refs if any(r is not None for r in refs) else None,
                                            signal)
            self._columns[sid] = [i for i, (s, _) in enumerate(self.channels) if s == sid]
        self._window = max(1, round(window_s * fs_hz))
        self._tail = [np.zeros(0) for _ in self.channels]
        self.values = np.zeros(len(self.channels))
        self.peaks = np.zeros(len(self.channels))
        self._peak_age = np.zeros(len(self.channels))
        self._hold = peak_hold_s * fs_hz
        # Rest tracking: per channel, sums of the envelope and its square over 100 ms pieces of
        # the last ``REST_MEMORY_S`` seconds, to find the quietest 500 ms (see ``rest``).
        self._piece = max(1, round(0.1 * fs_hz))
        # Per channel: finished pieces (sum, sum of squares, samples measured; lost samples take their
        # place in time but count in nothing), the piece under way, and pieces finished in all.
        self._pieces: list[list[tuple[float, float, int]]] = [[] for _ in self.channels]
        self._partial = [(0.0, 0.0, 0, 0) for _ in self.channels]
        self._finished = [0] * len(self.channels)

    def add(self, sensor_id: str, samples: np.ndarray, gap_before: int = 0) -> None:
        """Feed one sensor's samples ``(n, channels)`` (and samples lost before them: they keep the
        filters and the time line in step but are no value, peak or rest level of the bar)."""
        pipeline = self._pipelines[sensor_id]
        if gap_before:
            pipeline.process_gap(gap_before)
        self.show(sensor_id, pipeline.process(samples).activation, gap_before)

    @property
    def mains_hz(self) -> float | None:
        """The mains frequency the filters notch on some sensor (one room has one), or None."""
        return next(iter(self.notched().values()), None)

    def notched(self) -> dict[str, float]:
        """Mains frequency by sensor id, for the sensors whose filters notch it."""
        return {sid: p.mains_hz for sid, p in self._pipelines.items() if p.signal == "raw" and p.mains_hz is not None}

    def adopt(self, pipelines: dict[str, Pipeline]) -> None:
        """Continue with these pipelines (a set's, which processed the same stream meanwhile)."""
        self._pipelines.update(pipelines)

    def show(self, sensor_id: str, values: np.ndarray, gap_before: int = 0) -> None:
        """Take envelope values ``(n, channels)`` computed elsewhere (during a set, the set's), after
        ``gap_before`` samples lost."""
        n = values.shape[0]
        for k, column in enumerate(self._columns[sensor_id]):
            if gap_before:
                self._track(column, np.zeros(gap_before), measured=False)
            seen = np.concatenate([self._tail[column], values[:, k]])
            self._tail[column] = seen[-self._window :]
            # The bar's value after each new sample: the mean of the last ``window`` samples.
            sums = np.cumsum(np.concatenate([[0.0], seen]))
            ends = np.arange(seen.size - n + 1, seen.size + 1)
            means = (sums[ends] - sums[np.maximum(0, ends - self._window)]) / np.minimum(ends, self._window)
            self.values[column] = means[-1] if n else self.values[column]
            self._track(column, values[:, k])
            recent = float(means.max()) if n else 0.0
            self._peak_age[column] += n
            if recent >= self.peaks[column] or self._peak_age[column] > self._hold:
                self.peaks[column] = max(recent, self.values[column])
                self._peak_age[column] = 0

    def _track(self, column: int, values: np.ndarray, measured: bool = True) -> None:
        total, squares, count, length = self._partial[column]
        pos = 0
        while pos < values.shape[0]:
            take = min(values.shape[0] - pos, self._piece - length)
            if measured:
                piece = values[pos : pos + take]
                total, squares, count = total + float(piece.sum()), squares + float(piece @ piece), count + take
            length += take
            pos += take
            if length == self._piece:
                pieces = self._pieces[column]
                pieces.append((total, squares, count))
                del pieces[: max(0, len(pieces) - round(REST_MEMORY_S * 10))]
                self._finished[column] += 1
                total, squares, count, length = 0.0, 0.0, 0, 0
        self._partial[column] = (total, squares, count, length)

    def window_means(self, columns: list[int], seconds: float) -> list[float]:
        """The mean envelope of each of ``columns`` over the same stretch of time: about the last
        ``seconds`` every one of them has been seen for, in whole 100 ms pieces (NaN where nothing
        was measured in it)."""
        count = max(1, round(seconds * self.fs_hz / self._piece))
        common = min(self._finished[c] for c in columns)
        means = []
        for column in columns:
            pieces = self._pieces[column]
            end = len(pieces) - (self._finished[column] - common)
            window = pieces[max(0, end - count) : max(0, end)]
            n = sum(p[2] for p in window)
            means.append(sum(p[0] for p in window) / n if n else np.nan)
        return means

    def rest(self) -> dict[str, RestBaseline]:
        """Each channel's quietest 500 ms of the last 20 s (mean and SD of its envelope), by key.

        A set started mid-movement still gets the client's rest level this way. Channels with
        less than 500 ms measured in one piece (no lost samples in it) are left out.
        """
        found = {}
        for (_, assignment), pieces in zip(self.channels, self._pieces):
            if len(pieces) < REST_WINDOW_PIECES:
                continue
            windows = [pieces[i : i + REST_WINDOW_PIECES] for i in range(len(pieces) - REST_WINDOW_PIECES + 1)]
            windows = [w for w in windows if all(p[2] == self._piece for p in w)]  # no lost samples in it
            if not windows:
                continue
            quietest = min(windows, key=lambda w: sum(p[0] for p in w))
            n = sum(p[2] for p in quietest)
            mean = sum(p[0] for p in quietest) / n
            variance = max(0.0, sum(p[1] for p in quietest) / n - mean * mean)
            found[assignment.key] = RestBaseline(mean, float(np.sqrt(variance)))
        return found
