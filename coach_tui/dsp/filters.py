"""Filter design for the EMG chain and a causal, stateful cascade of second-order sections."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from coach_tui.dsp.settings import FilterSettings


@dataclass(frozen=True, slots=True)
class FilterDesign:
    """The sections of one chain and what they do."""

    sos: np.ndarray
    reduced_bandwidth: bool
    notch_hz: tuple[float, ...]


def design_bandpass(fs_hz: float, settings: FilterSettings) -> FilterDesign:
    """Butterworth band-pass (or high-pass only when fs is below ``full_band_min_fs_hz``)."""
    from scipy import signal

    low, high = settings.band_hz
    if fs_hz >= settings.full_band_min_fs_hz and high < fs_hz / 2:
        sos = signal.butter(settings.order, [low, high], btype="bandpass", fs=fs_hz, output="sos")
        return FilterDesign(sos, reduced_bandwidth=False, notch_hz=())
    sos = signal.butter(settings.order, low, btype="highpass", fs=fs_hz, output="sos")
    return FilterDesign(sos, reduced_bandwidth=True, notch_hz=())


def notch_frequencies(fs_hz: float, mains_hz: float, settings: FilterSettings) -> tuple[float, ...]:
    """Mains fundamental and harmonics up to ``notch_max_hz`` and safely below Nyquist."""
    top = min(settings.notch_max_hz, 0.98 * fs_hz / 2)
    return tuple(float(k * mains_hz) for k in range(1, int(top // mains_hz) + 1))


def design_notches(fs_hz: float, frequencies: tuple[float, ...], q: float) -> np.ndarray:
    """One IIR notch section per frequency, stacked as second-order sections."""
    from scipy import signal

    sections = [signal.tf2sos(*signal.iirnotch(f, q, fs=fs_hz)) for f in frequencies]
    return np.vstack(sections) if sections else np.zeros((0, 6))


class SosCascade:
    """Causal filtering of channels-first blocks with the state carried between calls.

    All sections run in one ``sosfilt`` call over a ``(channels, n)`` array, which is the layout
    scipy filters fastest; chunked calls give bit-identical output to one call on the whole
    signal. Sections can be appended later (a notch once mains is known); new sections start at
    rest.
    """

    def __init__(self, sos: np.ndarray, n_channels: int):
        self.sos = np.ascontiguousarray(sos, dtype=float)
        self.n_channels = n_channels
        self._zi = np.zeros((self.sos.shape[0], n_channels, 2))

    def append(self, sos: np.ndarray) -> None:
        """Add sections after the existing ones; they start with zero state."""
        if sos.shape[0] == 0:
            return
        self.sos = np.ascontiguousarray(np.vstack([self.sos, sos]))
        self._zi = np.concatenate([self._zi, np.zeros((sos.shape[0], self.n_channels, 2))])

    def settle(self, first: np.ndarray) -> None:
        """Start as if each channel had been at its ``first`` value forever.

        Without this a sensor's DC offset enters as a step and the band-pass rings for the first
        ~100 ms, which reads as a burst of activity.
        """
        from scipy.signal import sosfilt_zi

        self._zi = sosfilt_zi(self.sos)[:, None, :] * np.asarray(first, dtype=float)[None, :, None]

    def process(self, x: np.ndarray) -> np.ndarray:
        """Filter ``x`` of shape ``(channels, n)``; returns a new array of the same shape."""
        from scipy.signal import sosfilt

        if x.shape[1] == 0:
            return x.copy()
        y, self._zi = sosfilt(self.sos, x, axis=-1, zi=self._zi)
        return y
