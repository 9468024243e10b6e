"""Rep detection on a target muscle's envelope: causal, streaming, in bounded memory and linear time.

A rep is one rise and fall of the muscle's activity. It is found on the envelope smoothed over
about a second (a rep's concentric and eccentric bursts, and the ripple of a held contraction, are
one hump there), relative to the level the envelope rose from — the trough before it — so reps are
told apart when the muscle never relaxes fully between them, and a light rep under a held load
counts. The rep's extent, peak and mean are then read off the envelope itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.envelope import MovingSum
from coach_tui.dsp.history import StreamHistory

#: A contraction held longer than this is not a rep (and memory stays bounded however long a set runs):
#: two minutes covers the planks and wall sits a trainer times, and a held contraction's fatigue trend.
MAX_REP_S = 120.0
#: How far before the sample that raised a rep its start is looked for.
LOOKBACK_S = 5.0
#: Samples scanned per step: every step costs O(this), so detection is linear in the signal's length.
SCAN_SAMPLES = 4096


@dataclass(frozen=True, slots=True)
class RepSettings:
    """What counts as a rep.

    The detection envelope is the envelope averaged over ``smooth_ms`` (a triangular window: two
    moving means of half that). A rep is raised when it reaches ``rise_ratio`` × the lowest level
    since the previous rep (the trough), and it ends when it falls below the trough plus
    ``split_fraction`` of its rise and stays there for ``min_gap_ms``. It counts when its rise is at
    least ``on_fraction`` of the largest rise of the set so far, its envelope peak reaches the
    floor (a few %MVC with calibration), and it lasts ``min_duration_ms``: its extent is where the
    envelope itself is above the trough plus ``end_fraction`` of its rise, dips shorter than
    ``min_gap_ms`` included.
    """

    smooth_ms: float = 1000.0
    rise_ratio: float = 2.0
    on_fraction: float = 0.15
    split_fraction: float = 0.4
    end_fraction: float = 0.2
    min_duration_ms: float = 300.0
    min_gap_ms: float = 200.0


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

    Indices count samples since the first one fed. Chunked feeding gives exactly the same reps as
    one call. ``floor`` is the lowest envelope peak a rep may have (envelope units, e.g. a few
    %MVC; 0 for none). ``finish`` ends the stream: a last rep whose fall was seen counts.
    """

    def __init__(self, fs_hz: float, floor: float = 0.0, settings: RepSettings | None = None):
        self.fs_hz = float(fs_hz)
        self.floor = float(floor)
        self.settings = s = settings or RepSettings()
        self._half = max(1, round(s.smooth_ms / 2 * self.fs_hz / 1000))
        self._delay = self._half - 1  # of the triangular mean behind the envelope, in samples
        self._min_len = max(1, round(s.min_duration_ms * self.fs_hz / 1000))
        self._min_gap = max(1, round(s.min_gap_ms * self.fs_hz / 1000))
        self._lookback = round(LOOKBACK_S * self.fs_hz)
        self._max_rep = round(MAX_REP_S * self.fs_hz)
        self._first_mean = MovingSum(self._half, 1)
        self._second_mean = MovingSum(self._half, 1)
        self._envelope = StreamHistory()
        self._fed = 0
        #: Largest rise (smoothed peak − trough) of a rep so far.
        self.set_rise = 0.0
        self._previous_end = 0
        # Between reps: the trough (lowest smoothed level) and where it was.
        self._trough, self._trough_at = math.inf, 0
        # During a rep: where it was raised, its smoothed peak, and the run below its end level so
        # far (length, lowest value and where).
        self._raised_at: int | None = None
        self._peak = 0.0
        self._below, self._below_low, self._below_low_at = 0, math.inf, 0

    @property
    def earliest(self) -> int:
        """The first sample a rep still to come may include (what a caller must keep)."""
        if self._raised_at is None:
            lookback = self._fed - self._lookback
        else:
            lookback = self._raised_at - self._lookback
        return max(self._previous_end, self._trough_at - self._delay, lookback, 0)

    def update(self, envelope: np.ndarray) -> list[Rep]:
        """Consume the next envelope samples (1-D); return reps that ended within them."""
        envelope = np.asarray(envelope, dtype=float)
        smooth = self._smooth(envelope)
        self._envelope.extend(envelope)
        reps: list[Rep] = []
        for at in range(0, envelope.shape[0], SCAN_SAMPLES):
            self._scan(smooth[at : at + SCAN_SAMPLES], self._fed + at, reps)
        self._fed += envelope.shape[0]
        self._envelope.forget_before(self.earliest)
        return reps

    def finish(self) -> list[Rep]:
        """End of the stream: the rep under way counts if the envelope had fallen below its end
        level (the set was stopped just after it), else it is dropped (stopped mid-rep)."""
        if self._raised_at is None or not self._fed:
            return []
        last = float(self._envelope.view(self._fed - 1)[0])
        fallen = last <= self._trough + self.settings.split_fraction * (self._peak - self._trough)
        reps: list[Rep] = []
        if fallen:
            self._end_rep(self._fed + self._delay, self._fed - 1, reps)
        self._raised_at = None
        self._trough, self._trough_at = math.inf, self._fed
        return reps

    # -- the smoothed envelope --------------------------------------------------------------

    def _smooth(self, envelope: np.ndarray) -> np.ndarray:
        """Triangular mean of the envelope; over fewer samples while fewer have been seen."""
        count = np.minimum(np.arange(self._fed + 1, self._fed + 1 + envelope.shape[0]), self._half)
        first = self._first_mean.process(envelope[None, :])[0] / count
        return self._second_mean.process(first[None, :])[0] / count

    # -- the state machine, one bounded stretch at a time ----------------------------------

    def _scan(self, smooth: np.ndarray, base: int, reps: list[Rep]) -> None:
        pos = 0
        while pos < smooth.shape[0]:
            if self._raised_at is None:
                pos = self._between(smooth, pos, base)
            else:
                pos = self._within(smooth, pos, base, reps)

    def _between(self, smooth: np.ndarray, pos: int, base: int) -> int:
        """Follow the trough until the smoothed envelope rises ``rise_ratio`` × above it."""
        x = smooth[pos:]
        low = np.minimum.accumulate(np.minimum(x, self._trough))
        raised = np.flatnonzero((x > low) & (x >= self.settings.rise_ratio * low))
        stop = int(raised[0]) if raised.size else x.shape[0] - 1
        k = int(np.argmin(x[: stop + 1]))
        if x[k] < self._trough:
            self._trough, self._trough_at = float(x[k]), base + pos + k
        if not raised.size:
            return smooth.shape[0]
        self._raised_at, self._peak = base + pos + stop, float(x[stop])
        self._below, self._below_low = 0, math.inf
        return pos + stop + 1

    def _within(self, smooth: np.ndarray, pos: int, base: int, reps: list[Rep]) -> int:
        """Follow a rep until it has stayed below its end level for ``min_gap_ms``."""
        x = smooth[pos : pos + max(1, self._raised_at + self._max_rep - (base + pos))]
        s = self.settings
        peak = np.maximum.accumulate(np.maximum(x, self._peak))
        below = x <= self._trough + s.split_fraction * (peak - self._trough)
        steps = np.arange(x.shape[0])
        last_above = np.maximum.accumulate(np.where(below, -1, steps))
        run = np.where(last_above < 0, steps + 1 + self._below, steps - last_above)
        ended = np.flatnonzero(run >= self._min_gap)
        i = int(ended[0]) if ended.size else x.shape[0] - 1
        # Lowest value of the current run below the end level (it may have begun in an earlier call).
        begins = int(last_above[i]) + 1
        if begins <= i:
            k = begins + int(np.argmin(x[begins : i + 1]))
            carried = last_above[i] < 0 and self._below_low <= x[k]
            low, low_at = (self._below_low, self._below_low_at) if carried else (float(x[k]), base + pos + k)
        else:
            low, low_at = math.inf, 0
        self._peak = float(peak[i])
        if ended.size:
            self._end_rep(base + pos + i - int(run[i]) + 1, base + pos + i, reps)
            self._raised_at = None
            self._trough, self._trough_at = low, low_at
            return pos + i + 1
        self._below, self._below_low, self._below_low_at = int(run[i]), low, low_at
        if base + pos + i + 1 - self._raised_at >= self._max_rep:  # held too long to be a rep
            self._raised_at = None
            self._trough, self._trough_at = float(x[i]), base + pos + i
        return pos + i + 1

    def _end_rep(self, smooth_end: int, now: int, reps: list[Rep]) -> None:
        """A rep whose smoothed envelope fell below its end level at ``smooth_end``, confirmed at
        ``now``: find its extent on the envelope and keep it if it counts."""
        s = self.settings
        low = max(self._previous_end, self._trough_at - self._delay, self._raised_at - self._lookback,
                  self._envelope.first)
        window = self._envelope.view(low, now + 1)
        if not window.shape[0]:
            return
        # The smoothed envelope lags the envelope by ``_delay``: its hump ended that much earlier.
        top = int(np.argmax(window[: max(1, smooth_end - self._delay - low)]))
        level = self._trough + s.end_fraction * (window[top] - self._trough)
        if window[top] < level:  # the envelope never rose above the trough here: nothing to count
            return
        start, end = _run_around(window >= level, top, self._min_gap)
        if start == 0 and low in (0, self._previous_end):
            return  # under way when the stream began, or running on from the previous rep: not a new rep
        rise = self._peak - self._trough
        if end - start < self._min_len or rise < s.on_fraction * self.set_rise:
            return
        burst = window[start:end]
        peak_at = int(np.argmax(burst))
        if burst[peak_at] < self.floor:
            return
        reps.append(Rep(low + start, low + end, float(burst[peak_at]), float(burst.mean()), peak_at / self.fs_hz))
        self.set_rise = max(self.set_rise, rise)
        self._previous_end = low + end


def _run_around(above: np.ndarray, at: int, bridge: int) -> tuple[int, int]:
    """The stretch of ``above`` around index ``at``, across gaps shorter than ``bridge``: (start, end)."""
    edges = np.diff(np.concatenate([[1], above.astype(np.int8), [1]]))
    gap_starts, gap_ends = np.flatnonzero(edges == -1), np.flatnonzero(edges == 1)
    wide = (gap_ends - gap_starts) >= bridge
    before = gap_ends[wide & (gap_ends <= at)]
    after = gap_starts[wide & (gap_starts > at)]
    hits = np.flatnonzero(above)
    start = int(before[-1]) if before.size else int(hits[0])
    end = int(after[0]) if after.size else int(hits[-1]) + 1
    return start, end


def detect_reps(envelope: np.ndarray, fs_hz: float, floor: float = 0.0, settings: RepSettings | None = None) -> list[Rep]:
    """All reps of a whole envelope (the streaming detector fed in one call, then finished)."""
    detector = RepDetector(fs_hz, floor, settings)
    return detector.update(envelope) + detector.finish()
