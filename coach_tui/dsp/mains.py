"""Mains hum: whether a signal carries 50 or 60 Hz hum, judged where the muscle rests, and how much
of the rest signal it is.

Hum is looked for where a trainer would look: in the quietest moments, not over the whole signal
(a contraction buries a 10 µV line under hundreds of µV of EMG). The signal is cut into half-second
segments ending every quarter second (on the filters' block grid, so a decision falls at the same
sample however the samples were chunked); each segment's Hann periodogram (2 Hz bins) gives, per
harmonic of each candidate frequency, the **line ratio**: the highest bin on the line over the
mean power 4–12 Hz away on whichever side is higher (a steep band edge next to a harmonic then
reads as no line). At every checkpoint the ``QUIET_SEGMENTS`` quietest segments of the last
``memory_s`` seconds — quietest by their 20–450 Hz power away from any 50/60 Hz line, so the hum
itself does not make a segment look busy — are averaged ratio by ratio, and the **score** is the
mean of the two strongest lines (a hum has a fundamental and harmonics; one odd bin is not a hum).
Harmonics shared by 50 and 60 Hz (300 Hz) do not count.

Hum is declared at the first checkpoint where one channel's score reaches ``DETECTION_SCORE``, or
the channels' averaged ratios (mains reaches every channel of a sensor) reach
``joint_detection_score``. Both thresholds come from the score's null distribution, by
simulation, not from any recording: the per-minute maximum of the score on clean noise, fitted
with a Gumbel law, crosses them once in 1000 minutes for the worst clean noise tried (white noise
with a steep band edge at 455 Hz, next to 9 × 50 Hz); on simulated sEMG with contractions, less
than once in 10,000 minutes. ``bench/validity_mains.py`` prints the rates.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

MAINS_CANDIDATES_HZ = (50.0, 60.0)
SEGMENT_S = 0.5
HOP_S = 0.25
QUIET_SEGMENTS = 4
#: One channel's score at which hum is declared (see the module docstring for how it was chosen).
DETECTION_SCORE = 8.0
_NEIGHBOURHOOD_HZ = (4.0, 20.0)
_BAND_HZ = (20.0, 450.0)
#: Bins this close to any 50/60 Hz harmonic are left out of a segment's activity.
_LINE_EXCLUSION_HZ = 3.0


@dataclass(frozen=True, slots=True)
class MainsDecision:
    """Hum of ``mains_hz`` found at sample ``at`` (a checkpoint: the notch starts there)."""

    at: int
    mains_hz: float


def joint_detection_score(n_channels: int) -> float:
    """Score of the channels' averaged ratios at which hum is declared: ``1.4 + 5.0 / √channels``.

    Averaging channels narrows the null distribution about its centre roughly as one over the
    square root of their number; the two constants are fitted to its 1-in-1000-minute level for
    4 and 8 channels (3.9 and 3.2, see the module docstring).
    """
    return 1.4 + 5.0 / np.sqrt(max(1, n_channels))


def checkpoint_samples(fs_hz: float) -> int:
    """Samples between checkpoints: about ``HOP_S``, a whole number of filter blocks."""
    from coach_tui.dsp.filters import SosCascade

    block = SosCascade.BLOCK
    return block * max(1, round(HOP_S * fs_hz / block))


def segment_samples(fs_hz: float) -> int:
    """Samples per segment (half a second: 2 Hz bins, 50 and 60 Hz on bin centres)."""
    return max(8, round(SEGMENT_S * fs_hz))


class _Comb:
    """The bins of some harmonics of one frequency: each line (the bins within a bin or 0.5 % of
    it) and the means of its two neighbourhoods, as arrays a whole spectrum is reduced with at once."""

    def __init__(self, freqs: np.ndarray, harmonics: list[float]):
        resolution = freqs[1] - freqs[0]
        lines, left, right = [], np.zeros((freqs.size, 0)), np.zeros((freqs.size, 0))
        for h in harmonics:
            d = freqs - h
            line = np.flatnonzero(np.abs(d) <= max(resolution, 0.005 * h))
            sides = [((d <= -_NEIGHBOURHOOD_HZ[0]) & (d >= -_NEIGHBOURHOOD_HZ[1])),
                     ((d >= _NEIGHBOURHOOD_HZ[0]) & (d <= _NEIGHBOURHOOD_HZ[1]))]
            if not line.size or not any(side.any() for side in sides):
                continue
            # A side with no bins (at the spectrum's end) stands in with the other one.
            sides = [side if side.any() else sides[1 - k] for k, side in enumerate(sides)]
            lines.append(line)
            left = np.column_stack([left, sides[0] / sides[0].sum()])
            right = np.column_stack([right, sides[1] / sides[1].sum()])
        width = max((line.size for line in lines), default=1)
        #: (harmonics, width): each line's bins, padded by repeating its first bin.
        self.line_bins = np.array([np.pad(line, (0, width - line.size), mode="edge") for line in lines], dtype=int).reshape(-1, width)
        self.line_sum = np.zeros((freqs.size, len(lines)))
        for k, line in enumerate(lines):
            self.line_sum[line, k] = 1.0
        self.left, self.right = left, right

    def background(self, power: np.ndarray) -> np.ndarray:
        """(channels, harmonics): mean power per bin of the higher neighbourhood of each line."""
        return np.maximum(power @ self.left, power @ self.right)


class LineBins:
    """The Hann periodogram of one segment length and its bins: the candidate lines, their
    neighbourhoods and the band away from any line (precomputed once per sample rate)."""

    def __init__(self, fs_hz: float, n: int):
        self.freqs = np.fft.rfftfreq(n, 1.0 / fs_hz)
        self.window = np.hanning(n)
        self.window_power = float(np.sum(self.window**2))
        f = self.freqs
        top = min(_BAND_HZ[1], f[-1] - _NEIGHBOURHOOD_HZ[1])
        near_line = np.zeros(f.size, dtype=bool)
        for mains_hz in MAINS_CANDIDATES_HZ:
            for k in range(1, int(f[-1] // mains_hz) + 1):
                near_line |= np.abs(f - k * mains_hz) <= _LINE_EXCLUSION_HZ
        self.activity_bins = np.flatnonzero((f >= _BAND_HZ[0]) & (f <= min(_BAND_HZ[1], 0.98 * f[-1])) & ~near_line)
        self.band_bins = np.flatnonzero((f >= _BAND_HZ[0]) & (f <= _BAND_HZ[1]))
        #: Per candidate, the harmonics scored for detection: up to 450 Hz with a full neighbourhood
        #: below Nyquist, without those shared by 50 and 60 Hz.
        self._scored = {}
        for mains_hz in MAINS_CANDIDATES_HZ:
            other = next(c for c in MAINS_CANDIDATES_HZ if c != mains_hz)
            harmonics = [k * mains_hz for k in range(1, int(top // mains_hz) + 1) if (k * mains_hz) % other]
            self._scored[mains_hz] = _Comb(f, harmonics)
        self._measured: dict[float, _Comb] = {}  # every harmonic up to 450 Hz (``hum_fraction``)

    def periodogram(self, segment: np.ndarray) -> np.ndarray:
        """Hann periodograms of ``(channels, n)`` (power per bin, µV² when the input is in µV)."""
        detrended = segment - segment.mean(axis=1, keepdims=True)
        return np.abs(np.fft.rfft(detrended * self.window, axis=1)) ** 2 / self.window_power

    def activity(self, power: np.ndarray) -> np.ndarray:
        """Per channel: the segment's 20–450 Hz power away from any mains line."""
        return power[:, self.activity_bins].sum(axis=1)

    def rest_rms(self, power: np.ndarray) -> np.ndarray:
        """Per channel: RMS (input units) of the 20–450 Hz band, hum left out (the line-free bins
        stand in for the whole band)."""
        n = 2 * (self.freqs.size - 1)
        share = self.band_bins.size / max(1, self.activity_bins.size)
        return np.sqrt(2.0 / n * self.activity(power) * share)

    def hum_fraction(self, power: np.ndarray, mains_hz: float) -> np.ndarray:
        """Per channel: excess power on the lines of ``mains_hz`` (above what the higher side of
        their neighbourhood predicts) as a fraction of the 20–450 Hz power."""
        power = np.atleast_2d(power)
        comb = self._measured.get(mains_hz)
        if comb is None:
            f = self.freqs
            comb = self._measured[mains_hz] = _Comb(f, [k * mains_hz for k in range(1, int(min(_BAND_HZ[1], f[-1]) // mains_hz) + 1)])
        total = power[:, self.band_bins].sum(axis=1)
        widths = comb.line_sum.sum(axis=0)
        excess = np.maximum(power @ comb.line_sum - comb.background(power) * widths, 0.0).sum(axis=1)
        return np.where(total > 0, np.minimum(excess / np.maximum(total, np.finfo(float).tiny), 1.0), 0.0)

    def ratios(self, power: np.ndarray, mains_hz: float) -> np.ndarray:
        """Per channel and scored harmonic of ``mains_hz``: line ratio (highest line bin over the
        mean of the higher side)."""
        comb = self._scored[mains_hz]
        lines = power[:, comb.line_bins].max(axis=-1)
        return lines / np.maximum(comb.background(power), np.finfo(float).tiny)


def _score(ratios: np.ndarray) -> np.ndarray:
    """Mean of the two strongest lines, per row."""
    if ratios.shape[-1] == 0:
        return np.zeros(ratios.shape[:-1])
    top = np.sort(ratios, axis=-1)[..., -2:]
    return top.mean(axis=-1)


class MainsListener:
    """Listens to a sensor's raw channels, chunk by chunk, until hum is found (then it is done).

    At every checkpoint (a multiple of ``checkpoint_samples``, once ``QUIET_SEGMENTS`` segments
    have been seen) the quietest segments of the last ``memory_s`` seconds are scored; the first
    checkpoint that passes is the decision. Chunk-invariant: the same samples give the same
    decision at the same sample however they are split.
    """

    def __init__(self, fs_hz: float, n_channels: int, memory_s: float = 4.0):
        self.fs_hz = float(fs_hz)
        self.n_channels = n_channels
        self.hop = checkpoint_samples(fs_hz)
        self.segment = segment_samples(fs_hz)
        self._lines = LineBins(self.fs_hz, self.segment)
        memory = max(QUIET_SEGMENTS, round((memory_s - SEGMENT_S) / (self.hop / self.fs_hz)) + 1)
        self._memory: deque[tuple[np.ndarray, dict[float, np.ndarray]]] = deque(maxlen=memory)
        self._tail = np.zeros((n_channels, 0))
        self.seen = 0
        self.decision: MainsDecision | None = None
        #: The highest score reached so far, as a fraction of its threshold (1.0 = decided).
        self.closest = 0.0
        self._decided: float | None = None
        self._joint = joint_detection_score(n_channels)

    def listen(self, x: np.ndarray) -> MainsDecision | None:
        """Take the next channels-first samples; return the decision if it falls inside them.

        Samples after a decision are not looked at (the listener is done)."""
        if self.decision is not None:
            return None
        x = np.asarray(x, dtype=float)
        start, end = self.seen, self.seen + x.shape[1]
        buffer = np.concatenate([self._tail, x], axis=1)
        buffer_start = start - self._tail.shape[1]
        first = max(-(-self.segment // self.hop), start // self.hop + 1) * self.hop
        for at in range(first, end + 1, self.hop):
            segment = buffer[:, at - self.segment - buffer_start : at - buffer_start]
            if self._checkpoint(segment) and self._decided is not None:
                self.decision = MainsDecision(at, self._decided)
                self.seen = at
                self._tail = np.zeros((self.n_channels, 0))
                return self.decision
        self.seen = end
        self._tail = buffer[:, max(0, buffer.shape[1] - self.segment) :]
        return None

    def _checkpoint(self, segment: np.ndarray) -> bool:
        power = self._lines.periodogram(segment)
        self._memory.append(
            (self._lines.activity(power), {c: self._lines.ratios(power, c) for c in MAINS_CANDIDATES_HZ})
        )
        if len(self._memory) < QUIET_SEGMENTS:
            return False
        activity = np.stack([a for a, _ in self._memory])  # (segments, channels)
        quiet = np.argsort(activity, axis=0, kind="stable")[:QUIET_SEGMENTS]  # (K, channels)
        channels = np.arange(self.n_channels)
        best, margin = None, 1.0
        for mains_hz in MAINS_CANDIDATES_HZ:
            stacked = np.stack([r[mains_hz] for _, r in self._memory])  # (segments, channels, harmonics)
            averaged = stacked[quiet, channels[None, :], :].mean(axis=0)  # (channels, harmonics)
            single = float(_score(averaged).max()) / DETECTION_SCORE
            joint = float(_score(averaged.mean(axis=0))) / self._joint if self.n_channels > 1 else 0.0
            self.closest = max(self.closest, single, joint)
            if max(single, joint) >= margin:
                best, margin = mains_hz, max(single, joint)
        self._decided = best
        return best is not None


def detect_mains(x: np.ndarray, fs_hz: float, memory_s: float = 4.0) -> float | None:
    """50.0 or 60.0 if the channels of ``x`` (``(channels, n)`` raw samples) carry hum, else None.

    The same listening the live pipeline does, over the whole signal: hum found at any of its
    quiet moments counts."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    decision = MainsListener(fs_hz, x.shape[0], memory_s).listen(x)
    return None if decision is None else decision.mains_hz


class QuietestSpectrum:
    """The mean periodogram of the ``QUIET_SEGMENTS`` quietest segments of one channel (all of it when
    shorter than a segment), fed in chunks: what ``mains_fraction`` measures the hum's share on, in
    the memory of a few segments however long the signal (``coach analyze`` streams hours)."""

    def __init__(self, fs_hz: float):
        self.fs_hz = float(fs_hz)
        self._n = segment_samples(self.fs_hz)
        self._hop = checkpoint_samples(self.fs_hz)
        self._lines = LineBins(self.fs_hz, self._n)
        self._tail = np.zeros(0)
        self._seen = 0
        self._quiet: list[tuple[float, int, np.ndarray]] = []  # (activity, segment end, periodogram)

    def add(self, x: np.ndarray) -> None:
        """Take the next samples (1-D)."""
        x = np.asarray(x, dtype=float).ravel()
        start, end = self._seen, self._seen + x.shape[0]
        buffer = np.concatenate([self._tail, x])
        buffer_start = start - self._tail.shape[0]
        first = max(self._n, -(-(start + 1 - self._n) // self._hop) * self._hop + self._n)
        ends = range(first, end + 1, self._hop)
        if len(ends):
            power = self._lines.periodogram(np.stack([buffer[e - self._n - buffer_start : e - buffer_start] for e in ends]))
            activity = self._lines.activity(power)
            found = self._quiet + [(float(a), e, p) for a, e, p in zip(activity, ends, power, strict=True)]
            self._quiet = sorted(found, key=lambda q: (q[0], q[1]))[:QUIET_SEGMENTS]
        self._seen = end
        self._tail = buffer[max(0, buffer.shape[0] - self._n) :]

    def power(self) -> tuple[LineBins, np.ndarray]:
        """The bins and the mean periodogram of the quietest segments."""
        if self._quiet:
            return self._lines, np.mean([q[2] for q in self._quiet], axis=0)
        lines = LineBins(self.fs_hz, max(1, self._tail.shape[0]))  # shorter than a segment: one of it all
        return lines, lines.periodogram(self._tail[None, :])[0]


def mains_fraction(x: np.ndarray, fs_hz: float, mains_hz: float) -> float:
    """Fraction of one channel's 20–450 Hz power at rest that is excess power on the mains lines.

    Rest is the channel's quietest moments (see ``QUIET_SEGMENTS``); excess means above what the
    neighbouring spectrum predicts, so clean EMG reads ~0 and a channel whose rest is mostly hum
    reads near 1, however hard the muscle works at other times.
    """
    spectrum = QuietestSpectrum(fs_hz)
    spectrum.add(x)
    return hum_fraction(spectrum, mains_hz)


def hum_fraction(spectrum: QuietestSpectrum, mains_hz: float) -> float:
    """``mains_fraction`` of a channel fed to ``spectrum``."""
    lines, power = spectrum.power()
    return float(lines.hum_fraction(power, mains_hz)[0])
