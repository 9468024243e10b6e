"""Mains hum: which frequency (50 or 60 Hz) a recording carries and what fraction of its power it is."""

from __future__ import annotations

import numpy as np

MAINS_CANDIDATES_HZ = (50.0, 60.0)
#: Hum is declared when a channel's mains lines stand, on average, this many times above their
#: spectral neighbourhood (pure EMG-like noise scores 1.0–2.0; subject 2 of the UCI physical
#: action set at rest scores ~5, a hum-dominated channel hundreds).
DETECTION_SCORE = 3.0
MIN_SECONDS = 0.5
_LINE_HALF_WIDTH_HZ = 0.5
_SEGMENT_S = 2.0
_NEIGHBOURHOOD_HZ = (4.0, 12.0)
_BAND_HZ = (20.0, 500.0)


def _spectrum(x: np.ndarray, fs_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """Welch power spectrum per channel of ``(channels, n)`` (2 s Hann segments, 0.5 Hz bins)."""
    spectrum = WelchSpectrum(fs_hz, np.atleast_2d(x).shape[0])
    spectrum.add(x)
    return spectrum.result()


class WelchSpectrum:
    """Welch's power spectrum of channels fed in chunks (2 s Hann segments, half overlapping; the
    whole signal as one segment when it is shorter): the mean periodogram of every whole segment,
    as ``scipy.signal.welch`` gives for the whole signal, in memory of a block of segments."""

    BLOCK_SEGMENTS = 64

    def __init__(self, fs_hz: float, n_channels: int):
        self.fs_hz = float(fs_hz)
        self._nperseg = int(self.fs_hz * _SEGMENT_S)
        self._step = self._nperseg - self._nperseg // 2
        self._tail = np.zeros((n_channels, 0))
        self._sum: np.ndarray | None = None
        self._segments = 0
        self._freqs: np.ndarray | None = None

    def add(self, x: np.ndarray) -> None:
        """Take the next ``(channels, n)`` samples."""
        self._tail = np.concatenate([self._tail, np.atleast_2d(np.asarray(x, dtype=float))], axis=1)
        block = (self.BLOCK_SEGMENTS - 1) * self._step + self._nperseg
        while self._tail.shape[1] >= block:
            self._take(self._tail[:, :block], self.BLOCK_SEGMENTS)
            self._tail = self._tail[:, self.BLOCK_SEGMENTS * self._step :]

    def _take(self, x: np.ndarray, segments: int) -> None:
        from scipy.signal import welch

        freqs, power = welch(x, fs=self.fs_hz, nperseg=self._nperseg, detrend="constant", axis=-1)
        self._freqs = freqs
        self._sum = power * segments if self._sum is None else self._sum + power * segments
        self._segments += segments

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Frequencies and the mean power per channel of everything fed so far."""
        from scipy.signal import welch

        whole = (self._tail.shape[1] - self._nperseg) // self._step + 1 if self._tail.shape[1] >= self._nperseg else 0
        if whole:
            self._take(self._tail[:, : (whole - 1) * self._step + self._nperseg], whole)
            self._tail = self._tail[:, whole * self._step :]
        if self._segments == 0:  # shorter than a segment: the whole signal is one
            return welch(self._tail, fs=self.fs_hz, nperseg=self._tail.shape[1], detrend="constant", axis=-1)
        return self._freqs, self._sum / self._segments


def _comb(freqs: np.ndarray, power: np.ndarray, mains_hz: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per harmonic of ``mains_hz``: its frequency, the power on the line and the background there.

    ``power`` is one channel's spectrum.
    """
    resolution = freqs[1] - freqs[0]
    top = min(freqs[-1] - _NEIGHBOURHOOD_HZ[1], _BAND_HZ[1])
    harmonics = np.arange(mains_hz, top, mains_hz)
    line_power = np.zeros(harmonics.size)
    background = np.zeros(harmonics.size)
    for k, f0 in enumerate(harmonics):
        distance = np.abs(freqs - f0)
        line = distance <= max(_LINE_HALF_WIDTH_HZ, resolution)
        near = (distance >= _NEIGHBOURHOOD_HZ[0]) & (distance <= _NEIGHBOURHOOD_HZ[1])
        line_power[k] = power[line].sum()
        background[k] = np.median(power[near]) * line.sum() if near.any() else np.inf
    return harmonics, line_power, background


def _comb_score(freqs: np.ndarray, power: np.ndarray, mains_hz: float) -> float:
    """Mean line-to-background ratio over the harmonics not shared with the other candidate."""
    other = next(f for f in MAINS_CANDIDATES_HZ if f != mains_hz)
    harmonics, lines, background = _comb(freqs, power, mains_hz)
    own = np.mod(harmonics, other) != 0
    return float(np.mean(lines[own] / np.maximum(background[own], np.finfo(float).tiny)))


def detect_mains(x: np.ndarray, fs_hz: float) -> float | None:
    """50.0 or 60.0 if any channel carries that hum, else None.

    ``x`` is ``(channels, n)`` raw samples; two seconds or more give a reliable answer, under
    ``MIN_SECONDS`` there is no answer (None). Each
    channel is scored separately (hum hides under an active muscle but shows on a resting one);
    the frequency with the highest score wins if it reaches ``DETECTION_SCORE``.
    """
    x = np.atleast_2d(x)
    if x.shape[1] < MIN_SECONDS * fs_hz:
        return None
    return mains_in_spectrum(*_spectrum(x, fs_hz))


def mains_in_spectrum(freqs: np.ndarray, power: np.ndarray) -> float | None:
    """``detect_mains`` on Welch spectra already taken (``WelchSpectrum``), one row per channel."""
    best, best_score = None, DETECTION_SCORE
    for mains_hz in MAINS_CANDIDATES_HZ:
        score = max(_comb_score(freqs, channel, mains_hz) for channel in power)
        if score >= best_score:
            best, best_score = mains_hz, score
    return best


def mains_fraction(x: np.ndarray, fs_hz: float, mains_hz: float) -> float:
    """Fraction of the 20–500 Hz power of one channel that is excess power on the mains lines.

    Excess means above what the neighbouring spectrum predicts, so clean EMG reads ~0 and a
    channel that is mostly hum reads near 1.
    """
    freqs, power = _spectrum(x, fs_hz)
    return mains_fraction_in_spectrum(freqs, power[0], mains_hz)


def mains_fraction_in_spectrum(freqs: np.ndarray, power: np.ndarray, mains_hz: float) -> float:
    """``mains_fraction`` of one channel's Welch spectrum already taken (``WelchSpectrum``)."""
    band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
    total = float(power[band].sum())
    if total <= 0:
        return 0.0
    _, lines, background = _comb(freqs, power, mains_hz)
    excess = np.maximum(lines - background, 0.0).sum()
    return float(min(excess / total, 1.0))
