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
    from scipy.signal import welch

    x = np.atleast_2d(x)
    nperseg = min(x.shape[1], int(fs_hz * _SEGMENT_S))
    return welch(x, fs=fs_hz, nperseg=nperseg, detrend="constant", axis=-1)


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
    freqs, power = _spectrum(x, fs_hz)
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
    power = power[0]
    band = (freqs >= _BAND_HZ[0]) & (freqs <= _BAND_HZ[1])
    total = float(power[band].sum())
    if total <= 0:
        return 0.0
    _, lines, background = _comb(freqs, power, mains_hz)
    excess = np.maximum(lines - background, 0.0).sum()
    return float(min(excess / total, 1.0))
